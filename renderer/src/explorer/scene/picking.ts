/**
 * Picking by arithmetic instead of a GPU read-back or three's per-triangle raycast: blocks are axis-aligned
 * boxes and tiles are planes z = const inside them, so a ray is tested against each box, then against the
 * tile planes of the boxes it enters. Pure functions over plain numbers.
 */
import { tileChannels, tileZ, type BlockLayout } from './layout';

export type Vec3 = readonly [number, number, number];

/** A unit hit by a ray. `y`, `x` are in the layer's full-resolution grid. */
export interface TileHit {
  layerId: string;
  channel: number;
  y: number;
  x: number;
  /** Ray parameter of the hit (distance when the direction is a unit vector). */
  distance: number;
  /** Which drawn tile (instance) was hit. */
  tile: number;
}

/** Ray vs axis-aligned box (slab method): the entry distance, or null when it misses or lies behind. */
export function rayBox(origin: Vec3, dir: Vec3, min: Vec3, max: Vec3): number | null {
  let t0 = -Infinity;
  let t1 = Infinity;
  for (let a = 0; a < 3; a++) {
    if (Math.abs(dir[a]) < 1e-12) {
      if (origin[a] < min[a] || origin[a] > max[a]) return null;
      continue;
    }
    let ta = (min[a] - origin[a]) / dir[a];
    let tb = (max[a] - origin[a]) / dir[a];
    if (ta > tb) [ta, tb] = [tb, ta];
    t0 = Math.max(t0, ta);
    t1 = Math.min(t1, tb);
    if (t0 > t1) return null;
  }
  if (t1 < 0) return null;
  return Math.max(0, t0);
}

/** Unit (row, column) under local face coordinates `u` (0..width from the left), `v` (0..height from the top). */
export function unitAt(
  u: number,
  v: number,
  block: Pick<BlockLayout, 'width' | 'height' | 'shape'>,
): { y: number; x: number } {
  const [h, w] = block.shape;
  const x = Math.min(w - 1, Math.max(0, Math.floor((u / block.width) * w)));
  const y = Math.min(h - 1, Math.max(0, Math.floor((v / block.height) * h)));
  return { y, x };
}

/**
 * The nearest drawn tile of `block` the ray crosses, or null. `tiles` lists the tile indices drawn
 * (a far block draws a spread subset, see `progressiveOrder`); default: all of them.
 */
export function pickBlock(origin: Vec3, dir: Vec3, block: BlockLayout, tiles?: ArrayLike<number>): TileHit | null {
  const left = block.x - block.width / 2;
  const topY = block.y + block.height / 2;
  const enter = rayBox(origin, dir, [left, block.y - block.height / 2, -block.depth], [left + block.width, topY, 0]);
  if (enter === null || Math.abs(dir[2]) < 1e-12) return null;
  if (block.vector) {
    // A vector's strip lies at z = 0 and shows value c at u ∈ [c, c + 1) · width / N.
    const t = -origin[2] / dir[2];
    if (t < 0) return null;
    const u = origin[0] + t * dir[0] - left;
    const v = topY - (origin[1] + t * dir[1]);
    if (u < 0 || u > block.width || v < 0 || v > block.height) return null;
    const n = block.shape[2];
    const channel = Math.min(n - 1, Math.max(0, Math.floor((u / block.width) * n)));
    return { layerId: block.id, channel, y: 0, x: 0, distance: t, tile: 0 };
  }
  const channels = tileChannels(block.shape[2], block.tiles);
  const n = channels.length;
  const count = tiles ? tiles.length : n;
  let best: TileHit | null = null;
  for (let k = 0; k < count; k++) {
    const i = tiles ? tiles[k] : k;
    if (i < 0 || i >= n) continue;
    const t = (tileZ(i, n, block.depth) - origin[2]) / dir[2];
    if (t < 0 || (best && t >= best.distance)) continue;
    const u = origin[0] + t * dir[0] - left;
    const v = topY - (origin[1] + t * dir[1]);
    if (u < 0 || u > block.width || v < 0 || v > block.height) continue;
    best = { layerId: block.id, channel: channels[i], ...unitAt(u, v, block), distance: t, tile: i };
  }
  return best;
}

/** A block and the tiles it draws now (all when omitted). */
export interface PickTarget {
  block: BlockLayout;
  tiles?: ArrayLike<number>;
}

/** The nearest hit among `targets` (pass only blocks whose frames have arrived). */
export function pickBlocks(origin: Vec3, dir: Vec3, targets: Iterable<PickTarget>): TileHit | null {
  let best: TileHit | null = null;
  for (const { block, tiles } of targets) {
    const hit = pickBlock(origin, dir, block, tiles);
    if (hit && (!best || hit.distance < best.distance)) best = hit;
  }
  return best;
}
