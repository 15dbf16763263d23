/**
 * The one builder for user models: executes the project's layer-graph IR (analysis/graph.ts) with tfjs ops, node by
 * node, so every format (Keras HDF5 and .keras, tfjs layers, Teachable Machine, ONNX) runs through the same code
 * and every layer's output reaches the UI as soon as it is computed. Nothing here goes through tfjs-layers'
 * model deserialisation: the graph has already been checked by the project's own topology code (cycles, dangling
 * inputs, sizes) before a single tensor is allocated, so no file can make tfjs spin.
 *
 * Layout: NHWC activations, HWIO kernels (see WeightStore). Padding semantics follow the source framework:
 * Keras 'same' / 'valid' through tfjs directly; explicit pixels (ONNX / PyTorch) as zero padding for convs,
 * ignored cells for max pooling, and PyTorch's divisor rule for average pooling (count_include_pad, ceil_mode).
 */
import * as tf from '@tensorflow/tfjs';
import type { GraphNode, ModelGraph, Padding, TensorData, WeightStore } from '../analysis/graph';
import type { Pair } from '../../../common/analysis-types';
import type { LayerOutput, OnLayer, Runner, StatsRule } from './runner';

type T4 = tf.Tensor4D;
type Explicit = [[number, number], [number, number], [number, number], [number, number]];

/** One executable node: its inputs (indices into the pass's tensor slots) and what it computes. */
interface Step {
  node: GraphNode;
  inputs: number[];
  slot: number;
  frame: number;
  /** Where the step's stats follow from its inputs' (see StatsRule). */
  rule?: StatsRule;
  /** Whether a later step's rule reads this step's stats. */
  feedsRule?: boolean;
  /** Null until compiled: with lazy weights, a step is built the first time a pass reaches it. */
  fn: ((xs: tf.Tensor[]) => tf.Tensor) | null;
  build: () => (xs: tf.Tensor[]) => tf.Tensor;
}

/** Thrown when a graph cannot be executed (an op or a configuration the engine does not run). */
export class IRBuildError extends Error {
  constructor(
    message: string,
    readonly layer?: string,
  ) {
    super(message);
    this.name = 'IRBuildError';
  }
}

const FUSABLE = new Set(['linear', 'relu', 'relu6', 'elu', 'sigmoid']);

/** y = f(x) for an activation name, with the node's parameters. */
export function applyActivation(
  x: tf.Tensor,
  fn: string | undefined,
  p: { alpha?: number; beta?: number; min?: number; max?: number; prelu?: tf.Tensor } = {},
): tf.Tensor {
  switch (fn ?? 'linear') {
    case 'linear':
      return x;
    case 'relu': {
      // Keras ReLU(max_value, negative_slope): min(max(x, 0), max) + slope·min(x, 0).
      let y: tf.Tensor = p.alpha ? tf.leakyRelu(x, p.alpha) : tf.relu(x);
      if (p.max !== undefined && Number.isFinite(p.max)) y = tf.minimum(y, p.max);
      return y;
    }
    case 'relu6':
      return tf.relu6(x);
    case 'leaky_relu':
      return tf.leakyRelu(x, p.alpha ?? 0.3);
    case 'elu': {
      const a = p.alpha ?? 1;
      return a === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(a, tf.sub(tf.exp(x), 1)));
    }
    case 'selu':
      return tf.selu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'hard_sigmoid':
      return tf.clipByValue(tf.add(tf.mul(x, p.alpha ?? 0.2), p.beta ?? 0.5), 0, 1);
    case 'hard_swish':
      return tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6));
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    case 'softmax':
      return tf.softmax(x, -1);
    case 'tanh':
      return tf.tanh(x);
    case 'softplus':
      return tf.softplus(x);
    case 'softsign':
      return tf.div(x, tf.add(tf.abs(x), 1));
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1));
    case 'mish':
      return tf.mul(x, tf.tanh(tf.softplus(x)));
    case 'exponential':
      return tf.exp(x);
    case 'clip':
      return tf.clipByValue(x, p.min ?? -Infinity, p.max ?? Infinity);
    case 'prelu':
      if (!p.prelu) throw new IRBuildError('PReLU without its slopes');
      return tf.prelu(x, p.prelu);
    default:
      throw new IRBuildError(`activation "${fn}" is not supported`);
  }
}

