/**
 * Where every layer stands: pure geometry from the model summary and its recognised blocks, no three.js, no GL.
 *
 * Conventions (world units, y up, the viewer in front at +z):
 * - One world unit is one unit of a feature map, times the block's `scale`: a layer with H×W outputs is a block
 *   H·scale tall and W·scale wide. `scale` is 1 except for deep layers with small H×W, which are drawn at a
 *   minimum size (`minSide`) with their real proportions kept and the enlargement stated in the label.
 * - Channels go into depth (−z): channel 0 is the front face (z = 0), the last channel the back face.
 *   Depth grows like log2(1 + C) so 3 and 2,048 channels are both readable.
 * - The layout follows the graph: layers run left → right in data order (a column per step of the longest
 *   path from the input), parallel branches stand in lanes one below the other and rejoin at their merge
 *   layer, a residual block's projection shortcut stands in a lane above its main path, under the skip arc.
 *   Rows break only where the graph is a single line (never inside a branch or under an arc); every row runs
 *   left → right, the next one below it.
 * - A collapsed block (see `recognizeBlocks`) is one item: its output's maps, with a small diagram of its
 *   internal wiring above them. Large models open with their blocks collapsed.
 * - Vector layers (dense, global pooling, logits, and 1×1 maps) are strips: a bar per value.
 * - The input image stands first (top-left), flat at z = 0.
 */
import type { ModelSummary } from '../../../../common/engine-protocol';
import type { LayerAnalysis, LayerKind } from '../../../../common/analysis-types';
import { recognizeBlocks, type BlockKind, type BlockTree, type LayerBlock } from '../../analysis/blocks';

