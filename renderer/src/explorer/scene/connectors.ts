/**
 * Geometry of the wiring: every skip arc and concatenation connector of a model as one ribbon mesh (one draw
 * call), and every collapsed block's small wiring diagram as one set of line segments (one more). Pure functions
 * over the layout, no GL.
 */
import type { Arc, BlockLayout, SceneLayout } from './layout';

type RGB = [number, number, number];

/** Ribbon triangles: positions (x, y, z), vertex colours, and triangle indices. */
export interface RibbonArrays {
  positions: Float32Array;
  colors: Float32Array;
  indices: Uint32Array;
  /** Connectors drawn (main-scene arcs and the arcs inside diagrams). */
  count: number;
}

/**
 * A ribbon `width` wide along a polyline in the wall plane: two vertices per point, offset across the line's
 * direction (miter-free: the offset is the average of the neighbouring segments' normals).
 */
function pushRibbon(
  pts: readonly (readonly number[])[],
  width: number,
  z: number,
  color: RGB,
  out: { pos: number[]; col: number[]; idx: number[] },
): void {
  if (pts.length < 2) return;
  const base = out.pos.length / 3;
  for (let i = 0; i < pts.length; i++) {
    const a = pts[Math.max(0, i - 1)];
    const b = pts[Math.min(pts.length - 1, i + 1)];
    let dx = b[0] - a[0];
    let dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    dx /= len;
    dy /= len;
    const nx = -dy * (width / 2);
    const ny = dx * (width / 2);
    out.pos.push(pts[i][0] + nx, pts[i][1] + ny, z, pts[i][0] - nx, pts[i][1] - ny, z);
    out.col.push(...color, ...color);
  }
  for (let i = 0; i + 1 < pts.length; i++) {
    const v = base + i * 2;
    out.idx.push(v, v + 1, v + 2, v + 1, v + 3, v + 2);
  }
}

/** Ribbon widths in world units for the layout's scale. */
export function ribbonWidths(layout: Pick<SceneLayout, 'gap'>): { skip: number; concat: number } {
  return { skip: Math.max(0.6, layout.gap * 0.3), concat: Math.max(0.4, layout.gap * 0.14) };
}

/** Every connector of the layout (and of its collapsed blocks' diagrams) as ribbons. */
export function ribbonArrays(
  layout: Pick<SceneLayout, 'arcs' | 'blocks' | 'gap'>,
  colors: { skip: RGB; concat: RGB },
): RibbonArrays {
  const out = { pos: [] as number[], col: [] as number[], idx: [] as number[] };
  const w = ribbonWidths(layout);
  let count = 0;
  for (const a of layout.arcs) {
    pushRibbon(a.points, a.kind === 'skip' ? w.skip : w.concat, a.points[0]?.[2] ?? 0.25, colors[a.kind], out);
    count++;
  }
  for (const b of layout.blocks) {
    const d = b.group?.diagram;
    if (!d) continue;
    const h = d.box[3] - d.box[1];
    const kind = b.group!.kind === 'dense-block' || b.group!.kind === 'dense-layer' ? 'concat' : 'skip';
    for (const pts of d.arcs) {
      pushRibbon(pts, Math.max(0.25, h * 0.05), 0.3, colors[kind], out);
      count++;
    }
  }
  return {
    positions: new Float32Array(out.pos),
    colors: new Float32Array(out.col),
    indices: new Uint32Array(out.idx),
    count,
  };
}

/** The collapsed blocks' diagrams (frames, inner layer boxes, inner edges) as line segments (x, y, z pairs). */
export function diagramSegments(blocks: readonly BlockLayout[]): Float32Array {
  const out: number[] = [];
  const z = 0.2;
  const rect = (x0: number, y0: number, x1: number, y1: number): void => {
    out.push(x0, y0, z, x1, y0, z, x1, y0, z, x1, y1, z, x1, y1, z, x0, y1, z, x0, y1, z, x0, y0, z);
  };
  for (const b of blocks) {
    const d = b.group?.diagram;
    if (!d) continue;
    for (const r of d.rects) rect(r[0], r[1], r[2], r[3]);
    for (const l of d.lines) out.push(l[0], l[1], z, l[2], l[3], z);
  }
  return new Float32Array(out);
}

/** Ends of an arc in world units (for tests and picking): its first and last point. */
export function arcEnds(a: Pick<Arc, 'points'>): { start: [number, number]; end: [number, number] } {
  const p = a.points;
  return { start: [p[0][0], p[0][1]], end: [p[p.length - 1][0], p[p.length - 1][1]] };
}
