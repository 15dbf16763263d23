/**
 * A user model's layer graph as an architecture-edit file carries it (analysis/edit-file.ts): the IR of
 * analysis/graph.ts written out as JSON, settings only (no weight values: "Run it" draws seeded ones). Reading
 * one back checks every field an op needs, with its type and range, so a hand-edited or hostile file is refused
 * with the layer and the field named before the analysis or the engine sees it; the topology (names, inputs,
 * cycles) is the analysis's own check.
 */
import { settingsGraph } from './edit';
import { ACTIVATION_FNS, KERAS_CLASS, type GraphNode, type ModelGraph, type Op, type WeightSpec } from './graph';

/** More layers than any real network has (DenseNet-201: 709): bounds what a hostile file can make us walk. */
export const MAX_GRAPH_NODES = 20_000;
/** Largest size, width or pixel count a field may hold. */
const MAX_INT = 1 << 30;

type FieldKind = 'pair' | 'padding' | 'int' | 'int?' | 'bool' | 'bool?' | 'num' | 'num?' | 'str?' | 'nums' | 'quad';
type Spec = Record<string, FieldKind>;

const CONV: Spec = { kernel: 'pair', strides: 'pair', padding: 'padding', dilation: 'pair', useBias: 'bool' };
const POOL: Spec = { pool: 'pair', strides: 'pair', padding: 'padding', ceilMode: 'bool?', countIncludePad: 'bool?' };
const INTERPOLATION = ['nearest', 'bilinear'];

/** The fields each op needs beyond name, inputs and the common optional ones (input's shape, activation fn and interpolation are checked apart). */
const OP_FIELDS: Record<Op, Spec> = {
  input: {},
  conv: { ...CONV, filters: 'int', groups: 'int?' },
  depthwise: { ...CONV, depthMultiplier: 'int' },
  separable: { ...CONV, filters: 'int', depthMultiplier: 'int' },
  convtranspose: { ...CONV, filters: 'int' },
  dense: { units: 'int', useBias: 'bool' },
  maxpool: POOL,
  avgpool: POOL,
  gap: { keepDims: 'bool?' },
  gmp: { keepDims: 'bool?' },
  bn: { center: 'bool', scale: 'bool', epsilon: 'num', momentum: 'num' },
  activation: { alpha: 'num?', beta: 'num?', min: 'num?', max: 'num?' },
  concat: {},
  add: {},
  multiply: {},
  average: {},
  subtract: {},
  maximum: {},
  minimum: {},
  flatten: {},
  dropout: { rate: 'num' },
  zeropad: { pad: 'quad' },
  crop: { crop: 'quad' },
  reshape: { targetShape: 'nums' },
  scale: { scale: 'nums', offset: 'nums' },
  upsample: { size: 'pair' },
  resize: { height: 'int', width: 'int' },
  identity: {},
  unknown: {},
};

