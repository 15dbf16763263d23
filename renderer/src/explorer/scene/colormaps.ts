/**
 * Colour maps of the 3D scene as 256-entry RGBA look-up tables. They are built from the same palettes
 * the 2D panels and the legend use (`../palettes`), so a value has one colour everywhere in the app.
 */
import type { LayerFrame } from '../../../../common/engine-protocol';
import { resolveColorMap, type ColorMapChoice, type ColorMapName } from '../channel-colors';
import { PALETTES } from '../palettes';

export type { ColorMapChoice, ColorMapName };

/** One colour map: 256 RGBA entries (sRGB bytes), index 0 = lowest value, 255 = highest. */
export interface ColorMap {
  name: ColorMapName;
  /** Sequential maps run min→max; diverging maps put zero at the middle entry. */
  kind: 'sequential' | 'diverging';
  /** What the map is for, in a few words (legend tooltip). */
  description: string;
  /** 256 × 4 bytes, RGBA, alpha always 255. */
  lut: Uint8Array;
}

function rgba(rgb: Uint8Array): Uint8Array {
  if (rgb.length !== 256 * 3) throw new Error(`colormaps: a palette needs 256 RGB entries, got ${rgb.length / 3}`);
  const out = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    out[i * 4] = rgb[i * 3];
    out[i * 4 + 1] = rgb[i * 3 + 1];
    out[i * 4 + 2] = rgb[i * 3 + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** The scene's colour maps; the legend can draw `COLOR_MAPS[name].lut` to show the same colours. */
export const COLOR_MAPS: Readonly<Record<ColorMapName, ColorMap>> = {
  viridis: {
    name: 'viridis',
    kind: 'sequential',
    description: 'perceptually uniform, for non-negative activations',
    lut: rgba(PALETTES.viridis),
  },
  diverging: {
    name: 'diverging',
    kind: 'diverging',
    description: 'cool-warm, zero in the middle, for signed activations',
    lut: rgba(PALETTES.diverging),
  },
};

/** The map a layer is drawn with: 'auto' picks diverging for signed layers, as the 2D panels do. */
export function colorMapFor(frame: LayerFrame, choice: ColorMapChoice): ColorMapName {
  return resolveColorMap(frame, choice);
}

/** A CSS `linear-gradient(…)` with `stops` evenly spaced stops of a map (for legends drawn in CSS). */
export function colorMapGradient(name: ColorMapName, stops = 16, direction = 'to right'): string {
  const lut = COLOR_MAPS[name].lut;
  const n = Math.max(2, Math.floor(stops));
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.round((i / (n - 1)) * 255) * 4;
    parts.push(`rgb(${lut[k]}, ${lut[k + 1]}, ${lut[k + 2]}) ${((i / (n - 1)) * 100).toFixed(1)}%`);
  }
  return `linear-gradient(${direction}, ${parts.join(', ')})`;
}

/** Layer-wide value range of a frame (from the per-channel quantization ranges). */
export function frameRange(frame: Pick<LayerFrame, 'min' | 'max'>): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let c = 0; c < frame.min.length; c++) {
    if (frame.min[c] < min) min = frame.min[c];
    if (frame.max[c] > max) max = frame.max[c];
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { min: 0, max: 0 };
  return { min, max };
}

/**
 * The colour-map position (0..1) of value `v` — the same arithmetic as the tile shader, kept here so
 * it is testable and so the 2D panels' `channelLut` and the scene can be checked against each other.
 */
export function mapPosition(v: number, lo: number, hi: number, diverging: boolean): number {
  let t: number;
  if (diverging) {
    const absMax = Math.max(Math.abs(lo), Math.abs(hi));
    t = absMax > 0 ? 0.5 + (0.5 * v) / absMax : 0.5;
  } else t = hi > lo ? (v - lo) / (hi - lo) : 0;
  return Math.min(1, Math.max(0, t));
}

/**
 * The normalisation a layer is drawn with. Spatial maps follow the user's choice (per channel by default); a
 * vector or a 1×1 map has one value per channel, so per-channel ranges would paint every value the same colour:
 * it is always normalised over the layer.
 */
export function effectiveNormalize(
  shape: readonly number[],
  choice: 'channel' | 'layer',
): { normalize: 'channel' | 'layer'; reason: string } {
  const spatial = shape.length === 3 && (shape[0] > 1 || shape[1] > 1);
  if (spatial)
    return {
      normalize: choice,
      reason: choice === 'channel' ? 'each map on its own range' : 'one range for the layer',
    };
  return { normalize: 'layer', reason: 'a vector (one value per channel): one range for the layer' };
}

/**
 * A vector layer's values as one byte each, quantized over the layer's range, from a frame of N 1×1 channels
 * (each channel's value is its quantization range, min = max). Returns the bytes and the range.
 */
export function vectorBytes(frame: Pick<LayerFrame, 'min' | 'max' | 'data'>): {
  bytes: Uint8Array;
  min: number;
  max: number;
} {
  const n = frame.min.length;
  const values = new Float64Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let c = 0; c < n; c++) {
    const a = Number.isFinite(frame.min[c]) ? frame.min[c] : 0;
    const b = Number.isFinite(frame.max[c]) ? frame.max[c] : a;
    const v = a + ((frame.data[c] ?? 0) / 255) * (b - a);
    values[c] = v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!n) return { bytes: new Uint8Array(0), min: 0, max: 0 };
  const bytes = new Uint8Array(n);
  const span = hi - lo;
  for (let c = 0; c < n; c++) bytes[c] = span > 0 ? Math.round(((values[c] - lo) / span) * 255) : 0;
  return { bytes, min: lo, max: hi };
}
