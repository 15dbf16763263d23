/**
 * Receptive-field geometry: a translucent cone arching out of the wall from the picked unit back to its
 * field on the input image, the field outlined on the image (the part on padding outside the image in a
 * second colour) and the region of each earlier layer outlined on that layer's front face. The arrays
 * are built by a pure function; `FieldObjects` turns them into two draw calls (fills, lines).
 */
import {
  BufferGeometry,
  Color,
  DoubleSide,
  Float32BufferAttribute,
  Group,
  LineBasicMaterial,
  LineSegments,
  Mesh,
  MeshBasicMaterial,
} from 'three';
import type { BlockLayout, SceneLayout } from './layout';
import { GpuLedger } from './ledger';

/** What the app asks the scene to draw (computed with the analysis' `unitFootprint` / `footprintOnLayer`). */
export interface ReceptiveFieldView {
  layerId: string;
  y: number;
  x: number;
  /** Inclusive unit boxes on earlier layers. */
  regions: { layerId: string; y0: number; y1: number; x0: number; x1: number }[];
  /** The unit's field in input pixels, inclusive bounds, possibly past the image edges (padding). */
  image: { top: number; left: number; bottom: number; right: number; inputH: number; inputW: number };
}

type RGB = [number, number, number];

export interface FieldColors {
  field: RGB;
  padding: RGB;
}

export interface FieldArrays {
  fill: { positions: Float32Array; colors: Float32Array };
  lines: { positions: Float32Array; colors: Float32Array };
  /** The image rectangles in world units: the whole field and its part inside the image (null if none). */
  imageRect: Rect;
  insideRect: Rect | null;
  warnings: string[];
}

/** Axis-aligned rectangle in the wall plane: x to the right, y up. */
export interface Rect {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** Inclusive unit box of a block → rectangle on its front face (world units). */
export function unitBoxRect(
  b: Pick<BlockLayout, 'x' | 'y' | 'width' | 'height' | 'shape'>,
  y0: number,
  y1: number,
  x0: number,
  x1: number,
): Rect {
  const sx = b.width / b.shape[1];
  const sy = b.height / b.shape[0];
  const left = b.x - b.width / 2;
  const top = b.y + b.height / 2;
  return { x0: left + x0 * sx, x1: left + (x1 + 1) * sx, y0: top - (y1 + 1) * sy, y1: top - y0 * sy };
}

/** Inclusive pixel box on the input image → rectangle on the image slot (world units). */
export function pixelBoxRect(
  slot: SceneLayout['image'],
  box: { top: number; left: number; bottom: number; right: number },
  inputH: number,
  inputW: number,
): Rect {
  const sx = slot.width / inputW;
  const sy = slot.height / inputH;
  const left = slot.x - slot.width / 2;
  const top = slot.y + slot.height / 2;
  return {
    x0: left + box.left * sx,
    x1: left + (box.right + 1) * sx,
    y0: top - (box.bottom + 1) * sy,
    y1: top - box.top * sy,
  };
}

/** `r` ∩ `clip`, or null when they do not overlap. */
export function intersectRect(r: Rect, clip: Rect): Rect | null {
  const out = {
    x0: Math.max(r.x0, clip.x0),
    x1: Math.min(r.x1, clip.x1),
    y0: Math.max(r.y0, clip.y0),
    y1: Math.min(r.y1, clip.y1),
  };
  return out.x0 < out.x1 && out.y0 < out.y1 ? out : null;
}

/** The parts of `r` outside `inner` (up to four bands: above, below, left, right). */
export function subtractRect(r: Rect, inner: Rect | null): Rect[] {
  if (!inner) return [r];
  const bands: Rect[] = [
    { x0: r.x0, x1: r.x1, y0: inner.y1, y1: r.y1 },
    { x0: r.x0, x1: r.x1, y0: r.y0, y1: inner.y0 },
    { x0: r.x0, x1: inner.x0, y0: inner.y0, y1: inner.y1 },
    { x0: inner.x1, x1: r.x1, y0: inner.y0, y1: inner.y1 },
  ];
  return bands.filter((b) => b.x1 - b.x0 > 1e-9 && b.y1 - b.y0 > 1e-9);
}

const FACE_Z = 0.35; // in front of the front tiles and outlines
const CONE_SEGMENTS = 24;

/** Builds the fill and line arrays of a receptive-field view, or null when its layer is not laid out. */
export function fieldArrays(layout: SceneLayout, view: ReceptiveFieldView, colors: FieldColors): FieldArrays | null {
  const block = layout.byId.get(view.layerId);
  if (!block) return null;
  const warnings: string[] = [];
  const fillPos: number[] = [];
  const fillCol: number[] = [];
  const linePos: number[] = [];
  const lineCol: number[] = [];
  const quad = (r: Rect, z: number, c: RGB, a: number): void => {
    fillPos.push(r.x0, r.y0, z, r.x1, r.y0, z, r.x1, r.y1, z, r.x0, r.y0, z, r.x1, r.y1, z, r.x0, r.y1, z);
    for (let i = 0; i < 6; i++) fillCol.push(c[0], c[1], c[2], a);
  };
  const line = (p: number[], q: number[], c: RGB, a = 1): void => {
    linePos.push(p[0], p[1], p[2], q[0], q[1], q[2]);
    lineCol.push(c[0], c[1], c[2], a, c[0], c[1], c[2], a);
  };
  const outline = (r: Rect, z: number, c: RGB): void => {
    line([r.x0, r.y0, z], [r.x1, r.y0, z], c);
    line([r.x1, r.y0, z], [r.x1, r.y1, z], c);
    line([r.x1, r.y1, z], [r.x0, r.y1, z], c);
    line([r.x0, r.y1, z], [r.x0, r.y0, z], c);
  };

  // The unit itself.
  const unit = unitBoxRect(block, view.y, view.y, view.x, view.x);
  outline(unit, FACE_Z, colors.field);
  quad(unit, FACE_Z, colors.field, 0.6);

  // Regions on earlier layers.
  for (const r of view.regions) {
    const b = layout.byId.get(r.layerId);
    if (!b) {
      warnings.push(`receptive field: region on layer "${r.layerId}", which is not laid out, is not drawn`);
      continue;
    }
    const rect = unitBoxRect(b, r.y0, r.y1, r.x0, r.x1);
    outline(rect, FACE_Z, colors.field);
    quad(rect, FACE_Z, colors.field, 0.14);
  }

  // The image: the whole field, the part inside the image, the part on padding.
  const { inputH, inputW } = view.image;
  const slot = layout.image;
  const imageRect = pixelBoxRect(slot, view.image, inputH, inputW);
  const slotRect: Rect = {
    x0: slot.x - slot.width / 2,
    x1: slot.x + slot.width / 2,
    y0: slot.y - slot.height / 2,
    y1: slot.y + slot.height / 2,
  };
  const insideRect = intersectRect(imageRect, slotRect);
  if (insideRect) {
    quad(insideRect, FACE_Z, colors.field, 0.22);
    outline(insideRect, FACE_Z, colors.field);
  }
  const padding = subtractRect(imageRect, insideRect);
  for (const p of padding) quad(p, FACE_Z, colors.padding, 0.3);
  if (padding.length) outline(imageRect, FACE_Z + 0.05, colors.padding);

  // The cone: cross-sections from the unit to the whole field, arching toward the viewer.
  const dist = Math.hypot(
    (imageRect.x0 + imageRect.x1) / 2 - (unit.x0 + unit.x1) / 2,
    (imageRect.y0 + imageRect.y1) / 2 - (unit.y0 + unit.y1) / 2,
  );
  const lift = Math.max(block.depth, 0.25 * dist);
  const section = (u: number): number[][] => {
    const lerp = (a: number, b: number): number => a + (b - a) * u;
    const z = FACE_Z + lift * 4 * u * (1 - u);
    const r = {
      x0: lerp(unit.x0, imageRect.x0),
      x1: lerp(unit.x1, imageRect.x1),
      y0: lerp(unit.y0, imageRect.y0),
      y1: lerp(unit.y1, imageRect.y1),
    };
    return [
      [r.x0, r.y0, z],
      [r.x1, r.y0, z],
      [r.x1, r.y1, z],
      [r.x0, r.y1, z],
    ];
  };
  let prev = section(0);
  for (let k = 1; k <= CONE_SEGMENTS; k++) {
    const next = section(k / CONE_SEGMENTS);
    for (let s = 0; s < 4; s++) {
      const a = prev[s];
      const b = prev[(s + 1) % 4];
      const c = next[(s + 1) % 4];
      const d = next[s];
      fillPos.push(...a, ...b, ...c, ...a, ...c, ...d);
      for (let i = 0; i < 6; i++) fillCol.push(colors.field[0], colors.field[1], colors.field[2], 0.1);
      line(a, d, colors.field, 0.8);
    }
    prev = next;
  }
  return {
    fill: { positions: new Float32Array(fillPos), colors: new Float32Array(fillCol) },
    lines: { positions: new Float32Array(linePos), colors: new Float32Array(lineCol) },
    imageRect,
    insideRect,
    warnings,
  };
}

/** The two three.js objects of a field view; their resources live in their own ledger. */
export class FieldObjects {
  readonly group = new Group();
  private readonly ledger = new GpuLedger();