const isInt = (v: unknown, lo: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= MAX_INT;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Why a field's value is not of its kind, or null when it is. */
function fieldProblem(kind: FieldKind, v: unknown): string | null {
  if (kind.endsWith('?') && v === undefined) return null;
  switch (kind) {
    case 'pair':
      return Array.isArray(v) && v.length === 2 && v.every((x) => isInt(x, 1))
        ? null
        : 'a pair [H, W] of whole numbers ≥ 1';
    case 'quad':
      return Array.isArray(v) && v.length === 4 && v.every((x) => isInt(x, 0))
        ? null
        : 'four whole numbers ≥ 0 [top, bottom, left, right]';
    case 'padding':
      return v === 'same' || v === 'valid' || fieldProblem('quad', v) === null
        ? null
        : '"same", "valid" or four pixel counts [top, bottom, left, right]';
    case 'int':
    case 'int?':
      return isInt(v, 1) ? null : 'a whole number ≥ 1';
    case 'bool':
    case 'bool?':
      return typeof v === 'boolean' ? null : 'true or false';
    case 'num':
    case 'num?':
      return isNum(v) ? null : 'a finite number';
    case 'str?':
      return typeof v === 'string' ? null : 'a string';
    case 'nums':
      return Array.isArray(v) && v.length <= MAX_GRAPH_NODES * 16 && v.every(isNum) ? null : 'a list of numbers';
  }
}

/**
 * Reads a layer graph from parsed JSON. Throws Error (`where: …`, naming the layer and the field) for anything
 * that is not a graph of known ops with well-typed settings. Unknown keys are dropped.
 */
export function graphFromJson(value: unknown, where: string): ModelGraph {
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail('"graph" must be an object');
  const g = value as Record<string, unknown>;
  if (typeof g.name !== 'string') fail('"graph.name" must be a string');
  if (!Array.isArray(g.nodes) || !g.nodes.length) fail('"graph.nodes" must be a non-empty list of layers');
  const raw = g.nodes as unknown[];
  if (raw.length > MAX_GRAPH_NODES) fail(`${raw.length} layers, more than a graph may hold (${MAX_GRAPH_NODES})`);
  if (!Array.isArray(g.outputs) || !g.outputs.every((o) => typeof o === 'string'))
    fail('"graph.outputs" must be a list of layer names');
  const nodes = raw.map((r, i): GraphNode => {
    if (!r || typeof r !== 'object' || Array.isArray(r)) return fail(`graph layer ${i + 1} is not an object`);
    const n = r as Record<string, unknown>;
    if (typeof n.name !== 'string' || !n.name || n.name.length > 256) fail(`graph layer ${i + 1} has no valid name`);
    const layer = `layer "${String(n.name)}"`;
    if (typeof n.op !== 'string' || !Object.hasOwn(OP_FIELDS, n.op)) {
      fail(`${layer}: unknown op ${JSON.stringify(n.op)} (ops: ${Object.keys(KERAS_CLASS).join(', ')})`);
    }
    const op = n.op as Op;
    if (!Array.isArray(n.inputs) || !n.inputs.every((x) => typeof x === 'string'))
      fail(`${layer}: "inputs" must be a list of layer names`);
    const out: Record<string, unknown> = { name: n.name, op, inputs: [...(n.inputs as string[])] };
    const check = (key: string, kind: FieldKind): void => {
      const problem = fieldProblem(kind, n[key]);
      if (problem) fail(`${layer} (${op}): "${key}" must be ${problem}, got ${JSON.stringify(n[key]) ?? 'nothing'}`);
      if (n[key] !== undefined) out[key] = structuredClone(n[key]);
    };
    for (const [key, kind] of Object.entries(OP_FIELDS[op])) check(key, kind);
    check('className', 'str?');
    check('activation', 'str?');
    check('trainable', 'bool?');
    if (op === 'unknown' && typeof n.className !== 'string') fail(`${layer} (unknown): "className" must be a string`);
    if (n.weights !== undefined) {
      const ok = (w: unknown): w is WeightSpec => {
        const o = w as Record<string, unknown> | null;
        return (
          !!o &&
          typeof o.name === 'string' &&
          Array.isArray(o.shape) &&
          o.shape.length <= 8 &&
          o.shape.every((x) => isInt(x, 0)) &&
          (o.role === undefined || o.role === 'weight' || o.role === 'bias' || o.role === 'stat')
        );
      };
      if (!Array.isArray(n.weights) || n.weights.length > 16 || !n.weights.every(ok))
        fail(`${layer}: "weights" must be a list of { name, shape } weight specs`);
      out.weights = (n.weights as WeightSpec[]).map((w) => ({ ...w, shape: [...w.shape] }));
    }
    if (n.scope !== undefined) {
      if (!Array.isArray(n.scope) || !n.scope.every((s) => typeof s === 'string'))
        fail(`${layer}: "scope" must be a list of model names`);
      out.scope = [...(n.scope as string[])];
    }
    if (op === 'input') {
      const s = n.shape;
      const dim = (v: unknown) => v === null || isInt(v, 1);
      if (!Array.isArray(s) || s.length !== 3 || !dim(s[0]) || !dim(s[1]) || !isInt(s[2], 1))
        fail(`${layer} (input): "shape" must be [H, W, C] (H and W may be null), got ${JSON.stringify(s)}`);
      out.shape = [...(s as unknown[])];
    }
    if (op === 'activation') {
      if (typeof n.fn !== 'string' || !(ACTIVATION_FNS as readonly string[]).includes(n.fn))
        fail(`${layer} (activation): unknown function ${JSON.stringify(n.fn)} (known: ${ACTIVATION_FNS.join(', ')})`);
      out.fn = n.fn;
    }
    if (op === 'upsample' || op === 'resize') {
      if (!INTERPOLATION.includes(n.interpolation as string))
        fail(`${layer} (${op}): "interpolation" must be "nearest" or "bilinear"`);
      out.interpolation = n.interpolation;
    }
    if (op === 'convtranspose' && n.outputPadding !== undefined) {
      if (!Array.isArray(n.outputPadding) || n.outputPadding.length !== 2 || !n.outputPadding.every((x) => isInt(x, 0)))
        fail(`${layer} (convtranspose): "outputPadding" must be a pair of whole numbers ≥ 0`);
      out.outputPadding = [...(n.outputPadding as number[])];
    }
    if (op === 'reshape' && !(out.targetShape as number[]).every((x) => x === -1 || isInt(x, 1)))
      fail(`${layer} (reshape): "targetShape" must hold whole numbers ≥ 1 and at most one -1`);
    return out as unknown as GraphNode;
  });
  return { name: g.name as string, nodes, outputs: [...(g.outputs as string[])] };
}

/**
 * The graph as an edit file stores it: name, nodes and outputs, as a graph of settings (the weight specs of layers
 * whose parameters the settings give are dropped; those of PReLU slopes or unknown layers stay: they say the shapes).
 */
export function graphForFile(graph: ModelGraph): ModelGraph {
  const g = settingsGraph(graph);
  return { name: g.name, nodes: g.nodes, outputs: g.outputs };
}