const explicitOf = (p: [number, number, number, number]): Explicit => [
  [0, 0],
  [p[0], p[1]],
  [p[2], p[3]],
  [0, 0],
];

/** Extra bottom/right cells ceil_mode needs so the last window fits (PyTorch's rule, see analysis). */
function ceilExtra(inSize: number, k: number, s: number, before: number, after: number): number {
  const span = inSize + before + after - k;
  let out = Math.ceil(span / s) + 1;
  if ((out - 1) * s >= inSize + before) out--;
  return Math.max((out - 1) * s + k - (inSize + before + after), 0);
}

/** Explicit padding for a pool: the node's pixels ('valid' = none) plus ceil_mode's extra cells. */
function poolPads(x: tf.Tensor, pool: Pair, strides: Pair, padding: Padding, ceil: boolean) {
  const p = padding === 'valid' ? [0, 0, 0, 0] : (padding as number[]);
  const [, H, W] = x.shape;
  const eh = ceil ? ceilExtra(H!, pool[0], strides[0], p[0], p[1]) : 0;
  const ew = ceil ? ceilExtra(W!, pool[1], strides[1], p[2], p[3]) : 0;
  return { p, eh, ew };
}

/** Builds the closure that computes one node; weights are tensors owned by the runner. */
function compile(node: GraphNode, w: tf.Tensor[], where: string, own: tf.Tensor[]): (xs: tf.Tensor[]) => tf.Tensor {
  const need = (n: number) => {
    if (w.length < n)
      throw new IRBuildError(`${where}: layer "${node.name}" (${node.op}) needs ${n} weight tensors, has ${w.length}`);
  };
  switch (node.op) {
    case 'conv': {
      need(node.useBias ? 2 : 1);
      const [kernel, bias] = w as [tf.Tensor4D, tf.Tensor1D?];
      const groups = node.groups ?? 1;
      const fused = FUSABLE.has(node.activation ?? 'linear');
      const act = fused ? ((node.activation ?? 'linear') as tf.fused.Activation) : 'linear';
      const pad = typeof node.padding === 'string' ? node.padding : explicitOf(node.padding);
      const one = (x: T4, k: tf.Tensor4D, b?: tf.Tensor1D): T4 =>
        tf.fused.conv2d({
          x,
          filter: k,
          strides: node.strides,
          pad,
          dilations: node.dilation,
          bias: b,
          activation: act,
        });
      const kernels = groups > 1 ? tf.split(kernel, groups, 3) : [kernel];
      const biases = groups > 1 && bias ? tf.split(bias, groups, 0) : [bias];
      if (groups > 1) own.push(...kernels, ...(bias ? (biases as tf.Tensor[]) : []));
      return ([x]) => {
        let y: tf.Tensor;
        if (groups === 1) y = one(x as T4, kernel, bias);
        else {
          const xs = tf.split(x, groups, 3);
          y = tf.concat(
            xs.map((xi, g) => one(xi as T4, kernels[g] as tf.Tensor4D, biases[g] as tf.Tensor1D | undefined)),
            3,
          );
        }
        return fused ? y : applyActivation(y, node.activation);
      };
    }
    case 'depthwise': {
      need(node.useBias ? 2 : 1);
      const [kernel, bias] = w as [tf.Tensor4D, tf.Tensor1D?];
      const fused = FUSABLE.has(node.activation ?? 'linear');
      const act = fused ? ((node.activation ?? 'linear') as tf.fused.Activation) : 'linear';
      const explicit = typeof node.padding !== 'string';
      return ([x]) => {
        const xin = explicit ? tf.pad(x, explicitOf(node.padding as [number, number, number, number])) : x;
        const y = tf.fused.depthwiseConv2d({
          x: xin as T4,
          filter: kernel,
          strides: node.strides,
          pad: explicit ? 'valid' : (node.padding as 'same' | 'valid'),
          dilations: node.dilation,
          bias,
          activation: act,
        });
        return fused ? y : applyActivation(y, node.activation);
      };
    }
    case 'separable': {
      need(node.useBias ? 3 : 2);
      const [dw, pw, bias] = w as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D?];
      const explicit = typeof node.padding !== 'string';
      return ([x]) => {
        const xin = explicit ? tf.pad(x, explicitOf(node.padding as [number, number, number, number])) : x;
        let y: tf.Tensor = tf.separableConv2d(
          xin as T4,
          dw,
          pw,
          node.strides,
          explicit ? 'valid' : (node.padding as 'same' | 'valid'),
          node.dilation,
        );
        if (bias) y = tf.add(y, bias);
        return applyActivation(y, node.activation);
      };
    }
    case 'convtranspose': {
      need(node.useBias ? 2 : 1);
      let kernel = w[0] as tf.Tensor4D;
      const bias = w[1];
      const [kh, kw] = node.kernel;
      const [dh, dw] = node.dilation;
      if (dh > 1 || dw > 1) {
        // A dilated kernel is the kernel with zeros between its taps.
        const [, , co, ci] = kernel.shape;
        const keff: Pair = [(kh - 1) * dh + 1, (kw - 1) * dw + 1];
        const src = kernel.dataSync();
        const dst = new Float32Array(keff[0] * keff[1] * co * ci);
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++)
            dst.set(
              src.subarray((i * kw + j) * co * ci, (i * kw + j + 1) * co * ci),
              (i * dh * keff[1] + j * dw) * co * ci,
            );
        kernel = tf.keep(tf.tensor4d(dst, [keff[0], keff[1], co, ci]));
        own.push(kernel);
      }
      const K: Pair = [kernel.shape[0], kernel.shape[1]];
      const [sh, sw] = node.strides;
      const op = node.outputPadding ?? [0, 0];
      return ([x]) => {
        const [n, H, W] = x.shape as number[];
        // The full ('valid') transposed convolution, then the window the padding leaves.
        const full: Pair = [(H - 1) * sh + K[0], (W - 1) * sw + K[1]];
        let before: Pair, out: Pair;
        if (Array.isArray(node.padding)) {
          const p = node.padding;
          before = [p[0], p[2]];
          out = [full[0] - p[0] - p[1] + op[0], full[1] - p[2] - p[3] + op[1]];
        } else if (node.padding === 'valid') {
          before = [0, 0];
          out = [full[0] + op[0], full[1] + op[1]];
        } else {
          out = [H * sh + op[0], W * sw + op[1]];
          const tot: Pair = [Math.max(full[0] - H * sh, 0), Math.max(full[1] - W * sw, 0)];
          before = [Math.floor(tot[0] / 2), Math.floor(tot[1] / 2)];
        }
        let y: tf.Tensor4D = tf.conv2dTranspose(
          x as T4,
          kernel,
          [n, full[0], full[1], kernel.shape[2]],
          [sh, sw],
          'valid',
        );
        // output_padding may reach past the full result: those rows are zeros (plus the bias).
        const needH = before[0] + out[0] - full[0];
        const needW = before[1] + out[1] - full[1];
        if (needH > 0 || needW > 0) {
          y = tf.pad(y, [
            [0, 0],
            [0, Math.max(needH, 0)],
            [0, Math.max(needW, 0)],
            [0, 0],
          ]);
        }
        y = tf.slice(y, [0, before[0], before[1], 0], [n, out[0], out[1], kernel.shape[2]]);
        const yb = bias ? tf.add(y, bias) : y;
        return applyActivation(yb, node.activation);
      };
    }
    case 'dense': {
      need(node.useBias ? 2 : 1);
      const [kernel, bias] = w as [tf.Tensor2D, tf.Tensor1D?];
      const fused = FUSABLE.has(node.activation ?? 'linear');
      const act = fused ? ((node.activation ?? 'linear') as tf.fused.Activation) : 'linear';
      return ([x]) => {
        const shape = x.shape;
        const flat = shape.length === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, shape[shape.length - 1]]);
        let y: tf.Tensor = tf.fused.matMul({ a: flat as tf.Tensor2D, b: kernel, bias, activation: act });
        if (shape.length !== 2) y = tf.reshape(y, [...shape.slice(0, -1), node.units]);
        return fused ? y : applyActivation(y, node.activation);
      };
    }
    case 'maxpool': {
      const ceil = node.ceilMode === true;
      if (typeof node.padding === 'string' && !ceil) {
        const pad = node.padding;
        return ([x]) => tf.maxPool(x as T4, node.pool, node.strides, pad);
      }
      if (node.padding === 'same') throw new IRBuildError(`${where}: layer "${node.name}": ceil_mode with 'same'`);
      return ([x]) => {
        const { p, eh, ew } = poolPads(x, node.pool, node.strides, node.padding, ceil);
        // Padded cells never win: pad with the most negative float.
        const xp = tf.pad(
          x,
          [
            [0, 0],
            [p[0], p[1] + eh],
            [p[2], p[3] + ew],
            [0, 0],
          ],
          -3.4e38,
        );
        return tf.maxPool(xp as T4, node.pool, node.strides, 'valid');
      };
    }
    case 'avgpool': {
      const ceil = node.ceilMode === true;
      if (typeof node.padding === 'string' && !ceil) {
        const pad = node.padding;
        return ([x]) => tf.avgPool(x as T4, node.pool, node.strides, pad);
      }
      if (node.padding === 'same') throw new IRBuildError(`${where}: layer "${node.name}": ceil_mode with 'same'`);
      const include = node.countIncludePad === true;
      return ([x]) => {
        const { p, eh, ew } = poolPads(x, node.pool, node.strides, node.padding, ceil);
        const [, H, W] = x.shape as number[];
        const spec: Explicit = [
          [0, 0],
          [p[0], p[1] + eh],
          [p[2], p[3] + ew],
          [0, 0],
        ];
        const sum = tf.avgPool(tf.pad(x, spec) as T4, node.pool, node.strides, 'valid');
        if (p.every((v) => v === 0) && eh === 0 && ew === 0) return sum;
        // The divisor: cells of the image, plus the explicit padding when count_include_pad; never ceil's extra cells.
        let mask: tf.Tensor = tf.ones([1, H, W, 1]);
        mask = tf.pad(mask, explicitOf(p as [number, number, number, number]), include ? 1 : 0);
        mask = tf.pad(mask, [
          [0, 0],
          [0, eh],
          [0, ew],
          [0, 0],
        ]);
        const count = tf.avgPool(mask as T4, node.pool, node.strides, 'valid');
        return tf.div(sum, count);
      };
    }
    case 'gap':
      return ([x]) => tf.mean(x, [1, 2], node.keepDims === true);
    case 'gmp':
      return ([x]) => tf.max(x, [1, 2], node.keepDims === true);
    case 'bn': {
      const n = (node.scale ? 1 : 0) + (node.center ? 1 : 0) + 2;
      need(n);
      let k = 0;
      const gamma = node.scale ? w[k++] : null;
      const beta = node.center ? w[k++] : null;
      const mean = w[k++];
      const variance = w[k++];
      // Folded once: y = x·a + b with a = γ / √(σ² + ε), b = β − μ·a.
      const a = tf.keep(tf.tidy(() => tf.mul(gamma ?? 1, tf.rsqrt(tf.add(variance, node.epsilon)))));
      const b = tf.keep(tf.tidy(() => tf.sub(beta ?? 0, tf.mul(mean, a))));
      own.push(a, b);
      return ([x]) => tf.add(tf.mul(x, a), b);
    }
    case 'activation': {
      if (node.fn === 'prelu') need(1);
      const prelu = node.fn === 'prelu' ? w[0] : undefined;
      const params = { alpha: node.alpha, beta: node.beta, min: node.min, max: node.max, prelu };
      // Fail now, not on the first image, when the function is unknown.
      tf.tidy(() => {
        applyActivation(tf.zeros([1, 1, 1, 1]), node.fn === 'prelu' ? 'linear' : node.fn, params);
      });
      return ([x]) => applyActivation(x, node.fn, params);
    }
    case 'concat':
      return (xs) => tf.concat(xs, -1);
    case 'add':
      return (xs) => (xs.length === 1 ? tf.clone(xs[0]) : tf.addN(xs));
    case 'multiply':
      return (xs) => xs.slice(1).reduce((a, b) => tf.mul(a, b), xs[0]);
    case 'average':
      return (xs) => tf.div(tf.addN(xs), xs.length);
    case 'subtract':
      return ([a, b]) => tf.sub(a, b);
    case 'maximum':
      return (xs) => xs.slice(1).reduce((a, b) => tf.maximum(a, b), xs[0]);
    case 'minimum':
      return (xs) => xs.slice(1).reduce((a, b) => tf.minimum(a, b), xs[0]);
    case 'flatten':
      return ([x]) => tf.reshape(x, [x.shape[0], -1]);
    case 'dropout':
    case 'identity':
      return ([x]) => tf.clone(x);
    case 'zeropad': {
      const p = explicitOf(node.pad);
      return ([x]) => tf.pad(x, p);
    }
    case 'crop': {
      const [t, b, l, r] = node.crop;
      return ([x]) => {
        const [n, H, W, C] = x.shape as number[];
        return tf.slice(x, [0, t, l, 0], [n, H - t - b, W - l - r, C]);
      };
    }
    case 'reshape':
      return ([x]) => tf.reshape(x, [x.shape[0], ...node.targetShape]);
    case 'scale': {
      const s = tf.keep(tf.tensor1d(node.scale));
      const o = tf.keep(tf.tensor1d(node.offset));
      own.push(s, o);
      return ([x]) => tf.add(tf.mul(x, s), o);
    }
    case 'upsample': {
      const [fh, fw] = node.size;
      return ([x]) => {
        const [, H, W] = x.shape as number[];
        const size: Pair = [H * fh, W * fw];
        // Keras UpSampling2D nearest repeats rows and columns; bilinear uses half-pixel centres (tf.image.resize).
        return node.interpolation === 'nearest'
          ? tf.image.resizeNearestNeighbor(x as T4, size, false, false)
          : tf.image.resizeBilinear(x as T4, size, false, true);
      };
    }
    case 'resize':
      return ([x]) =>
        node.interpolation === 'nearest'
          ? tf.image.resizeNearestNeighbor(x as T4, [node.height, node.width], false, true)
          : tf.image.resizeBilinear(x as T4, [node.height, node.width], false, true);
    case 'input':
      throw new IRBuildError(`${where}: a second input "${node.name}"; only single-image models are supported`);
    case 'unknown':
      throw new IRBuildError(
        `${where}: layer "${node.name}" has class ${node.className}, which the engine does not run`,
        node.name,
      );
  }
}