/** Tuning of the layout. Every field has a default. */
export interface LayoutOptions {
  /** Most tiles (drawn channels) per block; deeper layers draw an evenly spaced subset. */
  maxTiles: number;
  /** Wanted width / height of the whole wall (rows are broken to approach it). */
  aspect: number;
  /** Drawn layers above which blocks start collapsed (when `expanded` is not given). */
  collapseAbove: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { maxTiles: 64, aspect: 1.6, collapseAbove: 60 };

/** A collapsed block drawn as one item. */
export interface GroupInfo {
  /** The block's id in the BlockTree. */
  id: string;
  kind: BlockKind;
  name: string;
  params: number;
  macs: number;
  /** Layers inside it. */
  layers: number;
  /** The small wiring diagram above the maps, in world units (rectangles and line segments in the z = 0 plane). */
  diagram: Diagram;
}

/** A small drawing of a block's internal wiring. */
export interface Diagram {
  /** Frame of the diagram: x0, y0, x1, y1. */
  box: [number, number, number, number];
  /** One rectangle per inner item: x0, y0, x1, y1. */
  rects: [number, number, number, number][];
  /** Inner edges as segments: x0, y0, x1, y1. */
  lines: [number, number, number, number][];
  /** Skip / concatenation connectors inside, as polylines of [x, y]. */
  arcs: [number, number][][];
}

/** One drawn item: a layer, or a collapsed block showing its output layer. Positions are the centre of the front face (z = 0). */
export interface BlockLayout {
  /** The layer whose maps are drawn (for a collapsed block: its output layer). Frames are matched by it. */
  id: string;
  /** Position in `blocks`. */
  index: number;
  name: string;
  kind: LayerKind;
  className: string;
  /** The layer's output as the analysis gives it ([H, W, C] or [N]). */
  outputShape: number[];
  /** [H, W, C] drawn: vectors [N] become 1×1×N. */
  shape: [number, number, number];
  params: number;
  width: number;
  height: number;
  depth: number;
  x: number;
  y: number;
  row: number;
  /** Every row runs left → right. */
  direction: 1;
  /** Column (step along the longest path from the input) and lane (0 on the main line, > 0 below, < 0 above). */
  column: number;
  lane: number;
  /** World units per map unit (≥ 1: small deep layers are enlarged to a readable minimum). */
  scale: number;
  /** True for vectors and 1×1 maps: drawn as a strip of bars, one per value. */
  vector: boolean;
  /** Tiles drawn (≤ maxTiles); see `tileChannels`. 1 for a vector strip. */
  tiles: number;
  /** Set when the item is a collapsed block. */
  group?: GroupInfo;
  /** The item starts a new spatial resolution (a stage boundary): its label matters more. */
  stageStart: boolean;
  /** Layers drawn by this item (the layer itself, or every layer of a collapsed block). */
  layers: string[];
}

/** The input image's slot at the start of the path. */
export interface ImageSlot {
  width: number;
  height: number;
  x: number;
  y: number;
}

/** A connector drawn as a ribbon: a residual skip or a concatenation's input. */
export interface Arc {
  kind: 'skip' | 'concat';
  /** The block it belongs to. */
  block: string;
  /** Item indices (−1: the input image) of its ends. */
  from: number;
  to: number;
  /** Items it passes through (a projection shortcut's conv and norm). */
  via: number[];
  /** The ribbon's centre line, [x, y, z] points from `from` to `to`. */
  points: [number, number, number][];
}

export interface SceneLayout {
  blocks: BlockLayout[];
  /** Item by its layer id (for a collapsed block, its output layer). */
  byId: Map<string, BlockLayout>;
  /** Every layer id drawn → the item drawing it (layers inside a collapsed block → the block's item). */
  itemOf: Map<string, BlockLayout>;
  image: ImageSlot;
  /** World units of depth per doubling of the channel count. */
  depthUnit: number;
  /** Horizontal gap between neighbours on a row. */
  gap: number;
  rowGap: number;
  rows: number;
  bounds: { min: [number, number, number]; max: [number, number, number] };
  /** Graph edges between items, as indices into `blocks`; −1 is the input image. */
  edges: [number, number][];
  /** Skip and concatenation connectors. */
  arcs: Arc[];
  /** The recognised blocks and which of them are open. */
  tree: BlockTree;
  expanded: Set<string>;
  /** Smallest drawn side of a map (world units). */
  minSide: number;
  /** Frame-order ids the analysis does not know (skipped) and other non-fatal problems. */
  warnings: string[];
}

/** Depth of a block with `channels` channels: `unit · log2(1 + C)` (C = 3 → 2·unit, C = 2048 → ≈11·unit). */
export function blockDepth(channels: number, unit: number): number {
  return unit * Math.log2(1 + Math.max(1, channels));
}

/** Normalises an output shape to the [H, W, C] a block draws; unknown or bad dimensions count as 1. */
export function blockShape(outputShape: readonly number[]): [number, number, number] {
  const dim = (v: number | undefined): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= 1 ? Math.floor(v) : 1;
  // [1, H, W, C]: a batch axis of one.
  if (outputShape.length === 4 && outputShape[0] === 1) return blockShape(outputShape.slice(1));
  if (outputShape.length === 3) return [dim(outputShape[0]), dim(outputShape[1]), dim(outputShape[2])];
  if (outputShape.length === 1) return [1, 1, dim(outputShape[0])];
  if (outputShape.length === 2) return [1, dim(outputShape[0]), dim(outputShape[1])];
  // Higher ranks: keep the last axis as channels and fold the rest into the width.
  let rest = 1;
  for (let i = 0; i < outputShape.length - 1; i++) rest *= dim(outputShape[i]);
  return [1, rest, dim(outputShape[outputShape.length - 1])];
}

/** Tiles a block with C channels draws: every channel up to `maxTiles`, else `maxTiles`. */
export function tileCount(channels: number, maxTiles: number): number {
  return Math.max(1, Math.min(Math.floor(channels), Math.max(1, Math.floor(maxTiles))));
}

/**
 * The channel each of `tiles` tiles shows: all channels when they fit, else an evenly spaced subset that
 * always includes the first and the last channel (the block keeps its full depth; every channel stays in
 * the texture and can be picked by the 2D panels).
 */
export function tileChannels(channels: number, tiles: number): Int32Array {
  const n = Math.max(1, Math.min(tiles, channels));
  const out = new Int32Array(n);
  if (n === 1) return out;
  for (let i = 0; i < n; i++) out[i] = Math.round((i * (channels - 1)) / (n - 1));
  return out;
}

/** z of tile `i` of `tiles` in a block `depth` deep: 0 for the front tile, −depth for the last. */
export function tileZ(i: number, tiles: number, depth: number): number {
  return tiles > 1 && i > 0 ? (-depth * i) / (tiles - 1) : 0;
}

/**
 * An order of a stack's `n` tiles in which every prefix is spread evenly over the stack: front, back,
 * middle, quarters, … (a van der Corput sequence). Drawing the first k instances then shows k tiles
 * across the block's whole depth, so a block far away can draw fewer tiles without looking cut short.
 */
export function progressiveOrder(n: number): Int32Array {
  const out = new Int32Array(Math.max(0, n));
  if (n <= 0) return out;
  const used = new Uint8Array(n);
  let k = 0;
  const push = (i: number): void => {
    if (!used[i]) {
      used[i] = 1;
      out[k++] = i;
    }
  };
  push(0);
  if (n > 1) push(n - 1);
  for (let level = 1; k < n && level < 32; level++) {
    const parts = 1 << level;
    for (let j = 1; j < parts; j += 2) push(Math.round(((n - 1) * j) / parts));
  }
  for (let i = 0; i < n; i++) push(i); // rounding may leave a few; append them in order
  return out;
}

/**
 * Tiles worth drawing for a stack of `n` tiles whose depth spans `depthPx` pixels on screen: about one
 * per `spacingPx` pixels, never fewer than the front and back tiles.
 */
export function detailTiles(n: number, depthPx: number, spacingPx = 3): number {
  if (n <= 2) return n;
  const want = Math.ceil(Math.max(0, depthPx) / spacingPx) + 1;
  return Math.min(n, Math.max(2, want));
}

interface Item {
  width: number;
  height: number;
}

/** Splits items into rows no wider than `limit` (an item wider than the limit gets a row of its own). */
export function breakRows(items: readonly Item[], limit: number, gap: number): number[][] {
  const rows: number[][] = [];
  let row: number[] = [];
  let width = 0;
  items.forEach((it, i) => {
    const next = row.length ? width + gap + it.width : it.width;
    if (row.length && next > limit) {
      rows.push(row);
      row = [i];
      width = it.width;
    } else {
      row.push(i);
      width = next;
    }
  });
  if (row.length) rows.push(row);
  return rows;
}

function rowsExtent(
  items: readonly Item[],
  rows: number[][],
  gap: number,
  rowGap: number,
): { width: number; height: number } {
  let width = 0;
  let height = 0;
  rows.forEach((r, k) => {
    let w = 0;
    let h = 0;
    r.forEach((i, j) => {
      w += items[i].width + (j ? gap : 0);
      h = Math.max(h, items[i].height);
    });
    width = Math.max(width, w);
    height += h + (k ? rowGap : 0);
  });
  return { width, height };
}

/** Picks the row width whose wall comes closest to `aspect` (width / height), scanning candidates. */
export function chooseRowWidth(items: readonly Item[], gap: number, rowGap: number, aspect: number): number {
  if (!items.length) return 0;
  const widest = Math.max(...items.map((i) => i.width));
  const total = items.reduce((s, i) => s + i.width, 0) + gap * (items.length - 1);
  if (total <= widest) return widest;
  let best = total;
  let bestScore = Infinity;
  const steps = 48;
  for (let s = 0; s <= steps; s++) {
    const limit = widest * Math.pow(total / widest, s / steps);
    const { width, height } = rowsExtent(items, breakRows(items, limit, gap), gap, rowGap);
    const score = Math.abs(Math.log(width / Math.max(1e-9, height) / aspect));
    if (score < bestScore - 1e-9) {
      bestScore = score;
      best = limit;
    }
  }
  return best;
}

/**
 * Blocks open by default: every block of a small model; for a model of more than `collapseAbove` drawn layers
 * only the nested models (whose insides are the model), so the whole network fits on screen as its stages.
 */
export function defaultExpanded(
  tree: Pick<BlockTree, 'blocks'>,
  drawnLayers: number,
  collapseAbove = DEFAULT_LAYOUT.collapseAbove,
): Set<string> {
  if (drawnLayers <= collapseAbove) return new Set(tree.blocks.map((b) => b.id));
  return new Set(tree.blocks.filter((b) => b.kind === 'nested').map((b) => b.id));
}

/** The blocks to open so that `layerId` is drawn as itself (not inside a collapsed block): outermost first. */
export function blocksToOpen(
  tree: Pick<BlockTree, 'byId' | 'blockOf'>,
  expanded: ReadonlySet<string>,
  layerId: string,
): string[] {
  const out: string[] = [];
  let id = tree.blockOf.get(layerId) ?? null;
  while (id) {
    if (!expanded.has(id)) out.unshift(id);
    id = tree.byId.get(id)?.parent ?? null;
  }
  return out;
}

/** A node of the abstract grid: its predecessors (indices; −1 = the image / block entry) and whether it is a skip path's. */
interface GridNode {
  preds: number[];
  shortcut: boolean;
}

/**
 * Columns and lanes of a DAG given in topological order: column = longest path from a source; lanes in order of
 * column, a node taking a predecessor's lane while that lane is free since the predecessor, else the nearest
 * free lane below (> 0) — or above (< 0) for a skip path's layers. Returns per-node column and lane.
 */
function assignGrid(nodes: readonly GridNode[]): { col: Int32Array; lane: Int32Array } {
  const n = nodes.length;
  const col = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    let c = 0;
    for (const p of nodes[v].preds) if (p >= 0) c = Math.max(c, col[p] + 1);
    col[v] = c;
  }
  const lane = new Int32Array(n);
  const busy = new Map<number, number>();
  const free = (l: number, since: number): boolean => (busy.get(l) ?? -1) <= since;
  const order = [...Array(n).keys()].sort(
    (a, b) => col[a] - col[b] || Number(nodes[a].shortcut) - Number(nodes[b].shortcut) || a - b,
  );
  for (const v of order) {
    const ps = nodes[v].preds;
    const c = col[v];
    let since = c - 1;
    for (const p of ps) since = Math.min(since, p >= 0 ? col[p] : -1);
    let chosen: number | null = null;
    const byLane = ps.filter((p) => p >= 0).sort((a, b) => Math.abs(lane[a]) - Math.abs(lane[b]) || lane[a] - lane[b]);
    for (const p of byLane) {
      const l = lane[p];
      if (nodes[v].shortcut && l >= 0) continue;
      if (free(l, col[p])) {
        chosen = l;
        break;
      }
    }
    if (chosen === null && nodes[v].shortcut) {
      for (let l = -1; chosen === null; l--) if (free(l, since)) chosen = l;
    } else if (chosen === null) {
      const start = byLane.length ? Math.max(0, lane[byLane[0]]) : 0;
      for (let l = start; chosen === null; l++) if (free(l, since)) chosen = l;
    }
    lane[v] = chosen!;
    busy.set(chosen!, c);
  }
  return { col, lane };
}

