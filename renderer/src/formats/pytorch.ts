/**
 * PyTorch state dicts (`.pth` / `.pt`, zip or legacy container) of torchvision's ImageNet classifiers. A state dict
 * holds tensors, not a graph: the architecture is recognised from the keys *and* shapes — each candidate in
 * zoo/torchvision builds its graph and lists the tensors every module owns; a file matches the candidate whose
 * list it holds exactly (auxiliary training heads aside; the classifier may have another class count). The
 * tensors are then converted into the IR's canonical layout (analysis/graph.ts WeightStore):
 * - Conv2d weight [O, I/g, kh, kw] → [kh, kw, I/g, O]; depthwise [C, 1, kh, kw] → [kh, kw, C, 1]
 * - Linear weight [out, in] → [in, out]; the first Linear after a flatten of a C×H×W map also has its rows put
 *   in the IR's H, W, C order (torch.flatten of NCHW vs the IR's flatten of NHWC)
 * - BatchNorm2d: its own layer, weight / bias / running_mean / running_var.
 * The file itself is read by torch-file.ts, which never executes the pickle.
 */
import { InputError } from '../../../common/image-header';
import { TORCHVISION_ARCHS, type TorchLayer, type TorchvisionArch, type TorchvisionGraph } from '../zoo/torchvision';
import type { TensorData, WeightStore } from '../analysis/graph';
import { IMAGENET_CLASSES } from './imagenet-classes';
import { isTorchFile, readTorchStateDict, type TorchStateDict, type TorchTensor } from './torch-file';
import type { ModelFile, ModelFormat, OpenedModel, PreprocessHint } from './types';

const IMAGENET_MEAN: [number, number, number] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [number, number, number] = [0.229, 0.224, 0.225];

/** How many tensor names the "matches none" message lists. */
const LISTED = 10;

/** A state dict's keys as torchvision's loaders see them. */
export function normalizeKeys(tensors: Map<string, TorchTensor>): Map<string, TorchTensor> {
  let entries = [...tensors.entries()].filter(([k]) => !k.endsWith('.num_batches_tracked'));
  // nn.DataParallel / DistributedDataParallel save every key under "module.".
  if (entries.length && entries.every(([k]) => k.startsWith('module.'))) {
    entries = entries.map(([k, v]) => [k.slice('module.'.length), v]);
  }
  // DenseNet's published checkpoints use the old names "norm.1" / "conv.1"; torchvision's _load_state_dict
  // renames them with exactly this pattern.
  const old = /^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$/;
  return new Map(entries.map(([k, v]) => [k.replace(old, (_, a: string, b: string) => a + b), v]));
}

