/**
 * One unit of a conv, depthwise, separable, transposed-conv or dense layer, taken apart: the kernel that produced
 * its channel, the bias, the input patch it reads (padding marked), the element-wise products, their sum, and the stages that follow (the
 * conv's fused activation, then a BatchNorm / scale / activation node right after it, each as its own stage). The
 * numbers come from the same IR runner pass the engine streams, and every stage carries the engine's own value at
 * that unit so the UI (and the tests) can show they agree.
 *
 * Layouts: everything per input channel is channel-major (slice s is `values[s·rows·cols … (s+1)·rows·cols)`, each
 * slice row-major), so kernel slices, patch slices and products line up index for index. A dense unit is one slice
 * of 1 × N (its weight column and the input vector). A separable unit's slices are its depthwise channels, and
 * `pointwise` holds the 1×1 stage over their sums. A transposed-conv unit's slices are its K×K taps per input
 * channel, each tap reading the one input cell `patch.taps` names (or none).
 */
import * as tf from '@tensorflow/tfjs';
import type { Pair } from '../../../common/analysis-types';
import type {
  ConvNode,
  ConvTransposeNode,
  DenseNode,
  DepthwiseNode,
  GraphNode,
  ModelGraph,
  SeparableNode,
  TensorData,
} from '../analysis/graph';
import { InputError } from '../../../common/image-header';
import type { IRRunner } from './ir-runner';
import type { UnitInspection, UnitPatch, UnitRef, UnitStage } from '../../../common/engine-protocol';

// The result types live in protocol.ts (they cross the port); re-exported for the engine's callers.
export type { KernelSlice, UnitInspection, UnitPatch, UnitRef, UnitStage } from '../../../common/engine-protocol';

/** How a patch cell relates to the image: inside, in the layer's own padding, or in a ZeroPadding2D border. */
export const CELL_INSIDE = 0;
export const CELL_PAD = 1;
export const CELL_ZEROPAD = 2;
/** A transposed conv's tap that no input cell reaches for this output (the stride steps over it). */
export const CELL_GAP = 3;

/** The graph ops a unit of which can be taken apart. */
const INSPECTABLE = new Set<GraphNode['op']>(['conv', 'depthwise', 'separable', 'convtranspose', 'dense']);
type InspectableNode = ConvNode | DepthwiseNode | SeparableNode | ConvTransposeNode | DenseNode;
const isInspectable = (n: GraphNode): n is InspectableNode => INSPECTABLE.has(n.op);

/** What the inspector needs: the graph, its weights by node (a WeightStore or a lazy lookup), and the runner. */
export interface InspectContext {
  graph: ModelGraph;
  weights: { get(layer: string): TensorData[] | undefined };
  runner: IRRunner;
}

type Pads = [number, number, number, number];

/** TF's 'same' rule on one axis: output ceil(I / S), the odd pixel at the end. */
function samePad(size: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The padding the IR runner applies to a conv-like node on an H × W input, in pixels. */
export function resolvePadding(node: ConvNode | DepthwiseNode | SeparableNode, H: number, W: number): Pads {
  if (Array.isArray(node.padding)) return [...node.padding];
  if (node.padding === 'valid') return [0, 0, 0, 0];
  const [t, b] = samePad(H, node.kernel[0], node.strides[0], node.dilation[0]);
  const [l, r] = samePad(W, node.kernel[1], node.strides[1], node.dilation[1]);
  return [t, b, l, r];
}

const erf = (x: number): number => {
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough to label a GELU step.
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
};

/** A scalar activation, the same functions the runner applies (softmax and prelu are handled by the caller). */
function scalarActivation(fn: string, v: number, p: { alpha?: number; beta?: number; min?: number; max?: number }) {
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  switch (fn) {
    case 'linear':
      return v;
    case 'relu': {
      let y = v > 0 ? v : (p.alpha ?? 0) * v;
      if (p.max !== undefined && Number.isFinite(p.max)) y = Math.min(y, p.max);
      return y;
    }
    case 'relu6':
      return Math.min(Math.max(v, 0), 6);
    case 'leaky_relu':
      return v > 0 ? v : (p.alpha ?? 0.3) * v;
    case 'elu':
      return v > 0 ? v : (p.alpha ?? 1) * (Math.exp(v) - 1);
    case 'selu':
      return 1.0507009873554805 * (v > 0 ? v : 1.6732632423543772 * (Math.exp(v) - 1));
    case 'sigmoid':
      return sig(v);
    case 'hard_sigmoid':
      return Math.min(Math.max(v * (p.alpha ?? 0.2) + (p.beta ?? 0.5), 0), 1);
    case 'hard_swish':
      return (v * Math.min(Math.max(v + 3, 0), 6)) / 6;
    case 'swish':
      return v * sig(v);
    case 'tanh':
      return Math.tanh(v);
    case 'softplus':
      return Math.log1p(Math.exp(-Math.abs(v))) + Math.max(v, 0);
    case 'softsign':
      return v / (Math.abs(v) + 1);
    case 'gelu':
      return 0.5 * v * (1 + erf(v / Math.SQRT2));
    case 'mish':
      return v * Math.tanh(Math.log1p(Math.exp(-Math.abs(v))) + Math.max(v, 0));
    case 'exponential':
      return Math.exp(v);
    case 'clip':
      return Math.min(Math.max(v, p.min ?? -Infinity), p.max ?? Infinity);
    default:
      throw new Error(`activation "${fn}" has no scalar form`);
  }
}

/** Reads a small tensor back and disposes it. */
async function take(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

const num = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));

