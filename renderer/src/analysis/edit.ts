/**
 * The what-if architecture editor, as pure analysis: change a layer's kernel, stride, padding, dilation, filters or
 * units (and a zoo model's architecture knobs, zoo/index.ts), re-run the layer arithmetic, and compare with the
 * original — params and MACs saved or added per layer and in total, receptive-field changes — or say where the
 * edited network breaks, at the first layer that does, with the formula and its numbers.
 *
 * It is a graph of settings, not of weights: downstream layers' input channels follow an edit by themselves (the
 * analysis derives every C_in from the layer before). What can break: a map below 1×1, a merge of shapes that no
 * longer match (a residual add after its branch's filters changed), channels a grouped conv cannot divide, and —
 * with `strict` — an output size `(I + P_b + P_a − K_eff)/S + 1` that is not a whole number where the original's was.
 */
import { AnalysisError, analyzeGraph, resolvePadding } from './analyze';
import { fastReceptiveFields } from './edit-rf';
import { fmt } from './explain';
import type { LayerAnalysis, ModelAnalysis, Pair } from '../../../common/analysis-types';
import { KERAS_CLASS, type GraphNode, type ModelGraph, type Padding } from './graph';

/** The fields an edit may set. `kernel` of a pool is its pool size. */
export const EDIT_FIELDS = ['kernel', 'stride', 'padding', 'dilation', 'filters', 'units'] as const;
export type EditField = (typeof EDIT_FIELDS)[number];

/** A side (square) or [H, W]; padding also 'same' / 'valid', pixels on every side, or [top, bottom, left, right]. */
export type EditValue = number | number[] | 'same' | 'valid';

/** One change to one layer. */
export interface LayerEdit {
  layer: string;
  field: EditField;
  value: EditValue;
}

/** Largest kernel, stride, dilation or padding an edit may set: beyond any image this app analyses. */
export const MAX_EDIT_SIDE = 1024;
/** Largest filters / units an edit may set. */
export const MAX_EDIT_WIDTH = 65536;

/** A bad edit (unknown layer or field, a value no layer can have); the message names the layer and the field. */
export class EditError extends Error {
  constructor(
    message: string,
    readonly layer?: string,
  ) {
    super(message);
    this.name = 'EditError';
  }
}

type ConvLikeNode = Extract<GraphNode, { op: 'conv' | 'depthwise' | 'separable' | 'convtranspose' }>;
type PoolLikeNode = Extract<GraphNode, { op: 'maxpool' | 'avgpool' }>;

const isConvLike = (n: GraphNode): n is ConvLikeNode =>
  n.op === 'conv' || n.op === 'depthwise' || n.op === 'separable' || n.op === 'convtranspose';
const isPool = (n: GraphNode): n is PoolLikeNode => n.op === 'maxpool' || n.op === 'avgpool';

/** The fields `node` takes, in EDIT_FIELDS order (none for layers without settings of that kind). */
export function editableFields(node: GraphNode): EditField[] {
  if (node.op === 'dense') return ['units'];
  if (isPool(node)) return ['kernel', 'stride', 'padding'];
  if (node.op === 'depthwise') return ['kernel', 'stride', 'padding', 'dilation'];
  if (isConvLike(node)) return ['kernel', 'stride', 'padding', 'dilation', 'filters'];
  return [];
}

/** The current value of an editable field, in the form an edit takes (pairs as [H, W]). */
export function fieldValue(node: GraphNode, field: EditField): EditValue | undefined {
  if (node.op === 'dense') return field === 'units' ? node.units : undefined;
  if (isPool(node)) {
    if (field === 'kernel') return [...node.pool];
    if (field === 'stride') return [...node.strides];
    if (field === 'padding') return Array.isArray(node.padding) ? [...node.padding] : node.padding;
    return undefined;
  }
  if (isConvLike(node)) {
    if (field === 'kernel') return [...node.kernel];
    if (field === 'stride') return [...node.strides];
    if (field === 'dilation') return [...node.dilation];
    if (field === 'padding') return Array.isArray(node.padding) ? [...node.padding] : node.padding;
    if (field === 'filters' && node.op !== 'depthwise') return node.filters;
  }
  return undefined;
}

