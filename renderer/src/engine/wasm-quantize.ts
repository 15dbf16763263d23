/**
 * The wasm backend's extraction kernel: per-channel min/max and 8-bit quantization with the
 * channel-major transpose, as WebAssembly SIMD, run in place on the memory where tfjs-backend-wasm
 * keeps the activations (its exported WebAssembly.Memory is imported by this module). No float ever
 * leaves the wasm heap: one byte per value is copied out per layer. About 5–10× faster than the same
 * loops in JavaScript, which is what brings all-layer extraction close to plain inference on wasm.
 *
 * The module (two functions, ~150 bytes) is assembled below from its opcodes, so there is no binary
 * file to ship or load. Used for NHWC float32 layers with C a multiple of 4 at full resolution; the
 * JavaScript path (quantize.ts) does everything else, and the tests check both agree.
 */
import type { QuantizedFrame } from './quantize';

const I32 = 0x7f;
const V128 = 0x7b;

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const str = (s: string) => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// Instructions.
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32c = (v: number) => [0x41, ...uleb(v)]; // small non-negative constants only
const ADD = 0x6a;
const MUL = 0x6c;
const LT_U = 0x49;
const GE_U = 0x4f;
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const V_LOAD = simd(0x00, 2, 0); // memarg: align 2^2, offset 0
const V_STORE = simd(0x0b, 2, 0);
const F32X4_ADD = simd(0xe4);
const F32X4_SUB = simd(0xe5);
/** v128.const of four float32 0.5 (0x3f000000, little-endian). */
const HALF = simd(0x0c, ...[0, 0, 0, 0x3f, 0, 0, 0, 0x3f, 0, 0, 0, 0x3f, 0, 0, 0, 0x3f]);
const F32X4_MUL = simd(0xe6);
const F32X4_EQ = simd(0x41); // lanes: all ones where a == b (so -0 == 0), else 0
const I32X4_SUB = simd(0xb1);
/** v128.const of four zeros. */
const ZERO = simd(0x0c, ...new Array<number>(16).fill(0));
const F32X4_PMIN = simd(0xea); // b < a ? b : a — a NaN in b is ignored
const F32X4_PMAX = simd(0xeb); // a < b ? b : a
const I32X4_TRUNC_SAT_U = simd(0xf9);
const lane = (k: number) => simd(0x1b, k); // i32x4.extract_lane
const STORE8 = [0x3a, 0, 0];
const STORE32 = [0x36, 0, 0]; // i32.store, align 2^0 (rows need not be 4-byte aligned)
const SHL = 0x74;
const SHR_U = 0x76;
const I16X8_NARROW_U = simd(0x86); // i16x8.narrow_i32x4_u
const I8X16_NARROW_U = simd(0x66); // i8x16.narrow_i16x8_u
/** i8x16.shuffle that turns [pixel k][channel j] (index 4k + j) into [channel j][pixel k] (index 4j + k). */
const TRANSPOSE_4X4 = simd(0x0d, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const br = (d: number) => [0x0c, d];
const brIf = (d: number) => [0x0d, d];

/**
 * minmax(src, HW, C, out): out[0..C) = min, out[C..2C) = max over HW pixels of NHWC floats at src
 * (out holds ±Infinity on entry), and out[2C..3C) as int32 += the number of exact zeros per channel (0 on entry):
 * the channel health's sparsity, counted in the same pass over the values (each lane of f32x4.eq is −1 or 0, so
 * subtracting it counts). Locals: 4 cb (C·4), 5 end, 6 ptr, 7 c, 8 v.
 */
const MINMAX = (() => {
  const body = [
    ...get(2), ...i32c(4), MUL, ...set(4),
    ...get(0), ...get(1), ...get(4), MUL, ADD, ...set(5),
    ...get(0), ...set(6),
    ...BLOCK, ...LOOP,
    ...get(6), ...get(5), GE_U, ...brIf(1),
    ...i32c(0), ...set(7),
    ...LOOP,
    ...get(6), ...get(7), ADD, ...V_LOAD, ...set(8),
    // out[c] = pmin(out[c], v)
    ...get(3), ...get(7), ADD,
    ...get(3), ...get(7), ADD, ...V_LOAD, ...get(8), ...F32X4_PMIN, ...V_STORE,
    // out[C + c] = pmax(out[C + c], v)
    ...get(3), ...get(4), ADD, ...get(7), ADD,
    ...get(3), ...get(4), ADD, ...get(7), ADD, ...V_LOAD, ...get(8), ...F32X4_PMAX, ...V_STORE,
    // zeros[c] = zeros[c] − (v == 0), at out + 2·cb + c
    ...get(3), ...get(4), ADD, ...get(4), ADD, ...get(7), ADD,
    ...get(3), ...get(4), ADD, ...get(4), ADD, ...get(7), ADD, ...V_LOAD, ...get(8), ...ZERO, ...F32X4_EQ, ...I32X4_SUB,
    ...V_STORE,
    ...get(7), ...i32c(16), ADD, ...tee(7), ...get(4), LT_U, ...brIf(0),
    END,
    ...get(6), ...get(4), ADD, ...set(6),
    ...br(0),
    END, END,
    END,
  ]; // prettier-ignore
  return [
    ...vec([
      [4, I32],
      [1, V128],
    ]),
    ...body,
  ];
})();

/**
 * quantize(src, HW, C, ms, dst): byte at dst[c·HW + p] = trunc((v − min[c])·scale[c] + 0.5) with
 * ms = [min × C, scale × C]. Subtracting first keeps float32 exact where |min| ≫ max − min.
 *
 * Blocked 4 pixels × 4 channels: four vectors (pixels p..p+3, channels c..c+3) are quantized with exactly the
 * arithmetic of the per-pixel loop, narrowed to 16 bytes (i32 → i16 → u8, saturating: the values are 0..255
 * already), transposed with one shuffle and written as four 4-byte stores, one per channel row — instead of 16
 * single-byte stores that each touch another channel's row. The HW % 4 tail pixels take the per-pixel loop.
 * Locals: 5 cb, 6 p, 7 ptr, 8 c, 9 d, 10 q (v128); 11 hw4, 12 a, 13 dp; 14 mn, 15 sc, 16–19 q0–q3 (v128).
 */
/**
 * One pixel at a time from pixel `p` (local 6) to HW (param 1): the blocked kernel's tail and the whole of the
 * per-pixel reference kernel. Locals: 5 cb, 6 p, 7 ptr, 8 c, 9 d, 10 q.
 */
const PIXEL_LOOP = (() => {
  const storeLane = (k: number) => [...get(9), ...get(10), ...lane(k), ...STORE8, ...get(9), ...get(1), ADD, ...set(9)];
  return [
    ...BLOCK, ...LOOP,
    ...get(6), ...get(1), GE_U, ...brIf(1),
    ...i32c(0), ...set(8),
    ...get(4), ...get(6), ADD, ...set(9),
    ...LOOP,
    ...get(7), ...get(8), ADD, ...V_LOAD,
    ...get(3), ...get(8), ADD, ...V_LOAD, ...F32X4_SUB,
    ...get(3), ...get(5), ADD, ...get(8), ADD, ...V_LOAD, ...F32X4_MUL,
    ...HALF, ...F32X4_ADD,
    ...I32X4_TRUNC_SAT_U, ...set(10),
    ...storeLane(0), ...storeLane(1), ...storeLane(2), ...storeLane(3),
    ...get(8), ...i32c(16), ADD, ...tee(8), ...get(5), LT_U, ...brIf(0),
    END,
    ...get(7), ...get(5), ADD, ...set(7),
    ...get(6), ...i32c(1), ADD, ...set(6),
    ...br(0),
    END, END,
  ]; // prettier-ignore
})();

const QUANTIZE = (() => {
  /** q_k = trunc_sat((load(a) − mn)·sc + 0.5) into local `to`. */
  const quantAt = (to: number) => [
    ...get(12), ...V_LOAD, ...get(14), ...F32X4_SUB, ...get(15), ...F32X4_MUL, ...HALF, ...F32X4_ADD,
    ...I32X4_TRUNC_SAT_U, ...set(to),
  ]; // prettier-ignore
  const nextPixel = [...get(12), ...get(5), ADD, ...set(12)];
  const storeRow = (k: number) => [
    ...get(13),
    ...get(16),
    ...lane(k),
    ...STORE32,
    ...get(13),
    ...get(1),
    ADD,
    ...set(13),
  ];
  const body = [
    ...get(2), ...i32c(4), MUL, ...set(5),
    ...i32c(0), ...set(6),
    ...get(0), ...set(7),
    // hw4 = (HW >> 2) << 2
    ...get(1), ...i32c(2), SHR_U, ...i32c(2), SHL, ...set(11),
    // Blocked: pixels [0, hw4) in fours.
    ...BLOCK, ...LOOP,
    ...get(6), ...get(11), GE_U, ...brIf(1),
    ...i32c(0), ...set(8),
    ...get(4), ...get(6), ADD, ...set(13),
    ...LOOP,
    ...get(3), ...get(8), ADD, ...V_LOAD, ...set(14),
    ...get(3), ...get(5), ADD, ...get(8), ADD, ...V_LOAD, ...set(15),
    ...get(7), ...get(8), ADD, ...set(12),
    ...quantAt(16), ...nextPixel, ...quantAt(17), ...nextPixel, ...quantAt(18), ...nextPixel, ...quantAt(19),
    ...get(16), ...get(17), ...I16X8_NARROW_U, ...get(18), ...get(19), ...I16X8_NARROW_U, ...I8X16_NARROW_U,
    ...set(16), ...get(16), ...get(16), ...TRANSPOSE_4X4, ...set(16),
    ...storeRow(0), ...storeRow(1), ...storeRow(2), ...storeRow(3),
    ...get(8), ...i32c(16), ADD, ...tee(8), ...get(5), LT_U, ...brIf(0),
    END,
    ...get(7), ...get(5), ...i32c(4), MUL, ADD, ...set(7),
    ...get(6), ...i32c(4), ADD, ...set(6),
    ...br(0),
    END, END,
    // Tail: pixels [hw4, HW) one at a time.
    ...PIXEL_LOOP,
    END,
  ]; // prettier-ignore
  return [
    ...vec([
      [5, I32],
      [1, V128],
      [3, I32],
      [6, V128],
    ]),
    ...body,
  ];
})();

/**
 * quantize_pixels(src, HW, C, ms, dst): the per-pixel kernel the blocked one replaced, kept as its byte-for-byte
 * reference (tests). Same contract as `quantize`.
 * Locals: 5 cb, 6 p, 7 ptr, 8 c, 9 d, 10 q.
 */
const QUANTIZE_PIXELS = (() => {
  const body = [
    ...get(2), ...i32c(4), MUL, ...set(5),
    ...i32c(0), ...set(6),
    ...get(0), ...set(7),
    ...PIXEL_LOOP,
    END,
  ]; // prettier-ignore
  return [
    ...vec([
      [5, I32],
      [1, V128],
    ]),
    ...body,
  ];
})();

/** The module's bytes. */
export function kernelModuleBytes(): Uint8Array {
  const t4 = [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0x00];
  const t5 = [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0x00];
  const code = (fn: number[]) => [...uleb(fn.length), ...fn];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([t4, t5])),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0], [1], [1]])),
    ...section(
      7,
      vec([
        [...str('minmax'), 0x00, 0],
        [...str('quantize'), 0x00, 1],
        [...str('quantize_pixels'), 0x00, 2],
      ]),
    ),
    ...section(10, vec([code(MINMAX), code(QUANTIZE), code(QUANTIZE_PIXELS)])),
  ]); // prettier-ignore
}

