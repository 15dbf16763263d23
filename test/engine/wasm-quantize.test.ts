/**
 * The hand-assembled WebAssembly SIMD kernel (wasm-quantize.ts) against the JavaScript quantizer, against the
 * per-pixel kernel it replaced (byte for byte), and against a scalar float32 model of its arithmetic, on a memory
 * of its own (the engine binds it to tfjs-backend-wasm's heap instead). Both forms of the quantize kernel: with
 * relaxed SIMD's truncation (what Chromium, Electron and Node ≥ 22 run; Node 20 has it behind a V8 flag, set here)
 * and with trunc_sat.
 */
import { setFlagsFromString } from 'node:v8';
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

/**
 * The kernel's contract computed one value at a time in float32 (Math.fround after every operation, as the SIMD
 * lanes do): min / max per channel ignoring NaN, scale = 255 / (max − min) rounded to float32, byte =
 * trunc((v − min)·scale + 0.5) saturated at 0, channel-major.
 */
function scalarF32(values: Float32Array, HW: number, C: number): Uint8Array {
  const f = Math.fround;
  const min = new Float32Array(C).fill(Infinity);
  const max = new Float32Array(C).fill(-Infinity);
  for (let p = 0; p < HW; p++)
    for (let c = 0; c < C; c++) {
      const v = values[p * C + c];
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
    }
  const out = new Uint8Array(HW * C);
  for (let c = 0; c < C; c++) {
    if (min[c] > max[c]) min[c] = max[c] = 0;
    const scale = f(max[c] > min[c] ? 255 / (max[c] - min[c]) : 0);
    for (let p = 0; p < HW; p++) {
      const q = f(f(f(values[p * C + c] - min[c]) * scale) + 0.5);
      out[c * HW + p] = Number.isNaN(q) || q < 0 ? 0 : Math.min(255, Math.trunc(q));
    }
  }
  return out;
}

const SHAPES = [
  [1, 1, 4],
  [7, 5, 8],
  [13, 11, 32],
  [3, 2, 1280],
  [2, 2, 4],
  [5, 3, 16],
  [28, 28, 96],
  // minmax sweeps eight channels at a time, then four: one of each, and several of each.
  [4, 3, 12],
  [6, 5, 20],
  // C not a multiple of 4: copied with the channels padded (an RGB input, a 5-class output, one channel).
  [15, 15, 3],
  [1, 1, 5],
  [9, 4, 1],
  [3, 7, 6],
];

setFlagsFromString('--experimental-wasm-relaxed-simd');