const wholeIn = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** Reads a side value (5, [5, 3]) into a pair, or throws naming the layer and the field. */
function sidePair(e: LayerEdit, lo: number): Pair {
  const v = e.value;
  const bad = (): never => {
    throw new EditError(
      `layer "${e.layer}": ${e.field} must be a whole number from ${lo} to ${MAX_EDIT_SIDE} or a pair [H, W] of them, got ${JSON.stringify(v)}`,
      e.layer,
    );
  };
  if (typeof v === 'number') return wholeIn(v, lo, MAX_EDIT_SIDE) ? [v, v] : bad();
  if (Array.isArray(v) && v.length === 2 && v.every((x) => wholeIn(x, lo, MAX_EDIT_SIDE))) return [v[0], v[1]];
  return bad();
}

function paddingValue(e: LayerEdit): Padding {
  const v = e.value;
  if (v === 'same' || v === 'valid') return v;
  if (wholeIn(v, 0, MAX_EDIT_SIDE)) return [v, v, v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => wholeIn(x, 0, MAX_EDIT_SIDE)))
    return [v[0], v[0], v[1], v[1]];
  if (Array.isArray(v) && v.length === 4 && v.every((x) => wholeIn(x, 0, MAX_EDIT_SIDE))) {
    return [v[0], v[1], v[2], v[3]];
  }
  throw new EditError(
    `layer "${e.layer}": padding must be "same", "valid", pixels on every side (0 to ${MAX_EDIT_SIDE}), [H, W] or [top, bottom, left, right], got ${JSON.stringify(v)}`,
    e.layer,
  );
}

function widthValue(e: LayerEdit): number {
  if (wholeIn(e.value, 1, MAX_EDIT_WIDTH)) return e.value;
  throw new EditError(
    `layer "${e.layer}": ${e.field} must be a whole number from 1 to ${MAX_EDIT_WIDTH}, got ${JSON.stringify(e.value)}`,
    e.layer,
  );
}

/** Ops whose parameter counts the config gives; their manifest specs are dropped once settings change. */
const CONFIG_COUNTED = new Set<GraphNode['op']>(['conv', 'depthwise', 'separable', 'convtranspose', 'dense', 'bn']);

/**
 * The graph as a graph of settings: weight specs of layers whose parameters the config determines are dropped, so
 * the counts follow the settings (a file's stored shapes stop applying once a width changes upstream).
 */
export function settingsGraph(graph: ModelGraph): ModelGraph {
  if (!graph.nodes.some((n) => n.weights && CONFIG_COUNTED.has(n.op))) return graph;
  return {
    ...graph,
    nodes: graph.nodes.map((n) => {
      if (!n.weights || !CONFIG_COUNTED.has(n.op)) return n;
      const { weights: _w, ...rest } = n;
      return rest as GraphNode;
    }),
    weightsDefineParams: false,
  };
}

/**
 * The graph with `edits` applied, in order (a later edit of the same field wins). The input graph is not changed;
 * untouched nodes are shared. Throws EditError for an unknown layer, a field the layer does not have, or a value
 * no layer can have (naming the layer, the field and what is allowed).
 */
export function applyEdits(graph: ModelGraph, edits: readonly LayerEdit[]): ModelGraph {
  const base = settingsGraph(graph);
  if (!edits.length) return base;
  const index = new Map<string, number>();
  base.nodes.forEach((n, i) => index.set(n.name, i));
  const nodes = [...base.nodes];
  const copied = new Set<number>();
  for (const e of edits) {
    if (!e || typeof e.layer !== 'string') throw new EditError(`an edit has no layer name: ${JSON.stringify(e)}`);
    const i = index.get(e.layer);
    if (i === undefined) {
      const editable = base.nodes.filter((n) => editableFields(n).length).map((n) => n.name);
      throw new EditError(
        `${graph.name} has no layer "${e.layer}" (editable layers: ${editable.slice(0, 6).join(', ')}${editable.length > 6 ? `, … ${editable.length} in all` : ''})`,
        e.layer,
      );
    }
    const fields = editableFields(nodes[i]);
    if (!(EDIT_FIELDS as readonly string[]).includes(e.field) || !fields.includes(e.field)) {
      throw new EditError(
        `layer "${e.layer}" (${nodes[i].className ?? KERAS_CLASS[nodes[i].op]}) has no editable field "${String(e.field)}"` +
          (fields.length ? ` (its fields: ${fields.join(', ')})` : ' (it has no editable fields)'),
        e.layer,
      );
    }
    if (!copied.has(i)) {
      nodes[i] = { ...nodes[i] } as GraphNode;
      copied.add(i);
    }
    const n = nodes[i];
    if (n.op === 'dense') n.units = widthValue(e);
    else if (isPool(n)) {
      if (e.field === 'kernel') n.pool = sidePair(e, 1);
      else if (e.field === 'stride') n.strides = sidePair(e, 1);
      else n.padding = paddingValue(e);
    } else if (isConvLike(n)) {
      if (e.field === 'kernel') n.kernel = sidePair(e, 1);
      else if (e.field === 'stride') n.strides = sidePair(e, 1);
      else if (e.field === 'dilation') n.dilation = sidePair(e, 1);
      else if (e.field === 'padding') n.padding = paddingValue(e);
      else if (n.op !== 'depthwise') n.filters = widthValue(e);
    }
  }
  return { ...base, nodes };
}

