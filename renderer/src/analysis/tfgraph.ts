/**
 * Reads a tfjs graph-model `model.json` (a TensorFlow GraphDef: `modelTopology.node`, one entry per op) into the
 * shared layer graph. Every op that computes on the image becomes a node named like the TF node (the ids the
 * engine's graph runner streams frames for); constant inputs (weights, folded BN, scalars) become that node's
 * weights. Conv-like ops carry their fused bias / batch norm / activation as converted by tensorflowjs_converter.
 * Anything unrecognised becomes an 'unknown' node.
 */
import { AnalysisError } from './analyze';
import type { GraphNode, ModelGraph, PaddingMode, WeightSpec } from './graph';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

interface TfNode {
  name: string;
  op: string;
  input: string[];
  attr: Json;
}

/** "name:1" / "^name" → "name". */
const clean = (s: string): string => s.replace(/^\^/, '').replace(/:\d+$/, '');

function b64(s: unknown): string {
  if (typeof s !== 'string') return '';
  try {
    return atob(s);
  } catch {
    return s;
  }
}

const attrString = (a: Json, key: string): string | undefined => {
  const v = a[key];
  return isObj(v) && typeof v.s === 'string' ? b64(v.s) : undefined;
};
const attrInts = (a: Json, key: string): number[] | undefined => {
  const v = a[key];
  if (!isObj(v) || !isObj(v.list)) return undefined;
  const i = v.list.i;
  return Array.isArray(i) ? i.map(Number) : [];
};
const attrStrings = (a: Json, key: string): string[] => {
  const v = a[key];
  if (!isObj(v) || !isObj(v.list) || !Array.isArray(v.list.s)) return [];
  return v.list.s.map(b64);
};
const attrBool = (a: Json, key: string): boolean => {
  const v = a[key];
  return isObj(v) && v.b === true;
};

/** Shape and (small integer) values of a Const node's tensor. */
function constTensor(n: TfNode): { shape: number[]; ints: number[] | null } {
  const value = n.attr.value;
  const tensor = isObj(value) && isObj(value.tensor) ? value.tensor : {};
  const dims = isObj(tensor.tensorShape) && Array.isArray(tensor.tensorShape.dim) ? tensor.tensorShape.dim : [];
  const shape = dims.map((d) => (isObj(d) ? Number(d.size ?? 0) : 0));
  let ints: number[] | null = null;
  if (Array.isArray(tensor.intVal)) ints = tensor.intVal.map(Number);
  else if (typeof tensor.tensorContent === 'string' && (tensor.dtype === 'DT_INT32' || tensor.dtype === undefined)) {
    const raw = b64(tensor.tensorContent);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    ints = Array.from(new Int32Array(bytes.buffer, 0, Math.floor(bytes.length / 4)));
  }
  return { shape, ints };
}

const ACTIVATION_OPS: Record<string, string> = {
  Relu: 'relu',
  Relu6: 'relu6',
  Elu: 'elu',
  Selu: 'selu',
  Sigmoid: 'sigmoid',
  Tanh: 'tanh',
  Softmax: 'softmax',
  LeakyRelu: 'leaky_relu',
  Prelu: 'prelu',
  Identity: 'linear',
};

/** Ops that only pass their input on (scalar preprocessing, identities, casts). */
const PASS_OPS = new Set(['Identity', 'Cast', 'Mul', 'Sub', 'RealDiv', 'Maximum', 'Minimum', 'StopGradient']);

/**
 * Turns a tfjs graph-model JSON into a ModelGraph. Throws AnalysisError naming `fileName` when it is not a graph
 * model or has no Placeholder input.
 */
