/**
 * The CPU path of activation extraction (wasm and cpu backends): per-channel min/max, optional
 * average-pooling down to `maxSide`, 8-bit quantization and channel-major (C × H × W) packing, in tight
 * loops over the float values tfjs hands back. The WebGL path does the same on the GPU (gpu-extract.ts)
 * and must agree with this one within one quantization step.
 */
import type { LayerFrame } from '../../../common/engine-protocol';

/** One layer's activations as sent: value ≈ min[c] + byte / 255 · (max[c] − min[c]). */
export interface QuantizedFrame {
  shape: [number, number, number];
  min: Float32Array;
  max: Float32Array;
  data: Uint8Array;
  /**
   * Exact zeros among the layer's full-resolution values (the channel health's sparsity); absent for a pooled
   * overview, whose values are averages (zeros are counted before pooling only where the values are read anyway).
   */
  zeros?: number;
}

/**
 * The [H, W, C] a layer output is sent as: rank-4 NHWC → [H, W, C]; a vector [N] (rank 2 with the
 * batch axis) → [1, 1, N]; rank 3 [T, C] → [1, T, C]; anything else flattened to [1, 1, size].
 */
export function frameShape(shapeWithBatch: readonly number[]): [number, number, number] {
  const s = shapeWithBatch.slice(1);
  if (s.length === 3) return [s[0], s[1], s[2]];
  if (s.length === 2) return [1, s[0], s[1]];
  if (s.length === 1) return [1, 1, s[0]];
  return [1, 1, s.reduce((a, b) => a * b, 1)];
}

/** Pooling factor and pooled size so that both sides are ≤ maxSide (0 = no pooling). */
export function pooledSize(H: number, W: number, maxSide: number): { factor: number; h: number; w: number } {
  const factor = maxSide > 0 ? Math.max(1, Math.ceil(Math.max(H, W) / maxSide)) : 1;
  return { factor, h: Math.ceil(H / factor), w: Math.ceil(W / factor) };
}

type Values = Float32Array | Int32Array | Uint8Array;

/**
 * Quantizes NHWC values (batch 1) into a channel-major 8-bit frame. With maxSide > 0 each channel is
 * average-pooled by an integer factor first (edge cells average the pixels they cover), and min/max
 * are those of the pooled values, so the frame dequantizes to exactly what it shows. `take` may supply a
 * recycled buffer of the frame's byte length (every byte is overwritten).
 */
export function quantizeNHWC(
  src: Values,
  H: number,
  W: number,
  C: number,
  maxSide = 0,
  take: (bytes: number) => Uint8Array | undefined = () => undefined,
): QuantizedFrame {
  const { factor, h, w } = pooledSize(H, W, maxSide);
  if (factor === 1) return quantizeFull(src, H * W, C, [H, W, C], take(H * W * C));
  const hw = h * w;
  const pooled = new Float32Array(C * hw);
  for (let y = 0, i = 0; y < H; y++) {
    const rowBase = ((y / factor) | 0) * w;
    for (let x = 0; x < W; x++) {
      const q = rowBase + ((x / factor) | 0);
      for (let c = 0, o = q; c < C; c++, i++, o += hw) pooled[o] += src[i];
    }
  }
  const inv = new Float32Array(hw);
  for (let py = 0; py < h; py++) {
    const ny = Math.min(factor, H - py * factor);
    for (let px = 0; px < w; px++) inv[py * w + px] = 1 / (ny * Math.min(factor, W - px * factor));
  }
  const min = new Float32Array(C);
  const max = new Float32Array(C);
  const data = take(C * hw) ?? new Uint8Array(C * hw);
  for (let c = 0; c < C; c++) {
    const base = c * hw;
    let lo = Infinity,
      hi = -Infinity;
    for (let q = 0; q < hw; q++) {
      const v = (pooled[base + q] *= inv[q]);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo > hi) lo = hi = 0; // all NaN
    min[c] = lo;
    max[c] = hi;
    const s = hi > lo ? 255 / (hi - lo) : 0;
    for (let q = 0; q < hw; q++) data[base + q] = (pooled[base + q] - lo) * s + 0.5;
  }
  return { shape: [h, w, C], min, max, data };
}

function quantizeFull(
  src: Values,
  HW: number,
  C: number,
  shape: [number, number, number],
  into: Uint8Array | undefined,
): QuantizedFrame {
  const min = new Float32Array(C).fill(Infinity);
  const max = new Float32Array(C).fill(-Infinity);
  const data = into ?? new Uint8Array(HW * C);
  let zeros = 0;
  if (C === 1) {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 0; i < HW; i++) {
      const v = src[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      if (v === 0) zeros++;
    }
    min[0] = lo;
    max[0] = hi;
  } else {
    for (let p = 0, i = 0; p < HW; p++) {
      for (let c = 0; c < C; c++, i++) {
        const v = src[i];
        if (v < min[c]) min[c] = v;
        if (v > max[c]) max[c] = v;
        if (v === 0) zeros++;
      }
    }
  }
  const scale = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    if (min[c] > max[c]) min[c] = max[c] = 0; // all NaN
    scale[c] = max[c] > min[c] ? 255 / (max[c] - min[c]) : 0;
  }
  // (v − min)·scale + 0.5: the Uint8Array store truncates, so this rounds; subtracting first stays
  // exact where |min| ≫ max − min (the wasm kernel and the GPU shader compute it the same way).
  for (let p = 0, i = 0; p < HW; p++) {
    for (let c = 0, o = p; c < C; c++, i++, o += HW) data[o] = (src[i] - min[c]) * scale[c] + 0.5;
  }
  return { shape, min, max, data, zeros };
}

/** What a frame says of its layer besides the values. */
export interface FrameMeta {
  layerId: string;
  index: number;
  fullShape: number[];
}

/**
 * The frame of layer `meta` with the quantized values `q`, and their zero count where the quantizer counted one
 * (full resolution). Built as one object literal, not `{ ...meta, shape, min, … }`: V8 defines each property written
 * after a spread one at a time (about 1 µs each in Node 20), which made the spread frame cost ~5 µs per layer, most
 * of the JavaScript time of extracting a small layer.
 */
export function frameOf(meta: FrameMeta, q: QuantizedFrame): LayerFrame {
  const f: LayerFrame = {
    layerId: meta.layerId,
    index: meta.index,
    shape: q.shape,
    fullShape: meta.fullShape,
    min: q.min,
    max: q.max,
    data: q.data,
  };
  if (q.zeros !== undefined) f.zeros = q.zeros;
  return f;
}

/** Dequantizes one value of a frame (tests, tooltips). */
export function dequantize(frame: QuantizedFrame, c: number, index: number): number {
  const [h, w] = frame.shape;
  return frame.min[c] + (frame.data[c * h * w + index] / 255) * (frame.max[c] - frame.min[c]);
}
