/**
 * Keras HDF5 full models (`model.save('m.h5')`, Keras 2.0–2.15 and Keras 3's legacy h5; also `.keras` files that
 * are HDF5): the architecture from the root `model_config` attribute, the weights from `model_weights/<layer>`,
 * each group's tensors in its `weight_names` order. That order is Keras' own (`_legacy_weights`: trainable
 * weights, then non-trainable, depth-first through nested models), so tensors are bound by position the way
 * Keras' loader binds them — the names differ between Keras versions ('conv2d_1/kernel:0',
 * 'batch_normalization_1_1/gamma:0', Keras 3's 'sequential/conv2d/kernel') and only their last part is checked.
 */
import { legacyWeightOrder, type KerasFlatLayer, type KerasTreeEntry } from '../analysis/keras';
import { InputError } from '../../../common/image-header';
import type { ModelGraph, TensorData, WeightStore } from '../analysis/graph';
import { getZooGraph, zooEntries, type ZooId } from '../zoo';
import { isHdf5, withHdf5, type H5Reader } from './hdf5';
import { IMAGENET_CLASSES } from './imagenet-classes';
import {
  attachWeights,
  flattenStrict,
  isKeras3Version,
  isLfsPointer,
  looksLikeText,
  notAModelError,
  parseJson,
  recogniseApplication,
  rescalingHint,
} from './keras-common';
import { findLabels, parseLabelLines } from './labels';
import type { ModelFile, ModelFormat, OpenedModel, PreprocessHint } from './types';

const NAME_HINT = /\.(h5|hdf5|keras)$/i;

/** Byte strings that a Keras HDF5 file carries in its attribute names. */
const MARKERS = ['model_config', 'keras_version', 'layer_names', 'weight_names'].map((s) =>
  new TextEncoder().encode(s),
);

