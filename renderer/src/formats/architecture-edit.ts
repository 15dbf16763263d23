/**
 * The what-if editor's saved edits as a model format: an architecture-edit JSON file (analysis/edit-file.ts) opens
 * as the edited network — a zoo architecture, or the layer graph of a user's model that the file carries — with
 * seeded, untrained weights (engine/seeded-weights.ts), so the engine's user-model path (the IR runner) runs it —
 * "Run it" — and it can sit in Compare beside the original.
 */
import { InputError } from '../../../common/image-header';
import { seededWeightStore } from '../engine/seeded-weights';
import { AnalysisError } from '../analysis/analyze';
import { EditError, evaluateEdit } from '../analysis/edit';
import {
  buildFileEdit,
  EditFileError,
  looksLikeEditFile,
  MAX_EDIT_FILE_BYTES,
  parseEditFile,
} from '../analysis/edit-file';
import { zooEntries } from '../zoo';
import type { ModelFile, ModelFormat, OpenedModel } from './types';

/** Seeded weights are float32 in memory: beyond this many parameters (1.2 GB) an edit is refused, not run. */
export const MAX_EDIT_RUN_PARAMS = 300_000_000;

const editFile = (files: ModelFile[]): ModelFile | undefined =>
  files.length === 1 && /\.json$/i.test(files[0].path) ? files[0] : undefined;

export const architectureEditFormat: ModelFormat = {
  id: 'architecture-edit',
  name: 'Architecture edit',
  match(files) {
    const f = editFile(files);
    return f !== undefined && looksLikeEditFile(f.bytes);
  },
  async open(files): Promise<OpenedModel> {
    const f = editFile(files);
    if (!f) throw new InputError(`${files[0]?.path ?? 'architecture edit'}: an architecture edit is one .json file`);
    const file = f.path;
    if (f.bytes.length > MAX_EDIT_FILE_BYTES) {
      throw new InputError(
        `${file}: ${f.bytes.length} bytes, larger than an architecture-edit file can be (at most ${MAX_EDIT_FILE_BYTES})`,
        file,
      );
    }
    let spec;
    let built;
    try {
      spec = parseEditFile(new TextDecoder().decode(f.bytes), file);
      built = buildFileEdit(spec);
    } catch (e) {
      if (e instanceof EditFileError) throw new InputError(e.message, file);
      if (e instanceof EditError || e instanceof Error) throw new InputError(`${file}: ${e.message}`, file);
      throw e;
    }
    let result;
    try {
      result = evaluateEdit(built.base, built.edited, { touched: built.touched, fast: true });
    } catch (e) {
      if (e instanceof AnalysisError) throw new InputError(`${file}: ${e.message}`, file);
      throw e;
    }
    if (result.broken)
      throw new InputError(`${file}: the edited ${spec.base} breaks at ${result.broken.message}`, file);
    const params = result.analysis?.totals.params ?? 0;
    if (params > MAX_EDIT_RUN_PARAMS) {
      throw new InputError(
        `${file}: the edited ${spec.base} has ${params.toLocaleString('en-US')} parameters, more than this app builds ` +
          `with seeded weights (${MAX_EDIT_RUN_PARAMS.toLocaleString('en-US')})`,
        file,
      );
    }
    const what = [spec.preset, ...spec.edits.map((e) => `${e.layer}.${e.field}`)].filter(Boolean).slice(0, 4);
    const label = `${spec.base} (edited${what.length ? `: ${what.join(', ')}` : ''})`;
    const graph = { ...built.edited, name: label, source: file };
    const entry = spec.graph ? undefined : zooEntries().find((z) => z.id === spec.base);
    return {
      graph,
      weights: seededWeightStore(built.edited, { seed: spec.seed }),
      format: 'architecture-edit',
      trained: false,
      description: `Architecture edit of ${entry?.name ?? spec.base}, seeded untrained weights (${file})`,
      mainFile: file,
      ...(entry ? { preprocess: { preprocess: entry.defaultPreprocess, source: `the ${entry.name} convention` } } : {}),
      warnings: result.warnings,
    };
  },
};