/** Cubic Bézier from a to d through control points b, c, sampled at `steps` + 1 points. */
function bezier(
  a: [number, number],
  b: [number, number],
  c: [number, number],
  d: [number, number],
  steps: number,
): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; k <= steps; k++) {
    const t = k / steps;
    const u = 1 - t;
    out.push([
      u * u * u * a[0] + 3 * u * u * t * b[0] + 3 * u * t * t * c[0] + t * t * t * d[0],
      u * u * u * a[1] + 3 * u * u * t * b[1] + 3 * u * t * t * c[1] + t * t * t * d[1],
    ]);
  }
  return out;
}

/** An arch from `a` to `b` rising (or, with a negative `rise`, dipping) to `level` in y. */
function arch(a: [number, number], b: [number, number], level: number, steps = 16): [number, number][] {
  // A cubic with both control points at height h peaks at (y_a + 3h)/4 for equal ends: solve for h.
  const base = (a[1] + b[1]) / 2;
  const h = base + (4 / 3) * (level - base);
  const dx = (b[0] - a[0]) * 0.15;
  return bezier(a, [a[0] + dx, h], [b[0] - dx, h], b, steps);
}

interface ItemDraft {
  key: string;
  /** Layer drawn (display layer); null when a collapsed block has no drawn layer. */
  display: LayerAnalysis;
  members: string[];
  block: LayerBlock | null;
  order: number;
  preds: Set<number>;
}

