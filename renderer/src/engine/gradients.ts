/**
 * Gradients through the IR runner: a unit's effective receptive field (Luo et al. 2016: the gradient of the unit's
 * value with respect to the input pixels) beside its theoretical one, and Grad-CAM (Selvaraju et al. 2017). Both
 * differentiate the engine's own steps (`IRRunner.forwardSync`, the same tfjs ops it streams), so they work for
 * any model the IR runs.
 *
 * Why a DifferentiableRunner: tfjs differentiates a fused conv (`tf.fused.conv2d`, what the runner uses for speed)
 * by computing the filter gradient too, and the wasm backend has no Conv2DBackpropFilter nor any depthwise
 * backprop kernel. So conv, depthwise and separable nodes run here as unfused ops wrapped in `tf.customGrad`
 * with an input-only gradient built from kernels every backend has (Conv2DBackpropInput, DepthwiseConv2dNative);
 * every other node runs the runner's own step (`forwardSync` with its inputs given).
 */
import * as tf from '@tensorflow/tfjs';
import { unitFootprint } from '../analysis/footprint';
import type { ModelAnalysis, Pair } from '../../../common/analysis-types';
import type { ConvNode, DepthwiseNode, GraphNode, ModelGraph, SeparableNode, TensorData } from '../analysis/graph';
import { InputError } from '../../../common/image-header';
import { applyActivation, type IRRunner } from './ir-runner';
import type { EffectiveField, GradCam, GradientUnit } from '../../../common/engine-protocol';

// The result types live in protocol.ts (they cross the port); re-exported for the engine's callers.
export type { EffectiveField, GradCam, GradientUnit } from '../../../common/engine-protocol';

type Pads = [number, number, number, number];
type T4 = tf.Tensor4D;

/** TF's 'same' rule on one axis. */
function samePad(size: number, k: number, s: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Pixels of padding [t, b, l, r] for a conv-like node with effective kernel `k` on an H × W input. */
function padsOf(padding: ConvNode['padding'], H: number, W: number, k: Pair, s: Pair): Pads {
  if (Array.isArray(padding)) return [...padding];
  if (padding === 'valid') return [0, 0, 0, 0];
  return [...samePad(H, k[0], s[0]), ...samePad(W, k[1], s[1])];
}

/** tf.customGrad over one tensor, typed (tfjs types a custom op's arguments as Tensor | GradSaveFunc). */
function customGrad1<T extends tf.Tensor>(
  f: (x: tf.Tensor, save: tf.GradSaveFunc) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor },
): (x: tf.Tensor) => T {
  const g = tf.customGrad(f as never) as unknown as (x: tf.Tensor) => T;
  return (x) => g(x);
}

/** Zeros between rows / columns of dy (stride s) and the border that turns the backward pass into a valid conv. */
function spreadAndPad(dy: T4, s: Pair, k: Pair, pads: Pads, H: number, W: number): T4 {
  const [n, h, w, c] = dy.shape;
  let t: tf.Tensor = dy;
  if (s[0] > 1 || s[1] > 1) {
    t = tf.reshape(dy, [n, h, 1, w, 1, c]);
    t = tf.pad(t, [
      [0, 0],
      [0, 0],
      [0, s[0] - 1],
      [0, 0],
      [0, s[1] - 1],
      [0, 0],
    ]);
    // h·s rows: the last s − 1 zero rows stay and count against the bottom padding below (no slice, slow on wasm).
    t = tf.reshape(t, [n, h * s[0], w * s[1], c]);
  }
  // A full correlation of size H: k − 1 − pad before, the rest after (negative = crop).
  const before: Pair = [k[0] - 1 - pads[0], k[1] - 1 - pads[2]];
  const after: Pair = [H + k[0] - 1 - t.shape[1]! - before[0], W + k[1] - 1 - t.shape[2]! - before[1]];
  // tf.pad copies even when it adds nothing (every 1×1 conv): skip it then.
  if (Math.max(before[0], 0) + Math.max(after[0], 0) + Math.max(before[1], 0) + Math.max(after[1], 0) > 0) {
    t = tf.pad(t, [
      [0, 0],
      [Math.max(before[0], 0), Math.max(after[0], 0)],
      [Math.max(before[1], 0), Math.max(after[1], 0)],
      [0, 0],
    ]);
  }
  const crop: Pair = [Math.max(-before[0], 0), Math.max(-before[1], 0)];
  const size: Pair = [t.shape[1]! - crop[0] - Math.max(-after[0], 0), t.shape[2]! - crop[1] - Math.max(-after[1], 0)];
  if (crop[0] || crop[1] || size[0] !== t.shape[1] || size[1] !== t.shape[2])
    t = tf.slice(t, [0, crop[0], crop[1], 0], [n, size[0], size[1], c]);
  return t as T4;
}

