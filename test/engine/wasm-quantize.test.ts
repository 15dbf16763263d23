/**
 * The hand-assembled WebAssembly SIMD kernel (wasm-quantize.ts) against the JavaScript quantizer, on
 * a memory of its own (the engine binds it to tfjs-backend-wasm's heap instead).
 */
import { describe, expect, it } from 'vitest';
import { WasmQuantizer, kernelModuleBytes } from '../../renderer/src/engine/wasm-quantize';
import { quantizeNHWC } from '../../renderer/src/engine/quantize';
import { seeded } from './helpers';

function heap() {
  const memory = new WebAssembly.Memory({ initial: 64 });
  let top = 1024;
  const allocs: number[] = [];
  return {
    memory,
    allocs,
    malloc(n: number) {
      const p = top;
      top += Math.ceil(n / 16) * 16;
      if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
      allocs.push(p);
      return p;
    },
    free(p: number) {
      allocs.splice(allocs.indexOf(p), 1);
    },
  };
}

describe('WasmQuantizer', () => {
  it('is a valid module', () => {
    expect(WebAssembly.validate(kernelModuleBytes() as Uint8Array<ArrayBuffer>)).toBe(true);
  });

  for (const [H, W, C] of [
    [1, 1, 4],
    [7, 5, 8],
    [13, 11, 32],
    [3, 2, 1280],
  ]) {
    it(`matches the JavaScript path byte for byte on ${H}×${W}×${C}`, () => {
      const h = heap();
      const q = WasmQuantizer.create(h)!;
      expect(q).not.toBeNull();
      const values = seeded(H * W * C, H * 31 + C).map((v, i) => v * (1 + (i % 5)) - (i % C));
      values[3] = NaN; // ignored by both
      const src = h.malloc(values.byteLength);
      new Float32Array(h.memory.buffer, src, values.length).set(values);
      const got = q.quantize(src, H, W, C);
      const want = quantizeNHWC(values, H, W, C);
      expect(got.shape).toEqual(want.shape);
      expect([...got.min]).toEqual([...want.min]);
      expect([...got.max]).toEqual([...want.max]);
      let off = 0;
      for (let i = 0; i < want.data.length; i++)
        if (Math.abs(got.data[i] - want.data[i]) > (Number.isNaN(values[i]) ? 255 : 0)) off++;
      // Both compute (v − min)·scale + 0.5, in float32 (wasm) or float64 (JS): a value right on a rounding boundary may land either side.
      expect(off).toBeLessThanOrEqual(Math.ceil(want.data.length / 1000));
      expect(h.allocs).toEqual([src]); // its scratch block was freed
    });
  }
});
