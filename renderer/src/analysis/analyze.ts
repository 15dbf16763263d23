/**
 * The layer arithmetic: output shapes, parameters, multiply-accumulates and receptive fields of every layer of a
 * ModelGraph, plus totals per model and per stage. Pure functions, no tfjs.
 *
 * Receptive fields follow Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks"
 * (Distill, 2019), per axis: a layer with kernel k, stride s, dilation d and leading padding p maps
 * (size r, jump j, start c) to (r + (k_eff − 1)·j, j·s, c + ((k_eff − 1)/2 − p)·j) with k_eff = d·(k − 1) + 1.
 * `start` is the centre of the first unit's field in input pixel indices (pixel i has centre i), so the field of
 * unit u spans pixels [c + u·j − (r − 1)/2, c + u·j + (r − 1)/2]. Graphs with branches carry one (r, j, c) per
 * distinct path; a layer reports, per axis, the largest.
 */
import type {
  ConvGeometry,
  LayerAnalysis,
  LayerKind,
  ModelAnalysis,
  Pair,
  ParamCount,
  ReceptiveField,
  RF,
  Stage,
} from '../../../common/analysis-types';
import { KERAS_CLASS, type GraphNode, type InputNode, type ModelGraph, type Padding, type WeightSpec } from './graph';

/** An error in a model or its input that stops the analysis; the message names the file (or model) and the layer. */
export class AnalysisError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly layer?: string,
  ) {
    super(message);
    this.name = 'AnalysisError';
  }
}

/** Options of `analyzeGraph`. */
export interface AnalyzeOptions {
  /** Input [H, W]; replaces the graph's input size (required when the graph leaves it open). */
  input?: Pair;
  /**
   * False skips receptive fields (every layer's `receptiveField` is null): shapes, params and MACs only, ~15× faster
   * on DenseNet-121, for callers that compute fields themselves (the what-if editor, analysis/edit-rf.ts).
   */
  receptiveField?: boolean;
}

/** Graph `op` → the coarse kind the UI uses. */
const KIND: Record<GraphNode['op'], LayerKind> = {
  input: 'input',
  conv: 'conv',
  depthwise: 'depthwise',
  separable: 'separable',
  convtranspose: 'conv',
  dense: 'dense',
  maxpool: 'pool',
  avgpool: 'pool',
  gap: 'globalpool',
  gmp: 'globalpool',
  bn: 'norm',
  activation: 'activation',
  concat: 'concat',
  add: 'add',
  multiply: 'multiply',
  average: 'add',
  subtract: 'add',
  maximum: 'add',
  minimum: 'add',
  scale: 'norm',
  upsample: 'resize',
  resize: 'resize',
  identity: 'dropout',
  flatten: 'flatten',
  dropout: 'dropout',
  zeropad: 'padding',
  crop: 'crop',
  reshape: 'reshape',
  unknown: 'unknown',
};

const ZERO_PARAMS: ParamCount = { weights: 0, biases: 0, trainable: 0, nonTrainable: 0, total: 0 };

/** The largest input side analysed: 16384² pixels through any real network keeps every count below 2^53. */
export const MAX_INPUT_SIDE = 16384;

/** Above this many distinct paths a layer keeps only the extremes (see `mergePaths`); no zoo model comes close. */
export const MAX_RF_PATHS = 4096;

/**
 * TF/Keras padding resolved for one axis: output size and the pixels padded before/after.
 * 'same': out = ceil(I / S), total = max((out − 1)·S + (K − 1)·D + 1 − I, 0), before = floor(total / 2).
 */