/** Options of the IR runner. */
export interface IRRunnerOptions {
  /** Output shape per node without the batch axis (from the analysis); fills `outputShapes`. */
  shapes?: Map<string, number[]>;
  /**
   * Build each layer's weights only when a pass first reaches it (the store is then a function giving a node's
   * tensors): the first feature maps do not wait for the whole model's weights. The zoo's seeded weights use
   * this — VGG-16's 123 M fully connected weights are drawn when the pass gets there, not before conv1 runs.
   */
  lazy?: boolean;
}

/** A model's weights: a store, or (with `lazy`) a function giving one node's tensors. */
export type WeightSource = WeightStore | ((node: GraphNode) => TensorData[]);

/** Executes a ModelGraph with its weights (see the module comment). */
export class IRRunner implements Runner {
  readonly kind = 'ir';
  readonly frameOrder: string[] = [];
  readonly outputShapes = new Map<string, (number | null)[]>();
  /** The input node's declared [H, W, C] (nulls where open). */
  readonly inputShape: [number | null, number | null, number];
  private readonly steps: Step[] = [];
  private readonly owned: tf.Tensor[] = [];
  private readonly outputSlot: number;

  constructor(
    readonly graph: ModelGraph,
    weights: WeightSource,
    opts: IRRunnerOptions = {},
  ) {
    const where = graph.source ?? graph.name;
    const inputs = graph.nodes.filter((n) => n.op === 'input');
    if (inputs.length !== 1) {
      throw new IRBuildError(`${where}: the model has ${inputs.length} inputs; only single-image models are supported`);
    }
    const input = inputs[0];
    if (input.op !== 'input') throw new IRBuildError('unreachable');
    this.inputShape = [...input.shape];
    const slotOf = new Map<string, number>([[input.name, 0]]);
    // Every tensor the runner holds: the weights and what compile derives (folded BN, scale constants).
    const built: tf.Tensor[] = [];
    const lazy = opts.lazy === true;
    try {
      for (const node of graph.nodes) {
        if (node === input) continue;
        const ins = node.inputs.map((i) => {
          const s = slotOf.get(i);
          if (s === undefined)
            throw new IRBuildError(`${where}: layer "${node.name}" reads "${i}", which is not computed before it`);
          return s;
        });
        if (ins.length === 0) throw new IRBuildError(`${where}: layer "${node.name}" has no input`);
        const build = () => {
          const data: TensorData[] = (typeof weights === 'function' ? weights(node) : weights.get(node.name)) ?? [];
          const made: tf.Tensor[] = [];
          try {
            const w = data.map((d) => {
              const n = d.shape.reduce((a, b) => a * b, 1);
              if (n !== d.data.length) {
                throw new IRBuildError(
                  `${where}: weight "${d.name}" of layer "${node.name}" has ${d.data.length} values for shape [${d.shape.join(', ')}]`,
                );
              }
              const t = tf.keep(tf.tensor(d.data, d.shape, 'float32'));
              made.push(t);
              return t;
            });
            const fn = compile(node, w, where, made);
            // A lazy build may run inside a caller's tf.tidy / tf.grad: what the runner owns must outlive it.
            for (const t of made) tf.keep(t);
            (lazy ? this.owned : built).push(...made);
            return fn;
          } catch (e) {
            tf.dispose(made);
            throw e;
          }
        };
        const slot = this.steps.length + 1;
        slotOf.set(node.name, slot);
        this.steps.push({ node, inputs: ins, slot, frame: this.frameOrder.length, fn: lazy ? null : build(), build });
        this.frameOrder.push(node.name);
        const shape = opts.shapes?.get(node.name);
        if (shape) this.outputShapes.set(node.name, [1, ...shape]);
      }
    } catch (e) {
      tf.dispose(built);
      throw e;
    }
    this.owned.push(...built);
    this.planRules();
    const out = graph.outputs[0] ?? this.frameOrder[this.frameOrder.length - 1];
    this.outputSlot = slotOf.get(out) ?? this.steps.length;
  }

