/**
 * ONNX models (PyTorch's torch.onnx.export, tf2onnx, …) opened into the layer-graph IR.
 *
 * The file is decoded with static protobufjs code generated from onnx.proto (onnx-proto.js; the CSP forbids the
 * reflection decoder's `new Function`). The graph is then walked once in topological order:
 * - tensors computable without the image (initializers, Constant, Shape of a known-shape tensor, Gather, Concat,
 *   Unsqueeze, Slice, Cast, ConstantOfShape, …) are evaluated here and never become layers;
 * - every other tensor is the output of an IR layer, with its ONNX shape (batch 1) and its layout: `perm[i]` is
 *   the NHWC axis that ONNX axis i is. NCHW tensors have perm [0, 3, 1, 2], tf2onnx's NHWC input [0, 1, 2, 3];
 *   a Transpose only changes the perm, so the transposes tf2onnx wraps around every conv fold away;
 * - a flattened tensor also remembers how ONNX's flatten order maps onto the IR's NHWC order (`flatPerm`), and the
 *   next Gemm / MatMul gets its weight rows permuted so the IR's flatten gives the same numbers.
 * Weights are converted to the IR's Keras layouts at open (OIHW → HWIO, depthwise, IOHW → [kh, kw, out, in],
 * Gemm transB, BN order scale, B, mean, var → gamma, beta, mean, var). BatchNormalization stays its own layer.
 */
