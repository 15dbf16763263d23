/**
 * Where every layer block stands: pure geometry from the model summary, no three.js, no GL.
 *
 * Conventions (world units, y up, the viewer in front at +z):
 * - One world unit is one unit of a feature map: a layer with H×W outputs is a block H tall and W wide,
 *   so blocks keep their real proportions relative to each other and to the input image.
 * - Channels go into depth (−z): channel 0 is the front face (z = 0), the last channel the back face.
 *   Depth grows like log2(1 + C) so 3 and 2,048 channels are both readable.
 * - Blocks follow the frame order along a serpentine (boustrophedon) of rows: row 0 runs left→right,
 *   row 1 right→left below it, and so on. Rows are broken so the whole wall has about the target aspect.
 * - The input image stands first on the path (top-left), flat at z = 0.
 */
import type { ModelSummary } from '../../engine/protocol';
import type { LayerAnalysis, LayerKind } from '../../analysis/types';

/** Tuning of the layout. Every field has a default. */
export interface LayoutOptions {
  /** Most tiles (drawn channels) per block; deeper layers draw an evenly spaced subset. */
  maxTiles: number;
  /** Wanted width / height of the whole wall (rows are broken to approach it). */
  aspect: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { maxTiles: 64, aspect: 1.6 };

/** One layer's block. Positions are the centre of the block's front face (z = 0). */
export interface BlockLayout {
  id: string;
  /** Position in the frame order. */
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
  /** +1 when the block's row runs left→right, −1 right→left. */
  direction: 1 | -1;
  /** Tiles drawn (≤ maxTiles); see `tileChannels`. */
  tiles: number;
}

/** The input image's slot at the start of the path. */
export interface ImageSlot {
  width: number;
  height: number;
  x: number;
  y: number;
}

export interface SceneLayout {
  blocks: BlockLayout[];
  byId: Map<string, BlockLayout>;
  image: ImageSlot;
  /** World units of depth per doubling of the channel count. */
  depthUnit: number;
  /** Horizontal gap between neighbours on a row. */
  gap: number;
  rowGap: number;
  rows: number;
  bounds: { min: [number, number, number]; max: [number, number, number] };
  /** Graph edges between blocks, as indices into `blocks`; −1 is the input image. */
  edges: [number, number][];
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
 * Lays out the blocks of `summary.frameOrder`. `shapeOverrides` replaces a layer's output shape (used
 * when a frame reports a shape the analysis could not infer).
 */
export function computeLayout(
  summary: Pick<ModelSummary, 'id' | 'analysis' | 'frameOrder'>,
  options: Partial<LayoutOptions> = {},
  shapeOverrides?: ReadonlyMap<string, number[]>,
): SceneLayout {
  const opts = { ...DEFAULT_LAYOUT, ...options };
  const warnings: string[] = [];
  const layers = new Map<string, LayerAnalysis>();
  for (const l of summary.analysis.layers) layers.set(l.id, l);
  const [inH, inW] = blockShape(summary.analysis.input);
  const side = Math.max(inH, inW);
  const depthUnit = Math.max(1, side / 64);
  const gap = Math.max(4, side * 0.06);
  const rowGap = Math.max(12, side * 0.25);

  const blocks: BlockLayout[] = [];
  const seen = new Set<string>();
  for (const id of summary.frameOrder) {
    const l = layers.get(id);
    if (!l) {
      warnings.push(
        `frame order names layer "${id}", which the analysis of model "${summary.id}" does not have; it is not drawn`,
      );
      continue;
    }
    if (seen.has(id)) {
      warnings.push(`frame order names layer "${id}" twice; drawn once`);
      continue;
    }
    seen.add(id);
    const outputShape = shapeOverrides?.get(id) ?? l.outputShape;
    const shape = blockShape(outputShape);
    blocks.push({
      id,
      index: blocks.length,
      name: l.name,
      kind: l.kind,
      className: l.className,
      outputShape: [...outputShape],
      shape,
      params: l.params.total,
      width: shape[1],
      height: shape[0],
      depth: blockDepth(shape[2], depthUnit),
      x: 0,
      y: 0,
      row: 0,
      direction: 1,
      tiles: tileCount(shape[2], opts.maxTiles),
    });
  }

  // The image slot is item 0 of the path, the blocks follow.
  const items: Item[] = [{ width: inW, height: inH }, ...blocks.map((b) => ({ width: b.width, height: b.height }))];
  const limit = chooseRowWidth(items, gap, rowGap, opts.aspect);
  const rows = breakRows(items, limit, gap);
  const wallWidth = rowsExtent(items, rows, gap, rowGap).width;
  const centres: { x: number; y: number; row: number; direction: 1 | -1 }[] = new Array(items.length);
  let top = 0;
  rows.forEach((r, k) => {
    const height = Math.max(...r.map((i) => items[i].height));
    const cy = top - height / 2;
    const direction: 1 | -1 = k % 2 === 0 ? 1 : -1;
    // Even rows start at the left edge; odd rows start at the right edge and run back.
    let cursor = direction === 1 ? 0 : wallWidth;
    for (const i of r) {
      const w = items[i].width;
      centres[i] = { x: cursor + (direction * w) / 2, y: cy, row: k, direction };
      cursor += direction * (w + gap);
    }
    top -= height + rowGap;
  });

  const image: ImageSlot = { width: inW, height: inH, x: centres[0].x, y: centres[0].y };
  blocks.forEach((b, i) => Object.assign(b, centres[i + 1]));

  const byId = new Map(blocks.map((b) => [b.id, b] as const));
  const edges = graphEdges(blocks, byId, layers);

  let minX = image.x - image.width / 2;
  let maxX = image.x + image.width / 2;
  let minY = image.y - image.height / 2;
  let maxY = image.y + image.height / 2;
  let minZ = 0;
  for (const b of blocks) {
    minX = Math.min(minX, b.x - b.width / 2);
    maxX = Math.max(maxX, b.x + b.width / 2);
    minY = Math.min(minY, b.y - b.height / 2);
    maxY = Math.max(maxY, b.y + b.height / 2);
    minZ = Math.min(minZ, -b.depth);
  }
  return {
    blocks,
    byId,
    image,
    depthUnit,
    gap,
    rowGap,
    rows: rows.length,
    bounds: { min: [minX, minY, minZ], max: [maxX, maxY, 0] },
    edges,
    warnings,
  };
}

/**
 * Edges between drawn blocks, following the analysis graph. A layer whose inputs are not drawn
 * (e.g. a flatten without a frame) is looked through to the nearest drawn ancestors; blocks with no
 * drawn ancestor hang off the input image (−1).
 */
function graphEdges(
  blocks: readonly BlockLayout[],
  byId: ReadonlyMap<string, BlockLayout>,
  layers: ReadonlyMap<string, LayerAnalysis>,
): [number, number][] {
  const memo = new Map<string, number[]>();
  const drawnAncestors = (id: string, stack: Set<string>): number[] => {
    const cached = memo.get(id);
    if (cached) return cached;
    const b = byId.get(id);
    if (b) return [b.index];
    if (stack.has(id)) return [];
    stack.add(id);
    const out = new Set<number>();
    for (const src of layers.get(id)?.inputs ?? []) for (const i of drawnAncestors(src, stack)) out.add(i);
    stack.delete(id);
    const list = [...out];
    memo.set(id, list);
    return list;
  };
  const edges: [number, number][] = [];
  for (const b of blocks) {
    const sources = new Set<number>();
    for (const src of layers.get(b.id)?.inputs ?? [])
      for (const i of drawnAncestors(src, new Set([b.id]))) sources.add(i);
    sources.delete(b.index);
    if (!sources.size) edges.push([-1, b.index]);
    for (const s of sources) edges.push([s, b.index]);
  }
  return edges;
}

/** Centre of a block (the middle of its depth), for the camera. */
export function blockCentre(b: BlockLayout): [number, number, number] {
  return [b.x, b.y, -b.depth / 2];
}