export function resolvePadding(
  inSize: number,
  kernel: number,
  stride: number,
  dilation: number,
  mode: Padding,
  axis: 0 | 1 = 0,
  ceilMode = false,
): { out: number; before: number; after: number } {
  const keff = (kernel - 1) * dilation + 1;
  if (Array.isArray(mode)) {
    // Explicit pixels (ONNX / PyTorch): out = floor((I + P_b + P_a − K_eff) / S) + 1, or ceil with ceil_mode,
    // where PyTorch drops a last window that would start inside the trailing padding.
    const before = mode[axis * 2];
    const after = mode[axis * 2 + 1];
    const span = inSize + before + after - keff;
    let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
    if (ceilMode && (out - 1) * stride >= inSize + before) out--;
    return { out, before, after };
  }
  if (mode === 'valid') {
    const span = inSize - keff;
    const out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
    return { out, before: 0, after: 0 };
  }
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + keff - inSize, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

/** Describes a padding for messages: 'same', 'valid' or '1,1,1,1'. */
const fmtPadding = (p: Padding): string => (Array.isArray(p) ? `explicit ${p.join(',')}` : p);

const rfKey = (r: RF): string => `${r.size[0]},${r.size[1]}|${r.jump[0]},${r.jump[1]}|${r.start[0]},${r.start[1]}`;

/** Deduplicates paths; beyond MAX_RF_PATHS keeps the largest fields (sorted by area), which are the ones reported. */
function mergePaths(lists: RF[][]): RF[] {
  const seen = new Map<string, RF>();
  for (const list of lists) for (const r of list) if (!seen.has(rfKey(r))) seen.set(rfKey(r), r);
  const all = [...seen.values()];
  if (all.length <= MAX_RF_PATHS) return all;
  return all.sort((a, b) => b.size[0] * b.size[1] - a.size[0] * a.size[1]).slice(0, MAX_RF_PATHS);
}

/** The reported field: per axis, the path with the largest size (first one on ties). */
function reportRF(paths: RF[]): ReceptiveField {
  const pick = (axis: 0 | 1): RF => paths.reduce((best, r) => (r.size[axis] > best.size[axis] ? r : best), paths[0]);
  const h = pick(0);
  const w = pick(1);
  const rf: ReceptiveField = {
    size: [h.size[0], w.size[1]],
    jump: [h.jump[0], w.jump[1]],
    start: [h.start[0], w.start[1]],
  };
  if (paths.length > 1) rf.paths = paths.map((p) => ({ size: [...p.size], jump: [...p.jump], start: [...p.start] }));
  return rf;
}

/** Applies a kernel (or a padding with kernel 1) to every path. */
function transformPaths(paths: RF[], kernel: Pair, stride: Pair, dilation: Pair, padBefore: Pair): RF[] {
  const out = paths.map((r) => {
    const keff: Pair = [(kernel[0] - 1) * dilation[0] + 1, (kernel[1] - 1) * dilation[1] + 1];
    return {
      size: [r.size[0] + (keff[0] - 1) * r.jump[0], r.size[1] + (keff[1] - 1) * r.jump[1]] as Pair,
      jump: [r.jump[0] * stride[0], r.jump[1] * stride[1]] as Pair,
      start: [
        r.start[0] + ((keff[0] - 1) / 2 - padBefore[0]) * r.jump[0],
        r.start[1] + ((keff[1] - 1) / 2 - padBefore[1]) * r.jump[1],
      ] as Pair,
    };
  });
  return mergePaths([out]);
}

/** Splits manifest weights into weights / biases / non-trainable by the Keras variable name. */
export function countWeights(weights: WeightSpec[]): ParamCount {
  const p = { ...ZERO_PARAMS };
  for (const w of weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const leaf = w.name.split('/').pop() ?? w.name;
    const role =
      w.role ?? (/^moving_(mean|variance)/.test(leaf) ? 'stat' : /^(bias|beta)/.test(leaf) ? 'bias' : 'weight');
    if (role === 'stat') p.nonTrainable += n;
    else if (role === 'bias') p.biases += n;
    else p.weights += n;
  }
  p.trainable = p.weights + p.biases;
  p.total = p.trainable + p.nonTrainable;
  return p;
}

function params(weights: number, biases: number, nonTrainable = 0): ParamCount {
  return { weights, biases, trainable: weights + biases, nonTrainable, total: weights + biases + nonTrainable };
}

const fmtShape = (s: number[]): string => s.join('×');

interface Computed {
  shape: number[] | null;
  /** Distinct receptive-field paths; null once the output is not spatial. */
  paths: RF[] | null;
}

const posInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 1 << 20;
const nonNegInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 1 << 20;

/**
 * Refuses sizes no real layer has (a hand-edited or hostile file): non-positive or fractional filter counts,
 * kernels, strides, dilations, units, pools; negative padding. Without this they would give negative channels
 * and MACs, or sizes beyond any memory.
 */
function checkSizes(node: GraphNode, where: string, source: string | undefined): void {
  const bad = (what: string, v: unknown): never => {
    throw new AnalysisError(
      `${where}: layer "${node.name}" has ${what} ${JSON.stringify(v)}; it must be a positive whole number`,
      source,
      node.name,
    );
  };
  const pair = (what: string, v: Pair | undefined) => {
    if (v && !(Array.isArray(v) && v.length === 2 && v.every(posInt))) bad(what, v);
  };
  const pads = (v: unknown) => {
    if (Array.isArray(v) && !(v.length === 4 && v.every(nonNegInt))) bad('padding', v);
  };
  switch (node.op) {
    case 'conv':
    case 'separable':
    case 'convtranspose':
      if (!posInt(node.filters)) bad('filters', node.filters);
      if (node.op === 'conv' && node.groups !== undefined && !posInt(node.groups)) bad('groups', node.groups);
      if (node.op === 'separable' && !posInt(node.depthMultiplier)) bad('depth multiplier', node.depthMultiplier);
      pair('kernel', node.kernel);
      pair('strides', node.strides);
      pair('dilation', node.dilation);
      pads(node.padding);
      break;
    case 'depthwise':
      if (!posInt(node.depthMultiplier)) bad('depth multiplier', node.depthMultiplier);
      pair('kernel', node.kernel);
      pair('strides', node.strides);
      pair('dilation', node.dilation);
      pads(node.padding);
      break;
    case 'dense':
      if (!posInt(node.units)) bad('units', node.units);
      break;
    case 'maxpool':
    case 'avgpool':
      pair('pool size', node.pool);
      pair('strides', node.strides);
      pads(node.padding);
      break;
    case 'upsample':
      pair('size', node.size);
      break;
    case 'resize':
      if (!posInt(node.height)) bad('height', node.height);
      if (!posInt(node.width)) bad('width', node.width);
      break;
    case 'zeropad':
      pads(node.pad);
      break;
    case 'crop':
      pads(node.crop);
      break;
    case 'input':
      if (node.shape.some((d) => d !== null && !posInt(d))) bad('input shape', node.shape);
      break;
  }
}

/** Orders nodes so every input comes before its consumers (stable for graphs already in order). */
function topoSort(graph: ModelGraph, where: string): GraphNode[] {
  const byName = new Map<string, GraphNode>();
  for (const n of graph.nodes) {
    if (byName.has(n.name)) throw new AnalysisError(`${where}: two layers are named "${n.name}"`, graph.source, n.name);
    byName.set(n.name, n);
  }
  for (const n of graph.nodes) {
    for (const i of n.inputs) {
      if (!byName.has(i)) {
        throw new AnalysisError(
          `${where}: layer "${n.name}" takes input "${i}", which is not a layer of the model`,
          graph.source,
          n.name,
        );
      }
    }
  }
  const state = new Map<string, 1 | 2>();
  const order: GraphNode[] = [];
  const visit = (start: GraphNode): void => {
    // Iterative DFS: ResNet/DenseNet chains are deep enough that recursion is a needless risk.
    const stack: [GraphNode, number][] = [[start, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, idx] = top;
      if (idx === 0) {
        if (state.get(node.name) === 2) {
          stack.pop();
          continue;
        }
        state.set(node.name, 1);
      }
      if (idx < node.inputs.length) {
        top[1]++;
        const child = byName.get(node.inputs[idx]) as GraphNode;
        const s = state.get(child.name);
        if (s === 1)
          throw new AnalysisError(`${where}: layer "${child.name}" feeds itself (cycle)`, graph.source, child.name);
        if (s !== 2) stack.push([child, 0]);
      } else {
        state.set(node.name, 2);
        order.push(node);
        stack.pop();
      }
    }
  };
  for (const n of graph.nodes) visit(n);
  return order;
}

/**
 * Analyses a layer graph: per layer output shape, parameters, MACs, geometry and receptive field; totals per
 * model and per stage. Throws AnalysisError for a broken graph or an input too small for the network (naming the
 * first layer whose output would be empty); unknown layers and unresolved shapes become warnings.
 */
export function analyzeGraph(graph: ModelGraph, opts: AnalyzeOptions = {}): ModelAnalysis {
  const where = graph.source ?? graph.name;
  const warnings: string[] = [...(graph.parseWarnings ?? [])];
  const nodes = topoSort(graph, where);
  const inputs = nodes.filter((n): n is InputNode => n.op === 'input');
  if (inputs.length === 0) throw new AnalysisError(`${where}: the model has no input layer`, graph.source);
  if (inputs.length > 1) {
    warnings.push(`${inputs.length} input layers; the arithmetic uses "${inputs[0].name}" for the input size`);
  }
  const first = inputs[0];
  const [gh, gw, gc] = first.shape;
  const h = opts.input?.[0] ?? gh;
  const w = opts.input?.[1] ?? gw;
  if (h == null || w == null) {
    throw new AnalysisError(
      `${where}: the input size is not fixed (${gh ?? 'None'}×${gw ?? 'None'}); give an input size such as 224x224`,
      graph.source,
      first.name,
    );
  }
  if (Number.isInteger(h) && Number.isInteger(w) && (h > MAX_INPUT_SIDE || w > MAX_INPUT_SIDE)) {
    throw new AnalysisError(
      `${where}: input ${h}×${w} is larger than any image this app analyses (${MAX_INPUT_SIDE} pixels a side); its counts would not be exact`,
      graph.source,
      first.name,
    );
  }
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) {
    throw new AnalysisError(
      `${where}: the input size must be positive integers, got ${h}×${w}`,
      graph.source,
      first.name,
    );
  }
  const input: [number, number, number] = [h, w, gc];

  const computed = new Map<string, Computed>();
  const layers: LayerAnalysis[] = [];

  const tooSmall = (node: GraphNode, inShape: number[], out: Pair, detail: string): never => {
    throw new AnalysisError(
      `${where}: input ${h}×${w} is too small for this network: layer "${node.name}" (${node.className ?? KERAS_CLASS[node.op]}) ` +
        `would output ${out[0]}×${out[1]} from its ${inShape[0]}×${inShape[1]} input (${detail}); use a larger input`,
      graph.source,
      node.name,
    );
  };

  for (const node of nodes) {
    checkSizes(node, where, graph.source);
    const ins = node.inputs.map((i) => computed.get(i) as Computed);
    const in0 = ins[0];
    const inShape = in0?.shape ?? null;
    const spatialIn = inShape !== null && inShape.length === 3 ? (inShape as [number, number, number]) : null;
    let shape: number[] | null = null;
    let paths: RF[] | null = null;
    let p: ParamCount = { ...ZERO_PARAMS };
    let configParams: ParamCount | null = null;
    let macs = 0;
    let geometry: ConvGeometry | undefined;
    let activation: string | undefined;
    const className = node.className ?? KERAS_CLASS[node.op];

    const needSpatial = (): [number, number, number] | null => {
      if (inShape === null) return null;
      if (!spatialIn) {
        throw new AnalysisError(
          `${where}: layer "${node.name}" (${className}) needs an H×W×C input but gets ${fmtShape(inShape)}`,
          graph.source,
          node.name,
        );
      }
      return spatialIn;
    };

    switch (node.op) {
      case 'input': {
        shape = node === first ? [...input] : node.shape.every((v) => v != null) ? (node.shape as number[]) : null;
        paths = shape && opts.receptiveField !== false ? [{ size: [1, 1], jump: [1, 1], start: [0, 0] }] : null;
        break;
      }
      case 'conv':
      case 'depthwise':
      case 'separable':
      case 'maxpool':
      case 'avgpool': {
        const kernel: Pair = 'pool' in node ? node.pool : node.kernel;
        const dilation: Pair = 'pool' in node ? [1, 1] : node.dilation;
        const si = needSpatial();
        if ('activation' in node && node.activation && node.activation !== 'linear') activation = node.activation;
        if (!si) break;
        const [H, W, C] = si;
        const ceil = 'ceilMode' in node && node.ceilMode === true;
        const ph = resolvePadding(H, kernel[0], node.strides[0], dilation[0], node.padding, 0, ceil);
        const pw = resolvePadding(W, kernel[1], node.strides[1], dilation[1], node.padding, 1, ceil);
        if (ph.out <= 0 || pw.out <= 0) {
          const what = node.op === 'maxpool' || node.op === 'avgpool' ? 'pool' : 'kernel';
          tooSmall(
            node,
            si,
            [Math.max(ph.out, 0), Math.max(pw.out, 0)],
            `${what} ${fmtShape(kernel)}, stride ${fmtShape(node.strides)}, ${fmtPadding(node.padding)} padding`,
          );
        }
        const positions = ph.out * pw.out;
        const kk = kernel[0] * kernel[1];
        let filters = C;
        let groups = 1;
        if (node.op === 'conv') {
          groups = node.groups ?? 1;
          if (C % groups !== 0 || node.filters % groups !== 0) {
            throw new AnalysisError(
              `${where}: layer "${node.name}": ${C} input channels or ${node.filters} filters are not divisible by ${groups} groups`,
              graph.source,
              node.name,
            );
          }
          filters = node.filters;
          configParams = params(kk * (C / groups) * filters, node.useBias ? filters : 0);
          macs = positions * kk * (C / groups) * filters;
        } else if (node.op === 'depthwise') {
          groups = C;
          filters = C * node.depthMultiplier;
          configParams = params(kk * C * node.depthMultiplier, node.useBias ? filters : 0);
          macs = positions * kk * C * node.depthMultiplier;
        } else if (node.op === 'separable') {
          groups = C;
          filters = node.filters;
          const mid = C * node.depthMultiplier;
          configParams = params(kk * mid + mid * filters, node.useBias ? filters : 0);
          macs = positions * (kk * mid + mid * filters);
        } else {
          configParams = { ...ZERO_PARAMS };
        }
        shape = [ph.out, pw.out, filters];
        geometry = {
          kernel: [...kernel],
          stride: [...node.strides],
          pad: [ph.before, ph.after, pw.before, pw.after],
          padding: Array.isArray(node.padding) ? 'explicit' : node.padding,
          dilation: [...dilation],
          groups,
          filters,
        };
        paths = in0.paths ? transformPaths(in0.paths, kernel, node.strides, dilation, [ph.before, pw.before]) : null;
        break;
      }
      case 'convtranspose': {
        if (node.activation && node.activation !== 'linear') activation = node.activation;
        const si = needSpatial();
        if (!si) break;
        const [H, W, C] = si;
        const keff: Pair = [(node.kernel[0] - 1) * node.dilation[0] + 1, (node.kernel[1] - 1) * node.dilation[1] + 1];
        const op = node.outputPadding ?? [0, 0];
        const size = (I: number, axis: 0 | 1): { out: number; before: number; after: number } => {
          const s = node.strides[axis];
          if (Array.isArray(node.padding)) {
            const before = node.padding[axis * 2];
            const after = node.padding[axis * 2 + 1];
            return { out: (I - 1) * s + keff[axis] - before - after + op[axis], before, after };
          }
          if (node.padding === 'valid') return { out: (I - 1) * s + keff[axis] + op[axis], before: 0, after: 0 };
          const out = I * s + op[axis];
          const total = Math.max((I - 1) * s + keff[axis] - I * s, 0);
          return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
        };
        const ph = size(H, 0);
        const pw = size(W, 1);
        if (ph.out <= 0 || pw.out <= 0)
          tooSmall(node, si, [ph.out, pw.out], `transposed kernel ${fmtShape(node.kernel)}`);
        const kk = node.kernel[0] * node.kernel[1];
        configParams = params(kk * C * node.filters, node.useBias ? node.filters : 0);
        // Every input value is scattered through the whole kernel: I_h·I_w·K·K·C_in·C_out multiply-adds.
        macs = H * W * kk * C * node.filters;
        shape = [ph.out, pw.out, node.filters];
        geometry = {
          kernel: [...node.kernel],
          stride: [...node.strides],
          pad: [ph.before, ph.after, pw.before, pw.after],
          padding: Array.isArray(node.padding) ? 'explicit' : node.padding,
          dilation: [...node.dilation],
          groups: 1,
          filters: node.filters,
        };
        // An output unit gathers ceil(K / S) input units per axis; the grid gets S times finer.
        paths = in0.paths
          ? mergePaths([
              in0.paths.map((r) => {
                const n: Pair = [Math.ceil(keff[0] / node.strides[0]), Math.ceil(keff[1] / node.strides[1])];
                return {
                  size: [r.size[0] + (n[0] - 1) * r.jump[0], r.size[1] + (n[1] - 1) * r.jump[1]] as Pair,
                  jump: [r.jump[0] / node.strides[0], r.jump[1] / node.strides[1]] as Pair,
                  // Output o is fed by inputs i with i·S ≤ o + pad_before ≤ i·S + K_eff − 1: centred on
                  // (o + pad_before − (K_eff − 1)/2) / S.
                  start: [
                    r.start[0] + ((ph.before - (keff[0] - 1) / 2) / node.strides[0]) * r.jump[0],
                    r.start[1] + ((pw.before - (keff[1] - 1) / 2) / node.strides[1]) * r.jump[1],
                  ] as Pair,
                };
              }),
            ])
          : null;
        break;
      }
      case 'upsample':
      case 'resize': {
        configParams = { ...ZERO_PARAMS };
        const si = needSpatial();
        if (!si) break;
        const outHW: Pair =
          node.op === 'upsample' ? [si[0] * node.size[0], si[1] * node.size[1]] : [node.height, node.width];
        if (outHW[0] <= 0 || outHW[1] <= 0) tooSmall(node, si, outHW, 'resize');
        shape = [outHW[0], outHW[1], si[2]];
        const f: Pair = [si[0] / outHW[0], si[1] / outHW[1]];
        const extra = node.interpolation === 'bilinear' ? 1 : 0;
        // Output unit u reads input (u + 0.5)·f − 0.5 (half-pixel centres); bilinear blends one more input unit.
        paths = in0.paths
          ? mergePaths([
              in0.paths.map((r) => ({
                size: [r.size[0] + extra * r.jump[0], r.size[1] + extra * r.jump[1]] as Pair,
                jump: [r.jump[0] * f[0], r.jump[1] * f[1]] as Pair,
                start: [r.start[0] + ((f[0] - 1) / 2) * r.jump[0], r.start[1] + ((f[1] - 1) / 2) * r.jump[1]] as Pair,
              })),
            ])
          : null;
        break;
      }
      case 'scale':
      case 'identity':
        shape = inShape && [...inShape];
        paths = in0?.paths ?? null;
        // A folded Normalization keeps its statistics as weights: those are what get counted.
        configParams = node.weights?.length ? null : { ...ZERO_PARAMS };
        break;
      case 'dense': {
        if (node.activation && node.activation !== 'linear') activation = node.activation;
        if (inShape === null) break;
        // Keras Dense acts on the last axis; on an H×W×C input it is a 1×1 conv.
        const nIn = inShape[inShape.length - 1];
        const positions = inShape.slice(0, -1).reduce((a, b) => a * b, 1);
        configParams = params(nIn * node.units, node.useBias ? node.units : 0);
        macs = positions * nIn * node.units;
        shape = [...inShape.slice(0, -1), node.units];
        paths = inShape.length === 3 ? in0.paths : null;
        break;
      }
      case 'gap':
      case 'gmp': {
        const si = needSpatial();
        if (!si) break;
        shape = node.keepDims ? [1, 1, si[2]] : [si[2]];
        configParams = { ...ZERO_PARAMS };
        paths = null;
        break;
      }
      case 'bn': {
        if (inShape === null) break;
        const C = inShape[inShape.length - 1];
        configParams = params(node.scale ? C : 0, node.center ? C : 0, 2 * C);
        shape = [...inShape];
        paths = in0.paths;
        break;
      }
      case 'activation':
        activation = node.fn;
        shape = inShape && [...inShape];
        paths = in0?.paths ?? null;
        // PReLU learns its slopes: only the manifest knows how many (shared axes), so no config count.
        configParams = node.className === 'PReLU' || node.fn === 'prelu' ? null : { ...ZERO_PARAMS };
        break;
      case 'dropout':
        shape = inShape && [...inShape];
        paths = in0?.paths ?? null;
        configParams = { ...ZERO_PARAMS };
        break;
      case 'concat':
      case 'add':
      case 'multiply':
      case 'average':
      case 'subtract':
      case 'maximum':
      case 'minimum': {
        configParams = { ...ZERO_PARAMS };
        if (ins.some((i) => i.shape === null)) break;
        const shapes = ins.map((i) => i.shape as number[]);
        const s0 = shapes[0];
        const sameRank = shapes.every((s) => s.length === s0.length);
        if (node.op === 'concat') {
          const ok = sameRank && shapes.every((s) => s.slice(0, -1).every((v, k) => v === s0[k]));
          if (!ok) {
            throw new AnalysisError(
              `${where}: layer "${node.name}" (${className}) cannot concatenate ${shapes.map(fmtShape).join(' and ')} along channels`,
              graph.source,
              node.name,
            );
          }
          shape = [...s0.slice(0, -1), shapes.reduce((a, s) => a + s[s.length - 1], 0)];
        } else {
          // Element-wise merges broadcast (a squeeze-and-excitation gate is H×W×C times 1×1×C): each axis
          // equal or 1, and the output takes the larger.
          const out = s0.map((_, k) => Math.max(...shapes.map((s) => s[k])));
          const ok = sameRank && shapes.every((s) => s.every((v, k) => v === out[k] || v === 1));
          if (!ok) {
            throw new AnalysisError(
              `${where}: layer "${node.name}" (${className}) needs equal shapes (or 1 where they broadcast), got ${shapes.map(fmtShape).join(' and ')}`,
              graph.source,
              node.name,
            );
          }
          shape = out;
        }
        // A broadcast 1×1 gate (global context, no spatial paths) scales the map; the map's paths are the field.
        const spatial = ins.filter((i) => i.paths);
        paths =
          shape.length === 3 &&
          spatial.length &&
          ins.every((i) => i.paths || i.shape?.slice(0, 2).every((d) => d === 1))
            ? mergePaths(spatial.map((i) => i.paths as RF[]))
            : null;
        break;
      }
      case 'flatten':
        configParams = { ...ZERO_PARAMS };
        if (inShape === null) break;
        shape = [inShape.reduce((a, b) => a * b, 1)];
        break;
      case 'zeropad':
      case 'crop': {
        configParams = { ...ZERO_PARAMS };
        const si = needSpatial();
        if (!si) break;
        // Cropping is padding by a negative amount: same arithmetic.
        const [t, b, l, r] =
          node.op === 'zeropad' ? node.pad : (node.crop.map((v) => -v) as [number, number, number, number]);
        shape = [si[0] + t + b, si[1] + l + r, si[2]];
        if (shape[0] <= 0 || shape[1] <= 0) tooSmall(node, si, [shape[0], shape[1]], 'cropping');
        geometry = {
          kernel: [1, 1],
          stride: [1, 1],
          pad: [t, b, l, r],
          padding: 'explicit',
          dilation: [1, 1],
          groups: 1,
          filters: si[2],
        };
        paths = in0.paths ? transformPaths(in0.paths, [1, 1], [1, 1], [1, 1], [t, l]) : null;
        break;
      }
      case 'reshape': {
        configParams = { ...ZERO_PARAMS };
        if (inShape === null) break;
        const n = inShape.reduce((a, b) => a * b, 1);
        const known = node.targetShape.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
        const target = node.targetShape.map((v) => (v === -1 ? n / known : v));
        if (target.reduce((a, b) => a * b, 1) !== n || target.some((v) => !Number.isInteger(v))) {
          throw new AnalysisError(
            `${where}: layer "${node.name}" cannot reshape ${fmtShape(inShape)} to ${fmtShape(node.targetShape)}`,
            graph.source,
            node.name,
          );
        }
        shape = target;
        paths = null;
        break;
      }
      case 'unknown':
        warnings.push(
          `layer "${node.name}": unknown layer class ${node.className}; its output shape cannot be inferred` +
            (node.weights?.length ? ' (its weights are counted from the weight manifest)' : ''),
        );
        break;
    }

    if (shape === null && node.op !== 'unknown' && node.op !== 'input') {
      warnings.push(
        `layer "${node.name}" (${className}): output shape cannot be inferred because an input's shape is unknown`,
      );
    }
    if (node.op === 'input' && shape === null) warnings.push(`input "${node.name}" has no fixed size`);

    // Parameters: the weight files are the truth when present; the config gives the same number otherwise.
    const fromWeights = graph.weightsDefineParams === true;
    if (node.weights && (node.weights.length > 0 || !configParams)) {
      p = countWeights(node.weights);
      if (!fromWeights && configParams && configParams.total !== p.total) {
        warnings.push(
          `layer "${node.name}": the weight manifest holds ${p.total} values, the layer config implies ${configParams.total}; counting the manifest`,
        );
      }
    } else if (configParams) {
      if (node.weights && configParams.total > 0 && !fromWeights) {
        warnings.push(
          `layer "${node.name}": no weights for it in the weight manifest; counting its config (${configParams.total})`,
        );
      }
      p = configParams;
    } else if (
      node.op === 'conv' ||
      node.op === 'depthwise' ||
      node.op === 'separable' ||
      node.op === 'dense' ||
      node.op === 'bn'
    ) {
      warnings.push(`layer "${node.name}" (${className}): parameters cannot be counted without its input shape`);
    }

    computed.set(node.name, { shape, paths: shape !== null && shape.length === 3 ? paths : null });
    const rfPaths = shape !== null && shape.length === 3 ? paths : null;
    const layer: LayerAnalysis = {
      id: node.name,
      name: node.name,
      kind: KIND[node.op],
      className,
      inputs: [...node.inputs],
      outputShape: shape ? [...shape] : [],
      params: p,
      macs,
      receptiveField: rfPaths && rfPaths.length ? reportRF(rfPaths) : null,
      stage: null,
    };
    if (geometry) layer.geometry = geometry;
    if (activation) layer.activation = activation;
    if (node.trainable === false) layer.frozen = true;
    if (node.scope?.length) layer.scope = [...node.scope];
    layers.push(layer);
  }

  if (graph.unmatchedWeights?.length) {
    const n = graph.unmatchedWeights.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0);
    warnings.push(
      `${graph.unmatchedWeights.length} weight tensors (${n} values) in the manifest match no layer and are not counted: ` +
        graph.unmatchedWeights
          .slice(0, 5)
          .map((w) => w.name)
          .join(', ') +
        (graph.unmatchedWeights.length > 5 ? ', …' : ''),
    );
  }

  const stages = assignStages(layers);
  return { name: graph.name, input, layers, stages, totals: totals(layers), warnings };
}