// ---- analysis of an edited graph ----

/**
 * Analysis for the editor. `fast` (the UI, every slider move) skips the full receptive-field path lists and
 * computes the reported field per layer with analysis/edit-rf.ts (same numbers, no `paths`); otherwise this is
 * `analyzeGraph` itself.
 */
export function analyzeForEdit(graph: ModelGraph, fast = false): ModelAnalysis {
  if (!fast) return analyzeGraph(graph);
  const a = analyzeGraph(graph, { receptiveField: false });
  return fastReceptiveFields(graph, a) ? a : analyzeGraph(graph);
}

/** Where an edited network breaks: the first layer that cannot be computed, why, and the arithmetic. */
export interface EditBreak {
  layer: string;
  className: string;
  /** One line: what goes wrong ("the map shrinks below 1×1", "shapes of the merge no longer match"). */
  problem: string;
  /** The formula with the numbers filled in ("height ⌊(7 + 2·0 − 9)/2⌋ + 1 = 0"). */
  formula: string;
  /** `layer (Class): problem: formula` — what the CLI prints and the UI flags. */
  message: string;
}

/** A layer's numbers as the diff shows them. */
export interface LayerNumbers {
  className: string;
  outputShape: number[];
  params: number;
  macs: number;
  rf: { size: Pair; jump: Pair; start: Pair } | null;
}

/** One row of the diff, in the edited network's order (removed layers where they were). */
export interface LayerDiff {
  name: string;
  status: 'same' | 'changed' | 'added' | 'removed';
  before?: LayerNumbers;
  after?: LayerNumbers;
  /** after − before (negative = saved). */
  params: number;
  macs: number;
  rfChanged: boolean;
  /** Output size not a whole number (Keras floors it), and the edit made it so. */
  inexact?: string;
}

/** Totals before → after. */
export interface DiffTotals {
  paramsBefore: number;
  paramsAfter: number;
  macsBefore: number;
  macsAfter: number;
  denseParamsBefore: number;
  denseParamsAfter: number;
  convParamsBefore: number;
  convParamsAfter: number;
}

/** The edited network against the original. */
export interface EditDiff {
  layers: LayerDiff[];
  totals: DiffTotals;
  /** Field of the last spatial layer, before and after. */
  finalRf: { before: LayerNumbers['rf']; after: LayerNumbers['rf']; layerBefore?: string; layerAfter?: string };
  /** Names of layers that are new or whose numbers changed: what the 3D scene marks. */
  changed: string[];
}

/** What evaluating an edit gives: the edited graph and either its analysis and diff, or where it breaks. */
export interface EditResult {
  graph: ModelGraph;
  analysis: ModelAnalysis | null;
  diff: EditDiff | null;
  broken: EditBreak | null;
  /** Output sizes the edit made non-integer (each with its formula), and the analysis's own warnings. */
  warnings: string[];
}

const numbers = (l: LayerAnalysis): LayerNumbers => ({
  className: l.className,
  outputShape: l.outputShape,
  params: l.params.total,
  macs: l.macs,
  rf: l.receptiveField
    ? { size: l.receptiveField.size, jump: l.receptiveField.jump, start: l.receptiveField.start }
    : null,
});