/** What the kernel needs from tfjs-backend-wasm's Emscripten module. */
export interface WasmHeap {
  memory: WebAssembly.Memory;
  malloc(bytes: number): number;
  free(ptr: number): void;
}

/** Options of `WasmQuantizer.quantize`. */
export interface WasmQuantizeOptions {
  /** Where the frame's bytes go (a recycled frame buffer of exactly H·W·C bytes); a new array otherwise. */
  into?: Uint8Array;
  /** Run the per-pixel reference kernel instead of the blocked one (tests). */
  perPixel?: boolean;
}

/** Quantizes layers in place in the wasm heap; null where this runtime lacks SIMD or the memory is shared. */
export class WasmQuantizer {
  private readonly minmax: (src: number, hw: number, c: number, out: number) => void;
  private readonly quant: (src: number, hw: number, c: number, ms: number, dst: number) => void;
  private readonly quantPixels: (src: number, hw: number, c: number, ms: number, dst: number) => void;
  /** One scratch block in the heap, reused across layers (grown when a layer needs more). */
  private scratch = 0;
  private scratchBytes = 0;

  private constructor(
    private readonly heap: WasmHeap,
    instance: WebAssembly.Instance,
  ) {
    this.minmax = instance.exports.minmax as typeof this.minmax;
    this.quant = instance.exports.quantize as typeof this.quant;
    this.quantPixels = instance.exports.quantize_pixels as typeof this.quant;
  }