/**
 * The input gradient of a conv: the forward conv (the backend's fastest kernel, XNNPACK on wasm) of dy spread by
 * the stride and padded, with `back` = the kernel flipped and its channel axes swapped. (wasm's Conv2DBackpropInput
 * is a plain loop, several times slower on MobileNet's 1×1 convs.)
 */
function convBack(dy: T4, back: tf.Tensor4D, s: Pair, pads: Pads, d: Pair, H: number, W: number): T4 {
  const keff: Pair = [(back.shape[0] - 1) * d[0] + 1, (back.shape[1] - 1) * d[1] + 1];
  return tf.conv2d(spreadAndPad(dy, s, keff, pads, H, W), back, 1, 'valid', 'NHWC', d);
}

/** The input gradient of a depthwise conv: per multiplier q, a depthwise conv of the spread dy with `back[q]`. */
function depthwiseBack(dy: T4, back: tf.Tensor4D[], s: Pair, pads: Pads, d: Pair, H: number, W: number): T4 {
  const [n, h, w, cm] = dy.shape;
  const m = back.length;
  const C = cm / m;
  const keff: Pair = [(back[0].shape[0] - 1) * d[0] + 1, (back[0].shape[1] - 1) * d[1] + 1];
  const dy5 = m > 1 ? tf.reshape(dy, [n, h, w, C, m]) : null;
  const parts = back.map((kq, q) => {
    const dq = dy5 ? (tf.reshape(tf.slice(dy5, [0, 0, 0, 0, q], [-1, -1, -1, C, 1]), [n, h, w, C]) as T4) : dy;
    return tf.depthwiseConv2d(spreadAndPad(dq, s, keff, pads, H, W), kq, 1, 'valid', 'NHWC', d);
  });
  return (parts.length === 1 ? parts[0] : tf.addN(parts)) as T4;
}

/** conv2d (unfused) with an input-only gradient. */
function convInputGrad(x: T4, k: tf.Tensor4D, back: tf.Tensor4D, s: Pair, pads: Pads, d: Pair): T4 {
  const explicit: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [pads[0], pads[1]],
    [pads[2], pads[3]],
    [0, 0],
  ];
  const f = customGrad1((xi: tf.Tensor) => ({
    value: tf.conv2d(xi as T4, k, s, explicit, 'NHWC', d),
    gradFunc: (dy: tf.Tensor) => convBack(dy as T4, back, s, pads, d, xi.shape[1]!, xi.shape[2]!),
  }));
  return f(x) as T4;
}

/** depthwiseConv2d (unfused) with an input-only gradient. */
function depthwiseInputGrad(x: T4, k: tf.Tensor4D, back: tf.Tensor4D[], s: Pair, pads: Pads, d: Pair): T4 {
  const f = customGrad1((xi: tf.Tensor) => {
    const xp = pads.some((v) => v > 0)
      ? tf.pad(xi, [
          [0, 0],
          [pads[0], pads[1]],
          [pads[2], pads[3]],
          [0, 0],
        ])
      : xi;
    return {
      value: tf.depthwiseConv2d(xp as T4, k, s, 'valid', 'NHWC', d),
      gradFunc: (dy: tf.Tensor) => depthwiseBack(dy as T4, back, s, pads, d, xi.shape[1]!, xi.shape[2]!),
    };
  });
  return f(x) as T4;
}

