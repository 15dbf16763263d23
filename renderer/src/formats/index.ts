/**
 * The format registry: every model format the app opens, tried in order by content. Adding a format adds a
 * module and one line here; the engine, the analysis, the CLI and the UI stay as they are.
 * (tfjs graph models are TensorFlow op graphs, run by tfjs-converter's executor: the engine takes those itself.)
 */
import { InputError } from '../../../common/image-header';
import { architectureEditFormat } from './architecture-edit';
import { kerasH5Format } from './keras-h5';
import { kerasV3Format } from './keras-v3';
import { findLabels } from './labels';
import { onnxFormat } from './onnx';
import { pytorchFormat } from './pytorch';
import { describeBytes } from './sniff';
import { tfjsLayersFormat } from './tfjs-layers';
import { OpenCancelledError, type ModelFile, type ModelFormat, type OpenOptions, type OpenedModel } from './types';

export { OpenCancelledError } from './types';
export type { ModelFile, ModelFormat, OpenOptions, OpenedModel, PreprocessHint } from './types';

/**
 * Most specific signature first: a PyTorch file (a zip with a `data.pkl` record, or the legacy pickle's magic
 * number — never a .keras archive, whose zip names config.json), zip (.keras), HDF5, tfjs model.json (text), then
 * ONNX (protobuf has no magic).
 */
export const FORMATS: readonly ModelFormat[] = [
  pytorchFormat,
  architectureEditFormat,
  kerasV3Format,
  kerasH5Format,
  tfjsLayersFormat,
  onnxFormat,
];

/** The format whose `match` accepts these files, or null. A `match` that throws counts as no. */
export function detectFormat(files: ModelFile[]): ModelFormat | null {
  for (const f of FORMATS) {
    try {
      if (f.match(files)) return f;
    } catch {
      // A hostile file must not stop the others from being tried.
    }
  }
  return null;
}

/** The message for files no format opens: what each file looks like instead. */
export function describeUnopenable(files: ModelFile[], name: string): string {
  const known =
    'Keras .h5 / .keras, ONNX .onnx, a PyTorch .pth state dict of a torchvision model, a tfjs model.json folder ' +
    'or a Teachable Machine export';
  if (files.length === 0) return `${name}: no files`;
  if (files.length === 1) {
    const f = files[0];
    if (/\.json$/i.test(f.path) && f.bytes.length < 64 << 20) {
      try {
        JSON.parse(new TextDecoder().decode(f.bytes));
      } catch (e) {
        return `${f.path}: not valid JSON (${(e as Error).message})`;
      }
    }
    return `${f.path}: ${describeBytes(f.bytes)}, not a model this app opens (${known})`;
  }
  const big = [...files].sort((a, b) => b.bytes.length - a.bytes.length).slice(0, 3);
  return (
    `${name}: none of its ${files.length} files is a model this app opens (${known}); ` +
    big.map((f) => `${f.path} is ${describeBytes(f.bytes)}`).join(', ')
  );
}

/**
 * Opens a user's model files (a single file or a folder's files, paths relative to it) into the IR. Labels the
 * user dropped beside the model (labels.txt, classes.txt, metadata.json) fill in where the model has none.
 */
export async function openModelFiles(files: ModelFile[], name: string, opts: OpenOptions = {}): Promise<OpenedModel> {
  const format = detectFormat(files);
  if (!format) throw new InputError(describeUnopenable(files, name), files[0]?.path ?? name);
  const opened = await format.open(files, opts);
  if (opts.signal?.aborted) throw new OpenCancelledError(`opening ${name} was cancelled`);
  if (!opened.labels) {
    const labels = findLabels(files);
    if (labels) opened.labels = labels;
  }
  return opened;
}