/** Arc specification before geometry. */
interface ArcSpec {
  kind: 'skip' | 'concat';
  block: string;
  from: number;
  to: number;
  via: number[];
  /** A connector that may be cut by a row break (it is then not drawn): rows may break under it. */
  adjacent?: boolean;
}

/**
 * The diagram of a collapsed block: its inner items (child blocks as one rectangle each) on the same grid as
 * the main layout, fitted into `box`.
 */
function blockDiagram(
  block: LayerBlock,
  tree: BlockTree,
  layers: ReadonlyMap<string, LayerAnalysis>,
  box: [number, number, number, number],
): Diagram {
  const members = new Set(block.layers);
  // Inner items: direct children as one item each, the other layers one each.
  const itemOfLayer = new Map<string, number>();
  const items: { ids: string[]; block: LayerBlock | null }[] = [];
  const childOf = (id: string): LayerBlock | null => {
    let b = tree.byId.get(tree.blockOf.get(id) ?? '') ?? null;
    while (b && b.parent !== block.id) b = b.parent ? (tree.byId.get(b.parent) ?? null) : null;
    return b && b.id !== block.id ? b : null;
  };
  const childItems = new Map<string, number>();
  for (const id of block.layers) {
    const child = childOf(id);
    if (child) {
      let k = childItems.get(child.id);
      if (k === undefined) {
        k = items.length;
        items.push({ ids: [], block: child });
        childItems.set(child.id, k);
      }
      items[k].ids.push(id);
      itemOfLayer.set(id, k);
    } else {
      itemOfLayer.set(id, items.length);
      items.push({ ids: [id], block: null });
    }
  }
  const shortcut = new Set(block.shortcut ?? []);
  const nodes: GridNode[] = items.map((it) => {
    const preds = new Set<number>();
    for (const id of it.ids)
      for (const src of layers.get(id)?.inputs ?? []) {
        if (!members.has(src)) preds.add(-1);
        else {
          const k = itemOfLayer.get(src)!;
          if (!it.ids.includes(src)) preds.add(k);
        }
      }
    return { preds: [...preds], shortcut: it.ids.every((id) => shortcut.has(id)) && it.ids.length > 0 };
  });
  // Items are in model order, which is topological for the layers; child blocks sit where their first layer is.
  const { col, lane } = assignGrid(nodes);
  const cols = Math.max(1, ...col) + 1;
  let lo = 0;
  let hi = 0;
  lane.forEach((l) => {
    lo = Math.min(lo, l);
    hi = Math.max(hi, l);
  });
  const [bx0, by0, bx1, by1] = box;
  // One column to the left for the entry; a band above for the skip arc of a residual block.
  const arcBand = block.kind === 'residual' || block.kind === 'inverted-residual' ? 1 : 0;
  const denseBand = block.kind === 'dense-block' || block.kind === 'dense-layer' ? 1 : 0;
  const cw = (bx1 - bx0) / (cols + 1);
  const lanes = hi - lo + 1 + arcBand + denseBand;
  const ch = (by1 - by0) / lanes;
  const cx = (c: number): number => bx0 + (c + 1.5) * cw;
  const cy = (l: number): number => by1 - (arcBand + (l - lo) + 0.5) * ch;
  const rects: Diagram['rects'] = items.map((_, k) => {
    const x = cx(col[k]);
    const y = cy(lane[k]);
    return [x - cw * 0.32, y - ch * 0.3, x + cw * 0.32, y + ch * 0.3];
  });
  const entry: [number, number] = [bx0 + cw * 0.5, cy(0)];
  const lines: Diagram['lines'] = [];
  nodes.forEach((nd, k) =>
    nd.preds.forEach((p) => {
      const from: [number, number] = p < 0 ? entry : [rects[p][2], cy(lane[p])];
      lines.push([from[0], from[1], rects[k][0], cy(lane[k])]);
    }),
  );
  const arcs: Diagram['arcs'] = [];
  const centreTop = (k: number): [number, number] => [cx(col[k]), rects[k][3]];
  const centreBottom = (k: number): [number, number] => [cx(col[k]), rects[k][1]];
  if (arcBand && block.merge) {
    const m = itemOfLayer.get(block.merge)!;
    if (!block.shortcut?.length) arcs.push(arch([entry[0], entry[1] + ch * 0.3], centreTop(m), by1 - ch * 0.35, 8));
  }
  if (block.kind === 'dense-layer' && block.merge) {
    const m = itemOfLayer.get(block.merge)!;
    arcs.push(arch([entry[0], entry[1] - ch * 0.3], centreBottom(m), by0 + ch * 0.35, 8));
  }
  if (block.kind === 'dense-block') {
    const kids = block.children.map((c) => childItems.get(c)).filter((k): k is number => k !== undefined);
    kids.forEach((k, j) => {
      for (let i = -1; i < j - 1; i++) {
        const from: [number, number] = i < 0 ? [entry[0], entry[1] - ch * 0.3] : centreBottom(kids[i]);
        arcs.push(arch(from, centreBottom(k), by0 + ch * 0.35, 6));
      }
    });
  }
  return { box, rects, lines, arcs };
}

/**
 * Lays out the layers of `summary.frameOrder` along the model's graph (see the module comment). `options.expanded`
 * names the open blocks (default: `defaultExpanded`); `shapeOverrides` replaces a layer's output shape (when a
 * frame reports a shape the analysis could not infer).
 */
