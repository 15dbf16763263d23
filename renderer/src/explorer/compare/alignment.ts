/**
 * Which layers of two to four models line up: by stage (how far the spatial resolution has been divided,
 * 224 → 112 → 56 → 28 → 14 → 7) or by relative depth (how far along the longest chain of weighted layers).
 * Pure functions over ModelAnalysis; no Vue, no DOM.
 */
import type { LayerAnalysis, ModelAnalysis, Pair } from '../../../../common/analysis-types';

/** Layer kinds that carry weights; the lecture's "depth" counts these. */
const WEIGHTED_KINDS = new Set(['conv', 'depthwise', 'separable', 'dense']);

/** The stage of the non-spatial tail (flatten, global pooling, dense). */
export const HEAD_STAGE = 'head';

/**
 * A stage key: the number of halvings of the input resolution (0 = full size, 1 = ½, … 5 = 1/32), or 'head'.
 * Halvings rather than pixel sizes so models with different inputs (224 vs 299) still line up.
 */
export type StageKey = number | typeof HEAD_STAGE;

/** True for layers with weights (conv, depthwise, separable, dense). */
export function isWeighted(layer: Pick<LayerAnalysis, 'kind'>): boolean {
  return WEIGHTED_KINDS.has(layer.kind);
}

/**
 * The stage key of a layer: round(log2(input / output)) averaged over both axes, so a zero-padded 230×230
 * map stays with the 224×224 ones and InceptionV3's 147×147 joins its 149×149 at ½. Non-spatial and 1×1 → 'head'.
 */
export function stageKeyOf(layer: Pick<LayerAnalysis, 'outputShape'>, input: readonly number[]): StageKey {
  const s = layer.outputShape;
  if (s.length !== 3 || !(s[0] > 0) || !(s[1] > 0)) return HEAD_STAGE;
  // A 1×1 map of a larger input is a vector kept 4-D (global pooling with keepdims, a Reshape before a 1×1 conv
  // head): it belongs to the head, not to a stage of its own at 1/256.
  if (s[0] === 1 && s[1] === 1 && (input[0] > 1 || input[1] > 1)) return HEAD_STAGE;
  const halvings = (Math.log2(input[0] / s[0]) + Math.log2(input[1] / s[1])) / 2;
  // `+ 0` turns a -0 (a map larger than the input by < √2) into 0 so keys compare and print cleanly.
  return Math.round(halvings) + 0;
}

/** "1/8" for key 3, "1/1" for 0, "head" for the head; for negative keys (upsampled maps) "×2". */
export function stageFraction(key: StageKey): string {
  if (key === HEAD_STAGE) return HEAD_STAGE;
  return key >= 0 ? `1/${2 ** key}` : `×${2 ** -key}`;
}

/** Sort order of stage keys: shallow to deep, the head last. */
export function compareStageKeys(a: StageKey, b: StageKey): number {
  if (a === b) return 0;
  if (a === HEAD_STAGE) return 1;
  if (b === HEAD_STAGE) return -1;
  return a - b;
}

/** What the alignment needs of one model. */
export interface AlignSource {
  /** Identifies the model within the comparison (the same model may appear twice with different inputs). */
  key: string;
  analysis: ModelAnalysis;
  /** Layers in stepping order (ModelSummary.frameOrder); defaults to every analysed layer in graph order. */
  frameOrder?: readonly string[];
}

/** A model prepared for alignment: per stepping position, its layer, stage and depth. */
export interface ModelLayout {
  key: string;
  /** Layer ids in stepping order. */
  order: string[];
  /** Stage key per stepping position. */
  stage: StageKey[];
  /**
   * Longest chain of weighted layers from the input up to and including each stepping position's layer
   * (ResNet-50's projection shortcuts run beside the main path, so the chain is 50 long, not 54).
   */
  depth: number[];
  /** The largest `depth`: the model's depth along its longest path. */
  maxDepth: number;
  /** Per stage key (as a string: 'head' or the number), the stepping positions in that stage, in order. */
  stages: Map<string, number[]>;
  /** Position of each layer id in `order`. */
  indexOf: Map<string, number>;
  /** Whether the layer at each position has weights. */
  weighted: boolean[];
}