  /** Instantiates the kernel against `heap.memory`; null when that is not possible here. */
  static create(heap: WasmHeap): WasmQuantizer | null {
    try {
      if (typeof SharedArrayBuffer !== 'undefined' && heap.memory.buffer instanceof SharedArrayBuffer) return null;
      const module = new WebAssembly.Module(kernelModuleBytes() as Uint8Array<ArrayBuffer>);
      return new WasmQuantizer(heap, new WebAssembly.Instance(module, { env: { memory: heap.memory } }));
    } catch {
      return null; // no SIMD (or no synchronous compilation allowed): the JavaScript path is used
    }
  }

  /** A heap block of at least `bytes` (reused; malloc may grow the heap, so views are made after this). */
  private block(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratch) this.heap.free(this.scratch);
      this.scratch = 0;
      this.scratchBytes = 0;
      // Headroom, so a model's slightly larger layers do not reallocate every time.
      const want = Math.max(bytes + (bytes >> 2), 1 << 16);
      const p = this.heap.malloc(want);
      if (!p) throw new Error('wasm heap exhausted');
      this.scratch = p;
      this.scratchBytes = want;
    }
    return this.scratch;
  }

  /**
   * Quantizes the NHWC float32 layer at byte offset `src` (C % 4 === 0) into a channel-major frame. The heap
   * scratch block is kept for the next layer; `release()` frees it.
   */
  quantize(src: number, H: number, W: number, C: number, opts: WasmQuantizeOptions = {}): QuantizedFrame {
    const HW = H * W;
    const n = HW * C;
    if (opts.into && opts.into.length !== n)
      throw new Error(`frame buffer of ${opts.into.length} bytes for ${n} values`);
    // One block: min/max (2C floats) + min/scale (2C floats) + the bytes.
    const stats = this.block(16 * C + n);
    const ms = stats + 8 * C;
    const dst = stats + 16 * C;
    let f = new Float32Array(this.heap.memory.buffer, stats, 4 * C);
    f.fill(Infinity, 0, C);
    f.fill(-Infinity, C, 2 * C);
    f.fill(0, 2 * C, 3 * C); // the zero counts (int32 0 has float 0's bits)
    this.minmax(src, HW, C, stats);
    f = new Float32Array(this.heap.memory.buffer, stats, 4 * C);
    const min = f.slice(0, C);
    const max = f.slice(C, 2 * C);
    // Read before min / scale overwrite that part of the block.
    const counts = new Int32Array(this.heap.memory.buffer, stats + 8 * C, C);
    let zeros = 0;
    for (let c = 0; c < C; c++) zeros += counts[c];
    for (let c = 0; c < C; c++) {
      if (min[c] > max[c]) min[c] = max[c] = 0; // all NaN
      f[2 * C + c] = min[c];
      f[3 * C + c] = max[c] > min[c] ? 255 / (max[c] - min[c]) : 0;
    }
    (opts.perPixel ? this.quantPixels : this.quant)(src, HW, C, ms, dst);
    const bytes = new Uint8Array(this.heap.memory.buffer, dst, n);
    const data = opts.into ?? new Uint8Array(n);
    data.set(bytes);
    return { shape: [H, W, C], min, max, data, zeros };
  }

  /**
   * Quantizes NHWC floats that live outside the heap (the cpu backend's arrays): copied into the heap on top of
   * the scratch block (one memcpy, far cheaper than quantizing in JavaScript), quantized, and freed again.
   */
  quantizeValues(
    values: Float32Array,
    H: number,
    W: number,
    C: number,
    opts: WasmQuantizeOptions = {},
  ): QuantizedFrame {
    this.block(16 * C + H * W * C);
    const src = this.heap.malloc(values.byteLength);
    if (!src) throw new Error('wasm heap exhausted');
    try {
      new Float32Array(this.heap.memory.buffer, src, values.length).set(values);
      return this.quantize(src, H, W, C, opts);
    } finally {
      this.heap.free(src);
    }
  }

  /**
   * A kernel on a memory of its own (for the cpu backend, which keeps its tensors in JavaScript arrays): a stack
   * allocator, which is all `quantizeValues` needs (the scratch block below, one input block on top).
   */
  static standalone(): WasmQuantizer | null {
    const memory = new WebAssembly.Memory({ initial: 16 });
    let top = 16;
    return WasmQuantizer.create({
      memory,
      malloc(n: number) {
        const p = top;
        const end = p + Math.ceil(n / 16) * 16;
        if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
        top = end;
        return p;
      },
      free(p: number) {
        top = Math.min(top, p);
      },
    });
  }

  /** Frees the scratch block (the heap belongs to tfjs: give back what was taken). */
  release(): void {
    if (this.scratch) this.heap.free(this.scratch);
    this.scratch = 0;
    this.scratchBytes = 0;
  }
}