const sameArr = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);
const sameRf = (a: LayerNumbers['rf'], b: LayerNumbers['rf']): boolean =>
  a === b ||
  (a !== null && b !== null && sameArr(a.size, b.size) && sameArr(a.jump, b.jump) && sameArr(a.start, b.start));

const axisName = (axis: 0 | 1) => (axis === 0 ? 'height' : 'width');

/**
 * The output-size formula of one axis of a conv or pool, with numbers: `(I + 2·P − K)/S + 1` for explicit or
 * 'valid' padding (with the rounding when it is not whole; K_eff = D·(K − 1) + 1 when dilated), `⌈I/S⌉` for 'same'.
 */
export function outputSizeFormula(
  node: ConvLikeNode | PoolLikeNode,
  inSize: number,
  axis: 0 | 1,
): { text: string; exact: number; out: number } {
  const k = isPool(node) ? node.pool[axis] : node.kernel[axis];
  const d = isPool(node) ? 1 : node.dilation[axis];
  const s = node.strides[axis];
  const ceil = 'ceilMode' in node && node.ceilMode === true;
  const r = resolvePadding(inSize, k, s, d, node.padding, axis, ceil);
  const keff = (k - 1) * d + 1;
  const kText = d > 1 ? `${keff} (K_eff = ${d}·(${k} − 1) + 1)` : `${k}`;
  if (node.padding === 'same') {
    return { text: `${axisName(axis)} ⌈${inSize}/${s}⌉ = ${r.out} ('same' padding)`, exact: r.out, out: r.out };
  }
  const pb = r.before;
  const pa = r.after;
  const pad = pb === pa ? `2·${pb}` : `${pb} + ${pa}`;
  const span = inSize + pb + pa - keff;
  const exact = span / s + 1;
  const whole = Number.isInteger(exact);
  const expr = `(${inSize} + ${pad} − ${kText})/${s} + 1`;
  const text = whole
    ? `${axisName(axis)} ${expr} = ${exact}`
    : `${axisName(axis)} ${expr} = ${fmtNum(exact)}, ${ceil ? 'rounded up (ceil_mode)' : 'floored'} to ${r.out}`;
  return { text, exact, out: r.out };
}

const fmtNum = (v: number): string => (Number.isInteger(v) ? `${v}` : `${Math.round(v * 1000) / 1000}`);
const shapeText = (s: number[]) => s.join('×');

/** Analysis of the layers before `layer` (in node order): their shapes, for the message of the layer that broke. */
function prefixShapes(graph: ModelGraph, layer: string): Map<string, number[]> {
  const idx = graph.nodes.findIndex((n) => n.name === layer);
  const shapes = new Map<string, number[]>();
  if (idx <= 0) return shapes;
  const before = graph.nodes.slice(0, idx);
  try {
    const a = analyzeGraph(
      { ...graph, nodes: before, outputs: [before[before.length - 1].name] },
      { receptiveField: false },
    );
    for (const l of a.layers) shapes.set(l.name, l.outputShape);
  } catch {
    // The prefix itself broke (should not: the analysis stops at the first failing layer); no shapes to show.
  }
  return shapes;
}