export function computeLayout(
  summary: Pick<ModelSummary, 'id' | 'analysis' | 'frameOrder'>,
  options: Partial<LayoutOptions> & { expanded?: ReadonlySet<string>; tree?: BlockTree } = {},
  shapeOverrides?: ReadonlyMap<string, number[]>,
): SceneLayout {
  const opts = { ...DEFAULT_LAYOUT, ...options };
  const warnings: string[] = [];
  const analysisLayers = summary.analysis.layers;
  const layers = new Map<string, LayerAnalysis>();
  const rank = new Map<string, number>();
  analysisLayers.forEach((l, i) => {
    layers.set(l.id, l);
    rank.set(l.id, i);
  });
  const [inH, inW] = blockShape(summary.analysis.input);
  const side = Math.max(inH, inW);
  const depthUnit = Math.max(1, side / 64);
  const gap = Math.max(4, side * 0.06);
  const rowGap = Math.max(12, side * 0.25);
  const laneGap = gap * 1.5;
  const minSide = Math.max(6, side * 0.1);

  // The layers drawn, in frame order.
  const frameIndex = new Map<string, number>();
  for (const id of summary.frameOrder) {
    if (!layers.has(id)) {
      warnings.push(
        `frame order names layer "${id}", which the analysis of model "${summary.id}" does not have; it is not drawn`,
      );
      continue;
    }
    if (frameIndex.has(id)) {
      warnings.push(`frame order names layer "${id}" twice; drawn once`);
      continue;
    }
    frameIndex.set(id, frameIndex.size);
  }
  const tree = options.tree ?? recognizeBlocks(analysisLayers);
  const expanded = new Set(options.expanded ?? defaultExpanded(tree, frameIndex.size, opts.collapseAbove));

  // Items: each layer's outermost collapsed block, else the layer itself when it is drawn.
  const drafts: ItemDraft[] = [];
  const draftOf = new Map<string, number>();
  const groupDraft = new Map<string, number>();
  const ownerCache = new Map<string, LayerBlock | null>();
  const owner = (id: string): LayerBlock | null => {
    const hit = ownerCache.get(id);
    if (hit !== undefined) return hit;
    let found: LayerBlock | null = null;
    let bid = tree.blockOf.get(id) ?? null;
    while (bid) {
      const b = tree.byId.get(bid);
      if (!b) break;
      if (!expanded.has(b.id)) found = b; // keep walking out: the outermost collapsed one wins
      bid = b.parent;
    }
    ownerCache.set(id, found);
    return found;
  };
  for (const l of analysisLayers) {
    const b = owner(l.id);
    if (b) {
      let k = groupDraft.get(b.id);
      if (k === undefined) {
        const drawn = b.layers.filter((id) => frameIndex.has(id));
        const displayId = frameIndex.has(b.output) ? b.output : (drawn[drawn.length - 1] ?? b.output);
        k = drafts.length;
        drafts.push({
          key: frameIndex.has(displayId) ? displayId : b.id,
          display: layers.get(displayId)!,
          members: [],
          block: b,
          order: frameIndex.get(displayId) ?? frameIndex.size + (rank.get(displayId) ?? 0),
          preds: new Set(),
        });
        groupDraft.set(b.id, k);
      }
      drafts[k].members.push(l.id);
      draftOf.set(l.id, k);
    } else if (frameIndex.has(l.id)) {
      draftOf.set(l.id, drafts.length);
      drafts.push({
        key: l.id,
        display: l,
        members: [l.id],
        block: null,
        order: frameIndex.get(l.id)!,
        preds: new Set(),
      });
    }
  }
  // Edges between items, looking through layers that are not drawn (flatten without a frame, the input).
  const through = new Map<string, number[]>();
  const resolve = (id: string, stack: Set<string>): number[] => {
    const k = draftOf.get(id);
    if (k !== undefined) return [k];
    const hit = through.get(id);
    if (hit) return hit;
    const l = layers.get(id);
    if (!l || stack.has(id)) return [];
    if (!l.inputs.length) return [-1];
    stack.add(id);
    const out = new Set<number>();
    for (const src of l.inputs) for (const k2 of resolve(src, stack)) out.add(k2);
    stack.delete(id);
    const list = [...out];
    through.set(id, list);
    return list;
  };
  drafts.forEach((d, k) => {
    for (const id of d.members)
      for (const src of layers.get(id)?.inputs ?? [])
        for (const s of resolve(src, new Set([id]))) if (s !== k) d.preds.add(s);
  });
  // Items in topological order (Kahn over items; frame order breaks ties), so the grid can be assigned.
  const n = drafts.length;
  const indeg = new Int32Array(n);
  const succ: number[][] = drafts.map(() => []);
  drafts.forEach((d, k) =>
    d.preds.forEach((p) => {
      if (p >= 0) {
        indeg[k]++;
        succ[p].push(k);
      }
    }),
  );
  const ready = [...Array(n).keys()].filter((k) => !indeg[k]);
  const topo: number[] = [];
  while (ready.length) {
    ready.sort((a, b) => drafts[b].order - drafts[a].order);
    const v = ready.pop()!;
    topo.push(v);
    for (const s of succ[v]) if (--indeg[s] === 0) ready.push(s);
  }
  if (topo.length < n) {
    warnings.push(`the drawn layers of model "${summary.id}" form a cycle; the rest is drawn in frame order`);
    const seen = new Set(topo);
    for (let k = 0; k < n; k++) if (!seen.has(k)) topo.push(k);
  }
  const pos = new Int32Array(n);
  topo.forEach((v, i) => (pos[v] = i));
  // Skip paths: layers on an open residual block's shortcut (a projection's conv and norm).
  const shortcutLayers = new Set<string>();
  for (const b of tree.blocks)
    if (expanded.has(b.id) && (b.kind === 'residual' || b.kind === 'inverted-residual'))
      for (const id of b.shortcut ?? []) shortcutLayers.add(id);
  const grid = assignGrid(
    topo.map((v) => ({
      preds: [...drafts[v].preds].map((p) => (p < 0 ? -1 : pos[p])).filter((p) => p < pos[v]),
      shortcut: drafts[v].members.every((id) => shortcutLayers.has(id)),
    })),
  );

  // Items, in frame order.
  const byOrder = [...Array(n).keys()].sort((a, b) => drafts[a].order - drafts[b].order);
  const blocks: BlockLayout[] = [];
  const indexOfDraft = new Int32Array(n);
  for (const k of byOrder) {
    const d = drafts[k];
    const outputShape = shapeOverrides?.get(d.display.id) ?? d.display.outputShape;
    const shape = blockShape(outputShape);
    const vector = shape[0] === 1 && shape[1] === 1;
    const scale = vector ? 1 : Math.max(1, minSide / Math.max(shape[0], shape[1]));
    const b = d.block;
    let params = 0;
    let macs = 0;
    for (const id of d.members) {
      params += layers.get(id)?.params.total ?? 0;
      macs += layers.get(id)?.macs ?? 0;
    }
    indexOfDraft[k] = blocks.length;
    blocks.push({
      id: d.key,
      index: blocks.length,
      name: b ? b.name : d.display.name,
      kind: d.display.kind,
      className: d.display.className,
      outputShape: [...outputShape],
      shape,
      params: b ? params : d.display.params.total,
      width: vector ? Math.max(minSide * 2, side * 0.4) : shape[1] * scale,
      height: vector ? Math.max(minSide * 0.8, side * 0.12) : shape[0] * scale,
      depth: vector ? depthUnit * 2 : blockDepth(shape[2], depthUnit),
      x: 0,
      y: 0,
      row: 0,
      direction: 1,
      column: grid.col[pos[k]],
      lane: grid.lane[pos[k]],
      scale,
      vector,
      tiles: vector ? 1 : tileCount(shape[2], opts.maxTiles),
      ...(b
        ? {
            group: {
              id: b.id,
              kind: b.kind,
              name: b.name,
              params,
              macs,
              layers: b.layers.length,
              diagram: { box: [0, 0, 0, 0], rects: [], lines: [], arcs: [] },
            },
          }
        : {}),
      stageStart: false,
      layers: [...d.members],
    });
  }
  let prevRes = `${inH}x${inW}`;
  for (const b of blocks) {
    if (b.vector) continue;
    const res = `${b.shape[0]}x${b.shape[1]}`;
    b.stageStart = res !== prevRes;
    prevRes = res;
  }
  const edges: [number, number][] = [];
  drafts.forEach((d, k) => {
    if (!d.preds.size) edges.push([-1, indexOfDraft[k]]);
    for (const p of d.preds) edges.push([p < 0 ? -1 : indexOfDraft[p], indexOfDraft[k]]);
  });
  const itemOf = new Map<string, BlockLayout>();
  blocks.forEach((b) => b.layers.forEach((id) => itemOf.set(id, b)));
  const itemForLayer = (id: string | null): number => {
    if (id === null) return -1;
    const it = itemOf.get(id);
    if (it) return it.index;
    const r = resolve(id, new Set());
    return r.length === 1 ? (r[0] < 0 ? -1 : indexOfDraft[r[0]]) : -2;
  };

  // Connectors: skip arcs of open residual blocks, concatenation inputs of open dense layers and dense blocks.
  const specs: ArcSpec[] = [];
  for (const b of tree.blocks) {
    const closed = owner(b.output);
    if ((b.kind === 'residual' || b.kind === 'inverted-residual') && b.merge && closed === b) {
      // A collapsed residual block still shows its skip: from the item feeding it to the block.
      const from = itemForLayer(b.entry);
      const to = itemForLayer(b.output);
      if (from >= -1 && to >= 0 && from !== to)
        specs.push({ kind: 'skip', block: b.id, from, to, via: [], adjacent: true });
      continue;
    }
    // Drawn open only when it and every block around it are open.
    let shown = expanded.has(b.id);
    for (let p = b.parent; shown && p; p = tree.byId.get(p)?.parent ?? null) shown = expanded.has(p);
    if (!shown) continue;
    if ((b.kind === 'residual' || b.kind === 'inverted-residual') && b.merge) {
      const from = itemForLayer(b.entry);
      const to = itemForLayer(b.merge);
      if (from < -1 || to < 0) continue;
      const via = [...new Set((b.shortcut ?? []).map((id) => itemForLayer(id)).filter((k) => k >= 0))];
      specs.push({ kind: 'skip', block: b.id, from, to, via });
    } else if (b.kind === 'dense-layer' && b.merge) {
      const from = itemForLayer(b.entry);
      const to = itemForLayer(b.merge);
      if (from >= -1 && to >= 0 && from !== to) specs.push({ kind: 'concat', block: b.id, from, to, via: [] });
    } else if (b.kind === 'dense-block') {
      // Every dense layer stacks the maps of all earlier ones: connectors from each earlier one (and the block's
      // entry) to each later one; the neighbour's own edge already shows the adjacent one.
      const kids = b.children
        .map((c) => tree.byId.get(c)!)
        .filter((c) => c.kind === 'dense-layer' && !expanded.has(c.id))
        .map((c) => itemForLayer(c.output))
        .filter((k) => k >= 0);
      if (kids.length !== b.children.length) continue;
      const entry = itemForLayer(b.entry);
      const sources = [entry, ...kids];
      kids.forEach((k, j) => {
        for (let i = 0; i < j; i++) specs.push({ kind: 'concat', block: b.id, from: sources[i], to: k, via: [] });
      });
    }
  }

  // Segments: runs of columns between cut points where the graph is one line; rows break only there.
  const cols = n ? Math.max(...grid.col) + 1 : 0;
  // A row may break after column c when c holds one item and nothing passes over the break from further back:
  // no edge from an earlier column, no arc starting at or before c (arcs marked `adjacent` excepted).
  const passing = new Int32Array(cols + 1);
  const perCol = new Int32Array(cols);
  for (const b of blocks) perCol[b.column]++;
  const colOf = (k: number): number => (k < 0 ? -1 : blocks[k].column);
  const loose = new Set(specs.filter((a) => a.adjacent).map((a) => `${a.from}>${a.to}`));
  for (const [s, t] of edges) {
    if (loose.has(`${s}>${t}`)) continue;
    for (let c = colOf(s) + 1; c < colOf(t); c++) passing[c]++;
  }
  // A skip arc holds its whole span on one row; a dense layer's concatenation connector lets a row break right
  // after its source (it then runs down to the next row), so an open dense block can still wrap.
  for (const a of specs) {
    if (a.adjacent) continue;
    const from = a.kind === 'concat' ? colOf(a.from) + 1 : Math.max(0, colOf(a.from));
    for (let c = from; c < colOf(a.to); c++) passing[c]++;
  }
  const segments: { c0: number; c1: number }[] = [];
  let start = 0;
  for (let c = 0; c < cols; c++) {
    const last = c === cols - 1;
    if (last || (passing[c] === 0 && perCol[c] === 1)) {
      segments.push({ c0: start, c1: c });
      start = c + 1;
    }
  }
  const segOfCol = new Int32Array(cols);
  segments.forEach((s, i) => {
    for (let c = s.c0; c <= s.c1; c++) segOfCol[c] = i;
  });

  // Sizes: column widths; a collapsed block's diagram above its maps.
  const diagramH = (b: BlockLayout): number => (b.group ? Math.max(minSide * 0.8, b.height * 0.6) : 0);
  const diagramW = (b: BlockLayout): number => (b.group ? Math.max(b.width, minSide * 2) : 0);
  const colWidth = new Float64Array(cols);
  for (const b of blocks) colWidth[b.column] = Math.max(colWidth[b.column], b.width, diagramW(b));
  const up = (b: BlockLayout): number => b.height / 2 + (b.group ? gap * 0.5 + diagramH(b) : 0);
  const down = (b: BlockLayout): number => b.height / 2;
  const bySeg: BlockLayout[][] = segments.map(() => []);
  for (const b of blocks) bySeg[segOfCol[b.column]].push(b);
  const arcLift = gap * 2;
  const segHasSkip = new Uint8Array(segments.length);
  const segHasConcat = new Uint8Array(segments.length);
  for (const a of specs) (a.kind === 'skip' ? segHasSkip : segHasConcat)[segOfCol[colOf(a.to)]] = 1;
  const laneY: Map<number, number>[] = [];
  const segBox = segments.map((s, i) => {
    const lanes = new Map<number, { up: number; down: number }>();
    for (const b of bySeg[i]) {
      const e = lanes.get(b.lane) ?? { up: 0, down: 0 };
      e.up = Math.max(e.up, up(b));
      e.down = Math.max(e.down, down(b));
      lanes.set(b.lane, e);
    }
    const ys = new Map<number, number>([[0, 0]]);
    const keys = [...lanes.keys()].sort((a, b) => a - b);
    const e0 = lanes.get(0) ?? { up: 0, down: 0 };
    let y = 0;
    let prev = e0;
    for (const l of keys.filter((l) => l > 0)) {
      const e = lanes.get(l)!;
      y -= prev.down + laneGap + e.up;
      ys.set(l, y);
      prev = e;
    }
    y = 0;
    prev = e0;
    for (const l of keys.filter((l) => l < 0).reverse()) {
      const e = lanes.get(l)!;
      y += prev.up + laneGap + e.down;
      ys.set(l, y);
      prev = e;
    }
    laneY.push(ys);
    let top = 0;
    let bottom = 0;
    for (const [l, e] of lanes) {
      top = Math.max(top, ys.get(l)! + e.up);
      bottom = Math.max(bottom, -ys.get(l)! + e.down);
    }
    if (segHasSkip[i]) top += arcLift * 1.5;
    if (segHasConcat[i]) bottom += arcLift * 1.5;
    let width = 0;
    for (let c = s.c0; c <= s.c1; c++) width += colWidth[c] + (c > s.c0 ? gap : 0);
    return { width, up: top, down: bottom };
  });

  // Rows: the image slot first, then segments, broken to approach the wanted aspect.
  const items = [{ width: inW, height: inH }, ...segBox.map((s) => ({ width: s.width, height: s.up + s.down }))];
  const limit = chooseRowWidth(items, gap * 2, rowGap, opts.aspect);
  const rows = breakRows(items, limit, gap * 2);
  let top = 0;
  const image: ImageSlot = { width: inW, height: inH, x: inW / 2, y: -inH / 2 };
  rows.forEach((r, k) => {
    let upMax = 0;
    let downMax = 0;
    for (const i of r) {
      const u = i === 0 ? inH / 2 : segBox[i - 1].up;
      const d = i === 0 ? inH / 2 : segBox[i - 1].down;
      upMax = Math.max(upMax, u);
      downMax = Math.max(downMax, d);
    }
    const line = top - upMax;
    let cursor = 0;
    for (const i of r) {
      if (i === 0) {
        image.x = cursor + inW / 2;
        image.y = line;
        cursor += inW + gap * 2;
        continue;
      }
      const s = segments[i - 1];
      const ys = laneY[i - 1];
      const colX = new Map<number, number>();
      for (let c = s.c0; c <= s.c1; c++) {
        colX.set(c, cursor + colWidth[c] / 2);
        cursor += colWidth[c] + gap;
      }
      cursor += gap;
      for (const b of bySeg[i - 1]) {
        b.x = colX.get(b.column)!;
        b.y = line + (ys.get(b.lane) ?? 0);
        b.row = k;
      }
    }
    top = line - downMax - rowGap;
  });

  // Diagrams of collapsed blocks, above their maps.
  for (const b of blocks) {
    if (!b.group) continue;
    const block = tree.byId.get(b.group.id)!;
    const w = diagramW(b);
    const y0 = b.y + b.height / 2 + gap * 0.5;
    b.group.diagram = blockDiagram(block, tree, layers, [b.x - w / 2, y0, b.x + w / 2, y0 + diagramH(b)]);
  }

  // Arc geometry.
  const topOf = (k: number): number =>
    k < 0
      ? image.y + image.height / 2
      : blocks[k].y + blocks[k].height / 2 + (blocks[k].group ? gap * 0.5 + diagramH(blocks[k]) : 0);
  const bottomOf = (k: number): number => (k < 0 ? image.y - image.height / 2 : blocks[k].y - blocks[k].height / 2);
  const xOf = (k: number): number => (k < 0 ? image.x : blocks[k].x);
  const rowOf = (k: number): number => (k < 0 ? 0 : blocks[k].row);
  const arcs: Arc[] = [];
  for (const a of specs) {
    if (a.from >= 0 && rowOf(a.from) !== rowOf(a.to)) {
      if (a.kind === 'concat' && !a.adjacent) {
        // Across a row break: from the source's bottom down into the next row, to the target's bottom.
        const s0: [number, number] = [xOf(a.from), bottomOf(a.from)];
        const e0: [number, number] = [xOf(a.to), bottomOf(a.to)];
        const pts = bezier(s0, [s0[0], s0[1] - rowGap * 0.6], [e0[0], e0[1] - rowGap * 0.4], e0, 16);
        arcs.push({ ...a, points: pts.map(([x, y]) => [x, y, 0.25] as [number, number, number]) });
      }
      continue;
    }
    const c0 = colOf(a.from);
    const c1 = colOf(a.to);
    const between = blocks.filter((b) => b.row === rowOf(a.to) && b.column >= c0 && b.column <= c1);
    let pts: [number, number][];
    if (a.kind === 'skip') {
      const level = Math.max(topOf(a.from), topOf(a.to), ...between.map((b) => topOf(b.index))) + arcLift;
      const start: [number, number] = [xOf(a.from), topOf(a.from)];
      const end: [number, number] = [xOf(a.to), topOf(a.to)];
      if (a.via.length) {
        const v = a.via.map((k) => blocks[k]).sort((p, q) => p.x - q.x);
        const vy = Math.max(...v.map((b) => b.y + b.height / 2)) + gap * 0.5;
        const first = v[0];
        const last = v[v.length - 1];
        const lvl = Math.max(level, vy);
        pts = [...arch(start, [first.x, vy], lvl, 12), ...arch([last.x, vy], end, lvl, 12)];
      } else pts = arch(start, end, level);
    } else {
      const span = Math.abs(xOf(a.to) - xOf(a.from));
      const low = Math.min(bottomOf(a.from), bottomOf(a.to), ...between.map((b) => bottomOf(b.index)));
      const level = low - Math.min(arcLift * 1.4, gap * 0.4 + span * 0.02);
      pts = arch([xOf(a.from), bottomOf(a.from)], [xOf(a.to), bottomOf(a.to)], level);
    }
    arcs.push({ ...a, points: pts.map(([x, y]) => [x, y, 0.25] as [number, number, number]) });
  }

  const byId = new Map(blocks.map((b) => [b.id, b] as const));
  let minX = image.x - image.width / 2;
  let maxX = image.x + image.width / 2;
  let minY = image.y - image.height / 2;
  let maxY = image.y + image.height / 2;
  let minZ = 0;
  for (const b of blocks) {
    minX = Math.min(minX, b.x - Math.max(b.width, diagramW(b)) / 2);
    maxX = Math.max(maxX, b.x + Math.max(b.width, diagramW(b)) / 2);
    minY = Math.min(minY, b.y - b.height / 2);
    maxY = Math.max(maxY, topOf(b.index));
    minZ = Math.min(minZ, -b.depth);
  }
  for (const a of arcs)
    for (const p of a.points) {
      minY = Math.min(minY, p[1]);
      maxY = Math.max(maxY, p[1]);
    }
  return {
    blocks,
    byId,
    itemOf,
    image,
    depthUnit,
    gap,
    rowGap,
    rows: rows.length,
    bounds: { min: [minX, minY, minZ], max: [maxX, maxY, 0] },
    edges,
    arcs,
    tree,
    expanded,
    minSide,
    warnings,
  };
}

/** Centre of a block (the middle of its depth), for the camera. */
export function blockCentre(b: BlockLayout): [number, number, number] {
  return [b.x, b.y, -b.depth / 2];
}