  /**
   * The layers whose stats follow exactly from their inputs' frames (StatsRule): copies, zero padding and channel
   * concatenations of other layers (not of the model input, which has no frame). Slot s > 0 is step s − 1's output.
   */
  private planRules(): void {
    const kinds: Partial<Record<GraphNode['op'], StatsRule['kind']>> = {
      dropout: 'same',
      identity: 'same',
      zeropad: 'pad',
      concat: 'concat',
    };
    for (const step of this.steps) {
      const kind = kinds[step.node.op];
      if (!kind || step.inputs.some((j) => j === 0) || (kind !== 'concat' && step.inputs.length !== 1)) continue;
      const feeders = step.inputs.map((j) => this.steps[j - 1]);
      step.rule = { kind, inputs: feeders.map((f) => f.frame) };
      for (const f of feeders) f.feedsRule = true;
    }
  }

  /** Steps needed for the node in `slot` (all when null), and each slot's consumer count. */
  private plan(target: number | null): { steps: Step[]; consumers: number[] } {
    let steps = this.steps;
    if (target !== null) {
      const need = new Set<number>([target]);
      for (let i = this.steps.length - 1; i >= 0; i--) {
        const s = this.steps[i];
        if (need.has(s.slot)) for (const j of s.inputs) need.add(j);
      }
      steps = this.steps.filter((s) => need.has(s.slot));
    }
    const consumers = new Array<number>(this.steps.length + 1).fill(0);
    for (const s of steps) for (const j of s.inputs) consumers[j]++;
    return { steps, consumers };
  }

