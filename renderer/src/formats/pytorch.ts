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
import { OpenCancelledError, type ModelFile, type ModelFormat, type OpenedModel, type PreprocessHint } from './types';

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
 * How a weight moves into the IR's layout: as the [rows, cols] matrix it is stored as, transposed, source column
 * c becoming row `rowOf[c]` (null: kept as stored). One rule for the three conversions of the module comment:
 * - Conv2d [O, I, kh·kw] → [kh·kw, I, O]: column i·K + k becomes row k·I + i;
 * - depthwise [C, kh·kw] → [kh·kw, C]: a plain transpose;
 * - Linear [out, in] → [in, out]; after a flatten of a C×H×W map, column c·H·W + h·W + w becomes the IR's row
 *   (h·W + w)·C + c.
 */
export function irTranspose(
  layer: Pick<TorchLayer, 'kind' | 'flattenedFrom'>,
  index: number,
  shape: number[],
): { rows: number; cols: number; rowOf: Int32Array } | null {
  if (layer.kind === 'conv' && shape.length === 4) {
    const [O, I, KH, KW] = shape;
    const K = KH * KW;
    const rowOf = new Int32Array(I * K);
    for (let i = 0; i < I; i++) for (let k = 0; k < K; k++) rowOf[i * K + k] = k * I + i;
    return { rows: O, cols: I * K, rowOf };
  }
  if (layer.kind === 'depthwise' && shape.length === 4) {
    const [C, , KH, KW] = shape;
    return { rows: C, cols: KH * KW, rowOf: identity(KH * KW) };
  }
  if (layer.kind === 'linear' && index === 0) {
    const [out, inp] = shape;
    if (!layer.flattenedFrom) return { rows: out, cols: inp, rowOf: identity(inp) };
    const [C, H, W] = layer.flattenedFrom;
    const rowOf = new Int32Array(inp);
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) rowOf[c * H * W + h * W + w] = (h * W + w) * C + c;
    return { rows: out, cols: inp, rowOf };
  }
  return null;
}

const identity = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/**
 * dst[rowOf[c] · rows + r] = src[r · cols + c]. Walked in tiles in the source's order, so reads and writes both
 * stay in cache — VGG-16's first Linear has 102 M entries, and a plain strided loop takes seconds.
 */
function transposeInto(src: Float32Array, dst: Float32Array, rows: number, cols: number, rowOf: Int32Array): void {
  const T = 64;
  for (let r0 = 0; r0 < rows; r0 += T) {
    const r1 = Math.min(rows, r0 + T);
    for (let c0 = 0; c0 < cols; c0 += T) {
      const c1 = Math.min(cols, c0 + T);
      for (let c = c0; c < c1; c++) {
        const row = rowOf[c] * rows;
        for (let r = r0; r < r1; r++) dst[row + r] = src[r * cols + c];
      }
    }
  }
}

/** Floats of the scratch an in-place conversion works through (16 MiB), unless one stored row is longer. */
export const SCRATCH_FLOATS = 1 << 22;

/**
 * {@link transposeInto} within `data` itself, through a scratch of at least `cols` floats, however large the
 * matrix: its rows go in bands of `a` (the largest divisor of `rows` whose band fits the scratch), each band
 * transposed through the scratch and written back — leaving `data` as [rows/a, cols] blocks of `a` values each,
 * which are then moved to [cols, rows/a] by following the permutation's cycles (one block held aside per cycle,
 * a bitmap of the blocks placed). A matrix that fits the scratch is one band, and no blocks move.
 */
export function transposeInPlace(
  data: Float32Array,
  rows: number,
  cols: number,
  rowOf: Int32Array,
  scratch: Float32Array,
): void {
  if (rows * cols === 0) return;
  if (scratch.length < cols) throw new Error(`transposeInPlace: a scratch of ${scratch.length} floats < ${cols}`);
  let a = Math.min(rows, Math.floor(scratch.length / cols));
  while (rows % a !== 0) a--;
  const band = scratch.subarray(0, a * cols);
  for (let p = 0; p < rows * cols; p += a * cols) {
    const chunk = data.subarray(p, p + a * cols);
    transposeInto(chunk, band, a, cols, rowOf);
    chunk.set(band);
  }
  // Block k = p·C + r (band p, row r) goes to r·R + p; so position q = r·R + p takes the block (q mod R)·C + ⌊q/R⌋.
  const R = rows / a;
  const C = cols;
  if (R === 1 || C === 1) return;
  const placed = new Uint32Array(Math.ceil((R * C) / 32));
  const held = new Float32Array(a);
  for (let start = 1; start < R * C - 1; start++) {
    if (placed[start >>> 5] & (1 << (start & 31))) continue;
    held.set(data.subarray(start * a, start * a + a));
    for (let q = start; ;) {
      placed[q >>> 5] |= 1 << (q & 31);
      const from = (q % R) * C + Math.floor(q / R);
      if (from === start) {
        data.set(held, q * a);
        break;
      }
      data.copyWithin(q * a, from * a, from * a + a);
      q = from;
    }
  }
}

