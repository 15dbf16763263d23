/**
 * What the Keras formats (HDF5, `.keras`, tfjs layers) share: turning a flattened Keras model plus the tensors
 * read for its layers into an OpenedModel (weight specs, the WeightStore in canonical order, folded
 * Normalization, the preprocess hint of a Rescaling layer), refusing files that are not models with a message
 * that says what they are, and recognising Keras Applications weights by their layer names.
 */
import { AnalysisError } from '../analysis/analyze';
import { flattenKerasModel, foldNormalization, type KerasFlatLayer, type KerasFlatModel } from '../analysis/keras';
import { InputError } from '../../../common/image-header';
import type { GraphNode, ModelGraph, TensorData, WeightStore } from '../analysis/graph';
import type { PreprocessHint } from './types';

/** The Git LFS pointer a clone without `git lfs pull` leaves in place of the file. */
export const isLfsPointer = (bytes: Uint8Array): boolean =>
  bytes.length < 1024 && new TextDecoder().decode(bytes.subarray(0, 64)).startsWith('version https://git-lfs');

/** True when the first bytes are printable text (UTF-8 / ASCII with common whitespace). */
export function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512);
  if (n === 0) return true;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0) return false;
    if (b < 9 || (b > 13 && b < 32)) bad++;
  }
  return bad / n < 0.02;
}

/**
 * An InputError saying what a file that is not the expected binary model is: a Git LFS pointer, an empty file,
 * an HTML page, text. `expected` names the format ("a Keras HDF5 model").
 */
export function notAModelError(bytes: Uint8Array, file: string, expected: string): InputError {
  if (isLfsPointer(bytes)) {
    return new InputError(
      `${file}: this is a Git LFS pointer, not the model: run git lfs pull in the repository to fetch the real file`,
      file,
    );
  }
  if (bytes.length === 0) return new InputError(`${file}: the file is empty, not ${expected}`, file);
  if (looksLikeText(bytes)) {
    const head = new TextDecoder().decode(bytes.subarray(0, 60)).replace(/\s+/g, ' ').trim();
    const html = /^<(!doctype|html|head)/i.test(head);
    return new InputError(
      `${file}: this is ${html ? 'an HTML page (a download error page?)' : 'a text file'}, not ${expected} ` +
        `(it starts "${head}")`,
      file,
    );
  }
  return new InputError(`${file}: not ${expected} (unrecognised binary content)`, file);
}

/** Rewraps the analysis' errors (flattening, configs) as the registry's InputError. */
export function asInputError(e: unknown, file: string): unknown {
  if (e instanceof AnalysisError) return new InputError(e.message, file);
  return e;
}

/** Flattens a Keras model config strictly (unknown classes refused), errors as InputError. */
export function flattenStrict(topo: unknown, file: string, keras3?: boolean): KerasFlatModel {
  try {
    return flattenKerasModel(topo, file, { strict: true, keras3 });
  } catch (e) {
    throw asInputError(e, file);
  }
}

/** Keras Applications models recognised by layer names their weight files carry. */
const APPLICATIONS: [string, (names: Set<string>) => boolean][] = [
  ['VGG19', (n) => n.has('block1_conv1') && n.has('block5_conv4')],
  ['VGG16', (n) => n.has('block1_conv1')],
  ['ResNet152', (n) => n.has('conv1_conv') && n.has('conv4_block36_out')],
  ['ResNet101', (n) => n.has('conv1_conv') && n.has('conv4_block23_out')],
  ['ResNet50', (n) => n.has('conv1_conv')],
  ['ResNet50 (Keras 1 names)', (n) => n.has('res2a_branch2a')],
  ['DenseNet', (n) => n.has('conv1/conv') || n.has('conv2_block1_0_bn')],
  ['MobileNetV2', (n) => n.has('Conv1') && (n.has('block_16_project') || n.has('expanded_conv_project'))],
  ['MobileNet', (n) => n.has('conv_pw_13')],
  ['InceptionV3', (n) => n.has('mixed10')],
  ['InceptionResNetV2', (n) => n.has('conv_7b')],
  ['Xception', (n) => n.has('block14_sepconv2')],
  ['EfficientNet', (n) => n.has('stem_conv') && [...n].some((x) => x.startsWith('block7a'))],
  ['NASNet', (n) => [...n].some((x) => x.startsWith('normal_concat'))],
];

