/**
 * The per-channel min, max and zero count of a layer that follow exactly from its inputs' (StatsRule, runner.ts),
 * so that extraction quantizes it without a min/max pass over its values (wasm-quantize.ts `range`). Exactly means
 * what that pass would find, bit for bit: the same float32 bounds as the frame carries them (an all-NaN channel's
 * are 0, 0) and the same count of exact zeros.
 * - 'same' (Dropout, Identity): the input's values, in the same order.
 * - 'concat': each input's channels in turn, their values in the same pixel order.
 * - 'pad': the input's values in the same relative order, and cells of +0 around them: min(min, 0), max(max, 0),
 *   and one zero per padding cell and channel. Which of ±0 the pass would keep as a bound depends on where the first
 *   zero lies, so a −0 bound gives no rule (the pass runs); a +0 bound stays +0, a non-zero one stays.
 */
import type { StatsRule } from './runner';

/** A full-resolution frame's stats, as the extraction found them. */
export interface ChannelStats {
  /** The frame's [H, W, C]. */
  shape: [number, number, number];
  min: Float32Array;
  max: Float32Array;
  zeros: number;
}

/** The stats of the layer of frame shape `shape` under `rule`, from its inputs' (by frame index); null if unknown. */
export function deriveStats(
  rule: StatsRule,
  shape: readonly [number, number, number],
  known: readonly (ChannelStats | undefined)[],
): ChannelStats | null {
  const inputs = rule.inputs.map((i) => known[i]);
  if (inputs.some((s) => !s)) return null;
  const ins = inputs as ChannelStats[];
  const [H, W, C] = shape;
  const out = (min: Float32Array, max: Float32Array, zeros: number): ChannelStats => ({
    shape: [H, W, C],
    min,
    max,
    zeros,
  });
  if (rule.kind === 'concat') {
    if (ins.some((s) => s.shape[0] !== H || s.shape[1] !== W)) return null;
    if (ins.reduce((n, s) => n + s.shape[2], 0) !== C) return null;
    const min = new Float32Array(C);
    const max = new Float32Array(C);
    let at = 0;
    for (const s of ins) {
      min.set(s.min, at);
      max.set(s.max, at);
      at += s.shape[2];
    }
    return out(
      min,
      max,
      ins.reduce((n, s) => n + s.zeros, 0),
    );
  }
  if (ins.length !== 1) return null;
  const [s] = ins;
  const [h, w, c] = s.shape;
  if (c !== C) return null;
  if (h === H && w === W) return out(s.min, s.max, s.zeros);
  if (rule.kind !== 'pad' || h > H || w > W) return null;
  const min = new Float32Array(C);
  const max = new Float32Array(C);
  for (let k = 0; k < C; k++) {
    const lo = s.min[k];
    const hi = s.max[k];
    if (Object.is(lo, -0) || Object.is(hi, -0)) return null;
    min[k] = lo < 0 ? lo : 0;
    max[k] = hi > 0 ? hi : 0;
  }
  return out(min, max, s.zeros + (H * W - h * w) * C);
}