describe('WasmQuantizer', () => {
  it('is a valid module, in both forms; relaxed SIMD is used where the runtime has it', () => {
    expect(WebAssembly.validate(kernelModuleBytes() as Uint8Array<ArrayBuffer>)).toBe(true);
    expect(WebAssembly.validate(kernelModuleBytes(true) as Uint8Array<ArrayBuffer>)).toBe(true);
    expect(WasmQuantizer.create(heap())!.relaxed).toBe(true);
    expect(WasmQuantizer.create(heap(), { relaxed: false })!.relaxed).toBe(false);
  });

  for (const [[H, W, C], relaxed] of SHAPES.flatMap((s) => [true, false].map((r) => [s, r] as const))) {
    it(`on ${H}×${W}×${C}${relaxed ? ' (relaxed SIMD)' : ''}: byte-identical to the per-pixel kernel and to float32 scalar arithmetic, close to the JS path`, () => {
      const h = heap();
      const q = WasmQuantizer.create(h, { relaxed })!;
      expect(q.relaxed).toBe(relaxed);
      const values = seeded(H * W * C, H * 31 + C).map((v, i) => v * (1 + (i % 5)) - (i % C));
      values[3] = NaN; // ignored by every path
      values[1] = 0;
      if (values.length > 2) values[2] = -0; // counted as a zero too
      if (values.length > 40) values[40] = 1e6 * (values[40] + 2); // one channel with an outlier
      const src = h.malloc(values.byteLength);
      new Float32Array(h.memory.buffer, src, values.length).set(values);
      const got = q.quantize(src, H, W, C);
      const ref = q.quantize(src, H, W, C, { perPixel: true });
      expect(Buffer.from(got.data).equals(Buffer.from(ref.data))).toBe(true);
      expect(Buffer.from(got.data).equals(Buffer.from(scalarF32(values, H * W, C)))).toBe(true);
      const want = quantizeNHWC(values, H, W, C);
      expect(got.shape).toEqual(want.shape);
      expect([...got.min]).toEqual([...want.min]);
      expect([...got.max]).toEqual([...want.max]);
      expect(got.zeros).toBe(values.filter((v) => v === 0).length);
      expect(got.zeros).toBe(want.zeros);
      let off = 0;
      for (let i = 0; i < want.data.length; i++) if (got.data[i] !== want.data[i] && i !== 3 * H * W) off++;
      // The JS path computes in float64: a value right on a rounding boundary may land either side.
      expect(off).toBeLessThanOrEqual(Math.ceil(want.data.length / 1000));
      // Into a recycled buffer: the same bytes, no new array.
      const into = new Uint8Array(H * W * C).fill(7);
      const again = q.quantize(src, H, W, C, { into });
      expect(again.data).toBe(into);
      expect(Buffer.from(into).equals(Buffer.from(got.data))).toBe(true);
      expect(() => q.quantize(src, H, W, C, { into: new Uint8Array(3) })).toThrow(/frame buffer of 3 bytes/);
      // One scratch block, reused across calls, freed by release().
      expect(h.allocs.length).toBe(2);
      q.release();
      expect(h.allocs).toEqual([src]);
    });
  }

  it('finishes min/max into the zero count and min / scale exactly as JavaScript computes them (float64, rounded once)', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const module = new WebAssembly.Module(kernelModuleBytes() as Uint8Array<ArrayBuffer>);
    const finish = new WebAssembly.Instance(module, { env: { memory } }).exports.finish as (
      out: number,
      c4: number,
      c: number,
    ) => number;
    const C4 = 64;
    const C = 61; // the last three are padding channels: their zero counts are not the layer's
    const rnd = seeded(2 * C4, 7);
    const min = new Float32Array(C4);
    const max = new Float32Array(C4);
    for (let c = 0; c < C4; c++) {
      const a = rnd[2 * c] * 10 ** ((c % 9) - 4);
      min[c] = a;
      max[c] = a + Math.abs(rnd[2 * c + 1]) * 10 ** ((c % 7) - 3);
    }
    // Edges: equal, infinite, all NaN (minmax leaves +Infinity / −Infinity), a denormal range, an overflowing scale.
    const edges: [number, number][] = [[5, 5], [-Infinity, 2], [1, Infinity], [Infinity, -Infinity], [0, 1e-40], [1, 1 + 2 ** -23], [-3e38, 3e38]]; // prettier-ignore
    edges.forEach(([lo, hi], k) => {
      min[k] = lo;
      max[k] = hi;
    });
    const f = new Float32Array(memory.buffer, 0, 4 * C4);
    f.set(min, 0);
    f.set(max, C4);
    new Int32Array(memory.buffer, 8 * C4, C4).set(Array.from({ length: C4 }, (_, c) => c + 1));
    expect(finish(0, C4, C)).toBe((C * (C + 1)) / 2);
    const want = { min: new Float32Array(C4), max: new Float32Array(C4), scale: new Float32Array(C4) };
    for (let c = 0; c < C4; c++) {
      const allNaN = min[c] > max[c];
      want.min[c] = allNaN ? 0 : min[c];
      want.max[c] = allNaN ? 0 : max[c];
      want.scale[c] = want.max[c] > want.min[c] ? 255 / (want.max[c] - want.min[c]) : 0;
    }
    expect([...f.subarray(0, C4)]).toEqual([...want.min]);
    expect([...f.subarray(C4, 2 * C4)]).toEqual([...want.max]);
    expect([...f.subarray(2 * C4, 3 * C4)]).toEqual([...want.min]);
    expect([...f.subarray(3 * C4, 4 * C4)]).toEqual([...want.scale]);
    // The float32 quotient would differ: the test can tell the two apart.
    const f32 = (c: number) => Math.fround(255 / Math.fround(want.max[c] - want.min[c]));
    expect(want.scale.some((s, c) => c >= edges.length && s !== f32(c))).toBe(true);
  });

  for (const relaxed of [true, false]) {
    it(`turns values into bytes exactly as trunc(y + 0.5) does at every edge${relaxed ? ' (relaxed SIMD)' : ''}: ties, 255, NaN, ±Infinity`, () => {
      // 4 × 4 pixels × 8 channels. Channel 0 spans 0..255 (scale 1), so its values are the byte boundaries
      // themselves: k − 0.5 and k + 0.5 exactly, and the floats either side of them. Channel 1 holds +Infinity
      // (scale 0: every byte 0, the infinite one NaN inside the kernel), channel 2 −Infinity, channel 3 a NaN
      // among finite values, channel 4 all NaN, channel 5 a constant, channel 6 a tiny range far from zero.
      const HW = 16;
      const C = 8;
      const below = (x: number) => x - Math.abs(x) * 2 ** -24;
      const above = (x: number) => x + Math.abs(x) * 2 ** -24;
      const ch0 = [
        0,
        255,
        0.5,
        1.5,
        254.5,
        below(0.5),
        above(0.5),
        below(1.5),
        above(1.5),
        below(254.5),
        127.5,
        128.5,
        2.5,
        3.5,
        0.49999997,
        100,
      ];
      const col = (c: number, p: number): number => {
        switch (c) {
          case 0: return ch0[p];
          case 1: return p === 5 ? Infinity : p;
          case 2: return p === 9 ? -Infinity : 1 - p;
          case 3: return p === 2 ? NaN : p * 0.25;
          case 4: return NaN;
          case 5: return 3;
          case 6: return 1000 + p * 2 ** -13;
          default: return Math.sin(p);
        }
      }; // prettier-ignore
      const values = new Float32Array(HW * C);
      for (let p = 0; p < HW; p++) for (let c = 0; c < C; c++) values[p * C + c] = col(c, p);
      const h = heap();
      const q = WasmQuantizer.create(h, { relaxed })!;
      const src = h.malloc(values.byteLength);
      new Float32Array(h.memory.buffer, src, values.length).set(values);
      const got = q.quantize(src, 4, 4, C);
      expect(Buffer.from(got.data).equals(Buffer.from(scalarF32(values, HW, C)))).toBe(true);
      expect(Buffer.from(got.data).equals(Buffer.from(q.quantize(src, 4, 4, C, { perPixel: true }).data))).toBe(true);
      // Spelled out for channel 0 (scale 1): byte = trunc(fl(v + 0.5)), so x.5 goes up and the float below it does
      // not — except below 0.5, where v + 0.5 rounds to 1 in float32 (half an ulp), as every path computes it.
      expect([...got.data.subarray(0, HW)]).toEqual([0, 255, 1, 2, 255, 1, 1, 1, 2, 254, 128, 129, 3, 4, 1, 100]);
      expect([...got.data.subarray(HW, 2 * HW)]).toEqual(new Array(HW).fill(0)); // scale 0 beside +Infinity
      expect([...got.data.subarray(4 * HW, 5 * HW)]).toEqual(new Array(HW).fill(0)); // all NaN
      const ranges = [1, 2, 4].map((c) => [got.min[c], got.max[c]]);
      expect(ranges).toEqual([
        [0, Infinity],
        [-Infinity, 1],
        [0, 0],
      ]);
    });
  }
});