/** Turns the analysis's error at a layer into the editor's break: the problem and the formula with numbers. */
function describeBreak(graph: ModelGraph, e: AnalysisError): EditBreak {
  const layer = e.layer ?? '?';
  const node = graph.nodes.find((n) => n.name === layer);
  const className = node ? (node.className ?? KERAS_CLASS[node.op]) : '?';
  const shapes = node ? prefixShapes(graph, layer) : new Map<string, number[]>();
  const inShapes = node ? node.inputs.map((i) => shapes.get(i) ?? []) : [];
  let problem = e.message.replace(/^[^:]*: /, '');
  let formula = '';
  if (node && (isConvLike(node) || isPool(node)) && inShapes[0]?.length === 3 && node.op !== 'convtranspose') {
    const [H, W, C] = inShapes[0];
    const fh = outputSizeFormula(node, H, 0);
    const fw = outputSizeFormula(node, W, 1);
    if (fh.out < 1 || fw.out < 1) {
      problem = `the map shrinks below 1×1 (input ${shapeText(inShapes[0])})`;
      formula = [fh, fw]
        .filter((f) => f.out < 1)
        .map((f) => f.text)
        .join('; ');
    } else if (node.op === 'conv' && node.groups && (C % node.groups !== 0 || node.filters % node.groups !== 0)) {
      problem = `channels no longer divide into its ${node.groups} groups`;
      formula = `C_in ${C} mod ${node.groups} = ${C % node.groups}, filters ${node.filters} mod ${node.groups} = ${node.filters % node.groups}`;
    }
  } else if (node && inShapes.length > 1 && inShapes.every((s) => s.length)) {
    const parts = node.inputs.map((i, k) => `${i} ${shapeText(inShapes[k])}`);
    if (node.op === 'concat') {
      problem = 'the maps it concatenates no longer have the same height and width';
      formula = `${parts.join(' vs ')}: concatenation needs equal H×W`;
    } else {
      problem = 'the shapes it merges no longer match';
      const c = inShapes.map((s) => s[s.length - 1]);
      formula =
        `${parts.join(' vs ')}` +
        (c.some((v) => v !== c[0]) ? `: channels ${c.join(' ≠ ')}` : ': element-wise merges need equal shapes');
    }
  } else if (node && (node.op === 'zeropad' || node.op === 'crop') && inShapes[0]?.length === 3) {
    const [H, W] = inShapes[0];
    const [t, b, l, r] = node.op === 'zeropad' ? node.pad : node.crop.map((v) => -v);
    problem = 'the map shrinks below 1×1';
    formula = `height ${H} + ${t} + ${b} = ${H + t + b}, width ${W} + ${l} + ${r} = ${W + l + r}`;
  }
  const message = `${layer} (${className}): ${problem}${formula ? `: ${formula}` : ''}`;
  return { layer, className, problem, formula, message };
}

/**
 * Output sizes the edit made non-integer: conv / pool layers with explicit or 'valid' padding whose
 * (I + P_b + P_a − K_eff)/S + 1 is not whole where the original layer's was (or the layer is new).
 */
function inexactLayers(
  edited: ModelGraph,
  after: ModelAnalysis,
  base: ModelGraph,
  before: ModelAnalysis,
  upTo?: string,
): Map<string, string> {
  const out = new Map<string, string>();
  const check = (g: ModelGraph, a: ModelAnalysis, stop?: string): Map<string, string> => {
    const res = new Map<string, string>();
    const shape = new Map(a.layers.map((l) => [l.name, l.outputShape]));
    for (const n of g.nodes) {
      if (n.name === stop) break;
      if (!(isConvLike(n) || isPool(n)) || n.op === 'convtranspose' || n.padding === 'same') continue;
      const s = shape.get(n.inputs[0]);
      if (!s || s.length !== 3) continue;
      const texts = ([0, 1] as const)
        .map((axis) => outputSizeFormula(n, s[axis], axis))
        .filter((f) => !Number.isInteger(f.exact))
        .map((f) => f.text);
      if (texts.length) res.set(n.name, texts.join('; '));
    }
    return res;
  };
  const was = check(base, before);
  for (const [name, text] of check(edited, after, upTo)) if (!was.has(name)) out.set(name, text);
  return out;
}