/**
 * The tensors that share no byte with another one (tied weights, several views of one storage): only those
 * may be rewritten in place.
 */
function exclusiveTensors(tensors: TorchTensor[]): Set<TorchTensor> {
  const spans = tensors
    .map((t) => ({
      t,
      buffer: t.values.buffer,
      start: t.values.byteOffset,
      end: t.values.byteOffset + t.values.byteLength,
    }))
    .sort((x, y) => x.start - y.start);
  const shared = new Set<TorchTensor>();
  const open = new Map<ArrayBufferLike, { end: number; members: TorchTensor[] }>();
  for (const s of spans) {
    const run = open.get(s.buffer);
    if (run && s.start < run.end) {
      run.members.push(s.t);
      run.end = Math.max(run.end, s.end);
      for (const t of run.members) shared.add(t);
    } else open.set(s.buffer, { end: s.end, members: [s.t] });
  }
  return new Set(tensors.filter((t) => !shared.has(t)));
}

/** Thrown by {@link weightStore} when its signal is aborted. */
const cancelled = (file: string) => new OpenCancelledError(`opening ${file} was cancelled`);

/** Bytes converted between two looks at the signal (each one a turn of the event loop, so a cancel can arrive). */
const YIELD_BYTES = 32 << 20;

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The state dict's tensors in the IR's layout, per node. With `inPlace` (the file's bytes are the caller's to
 * give up, ModelFile.consumable) every tensor is converted inside the bytes it was read into — the store's
 * arrays are views of the file, and the only extra memory is one scratch of at most 16 MiB; tensors sharing
 * bytes with another are copied. Otherwise each converted tensor is a new array (the file's bytes are not
 * touched, and the store holds no view of them, which would keep the whole file alive).
 */
async function weightStore(
  built: TorchvisionGraph,
  sd: Map<string, TorchTensor>,
  file: string,
  opts: OpenTorchOptions,
): Promise<WeightStore> {
  const store: WeightStore = new Map();
  const nodes = new Map(built.graph.nodes.map((n) => [n.name, n]));
  const used = built.layers.flatMap((l) => l.params.map((p) => sd.get(p.key)!));
  const own = opts.inPlace ? exclusiveTensors(used) : new Set<TorchTensor>();
  let floats = 0;
  for (const layer of built.layers)
    for (const [i, p] of layer.params.entries()) {
      const t = sd.get(p.key)!;
      const move = own.has(t) && irTranspose(layer, i, t.shape);
      if (move) floats = Math.max(floats, move.cols, Math.min(SCRATCH_FLOATS, t.values.length));
    }
  const scratch = new Float32Array(floats);
  let sinceYield = 0;
  for (const layer of built.layers) {
    const specs = nodes.get(layer.node)!.weights!;
    const data: TensorData[] = [];
    for (const [i, p] of layer.params.entries()) {
      const t = sd.get(p.key)!;
      const move = irTranspose(layer, i, t.shape);
      let values: Float32Array;
      if (own.has(t)) {
        if (move) transposeInPlace(t.values, move.rows, move.cols, move.rowOf, scratch);
        values = t.values;
      } else if (move) {
        values = new Float32Array(t.values.length);
        transposeInto(t.values, values, move.rows, move.cols, move.rowOf);
      } else values = t.values.slice();
      data.push({ name: p.key, shape: specs[i].shape, data: values });
      sinceYield += values.byteLength;
      if (opts.signal && sinceYield >= YIELD_BYTES) {
        sinceYield = 0;
        await nextTurn();
      }
      if (opts.signal?.aborted) throw cancelled(file);
    }
    store.set(layer.node, data);
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

/** Options for {@link openTorchStateDict}. */
export interface OpenTorchOptions {
  /** The tensors' bytes are the caller's to give up (ModelFile.consumable): convert them where they lie. */
  inPlace?: boolean;
  /** Looked at between tensors (every 32 MB converted, a turn of the event loop): aborted → OpenCancelledError. */
  signal?: AbortSignal;
}

/** Opens a state dict already read from `file` (exported for tests and tools that read the file themselves). */
export async function openTorchStateDict(
  read: TorchStateDict,
  file: string,
  opts: OpenTorchOptions = {},
): Promise<OpenedModel> {
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
    weights: await weightStore(built, sd, file, opts),
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
  async open(files, opts = {}) {
    const f = mainFile(files);
    if (!f) {
      const name = files[0]?.path ?? 'model';
      throw new InputError(`${name}: not a PyTorch file`, name);
    }
    const inPlace = f.consumable === true;
    if (opts.signal?.aborted) throw cancelled(f.path);
    return openTorchStateDict(readTorchStateDict(f.bytes, f.path, { inPlace }), f.path, { ...opts, inPlace });
  },
};
