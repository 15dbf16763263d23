/**
 * Receptive fields for the what-if editor, fast enough to redo on every slider move (DenseNet-121: a few ms instead
 * of the ~70 ms the full analysis spends on its 37,000 path records).
 *
 * Same arithmetic as analyze.ts (Araujo et al., Distill 2019, per distinct path through the DAG), with two
 * shortcuts that leave every reported field (size, jump, start per axis) unchanged:
 * - the axes are independent: the reported field takes, per axis, the first path with the largest size, and the
 *   first occurrence of a per-axis triple in merge order is the first 2-D path carrying it;
 * - paths with equal (size, jump) on an axis grow identically through every later layer, so only the first of them
 *   can ever be the one reported: later duplicates are dropped, whatever their start.
 * What it does not give: the list of every path (`ReceptiveField.paths`), which the layer table's "(N paths)" uses;
 * the CLI and the tests use the full analysis for that. Ops whose field arithmetic is not plain kernel geometry
 * (transposed convs, resizes) make `fastReceptiveFields` return false so callers fall back to `analyzeGraph`.
 */
import type { LayerAnalysis, ModelAnalysis, ReceptiveField } from '../../../common/analysis-types';
import type { GraphNode, ModelGraph } from './graph';

/** One axis of one path: size, jump, start. */
interface AxisPath {
  s: number;
  j: number;
  c: number;
}

type AxisList = AxisPath[];
/** Per axis [height, width]. */
type Paths = [AxisList, AxisList] | null;

/** Both axes share one list while they are equal (square inputs and kernels): half the work, same numbers. */
const ORIGIN_AXIS: AxisList = [{ s: 1, j: 1, c: 0 }];
const ORIGIN: [AxisList, AxisList] = [ORIGIN_AXIS, ORIGIN_AXIS];

/** Keys (size, jump) exactly: sizes and jumps are whole numbers for every op handled here. */
const key = (p: AxisPath): number => p.s * 1048576 + p.j;

/** A kernel on one axis. (size, jump) ↦ (size + (K_eff − 1)·jump, jump·S) is one-to-one: no duplicates arise. */
function transform(list: AxisList, k: number, stride: number, dil: number, padBefore: number): AxisList {
  const keff = (k - 1) * dil + 1;
  const out: AxisList = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    out[i] = { s: r.s + (keff - 1) * r.j, j: r.j * stride, c: r.c + ((keff - 1) / 2 - padBefore) * r.j };
  }
  return out;
}

function merge(lists: AxisList[]): AxisList {
  if (lists.length === 1) return lists[0];
  const out: AxisList = [];
  const seen = new Set<number>();
  for (const list of lists) {
    for (const p of list) {
      const kk = key(p);
      if (seen.has(kk)) continue;
      seen.add(kk);
      out.push(p);
    }
  }
  return out;
}

function report(paths: [AxisList, AxisList]): ReceptiveField {
  const pick = (list: AxisList): AxisPath => list.reduce((best, r) => (r.s > best.s ? r : best), list[0]);
  const h = pick(paths[0]);
  const w = pick(paths[1]);
  return { size: [h.s, w.s], jump: [h.j, w.j], start: [h.c, w.c] };
}

const UNSUPPORTED = new Set<GraphNode['op']>(['convtranspose', 'upsample', 'resize']);

/**
 * Fills every layer's `receptiveField` of an analysis made with `receptiveField: false`, in place. Returns false
 * (leaving the analysis as it was) when the graph has an op this shortcut does not cover; then use analyzeGraph.
 */
export function fastReceptiveFields(graph: ModelGraph, analysis: ModelAnalysis): boolean {
  if (graph.nodes.some((n) => UNSUPPORTED.has(n.op))) return false;
  const nodeOf = new Map<string, GraphNode>();
  for (const n of graph.nodes) nodeOf.set(n.name, n);
  const computed = new Map<string, { shape: number[]; paths: Paths }>();
  const fields: (ReceptiveField | null)[] = [];
  for (const l of analysis.layers) {
    const node = nodeOf.get(l.name) as GraphNode;
    const ins = l.inputs.map((i) => computed.get(i) as { shape: number[]; paths: Paths });
    const in0 = ins[0]?.paths ?? null;
    let paths: Paths = null;
    switch (node.op) {
      case 'input':
        paths = l.outputShape.length ? ORIGIN : null;
        break;
      case 'conv':
      case 'depthwise':
      case 'separable':
      case 'maxpool':
      case 'avgpool':
      case 'zeropad':
      case 'crop': {
        const g = l.geometry;
        if (in0 && g) {
          const h = transform(in0[0], g.kernel[0], g.stride[0], g.dilation[0], g.pad[0]);
          const square =
            in0[0] === in0[1] &&
            g.kernel[0] === g.kernel[1] &&
            g.stride[0] === g.stride[1] &&
            g.dilation[0] === g.dilation[1] &&
            g.pad[0] === g.pad[2];
          paths = [h, square ? h : transform(in0[1], g.kernel[1], g.stride[1], g.dilation[1], g.pad[2])];
        }
        break;
      }
      case 'dense':
        paths = l.outputShape.length === 3 ? in0 : null;
        break;
      case 'bn':
      case 'activation':
      case 'dropout':
      case 'scale':
      case 'identity':
        paths = in0;
        break;
      case 'concat':
      case 'add':
      case 'multiply':
      case 'average':
      case 'subtract':
      case 'maximum':
      case 'minimum': {
        const spatial = ins.filter((i) => i.paths);
        const ok =
          l.outputShape.length === 3 &&
          spatial.length > 0 &&
          ins.every((i) => i.paths || (i.shape.length >= 2 && i.shape[0] === 1 && i.shape[1] === 1));
        if (ok) {
          const sp = spatial.map((i) => i.paths as [AxisList, AxisList]);
          const h = merge(sp.map((p) => p[0]));
          paths = [h, sp.every((p) => p[0] === p[1]) ? h : merge(sp.map((p) => p[1]))];
        }
        break;
      }
      default:
        paths = null;
    }
    if (l.outputShape.length !== 3) paths = null;
    computed.set(l.name, { shape: l.outputShape, paths });
    fields.push(paths && paths[0].length && paths[1].length ? report(paths) : null);
  }
  analysis.layers.forEach((l: LayerAnalysis, i) => {
    l.receptiveField = fields[i];
  });
  return true;
}