/** The diff of two analyses, layers matched by name. */
export function diffAnalyses(
  before: ModelAnalysis,
  after: ModelAnalysis,
  touched: ReadonlySet<string> = new Set(),
): EditDiff {
  const beforeBy = new Map(before.layers.map((l) => [l.name, l]));
  const afterNames = new Set(after.layers.map((l) => l.name));
  const rows: LayerDiff[] = [];
  const changed: string[] = [];
  // Removed layers go where they were: after the last surviving layer that preceded them.
  const removedAfter = new Map<string, LayerAnalysis[]>();
  let lastKept = '';
  for (const l of before.layers) {
    if (afterNames.has(l.name)) lastKept = l.name;
    else removedAfter.set(lastKept, [...(removedAfter.get(lastKept) ?? []), l]);
  }
  const pushRemoved = (key: string) => {
    for (const l of removedAfter.get(key) ?? []) {
      const b = numbers(l);
      rows.push({ name: l.name, status: 'removed', before: b, params: -b.params, macs: -b.macs, rfChanged: false });
    }
  };
  pushRemoved('');
  for (const l of after.layers) {
    const a = numbers(l);
    const prev = beforeBy.get(l.name);
    if (!prev) {
      rows.push({ name: l.name, status: 'added', after: a, params: a.params, macs: a.macs, rfChanged: false });
      changed.push(l.name);
    } else {
      const b = numbers(prev);
      const rfChanged = !sameRf(a.rf, b.rf);
      const differs =
        touched.has(l.name) ||
        rfChanged ||
        a.params !== b.params ||
        a.macs !== b.macs ||
        a.className !== b.className ||
        !sameArr(a.outputShape, b.outputShape);
      rows.push({
        name: l.name,
        status: differs ? 'changed' : 'same',
        before: b,
        after: a,
        params: a.params - b.params,
        macs: a.macs - b.macs,
        rfChanged,
      });
      if (differs) changed.push(l.name);
    }
    pushRemoved(l.name);
  }
  const lastRf = (an: ModelAnalysis) => [...an.layers].reverse().find((l) => l.receptiveField);
  const lb = lastRf(before);
  const la = lastRf(after);
  return {
    layers: rows,
    totals: {
      paramsBefore: before.totals.params,
      paramsAfter: after.totals.params,
      macsBefore: before.totals.macs,
      macsAfter: after.totals.macs,
      denseParamsBefore: before.totals.denseParams,
      denseParamsAfter: after.totals.denseParams,
      convParamsBefore: before.totals.convParams,
      convParamsAfter: after.totals.convParams,
    },
    finalRf: {
      before: lb ? numbers(lb).rf : null,
      after: la ? numbers(la).rf : null,
      ...(lb ? { layerBefore: lb.name } : {}),
      ...(la ? { layerAfter: la.name } : {}),
    },
    changed,
  };
}

/** Options of `evaluateEdit`. */
export interface EvaluateOptions {
  /** Fast receptive fields (the UI); see analyzeForEdit. */
  fast?: boolean;
  /** A non-integer output size the edit introduces is a break (the lecture's rule), not a warning. */
  strict?: boolean;
  /** The original's analysis, when the caller keeps it (made the same way: fast or not). */
  baseAnalysis?: ModelAnalysis;
  /** Layers edited directly: shown as changed even where their numbers did not move. */
  touched?: ReadonlySet<string>;
}

/**
 * Analyses `edited` against `base` (the original): the diff, or the first layer that breaks. Never throws for a
 * broken edit; throws AnalysisError only when the original itself cannot be analysed.
 */
export function evaluateEdit(base: ModelGraph, edited: ModelGraph, opts: EvaluateOptions = {}): EditResult {
  const baseGraph = settingsGraph(base);
  const before = opts.baseAnalysis ?? analyzeForEdit(baseGraph, opts.fast);
  let after: ModelAnalysis | null = null;
  let broken: EditBreak | null = null;
  try {
    after = analyzeForEdit(edited, opts.fast);
  } catch (e) {
    if (!(e instanceof AnalysisError)) throw e;
    broken = describeBreak(edited, e);
  }
  let inexact: Map<string, string>;
  if (after) inexact = inexactLayers(edited, after, baseGraph, before);
  else {
    // Inexact layers before the break count too (with `strict` the first of them is where it breaks).
    const idx = edited.nodes.findIndex((n) => n.name === broken?.layer);
    const prefix = idx > 0 ? edited.nodes.slice(0, idx) : [];
    inexact = new Map();
    if (prefix.length) {
      try {
        const g = { ...edited, nodes: prefix, outputs: [prefix[prefix.length - 1].name] };
        inexact = inexactLayers(g, analyzeGraph(g, { receptiveField: false }), baseGraph, before);
      } catch {
        // The prefix is what the analysis already accepted; nothing to add.
      }
    }
  }
  const warnings = [...inexact].map(
    ([name, text]) =>
      `${name}: output size not a whole number: ${text} (the layer rounds it: input rows / columns at the far edge are dropped or only partly covered)`,
  );
  if (opts.strict && inexact.size) {
    const [name, text] = [...inexact][0];
    const node = edited.nodes.find((n) => n.name === name) as GraphNode;
    const className = node.className ?? KERAS_CLASS[node.op];
    const problem = 'output size (I + 2·P − K)/S + 1 is not a whole number';
    broken = { layer: name, className, problem, formula: text, message: `${name} (${className}): ${problem}: ${text}` };
    after = null;
  }
  if (!after || broken) return { graph: edited, analysis: null, diff: null, broken, warnings };
  const diff = diffAnalyses(before, after, opts.touched);
  for (const row of diff.layers) if (inexact.has(row.name)) row.inexact = inexact.get(row.name);
  return { graph: edited, analysis: after, diff, broken: null, warnings: [...warnings, ...after.warnings] };
}