/** Longest chain of weighted layers ending at each layer (a DAG longest path; layers are in topological order). */
export function weightedPathDepth(analysis: ModelAnalysis): Map<string, number> {
  const depth = new Map<string, number>();
  for (const layer of analysis.layers) {
    let d = 0;
    for (const i of layer.inputs) d = Math.max(d, depth.get(i) ?? 0);
    depth.set(layer.id, d + (isWeighted(layer) ? 1 : 0));
  }
  return depth;
}

/** Prepares one model for alignment. Throws when frameOrder names a layer the analysis does not have. */
export function layoutModel(src: AlignSource): ModelLayout {
  const byId = new Map(src.analysis.layers.map((l) => [l.id, l]));
  const order = src.frameOrder ? [...src.frameOrder] : src.analysis.layers.map((l) => l.id);
  const pathDepth = weightedPathDepth(src.analysis);
  const stage: StageKey[] = [];
  const depth: number[] = [];
  const weighted: boolean[] = [];
  const stages = new Map<string, number[]>();
  const indexOf = new Map<string, number>();
  order.forEach((id, i) => {
    const layer = byId.get(id);
    if (!layer) throw new Error(`model ${src.key}: layer "${id}" is in the frame order but not in the analysis`);
    const key = stageKeyOf(layer, src.analysis.input);
    stage.push(key);
    depth.push(pathDepth.get(id) ?? 0);
    weighted.push(isWeighted(layer));
    indexOf.set(id, i);
    const k = String(key);
    const list = stages.get(k);
    if (list) list.push(i);
    else stages.set(k, [i]);
  });
  return { key: src.key, order, stage, depth, maxDepth: Math.max(0, ...depth), stages, indexOf, weighted };
}

/** How linked panes follow each other when one steps. */
export type LinkMode = 'stage' | 'depth' | 'off';

/**
 * The stage of `target` that corresponds to `key`: the same one if `target` has it, else the nearest one
 * (AlexNet's stride-4 first conv skips ½; the deeper neighbour wins a tie, since that is where the source's
 * features are heading).
 */
function nearestStage(target: ModelLayout, key: StageKey): number[] | null {
  const exact = target.stages.get(String(key));
  if (exact) return exact;
  if (key === HEAD_STAGE) {
    // No head (a fully convolutional model): its deepest spatial stage stands in.
    const keys = [...target.stages.keys()].map(Number).filter((k) => Number.isFinite(k));
    return keys.length ? (target.stages.get(String(Math.max(...keys))) ?? null) : null;
  }
  let best: { k: string; dist: number; deeper: boolean } | null = null;
  for (const k of target.stages.keys()) {
    const n = k === HEAD_STAGE ? Infinity : Number(k);
    const dist = Math.abs(n - key);
    const deeper = n > key;
    if (!best || dist < best.dist || (dist === best.dist && deeper && !best.deeper)) best = { k, dist, deeper };
  }
  return best ? (target.stages.get(best.k) ?? null) : null;
}

/**
 * The stepping position in `target` that lines up with position `index` of `source`.
 * - 'stage': the same stage, at the same proportion of it — a stage's k-th of n layers maps to the layer that
 *   has done the same share (⌈(k/n)·m⌉-th of m), so both stages' last layers (their outputs) line up.
 * - 'depth': the layer whose longest-path weighted depth, as a fraction of its model's, is nearest; among
 *   layers at that depth, the weighted one (the conv itself) when the source is weighted, else the last one
 *   (the block's output after its BN / activation / add).
 * - 'off': null (the target does not follow).
 * Returns null as well when `index` is out of range or the target has no layers.
 */