/** relu6 whose gradient is dy · step(x) · step(6 − x): wasm's LessEqual against a scalar is a slow path. */
const relu6 = customGrad1((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.relu6(x),
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, tf.mul(tf.step(xs), tf.step(tf.sub(6, xs)))),
  };
});

/** A conv-like node's tensors: forward kernels (one per group) and their backward forms, plus the bias. */
interface Prepared {
  kernels: tf.Tensor4D[];
  back: tf.Tensor4D[];
  /** Separable: the pointwise kernel and its transpose. */
  pointwise?: [tf.Tensor4D, tf.Tensor4D];
  bias?: tf.Tensor;
}

/**
 * Runs a model's IR differentiably on every backend (see the module comment). Holds its own copies of the conv /
 * depthwise / separable kernels; dispose it with the model.
 */
export class DifferentiableRunner {
  private readonly prepared = new Map<string, Prepared>();
  /** BatchNorm layers folded into the linear conv-like layer they read: its kernels scaled, the BN's shift as bias. */
  private readonly folded = new Map<string, { conv: ConvNode | DepthwiseNode | SeparableNode; p: Prepared }>();
  private readonly owned: tf.Tensor[] = [];

  constructor(
    readonly graph: ModelGraph,
    readonly runner: IRRunner,
    weights: { get(layer: string): TensorData[] | undefined },
  ) {
    const keep = <T extends tf.Tensor>(t: T): T => {
      this.owned.push(tf.keep(t));
      return t;
    };
    // Flip (and for convs swap the channel axes of) each kernel once: tf.reverse is slow on wasm.
    const flip = (k: tf.Tensor4D) => (k.shape[0] * k.shape[1] === 1 ? k : (tf.reverse(k, [0, 1]) as tf.Tensor4D));
    /** The kernels of a conv-like node from its weights [kernel, (pointwise,) bias?] (`bias` given apart). */
    const prepare = (n: ConvNode | DepthwiseNode | SeparableNode, ws: tf.Tensor4D[], bias?: tf.Tensor): Prepared => {
      const p: Prepared = { kernels: [], back: [] };
      if (n.op === 'conv') {
        const groups = n.groups ?? 1;
        p.kernels = (groups > 1 ? tf.split(ws[0], groups, 3) : [ws[0]]).map((k) => keep(k as tf.Tensor4D));
        p.back = p.kernels.map((k) => keep(flip(tf.transpose(k, [0, 1, 3, 2]))));
      } else {
        const dw = keep(ws[0]);
        const m = dw.shape[3];
        const f = flip(dw);
        p.kernels = [dw];
        p.back = Array.from({ length: m }, (_, q) =>
          keep(m === 1 ? f : (tf.slice(f, [0, 0, 0, q], [-1, -1, -1, 1]) as tf.Tensor4D)),
        );
        if (n.op === 'separable') {
          const pw = keep(ws[1]);
          p.pointwise = [pw, keep(tf.transpose(pw, [0, 1, 3, 2]) as tf.Tensor4D)];
        }
      }
      if (bias) p.bias = keep(bias);
      return p;
    };
    const byName = new Map(graph.nodes.map((n) => [n.name, n]));
    const readers = new Map<string, number>();
    for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
    try {
      tf.tidy(() => {
        const tensors = new Map<string, tf.Tensor4D[]>();
        for (const n of graph.nodes) {
          if (n.op !== 'conv' && n.op !== 'depthwise' && n.op !== 'separable') continue;
          const ws = (weights.get(n.name) ?? []).map((w) => {
            const t: tf.Tensor = tf.tensor(w.data, w.shape, 'float32');
            return t as tf.Tensor4D;
          });
          const need = (n.op === 'separable' ? 2 : 1) + (n.useBias ? 1 : 0);
          if (ws.length < need)
            throw new Error(`layer "${n.name}" (${n.op}) needs ${need} weight tensors, has ${ws.length}`);
          tensors.set(n.name, ws);
          const nk = n.op === 'separable' ? 2 : 1;
          this.prepared.set(n.name, prepare(n, ws.slice(0, nk), n.useBias ? ws[nk] : undefined));
        }
        // A BatchNorm read only from a linear conv-like layer that nothing else reads folds into it here: one
        // conv instead of conv, multiply and add forward, and one multiply fewer backward (MobileNetV2 has 52).
        for (const bn of graph.nodes) {
          if (bn.op !== 'bn' || bn.inputs.length !== 1) continue;
          const conv = byName.get(bn.inputs[0]);
          if (!conv || (conv.op !== 'conv' && conv.op !== 'depthwise' && conv.op !== 'separable')) continue;
          if ((conv.activation ?? 'linear') !== 'linear' || readers.get(conv.name) !== 1) continue;
          const w = weights.get(bn.name);
          if (!w || w.length !== (bn.scale ? 1 : 0) + (bn.center ? 1 : 0) + 2) continue;
          const [gamma, beta, mean, variance] = [
            bn.scale ? w[0] : null,
            bn.center ? w[bn.scale ? 1 : 0] : null,
            w[w.length - 2],
            w[w.length - 1],
          ].map((d) => (d ? tf.tensor1d(d.data as Float32Array) : null));
          // The runner's fold: y = x·a + b with a = γ / √(σ² + ε), b = β − μ·a.
          const a = tf.mul(gamma ?? 1, tf.rsqrt(tf.add(variance!, bn.epsilon))) as tf.Tensor1D;
          const b = tf.sub(beta ?? 0, tf.mul(mean!, a));
          const ws = tensors.get(conv.name)!;
          const nk = conv.op === 'separable' ? 2 : 1;
          const scaled = ws.slice(0, nk);
          if (conv.op === 'depthwise') {
            const [, , C, m] = scaled[0].shape;
            scaled[0] = tf.mul(scaled[0], tf.reshape(a, [1, 1, C, m])) as tf.Tensor4D;
          } else scaled[nk - 1] = tf.mul(scaled[nk - 1], a) as tf.Tensor4D;
          const bias = conv.useBias ? tf.add(tf.mul(ws[nk], a), b) : b;
          this.folded.set(bn.name, { conv, p: prepare(conv, scaled, bias) });
        }
      });
    } catch (e) {
      this.dispose();
      throw new InputError(`${graph.source ?? graph.name}: ${(e as Error).message}`, graph.source);
    }
  }