/** "+1,234" / "−1,234" / "0". */
export const signed = (n: number): string => (n > 0 ? `+${fmt(n)}` : n < 0 ? `−${fmt(-n)}` : '0');

/** The receptive field as "size / jump / start" per axis ("212 / 32 / 15.5"); "-" when not spatial. */
export const rfShort = (rf: LayerNumbers['rf']): string => {
  if (!rf) return '-';
  const two = (p: Pair) => (p[0] === p[1] ? `${p[0]}` : `${p[0]}×${p[1]}`);
  return `${two(rf.size)} / ${two(rf.jump)} / ${two(rf.start)}`;
};

/** A field's value as the editor and the scene write it: "3" for [3, 3], "5x3", "same", "1,1,0,0"; "" for none. */
export function valueText(v: EditValue | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (v.length === 2) return v[0] === v[1] ? String(v[0]) : `${v[0]}x${v[1]}`;
  return v.every((x) => x === v[0]) ? String(v[0]) : v.join(',');
}

/** What the 3D scene marks on one layer: a short line of what changed, or where and why the network breaks. */
export interface LayerMark {
  text: string;
  broken: boolean;
}

const FIELD_SHORT: Record<EditField, string> = {
  kernel: 'k',
  stride: 's',
  padding: 'p',
  dilation: 'd',
  filters: 'filters',
  units: 'units',
};

/**
 * The scene's marks of an evaluated edit of `base`: every layer the diff counts as changed or new, with the settings
 * that changed, its new shape and its parameter change ("k 3→5 · +38,592 params"), or, where no setting or count of
 * its own moved, its receptive field ("RF 5→7"); for a broken edit only the layer that breaks, with the problem.
 */
export function layerMarks(base: ModelGraph, result: EditResult): Map<string, LayerMark> {
  const marks = new Map<string, LayerMark>();
  if (result.broken) {
    const b = result.broken;
    marks.set(b.layer, { text: `breaks: ${b.problem}${b.formula ? `: ${b.formula}` : ''}`, broken: true });
    return marks;
  }
  const before = new Map(base.nodes.map((n) => [n.name, n]));
  const after = new Map(result.graph.nodes.map((n) => [n.name, n]));
  for (const row of result.diff?.layers ?? []) {
    if (row.status !== 'changed' && row.status !== 'added') continue;
    const parts: string[] = [];
    const a = after.get(row.name);
    const b = before.get(row.name);
    if (row.status === 'added') parts.push('new');
    else if (a && b)
      for (const f of editableFields(a)) {
        const [x, y] = [valueText(fieldValue(b, f)), valueText(fieldValue(a, f))];
        if (x !== y) parts.push(`${FIELD_SHORT[f]} ${x}→${y}`);
      }
    const sb = row.before?.outputShape;
    const sa = row.after?.outputShape;
    if (sb && sa && !sameArr(sb, sa)) parts.push(`${shapeText(sb)}→${shapeText(sa)}`);
    if (row.params) parts.push(`${signed(row.params)} params`);
    if (!parts.length && row.rfChanged) {
      const size = (rf: LayerNumbers['rf']) =>
        rf ? (rf.size[0] === rf.size[1] ? `${rf.size[0]}` : shapeText(rf.size)) : '-';
      parts.push(`RF ${size(row.before?.rf ?? null)}→${size(row.after?.rf ?? null)}`);
    }
    if (!parts.length && row.macs) parts.push(`${signed(row.macs)} MACs`);
    marks.set(row.name, { text: parts.join(' · ') || 'changed', broken: false });
  }
  return marks;
}

/**
 * Layers whose activations an edit changes: the changed ones and every layer downstream of them (`analysis` lists
 * layers with inputs before consumers). Their frames from the original network no longer show the edited one.
 */
export function staleLayers(analysis: ModelAnalysis, changed: Iterable<string>): Set<string> {
  const stale = new Set(changed);
  for (const l of analysis.layers) if (!stale.has(l.id) && l.inputs.some((i) => stale.has(i))) stale.add(l.id);
  return stale;
}
