import type { ColorMapName } from './channel-colors';

/** Viridis (perceptually uniform, for non-negative activations): a degree-6 polynomial fit of matplotlib's map. */
const VIRIDIS: number[][] = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

/** Moreland's cool-warm diverging map (blue → light grey at zero → red), for signed activations. */
const COOL_WARM: [number, [number, number, number]][] = [
  [0, [59, 76, 192]],
  [0.25, [124, 159, 249]],
  [0.5, [221, 221, 221]],
  [0.75, [246, 153, 117]],
  [1, [180, 4, 38]],
];

function viridis(t: number): [number, number, number] {
  const rgb = [0, 0, 0];
  for (let ch = 0; ch < 3; ch++) {
    let v = 0;
    for (let k = VIRIDIS.length - 1; k >= 0; k--) v = v * t + VIRIDIS[k][ch];
    rgb[ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return rgb as [number, number, number];
}

function coolWarm(t: number): [number, number, number] {
  for (let i = 1; i < COOL_WARM.length; i++) {
    const [t1, c1] = COOL_WARM[i];
    const [t0, c0] = COOL_WARM[i - 1];
    if (t <= t1) {
      const u = (t - t0) / (t1 - t0);
      return [0, 1, 2].map((k) => Math.round(c0[k] + u * (c1[k] - c0[k]))) as [number, number, number];
    }
  }
  return COOL_WARM[COOL_WARM.length - 1][1];
}

function build(fn: (t: number) => [number, number, number]): Uint8Array {
  const out = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) out.set(fn(i / 255), i * 3);
  return out;
}

/** 256 RGB triples per colour map; the 2D panels and the 3D scene draw with the same colours. */
export const PALETTES: Record<ColorMapName, Uint8Array> = {
  viridis: build(viridis),
  diverging: build(coolWarm),
};