  /** The named layers' outputs on `input`, every op differentiable; `given` replaces layers' outputs. Call in a tidy. */
  forward(input: tf.Tensor, outputs: string[], given?: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
    const byName = new Map(this.graph.nodes.map((n) => [n.name, n]));
    const need = new Set<string>();
    const stack = [...outputs];
    while (stack.length) {
      const name = stack.pop()!;
      if (need.has(name)) continue;
      const n = byName.get(name);
      if (!n) throw new Error(`no layer '${name}' in this model`);
      need.add(name);
      if (!given?.has(name)) stack.push(...n.inputs);
    }
    // Folds apply where the conv's own output is neither asked for nor given (then it is never computed).
    const folds = new Map(
      [...this.folded].filter(([bn, f]) => need.has(bn) && !given?.has(bn) && !given?.has(f.conv.name)),
    );
    const skipped = new Set([...folds.values()].map((f) => f.conv.name).filter((c) => !outputs.includes(c)));
    const live = new Map<string, tf.Tensor>();
    for (const n of this.graph.nodes) {
      if (!need.has(n.name) || skipped.has(n.name)) continue;
      const g = given?.get(n.name);
      const fold = folds.get(n.name);
      if (g) live.set(n.name, g);
      else if (n.op === 'input') live.set(n.name, input);
      else if (fold && skipped.has(fold.conv.name)) {
        live.set(n.name, this.convWith(fold.conv, fold.p, live.get(fold.conv.inputs[0])! as T4));
      } else {
        const xs = n.inputs.map((i) => live.get(i)!);
        const own = this.prepared.get(n.name);
        let y: tf.Tensor;
        if (own) y = this.convLike(n as ConvNode | DepthwiseNode | SeparableNode, own, xs[0] as T4, input);
        else if (n.op === 'activation' && n.fn === 'relu6') y = relu6(xs[0]);
        else y = this.step(n, input, xs);
        live.set(n.name, y);
      }
    }
    return new Map(outputs.map((o) => [o, live.get(o)!]));
  }

