/** Camera arithmetic: overview and focus poses, the glide between them, clip planes. Pure functions. */
import type { BlockLayout, SceneLayout } from './layout';

export type V3 = [number, number, number];

export interface Pose {
  position: V3;
  target: V3;
}

function normalize(v: V3): V3 {
  const n = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** From the front, a little right and above: faces readable, stacks visible. */
export const OVERVIEW_DIRECTION: V3 = normalize([0.3, 0.25, 1]);
/** Focus looks at the block more from the side, so its stack of channels shows. */
export const FOCUS_DIRECTION: V3 = normalize([0.6, 0.35, 1]);

const rad = (deg: number): number => (deg * Math.PI) / 180;

/** Distance at which a sphere of `radius` fills the view (with `margin`), for a vertical fov in degrees. */
export function fitDistance(radius: number, fovY: number, aspect: number, margin = 1.15): number {
  const half = rad(fovY) / 2;
  const halfH = Math.atan(Math.tan(half) * aspect);
  return (radius * margin) / Math.sin(Math.min(half, halfH));
}

/**
 * The whole wall in view, from `OVERVIEW_DIRECTION`: the nearest distance at which every corner of the
 * scene box lies inside the frustum (with a small margin). Exact for a camera looking back along `dir`:
 * a corner's lateral offsets do not depend on the distance, its depth grows with it.
 */
export function overviewPose(layout: Pick<SceneLayout, 'bounds'>, fovY: number, aspect: number, margin = 1.06): Pose {
  return fitBox(layout.bounds.min, layout.bounds.max, OVERVIEW_DIRECTION, fovY, aspect, margin);
}

/** A block filling most of the view, seen from `FOCUS_DIRECTION`. */
export function focusPose(
  block: Pick<BlockLayout, 'x' | 'y' | 'width' | 'height' | 'depth'>,
  fovY: number,
  aspect: number,
): Pose {
  const target: V3 = [block.x, block.y, -block.depth / 2];
  // A 1×1×N block would otherwise put the camera inside the neighbours; keep a readable minimum.
  const radius = Math.max(6, 0.5 * Math.hypot(block.width, block.height, block.depth));
  const distance = fitDistance(radius, fovY, aspect, 1.05);
  const d = FOCUS_DIRECTION;
  return { target, position: [target[0] + d[0] * distance, target[1] + d[1] * distance, target[2] + d[2] * distance] };
}

/** Smooth start and stop. */
export function easeInOutCubic(t: number): number {
  const x = Math.min(1, Math.max(0, t));
  return x < 0.5 ? 4 * x * x * x : 1 - Math.pow(-2 * x + 2, 3) / 2;
}

/** Pose between `a` (t = 0) and `b` (t = 1). */
export function lerpPose(a: Pose, b: Pose, t: number): Pose {
  const l = (p: V3, q: V3): V3 => [p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t, p[2] + (q[2] - p[2]) * t];
  return { position: l(a.position, b.position), target: l(a.target, b.target) };
}

/** Glide duration: longer for longer trips, within 350–1100 ms. */
export function glideMs(a: Pose, b: Pose, sceneSize: number): number {
  const d = Math.hypot(b.position[0] - a.position[0], b.position[1] - a.position[1], b.position[2] - a.position[2]);
  return Math.round(350 + 750 * Math.min(1, d / Math.max(1, sceneSize)));
}

/**
 * Near and far planes that hug the scene's box as seen from `eye`: the near plane as far out as the
 * nearest geometry allows keeps depth precision for the thin gaps between stacked tiles.
 */
export function clipPlanes(
  eye: V3,
  bounds: { min: V3 | readonly number[]; max: V3 | readonly number[] },
  margin: number,
): { near: number; far: number } {
  let nearSq = 0;
  let farSq = 0;
  for (let a = 0; a < 3; a++) {
    const lo = bounds.min[a] - margin;
    const hi = bounds.max[a] + margin;
    const e = eye[a];
    const dn = e < lo ? lo - e : e > hi ? e - hi : 0;
    const df = Math.max(Math.abs(e - lo), Math.abs(e - hi));
    nearSq += dn * dn;
    farSq += df * df;
  }
  const far = Math.sqrt(farSq) * 1.01 + 1;
  const nearest = Math.sqrt(nearSq);
  const near = nearest > 0 ? Math.max(0.05, nearest * 0.9) : Math.max(0.02, far * 1e-5);
  return { near: Math.min(near, far / 2), far };
}

/**
 * A box in view from `dir` (unit vector from the target towards the camera): the nearest distance at which every
 * corner lies inside the frustum, with a margin (`overviewPose` is this box from OVERVIEW_DIRECTION).
 */
export function fitBox(
  min: readonly number[],
  max: readonly number[],
  dir: V3,
  fovY: number,
  aspect: number,
  margin = 1.08,
): Pose {
  const target: V3 = [(min[0] + max[0]) / 2, (min[1] + max[1]) / 2, (min[2] + max[2]) / 2];
  const right = normalize([dir[2], 0, -dir[0]]);
  const up: V3 = [
    dir[1] * right[2] - dir[2] * right[1],
    dir[2] * right[0] - dir[0] * right[2],
    dir[0] * right[1] - dir[1] * right[0],
  ];
  const tanV = Math.tan(rad(fovY) / 2) / margin;
  const tanH = tanV * aspect;
  let distance = 1;
  for (const x of [min[0], max[0]])
    for (const y of [min[1], max[1]])
      for (const z of [min[2], max[2]]) {
        const p = [x - target[0], y - target[1], z - target[2]];
        const along = p[0] * dir[0] + p[1] * dir[1] + p[2] * dir[2];
        const px = p[0] * right[0] + p[1] * right[1] + p[2] * right[2];
        const py = p[0] * up[0] + p[1] * up[1] + p[2] * up[2];
        distance = Math.max(distance, along + Math.abs(px) / tanH, along + Math.abs(py) / tanV);
      }
  return {
    target,
    position: [target[0] + dir[0] * distance, target[1] + dir[1] * distance, target[2] + dir[2] * distance],
  };
}

/**
 * Focus on one item without losing its context: the item, its graph neighbours (what feeds it and what it feeds,
 * at most a few columns away) and, with `withImage` (a pinned receptive field), the input image, all in view from
 * `FOCUS_DIRECTION`. Never closer than `focusPose` would put the camera for the item alone.
 */
export function focusViewPose(
  layout: Pick<SceneLayout, 'blocks' | 'edges' | 'image'>,
  index: number,
  fovY: number,
  aspect: number,
  opts: { withImage?: boolean } = {},
): Pose {
  const b = layout.blocks[index];
  const min = [b.x - b.width / 2, b.y - b.height / 2, -b.depth];
  const max = [b.x + b.width / 2, b.y + b.height / 2, 0];
  const add = (x0: number, y0: number, x1: number, y1: number, z0: number): void => {
    min[0] = Math.min(min[0], x0);
    min[1] = Math.min(min[1], y0);
    max[0] = Math.max(max[0], x1);
    max[1] = Math.max(max[1], y1);
    min[2] = Math.min(min[2], z0);
  };
  for (const [s, t] of layout.edges) {
    const other = s === index ? t : t === index ? s : null;
    if (other === null) continue;
    if (other < 0) {
      if (!opts.withImage) continue;
      const im = layout.image;
      add(im.x - im.width / 2, im.y - im.height / 2, im.x + im.width / 2, im.y + im.height / 2, 0);
      continue;
    }
    const o = layout.blocks[other];
    if (o.row !== b.row || Math.abs(o.column - b.column) > 3) continue;
    add(o.x - o.width / 2, o.y - o.height / 2, o.x + o.width / 2, o.y + o.height / 2, -o.depth);
  }
  if (opts.withImage) {
    const im = layout.image;
    add(im.x - im.width / 2, im.y - im.height / 2, im.x + im.width / 2, im.y + im.height / 2, 0);
  }
  const fit = fitBox(min, max, FOCUS_DIRECTION, fovY, aspect);
  const alone = focusPose(b, fovY, aspect);
  const dist = (p: Pose): number =>
    Math.hypot(p.position[0] - p.target[0], p.position[1] - p.target[1], p.position[2] - p.target[2]);
  return dist(fit) >= dist(alone)
    ? fit
    : { target: fit.target, position: fit.target.map((v, i) => v + FOCUS_DIRECTION[i] * dist(alone)) as V3 };
}