/** True when `needle` occurs in the first `limit` bytes of `hay`. */
function contains(hay: Uint8Array, needle: Uint8Array, limit: number): boolean {
  const end = Math.min(hay.length, limit) - needle.length;
  outer: for (let i = 0; i <= end; i++) {
    if (hay[i] !== needle[0]) continue;
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** An HDF5 file that mentions Keras' attribute names (h5py writes the root's attributes near the start). */
const isKerasHdf5 = (bytes: Uint8Array): boolean => isHdf5(bytes) && MARKERS.some((m) => contains(bytes, m, 16 << 20));

/** The model file among `files`: a Keras HDF5, or (for the message) an .h5 that is an LFS pointer / text. */
function mainFile(files: ModelFile[]): ModelFile | undefined {
  return (
    files.find((f) => isKerasHdf5(f.bytes) && NAME_HINT.test(f.path)) ??
    files.find((f) => isKerasHdf5(f.bytes)) ??
    files.find((f) => isHdf5(f.bytes) && NAME_HINT.test(f.path))
  );
}

/** The Teachable Machine convention (its Keras and tfjs sample code): 224×224 centre crop, values in [−1, 1]. */
export const TEACHABLE_MACHINE_HINT: PreprocessHint = {
  preprocess: {
    inputSize: [224, 224],
    resize: 'center-crop',
    scale: 2,
    offset: -1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
  },
  source: 'Teachable Machine convention: 224×224 centre crop, values in [−1, 1]',
};

/** The weights of one top-level entry, bound by Keras' legacy order; appends to `values`. */
function readEntry(
  h5: H5Reader,
  root: string,
  entry: KerasTreeEntry,
  file: string,
  values: Map<KerasFlatLayer, TensorData[]>,
): void {
  const refs = legacyWeightOrder(entry);
  const group = `${root}${entry.kerasName}`;
  const raw = h5.attr(group, 'weight_names');
  const names = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? [raw] : [];
  if (!h5.isGroup(group)) {
    if (refs.length)
      throw new InputError(`${file}: no weights for layer "${entry.kerasName}" (no group ${group})`, file);
    return;
  }
  if (names.length !== refs.length) {
    throw new InputError(
      `${file}: layer "${entry.kerasName}" (${entry.className}) should have ${refs.length} weight tensors, ` +
        `the file lists ${names.length} (${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''})`,
      file,
    );
  }
  names.forEach((n, i) => {
    const ref = refs[i];
    const leaf = n.replace(/:\d+$/, '').split('/').pop()!;
    if (leaf !== ref.variable.name && KNOWN_VARS.has(leaf)) {
      throw new InputError(
        `${file}: weight "${n}" sits where Keras expects the ${ref.variable.name} of layer "${ref.layer.kerasName}"; ` +
          'the weights do not match the architecture',
        file,
      );
    }
    const t = h5.tensor(`${group}/${n}`);
    const list = values.get(ref.layer) ?? [];
    list.push({ name: n, shape: t.shape, data: t.data });
    values.set(ref.layer, list);
  });
}

const KNOWN_VARS = new Set([
  'kernel',
  'bias',
  'depthwise_kernel',
  'pointwise_kernel',
  'gamma',
  'beta',
  'moving_mean',
  'moving_variance',
  'alpha',
]);

/** A "weights only" file's content in one line: layers, tensors, values and the Applications model it looks like. */
function weightsOnlyMessage(h5: H5Reader, root: string, file: string): string {
  const raw = h5.attr(root || '/', 'layer_names');
  const layers = Array.isArray(raw) ? raw.map(String) : h5.keys(root || '/');
  let tensors = 0;
  let count = 0;
  for (const l of layers) {
    const wn = h5.attr(`${root}${l}`, 'weight_names');
    const names = Array.isArray(wn) ? wn.map(String) : [];
    tensors += names.length;
    for (const n of names) count += (h5.shape(`${root}${l}/${n}`) ?? []).reduce((a, b) => a * b, 1);
  }
  const app = recogniseApplication(layers);
  return (
    `${file}: weights only, no architecture — the file holds ${layers.length} layers with ${tensors} weight tensors ` +
    `(${count.toLocaleString('en-US')} values) but no model_config` +
    (app ? `; the layer names are those of Keras Applications ${app}` : '') +
    '. Save the whole model (model.save), or open it together with its architecture JSON (model.to_json())'
  );
}

/** Keras Applications names (as recogniseApplication gives them) → the zoo architecture written with the same layer names. */
const ZOO_FOR_APPLICATION: Record<string, ZooId> = {
  VGG16: 'vgg16',
  ResNet50: 'resnet50',
  DenseNet: 'densenet121',
  MobileNetV2: 'mobilenetv2',
  InceptionV3: 'inceptionv3',
};

/** Ops with weights in the zoo's Keras graphs. */
const WEIGHTED = new Set(['conv', 'depthwise', 'separable', 'dense', 'bn']);
/** Ops of a classifier top: what Keras Applications leaves out for include_top=False. */
const TOP_OPS = new Set(['flatten', 'gap', 'gmp', 'dense', 'dropout', 'activation']);

/**
 * Where a zoo graph's top starts: the first Flatten / global pool after which only the classifier follows
 * (flatten, pooling, dense, dropout, activations) — the layers Keras Applications drops for `include_top=False`.
 */
function topStart(nodes: ModelGraph['nodes']): number {
  let i = nodes.length;
  while (i > 0 && TOP_OPS.has(nodes[i - 1].op)) i--;
  while (i < nodes.length && nodes[i].op !== 'flatten' && nodes[i].op !== 'gap' && nodes[i].op !== 'gmp') i++;
  return i;
}

/**
 * The name a zoo layer has in a Keras Applications file: its own, or the Keras 2 spelling where Keras 3 renamed
 * it — DenseNet's stem `conv1/conv`, `conv1/bn` (zoo: `conv1_conv`, `conv1_bn`) and the classifier `fc1000` of
 * Keras ≤ 2.2 files (zoo: `predictions`).
 */
function storedName(name: string, names: Set<string>): string | undefined {
  const candidates = [name, name.replace(/^conv1_(conv|bn|relu)$/, 'conv1/$1'), name === 'predictions' ? 'fc1000' : ''];
  return candidates.find((c) => c && names.has(c));
}

/**
 * A weights-only file whose layer names are those of a Keras Applications model the zoo builds: the zoo's graph
 * with the file's tensors, when every weighted layer of the graph is in the file with the shapes the layer needs.
 * A `_notop` file (include_top=False: no classifier layers) gets the graph cut before its top — the backbone,
 * ending where Keras' notop model ends (VGG16 block5_pool, ResNet50 conv5_block3_out, …). Keras' preprocessing for
 * the model comes with it, and ImageNet's class names when the head is the 1000-way one.
 */
function onBuiltInArchitecture(h5: H5Reader, root: string, file: string): OpenedModel | null {
  const raw = h5.attr(root || '/', 'layer_names');
  const layers = Array.isArray(raw) ? raw.map(String) : h5.keys(root || '/');
  const app = recogniseApplication(layers);
  const zooId = app ? ZOO_FOR_APPLICATION[app] : undefined;
  if (!zooId) return null;
  const graph = getZooGraph(zooId);
  const names = new Set(layers);
  const cut = topStart(graph.nodes);
  const top = graph.nodes.slice(cut).filter((n) => WEIGHTED.has(n.op));
  const notop = cut > 0 && cut < graph.nodes.length && top.length > 0 && top.every((n) => !storedName(n.name, names));
  if (notop) {
    graph.nodes = graph.nodes.slice(0, cut);
    graph.outputs = [graph.nodes[cut - 1].name];
    graph.name = `${graph.name}_notop`;
  }
  const weights: WeightStore = new Map();
  for (const node of graph.nodes) {
    if (!WEIGHTED.has(node.op)) continue;
    const stored = storedName(node.name, names);
    if (!stored) return null;
    const wn = h5.attr(`${root}${stored}`, 'weight_names');
    const list = Array.isArray(wn) ? wn.map(String) : [];
    if (!list.length) return null;
    const tensors: TensorData[] = list.map((n) => {
      const t = h5.tensor(`${root}${stored}/${n}`);
      return { name: `${node.name}/${n.split('/').pop()}`, shape: t.shape, data: t.data };
    });
    weights.set(node.name, tensors);
    node.weights = tensors.map((t) => ({
      name: t.name,
      shape: t.shape,
      ...(/moving_(mean|variance)/.test(t.name) ? { role: 'stat' as const } : {}),
    }));
  }
  graph.source = file;
  const entry = zooEntries().find((z) => z.id === zooId);
  const arch = entry?.name ?? zooId;
  const head = graph.nodes.find((n) => n.name === graph.outputs[0]);
  const imagenet = !notop && head?.op === 'dense' && head.units === IMAGENET_CLASSES.length;
  return {
    graph,
    weights,
    format: 'keras-h5',
    description: notop
      ? `Keras Applications ${app} weights without the top (${file}) on the built-in ${arch} backbone (no classifier)`
      : `Keras Applications ${app} weights (${file}) on the built-in ${arch} architecture`,
    mainFile: file,
    ...(imagenet ? { labels: [...IMAGENET_CLASSES] } : {}),
    ...(entry
      ? {
          preprocess: {
            preprocess: { ...entry.defaultPreprocess },
            source: KERAS_PREPROCESS[zooId] ?? 'Keras Applications',
          },
        }
      : {}),
    warnings: [
      `${file} holds weights only (no model_config); its layer names are Keras Applications ${app}'s, so they were ` +
        `loaded onto the built-in ${arch}` +
        (notop ? `, without its classifier (an include_top=False file: the model ends at ${graph.outputs[0]})` : ''),
    ],
  };
}

/** How Keras Applications' `preprocess_input` prepares images for each architecture. */
const KERAS_PREPROCESS: Partial<Record<ZooId, string>> = {
  vgg16: 'Keras Applications preprocess_input (caffe): BGR, minus the ImageNet channel means, no scaling',
  resnet50: 'Keras Applications preprocess_input (caffe): BGR, minus the ImageNet channel means, no scaling',
  densenet121: 'Keras Applications preprocess_input (torch): RGB in 0..1, ImageNet mean / std',
  inceptionv3: 'Keras Applications preprocess_input (tf): RGB scaled to [−1, 1]',
  mobilenetv2: 'Keras Applications preprocess_input (tf): RGB scaled to [−1, 1]',
};

/** A Keras architecture JSON (`model.to_json()`) among the files: {class_name: Sequential | Functional | Model, config}. */
function architectureJson(files: ModelFile[]): { path: string; text: string } | undefined {
  for (const f of files) {
    if (!/\.json$/i.test(f.path) || f.bytes.length > 16 << 20) continue;
    const text = new TextDecoder().decode(f.bytes);
    try {
      const j = JSON.parse(text) as { class_name?: unknown; config?: unknown };
      if (['Sequential', 'Functional', 'Model'].includes(String(j.class_name)) && j.config)
        return { path: f.path, text };
    } catch {
      // not JSON
    }
  }
  return undefined;
}

/** True for the structure Teachable Machine exports: models nested in models with numbered labels. */
function looksLikeTeachableMachine(files: ModelFile[], nested: boolean): boolean {
  const lf = files.find((f) => /(^|\/)labels\.txt$/i.test(f.path));
  if (!lf || !nested) return false;
  const text = new TextDecoder().decode(lf.bytes);
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  return lines.length > 0 && lines.every((l, i) => l.trim().startsWith(`${i} `)) && parseLabelLines(text).length > 0;
}

/** Keras HDF5 full models. */
export const kerasH5Format: ModelFormat = {
  id: 'keras-h5',
  name: 'Keras HDF5',
  match(files) {
    if (files.some((f) => isKerasHdf5(f.bytes))) return true;
    // A pointer or a text file under a Keras name gets this format's message rather than "unknown format".
    const f = files.length === 1 ? files[0] : undefined;
    return !!f && NAME_HINT.test(f.path) && (isLfsPointer(f.bytes) || looksLikeText(f.bytes));
  },
  async open(files): Promise<OpenedModel> {
    const main = mainFile(files);
    if (!main) {
      const f = files.find((x) => NAME_HINT.test(x.path)) ?? files[0];
      if (!f) throw new InputError('no file given', '');
      throw notAModelError(f.bytes, f.path, 'a Keras HDF5 model');
    }
    const file = main.path;
    return withHdf5(main.bytes, file, (h5) => {
      const root = h5.isGroup('model_weights') ? 'model_weights/' : '';
      const version = h5.attr('/', 'keras_version') ?? h5.attr(root || '/', 'keras_version');
      let cfgText = h5.attr('/', 'model_config');
      // save_weights + to_json: the architecture may come as a JSON file next to the weights.
      const sidecar = cfgText === undefined ? architectureJson(files) : undefined;
      if (sidecar) cfgText = sidecar.text;
      if (cfgText === undefined) {
        // Keras Applications weights (model.save_weights, or the files Keras caches in ~/.keras/models) load
        // onto the built-in architecture of the same name when every one of its weighted layers is in the file.
        const onto = onBuiltInArchitecture(h5, root, file);
        if (onto) return onto;
        throw new InputError(weightsOnlyMessage(h5, root, file), file);
      }
      if (typeof cfgText !== 'string') throw new InputError(`${file}: the model_config attribute is not text`, file);
      if (typeof version === 'string' && /^1\./.test(version))
        throw new InputError(
          `${file}: saved by Keras ${version}; Keras 1 layer configs (nb_filter, border_mode, …) are not supported — ` +
            'load it with Keras 2 and save it again',
          file,
        );
      const topo = parseJson(cfgText, file, 'the model_config attribute');
      const keras3 = isKeras3Version(version);
      const flat = flattenStrict(topo, file, keras3);
      const values = new Map<KerasFlatLayer, TensorData[]>();
      for (const entry of flat.tree) readEntry(h5, root, entry, file, values);
      const weights = attachWeights(flat, values, file);
      const nested = flat.tree.some((e) => e.children);
      const tm = looksLikeTeachableMachine(files, nested);
      const labels = findLabels(files);
      const warnings = [...(flat.graph.parseWarnings ?? [])];
      const preprocess = tm ? TEACHABLE_MACHINE_HINT : rescalingHint(flat.graph);
      const v = typeof version === 'string' ? ` ${version}` : '';
      return {
        graph: flat.graph,
        weights,
        format: 'keras-h5',
        description: tm
          ? `Teachable Machine image model (Keras${v} HDF5, ${file})`
          : sidecar
            ? `Keras${v} HDF5 weights (${file}) with the architecture from ${sidecar.path}`
            : `Keras${v} HDF5 (${file})`,
        mainFile: file,
        ...(labels ? { labels } : {}),
        ...(preprocess ? { preprocess } : {}),
        warnings,
      };
    });
  },
};
