/**
 * Where a unit looks: its receptive field in input pixels, and the units of an earlier layer inside that field
 * (the cone the UI draws through every layer).
 */
import type { Footprint, IndexBox, LayerAnalysis, ModelAnalysis, ReceptiveField } from '../../../common/analysis-types';

export type { Footprint, IndexBox };

function layerWithField(analysis: ModelAnalysis, layerId: string): LayerAnalysis & { receptiveField: ReceptiveField } {
  const layer = analysis.layers.find((l) => l.id === layerId);
  if (!layer) throw new Error(`No layer "${layerId}" in the model`);
  if (!layer.receptiveField || layer.outputShape.length !== 3) {
    throw new Error(
      `Layer "${layerId}" has no spatial receptive field (output ${layer.outputShape.join('×') || 'unknown'})`,
    );
  }
  return layer as LayerAnalysis & { receptiveField: ReceptiveField };
}

/** Field of unit u on one axis: [start + u·jump − (size − 1)/2, … + size − 1]. Integral for every real network. */
function span(rf: ReceptiveField, axis: 0 | 1, u: number): [number, number] {
  const lo = rf.start[axis] + u * rf.jump[axis] - (rf.size[axis] - 1) / 2;
  return [lo, lo + rf.size[axis] - 1];
}

/**
 * The receptive field of unit (y, x) of a layer, in input pixels (inclusive bounds; may extend past the image
 * into the padding), plus the part inside the image. Uses the layer's reported (largest) field.
 */
export function unitFootprint(analysis: ModelAnalysis, layerId: string, y: number, x: number): Footprint {
  const { receptiveField: rf } = layerWithField(analysis, layerId);
  const [top, bottom] = span(rf, 0, y);
  const [left, right] = span(rf, 1, x);
  const [H, W] = analysis.input;
  const ct = Math.max(top, 0);
  const cb = Math.min(bottom, H - 1);
  const cl = Math.max(left, 0);
  const cr = Math.min(right, W - 1);
  return {
    top,
    left,
    bottom,
    right,
    clipped: ct <= cb && cl <= cr ? { top: ct, left: cl, bottom: cb, right: cr } : null,
  };
}

/** Units [lo, hi] of a layer whose own field lies within [a, b] on one axis, clipped to [0, n − 1]. */
function unitsInside(rf: ReceptiveField, axis: 0 | 1, a: number, b: number, n: number): [number, number] {
  const half = (rf.size[axis] - 1) / 2;
  const j = rf.jump[axis];
  // Tolerance: half-pixel starts (even pool sizes) make these quotients land on integers only up to rounding.
  let lo = Math.ceil((a + half - rf.start[axis]) / j - 1e-9);
  let hi = Math.floor((b - half - rf.start[axis]) / j + 1e-9);
  if (lo > hi) {
    // The other layer's units see more than this field (it is not earlier): take the units whose centres fall in it,
    // or failing that the one nearest its middle, so the caller always gets a box to draw.
    lo = Math.ceil((a - rf.start[axis]) / j - 1e-9);
    hi = Math.floor((b - rf.start[axis]) / j + 1e-9);
    if (lo > hi) lo = hi = Math.round(((a + b) / 2 - rf.start[axis]) / j);
  }
  lo = Math.min(Math.max(lo, 0), n - 1);
  hi = Math.min(Math.max(hi, 0), n - 1);
  return [lo, Math.max(lo, hi)];
}

/**
 * The units of another (earlier) layer that lie inside the receptive field of unit (y, x) of `layerId`: the
 * index box {y0, y1, x0, x1} (inclusive, clipped to that layer's size). Along a single path these are exactly
 * the units the unit depends on. Throws if either layer has no spatial receptive field.
 */
export function footprintOnLayer(
  analysis: ModelAnalysis,
  layerId: string,
  y: number,
  x: number,
  otherLayerId: string,
): IndexBox {
  const { receptiveField: rf } = layerWithField(analysis, layerId);
  const other = layerWithField(analysis, otherLayerId);
  const [top, bottom] = span(rf, 0, y);
  const [left, right] = span(rf, 1, x);
  const [y0, y1] = unitsInside(other.receptiveField, 0, top, bottom, other.outputShape[0]);
  const [x0, x1] = unitsInside(other.receptiveField, 1, left, right, other.outputShape[1]);
  return { y0, y1, x0, x1 };
}