const shapeStr = (s: number[]): string => `[${s.join(',')}]`;
const sameShape = (a: number[], b: number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** A recognised architecture: the candidate, its graph for the file's head, and the file's keys it did not use. */
interface Recognised {
  arch: TorchvisionArch;
  built: TorchvisionGraph;
  classes: number;
  ignored: string[];
}

interface Mismatch {
  arch: TorchvisionArch;
  matched: number;
  expected: number;
  missing: string[];
  extra: string[];
  shapes: string[];
}

/** Compares a state dict with one candidate; the head's out features may differ. */
function compare(arch: TorchvisionArch, sd: Map<string, TorchTensor>): { ok: Recognised | null; miss: Mismatch } {
  const base = arch.build(arch.inputSize, 1000);
  const head = base.layers.find((l) => l.node === base.head)!;
  const headW = sd.get(head.params[0].key);
  const classes = headW && headW.shape.length === 2 ? headW.shape[0] : 1000;
  const built = classes === 1000 ? base : arch.build(arch.inputSize, classes);
  const expected = new Map(built.layers.flatMap((l) => l.params.map((p) => [p.key, p.shape] as const)));
  const ignored: string[] = [];
  const extra: string[] = [];
  for (const k of sd.keys()) {
    if (expected.has(k)) continue;
    if (arch.trainingOnly.some((p) => k.startsWith(p))) ignored.push(k);
    else extra.push(k);
  }
  const missing: string[] = [];
  const shapes: string[] = [];
  let matched = 0;
  for (const [k, s] of expected) {
    const t = sd.get(k);
    if (!t) missing.push(k);
    else if (!sameShape(t.shape, s)) shapes.push(`${k} is ${shapeStr(t.shape)}, ${arch.id} has ${shapeStr(s)}`);
    else matched++;
  }
  const miss = { arch, matched, expected: expected.size, missing, extra, shapes };
  const ok = !missing.length && !extra.length && !shapes.length && classes > 0;
  return { ok: ok ? { arch, built, classes, ignored } : null, miss };
}

const fmtParams = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : `${n}`;

/**
 * The message for a state dict that is none of the architectures: what the file holds (`sd`, as stored), and
 * the nearest candidate.
 */
function unknownMessage(file: string, sd: Map<string, TorchTensor>, misses: Mismatch[]): string {
  const params = [...sd.values()].reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  const listed = [...sd.entries()]
    .slice(0, LISTED)
    .map(([k, t]) => `${k} ${shapeStr(t.shape)}`)
    .join(', ');
  const more = sd.size > LISTED ? `, … (${sd.size - LISTED} more)` : '';
  let msg =
    `${file}: a PyTorch state_dict of ${sd.size} tensors (${fmtParams(params)} params) that matches none of the ` +
    `architectures this app builds (${TORCHVISION_ARCHS.map((a) => a.id).join(', ')}); it holds ${listed}${more}`;
  const best = [...misses].sort((a, b) => b.matched / b.expected - a.matched / a.expected)[0];
  if (best && best.matched >= best.expected / 2) {
    const parts: string[] = [];
    if (best.missing.length)
      parts.push(`missing ${best.missing.slice(0, 3).join(', ')}${best.missing.length > 3 ? ', …' : ''}`);
    if (best.shapes.length) parts.push(`${best.shapes.slice(0, 2).join('; ')}${best.shapes.length > 2 ? '; …' : ''}`);
    if (best.extra.length)
      parts.push(`not in ${best.arch.id}: ${best.extra.slice(0, 3).join(', ')}${best.extra.length > 3 ? ', …' : ''}`);
    msg += `. Closest is ${best.arch.id} (${best.matched} of its ${best.expected} tensors match): ${parts.join('; ')}`;
  }
  return msg;
}

/**
 * Finds the architecture of a normalised state dict (normalizeKeys), or throws InputError saying what the file
 * holds (`stored`: the tensors as the file has them).
 */
export function recognise(file: string, sd: Map<string, TorchTensor>, stored = sd): Recognised {
  if (sd.size === 0) throw new InputError(`${file}: the PyTorch file holds no tensors`, file);
  const misses: Mismatch[] = [];
  for (const arch of TORCHVISION_ARCHS) {
    const { ok, miss } = compare(arch, sd);
    if (ok) return ok;
    misses.push(miss);
  }
  throw new InputError(unknownMessage(file, stored, misses), file);
}

/**
 * dst[r · out + o] = src[o · inp + col[r]]: a Linear weight [out, in] as the IR's kernel [in, out]. Walked in
 * tiles in the source's column order (through the inverse of `col`), so reads and writes both stay in cache —
 * VGG-16's first Linear has 102 M entries, and a plain strided loop takes seconds.
 */
function transposeRows(src: Float32Array, out: number, inp: number, col: Int32Array): Float32Array {
  const rowOf = new Int32Array(inp);
  for (let r = 0; r < inp; r++) rowOf[col[r]] = r;
  const dst = new Float32Array(out * inp);
  const T = 64;
  for (let o0 = 0; o0 < out; o0 += T) {
    const o1 = Math.min(out, o0 + T);
    for (let c0 = 0; c0 < inp; c0 += T) {
      const c1 = Math.min(inp, c0 + T);
      for (let c = c0; c < c1; c++) {
        const row = rowOf[c] * out;
        for (let o = o0; o < o1; o++) dst[row + o] = src[o * inp + c];
      }
    }
  }
  return dst;
}

/** One tensor in the IR's layout (see the module comment). */
function convert(layer: TorchLayer, index: number, t: TorchTensor): Float32Array {
  const src = t.values;
  const s = t.shape;
  if (layer.kind === 'conv' && s.length === 4) {
    const [O, I, KH, KW] = s;
    const dst = new Float32Array(src.length);
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++)
        for (let y = 0; y < KH; y++)
          for (let x = 0; x < KW; x++) dst[((y * KW + x) * I + i) * O + o] = src[((o * I + i) * KH + y) * KW + x];
    return dst;
  }
  if (layer.kind === 'depthwise' && s.length === 4) {
    const [C, , KH, KW] = s;
    const dst = new Float32Array(src.length);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < KH; y++) for (let x = 0; x < KW; x++) dst[(y * KW + x) * C + c] = src[(c * KH + y) * KW + x];
    return dst;
  }
  if (layer.kind === 'linear' && index === 0) {
    const [out, inp] = s;
    // IR row r reads PyTorch column col[r]: the identity, or for a flattened C×H×W map the column
    // c·H·W + h·W + w of IR row (h·W + w)·C + c.
    const col = new Int32Array(inp);
    if (layer.flattenedFrom) {
      const [C, H, W] = layer.flattenedFrom;
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) col[(h * W + w) * C + c] = c * H * W + h * W + w;
    } else for (let r = 0; r < inp; r++) col[r] = r;
    return transposeRows(src, out, inp, col);
  }
  // Biases and BN vectors: copied, so no tensor of the store is a view into the file's bytes (which would keep
  // the whole file alive as long as the model is loaded).
  return src.slice();
}