/** Groups spatial layers by output resolution, in order of first appearance; padding layers stay with their input. */
function assignStages(layers: LayerAnalysis[]): Stage[] {
  const byRes = new Map<string, Stage>();
  const stageOf = new Map<string, number>();
  const stages: Stage[] = [];
  for (const l of layers) {
    if (l.outputShape.length !== 3) continue;
    let index: number | undefined;
    if ((l.kind === 'padding' || l.kind === 'crop') && l.inputs.length) index = stageOf.get(l.inputs[0]);
    if (index === undefined) {
      const key = `${l.outputShape[0]}x${l.outputShape[1]}`;
      let s = byRes.get(key);
      if (!s) {
        s = {
          index: stages.length,
          resolution: [l.outputShape[0], l.outputShape[1]],
          layerIds: [],
          params: 0,
          macs: 0,
        };
        byRes.set(key, s);
        stages.push(s);
      }
      index = s.index;
    }
    const s = stages[index];
    s.layerIds.push(l.id);
    s.params += l.params.total;
    s.macs += l.macs;
    l.stage = index;
    stageOf.set(l.id, index);
  }
  return stages;
}

/** Model totals of nothing: the start of a sum, and what a model without analysis reports. */
export function emptyTotals(): Required<ModelAnalysis['totals']> {
  return {
    params: 0,
    trainable: 0,
    nonTrainable: 0,
    paramsWithoutBnStats: 0,
    macs: 0,
    denseParams: 0,
    convParams: 0,
    depth: 0,
    frozenParams: 0,
  };
}

function totals(layers: LayerAnalysis[]): ModelAnalysis['totals'] {
  const t = emptyTotals();
  for (const l of layers) {
    t.params += l.params.total;
    t.trainable += l.params.trainable;
    t.nonTrainable += l.params.nonTrainable;
    t.macs += l.macs;
    if (l.kind === 'dense') t.denseParams += l.params.total;
    if (l.kind === 'conv' || l.kind === 'depthwise' || l.kind === 'separable') t.convParams += l.params.total;
    if (l.kind === 'dense' || l.kind === 'conv' || l.kind === 'depthwise' || l.kind === 'separable') t.depth++;
    if (l.frozen) t.frozenParams += l.params.total;
  }
  t.paramsWithoutBnStats = t.params - t.nonTrainable;
  return t;
}