export function alignIndex(source: ModelLayout, index: number, target: ModelLayout, mode: LinkMode): number | null {
  if (mode === 'off' || index < 0 || index >= source.order.length || !target.order.length) return null;
  if (source === target) return index;
  if (mode === 'stage') {
    const list = source.stages.get(String(source.stage[index]))!;
    const share = (list.indexOf(index) + 1) / list.length;
    const targetList = nearestStage(target, source.stage[index]);
    if (!targetList) return null;
    return targetList[Math.max(0, Math.ceil(share * targetList.length - 1e-9) - 1)];
  }
  const frac = source.maxDepth ? source.depth[index] / source.maxDepth : 0;
  let bestDist = Infinity;
  let bestDepth = 0;
  for (const d of new Set(target.depth)) {
    const dist = Math.abs((target.maxDepth ? d / target.maxDepth : 0) - frac);
    // On a tie prefer the shallower depth, so stepping forward never lets a pane run ahead.
    if (dist < bestDist - 1e-12 || (Math.abs(dist - bestDist) <= 1e-12 && d < bestDepth)) {
      bestDist = dist;
      bestDepth = d;
    }
  }
  const at: number[] = [];
  target.depth.forEach((d, i) => d === bestDepth && at.push(i));
  if (source.weighted[index]) return at.find((i) => target.weighted[i]) ?? at[0];
  return at[at.length - 1];
}

/** One model's part of a stage band. */
export interface StageMember {
  key: string;
  /** Layer ids of this model in the stage, in stepping order. */
  layerIds: string[];
  /** The resolution most of the stage's layers have ([H, W]); null for the head. */
  resolution: Pair | null;
  /** Analysed layers in the stage (all of them, also those not stepped through). */
  layers: number;
  /** Layers with weights in the stage. */
  weightedLayers: number;
  params: number;
  macs: number;
}

/** A stage across models: one row of the stage table, one band of linked stepping. */
export interface StageBand {
  stage: StageKey;
  /** "1/8", "head". */
  fraction: string;
  /** One entry per model, in the order given; models without this stage get an empty member. */
  members: StageMember[];
}

/**
 * Groups every model's layers into stages that line up across models (see stageKeyOf). Parameters and MACs
 * are summed over all analysed layers of a stage, so a model's stages add up to its totals.
 */
export function alignStages(sources: readonly AlignSource[]): StageBand[] {
  const perModel = sources.map((src) => {
    const layout = layoutModel(src);
    const byStage = new Map<string, LayerAnalysis[]>();
    for (const layer of src.analysis.layers) {
      const k = String(stageKeyOf(layer, src.analysis.input));
      const list = byStage.get(k);
      if (list) list.push(layer);
      else byStage.set(k, [layer]);
    }
    return { src, layout, byStage };
  });
  const keys = new Set<string>();
  perModel.forEach((m) => m.byStage.forEach((_, k) => keys.add(k)));
  const stageKeys = [...keys].map((k): StageKey => (k === HEAD_STAGE ? HEAD_STAGE : Number(k))).sort(compareStageKeys);
  return stageKeys.map((stage) => ({
    stage,
    fraction: stageFraction(stage),
    members: perModel.map(({ src, layout, byStage }) => {
      const layers = byStage.get(String(stage)) ?? [];
      return {
        key: src.key,
        layerIds: (layout.stages.get(String(stage)) ?? []).map((i) => layout.order[i]),
        resolution: stage === HEAD_STAGE ? null : modalResolution(layers),
        layers: layers.length,
        weightedLayers: layers.filter(isWeighted).length,
        params: layers.reduce((s, l) => s + l.params.total, 0),
        macs: layers.reduce((s, l) => s + l.macs, 0),
      };
    }),
  }));
}

/** The most common [H, W] among the layers (ties → the smaller map, the stage's working size after padding). */
function modalResolution(layers: readonly LayerAnalysis[]): Pair | null {
  const counts = new Map<string, { res: Pair; n: number }>();
  for (const l of layers) {
    if (l.outputShape.length !== 3) continue;
    const k = `${l.outputShape[0]}x${l.outputShape[1]}`;
    const c = counts.get(k);
    if (c) c.n++;
    else counts.set(k, { res: [l.outputShape[0], l.outputShape[1]], n: 1 });
  }
  let best: { res: Pair; n: number } | null = null;
  for (const c of counts.values()) {
    if (!best || c.n > best.n || (c.n === best.n && c.res[0] * c.res[1] < best.res[0] * best.res[1])) best = c;
  }
  return best ? best.res : null;
}