/** The state dict's tensors in the IR's layout, per node. */
function weightStore(built: TorchvisionGraph, sd: Map<string, TorchTensor>): WeightStore {
  const store: WeightStore = new Map();
  const nodes = new Map(built.graph.nodes.map((n) => [n.name, n]));
  for (const layer of built.layers) {
    const specs = nodes.get(layer.node)!.weights!;
    store.set(
      layer.node,
      layer.params.map((p, i): TensorData => ({
        name: p.key,
        shape: specs[i].shape,
        data: convert(layer, i, sd.get(p.key)!),
      })),
    );
  }
  return store;
}

/** torchvision's ImageNet evaluation transforms for an architecture. */
function preprocessHint(arch: TorchvisionArch): PreprocessHint {
  const [h, w] = arch.inputSize;
  const crop = Math.min(h, w) / arch.resizeSize;
  const extra = arch.note ? `; the graph includes ${arch.note}` : '';
  return {
    preprocess: {
      inputSize: [h, w],
      resize: 'center-crop',
      cropFraction: crop,
      channelOrder: 'rgb',
      scale: 1,
      offset: 0,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
    },
    source:
      `torchvision's ImageNet transforms: resize to ${arch.resizeSize}, centre crop ${h}×${w}, RGB 0..1, ` +
      `ImageNet mean/std${extra}`,
  };
}

/** Opens a state dict already read from `file` (exported for tests and tools that read the file themselves). */
export function openTorchStateDict(read: TorchStateDict, file: string): OpenedModel {
  const sd = normalizeKeys(read.tensors);
  const { arch, built, classes, ignored } = recognise(file, sd, read.tensors);
  const warnings: string[] = [];
  if (ignored.length) {
    const prefixes = [...new Set(ignored.map((k) => k.split('.')[0]))].join(', ');
    warnings.push(
      `${file}: ${ignored.length} tensors of the auxiliary classifier${prefixes.includes(',') ? 's' : ''} ` +
        `(${prefixes}) are not used: torchvision runs them only in training`,
    );
  }
  const imagenet = classes === 1000;
  if (!imagenet) {
    warnings.push(
      `${file}: the classifier "${built.head}" has ${classes} outputs, not ImageNet's 1000: the backbone is ` +
        `${arch.name}, the head is the file's own (${classes} classes), so ImageNet's class names are not used` +
        (arch.note
          ? `; the graph keeps ${arch.note.split(' (')[0]} (a model built with num_classes=${classes} from scratch would not)`
          : ''),
    );
  }
  const headNode = built.graph.nodes.find((n) => n.name === built.head)!;
  if (!imagenet) headNode.className = `Linear (the file's own ${classes}-class head)`;
  built.graph.source = file;
  const where = read.path ? `, state dict under "${read.path}"` : '';
  const container = read.container === 'legacy' ? ', legacy container' : '';
  return {
    graph: built.graph,
    weights: weightStore(built, sd),
    format: pytorchFormat.id,
    description: imagenet
      ? `${arch.name} — ImageNet (torchvision file ${file}${container}${where})`
      : `${arch.name} backbone with the file's own ${classes}-class head (torchvision file ${file}${container}${where})`,
    mainFile: file,
    ...(imagenet ? { labels: [...IMAGENET_CLASSES] } : {}),
    preprocess: preprocessHint(arch),
    warnings,
  };
}

/** The torch file among the dropped files (a single file, or the first that is one). */
function mainFile(files: ModelFile[]): ModelFile | undefined {
  return files.find((f) => isTorchFile(f.bytes));
}

/** The PyTorch state-dict format of the registry. */
export const pytorchFormat: ModelFormat = {
  id: 'pytorch',
  name: 'PyTorch state dict',
  match(files) {
    return mainFile(files) !== undefined;
  },
  open(files) {
    const f = mainFile(files);
    if (!f) {
      const name = files[0]?.path ?? 'model';
      return Promise.reject(new InputError(`${name}: not a PyTorch file`, name));
    }
    try {
      return Promise.resolve(
        openTorchStateDict(readTorchStateDict(f.bytes, f.path, { inPlace: f.consumable === true }), f.path),
      );
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  },
};