import {
  onnx,
  type Int64,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from './onnx-proto';
import { InputError } from '../../../common/image-header';
import { resolvePadding } from '../analysis/analyze';
import type { Pair } from '../../../common/analysis-types';
import type { GraphNode, ModelGraph, Padding, TensorData, WeightSpec, WeightStore } from '../analysis/graph';
import type { ModelFile, ModelFormat, OpenedModel } from './types';

/** An opened ONNX model plus where each ONNX tensor went (tests and tools map PyTorch modules to layers with it). */
export interface OnnxOpened extends OpenedModel {
  /** ONNX tensor name → the IR layer whose output it is (transposes and no-op reshapes alias their input's layer). */
  tensorToLayer: Map<string, string>;
}

const toNum = (v: Int64 | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const prod = (a: number[]): number => a.reduce((x, y) => x * y, 1);
const utf8 = new TextDecoder();

/** A tensor known at open time. Integer tensors keep exact values in a Float64Array. */
interface Const {
  kind: 'const';
  shape: number[];
  data: Float32Array | Float64Array;
}

/** A tensor computed from the image: the output of an IR layer, seen through a layout. */
interface Dyn {
  kind: 'dyn';
  layer: string;
  /** ONNX shape, batch 1. */
  shape: number[];
  /** perm[i] = the NHWC (or [N, F]) axis ONNX axis i is. */
  perm: number[];
  /** Rank 2 only: ONNX feature index → IR feature index, null when equal. */
  flatPerm: Int32Array | null;
}

type Value = Const | Dyn;

const NCHW = [0, 3, 1, 2];
const sameArr = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** ONNX TensorProto.DataType values. */
const DT = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const isFloatType = (t: number) => t === DT.FLOAT || t === DT.FLOAT16 || t === DT.DOUBLE;

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Files of the model's folder by normalised relative path. */
type FileMap = Map<string, ModelFile>;

function normPath(p: string): string {
  const out: string[] = [];
  for (const part of p.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

const decoded = new WeakMap<Uint8Array, OnnxModel | null>();

/** Decodes a ModelProto, or null when the bytes are not one. Cached per buffer (match, then open). */
function tryDecode(bytes: Uint8Array): OnnxModel | null {
  if (decoded.has(bytes)) return decoded.get(bytes) ?? null;
  let m: OnnxModel | null = null;
  if (looksLikeModelProto(bytes)) {
    try {
      const d = onnx.ModelProto.decode(bytes);
      if (isPlausibleModel(d)) m = d;
    } catch {
      m = null;
    }
  }
  decoded.set(bytes, m);
  return m;
}

/** The first byte must be the tag of a ModelProto field (ir_version = 0x08 first in every writer seen). */
function looksLikeModelProto(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  return [0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72, 0xa2, 0xca].includes(b[0]);
}

function isPlausibleModel(m: OnnxModel): boolean {
  const ir = toNum(m.irVersion);
  const g = m.graph;
  return (
    ir >= 1 &&
    ir <= 64 &&
    !!g &&
    g.node.length > 0 &&
    g.node.every((n) => typeof n.opType === 'string' && /^[A-Za-z_][\w.]*$/.test(n.opType))
  );
}

class Attrs {
  private readonly map = new Map<string, OnnxAttribute>();
  constructor(node: OnnxNode) {
    for (const a of node.attribute) this.map.set(a.name, a);
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  int(name: string, def: number): number {
    const a = this.map.get(name);
    return a ? toNum(a.i) : def;
  }
  float(name: string, def: number): number {
    const a = this.map.get(name);
    return a ? a.f : def;
  }
  ints(name: string, def: number[] | null = null): number[] | null {
    const a = this.map.get(name);
    return a ? a.ints.map(toNum) : def;
  }
  floats(name: string): number[] | null {
    const a = this.map.get(name);
    return a ? [...a.floats] : null;
  }
  str(name: string, def: string): string {
    const a = this.map.get(name);
    return a ? utf8.decode(a.s) : def;
  }
  tensor(name: string): OnnxTensor | null {
    return this.map.get(name)?.t ?? null;
  }
}

/** Row-major strides. */
function strides(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Numpy broadcast of two shapes, or null. */
function broadcastShape(a: number[], b: number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(Math.max(x, y));
  }
  return out;
}

/** Index into `shape` (right-aligned, broadcast) for a flat index of `outShape`. */
function broadcastIndex(outShape: number[], shape: number[]): Int32Array {
  const n = prod(outShape);
  const idx = new Int32Array(n);
  const os = strides(outShape);
  const is = strides(shape);
  const off = outShape.length - shape.length;
  for (let k = 0; k < n; k++) {
    let rem = k;
    let j = 0;
    for (let a = 0; a < outShape.length; a++) {
      const c = Math.floor(rem / os[a]);
      rem -= c * os[a];
      const ia = a - off;
      if (ia >= 0 && shape[ia] !== 1) j += c * is[ia];
    }
    idx[k] = j;
  }
  return idx;
}

/** Converts one ONNX graph into the IR. One instance per open. */
class Converter {
  private readonly values = new Map<string, Value>();
  private readonly nodes: GraphNode[] = [];
  private readonly weights: WeightStore = new Map();
  private readonly usedNames = new Set<string>();
  private readonly consumers = new Map<string, number>();
  /** Dense layers made from a MatMul without bias, by IR name: a following Add of a constant becomes their bias. */
  private readonly biasless = new Map<string, { node: GraphNode & { op: 'dense' }; out: string }>();
  readonly warnings: string[] = [];
  readonly tensorToLayer = new Map<string, string>();
  private opset = 13;
  private node!: OnnxNode;
  private attrs!: Attrs;
  private irName = '';

  constructor(
    private readonly file: string,
    private readonly files: FileMap,
    private readonly model: OnnxModel,
  ) {}

  private fail(message: string, file = this.file): never {
    throw new InputError(`${this.file}: ${message}`, file);
  }

  private where(): string {
    return `node "${this.node.name || this.node.output[0]}" (${this.node.opType})`;
  }

  private failNode(message: string): never {
    this.fail(`${this.where()}: ${message}`);
  }

  // ---- tensors --------------------------------------------------------------------------------------------

  private tensorData(t: OnnxTensor): Const {
    const shape = t.dims.map(toNum);
    const n = prod(shape);
    const dt = t.dataType;
    let raw: Uint8Array | null = t.rawData && t.rawData.length ? t.rawData : null;
    if (t.dataLocation === 1) raw = this.external(t);
    const float = isFloatType(dt);
    const out = float ? new Float32Array(n) : new Float64Array(n);
    if (dt === DT.STRING) this.fail(`tensor "${t.name}" holds strings, which an image model does not use`);
    if (raw && dt === DT.FLOAT && littleEndian) {
      if (raw.byteLength < n * 4) {
        this.fail(`tensor "${t.name}" should hold ${n * 4} bytes but has ${raw.byteLength} (truncated file?)`);
      }
      // Copy: raw_data is a view into the file at any alignment.
      // (new Uint8Array + set, not slice: Node's Buffer.slice shares memory.)
      const aligned = new Uint8Array(n * 4);
      aligned.set(raw.subarray(0, n * 4));
      return { kind: 'const', shape, data: new Float32Array(aligned.buffer) };
    }
    if (raw) {
      const copy = new Uint8Array(raw);
      const dv = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
      const size = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8 }[dt];
      if (!size) this.fail(`tensor "${t.name}" has the unsupported data type ${dt}`);
      if (copy.byteLength < n * size) {
        this.fail(`tensor "${t.name}" should hold ${n * size} bytes but has ${copy.byteLength} (truncated file?)`);
      }
      for (let i = 0; i < n; i++) {
        const o = i * size;
        switch (dt) {
          case DT.FLOAT:
            out[i] = dv.getFloat32(o, true);
            break;
          case DT.DOUBLE:
            out[i] = dv.getFloat64(o, true);
            break;
          case DT.FLOAT16:
            out[i] = halfToFloat(dv.getUint16(o, true));
            break;
          case DT.UINT8:
          case DT.BOOL:
            out[i] = dv.getUint8(o);
            break;
          case DT.INT8:
            out[i] = dv.getInt8(o);
            break;
          case DT.UINT16:
            out[i] = dv.getUint16(o, true);
            break;
          case DT.INT16:
            out[i] = dv.getInt16(o, true);
            break;
          case DT.INT32:
            out[i] = dv.getInt32(o, true);
            break;
          case DT.UINT32:
            out[i] = dv.getUint32(o, true);
            break;
          case DT.INT64:
            out[i] = Number(dv.getBigInt64(o, true));
            break;
          case DT.UINT64:
            out[i] = Number(dv.getBigUint64(o, true));
            break;
        }
      }
      return { kind: 'const', shape, data: out };
    }
    let src: ArrayLike<number>;
    if (dt === DT.FLOAT || dt === DT.FLOAT16 || dt === DT.DOUBLE) {
      src = dt === DT.DOUBLE ? t.doubleData : dt === DT.FLOAT16 ? t.int32Data.map(halfToFloat) : t.floatData;
    } else if (dt === DT.INT64) src = t.int64Data.map(toNum);
    else if (dt === DT.UINT64 || dt === DT.UINT32) src = t.uint64Data.map(toNum);
    else src = t.int32Data;
    if (src.length === 1 && n > 1) out.fill(src[0]);
    else if (src.length < n) this.fail(`tensor "${t.name}" should hold ${n} values but has ${src.length}`);
    else for (let i = 0; i < n; i++) out[i] = src[i];
    return { kind: 'const', shape, data: out };
  }

  /** Bytes of an externally stored tensor, from a file of the same folder. */
  private external(t: OnnxTensor): Uint8Array {
    const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
    const location = kv.get('location');
    if (!location) this.fail(`tensor "${t.name}" is stored externally but names no file`);
    const dir = this.file.includes('/') ? this.file.slice(0, this.file.lastIndexOf('/') + 1) : '';
    const f = this.files.get(normPath(dir + location)) ?? this.files.get(normPath(location));
    if (!f) {
      this.fail(
        `the weights are stored in the external file "${location}", which is missing: open the model's whole folder, ` +
          `or select "${location}" together with the model`,
        location,
      );
    }
    const offset = Number(kv.get('offset') ?? 0);
    const length = kv.has('length') ? Number(kv.get('length')) : f.bytes.length - offset;
    if (offset + length > f.bytes.length) {
      this.fail(`tensor "${t.name}" lies beyond the end of "${location}" (truncated file?)`, location);
    }
    return f.bytes.subarray(offset, offset + length);
  }

  private value(name: string): Value {
    const v = this.values.get(name);
    if (!v) this.failNode(`input "${name}" was not computed (it comes from an output this reader does not produce)`);
    return v;
  }

  private constIn(i: number, what = 'this input'): Const {
    const name = this.node.input[i];
    if (!name) this.failNode(`${what} (input ${i}) is missing`);
    const v = this.value(name);
    if (v.kind !== 'const') this.failNode(`${what} (input ${i}) must be a constant, not computed from the image`);
    return v;
  }

  private optConst(i: number): Const | null {
    const name = this.node.input[i];
    if (!name) return null;
    const v = this.value(name);
    if (v.kind !== 'const') this.failNode(`input ${i} must be a constant, not computed from the image`);
    return v;
  }

  private dynIn(i: number): Dyn {
    const v = this.value(this.node.input[i]);
    if (v.kind !== 'dyn') this.failNode(`input ${i} must be computed from the image`);
    return v;
  }

  /** A rank-4 NCHW image tensor, as convs and pools need. */
  private nchw(i: number): Dyn {
    const x = this.dynIn(i);
    if (x.shape.length !== 4) this.failNode(`expects a rank-4 image tensor, got shape [${x.shape.join(', ')}]`);
    if (!sameArr(x.perm, NCHW)) {
      this.failNode(
        `its input is not in NCHW order (its axes are NHWC axes [${x.perm.join(', ')}]); ` +
          'a transpose the reader cannot fold away',
      );
    }
    return x;
  }

  // ---- emitting layers --------------------------------------------------------------------------------------

  private uniqueName(base: string): string {
    let name = base || 'layer';
    for (let k = 1; this.usedNames.has(name); k++) name = `${base}_${k}`;
    this.usedNames.add(name);
    return name;
  }

  private setOut(k: number, v: Value): void {
    const name = this.node.output[k];
    if (!name) return;
    this.values.set(name, v);
    if (v.kind === 'dyn') this.tensorToLayer.set(name, v.layer);
  }

  /** Adds the IR layer for the current node and sets its first output. */
  private emit(
    node: Omit<GraphNode, 'name'> & { op: GraphNode['op'] },
    inputs: Dyn[],
    out: Omit<Dyn, 'kind' | 'layer'>,
    weights?: TensorData[],
    roles?: WeightSpec['role'][],
  ): Dyn {
    const name = this.irName;
    // className: the ONNX op type, for tables and messages ("Conv", "Gemm", "BatchNormalization").
    const full = { ...node, name, inputs: inputs.map((x) => x.layer), className: this.node.opType } as GraphNode;
    if (weights && weights.length) {
      full.weights = weights.map((w, i) => ({ name: w.name, shape: w.shape, role: roles?.[i] }));
      this.weights.set(name, weights);
    }
    this.nodes.push(full);
    const dyn: Dyn = { kind: 'dyn', layer: name, ...out };
    this.setOut(0, dyn);
    return dyn;
  }

  private alias(x: Dyn, changes: Partial<Dyn> = {}): void {
    this.setOut(0, { ...x, ...changes });
  }

  private unary(x: Dyn, node: Omit<GraphNode, 'name' | 'inputs'> & { op: GraphNode['op'] }): Dyn {
    return this.emit(node as GraphNode, [x], { shape: x.shape, perm: x.perm, flatPerm: x.flatPerm });
  }

  private act(fn: string, extra: { alpha?: number; beta?: number; min?: number; max?: number } = {}): void {
    const x = this.dynIn(0);
    this.unary(x, { op: 'activation', fn, ...extra } as GraphNode);
  }

  // ---- the walk ---------------------------------------------------------------------------------------------

  convert(): { graph: ModelGraph; weights: WeightStore } {
    const m = this.model;
    const g = m.graph as OnnxGraph;
    const main = m.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
    this.opset = main ? toNum(main.version) : 1;

    for (const t of g.initializer) this.values.set(t.name, this.tensorData(t));
    const order = this.sortNodes(g);
    for (const n of order) for (const i of n.input) if (i) this.consumers.set(i, (this.consumers.get(i) ?? 0) + 1);

    const inputName = this.addInput(g, order);
    // Node names: the ONNX name where present and unique, else the first output's name.
    const nameCount = new Map<string, number>();
    for (const n of order) if (n.name) nameCount.set(n.name, (nameCount.get(n.name) ?? 0) + 1);
    nameCount.set(inputName, 2);

    for (const n of order) {
      this.node = n;
      this.attrs = new Attrs(n);
      this.irName = '';
      const domain = n.domain || '';
      if (domain !== '' && domain !== 'ai.onnx') {
        this.fail(
          `operator "${domain}::${n.opType}" of node "${n.name || n.output[0]}" is not supported (custom domain)`,
        );
      }
      const ins = n.input.filter((i) => i !== '').map((i) => this.value(i));
      if (ins.every((v) => v.kind === 'const') && n.opType !== 'Shape') {
        this.fold();
        continue;
      }
      const base = n.name && nameCount.get(n.name) === 1 ? n.name : n.output[0] || n.name || n.opType;
      this.irName = this.uniqueName(base);
      this.dynamicOp();
      // Names reserved for layers that turned out to be aliases are freed again.
      if (this.nodes[this.nodes.length - 1]?.name !== this.irName) this.usedNames.delete(this.irName);
    }

    const outputs: string[] = [];
    for (const o of g.output) {
      const v = this.values.get(o.name);
      if (!v) this.fail(`the graph output "${o.name}" is not computed by any node`);
      if (v.kind === 'const') {
        this.warnings.push(`graph output "${o.name}" does not depend on the image`);
        continue;
      }
      if (!outputs.includes(v.layer)) outputs.push(v.layer);
    }
    if (!outputs.length) this.fail('no graph output depends on the image input');
    const name = this.file
      .split('/')
      .pop()!
      .replace(/\.onnx$/i, '');
    return {
      graph: {
        name,
        nodes: this.nodes,
        outputs,
        source: this.file,
        weightsDefineParams: true,
        parseWarnings: this.warnings.length ? [...this.warnings] : undefined,
      },
      weights: this.weights,
    };
  }

  /** Topological order of the nodes (ONNX requires it, but check): a cycle or a dangling input is an error. */
  private sortNodes(g: OnnxGraph): OnnxNode[] {
    const producer = new Map<string, number>();
    g.node.forEach((n, i) => n.output.forEach((o) => o && producer.set(o, i)));
    const known = new Set<string>([...g.initializer.map((t) => t.name), ...g.input.map((i) => i.name)]);
    const state = new Uint8Array(g.node.length);
    const order: OnnxNode[] = [];
    const label = (n: OnnxNode) => `"${n.name || n.output[0]}" (${n.opType})`;
    for (let start = 0; start < g.node.length; start++) {
      if (state[start]) continue;
      const stack: [number, number][] = [[start, 0]];
      state[start] = 1;
      while (stack.length) {
        const top = stack[stack.length - 1];
        const n = g.node[top[0]];
        if (top[1] < n.input.length) {
          const t = n.input[top[1]++];
          if (!t || known.has(t)) continue;
          const p = producer.get(t);
          if (p === undefined) {
            this.fail(`node ${label(n)} reads tensor "${t}", which no node, initializer or graph input provides`);
          }
          if (state[p] === 1) this.fail(`the graph has a cycle: node ${label(g.node[p])} depends on its own output`);
          if (state[p] === 0) {
            state[p] = 1;
            stack.push([p, 0]);
          }
        } else {
          state[top[0]] = 2;
          order.push(n);
          stack.pop();
        }
      }
    }
    return order;
  }

  /** Finds the one rank-4 image input and adds the IR input layer. */
  private addInput(g: OnnxGraph, order: OnnxNode[]): string {
    const inits = new Set(g.initializer.map((t) => t.name));
    const real = g.input.filter((i) => !inits.has(i.name));
    const rankOf = (i: (typeof real)[number]) => i.type?.tensorType?.shape?.dim.length ?? -1;
    const images = real.filter((i) => rankOf(i) === 4);
    if (!images.length) {
      const seen = real.map((i) => `"${i.name}" (rank ${rankOf(i) < 0 ? 'unknown' : rankOf(i)})`).join(', ');
      this.fail(`the model has no image input (a rank-4 tensor); its inputs are ${seen || 'none'}`);
    }
    if (images.length > 1)
      this.fail(`the model has ${images.length} image inputs; only single-image models are supported`);
    if (real.length > 1) {
      this.fail(
        `the model has ${real.length} inputs (${real.map((i) => i.name).join(', ')}); only one image input is supported`,
      );
    }
    const inp = images[0];
    const dims = inp.type!.tensorType!.shape!.dim.map((d) => {
      const v = toNum(d.dimValue);
      return v > 0 ? v : null;
    });
    const consumers = order.filter((n) => n.input.includes(inp.name));
    const transposedToNchw =
      consumers.length > 0 &&
      consumers.every((n) => n.opType === 'Transpose' && sameArr(new Attrs(n).ints('perm') ?? [], NCHW));
    let nhwc: boolean;
    if (transposedToNchw) nhwc = true;
    else if (dims[1] !== null && dims[1] <= 4) nhwc = false;
    else if (dims[3] !== null && dims[3] <= 4) nhwc = true;
    else nhwc = false;
    const [h0, w0, c] = nhwc ? [dims[1], dims[2], dims[3]] : [dims[2], dims[3], dims[1]];
    if (c === null) this.fail(`the image input "${inp.name}" has no fixed channel count`);
    const openSize = h0 === null || w0 === null;
    if (openSize) {
      this.warnings.push(`the input "${inp.name}" has no fixed size; shapes were worked out for 224×224`);
    }
    const irShape: [number | null, number | null, number] = [h0, w0, c];
    const h = h0 ?? 224;
    const w = w0 ?? 224;
    if (dims[0] !== null && dims[0] !== 1)
      this.warnings.push(`the model was exported for batch ${dims[0]}; it runs with batch 1`);
    const name = this.uniqueName(inp.name);
    this.nodes.push({ op: 'input', name, inputs: [], shape: irShape });
    const v: Dyn = nhwc
      ? { kind: 'dyn', layer: name, shape: [1, h, w, c], perm: [0, 1, 2, 3], flatPerm: null }
      : { kind: 'dyn', layer: name, shape: [1, c, h, w], perm: NCHW, flatPerm: null };
    this.values.set(inp.name, v);
    this.tensorToLayer.set(inp.name, name);
    return name;
  }

  // ---- ops on image tensors ---------------------------------------------------------------------------------

  private dynamicOp(): void {
    const op = this.node.opType;
    const a = this.attrs;
    switch (op) {
      case 'Conv':
        return this.conv();
      case 'ConvTranspose':
        return this.convTranspose();
      case 'Gemm':
        return this.gemm();
      case 'MatMul':
        return this.matmul();
      case 'BatchNormalization':
        return this.batchNorm();
      case 'MaxPool':
      case 'AveragePool':
        return this.pool(op === 'MaxPool' ? 'maxpool' : 'avgpool');
      case 'GlobalAveragePool':
      case 'GlobalMaxPool': {
        const x = this.nchw(0);
        this.emit({ op: op === 'GlobalAveragePool' ? 'gap' : 'gmp', keepDims: true } as GraphNode, [x], {
          shape: [1, x.shape[1], 1, 1],
          perm: NCHW,
          flatPerm: null,
        });
        return;
      }
      case 'ReduceMean':
      case 'ReduceMax':
        return this.reduce(op === 'ReduceMean' ? 'gap' : 'gmp');
      case 'Relu':
        return this.act('relu');
      case 'LeakyRelu':
        return this.act('leaky_relu', { alpha: a.float('alpha', 0.01) });
      case 'Elu':
        return this.act('elu', { alpha: a.float('alpha', 1) });
      case 'Selu':
        if (
          Math.abs(a.float('alpha', 1.67326) - 1.67326) > 1e-4 ||
          Math.abs(a.float('gamma', 1.0507) - 1.0507) > 1e-4
        ) {
          this.failNode('Selu with non-standard alpha/gamma is not supported');
        }
        return this.act('selu');
      case 'Sigmoid':
        return this.act('sigmoid');
      case 'HardSigmoid':
        return this.act('hard_sigmoid', { alpha: a.float('alpha', 0.2), beta: a.float('beta', 0.5) });
      case 'HardSwish':
        return this.act('hard_swish');
      case 'Tanh':
        return this.act('tanh');
      case 'Softplus':
        return this.act('softplus');
      case 'Softsign':
        return this.act('softsign');
      case 'Exp':
        return this.act('exponential');
      case 'Mish':
        return this.act('mish');
      case 'Gelu':
        return this.act('gelu');
      case 'Clip':
        return this.clip();
      case 'Softmax':
        return this.softmax();
      case 'PRelu':
        return this.prelu();
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
      case 'Sum':
      case 'Max':
      case 'Min':
        return this.binary(op);
      case 'Concat':
        return this.concat();
      case 'Flatten': {
        const x = this.dynIn(0);
        let axis = a.int('axis', 1);
        if (axis < 0) axis += x.shape.length;
        if (axis > 1) this.failNode(`Flatten at axis ${axis} keeps spatial axes apart, which an image layer cannot`);
        return this.reshapeTo(x, [1, prod(x.shape.slice(1))]);
      }
      case 'Reshape':
        return this.reshape();
      case 'Squeeze':
      case 'Unsqueeze':
        return this.squeeze(op === 'Unsqueeze');
      case 'Transpose': {
        const x = this.dynIn(0);
        const p = a.ints('perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
        if (p[0] !== 0) this.failNode('a transpose that moves the batch axis is not supported');
        if (x.shape.length === 2) return this.alias(x);
        this.alias(x, { shape: p.map((i) => x.shape[i]), perm: p.map((i) => x.perm[i]) });
        return;
      }
      case 'Identity':
        this.unary(this.dynIn(0), { op: 'identity' } as GraphNode);
        return;
      case 'Dropout': {
        const ratio = this.opset >= 12 ? (this.optConst(1)?.data[0] ?? 0.5) : a.float('ratio', 0.5);
        this.unary(this.dynIn(0), { op: 'dropout', rate: ratio } as GraphNode);
        return;
      }
      case 'Cast': {
        const to = a.int('to', DT.FLOAT);
        if (!isFloatType(to)) this.failNode('a cast of the image to a non-float type is not supported');
        return this.alias(this.dynIn(0));
      }
      case 'Pad':
        return this.pad();
      case 'Upsample':
      case 'Resize':
        return this.resize();
      case 'Size':
        this.setOut(0, { kind: 'const', shape: [], data: Float64Array.of(prod(this.dynIn(0).shape)) });
        return;
      case 'Shape': {
        const x = this.value(this.node.input[0]);
        let s = x.shape.slice();
        const start = a.int('start', 0);
        const end = a.has('end') ? a.int('end', s.length) : s.length;
        s = s.slice(start < 0 ? start + s.length : start, end < 0 ? end + s.length : end);
        this.setOut(0, { kind: 'const', shape: [s.length], data: Float64Array.from(s) });
        return;
      }
      default:
        this.fail(`operator "${op}" of node "${this.node.name || this.node.output[0]}" is not supported`);
    }
  }

  /** Explicit or automatic padding of a conv / pool, as the IR's Padding. */
  private padding(x: Dyn, kernel: Pair, stride: Pair, dil: Pair): Padding {
    const auto = this.attrs.str('auto_pad', 'NOTSET');
    if (auto === 'VALID') return 'valid';
    if (auto === 'SAME_UPPER') return 'same';
    if (auto === 'SAME_LOWER') {
      const p: number[] = [];
      for (const ax of [0, 1]) {
        const size = x.shape[2 + ax];
        const out = Math.ceil(size / stride[ax]);
        const total = Math.max((out - 1) * stride[ax] + (kernel[ax] - 1) * dil[ax] + 1 - size, 0);
        p.push(Math.ceil(total / 2), total - Math.ceil(total / 2));
      }
      return p as [number, number, number, number];
    }
    const pads = this.attrs.ints('pads', [0, 0, 0, 0])!;
    if (pads.length !== 4) this.failNode(`expects 4 pads, got ${pads.length}`);
    if (pads.every((v) => v === 0)) return 'valid';
    return [pads[0], pads[2], pads[1], pads[3]];
  }

  private outSpatial(x: Dyn, kernel: Pair, stride: Pair, dil: Pair, padding: Padding, ceil = false): Pair {
    const o: Pair = [0, 0];
    for (const ax of [0, 1] as const) {
      o[ax] = resolvePadding(x.shape[2 + ax], kernel[ax], stride[ax], dil[ax], padding, ax, ceil).out;
      if (o[ax] <= 0) this.failNode(`the output would be empty (input ${x.shape[2]}×${x.shape[3]})`);
    }
    return o;
  }

  private conv(): void {
    const x = this.nchw(0);
    const w = this.constIn(1, 'the weight');
    if (w.shape.length !== 4) this.failNode('only 2-D convolutions are supported');
    const [M, cg, kh, kw] = w.shape;
    const C = x.shape[1];
    const group = this.attrs.int('group', 1);
    if (cg * group !== C)
      this.failNode(`weight [${w.shape.join(', ')}] does not fit ${C} input channels in ${group} groups`);
    const stride = (this.attrs.ints('strides', [1, 1]) as Pair).slice() as Pair;
    const dil = (this.attrs.ints('dilations', [1, 1]) as Pair).slice() as Pair;
    const kernel: Pair = [kh, kw];
    const padding = this.padding(x, kernel, stride, dil);
    const b = this.optConst(2);
    const out = this.outSpatial(x, kernel, stride, dil, padding);
    const wname = this.node.input[1];
    const ws: TensorData[] = [];
    const depthwise = group > 1 && group === C && cg === 1 && M % C === 0;
    const base = { kernel, strides: stride, padding, dilation: dil, useBias: !!b };
    let node: GraphNode;
    if (depthwise) {
      const mult = M / C;
      const k = new Float32Array(kh * kw * C * mult);
      // ONNX output channel o = c·mult + j reads input channel c; the IR kernel is [kh, kw, C, mult].
      for (let o = 0; o < M; o++)
        for (let y = 0; y < kh; y++)
          for (let z = 0; z < kw; z++) k[(y * kw + z) * M + o] = w.data[(o * kh + y) * kw + z];
      ws.push({ name: wname, shape: [kh, kw, C, mult], data: k });
      node = { op: 'depthwise', depthMultiplier: mult, ...base } as GraphNode;
    } else {
      ws.push({ name: wname, shape: [kh, kw, cg, M], data: oihwToHwio(w.data, [M, cg, kh, kw]) });
      node = { op: 'conv', filters: M, ...base, ...(group > 1 ? { groups: group } : {}) } as GraphNode;
    }
    if (b) ws.push({ name: this.node.input[2], shape: [M], data: Float32Array.from(b.data) });
    this.emit(node, [x], { shape: [1, M, out[0], out[1]], perm: NCHW, flatPerm: null }, ws, ['weight', 'bias']);
  }

  private convTranspose(): void {
    const x = this.nchw(0);
    const w = this.constIn(1, 'the weight');
    if (w.shape.length !== 4) this.failNode('only 2-D transposed convolutions are supported');
    const [cin, mg, kh, kw] = w.shape;
    const group = this.attrs.int('group', 1);
    if (group !== 1) this.failNode('grouped ConvTranspose is not supported');
    if (cin !== x.shape[1]) this.failNode(`weight [${w.shape.join(', ')}] does not fit ${x.shape[1]} input channels`);
    const stride = (this.attrs.ints('strides', [1, 1]) as Pair).slice() as Pair;
    const dil = (this.attrs.ints('dilations', [1, 1]) as Pair).slice() as Pair;
    const outPad = (this.attrs.ints('output_padding', [0, 0]) as Pair).slice() as Pair;
    const auto = this.attrs.str('auto_pad', 'NOTSET');
    const outputShape = this.attrs.ints('output_shape');
    const keff: Pair = [(kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1];
    let pads = this.attrs.ints('pads', [0, 0, 0, 0])!;
    if (outputShape || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      const target = outputShape ? outputShape.slice(-2) : [x.shape[2] * stride[0], x.shape[3] * stride[1]];
      const p = [0, 0, 0, 0];
      for (const ax of [0, 1]) {
        const total = stride[ax] * (x.shape[2 + ax] - 1) + outPad[ax] + keff[ax] - target[ax];
        const small = Math.floor(total / 2);
        const [begin, end] = auto === 'SAME_LOWER' ? [total - small, small] : [small, total - small];
        p[ax] = begin;
        p[ax + 2] = end;
      }
      pads = p;
    } else if (auto === 'VALID') pads = [0, 0, 0, 0];
    const padding: Padding = pads.every((v) => v === 0) ? 'valid' : [pads[0], pads[2], pads[1], pads[3]];
    const oh = (x.shape[2] - 1) * stride[0] + keff[0] - pads[0] - pads[2] + outPad[0];
    const ow = (x.shape[3] - 1) * stride[1] + keff[1] - pads[1] - pads[3] + outPad[1];
    if (oh <= 0 || ow <= 0) this.failNode('the output would be empty');
    // IOHW → [kh, kw, out, in] (tf.conv2dTranspose's filter), no flip: both are the gradient of the same conv.
    const k = new Float32Array(kh * kw * mg * cin);
    for (let i = 0; i < cin; i++)
      for (let o = 0; o < mg; o++)
        for (let y = 0; y < kh; y++)
          for (let z = 0; z < kw; z++) k[((y * kw + z) * mg + o) * cin + i] = w.data[((i * mg + o) * kh + y) * kw + z];
    const b = this.optConst(2);
    const ws: TensorData[] = [{ name: this.node.input[1], shape: [kh, kw, mg, cin], data: k }];
    if (b) ws.push({ name: this.node.input[2], shape: [mg], data: Float32Array.from(b.data) });
    const node = {
      op: 'convtranspose',
      filters: mg,
      kernel: [kh, kw],
      strides: stride,
      padding,
      dilation: dil,
      useBias: !!b,
      ...(outPad[0] || outPad[1] ? { outputPadding: outPad } : {}),
    } as GraphNode;
    this.emit(node, [x], { shape: [1, mg, oh, ow], perm: NCHW, flatPerm: null }, ws, ['weight', 'bias']);
  }

  /** A [N, F] tensor for a dense layer. */
  private flatIn(i: number): Dyn {
    const x = this.dynIn(i);
    if (x.shape.length !== 2) {
      this.failNode(
        `a matrix product with a rank-${x.shape.length} tensor [${x.shape.join(', ')}] is not a dense layer`,
      );
    }
    return x;
  }

  /**
   * The IR's dense kernel [in, units] from an ONNX weight: B [units, in] when transposed, else [in, units], times
   * alpha, with its rows moved to the IR's feature order (the input's flatPerm). Tiled: VGG's 25088 × 4096 matrix
   * would otherwise miss the cache on every read.
   */
  private denseKernel(
    x: Dyn,
    b: Const,
    transposed: boolean,
    alpha: number,
  ): { k: Float32Array; fin: number; units: number } {
    if (b.shape.length !== 2) this.failNode('the weight must be a matrix');
    const [fin, units] = transposed ? [b.shape[1], b.shape[0]] : b.shape;
    if (fin !== x.shape[1]) this.failNode(`weight rows ${fin} do not match the ${x.shape[1]} input features`);
    const k = new Float32Array(fin * units);
    const fp = x.flatPerm;
    const src = b.data;
    if (!transposed) {
      for (let i = 0; i < fin; i++) {
        const row = src.subarray(i * units, (i + 1) * units);
        const at = (fp ? fp[i] : i) * units;
        if (alpha === 1) k.set(row, at);
        else for (let u = 0; u < units; u++) k[at + u] = alpha * row[u];
      }
      return { k, fin, units };
    }
    const rowAt = new Int32Array(fin);
    for (let i = 0; i < fin; i++) rowAt[i] = (fp ? fp[i] : i) * units;
    transposeTiled(src instanceof Float32Array ? src : Float32Array.from(src), k, rowAt, units, fin, alpha);
    return { k, fin, units };
  }

  /** Adds a dense layer with an IR kernel [in, units]. */
  private dense(x: Dyn, k: Float32Array, units: number, bias: Float32Array | null): void {
    const fin = k.length / units;
    const wname = this.node.input[1];
    const ws: TensorData[] = [{ name: wname, shape: [fin, units], data: k }];
    if (bias) ws.push({ name: this.node.input[2] ?? `${wname}_bias`, shape: [units], data: bias });
    const node = { op: 'dense', units, useBias: !!bias } as GraphNode;
    const out = this.emit(node, [x], { shape: [1, units], perm: [0, 1], flatPerm: null }, ws, ['weight', 'bias']);
    const made = this.nodes[this.nodes.length - 1] as GraphNode & { op: 'dense' };
    if (!bias) this.biasless.set(out.layer, { node: made, out: this.node.output[0] });
  }

  private gemm(): void {
    const a = this.attrs;
    if (a.int('transA', 0)) this.failNode('Gemm with transA = 1 on the image is not supported');
    const x = this.flatIn(0);
    const b = this.constIn(1, 'the weight');
    const beta = a.float('beta', 1);
    const { k, units } = this.denseKernel(x, b, a.int('transB', 0) === 1, a.float('alpha', 1));
    const c = this.optConst(2);
    let bias: Float32Array | null = null;
    if (c) {
      const n = prod(c.shape);
      if (n !== units && n !== 1) this.failNode(`bias of ${n} values for ${units} units`);
      bias = new Float32Array(units);
      for (let u = 0; u < units; u++) bias[u] = beta * c.data[n === 1 ? 0 : u];
    }
    this.dense(x, k, units, bias);
  }

  private matmul(): void {
    const x = this.flatIn(0);
    const { k, units } = this.denseKernel(x, this.constIn(1, 'the weight'), false, 1);
    this.dense(x, k, units, null);
  }

  private batchNorm(): void {
    const x = this.dynIn(0);
    const C = this.channels(x);
    const names = ['scale', 'B', 'mean', 'var'];
    const ts = [1, 2, 3, 4].map((i, k) => {
      const t = this.constIn(i, names[k]);
      if (prod(t.shape) !== C) this.failNode(`${names[k]} has ${prod(t.shape)} values for ${C} channels`);
      return { name: this.node.input[i], shape: [C], data: this.channelOrder(x, Float32Array.from(t.data)) };
    });
    const node = {
      op: 'bn',
      center: true,
      scale: true,
      epsilon: this.attrs.float('epsilon', 1e-5),
      momentum: this.attrs.float('momentum', 0.9),
    } as GraphNode;
    this.emit(node, [x], { shape: x.shape, perm: x.perm, flatPerm: x.flatPerm }, ts, [
      'weight',
      'bias',
      'stat',
      'stat',
    ]);
  }

  /** The channel (last IR axis) count of a tensor, which must be ONNX axis 1 (BN and friends). */
  private channels(x: Dyn): number {
    const last = x.shape.length - 1;
    if (x.perm[1] !== last) this.failNode('the channel axis is not axis 1 here');
    return x.shape[1];
  }

  /** Per-feature values of a flattened tensor, reordered into the IR's feature order. */
  private channelOrder(x: Dyn, v: Float32Array): Float32Array {
    if (!x.flatPerm || v.length === 1) return v;
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[x.flatPerm[i]] = v[i];
    return out;
  }

  private pool(op: 'maxpool' | 'avgpool'): void {
    const x = this.nchw(0);
    const a = this.attrs;
    if (op === 'maxpool' && this.node.output[1] && this.consumers.get(this.node.output[1])) {
      this.failNode('MaxPool indices are not supported');
    }
    const kernel = a.ints('kernel_shape') as Pair | null;
    if (!kernel || kernel.length !== 2) this.failNode('only 2-D pooling is supported');
    const stride = (a.ints('strides', [1, 1]) as Pair).slice() as Pair;
    const dil = a.ints('dilations', [1, 1])!;
    if (dil.some((d) => d !== 1)) this.failNode('dilated pooling is not supported');
    const padding = this.padding(x, kernel, stride, [1, 1]);
    const ceilMode = a.int('ceil_mode', 0) === 1;
    const out = this.outSpatial(x, kernel, stride, [1, 1], padding, ceilMode);
    const node = {
      op,
      pool: [kernel[0], kernel[1]],
      strides: stride,
      padding,
      ...(ceilMode ? { ceilMode: true } : {}),
      ...(op === 'avgpool' && a.int('count_include_pad', 0) ? { countIncludePad: true } : {}),
    } as GraphNode;
    this.emit(node, [x], { shape: [1, x.shape[1], out[0], out[1]], perm: NCHW, flatPerm: null });
  }

  /** ReduceMean / ReduceMax over the two spatial axes (in whatever layout: tf2onnx reduces NHWC axes [1, 2]). */
  private reduce(op: 'gap' | 'gmp'): void {
    const x = this.dynIn(0);
    if (x.shape.length !== 4) this.failNode(`expects a rank-4 image tensor, got [${x.shape.join(', ')}]`);
    const fromInput = this.node.input[1] ? Array.from(this.constIn(1, 'axes').data) : null;
    let axes = this.attrs.ints('axes') ?? fromInput;
    if (!axes) this.failNode('a reduction over every axis is not an image layer');
    axes = axes.map((v) => (v < 0 ? v + 4 : v)).sort();
    const spatial = [0, 1, 2, 3].filter((i) => x.perm[i] === 1 || x.perm[i] === 2);
    if (!sameArr(axes, spatial)) this.failNode(`a reduction over axes [${axes.join(', ')}] is not a global pooling`);
    const keep = this.attrs.int('keepdims', 1) === 1;
    const C = x.shape[x.perm.indexOf(3)];
    this.emit({ op, keepDims: keep } as GraphNode, [x], {
      shape: keep ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : [1, C],
      perm: keep ? x.perm : [0, 1],
      flatPerm: null,
    });
  }

  private clip(): void {
    let lo = -Infinity;
    let hi = Infinity;
    if (this.opset < 11) {
      lo = this.attrs.float('min', -Infinity);
      hi = this.attrs.float('max', Infinity);
    } else {
      const mn = this.optConst(1);
      const mx = this.optConst(2);
      if (mn) lo = mn.data[0];
      if (mx) hi = mx.data[0];
    }
    if (lo <= -3.4e38) lo = -Infinity;
    if (hi >= 3.4e38) hi = Infinity;
    if (lo === 0 && hi === 6) return this.act('relu6');
    if (lo === 0 && hi === Infinity) return this.act('relu');
    this.act('clip', {
      ...(lo > -Infinity ? { min: lo } : {}),
      ...(hi < Infinity ? { max: hi } : {}),
    });
  }

  private softmax(): void {
    const x = this.dynIn(0);
    const r = x.shape.length;
    let axis = this.attrs.int('axis', this.opset >= 13 ? -1 : 1);
    if (axis < 0) axis += r;
    // Opset < 13 softmaxes the flattened axes [axis, r): over the channels when the others among them are 1.
    const chan = x.perm.indexOf(r - 1);
    const tail = x.shape.map((_, i) => i).filter((i) => i >= axis);
    const ok =
      this.opset >= 13
        ? axis === chan
        : tail.includes(chan) && prod(tail.filter((i) => i !== chan).map((i) => x.shape[i])) === 1;
    if (!ok) this.failNode(`a softmax over axis ${axis} of [${x.shape.join(', ')}] is not over the channels`);
    if (r === 2 && x.flatPerm) this.warnings.push(`${this.where()}: softmax over a flattened image`);
    this.act('softmax');
  }

  private prelu(): void {
    const x = this.dynIn(0);
    const s = this.constIn(1, 'the slope');
    const v = this.perChannel(x, s);
    if (!v) this.failNode(`slope of shape [${s.shape.join(', ')}] is not per channel`);
    const shape = x.shape.length === 4 ? [1, 1, v.length] : [v.length];
    this.unary(x, { op: 'activation', fn: 'prelu' } as GraphNode);
    const node = this.nodes[this.nodes.length - 1];
    node.weights = [{ name: this.node.input[1], shape, role: 'weight' }];
    this.weights.set(node.name, [{ name: this.node.input[1], shape, data: v }]);
  }

  /**
   * A constant that broadcasts onto x as one value or one per channel: the values in IR channel order, else null.
   */
  private perChannel(x: Dyn, c: Const): Float32Array | null {
    const n = prod(c.shape);
    if (n === 1) return Float32Array.of(c.data[0]);
    const r = x.shape.length;
    if (c.shape.length > r) return null;
    const aligned = [...new Array<number>(r - c.shape.length).fill(1), ...c.shape];
    const big = aligned.map((d, i) => (d !== 1 ? i : -1)).filter((i) => i >= 0);
    if (big.length !== 1) return null;
    const ax = big[0];
    if (x.perm[ax] !== r - 1 || aligned[ax] !== x.shape[ax]) return null;
    return this.channelOrder(x, Float32Array.from(c.data));
  }

  private binary(op: string): void {
    const inputs = this.node.input.map((i) => this.value(i));
    const dyn = inputs.filter((v): v is Dyn => v.kind === 'dyn');
    if (dyn.length === 2 && inputs.length === 2) {
      const [p, q] = dyn;
      const merge = { Add: 'add', Sum: 'add', Mul: 'multiply', Sub: 'subtract', Max: 'maximum', Min: 'minimum' }[op];
      if (!merge) this.failNode('a division of two image tensors is not supported');
      if (!sameArr(p.perm, q.perm) || (p.flatPerm && (!q.flatPerm || !sameArr([...p.flatPerm], [...q.flatPerm])))) {
        this.failNode('the two inputs have different layouts');
      }
      const shape = broadcastShape(p.shape, q.shape);
      if (!shape) this.failNode(`shapes [${p.shape.join(', ')}] and [${q.shape.join(', ')}] do not broadcast`);
      this.emit({ op: merge } as GraphNode, [p, q], { shape, perm: p.perm, flatPerm: p.flatPerm });
      return;
    }
    if (inputs.length !== 2) this.failNode(`${inputs.length} inputs are not supported`);
    const xi = inputs[0].kind === 'dyn' ? 0 : 1;
    const x = inputs[xi] as Dyn;
    const c = inputs[1 - xi] as Const;
    const v = this.perChannel(x, c);
    if (!v) this.failNode(`a constant of shape [${c.shape.join(', ')}] that is not one value per channel`);
    // MatMul + Add (tf2onnx's dense layer): the constant is the dense layer's bias.
    const pending = this.biasless.get(x.layer);
    if (op === 'Add' && pending && this.consumers.get(pending.out) === 1 && v.length === x.shape[1]) {
      this.biasless.delete(x.layer);
      pending.node.useBias = true;
      const ws = this.weights.get(x.layer)!;
      ws.push({ name: this.node.input[1 - xi], shape: [v.length], data: v });
      pending.node.weights!.push({ name: this.node.input[1 - xi], shape: [v.length], role: 'bias' });
      return this.alias(x);
    }
    let scale: Float32Array;
    let offset: Float32Array;
    const one = Float32Array.of(1);
    const zero = Float32Array.of(0);
    switch (op) {
      case 'Add':
      case 'Sum':
        [scale, offset] = [one, v];
        break;
      case 'Mul':
        [scale, offset] = [v, zero];
        break;
      case 'Sub':
        [scale, offset] = xi === 0 ? [one, v.map((t) => -t)] : [Float32Array.of(-1), v];
        break;
      case 'Div':
        if (xi !== 0) this.failNode('a constant divided by the image is not supported');
        [scale, offset] = [v.map((t) => 1 / t), zero];
        break;
      default:
        this.failNode(`${op} with a constant is not supported`);
    }
    const n = Math.max(scale.length, offset.length);
    const expand = (a: Float32Array) => (a.length === n ? a : new Float32Array(n).fill(a[0]));
    this.unary(x, { op: 'scale', scale: [...expand(scale)], offset: [...expand(offset)] } as GraphNode);
  }

  private concat(): void {
    const xs = this.node.input.map((i) => this.value(i));
    if (xs.some((v) => v.kind !== 'dyn'))
      this.failNode('a concatenation of the image with a constant is not supported');
    const ds = xs as Dyn[];
    const r = ds[0].shape.length;
    let axis = this.attrs.int('axis', 1);
    if (axis < 0) axis += r;
    if (ds.some((d) => !sameArr(d.perm, ds[0].perm) || d.shape.length !== r))
      this.failNode('inputs of different layouts');
    if (ds[0].perm[axis] !== r - 1)
      this.failNode(`a concatenation along axis ${axis}, not the channels, is not supported`);
    const shape = ds[0].shape.slice();
    shape[axis] = ds.reduce((s, d) => s + d.shape[axis], 0);
    // Flattened inputs: each part keeps its own feature order, shifted by the features before it.
    let flatPerm: Int32Array | null = null;
    if (r === 2 && ds.some((d) => d.flatPerm)) {
      flatPerm = new Int32Array(shape[1]);
      let at = 0;
      for (const d of ds) {
        for (let i = 0; i < d.shape[1]; i++) flatPerm[at + i] = at + (d.flatPerm ? d.flatPerm[i] : i);
        at += d.shape[1];
      }
    }
    this.emit({ op: 'concat' } as GraphNode, ds, { shape, perm: ds[0].perm, flatPerm });
  }

  private reshape(): void {
    const x = this.dynIn(0);
    const t = Array.from(this.constIn(1, 'the shape').data);
    const rest = t.slice(1).map((d, i) => (d === 0 && !this.attrs.int('allowzero', 0) ? x.shape[i + 1] : d));
    const total = prod(x.shape);
    const known = prod(rest.filter((d) => d !== -1));
    if (rest.includes(-1)) rest[rest.indexOf(-1)] = total / known;
    else if (known !== total) {
      // [B, …] with a fixed export batch B: only a leading batch axis of the same per-sample size works.
      this.failNode(`reshape of [${x.shape.join(', ')}] to [${t.join(', ')}] changes the per-image size`);
    }
    if (rest.some((d) => !Number.isInteger(d) || d <= 0)) {
      this.failNode(`reshape of [${x.shape.join(', ')}] to [${t.join(', ')}] does not divide evenly`);
    }
    this.reshapeTo(x, [1, ...rest]);
  }

  private squeeze(unsqueeze: boolean): void {
    const x = this.dynIn(0);
    let axes = this.attrs.ints('axes') ?? (this.node.input[1] ? Array.from(this.constIn(1, 'axes').data) : null);
    let shape: number[];
    if (unsqueeze) {
      if (!axes) this.failNode('Unsqueeze without axes');
      const r = x.shape.length + axes.length;
      axes = axes.map((a) => (a < 0 ? a + r : a)).sort((p, q) => p - q);
      shape = x.shape.slice();
      for (const a of axes) shape.splice(a, 0, 1);
    } else {
      const r = x.shape.length;
      const drop = axes ? axes.map((a) => (a < 0 ? a + r : a)) : x.shape.map((d, i) => (d === 1 && i > 0 ? i : -1));
      if (drop.includes(0)) this.failNode('squeezing the batch axis is not supported');
      shape = x.shape.filter((_, i) => !drop.includes(i));
    }
    this.reshapeTo(x, shape);
  }

  /** Reshape of an image tensor to [1, F] (a flatten), [1, C, 1, 1], or its own shape. */
  private reshapeTo(x: Dyn, shape: number[]): void {
    if (prod(shape) !== prod(x.shape)) this.failNode(`cannot reshape [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
    if (sameArr(shape, x.shape)) return this.alias(x);
    if (shape.length === 2) {
      if (x.shape.length === 2) return this.alias(x, { shape });
      if (x.shape.length !== 4) this.failNode(`flattening a rank-${x.shape.length} tensor is not supported`);
      this.emit({ op: 'flatten' } as GraphNode, [x], { shape, perm: [0, 1], flatPerm: flattenPerm(x) });
      return;
    }
    if (shape.length === 4 && x.shape.length === 2 && shape[2] === 1 && shape[3] === 1 && !x.flatPerm) {
      this.emit({ op: 'reshape', targetShape: [1, 1, shape[1]] } as GraphNode, [x], {
        shape,
        perm: NCHW,
        flatPerm: null,
      });
      return;
    }
    if (shape.length === 4 && x.shape.length === 4) {
      // Only dropping/adding unit axes that keep the NHWC data order (e.g. [1, C, 1, 1] ↔ same).
      const irOld = irShape(x);
      const irNew = [shape[0], shape[2], shape[3], shape[1]];
      if (sameArr(x.perm, NCHW) && prod(irOld) === prod(irNew) && flattenPerm(x) === null) {
        const y: Dyn = { kind: 'dyn', layer: x.layer, shape, perm: NCHW, flatPerm: null };
        if (flattenPerm(y) === null) {
          this.emit({ op: 'reshape', targetShape: irNew.slice(1) } as GraphNode, [x], {
            shape,
            perm: NCHW,
            flatPerm: null,
          });
          return;
        }
      }
    }
    this.failNode(`reshape of [${x.shape.join(', ')}] to [${shape.join(', ')}] is not an image-layer shape`);
  }

  private pad(): void {
    const x = this.nchw(0);
    const mode = this.attrs.str('mode', 'constant');
    if (mode !== 'constant') this.failNode(`"${mode}" padding is not supported (only zeros)`);
    const pads = this.opset < 11 ? this.attrs.ints('pads', [])! : Array.from(this.constIn(1, 'pads').data);
    const value = this.opset < 11 ? this.attrs.float('value', 0) : (this.optConst(2)?.data[0] ?? 0);
    if (value !== 0) this.failNode(`padding with ${value} is not supported (only zeros)`);
    if (pads.length !== 8) this.failNode(`expects 8 pads, got ${pads.length}`);
    if ([0, 1, 4, 5].some((i) => pads[i] !== 0)) this.failNode('padding of the batch or channel axis is not supported');
    const p: [number, number, number, number] = [pads[2], pads[6], pads[3], pads[7]];
    const shape = [1, x.shape[1], x.shape[2] + p[0] + p[1], x.shape[3] + p[2] + p[3]];
    if (p.every((v) => v >= 0)) {
      this.emit({ op: 'zeropad', pad: p } as GraphNode, [x], { shape, perm: NCHW, flatPerm: null });
    } else if (p.every((v) => v <= 0)) {
      this.emit({ op: 'crop', crop: p.map((v) => -v) } as GraphNode, [x], { shape, perm: NCHW, flatPerm: null });
    } else this.failNode('mixed positive and negative pads are not supported');
  }

  private resize(): void {
    const x = this.nchw(0);
    const op = this.node.opType;
    let scales: number[] | null = null;
    let sizes: number[] | null = null;
    if (op === 'Upsample') {
      scales = this.opset < 9 ? this.attrs.floats('scales') : Array.from(this.constIn(1, 'scales').data);
    } else if (this.opset < 11) {
      scales = Array.from(this.constIn(1, 'scales').data);
    } else {
      const s = this.optConst(2);
      const z = this.optConst(3);
      if (s && s.data.length) scales = Array.from(s.data);
      if (z && z.data.length) sizes = Array.from(z.data);
    }
    if (!scales && !sizes) this.failNode('neither scales nor sizes are given');
    const mode = this.attrs.str('mode', 'nearest');
    if (mode === 'cubic') this.failNode('cubic interpolation is not supported');
    const interpolation = mode === 'nearest' ? 'nearest' : 'bilinear';
    const outH = sizes ? sizes[2] : Math.floor(x.shape[2] * scales![2]);
    const outW = sizes ? sizes[3] : Math.floor(x.shape[3] * scales![3]);
    if ((sizes && (sizes[0] !== 1 || sizes[1] !== x.shape[1])) || (scales && (scales[0] !== 1 || scales[1] !== 1))) {
      this.failNode('resizing the batch or channel axis is not supported');
    }
    if (interpolation === 'bilinear') {
      // The engine interpolates with half-pixel centres (PyTorch align_corners=False, tf.image.resize).
      const ct = op === 'Upsample' ? 'asymmetric' : this.attrs.str('coordinate_transformation_mode', 'half_pixel');
      if (ct !== 'half_pixel' && ct !== 'pytorch_half_pixel') {
        this.warnings.push(
          `${this.where()}: ${ct} linear resizing runs with half-pixel centres; values near edges differ`,
        );
      }
    }
    const shape = [1, x.shape[1], outH, outW];
    const fh = outH / x.shape[2];
    const fw = outW / x.shape[3];
    if (Number.isInteger(fh) && Number.isInteger(fw)) {
      this.emit({ op: 'upsample', size: [fh, fw], interpolation } as GraphNode, [x], {
        shape,
        perm: NCHW,
        flatPerm: null,
      });
    } else {
      this.emit({ op: 'resize', height: outH, width: outW, interpolation } as GraphNode, [x], {
        shape,
        perm: NCHW,
        flatPerm: null,
      });
    }
  }

  // ---- constant folding ---------------------------------------------------------------------------------------

  private fold(): void {
    const n = this.node;
    const a = this.attrs;
    const c = (i: number) => this.constIn(i);
    const set = (shape: number[], data: Float32Array | Float64Array) => this.setOut(0, { kind: 'const', shape, data });
    switch (n.opType) {
      case 'Constant': {
        const t = a.tensor('value');
        if (t) return this.setOut(0, this.tensorData(t));
        if (a.has('value_float')) return set([], Float32Array.of(a.float('value_float', 0)));
        if (a.has('value_floats'))
          return set([a.floats('value_floats')!.length], Float32Array.from(a.floats('value_floats')!));
        if (a.has('value_int')) return set([], Float64Array.of(a.int('value_int', 0)));
        if (a.has('value_ints')) return set([a.ints('value_ints')!.length], Float64Array.from(a.ints('value_ints')!));
        return this.failNode('Constant without a numeric value');
      }
      case 'Identity':
      case 'Dropout':
        return this.setOut(0, c(0));
      case 'Shape': {
        const s = c(0).shape;
        return set([s.length], Float64Array.from(s));
      }
      case 'Size':
        return set([], Float64Array.of(prod(c(0).shape)));
      case 'Expand': {
        const x = c(0);
        const shape = broadcastShape(x.shape, Array.from(c(1).data));
        if (!shape) this.failNode('constant shapes do not broadcast');
        const ix = broadcastIndex(shape, x.shape);
        const out = x.data instanceof Float32Array ? new Float32Array(ix.length) : new Float64Array(ix.length);
        for (let k = 0; k < out.length; k++) out[k] = x.data[ix[k]];
        return set(shape, out);
      }
      case 'Cast': {
        const to = a.int('to', DT.FLOAT);
        const x = c(0);
        if (isFloatType(to)) return set(x.shape, Float32Array.from(x.data));
        return set(
          x.shape,
          Float64Array.from(x.data, (v) => (to === DT.BOOL ? (v ? 1 : 0) : Math.trunc(v))),
        );
      }
      case 'ConstantOfShape': {
        const shape = Array.from(c(0).data);
        const t = a.tensor('value');
        const v = t ? this.tensorData(t) : { data: Float32Array.of(0) };
        const out = v.data instanceof Float32Array ? new Float32Array(prod(shape)) : new Float64Array(prod(shape));
        return set(shape, out.fill(v.data[0] ?? 0));
      }
      case 'Unsqueeze': {
        const x = c(0);
        const axes = a.ints('axes') ?? Array.from(c(1).data);
        const r = x.shape.length + axes.length;
        const shape = x.shape.slice();
        for (const ax of axes.map((v) => (v < 0 ? v + r : v)).sort((p, q) => p - q)) shape.splice(ax, 0, 1);
        return set(shape, x.data);
      }
      case 'Squeeze': {
        const x = c(0);
        const r = x.shape.length;
        const axes = a.ints('axes') ?? (n.input[1] ? Array.from(c(1).data) : null);
        const drop = axes ? axes.map((v) => (v < 0 ? v + r : v)) : x.shape.map((d, i) => (d === 1 ? i : -1));
        return set(
          x.shape.filter((_, i) => !drop.includes(i)),
          x.data,
        );
      }
      case 'Reshape': {
        const x = c(0);
        const t = Array.from(c(1).data).map((d, i) => (d === 0 ? x.shape[i] : d));
        if (t.includes(-1)) t[t.indexOf(-1)] = prod(x.shape) / prod(t.filter((d) => d !== -1));
        return set(t, x.data);
      }
      case 'Flatten': {
        const x = c(0);
        let axis = a.int('axis', 1);
        if (axis < 0) axis += x.shape.length;
        return set([prod(x.shape.slice(0, axis)), prod(x.shape.slice(axis))], x.data);
      }
      case 'Gather':
        return this.setOut(0, gather(c(0), c(1), a.int('axis', 0)));
      case 'Concat': {
        const xs = n.input.filter((i) => i).map((_, i) => c(i));
        return this.setOut(0, concatConst(xs, a.int('axis', 0)));
      }
      case 'Slice': {
        const x = c(0);
        const starts = this.opset < 10 ? a.ints('starts')! : Array.from(c(1).data);
        const ends = this.opset < 10 ? a.ints('ends')! : Array.from(c(2).data);
        const axes =
          (this.opset < 10 ? a.ints('axes') : n.input[3] ? Array.from(c(3).data) : null) ?? starts.map((_, i) => i);
        const steps = this.opset >= 10 && n.input[4] ? Array.from(c(4).data) : starts.map(() => 1);
        return this.setOut(0, sliceConst(x, starts, ends, axes, steps));
      }
      case 'Transpose': {
        const x = c(0);
        const p = a.ints('perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
        return this.setOut(0, transposeConst(x, p));
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
      case 'Pow':
      case 'Max':
      case 'Min':
      case 'Equal':
      case 'Less':
      case 'Greater': {
        const x = c(0);
        const y = c(1);
        const shape = broadcastShape(x.shape, y.shape);
        if (!shape) this.failNode('constant shapes do not broadcast');
        const ix = broadcastIndex(shape, x.shape);
        const iy = broadcastIndex(shape, y.shape);
        const float = x.data instanceof Float32Array || y.data instanceof Float32Array;
        const out = float ? new Float32Array(prod(shape)) : new Float64Array(prod(shape));
        const f = {
          Add: (p: number, q: number) => p + q,
          Sub: (p: number, q: number) => p - q,
          Mul: (p: number, q: number) => p * q,
          Div: (p: number, q: number) => (float ? p / q : Math.trunc(p / q)),
          Pow: (p: number, q: number) => p ** q,
          Max: Math.max,
          Min: Math.min,
          Equal: (p: number, q: number) => (p === q ? 1 : 0),
          Less: (p: number, q: number) => (p < q ? 1 : 0),
          Greater: (p: number, q: number) => (p > q ? 1 : 0),
        }[n.opType]!;
        for (let k = 0; k < out.length; k++) out[k] = f(x.data[ix[k]], y.data[iy[k]]);
        return set(shape, out);
      }
      case 'Where': {
        const [cond, x, y] = [c(0), c(1), c(2)];
        const shape = broadcastShape(broadcastShape(cond.shape, x.shape) ?? [], y.shape);
        if (!shape) this.failNode('constant shapes do not broadcast');
        const [ic, ix, iy] = [cond, x, y].map((t) => broadcastIndex(shape, t.shape));
        const out = x.data instanceof Float32Array ? new Float32Array(prod(shape)) : new Float64Array(prod(shape));
        for (let k = 0; k < out.length; k++) out[k] = cond.data[ic[k]] ? x.data[ix[k]] : y.data[iy[k]];
        return set(shape, out);
      }
      case 'Neg':
      case 'Sqrt':
      case 'Floor':
      case 'Ceil':
      case 'Abs':
      case 'Reciprocal':
      case 'Relu': {
        const x = c(0);
        const f = {
          Neg: (v: number) => -v,
          Sqrt: Math.sqrt,
          Floor: Math.floor,
          Ceil: Math.ceil,
          Abs: Math.abs,
          Reciprocal: (v: number) => 1 / v,
          Relu: (v: number) => Math.max(v, 0),
        }[n.opType]!;
        const out = x.data instanceof Float32Array ? new Float32Array(x.data.length) : new Float64Array(x.data.length);
        for (let k = 0; k < out.length; k++) out[k] = f(x.data[k]);
        return set(x.shape, out);
      }
      case 'Range': {
        const [s, l, d] = [c(0).data[0], c(1).data[0], c(2).data[0]];
        const len = Math.max(Math.ceil((l - s) / d), 0);
        const out = c(0).data instanceof Float32Array ? new Float32Array(len) : new Float64Array(len);
        for (let k = 0; k < len; k++) out[k] = s + k * d;
        return set([len], out);
      }
      default:
        if (n.input.length === 0 || !n.input.some((i) => i)) {
          this.fail(`operator "${n.opType}" of node "${n.name || n.output[0]}" is not supported`);
        }
        this.fail(`operator "${n.opType}" of node "${n.name || n.output[0]}" is not supported (on constant inputs)`);
    }
  }
}

/** k[rowAt[i] + u] = alpha · src[u · fin + i], in 64 × 64 tiles (monomorphic Float32Array for the JIT). */
function transposeTiled(
  src: Float32Array,
  k: Float32Array,
  rowAt: Int32Array,
  units: number,
  fin: number,
  alpha: number,
): void {
  const T = 64;
  for (let u0 = 0; u0 < units; u0 += T) {
    const u1 = Math.min(u0 + T, units);
    for (let i0 = 0; i0 < fin; i0 += T) {
      const i1 = Math.min(i0 + T, fin);
      for (let i = i0; i < i1; i++) {
        const at = rowAt[i];
        for (let u = u0; u < u1; u++) k[at + u] = alpha * src[u * fin + i];
      }
    }
  }
}

/** The NHWC shape of an ONNX-layout tensor (with batch). */
function irShape(x: Pick<Dyn, 'shape' | 'perm'>): number[] {
  const s = new Array<number>(x.shape.length);
  x.perm.forEach((p, i) => (s[p] = x.shape[i]));
  return s;
}

/**
 * For a tensor about to be flattened: ONNX flat index (row-major over its ONNX axes, batch left out) → IR flat
 * index (row-major over NHWC). Null when the two orders agree (NHWC data, or all but one axis of size 1).
 */
export function flattenPerm(x: Pick<Dyn, 'shape' | 'perm'>): Int32Array | null {
  const s = x.shape.slice(1);
  const ir = irShape(x).slice(1);
  const irStr = strides(ir);
  const n = prod(s);
  const out = new Int32Array(n);
  const coord = new Array<number>(s.length).fill(0);
  let identity = true;
  for (let k = 0; k < n; k++) {
    let j = 0;
    for (let i = 0; i < s.length; i++) j += coord[i] * irStr[x.perm[i + 1] - 1];
    out[k] = j;
    if (j !== k) identity = false;
    for (let i = s.length - 1; i >= 0; i--) {
      if (++coord[i] < s[i]) break;
      coord[i] = 0;
    }
  }
  return identity ? null : out;
}

/** OIHW → HWIO (conv kernels). */
export function oihwToHwio(w: ArrayLike<number>, [o, i, h, wd]: number[]): Float32Array {
  const out = new Float32Array(o * i * h * wd);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let z = 0; z < wd; z++) out[((y * wd + z) * i + b) * o + a] = w[((a * i + b) * h + y) * wd + z];
  return out;
}

function gather(x: Const, idx: Const, axis: number): Const {
  const r = x.shape.length;
  if (axis < 0) axis += r;
  const outer = prod(x.shape.slice(0, axis));
  const dim = x.shape[axis];
  const inner = prod(x.shape.slice(axis + 1));
  const ids = Array.from(idx.data, (v) => (v < 0 ? v + dim : v));
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  const out = x.data instanceof Float32Array ? new Float32Array(prod(shape)) : new Float64Array(prod(shape));
  let k = 0;
  for (let o = 0; o < outer; o++)
    for (const id of ids) for (let i = 0; i < inner; i++) out[k++] = x.data[(o * dim + id) * inner + i];
  return { kind: 'const', shape, data: out };
}

function concatConst(xs: Const[], axis: number): Const {
  const r = xs[0].shape.length;
  if (axis < 0) axis += r;
  const shape = xs[0].shape.slice();
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
  const outer = prod(shape.slice(0, axis));
  const float = xs.some((x) => x.data instanceof Float32Array);
  const out = float ? new Float32Array(prod(shape)) : new Float64Array(prod(shape));
  let k = 0;
  for (let o = 0; o < outer; o++)
    for (const x of xs) {
      const len = prod(x.shape.slice(axis));
      for (let i = 0; i < len; i++) out[k++] = x.data[o * len + i];
    }
  return { kind: 'const', shape, data: out };
}

function sliceConst(x: Const, starts: number[], ends: number[], axes: number[], steps: number[]): Const {
  const r = x.shape.length;
  const st = x.shape.map(() => 0);
  const step = x.shape.map(() => 1);
  const len = x.shape.slice();
  axes.forEach((ax0, k) => {
    const ax = ax0 < 0 ? ax0 + r : ax0;
    const d = x.shape[ax];
    const sp = steps[k] || 1;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = starts[k] < 0 ? starts[k] + d : starts[k];
    let e = ends[k] < 0 ? ends[k] + d : ends[k];
    if (sp > 0) {
      s = clamp(s, 0, d);
      e = clamp(e, 0, d);
      len[ax] = Math.max(Math.ceil((e - s) / sp), 0);
    } else {
      s = clamp(s, -1, d - 1);
      e = clamp(e, -1, d - 1);
      len[ax] = Math.max(Math.ceil((e - s) / sp), 0);
    }
    st[ax] = s;
    step[ax] = sp;
  });
  const n = prod(len);
  const out = x.data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  const xs = strides(x.shape);
  const coord = len.map(() => 0);
  for (let k = 0; k < n; k++) {
    let j = 0;
    for (let i = 0; i < r; i++) j += (st[i] + coord[i] * step[i]) * xs[i];
    out[k] = x.data[j];
    for (let i = r - 1; i >= 0; i--) {
      if (++coord[i] < len[i]) break;
      coord[i] = 0;
    }
  }
  return { kind: 'const', shape: len, data: out };
}

function transposeConst(x: Const, p: number[]): Const {
  const shape = p.map((i) => x.shape[i]);
  const xs = strides(x.shape);
  const n = prod(shape);
  const out = x.data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  const coord = shape.map(() => 0);
  for (let k = 0; k < n; k++) {
    let j = 0;
    for (let i = 0; i < shape.length; i++) j += coord[i] * xs[p[i]];
    out[k] = x.data[j];
    for (let i = shape.length - 1; i >= 0; i--) {
      if (++coord[i] < shape[i]) break;
      coord[i] = 0;
    }
  }
  return { kind: 'const', shape, data: out };
}

function fileMap(files: ModelFile[]): FileMap {
  return new Map(files.map((f) => [normPath(f.path), f]));
}

/** The model file among the folder's files: the first that decodes as a ModelProto, `.onnx` names first. */
function findModelFile(files: ModelFile[]): { file: ModelFile; model: OnnxModel } | null {
  const ordered = [...files].sort((a, b) => Number(!/\.onnx$/i.test(a.path)) - Number(!/\.onnx$/i.test(b.path)));
  for (const f of ordered) {
    const m = tryDecode(f.bytes);
    if (m) return { file: f, model: m };
  }
  return null;
}

/** Opens ONNX files into the IR, with the ONNX tensor → IR layer map. */
export async function openOnnx(files: ModelFile[]): Promise<OnnxOpened> {
  if (!files.length) throw new InputError('no files to open');
  const found = findModelFile(files);
  if (!found) {
    const f = files.find((x) => /\.onnx$/i.test(x.path)) ?? files[0];
    let why = 'it does not decode as an ONNX ModelProto';
    try {
      if (looksLikeModelProto(f.bytes)) onnx.ModelProto.decode(f.bytes);
      else why = 'it does not start like an ONNX protobuf';
    } catch (e) {
      why = `the protobuf is truncated or corrupt (${(e as Error).message})`;
    }
    throw new InputError(`${f.path}: not a readable ONNX model: ${why}`, f.path);
  }
  const { file, model } = found;
  const conv = new Converter(file.path, fileMap(files), model);
  const { graph, weights } = conv.convert();
  const main = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  const producerName = model.producerName === 'pytorch' ? 'PyTorch' : model.producerName;
  const producer = [producerName, model.producerVersion].filter(Boolean).join(' ');
  const opset = main ? `opset ${toNum(main.version)}` : 'no opset';
  return {
    graph,
    weights,
    format: 'onnx',
    description: `ONNX ${opset}${producer ? `, ${producer}` : ''} (${file.path.split('/').pop()})`,
    mainFile: file.path,
    warnings: conv.warnings,
    tensorToLayer: conv.tensorToLayer,
  };
}

/**
 * A damaged .onnx file still starts like one: ir_version (tag 0x08, a small value), then another ModelProto field.
 * Such a file is claimed, so the user hears "truncated or corrupt" rather than "not a model".
 */
function looksLikeDamagedOnnx(f: ModelFile): boolean {
  const b = f.bytes;
  return (
    /\.onnx$/i.test(f.path) &&
    b.length >= 3 &&
    b[0] === 0x08 &&
    b[1] >= 1 &&
    b[1] <= 20 &&
    [0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42].includes(b[2])
  );
}

/** The ONNX format (registry id 'onnx'). */
export const onnxFormat: ModelFormat = {
  id: 'onnx',
  name: 'ONNX',
  match(files: ModelFile[]): boolean {
    try {
      return findModelFile(files) !== null || files.some(looksLikeDamagedOnnx);
    } catch {
      return false;
    }
  },
  open: openOnnx,
};