  private async walk(
    input: tf.Tensor,
    target: number | null,
    onLayer: OnLayer | null,
    checkpoint?: () => Promise<void>,
  ): Promise<tf.Tensor | null> {
    const { steps, consumers } = this.plan(target);
    const live: (tf.Tensor | null)[] = new Array(this.steps.length + 1).fill(null);
    live[0] = input;
    const release = (slot: number) => {
      const t = live[slot];
      live[slot] = null;
      if (t && t !== input) t.dispose();
    };
    try {
      for (const step of steps) {
        if (checkpoint) await checkpoint();
        const args = step.inputs.map((j) => live[j] as tf.Tensor);
        // Built outside the tidy: the weights it creates must outlive the pass.
        const fn = (step.fn ??= step.build());
        const out = tf.tidy(() => fn(args));
        live[step.slot] = out;
        for (const j of step.inputs) if (--consumers[j] === 0 && j !== target) release(j);
        if (onLayer) {
          const o: LayerOutput = { layerId: step.node.name, index: step.frame, tensor: out };
          if (step.rule) o.rule = step.rule;
          if (step.feedsRule) o.feedsRule = true;
          await onLayer(o);
        }
        if (consumers[step.slot] === 0 && step.slot !== target) release(step.slot);
      }
      if (target === null) return null;
      const result = live[target];
      live[target] = null;
      return result === input ? input.clone() : result;
    } finally {
      for (let i = 0; i < live.length; i++) release(i);
    }
  }