  private step(n: GraphNode, input: tf.Tensor, xs: tf.Tensor[]): tf.Tensor {
    return this.runner.forwardSync(input, [n.name], new Map(n.inputs.map((i, k) => [i, xs[k]]))).get(n.name)!;
  }

  private convLike(n: ConvNode | DepthwiseNode | SeparableNode, p: Prepared, x: T4, input: tf.Tensor): tf.Tensor {
    const [, H, W] = x.shape;
    const keff: Pair = [(n.kernel[0] - 1) * n.dilation[0] + 1, (n.kernel[1] - 1) * n.dilation[1] + 1];
    const pads = padsOf(n.padding, H, W, keff, n.strides);
    if ((n.activation ?? 'linear') === 'linear') {
      // No activation to differentiate: the runner's own fused step forward (conv + bias in one kernel, the
      // engine's exact numbers), this module's input gradient backward.
      const f = customGrad1((xi: tf.Tensor) => ({
        value: this.step(n, input, [xi]),
        gradFunc: (dy: tf.Tensor) => this.back(n, p, dy as T4, pads, H, W),
      }));
      return f(x);
    }
    const y = this.convWith(n, p, x);
    return n.activation === 'relu6' ? relu6(y) : applyActivation(y, n.activation);
  }

  /** A conv-like node's kernels (and bias) on x, differentiable in x only; no activation. */
  private convWith(n: ConvNode | DepthwiseNode | SeparableNode, p: Prepared, x: T4): tf.Tensor {
    const [, H, W] = x.shape;
    const keff: Pair = [(n.kernel[0] - 1) * n.dilation[0] + 1, (n.kernel[1] - 1) * n.dilation[1] + 1];
    const pads = padsOf(n.padding, H, W, keff, n.strides);
    let y: tf.Tensor;
    if (n.op === 'conv') {
      if (p.kernels.length === 1) y = convInputGrad(x, p.kernels[0], p.back[0], n.strides, pads, n.dilation);
      else {
        const xs = tf.split(x, p.kernels.length, 3);
        y = tf.concat(
          xs.map((xi, g) => convInputGrad(xi as T4, p.kernels[g], p.back[g], n.strides, pads, n.dilation)),
          3,
        );
      }
    } else {
      y = depthwiseInputGrad(x, p.kernels[0], p.back, n.strides, pads, n.dilation);
      if (p.pointwise) y = convInputGrad(y as T4, p.pointwise[0], p.pointwise[1], [1, 1], [0, 0, 0, 0], [1, 1]);
    }
    return p.bias ? tf.add(y, p.bias) : y;
  }