export function graphFromGraphModel(modelJson: unknown, fileName: string): ModelGraph {
  if (!isObj(modelJson) || !isObj(modelJson.modelTopology) || !Array.isArray(modelJson.modelTopology.node)) {
    throw new AnalysisError(`${fileName}: not a tfjs graph model (no "modelTopology.node" list)`, fileName);
  }
  const raw: TfNode[] = modelJson.modelTopology.node.filter(isObj).map((n) => ({
    name: String(n.name),
    op: String(n.op),
    input: Array.isArray(n.input)
      ? n.input
          .map(String)
          .filter((s) => !s.startsWith('^'))
          .map(clean)
      : [],
    attr: isObj(n.attr) ? n.attr : {},
  }));
  const byName = new Map(raw.map((n) => [n.name, n]));

  const manifest = new Map<string, number[]>();
  if (Array.isArray(modelJson.weightsManifest)) {
    for (const g of modelJson.weightsManifest) {
      if (!isObj(g) || !Array.isArray(g.weights)) continue;
      for (const w of g.weights)
        if (isObj(w) && typeof w.name === 'string' && Array.isArray(w.shape)) manifest.set(w.name, w.shape.map(Number));
    }
  }

  // A node is constant when it does not depend on a Placeholder (weights, and Identity/Reshape chains over them).
  const constant = new Map<string, boolean>();
  const isConst = (name: string): boolean => {
    const stack = [name];
    while (stack.length) {
      const cur = stack[stack.length - 1];
      if (constant.has(cur)) {
        stack.pop();
        continue;
      }
      const n = byName.get(cur);
      if (!n) {
        constant.set(cur, true);
        stack.pop();
        continue;
      }
      if (n.op === 'Placeholder') {
        constant.set(cur, false);
        stack.pop();
        continue;
      }
      const pending = n.input.filter((i) => !constant.has(i));
      if (pending.length) {
        stack.push(...pending);
        continue;
      }
      constant.set(
        cur,
        n.input.every((i) => constant.get(i)),
      );
      stack.pop();
    }
    return constant.get(name) as boolean;
  };
  /** The Const a constant input resolves to (through Identity), for its name and shape. */
  const resolveConst = (name: string): TfNode | undefined => {
    let n = byName.get(name);
    while (n && n.op !== 'Const' && n.input.length === 1) n = byName.get(n.input[0]);
    return n;
  };
  const constShape = (name: string): number[] | undefined => {
    const c = resolveConst(name);
    if (!c) return undefined;
    return manifest.get(c.name) ?? constTensor(c).shape;
  };
  /** Weight specs of a node's constant inputs that the manifest holds, with their roles. */
  const weightsOf = (inputs: string[], roles: WeightSpec['role'][]): WeightSpec[] => {
    const out: WeightSpec[] = [];
    inputs.forEach((i, k) => {
      const c = resolveConst(i);
      const shape = c ? manifest.get(c.name) : undefined;
      if (c && shape) out.push({ name: c.name, shape, role: roles[k] ?? 'weight' });
    });
    return out;
  };

  const where = (n: TfNode) => `${fileName}: node "${n.name}" (${n.op})`;
  const padding = (n: TfNode): PaddingMode | 'explicit' => {
    const p = (attrString(n.attr, 'padding') ?? 'VALID').toUpperCase();
    if (p === 'SAME') return 'same';
    if (p === 'VALID') return 'valid';
    if (p === 'EXPLICIT') return 'explicit';
    throw new AnalysisError(`${where(n)}: padding "${p}" is not supported`, fileName, n.name);
  };
  const nhwc = (n: TfNode, key: string, dflt: [number, number]): [number, number] => {
    const v = attrInts(n.attr, key);
    if (!v || v.length === 0) return dflt;
    if (v.length === 4) return [v[1], v[2]];
    if (v.length === 2) return [v[0], v[1]];
    return [v[0], v[0]];
  };

  const nodes: GraphNode[] = [];
  const consumers = new Map<string, number>();
  for (const n of raw) {
    if (n.op === 'Const' || n.op === 'NoOp' || (n.op !== 'Placeholder' && isConst(n.name))) continue;
    const format = attrString(n.attr, 'data_format');
    if (format && format !== 'NHWC')
      throw new AnalysisError(`${where(n)}: data_format ${format} is not supported (NHWC only)`, fileName, n.name);
    const live = n.input.filter((i) => !isConst(i));
    const consts = n.input.filter((i) => isConst(i));
    for (const i of live) consumers.set(i, (consumers.get(i) ?? 0) + 1);
    const base = { name: n.name, inputs: live, className: n.op };
    const fused = attrStrings(n.attr, 'fused_ops');
    const act = fused.find((f) => ACTIVATION_OPS[f] && f !== 'Identity');
    const activation = act ? ACTIVATION_OPS[act] : undefined;
    // Roles of the constant inputs after the first: BiasAdd → bias; FusedBatchNorm → scale, offset, mean, variance.
    const fusedRoles: WeightSpec['role'][] = fused.includes('FusedBatchNorm')
      ? ['weight', 'bias', 'stat', 'stat']
      : ['bias'];
    let node: GraphNode;
    const convCommon = () => {
      const pad = padding(n);
      return {
        strides: nhwc(n, 'strides', [1, 1]),
        padding: pad === 'explicit' ? ('valid' as const) : pad,
        dilation: nhwc(n, 'dilations', [1, 1]),
        useBias: fused.includes('BiasAdd'),
        ...(activation ? { activation } : {}),
      };
    };
    switch (n.op) {
      case 'Placeholder': {
        const shapeAttr = n.attr.shape;
        const dims =
          isObj(shapeAttr) && isObj(shapeAttr.shape) && Array.isArray(shapeAttr.shape.dim) ? shapeAttr.shape.dim : [];
        const s = dims.map((d) => (isObj(d) ? Number(d.size ?? -1) : -1));
        if (s.length !== 4 || s[3] <= 0)
          throw new AnalysisError(
            `${where(n)}: expected an image input [batch, H, W, C], got [${s.join(', ')}]`,
            fileName,
            n.name,
          );
        node = { ...base, op: 'input', inputs: [], shape: [s[1] > 0 ? s[1] : null, s[2] > 0 ? s[2] : null, s[3]] };
        break;
      }
      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative': {
        const filter = consts[0] ? constShape(consts[0]) : undefined;
        if (!filter || filter.length !== 4)
          throw new AnalysisError(`${where(n)}: cannot find the filter's shape`, fileName, n.name);
        const common = convCommon();
        const weights = weightsOf(consts, ['weight', ...fusedRoles]);
        const depthwise = n.op.includes('Depthwise');
        node = depthwise
          ? { ...base, op: 'depthwise', kernel: [filter[0], filter[1]], depthMultiplier: filter[3], ...common, weights }
          : { ...base, op: 'conv', kernel: [filter[0], filter[1]], filters: filter[3], ...common, weights };
        if (padding(n) === 'explicit') {
          // TF's explicit padding: [0, 0, top, bottom, left, right, 0, 0]; modelled as a ZeroPadding node before a valid conv.
          const p = attrInts(n.attr, 'explicit_paddings') ?? [];
          const padName = `${n.name}/explicit_pad`;
          nodes.push({
            name: padName,
            op: 'zeropad',
            inputs: live,
            className: 'Pad',
            pad: [p[2] ?? 0, p[3] ?? 0, p[4] ?? 0, p[5] ?? 0],
          });
          node.inputs = [padName];
        }
        break;
      }
      case 'MatMul':
      case '_FusedMatMul': {
        const w = consts[0] ? constShape(consts[0]) : undefined;
        if (!w || w.length !== 2)
          throw new AnalysisError(`${where(n)}: cannot find the weight matrix's shape`, fileName, n.name);
        const units = attrBool(n.attr, 'transpose_b') ? w[0] : w[1];
        node = {
          ...base,
          op: 'dense',
          units,
          useBias: fused.includes('BiasAdd'),
          ...(activation ? { activation } : {}),
          weights: weightsOf(consts, ['weight', 'bias']),
        };
        break;
      }
      case 'MaxPool':
      case 'AvgPool': {
        const pad = padding(n);
        if (pad === 'explicit')
          throw new AnalysisError(`${where(n)}: explicit pooling padding is not supported`, fileName, n.name);
        node = {
          ...base,
          op: n.op === 'MaxPool' ? 'maxpool' : 'avgpool',
          pool: nhwc(n, 'ksize', [2, 2]),
          strides: nhwc(n, 'strides', [1, 1]),
          padding: pad,
        };
        break;
      }
      case 'Mean':
      case 'Max': {
        const axes = consts[0] ? (constTensor(resolveConst(consts[0]) as TfNode).ints ?? []) : [];
        const spatial = axes.length === 2 && axes.includes(1) && axes.includes(2);
        node = spatial
          ? {
              ...base,
              op: n.op === 'Mean' ? 'gap' : 'gmp',
              ...(attrBool(n.attr, 'keep_dims') ? { keepDims: true } : {}),
            }
          : { ...base, op: 'unknown', className: n.op };
        break;
      }
      case 'FusedBatchNorm':
      case 'FusedBatchNormV3':
        node = {
          ...base,
          op: 'bn',
          center: true,
          scale: true,
          epsilon: 1e-3,
          momentum: 0.99,
          weights: weightsOf(consts, ['weight', 'bias', 'stat', 'stat']),
        };
        break;
      case 'ConcatV2':
      case 'Concat': {
        const axisName = n.op === 'ConcatV2' ? n.input[n.input.length - 1] : n.input[0];
        const axis = constTensor(resolveConst(axisName) as TfNode).ints?.[0];
        if (axis !== undefined && axis !== 3 && axis !== -1)
          throw new AnalysisError(
            `${where(n)}: concatenates along axis ${axis}; only channels (3 / −1) are supported`,
            fileName,
            n.name,
          );
        node = { ...base, op: 'concat' };
        break;
      }
      case 'Add':
      case 'AddV2':
      case 'BiasAdd':
        node =
          live.length >= 2
            ? { ...base, op: 'add' }
            : { ...base, op: 'activation', fn: 'linear', weights: weightsOf(consts, ['bias']) };
        break;
      case 'Pad':
      case 'PadV2':
      case 'MirrorPad': {
        const p = consts[0] ? constTensor(resolveConst(consts[0]) as TfNode).ints : null;
        node =
          p && p.length === 8
            ? { ...base, op: 'zeropad', pad: [p[2], p[3], p[4], p[5]] }
            : { ...base, op: 'unknown', className: n.op };
        break;
      }
      case 'Squeeze':
      case 'Flatten':
        node = { ...base, op: 'flatten' };
        break;
      case 'Reshape': {
        const t = consts[0] ? constTensor(resolveConst(consts[0]) as TfNode).ints : null;
        node = t ? { ...base, op: 'reshape', targetShape: t.slice(1) } : { ...base, op: 'unknown', className: n.op };
        break;
      }
      default:
        if (live.length >= 2 && n.op === 'Mul') node = { ...base, op: 'multiply' };
        else if (ACTIVATION_OPS[n.op])
          node = {
            ...base,
            op: 'activation',
            fn: ACTIVATION_OPS[n.op],
            ...(n.op === 'Prelu' ? { weights: weightsOf(consts, ['weight']) } : {}),
          };
        else if (PASS_OPS.has(n.op) && live.length === 1) {
          // Scalar preprocessing (x·a − b) keeps its constants: they are in the weight files too.
          node = {
            ...base,
            op: 'activation',
            fn: 'linear',
            weights: weightsOf(
              consts,
              consts.map(() => 'weight'),
            ),
          };
        } else
          node = {
            ...base,
            op: 'unknown',
            className: n.op,
            weights: weightsOf(
              consts,
              consts.map(() => 'weight'),
            ),
          };
    }
    nodes.push(node);
  }
  if (!nodes.some((n) => n.op === 'input'))
    throw new AnalysisError(`${fileName}: the graph has no Placeholder input`, fileName);
  const outputs = nodes.filter((n) => !consumers.has(n.name)).map((n) => n.name);
  const used = new Set(nodes.flatMap((n) => (n.weights ?? []).map((w) => w.name)));
  const unmatched = [...manifest].filter(([name]) => !used.has(name)).map(([name, shape]) => ({ name, shape }));
  return {
    name: fileName,
    nodes,
    outputs,
    source: fileName,
    weightsDefineParams: true,
    ...(unmatched.length ? { unmatchedWeights: unmatched } : {}),
  };
}
