/**
 * Activation extraction on the wasm and cpu backends (gpu-extract.ts does it on webgl): every layer output
 * quantized to one byte per value, channel-major, by the SIMD kernel (wasm-quantize.ts) wherever it can run — in
 * place in tfjs-backend-wasm's heap, or on the cpu backend after one copy into the kernel's own memory — and by the
 * JavaScript quantizer (quantize.ts) otherwise; frames written into recycled buffers (frame-pool.ts) when the UI
 * handed some back. A layer whose stats follow exactly from its inputs' (known-stats.ts) is quantized without the
 * kernel's min/max pass.
 */
import * as tf from '@tensorflow/tfjs';
import type { FramePool } from './frame-pool';
import type { LayerFrame } from '../../../common/engine-protocol';
import type { ChannelStats } from './known-stats';
import { frameOf, frameShape, pooledSize, quantizeNHWC } from './quantize';
import type { LayerOutput } from './runner';
import { wasmHeapOffset, wasmHeapView, wasmMemory, wasmModule, type WasmModule } from './tfjs-private';
import { WasmQuantizer } from './wasm-quantize';

/**
 * Reads a layer output's values and quantizes it with the SIMD kernel wherever it can: on wasm in place in the
 * backend's heap (no float copied out), on cpu after one copy into the kernel's own memory; the frame's bytes go
 * into a recycled buffer when the pool has one of that size. Layers the kernel cannot take (pooled overviews off
 * wasm, non-float tensors, runtimes without wasm SIMD) use the JavaScript quantizer.
 */
export async function extractOnCpu(
  out: LayerOutput,
  maxSide: number,
  pool: FramePool,
  range?: ChannelStats,
): Promise<LayerFrame> {
  const t = out.tensor;
  const [H, W, C] = frameShape(t.shape);
  const meta = { layerId: out.layerId, index: out.index, fullShape: t.shape.slice(1) };
  const { factor, h, w } = pooledSize(H, W, maxSide);
  if (factor > 1 && t.dtype === 'float32' && tf.getBackend() === 'wasm') {
    // Pool with the backend's own kernels (XNNPACK) rather than a JavaScript loop over every value.
    const pooled = poolOnBackend(t, H, W, C, factor, h, w);
    try {
      // The pooled values are averages: their zeros are not the layer's (the overview carries no count).
      const f = await extractOnCpu({ layerId: out.layerId, index: out.index, tensor: pooled }, 0, pool);
      return frameOf(meta, { shape: f.shape, min: f.min, max: f.max, data: f.data });
    } finally {
      pooled.dispose();
    }
  }
  if (t.dtype === 'float32' && factor === 1) {
    const offset = wasmHeapOffset(t);
    const inHeap = offset === null ? null : wasmQuantizer();
    // Stats known from the inputs' (known-stats.ts) spare the kernel its min/max pass.
    if (inHeap && offset !== null) {
      return frameOf(meta, inHeap.quantize(offset, H, W, C, { into: pool.take(H * W * C), range }));
    }
    const own = tf.getBackend() === 'cpu' ? standaloneQuantizer() : null;
    if (own) {
      // The cpu backend hands back its own array (no copy); the kernel copies it into its memory once.
      const values = (await t.data()) as Float32Array;
      return frameOf(meta, own.quantizeValues(values, H, W, C, { into: pool.take(H * W * C), range }));
    }
  }
  const view = t.dtype === 'float32' ? wasmHeapView(t) : null;
  // The view is only valid until the next wasm call: quantize right away, no await in between.
  const take = (n: number) => pool.take(n);
  const q = view
    ? quantizeNHWC(view, H, W, C, maxSide, take)
    : quantizeNHWC((await t.data()) as Float32Array, H, W, C, maxSide, take);
  return frameOf(meta, q);
}

let ownQuantizer: WasmQuantizer | null | undefined;

/** The SIMD kernel on a memory of its own (cpu backend), or null where this runtime has no wasm SIMD. */
function standaloneQuantizer(): WasmQuantizer | null {
  if (ownQuantizer === undefined) ownQuantizer = WasmQuantizer.standalone();
  return ownQuantizer;
}

/**
 * Average-pools [H, W, C] by `factor` into [h, w, C] with the semantics of quantize.ts (edge cells
 * average only the pixels they cover): pad bottom/right with zeros, average-pool, divide by the
 * pooled coverage mask.
 */
function poolOnBackend(
  t: tf.Tensor,
  H: number,
  W: number,
  C: number,
  factor: number,
  h: number,
  w: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const x = t.reshape([1, H, W, C]) as tf.Tensor4D;
    const padH = h * factor - H;
    const padW = w * factor - W;
    if (!padH && !padW) return tf.avgPool(x, factor, factor, 'valid');
    const pad: [number, number][] = [
      [0, 0],
      [0, padH],
      [0, padW],
      [0, 0],
    ];
    const sum = tf.avgPool(tf.pad(x, pad), factor, factor, 'valid');
    const cover = tf.avgPool(tf.pad(tf.ones([1, H, W, 1]) as tf.Tensor4D, pad), factor, factor, 'valid');
    return tf.div(sum, cover);
  });
}

const quantizers = new WeakMap<WasmModule, WasmQuantizer | null>();

/** The SIMD kernel bound to the current wasm backend's memory, or null (not wasm, no SIMD, shared memory). */
function wasmQuantizer(): WasmQuantizer | null {
  const mod = wasmModule();
  if (!mod) return null;
  if (!quantizers.has(mod)) {
    const memory = wasmMemory(mod);
    quantizers.set(
      mod,
      memory ? WasmQuantizer.create({ memory, malloc: (n) => mod._malloc(n), free: (p) => mod._free(p) }) : null,
    );
  }
  return quantizers.get(mod) ?? null;
}

/** Frees the kernels' scratch memory in tfjs's wasm heap (engine dispose). */
export function releaseCpuExtraction(): void {
  wasmQuantizer()?.release();
}