  /** ∂ loss / ∂ x of a conv-like node from dy (its output's gradient). */
  private back(n: ConvNode | DepthwiseNode | SeparableNode, p: Prepared, dy: T4, pads: Pads, H: number, W: number): T4 {
    if (n.op === 'conv') {
      if (p.back.length === 1) return convBack(dy, p.back[0], n.strides, pads, n.dilation, H, W);
      const dys = tf.split(dy, p.back.length, 3);
      return tf.concat(
        dys.map((d, g) => convBack(d as T4, p.back[g], n.strides, pads, n.dilation, H, W)),
        3,
      ) as T4;
    }
    const dz = p.pointwise ? (tf.conv2d(dy, p.pointwise[1], 1, 'valid') as T4) : dy;
    return depthwiseBack(dz, p.back, n.strides, pads, n.dilation, H, W);
  }

  dispose(): void {
    tf.dispose(this.owned);
    this.owned.length = 0;
    this.prepared.clear();
    this.folded.clear();
  }
}

/** What the gradient functions need: the graph, the runners, the analysis (shapes, receptive fields), the weights. */
export interface GradientContext {
  graph: ModelGraph;
  /** The engine's runner (plain forward: the top prediction). */
  runner: IRRunner;
  /** The differentiable twin of `runner`. */
  diff: DifferentiableRunner;
  analysis: ModelAnalysis;
  /** Only for Grad-CAM on a dense layer with a fused softmax (to score the pre-softmax logit). */
  weights?: { get(layer: string): TensorData[] | undefined };
}

const whereOf = (g: ModelGraph) => g.source ?? g.name;

/** The model input's size from the runner (fixed) or the analysis. */
function inputSize(ctx: GradientContext, input: tf.Tensor): [number, number] {
  if (input.shape.length !== 4 || input.shape[0] !== 1) {
    throw new InputError(`${whereOf(ctx.graph)}: expected one image [1, H, W, C], got [${input.shape.join(', ')}]`);
  }
  return [input.shape[1]!, input.shape[2]!];
}

/** The scalar value of a unit in a [1, H, W, C] or [1, C] tensor, as a differentiable tensor. */
function unitOf(t: tf.Tensor, c: number, y: number, x: number): tf.Scalar {
  const one = t.shape.length === 4 ? tf.slice(t, [0, y, x, c], [1, 1, 1, 1]) : tf.slice(t, [0, c], [1, 1]);
  return tf.sum(one) as tf.Scalar;
}

function checkUnit(ctx: GradientContext, ref: GradientUnit): { y: number; x: number; shape: number[] } {
  const where = whereOf(ctx.graph);
  const layer = ctx.analysis.layers.find((l) => l.id === ref.layer);
  if (!layer) throw new InputError(`${where}: no layer "${ref.layer}"`, ctx.graph.source);
  const shape = layer.outputShape;
  const C = shape[shape.length - 1];
  if (!Number.isInteger(ref.channel) || ref.channel < 0 || ref.channel >= C) {
    throw new InputError(`${where}: layer "${ref.layer}" has ${C} channels; channel ${ref.channel} does not exist`);
  }
  const y = shape.length === 3 ? (ref.y ?? 0) : 0;
  const x = shape.length === 3 ? (ref.x ?? 0) : 0;
  if (
    shape.length === 3 &&
    !(Number.isInteger(y) && Number.isInteger(x) && y >= 0 && x >= 0 && y < shape[0] && x < shape[1])
  ) {
    throw new InputError(`${where}: layer "${ref.layer}" is ${shape[0]}×${shape[1]}; unit (${y}, ${x}) is outside it`);
  }
  return { y, x, shape };
}

/**
 * The effective receptive field of a unit on `input` ([1, H, W, C], the preprocessed image): one backward pass.
 * See EffectiveField for the 95 % share's definition.
 */