function l2(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

/** The nodes consuming `name`, in graph order. */
const consumersOf = (graph: ModelGraph, name: string) => graph.nodes.filter((n) => n.inputs.includes(name));

/**
 * Takes one unit apart on `input` (the preprocessed image, [1, H, W, C]): kernel, bias, patch, products, sum and
 * the stages up to the final value. Async because it reads tensors back with `data()`; one forward pass to the
 * last stage's layer. Throws InputError for a layer that is not a conv / depthwise / separable /
 * transposed-conv / dense node or a unit outside it.
 */
export async function inspectUnit(ctx: InspectContext, input: tf.Tensor, ref: UnitRef): Promise<UnitInspection> {
  const { graph } = ctx;
  const where = graph.source ?? graph.name;
  const node = graph.nodes.find((n) => n.name === ref.layer);
  if (!node) throw new InputError(`${where}: no layer "${ref.layer}"`, graph.source);
  if (!isInspectable(node)) {
    throw new InputError(
      `${where}: layer "${node.name}" is a ${node.op} layer; only conv, depthwise, separable, transposed conv and dense units can be stepped through`,
      graph.source,
    );
  }
  const w = ctx.weights.get(node.name) ?? [];
  const kernelData = w[0];
  // A separable layer's weights are depthwise, pointwise, then the bias.
  const nKernels = node.op === 'separable' ? 2 : 1;
  if (w.length < nKernels) throw new InputError(`${where}: layer "${node.name}" has no weights`, graph.source);
  const biasData = node.useBias ? w[nKernels] : undefined;

  // The stages after the layer: BN / scale / element-wise activation nodes, each the only consumer of the one before.
  const follow: GraphNode[] = [];
  for (let prev: string = node.name; ;) {
    const next = consumersOf(graph, prev);
    if (next.length !== 1) break;
    const n = next[0];
    const elementwise = n.op === 'activation' && n.fn !== 'softmax';
    if (n.inputs.length !== 1 || !(n.op === 'bn' || n.op === 'scale' || elementwise)) break;
    follow.push(n);
    prev = n.name;
  }

  const inName = node.inputs[0];
  const names = [inName, node.name, ...follow.map((n) => n.name)];
  const outs = tf.tidy(() => {
    const m = ctx.runner.forwardSync(input, names);
    return names.map((n) => m.get(n)!);
  });
  try {
    const xin = outs[0];
    const yout = outs[1];
    const outShape = yout.shape;
    const C = outShape[outShape.length - 1];
    const spatial = outShape.length === 4;
    const y = spatial ? (ref.y ?? 0) : 0;
    const x = spatial ? (ref.x ?? 0) : 0;
    if (!Number.isInteger(ref.channel) || ref.channel < 0 || ref.channel >= C) {
      throw new InputError(`${where}: layer "${node.name}" has ${C} channels; channel ${ref.channel} does not exist`);
    }
    if (spatial && (!(y >= 0 && y < outShape[1]) || !(x >= 0 && x < outShape[2]) || !Number.isInteger(y + x))) {
      throw new InputError(
        `${where}: layer "${node.name}" is ${outShape[1]}×${outShape[2]}; unit (${ref.y}, ${ref.x}) is outside it`,
      );
    }
    const c = ref.channel;
    const kern = kernelData.data;
    const bias = biasData ? biasData.data[c] : 0;

    const geometry =
      node.op === 'dense'
        ? await denseTaps(kernelData, xin, y, x, c, inName)
        : node.op === 'convtranspose'
          ? await transposeTaps(node, kernelData, xin, y, x, c, inName)
          : await convTaps(graph, node, w, xin, y, x, c, inName);
    const { patch, pointwise } = geometry;

    // Stages: Σ products, + bias, the fused activation, then the following nodes.
    const engineAt = async (t: tf.Tensor) =>
      (await take(t.shape.length === 4 ? tf.slice(t, [0, y, x, c], [1, 1, 1, 1]) : tf.slice(t, [0, c], [1, 1])))[0];
    // A separable unit sums its pointwise products (each one depthwise sum times its weight); the others their taps.
    const summed = pointwise ? pointwise.products : patch.products;
    let sum = 0;
    for (const p of summed) sum += p;
    const stages: UnitStage[] = [];
    const act = node.activation ?? 'linear';
    const last = () => stages[stages.length - 1];
    stages.push({
      layer: node.name,
      kind: 'sum',
      label: `Σ ${summed.length} ${pointwise ? 'pointwise ' : ''}products = ${num(sum)}`,
      value: sum,
      engine: null,
    });
    if (node.useBias) {
      stages.push({
        layer: node.name,
        kind: 'bias',
        label: `${num(sum)} + ${num(bias)} (bias) = ${num(sum + bias)}`,
        value: sum + bias,
        engine: null,
      });
    }
    if (act !== 'linear') {
      const pre = last().value;
      const v =
        act === 'softmax'
          ? softmaxOf(node as DenseNode, patch.values, kern, biasData?.data, c)
          : scalarActivation(act, pre, {});
      stages.push({
        layer: node.name,
        kind: 'activation',
        label: `${act}(${num(pre)}) = ${num(v)}`,
        value: v,
        engine: null,
      });
    }
    last().engine = await engineAt(yout);
    for (let k = 0; k < follow.length; k++) {
      const n = follow[k];
      const pre = last().value;
      let v: number;
      let label: string;
      if (n.op === 'bn') {
        const ws = ctx.weights.get(n.name) ?? [];
        let i = 0;
        const gamma = n.scale ? ws[i++].data[c] : 1;
        const beta = n.center ? ws[i++].data[c] : 0;
        const mean = ws[i++].data[c];
        const variance = ws[i++].data[c];
        const a = gamma / Math.sqrt(variance + n.epsilon);
        v = (pre - mean) * a + beta;
        label = `(${num(pre)} − ${num(mean)}) · ${num(gamma)} / √(${num(variance)} + ${n.epsilon}) + ${num(beta)} = ${num(v)}`;
      } else if (n.op === 'scale') {
        const sc = n.scale.length === 1 ? n.scale[0] : n.scale[c];
        const of = n.offset.length === 1 ? n.offset[0] : n.offset[c];
        v = pre * sc + of;
        label = `${num(pre)} · ${num(sc)} + ${num(of)} = ${num(v)}`;
      } else if (n.op === 'activation' && n.fn === 'prelu') {
        const a = preluSlope(ctx.weights.get(n.name)?.[0], y, x, c);
        v = pre > 0 ? pre : a * pre;
        label = `prelu(${num(pre)}; slope ${num(a)}) = ${num(v)}`;
      } else if (n.op === 'activation') {
        v = scalarActivation(n.fn, pre, n);
        const cap = n.fn === 'relu' && n.max !== undefined ? `, max ${n.max}` : '';
        label = `${n.fn}(${num(pre)}${cap}) = ${num(v)}`;
      } else break;
      stages.push({
        layer: n.name,
        kind: n.op === 'bn' ? 'bn' : n.op === 'scale' ? 'scale' : 'activation',
        label,
        value: v,
        engine: await engineAt(outs[k + 2]),
      });
    }
    return {
      layer: node.name,
      op: node.op,
      channel: c,
      y,
      x,
      ...geometry,
      bias,
      stages,
      value: last().value,
    };
  } finally {
    // The input layer's tensor is the caller's own `input` when the unit's layer reads the image directly.
    tf.dispose(outs.filter((t) => t !== input));
  }
}

/** The parts of an inspection that depend on the layer's kind: geometry, kernels, patch (and the pointwise stage). */
type Taps = Pick<
  UnitInspection,
  'kernelSize' | 'strides' | 'dilation' | 'pad' | 'kernels' | 'rgb' | 'patch' | 'pointwise'
>;

const ONE: Pair = [1, 1];

/** A dense unit: its weight column against the input vector (or the input at (y, x) for a dense on a map). */
async function denseTaps(
  kernel: TensorData,
  xin: tf.Tensor,
  y: number,
  x: number,
  c: number,
  inName: string,
): Promise<Taps> {
  const [N, units] = kernel.shape;
  const col = new Float32Array(N);
  for (let i = 0; i < N; i++) col[i] = kernel.data[i * units + c];
  const vec = await take(xin.shape.length === 4 ? tf.slice(xin, [0, y, x, 0], [1, 1, 1, N]) : tf.reshape(xin, [-1]));
  const products = new Float32Array(N);
  for (let i = 0; i < N; i++) products[i] = vec[i] * col[i];
  const patch: UnitPatch = {
    layer: inName,
    rows: 1,
    cols: N,
    channels: [-1],
    top: 0,
    left: 0,
    step: ONE,
    values: Float32Array.from(vec),
    cells: new Uint8Array(N),
    products,
  };
  return {
    kernelSize: ONE,
    strides: ONE,
    dilation: ONE,
    pad: [0, 0, 0, 0],
    kernels: [{ inputChannel: -1, weights: col, norm: l2(col) }],
    rgb: null,
    patch,
  };
}

/**
 * Reads input cells (rows × cols, channels `chans`, ascending) from `xin`: `at(t)` is tap t's cell or null (padding);
 * returns slices × taps values, 0 where there is no cell. Only the cells' bounding box leaves the tensor.
 */
async function readCells(xin: tf.Tensor, chans: number[], taps: number, at: (t: number) => [number, number] | null) {
  let y0 = Infinity;
  let x0 = Infinity;
  let y1 = -1;
  let x1 = -1;
  for (let t = 0; t < taps; t++) {
    const p = at(t);
    if (!p) continue;
    y0 = Math.min(y0, p[0]);
    y1 = Math.max(y1, p[0]);
    x0 = Math.min(x0, p[1]);
    x1 = Math.max(x1, p[1]);
  }
  const S = chans.length;
  const values = new Float32Array(S * taps);
  if (y1 < 0) return { values, top: 0, left: 0 };
  const c0 = chans[0];
  const nC = chans[S - 1] - c0 + 1;
  const box = await take(tf.slice(xin, [0, y0, x0, c0], [1, y1 - y0 + 1, x1 - x0 + 1, nC]));
  const bw = x1 - x0 + 1;
  for (let t = 0; t < taps; t++) {
    const p = at(t);
    if (!p) continue;
    const o = ((p[0] - y0) * bw + (p[1] - x0)) * nC - c0;
    for (let s = 0; s < S; s++) values[s * taps + t] = box[o + chans[s]];
  }
  return { values, top: y0, left: x0 };
}

/** Kernel slices against patch values, index for index. */
function productsOf(values: Float32Array, weights: Float32Array[]): Float32Array {
  const n = weights[0]?.length ?? 0;
  const products = new Float32Array(values.length);
  for (let s = 0; s < weights.length; s++)
    for (let t = 0; t < n; t++) products[s * n + t] = values[s * n + t] * weights[s][t];
  return products;
}

/**
 * A conv, depthwise or separable unit: the K×K patch its window covers (padding marked) per input channel it reads.
 * Depthwise: the one depthwise channel of this unit. Separable: every depthwise channel (input channel ⌊j / M⌋),
 * then the pointwise stage, each depthwise sum times its 1×1 weight for this unit's channel.
 */
async function convTaps(
  graph: ModelGraph,
  node: ConvNode | DepthwiseNode | SeparableNode,
  w: TensorData[],
  xin: tf.Tensor,
  y: number,
  x: number,
  c: number,
  inName: string,
): Promise<Taps> {
  const [, H, W, Cin] = xin.shape as number[];
  const [kh, kw] = node.kernel;
  const K = kh * kw;
  const strides: Pair = [...node.strides];
  const dilation: Pair = [...node.dilation];
  const pad = resolvePadding(node, H, W);
  const top = y * strides[0] - pad[0];
  const left = x * strides[1] - pad[2];
  const kernel = w[0];
  // Input channels read, and the kernel index of tap t (row-major over K_h × K_w) for slice s.
  let chans: number[];
  let kIndex: (t: number, s: number) => number;
  if (node.op === 'conv') {
    const groups = node.groups ?? 1;
    const perIn = kernel.shape[2];
    const F = kernel.shape[3];
    const g = Math.floor(c / (F / groups));
    chans = Array.from({ length: perIn }, (_, s) => g * perIn + s);
    kIndex = (t, s) => (t * perIn + s) * F + c;
  } else {
    // Depthwise channel m of input channel ci is channel ci·M + m, and [kh, kw, Cin, M] stores it at that offset.
    const m = node.depthMultiplier;
    const mids = node.op === 'depthwise' ? [c] : Array.from({ length: Cin * m }, (_, j) => j);
    chans = mids.map((j) => Math.floor(j / m));
    kIndex = (t, s) => t * Cin * m + mids[s];
  }
  // A ZeroPadding2D right before the layer: its border is padding too (MobileNet's Conv1_pad).
  const zp = graph.nodes.find((n) => n.name === inName);
  const zpad = zp && zp.op === 'zeropad' ? zp.pad : null;
  const cells = new Uint8Array(K);
  const at = (t: number): [number, number] | null => {
    const iy = top + Math.floor(t / kw) * dilation[0];
    const ix = left + (t % kw) * dilation[1];
    return iy >= 0 && iy < H && ix >= 0 && ix < W ? [iy, ix] : null;
  };
  for (let t = 0; t < K; t++) {
    const p = at(t);
    cells[t] = !p
      ? CELL_PAD
      : zpad && (p[0] < zpad[0] || p[0] >= H - zpad[1] || p[1] < zpad[2] || p[1] >= W - zpad[3])
        ? CELL_ZEROPAD
        : CELL_INSIDE;
  }
  const { values } = await readCells(xin, chans, K, at);
  const weights = chans.map((_, s) => {
    const k = new Float32Array(K);
    for (let t = 0; t < K; t++) k[t] = kernel.data[kIndex(t, s)];
    return k;
  });
  const products = productsOf(values, weights);
  const taps: Taps = {
    kernelSize: [kh, kw],
    strides,
    dilation,
    pad,
    kernels: chans.map((ch, s) => ({ inputChannel: ch, weights: weights[s], norm: l2(weights[s]) })),
    rgb: chans.length === 3 && readsModelInput(graph, inName) ? rgbImage(weights, kh, kw) : null,
    patch: { layer: inName, rows: kh, cols: kw, channels: chans, top, left, step: dilation, values, cells, products },
  };
  if (node.op === 'separable') {
    // Pointwise kernel [1, 1, Cin·M, F]: weight (j, c) at j·F + c.
    const pw = w[1];
    const F = pw.shape[3];
    const S = chans.length;
    const depthwise = new Float32Array(S);
    const pwWeights = new Float32Array(S);
    const pwProducts = new Float32Array(S);
    for (let s = 0; s < S; s++) {
      let d = 0;
      for (let t = 0; t < K; t++) d += products[s * K + t];
      depthwise[s] = d;
      pwWeights[s] = pw.data[s * F + c];
      pwProducts[s] = d * pwWeights[s];
    }
    taps.pointwise = { depthwise, weights: pwWeights, products: pwProducts };
  }
  return taps;
}

/**
 * The padding a transposed conv crops from its full result ((I − 1)·S + dilated K per axis), [top, bottom, left,
 * right], as the IR runner applies it: explicit pads as given, 'valid' none, 'same' the excess over I·S split with
 * the odd cell at the end. Output padding (extra bottom / right rows) is not part of it.
 */
export function transposeCrop(node: ConvTransposeNode): Pads {
  if (Array.isArray(node.padding)) return [...node.padding];
  if (node.padding === 'valid') return [0, 0, 0, 0];
  const axis = (a: 0 | 1): [number, number] => {
    const tot = Math.max((node.kernel[a] - 1) * node.dilation[a] + 1 - node.strides[a], 0);
    return [Math.floor(tot / 2), tot - Math.floor(tot / 2)];
  };
  return [...axis(0), ...axis(1)];
}

/**
 * A transposed-conv unit: output (y, x) receives input (iy, ix) through tap (i, j) where y = iy·S − P + i·D
 * (and likewise for x), so each tap reads at most one input cell, over every input channel. A tap whose
 * y + P − i·D is not a multiple of the stride reads nothing (CELL_GAP); one landing past the input, padding (CELL_PAD).
 */
async function transposeTaps(
  node: ConvTransposeNode,
  kernel: TensorData,
  xin: tf.Tensor,
  y: number,
  x: number,
  c: number,
  inName: string,
): Promise<Taps> {
  const [, H, W, Cin] = xin.shape as number[];
  const [kh, kw] = node.kernel;
  const [sh, sw] = node.strides;
  const [dh, dw] = node.dilation;
  const K = kh * kw;
  const F = kernel.shape[2];
  const pad = transposeCrop(node);
  const cells = new Uint8Array(K);
  const cellOf = new Int32Array(2 * K).fill(-1);
  for (let t = 0; t < K; t++) {
    const ny = y + pad[0] - Math.floor(t / kw) * dh;
    const nx = x + pad[2] - (t % kw) * dw;
    if (ny % sh !== 0 || nx % sw !== 0) {
      cells[t] = CELL_GAP;
      continue;
    }
    const iy = ny / sh;
    const ix = nx / sw;
    const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
    cells[t] = inside ? CELL_INSIDE : CELL_PAD;
    if (inside) cellOf.set([iy, ix], 2 * t);
  }
  const chans = Array.from({ length: Cin }, (_, s) => s);
  const at = (t: number): [number, number] | null =>
    cells[t] === CELL_INSIDE ? [cellOf[2 * t], cellOf[2 * t + 1]] : null;
  const { values, top, left } = await readCells(xin, chans, K, at);
  // Kernel [kh, kw, filters, C_in]: tap t, this unit's filter c, input channel s.
  const weights = chans.map((s) => {
    const k = new Float32Array(K);
    for (let t = 0; t < K; t++) k[t] = kernel.data[(t * F + c) * Cin + s];
    return k;
  });
  return {
    kernelSize: [kh, kw],
    strides: [sh, sw],
    dilation: [dh, dw],
    pad,
    kernels: chans.map((ch, s) => ({ inputChannel: ch, weights: weights[s], norm: l2(weights[s]) })),
    rgb: null,
    patch: {
      layer: inName,
      rows: kh,
      cols: kw,
      channels: chans,
      top,
      left,
      step: ONE,
      values,
      cells,
      products: productsOf(values, weights),
      taps: cellOf,
    },
  };
}

/** True when `name` is the model input or reaches it through padding / rescaling only (the first conv's input). */
function readsModelInput(graph: ModelGraph, name: string): boolean {
  for (
    let cur = graph.nodes.find((n) => n.name === name);
    cur;
    cur = graph.nodes.find((n) => n.name === cur!.inputs[0])
  ) {
    if (cur.op === 'input') return true;
    if (cur.op !== 'zeropad' && cur.op !== 'scale' && cur.op !== 'identity') return false;
  }
  return false;
}

/** The K×K×3 kernel as RGBA, each component 128 + 127·w / max|w| over the whole kernel. */
function rgbImage(slices: Float32Array[], kh: number, kw: number): NonNullable<UnitInspection['rgb']> {
  let m = 0;
  for (const s of slices) for (const v of s) m = Math.max(m, Math.abs(v));
  const data = new Uint8ClampedArray(kh * kw * 4);
  for (let t = 0; t < kh * kw; t++) {
    for (let s = 0; s < 3; s++) data[t * 4 + s] = Math.round(128 + (127 * slices[s][t]) / (m || 1));
    data[t * 4 + 3] = 255;
  }
  return { width: kw, height: kh, data };
}

/** softmax over every unit of a dense layer at this input (the unit's own logit needs the others). */
function softmaxOf(
  node: DenseNode,
  vec: Float32Array,
  kern: Float32Array,
  bias: Float32Array | undefined,
  c: number,
): number {
  const U = node.units;
  const z = new Float64Array(U);
  for (let u = 0; u < U; u++) {
    let s = 0;
    for (let i = 0; i < vec.length; i++) s += vec[i] * kern[i * U + u];
    z[u] = s + (bias ? bias[u] : 0);
  }
  const m = Math.max(...z);
  let tot = 0;
  for (const v of z) tot += Math.exp(v - m);
  return Math.exp(z[c] - m) / tot;
}

/** The PReLU slope for unit (y, x, c): alpha broadcast from its own shape (without the batch axis). */
function preluSlope(alpha: TensorData | undefined, y: number, x: number, c: number): number {
  if (!alpha) return 0;
  const sh = alpha.shape;
  const idx = [y, x, c].slice(3 - sh.length).map((v, i) => (sh[i] === 1 ? 0 : v));
  let o = 0;
  for (let i = 0; i < sh.length; i++) o = o * sh[i] + idx[i];
  return alpha.data[o];
}