  /**
   * Builds every step a lazy runner has not built yet. Needed before a compile-only pass on webgl
   * (ENGINE_COMPILE_ONLY): tensors derived while building (folded BatchNorm, split group kernels) would otherwise be
   * computed by programs that only compile, and keep no values.
   */
  buildAll(): void {
    for (const step of this.steps) step.fn ??= step.build();
  }

  run(input: tf.Tensor, onLayer: OnLayer | null, checkpoint?: () => Promise<void>): Promise<void> {
    return this.walk(input, null, onLayer, checkpoint).then(() => undefined);
  }

  async runTo(input: tf.Tensor, layerId: string): Promise<tf.Tensor> {
    const step = this.steps.find((s) => s.node.name === layerId);
    if (!step) throw new Error(`no layer '${layerId}' in this model`);
    return (await this.walk(input, step.slot, null)) as tf.Tensor;
  }

  predict(input: tf.Tensor): tf.Tensor {
    // Synchronous plain inference (the bench's baseline): every node, nothing kept but the output.
    this.buildAll();
    return tf.tidy(() => {
      const live: tf.Tensor[] = [input];
      for (const step of this.steps) live[step.slot] = step.fn!(step.inputs.map((j) => live[j]));
      return live[this.outputSlot];
    });
  }

  /**
   * A synchronous, differentiable forward pass: runs only the steps the named layers need (the input node's name
   * gives the input back) and returns their tensors. Nothing is disposed, intermediates included, so `tf.grad` can
   * run through it: call it inside `tf.tidy` / `tf.grad` and let that scope clean up. `given` supplies a layer's
   * output instead of computing it (what is upstream of it runs only where another path needs it), so a gradient
   * can be taken with respect to an intermediate feature map (Grad-CAM). tfjs differentiates a fused conv by also
   * computing its filter gradient, which the wasm backend has no kernel for: gradients.ts's DifferentiableRunner
   * runs conv-like nodes itself and every other node through this method.
   */
  forwardSync(input: tf.Tensor, outputs: string[], given?: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
    const slotOf = (name: string) => {
      if (this.graph.nodes.some((n) => n.op === 'input' && n.name === name)) return 0;
      const s = this.steps.find((st) => st.node.name === name);
      if (!s) throw new Error(`no layer '${name}' in this model`);
      return s.slot;
    };
    const slots = outputs.map(slotOf);
    const need = new Set<number>(slots);
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const s = this.steps[i];
      if (need.has(s.slot) && !given?.has(s.node.name)) for (const j of s.inputs) need.add(j);
    }
    const inputName = this.graph.nodes.find((n) => n.op === 'input')?.name ?? '';
    const live: tf.Tensor[] = [given?.get(inputName) ?? input];
    for (const step of this.steps) {
      if (!need.has(step.slot)) continue;
      live[step.slot] = given?.get(step.node.name) ?? (step.fn ??= step.build())(step.inputs.map((j) => live[j]));
    }
    return new Map(outputs.map((name, i) => [name, live[slots[i]]]));
  }

  dispose(): void {
    tf.dispose(this.owned);
    this.owned.length = 0;
  }
}