export async function effectiveField(
  ctx: GradientContext,
  input: tf.Tensor,
  ref: GradientUnit,
): Promise<EffectiveField> {
  const [H, W] = inputSize(ctx, input);
  const { y, x, shape } = checkUnit(ctx, ref);
  const g = tf.tidy(() => {
    const grad = tf.grad((xin: tf.Tensor) =>
      unitOf(ctx.diff.forward(xin, [ref.layer]).get(ref.layer)!, ref.channel, y, x),
    );
    return tf.sum(tf.abs(grad(input)), [0, 3]);
  });
  let map: Float32Array;
  try {
    map = Float32Array.from((await g.data()) as Float32Array);
  } finally {
    g.dispose();
  }
  const box = shape.length === 3 ? unitFootprint(ctx.analysis, ref.layer, y, x) : null;
  let mass = 0;
  let max = 0;
  let inside = 0;
  for (let i = 0; i < H; i++)
    for (let j = 0; j < W; j++) {
      const v = map[i * W + j];
      mass += v;
      if (v > max) max = v;
      if (!box || (i >= box.top && i <= box.bottom && j >= box.left && j <= box.right)) inside += v;
    }
  const { share, pixels } = massShare(map, mass, 0.95);
  const c = box?.clipped;
  const area = c ? (c.bottom - c.top + 1) * (c.right - c.left + 1) : H * W;
  return {
    layer: ref.layer,
    channel: ref.channel,
    y,
    x,
    height: H,
    width: W,
    map,
    max,
    mass,
    box,
    insideBox: mass > 0 ? inside / mass : 1,
    share95: share === null ? null : pixels / area,
    pixels95: pixels,
  };
}

/**
 * The fewest pixels, by descending value, whose sum reaches `q` of `mass` (ties broken by the order of the sort,
 * which does not change the count).
 */
export function massShare(map: Float32Array, mass: number, q: number): { share: number | null; pixels: number } {
  if (!(mass > 0)) return { share: null, pixels: 0 };
  const sorted = Float32Array.from(map).sort().reverse();
  // Float32 sums of many small values drift: accumulate in float64 against a target a hair under q · mass.
  const target = q * mass * (1 - 1e-9);
  let acc = 0;
  let n = 0;
  while (n < sorted.length && acc < target) acc += sorted[n++];
  return { share: acc / mass, pixels: n };
}

/** The default Grad-CAM layer: the last layer with a spatial output larger than 1×1 and more than one channel. */
export function defaultCamLayer(analysis: ModelAnalysis): string | null {
  for (let i = analysis.layers.length - 1; i >= 0; i--) {
    const l = analysis.layers[i];
    const s = l.outputShape;
    if (l.kind !== 'input' && s.length === 3 && s[0] * s[1] > 1 && s[2] > 1) return l.id;
  }
  return null;
}

/** How the class score is taken: the output node, or its pre-softmax input where the model ends in a softmax. */
function scoreNode(ctx: GradientContext): { node: string; logit: boolean; fusedDense: GraphNode | null } {
  const out = ctx.runner.graph.outputs[0] ?? ctx.runner.frameOrder[ctx.runner.frameOrder.length - 1];
  const node = ctx.graph.nodes.find((n) => n.name === out);
  if (node?.op === 'activation' && node.fn === 'softmax')
    return { node: node.inputs[0], logit: true, fusedDense: null };
  if (node?.op === 'dense' && node.activation === 'softmax' && ctx.weights?.get(node.name)) {
    return { node: node.inputs[0], logit: true, fusedDense: node };
  }
  return { node: out, logit: false, fusedDense: null };
}

/**
 * Grad-CAM of class `classIndex` (default: the top prediction) on `layer` (default: defaultCamLayer) for `input`
 * ([1, H, W, C]): w_k = mean over (i, j) of ∂ y^c / ∂ A_k(i, j), CAM = ReLU(Σ_k w_k A_k), upsampled to the input.
 * y^c is the pre-softmax logit where the model ends in a softmax (as the paper prescribes), else the output.
 */
