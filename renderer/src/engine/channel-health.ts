/**
 * Channel health of one layer on one image, from its float activations: channels that are all zero (dead ReLUs),
 * the share of zero values (sparsity), and channels pinned at a clip value (ReLU6's 6, a Keras ReLU's max_value,
 * a clip's max). Channels are the last axis (NHWC, or [N] / [1, N] vectors).
 *
 * Cheap form: "dead" and "saturated" need only each channel's min and max, which every LayerFrame already carries
 * (computed from the floats before quantizing), so `healthFromRange` gives them exactly with no extra pass; only
 * the zero count (sparsity) needs one more reduction over the floats.
 */
import type { GraphNode } from '../analysis/graph';

/** The summary the layer list's bar shows, plus per-channel flags for sorting the channel grid. */
export interface ChannelHealth {
  channels: number;
  /** Values per channel (H·W, or 1 for a vector). */
  perChannel: number;
  /** Channels whose every value is exactly 0. */
  dead: number;
  deadShare: number;
  /** Zero values over all values; null when the zero count is unknown (healthFromRange without it). */
  sparsity: number | null;
  /** The clip value checked (null: the layer has none, nothing counts as saturated). */
  clip: number | null;
  /** Channels whose every value is ≥ clip − eps. */
  saturated: number;
  saturatedShare: number;
  /** Per channel: 1 = dead, 2 = saturated, 0 = neither. */
  state: Uint8Array;
  /** Per channel share of zero values (null when unknown). */
  zeroShare: Float32Array | null;
}

/** Options: the clip value (default none) and the tolerance below it that still counts as saturated. */
export interface HealthOptions {
  clip?: number | null;
  /** Default 1e-6 · max(1, clip). */
  eps?: number;
}

export const DEAD = 1;
export const SATURATED = 2;

/** The clip value of a layer's output: ReLU6 → 6, ReLU(max_value) → max, clip → max, else null. */
export function clipValueOf(node: GraphNode): number | null {
  const fn = node.op === 'activation' ? node.fn : 'activation' in node ? node.activation : undefined;
  if (fn === 'relu6') return 6;
  if (
    node.op === 'activation' &&
    (fn === 'relu' || fn === 'clip') &&
    node.max !== undefined &&
    Number.isFinite(node.max)
  )
    return node.max;
  return null;
}

function channelsOf(shape: readonly number[], length: number, where: string): { C: number; P: number } {
  if (shape.length === 0) throw new Error(`${where}: a scalar has no channels`);
  const C = shape[shape.length - 1];
  const total = shape.reduce((a, b) => a * b, 1);
  if (total !== length) throw new Error(`${where}: ${length} values for shape [${shape.join(', ')}]`);
  return { C, P: C > 0 ? total / C : 0 };
}

/** Channel health from float activations laid out channel-last (NHWC). */
export function channelHealth(
  data: Float32Array,
  shape: readonly number[],
  opts: HealthOptions = {},
  where = 'channel health',
): ChannelHealth {
  const { C, P } = channelsOf(shape, data.length, where);
  const clip = opts.clip ?? null;
  const eps = opts.eps ?? 1e-6 * Math.max(1, Math.abs(clip ?? 1));
  const zeros = new Uint32Array(C);
  const high = new Uint32Array(C);
  for (let p = 0, o = 0; p < P; p++)
    for (let c = 0; c < C; c++, o++) {
      const v = data[o];
      if (v === 0) zeros[c]++;
      if (clip !== null && v >= clip - eps) high[c]++;
    }
  const state = new Uint8Array(C);
  const zeroShare = new Float32Array(C);
  let dead = 0;
  let saturated = 0;
  let zeroTotal = 0;
  for (let c = 0; c < C; c++) {
    zeroTotal += zeros[c];
    zeroShare[c] = P ? zeros[c] / P : 0;
    if (P && zeros[c] === P) {
      state[c] = DEAD;
      dead++;
    } else if (P && clip !== null && high[c] === P) {
      state[c] = SATURATED;
      saturated++;
    }
  }
  return {
    channels: C,
    perChannel: P,
    dead,
    deadShare: C ? dead / C : 0,
    sparsity: data.length ? zeroTotal / data.length : 0,
    clip,
    saturated,
    saturatedShare: C ? saturated / C : 0,
    state,
    zeroShare,
  };
}

/**
 * Dead and saturated channels from each channel's float min / max (a LayerFrame's), exactly: a channel is dead
 * when min = max = 0 and saturated when min ≥ clip − eps. `zeros` (the layer's count of zero values) gives the
 * sparsity when known.
 */
export function healthFromRange(
  min: ArrayLike<number>,
  max: ArrayLike<number>,
  perChannel: number,
  opts: HealthOptions & { zeros?: number } = {},
): ChannelHealth {
  const C = min.length;
  if (max.length !== C) throw new Error(`channel health: ${C} minima but ${max.length} maxima`);
  const clip = opts.clip ?? null;
  const eps = opts.eps ?? 1e-6 * Math.max(1, Math.abs(clip ?? 1));
  const state = new Uint8Array(C);
  let dead = 0;
  let saturated = 0;
  for (let c = 0; c < C; c++) {
    if (min[c] === 0 && max[c] === 0) {
      state[c] = DEAD;
      dead++;
    } else if (clip !== null && min[c] >= clip - eps) {
      state[c] = SATURATED;
      saturated++;
    }
  }
  const total = C * perChannel;
  return {
    channels: C,
    perChannel,
    dead,
    deadShare: C ? dead / C : 0,
    sparsity: opts.zeros === undefined ? null : total ? opts.zeros / total : 0,
    clip,
    saturated,
    saturatedShare: C ? saturated / C : 0,
    state,
    zeroShare: null,
  };
}

/**
 * Channel health of a tensor (read back with `data()`; the tensor is not disposed). Typed by shape, not by tfjs's
 * class, so this module stays pure and the UI can use the rest of it without pulling tfjs in.
 */
export async function channelHealthOfTensor(
  t: { dtype: string; shape: number[]; data(): Promise<ArrayLike<number>> },
  opts: HealthOptions = {},
  where?: string,
) {
  const data = t.dtype === 'float32' ? ((await t.data()) as Float32Array) : Float32Array.from(await t.data());
  return channelHealth(data, t.shape, opts, where);
}

/**
 * Channel indices for "sort by health": dead channels first, then saturated ones, then the rest, each group in
 * channel order (`state` as in ChannelHealth).
 */
export function healthOrder(state: ArrayLike<number>): number[] {
  const rank = (v: number) => (v === DEAD ? 0 : v === SATURATED ? 1 : 2);
  return Array.from({ length: state.length }, (_, i) => i).sort((a, b) => rank(state[a]) - rank(state[b]) || a - b);
}