  constructor(arrays: FieldArrays) {
    this.group.name = 'receptive-field';
    const fillGeometry = this.ledger.track(new BufferGeometry(), 'geometry');
    fillGeometry.setAttribute('position', new Float32BufferAttribute(arrays.fill.positions, 3));
    fillGeometry.setAttribute('color', new Float32BufferAttribute(arrays.fill.colors, 4));
    const fillMaterial = this.ledger.track(
      new MeshBasicMaterial({
        vertexColors: true,
        transparent: true,
        depthWrite: false,
        side: DoubleSide,
        toneMapped: false,
      }),
      'material',
    );
    // three draws transparent double-sided meshes twice (back faces, then front) unless told not to;
    // the fills are faint and unsorted anyway, one pass is enough.
    fillMaterial.forceSinglePass = true;
    const lineGeometry = this.ledger.track(new BufferGeometry(), 'geometry');
    lineGeometry.setAttribute('position', new Float32BufferAttribute(arrays.lines.positions, 3));
    lineGeometry.setAttribute('color', new Float32BufferAttribute(arrays.lines.colors, 4));
    const lineMaterial = this.ledger.track(
      new LineBasicMaterial({ vertexColors: true, transparent: true, toneMapped: false }),
      'material',
    );
    const fill = new Mesh(fillGeometry, fillMaterial);
    const lines = new LineSegments(lineGeometry, lineMaterial);
    fill.frustumCulled = false;
    lines.frustumCulled = false;
    // Drawn after the opaque tiles and over them, so the field reads through the stack's front.
    fill.renderOrder = 10;
    lines.renderOrder = 11;
    this.group.add(fill, lines);
  }

  get resources(): number {
    return this.ledger.count();
  }

  dispose(): void {
    this.group.removeFromParent();
    this.group.clear();
    this.ledger.releaseAll();
  }
}

/** '#rrggbb' → linear RGB (three's working space) for vertex colours. */
export function linearRgb(hex: string): RGB {
  const c = new Color(hex);
  return [c.r, c.g, c.b];
}