export async function gradCam(
  ctx: GradientContext,
  input: tf.Tensor,
  opts: { classIndex?: number; layer?: string } = {},
): Promise<GradCam> {
  const where = whereOf(ctx.graph);
  const [H, W] = inputSize(ctx, input);
  const layer = opts.layer ?? defaultCamLayer(ctx.analysis);
  if (!layer) throw new InputError(`${where}: the model has no spatial layer to compute Grad-CAM on`, ctx.graph.source);
  const la = ctx.analysis.layers.find((l) => l.id === layer);
  if (!la) throw new InputError(`${where}: no layer "${layer}"`, ctx.graph.source);
  if (la.outputShape.length !== 3) {
    throw new InputError(
      `${where}: layer "${layer}" is not spatial (output ${la.outputShape.join('×')}); Grad-CAM needs a feature map`,
    );
  }
  const score = scoreNode(ctx);
  const out = ctx.runner.graph.outputs[0] ?? ctx.runner.frameOrder[ctx.runner.frameOrder.length - 1];
  const kernel = score.fusedDense ? ctx.weights!.get(score.fusedDense.name)! : null;
  const scoresOf = (t: tf.Tensor): tf.Tensor2D => {
    const flat = tf.reshape(t, [1, -1]) as tf.Tensor2D;
    if (!kernel) return flat;
    const [k, b] = kernel;
    const z = tf.matMul(flat, tf.tensor2d(k.data, k.shape as [number, number]));
    return (b ? tf.add(z, tf.tensor1d(b.data)) : z) as tf.Tensor2D;
  };
  const A = tf.tidy(() => ctx.runner.forwardSync(input, [layer]).get(layer)!.clone());
  try {
    // The class: the top prediction of the model's own output unless given.
    let classIndex = opts.classIndex;
    const C = la.outputShape[2];
    if (classIndex === undefined) {
      const top = tf.tidy(() => tf.argMax(tf.reshape(ctx.runner.forwardSync(input, [out]).get(out)!, [-1])));
      classIndex = (await take(top))[0];
    }
    const ci = classIndex;
    const outLen = ctx.analysis.layers.find((l) => l.id === out)?.outputShape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(ci) || ci < 0 || (outLen !== undefined && ci >= outLen)) {
      throw new InputError(`${where}: class ${ci} does not exist (the model has ${outLen} outputs)`);
    }
    const [cam, wts, sc] = tf.tidy(() => {
      const f = (a: tf.Tensor) => {
        const t = ctx.diff.forward(input, [score.node], new Map([[layer, a]])).get(score.node)!;
        return tf.sum(tf.slice(scoresOf(t), [0, ci], [1, 1])) as tf.Scalar;
      };
      const { value, grad } = tf.valueAndGrad(f)(A);
      const w = tf.mean(grad, [0, 1, 2]); // [C]
      const m = tf.relu(tf.sum(tf.mul(A, w), -1)); // [1, h, w]
      return [m, w, value];
    });
    try {
      const layerMap = Float32Array.from(await cam.data());
      const up = tf.tidy(() =>
        tf.image.resizeBilinear(
          tf.reshape(cam, [1, la.outputShape[0], la.outputShape[1], 1]) as tf.Tensor4D,
          [H, W],
          false,
          true,
        ),
      );
      const map = Float32Array.from(await take(up));
      let max = 0;
      for (const v of map) if (v > max) max = v;
      const weights = Float32Array.from(await wts.data());
      if (weights.length !== C) throw new Error('unreachable: weights per channel');
      return {
        layer,
        classIndex: ci,
        score: (await sc.data())[0],
        logit: score.logit,
        layerHeight: la.outputShape[0],
        layerWidth: la.outputShape[1],
        layerMap,
        weights,
        height: H,
        width: W,
        map,
        max,
      };
    } finally {
      tf.dispose([cam, wts, sc]);
    }
  } finally {
    A.dispose();
  }
}

async function take(t: tf.Tensor): Promise<Float32Array | Int32Array> {
  try {
    return (await t.data()) as Float32Array | Int32Array;
  } finally {
    t.dispose();
  }
}