/** The Keras Applications model these layer names look like, or undefined. */
export function recogniseApplication(layerNames: string[]): string | undefined {
  const set = new Set(layerNames);
  return APPLICATIONS.find(([, test]) => test(set))?.[0];
}

/** The nodes the input flows through before the first one that changes values (augmentation, resizing). */
const PASS_THROUGH = new Set(['identity', 'dropout', 'resize']);

/**
 * A Rescaling layer right after the input (past augmentation / resizing layers) means the model takes raw
 * 0..255 pixels: the hint says so. Undefined otherwise (the engine's stated default applies).
 */
export function rescalingHint(graph: ModelGraph): PreprocessHint | undefined {
  const input = graph.nodes.find((n) => n.op === 'input');
  if (!input) return undefined;
  let cur: GraphNode = input;
  for (let step = 0; step < 8; step++) {
    const next = graph.nodes.filter((n) => n.inputs.includes(cur.name));
    if (next.length !== 1) return undefined;
    const n = next[0];
    if (n.op === 'scale' && n.className === 'Rescaling') {
      const s = n.scale.length === 1 ? String(+n.scale[0].toPrecision(6)) : `[${n.scale.join(', ')}]`;
      const o = n.offset.some((v) => v !== 0) ? ` + ${n.offset.length === 1 ? n.offset[0] : `[${n.offset}]`}` : '';
      return {
        preprocess: { scale: 255, offset: 0, mean: [0, 0, 0], std: [1, 1, 1] },
        source: `Rescaling layer "${n.name}" (x·${s}${o}) in the model: it takes pixels in [0, 255]`,
      };
    }
    if (!PASS_THROUGH.has(n.op)) return undefined;
    cur = n;
  }
  return undefined;
}

/**
 * Attaches the tensors read for each layer: `weights` specs on the nodes (roles from the layer's variables),
 * the WeightStore in the op's canonical order, Normalization folded into its scale node. Throws InputError when
 * a layer that has weights in Keras finds none, or a different number.
 */
export function attachWeights(
  flat: KerasFlatModel,
  values: Map<KerasFlatLayer, TensorData[]>,
  file: string,
): WeightStore {
  const store: WeightStore = new Map();
  for (const layer of flat.layers) {
    const data = values.get(layer) ?? [];
    const vars = layer.variables;
    const node = layer.node;
    if (vars.length && data.length !== vars.length) {
      throw new InputError(
        `${file}: layer "${layer.kerasName}" (${layer.className}) should have ${vars.length} weight tensors ` +
          `(${vars.map((v) => v.name).join(', ')}) but the file has ${data.length} for it`,
        file,
      );
    }
    node.weights = data.map((d, i) => ({
      name: d.name,
      shape: [...d.shape],
      role: vars[i]?.role ?? (/bias|beta/.test(d.name) ? 'bias' : 'weight'),
    }));
    if (!data.length) continue;
    if (layer.className === 'Normalization' && node.op === 'scale') {
      const [mean, variance] = data;
      if (mean.data.length !== variance.data.length)
        throw new InputError(
          `${file}: Normalization "${layer.kerasName}" has mean and variance of different sizes`,
          file,
        );
      const f = foldNormalization(mean.data, variance.data, layer.config.invert === true);
      node.scale = f.scale;
      node.offset = f.offset;
      continue;
    }
    store.set(node.name, data);
  }
  return store;
}

/** Parses a JSON text, naming the file and what it should be when it is not JSON. */
export function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: ${what} is not valid JSON (${(e as Error).message})`, file);
  }
}

/** The Keras version of a config ('2.4.0'), major 3 → Keras 3 semantics. */
export const isKeras3Version = (v: unknown): boolean => typeof v === 'string' && /^3\./.test(v);
