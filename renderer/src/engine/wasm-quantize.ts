/**
 * The wasm backend's extraction kernel: per-channel min/max and 8-bit quantization with the
 * channel-major transpose, as WebAssembly SIMD, run in place on the memory where tfjs-backend-wasm
 * keeps the activations (its exported WebAssembly.Memory is imported by this module). No float ever
 * leaves the wasm heap: one byte per value is copied out per layer. About 5–10× faster than the same
 * loops in JavaScript, which is what brings all-layer extraction close to plain inference on wasm.
 *
 * The module (four functions, about 3 kB) is assembled below from its opcodes, so there is no binary
 * file to ship or load. Used for NHWC float32 layers at full resolution (C padded to a multiple of 4); the
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
/** i32.const of a non-negative v (signed LEB128: a last byte with bit 6 set would read as negative). */
const i32c = (v: number) => {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>>= 7;
    if (!v && !(b & 0x40)) return [0x41, ...out, b];
    out.push(b | 0x80);
  }
};
const ADD = 0x6a;
const I32_SUB = 0x6b;
const SELECT = 0x1b;
const MUL = 0x6c;
const LT_U = 0x49;
const GE_U = 0x4f;
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
/** v128.load / v128.store with memarg align 2^2 and a constant byte offset. */
const vload = (offset = 0) => simd(0x00, 2, ...uleb(offset));
const vstore = (offset = 0) => simd(0x0b, 2, ...uleb(offset));
const V_LOAD = vload();
const V_STORE = vstore();
/** v128.const of four copies of the 32-bit pattern `bits`. */
const splat4 = (bits: number) =>
  simd(0x0c, ...[0, 1, 2, 3].flatMap(() => [bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, bits >>> 24]));
const F32X4_ADD = simd(0xe4);
const F32X4_SUB = simd(0xe5);
/** v128.const of four float32 0.5. */
const HALF = splat4(0x3f000000);
const F32X4_MUL = simd(0xe6);
const F32X4_EQ = simd(0x41); // lanes: all ones where a == b (so -0 == 0), else 0
const I32X4_SUB = simd(0xb1);
/** v128.const of four zeros. */
const ZERO = simd(0x0c, ...new Array<number>(16).fill(0));
const F32X4_PMIN = simd(0xea); // b < a ? b : a — a NaN in b is ignored
const F32X4_PMAX = simd(0xeb); // a < b ? b : a
const I32X4_TRUNC_SAT_U = simd(0xf9);
/**
 * i32x4.relaxed_trunc_f32x4_s (relaxed SIMD): one cvttps2dq on x64 instead of trunc_sat's NaN and overflow fix-ups.
 * It differs from trunc_sat only for NaN (x64: INT32_MIN, which the unsigned narrowing saturates to 0 — trunc_sat's
 * answer) and for values ≥ 2^31, which the quantizer never produces (its values are 0.5..255.5 or NaN).
 */
const I32X4_RELAXED_TRUNC_S = simd(0x101);
const F32X4_FLOOR = simd(0x68);
/** v128.const of four 2^23 (0x4b000000): as floats, k + 2^23 has the integer k in its low mantissa bits. */
const MAGIC = splat4(0x4b000000);
const V_STORE_1 = simd(0x0b, 0, 0); // v128.store, align 2^0 (a row of bytes need not be aligned)
/**
 * i8x16.shuffle lanes of the 8- and 64-bit unpacks (x lanes 0–15, y lanes 16–31): V8 emits one punpck for each,
 * where another lane pattern is a pshufb on a mask it rebuilds in the loop at every use.
 */
const UNPACK_LO_8 = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];
const UNPACK_HI_8 = UNPACK_LO_8.map((k) => k + 8);
const UNPACK_LO_64 = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const UNPACK_HI_64 = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];
const lane = (k: number) => simd(0x1b, k); // i32x4.extract_lane
const STORE8 = [0x3a, 0, 0];
const SHL = 0x74;
const SHR_U = 0x76;
const I16X8_NARROW_U = simd(0x86); // i16x8.narrow_i32x4_u
const I8X16_NARROW_U = simd(0x66); // i8x16.narrow_i16x8_u
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const br = (d: number) => [0x0c, d];
const brIf = (d: number) => [0x0d, d];

/**
 * minmax(src, HW, C, out): out[0..C) = min, out[C..2C) = max over HW pixels of NHWC floats at src (±Infinity where
 * a channel is all NaN), and out[2C..3C) as int32 = the number of exact zeros per channel: the channel health's
 * sparsity, counted in the same pass over the values (each lane of f32x4.eq is −1 or 0, so subtracting it counts).
 * It sets out to ±Infinity and 0 itself first.
 *
 * Tiled: for a tile of TILE pixels (TILE·C floats, in L1/L2 for every layer up to C = 1280), channels are swept
 * down the tile with their min, max and count in registers and merged into `out` once per tile, rather than loaded
 * from and stored to `out` for every pixel (six memory operations per vector, on store-to-load dependency chains
 * when C is small). Eight channels (two vectors) are swept at once while C allows, then the rest four at a time:
 * a min, max or count of one vector depends on the same register's value one pixel earlier, so one vector per
 * pixel waits on the min's latency (about three cycles), where two independent chains keep the core busy — 1.2×
 * the one-vector sweep in V8 on x64, measured side by side; three or four vectors (9–13 live registers) were slower
 * again (spills).
 * Within a channel the pixels are still visited in order, so which of ±0 is kept as min or max is the same as a
 * pixel-by-pixel loop's.
 * Locals: 4 cb (C·4), 5 row, 6 srcEnd, 7 tileEnd, 8 c, 9 ptr, 10 end, 11 a; 12 v, then G × (mn, mx, z) (v128).
 */
const TILE = 32;
/** Channel groups (of four) swept together by minmax's wide loop. */
const MINMAX_GROUPS = 2;
const MINMAX = (() => {
  const load = (g: number) => vload(16 * g); // group g's vector
  const store = (g: number) => vstore(16 * g);
  const mn = (g: number) => 13 + 3 * g;
  const mx = (g: number) => 14 + 3 * g;
  const z = (g: number) => 15 + 3 * g;
  const range = (G: number) => Array.from({ length: G }, (_, g) => g);
  /** Sweeps groups c..c+G of the tile [row, tileEnd) and merges them into out (a = out + c). */
  const sweep = (G: number) => [
    ...get(3), ...get(8), ADD, ...set(11),
    ...range(G).flatMap((g) => [
      ...get(11), ...load(g), ...set(mn(g)),
      ...get(11), ...get(4), ADD, ...load(g), ...set(mx(g)),
      ...get(11), ...get(4), ADD, ...get(4), ADD, ...load(g), ...set(z(g)),
    ]),
    ...get(5), ...get(8), ADD, ...set(9),
    ...get(7), ...get(8), ADD, ...set(10),
    ...LOOP,
    ...range(G).flatMap((g) => [
      ...get(9), ...load(g), ...set(12),
      ...get(mn(g)), ...get(12), ...F32X4_PMIN, ...set(mn(g)),
      ...get(mx(g)), ...get(12), ...F32X4_PMAX, ...set(mx(g)),
      ...get(z(g)), ...get(12), ...ZERO, ...F32X4_EQ, ...I32X4_SUB, ...set(z(g)),
    ]),
    ...get(9), ...get(4), ADD, ...tee(9), ...get(10), LT_U, ...brIf(0),
    END,
    ...range(G).flatMap((g) => [
      ...get(11), ...get(mn(g)), ...store(g),
      ...get(11), ...get(4), ADD, ...get(mx(g)), ...store(g),
      ...get(11), ...get(4), ADD, ...get(4), ADD, ...get(z(g)), ...store(g),
    ]),
    ...get(8), ...i32c(16 * G), ADD, ...set(8),
  ]; // prettier-ignore
  const body = [
    ...get(2), ...i32c(4), MUL, ...set(4),
    // out = [+Infinity × C, −Infinity × C, 0 × C]
    ...i32c(0), ...set(8),
    ...LOOP,
    ...get(3), ...get(8), ADD, ...set(11),
    ...get(11), ...splat4(0x7f800000), ...V_STORE,
    ...get(11), ...get(4), ADD, ...splat4(0xff800000), ...V_STORE,
    ...get(11), ...get(4), ADD, ...get(4), ADD, ...ZERO, ...V_STORE,
    ...get(8), ...i32c(16), ADD, ...tee(8), ...get(4), LT_U, ...brIf(0),
    END,
    ...get(0), ...set(5),
    ...get(0), ...get(1), ...get(4), MUL, ADD, ...set(6),
    ...BLOCK, ...LOOP,
    ...get(5), ...get(6), GE_U, ...brIf(1),
    // tileEnd = row + min(TILE·cb, srcEnd − row)
    ...get(5), ...i32c(TILE), ...get(4), MUL, ...get(6), ...get(5), I32_SUB,
    ...i32c(TILE), ...get(4), MUL, ...get(6), ...get(5), I32_SUB, LT_U, SELECT, ADD, ...set(7),
    ...i32c(0), ...set(8),
    // Wide: while c + 16·G ≤ cb.
    ...BLOCK, ...LOOP,
    ...get(4), ...get(8), ...i32c(16 * MINMAX_GROUPS), ADD, LT_U, ...brIf(1),
    ...sweep(MINMAX_GROUPS),
    ...br(0),
    END, END,
    // Narrow: one group at a time while c < cb.
    ...BLOCK, ...LOOP,
    ...get(8), ...get(4), GE_U, ...brIf(1),
    ...sweep(1),
    ...br(0),
    END, END,
    ...get(7), ...set(5),
    ...br(0),
    END, END,
    END,
  ]; // prettier-ignore
  return [
    ...vec([
      [8, I32],
      [1 + 3 * MINMAX_GROUPS, V128],
    ]),
    ...body,
  ];
})();

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

/**
 * Code that turns the vector y of 0.5..255.5 or NaN on the stack into trunc(y), NaN → 0 once narrowed.
 * Relaxed SIMD: one cvttps2dq (x64); NaN gives INT32_MIN, which the unsigned narrowing saturates to 0.
 */
const RELAXED_TO_INT = I32X4_RELAXED_TRUNC_S;

/**
 * Without relaxed SIMD: floor, + 2^23 (exact: the integer k lands in the low mantissa bits) and − 0x4b000000 as
 * integers, which leaves k — trunc = floor for y ≥ 0. Three single instructions on x64 where V8's
 * i32x4.trunc_sat_f32x4_s is eight (its NaN and overflow fix-ups). A NaN stays NaN through floor and the add; less
 * 0x4b000000 its bits are ≥ 0x34800000 or negative, and the narrowing sends both to 0 (i32 → u16 saturates the
 * first to 65535, which the signed i16 → u8 narrowing reads as −1): the same bytes as trunc_sat, which the tests
 * check on ties, NaN and infinities.
 */
const FLOOR_TO_INT = [...F32X4_FLOOR, ...get(25), ...F32X4_ADD, ...get(25), ...I32X4_SUB]; // + MAGIC, − MAGIC

/**
 * quantize(src, HW, C, ms, dst): byte at dst[c·HW + p] = trunc((v − min[c])·scale[c] + 0.5) with
 * ms = [min × C, scale × C]. Subtracting first keeps float32 exact where |min| ≫ max − min.
 *
 * Blocked 16 pixels × 4 channels: sixteen vectors (pixels p..p+15, channels c..c+3) are quantized with exactly the
 * arithmetic of the per-pixel loop and narrowed four pixels at a time to 16 bytes (i32 → i16 → u8, saturating: the
 * values are 0.5..255.5 already, where the signed truncation V8 does in fewer instructions gives the same integers
 * as the unsigned one), transposed from pixel-major to channel-major by sixteen unpacks (three rounds of byte
 * interleaves, then one of 64-bit halves) and written as one 16-byte store per channel row — instead of 64
 * single-byte stores that each touch another channel's row. The HW % 16 tail pixels take the per-pixel loop. How a value becomes an integer is `toInt` (the same bytes
 * either way): relaxed SIMD's truncation where the runtime has it, else FLOOR_TO_INT.
 * Locals: 5 cb, 6 p, 7 ptr, 8 c, 9 d, 10 q (v128); 11 hw16, 12 a, 13 dp; 14 mn, 15 sc, 16–23 the transpose, 24 HALF,
 * 25 MAGIC (v128: V8 builds a v128.const in the loop with several instructions at every use, a local is a register).
 */
const quantizeCode = (toInt: number[]) => {
  /** Pushes trunc((load(a) − mn)·sc + 0.5), NaN → 0, and moves a to the next pixel. */
  const quantNext = [
    ...get(12), ...V_LOAD, ...get(14), ...F32X4_SUB, ...get(15), ...F32X4_MUL, ...get(24), ...F32X4_ADD,
    ...toInt,
    ...get(12), ...get(5), ADD, ...set(12),
  ]; // prettier-ignore
  /** Four pixels' 4 channels as 16 bytes, pixel-major (4k + j: pixel k, channel j), into local `to`. */
  const fourPixels = (to: number) => [
    ...quantNext, ...quantNext, ...I16X8_NARROW_U, ...quantNext, ...quantNext, ...I16X8_NARROW_U, ...I8X16_NARROW_U,
    ...set(to),
  ]; // prettier-ignore
  const shuffle = (x: number, y: number, lanes: number[], to: number) => [
    ...get(x),
    ...get(y),
    ...simd(0x0d, ...lanes),
    ...set(to),
  ];
  const storeRow = (from: number) => [...get(13), ...get(from), ...V_STORE_1, ...get(13), ...get(1), ADD, ...set(13)];
  const body = [
    ...get(2), ...i32c(4), MUL, ...set(5),
    ...i32c(0), ...set(6),
    ...get(0), ...set(7),
    ...HALF, ...set(24),
    ...MAGIC, ...set(25),
    // hw16 = (HW >> 4) << 4
    ...get(1), ...i32c(4), SHR_U, ...i32c(4), SHL, ...set(11),
    // Blocked: pixels [0, hw16) in sixteens.
    ...BLOCK, ...LOOP,
    ...get(6), ...get(11), GE_U, ...brIf(1),
    ...i32c(0), ...set(8),
    ...get(4), ...get(6), ADD, ...set(13),
    ...LOOP,
    ...get(3), ...get(8), ADD, ...V_LOAD, ...set(14),
    ...get(3), ...get(5), ADD, ...get(8), ADD, ...V_LOAD, ...set(15),
    ...get(7), ...get(8), ADD, ...set(12),
    ...fourPixels(16), ...fourPixels(17), ...fourPixels(18), ...fourPixels(19),
    // b_i = pixels 4i..4i+3, four channel bytes each. Interleaving bytes of b0 with b1 (and b2 with b3) pairs pixel
    // k with k + 4; two more rounds leave each channel's pixels 0–7 (or 8–15) in order, one 8-byte half per
    // channel; the 64-bit unpacks join the halves into channel rows 0–3.
    ...shuffle(16, 17, UNPACK_LO_8, 20), ...shuffle(16, 17, UNPACK_HI_8, 21),
    ...shuffle(18, 19, UNPACK_LO_8, 22), ...shuffle(18, 19, UNPACK_HI_8, 23),
    ...shuffle(20, 21, UNPACK_LO_8, 16), ...shuffle(20, 21, UNPACK_HI_8, 17),
    ...shuffle(22, 23, UNPACK_LO_8, 18), ...shuffle(22, 23, UNPACK_HI_8, 19),
    ...shuffle(16, 17, UNPACK_LO_8, 20), ...shuffle(16, 17, UNPACK_HI_8, 21),
    ...shuffle(18, 19, UNPACK_LO_8, 22), ...shuffle(18, 19, UNPACK_HI_8, 23),
    ...shuffle(20, 22, UNPACK_LO_64, 16), ...shuffle(20, 22, UNPACK_HI_64, 17),
    ...shuffle(21, 23, UNPACK_LO_64, 18), ...shuffle(21, 23, UNPACK_HI_64, 19),
    ...storeRow(16), ...storeRow(17), ...storeRow(18), ...storeRow(19),
    ...get(8), ...i32c(16), ADD, ...tee(8), ...get(5), LT_U, ...brIf(0),
    END,
    ...get(7), ...get(5), ...i32c(16), MUL, ADD, ...set(7),
    ...get(6), ...i32c(16), ADD, ...set(6),
    ...br(0),
    END, END,
    // Tail: pixels [hw16, HW) one at a time.
    ...PIXEL_LOOP,
    END,
  ]; // prettier-ignore
  return [
    ...vec([
      [5, I32],
      [1, V128],
      [3, I32],
      [12, V128],
    ]),
    ...body,
  ];
};

const F32X4_GT = simd(0x44);
const I32_LOAD = [0x28, 2, 0]; // i32.load, align 2^2, offset 0
const V128_AND = simd(0x4e);
const V128_ANDNOT = simd(0x4f); // a & ~b
const F64X2_PROMOTE_LOW = simd(0x5f);
const F32X4_DEMOTE_ZERO = simd(0x5e);
const F64X2_SUB = simd(0xf1);
const F64X2_DIV = simd(0xf3);
/** v128.const of two float64 255 (0x406fe00000000000, little-endian). */
const F64X2_255 = simd(0x0c, ...[0, 0, 0, 0, 0, 0xe0, 0x6f, 0x40, 0, 0, 0, 0, 0, 0xe0, 0x6f, 0x40]);
/** i8x16.shuffle lanes that move the upper two float32 of x to the lower two (for promote_low). */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/**
 * finish(out, C4, C) → zeros: after minmax, the zero count of the first C channels, then per channel: an all-NaN
 * channel's ±Infinity become 0, 0; min stays at out[0..C4), max at out[C4..2C4); out[2C4..3C4) = min and
 * out[3C4..4C4) = scale = 255 / (max − min), or 0 where max = min — quantize's `ms`. The scale is computed as
 * JavaScript computes it (float64 difference and quotient, rounded once to float32: promote, subtract, divide,
 * demote), so every path quantizes with the same float32 scale.
 * Locals: 3 c (bytes), 4 zeros, 5 a; 6 mn, 7 mx, 8 all-NaN mask (v128); 9 cb (C4·4).
 */
const FINISH = (() => {
  /** Pushes scale for the two channels that `half` (nothing: lanes 0–1; HIGH_HALF: lanes 2–3) brings down. */
  const scaleOf = (half: (v: number) => number[]) => [
    ...F64X2_255,
    ...half(7), ...F64X2_PROMOTE_LOW, ...half(6), ...F64X2_PROMOTE_LOW, ...F64X2_SUB,
    ...F64X2_DIV, ...F32X4_DEMOTE_ZERO,
  ]; // prettier-ignore
  const low = (v: number) => get(v);
  const high = (v: number) => [...get(v), ...get(v), ...simd(0x0d, ...HIGH_HALF)];
  const body = [
    // zeros = Σ int32 out[2·C4 + c] for c < C
    ...get(0), ...get(1), ...i32c(8), MUL, ADD, ...set(5),
    ...BLOCK, ...LOOP,
    ...get(3), ...get(2), ...i32c(4), MUL, GE_U, ...brIf(1),
    ...get(4), ...get(5), ...get(3), ADD, ...I32_LOAD, ADD, ...set(4),
    ...get(3), ...i32c(4), ADD, ...set(3),
    ...br(0),
    END, END,
    ...get(1), ...i32c(4), MUL, ...set(9),
    ...i32c(0), ...set(3),
    ...LOOP,
    ...get(0), ...get(3), ADD, ...set(5),
    ...get(5), ...V_LOAD, ...set(6),
    ...get(5), ...get(9), ADD, ...V_LOAD, ...set(7),
    ...get(6), ...get(7), ...F32X4_GT, ...set(8),
    ...get(6), ...get(8), ...V128_ANDNOT, ...set(6),
    ...get(7), ...get(8), ...V128_ANDNOT, ...set(7),
    ...get(5), ...get(6), ...V_STORE,
    ...get(5), ...get(9), ADD, ...get(7), ...V_STORE,
    ...get(5), ...get(9), ADD, ...get(9), ADD, ...get(6), ...V_STORE,
    ...get(5), ...get(9), ADD, ...get(9), ADD, ...get(9), ADD,
    ...scaleOf(low), ...scaleOf(high), ...simd(0x0d, ...UNPACK_LO_64),
    ...get(7), ...get(6), ...F32X4_GT, ...V128_AND,
    ...V_STORE,
    ...get(3), ...i32c(16), ADD, ...tee(3), ...get(9), LT_U, ...brIf(0),
    END,
    ...get(4),
    END,
  ]; // prettier-ignore
  return [
    ...vec([
      [3, I32],
      [3, V128],
      [1, I32],
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

/** The module's bytes; `relaxed`: the quantize kernel truncates with relaxed SIMD (see quantizeCode). */
export function kernelModuleBytes(relaxed = false): Uint8Array {
  const t4 = [0x60, ...vec([[I32], [I32], [I32], [I32]]), 0x00];
  const t5 = [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0x00];
  const t3r = [0x60, ...vec([[I32], [I32], [I32]]), ...vec([[I32]])];
  const code = (fn: number[]) => [...uleb(fn.length), ...fn];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([t4, t5, t3r])),
    ...section(2, vec([[...str('env'), ...str('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0], [1], [1], [2]])),
    ...section(
      7,
      vec([
        [...str('minmax'), 0x00, 0],
        [...str('quantize'), 0x00, 1],
        [...str('quantize_pixels'), 0x00, 2],
        [...str('finish'), 0x00, 3],
      ]),
    ),
    ...section(10, vec([
      code(MINMAX),
      code(quantizeCode(relaxed ? RELAXED_TO_INT : FLOOR_TO_INT)),
      code(QUANTIZE_PIXELS),
      code(FINISH),
    ])),
  ]); // prettier-ignore
}

/** Copies NHWC `from` (C channels) into `to` with the channels padded with zeros to `to`'s multiple of 4. */
function padChannels(from: Float32Array, to: Float32Array, C: number): void {
  const C4 = (C + 3) & ~3;
  if (C4 === C) {
    to.set(from);
    return;
  }
  const P = from.length / C;
  if (C === 3) {
    // The RGB input, every image model's first frame: unrolled, twice as fast as the strided loops.
    for (let p = 0, i = 0, o = 0; p < P; p++, i += 3, o += 4) {
      to[o] = from[i];
      to[o + 1] = from[i + 1];
      to[o + 2] = from[i + 2];
      to[o + 3] = 0;
    }
    return;
  }
  to.fill(0);
  // Channel by channel: a strided copy each (about twice as fast in V8 as pixel by pixel with inner loops).
  for (let c = 0; c < C; c++) for (let p = 0, i = c, o = c; p < P; p++, i += C, o += C4) to[o] = from[i];
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
  /**
   * The layer's per-channel min and max (C each) and zero count where they are known exactly without reading its
   * values (known-stats.ts): then there is no min/max pass, and the frame carries these.
   */
  range?: { min: Float32Array; max: Float32Array; zeros: number };
}

/** Quantizes layers in place in the wasm heap; null where this runtime lacks SIMD or the memory is shared. */
export class WasmQuantizer {
  private readonly minmax: (src: number, hw: number, c: number, out: number) => void;
  private readonly quant: (src: number, hw: number, c: number, ms: number, dst: number) => void;
  private readonly quantPixels: (src: number, hw: number, c: number, ms: number, dst: number) => void;
  private readonly finish: (out: number, c4: number, c: number) => number;
  /** One scratch block in the heap, reused across layers (grown when a layer needs more). */
  private scratch = 0;
  private scratchBytes = 0;

  private constructor(
    private readonly heap: WasmHeap,
    instance: WebAssembly.Instance,
    /** Whether the quantize kernel truncates with relaxed SIMD. */
    readonly relaxed: boolean,
  ) {
    this.minmax = instance.exports.minmax as typeof this.minmax;
    this.quant = instance.exports.quantize as typeof this.quant;
    this.quantPixels = instance.exports.quantize_pixels as typeof this.quant;
    this.finish = instance.exports.finish as typeof this.finish;
  }

  /**
   * Instantiates the kernel against `heap.memory`, with relaxed SIMD where the runtime has it (unless `relaxed` is
   * false); null when that is not possible here.
   */
  static create(heap: WasmHeap, opts: { relaxed?: boolean } = {}): WasmQuantizer | null {
    try {
      if (typeof SharedArrayBuffer !== 'undefined' && heap.memory.buffer instanceof SharedArrayBuffer) return null;
      const relaxedBytes = kernelModuleBytes(true) as Uint8Array<ArrayBuffer>;
      const relaxed = opts.relaxed !== false && WebAssembly.validate(relaxedBytes);
      const module = new WebAssembly.Module(relaxed ? relaxedBytes : (kernelModuleBytes() as Uint8Array<ArrayBuffer>));
      return new WasmQuantizer(heap, new WebAssembly.Instance(module, { env: { memory: heap.memory } }), relaxed);
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
   * Quantizes the NHWC float32 layer at byte offset `src` into a channel-major frame. The heap scratch block is kept
   * for the next layer; `release()` frees it. A C that is not a multiple of 4 (an RGB input, a 5-class output) is
   * first copied once with its channels padded to the next multiple: the padding channels' rows are the last ones
   * of the channel-major result, so the frame is its first C rows.
   */
  quantize(src: number, H: number, W: number, C: number, opts: WasmQuantizeOptions = {}): QuantizedFrame {
    if (C % 4 === 0) return this.run(src, H, W, C, C, opts);
    return this.copied(
      H,
      W,
      C,
      (to) => padChannels(new Float32Array(this.heap.memory.buffer, src, H * W * C), to, C),
      opts,
    );
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
    return this.copied(H, W, C, (to) => padChannels(values, to, C), opts);
  }

  /** Runs the kernel on a heap copy of the layer with C padded to a multiple of 4, written by `fill`. */
  private copied(
    H: number,
    W: number,
    C: number,
    fill: (to: Float32Array) => void,
    opts: WasmQuantizeOptions,
  ): QuantizedFrame {
    const C4 = (C + 3) & ~3;
    const count = H * W * C4;
    this.block(16 * C4 + H * W * C4); // first, so the copy sits on top of it (the standalone stack allocator)
    const src = this.heap.malloc(4 * count);
    if (!src) throw new Error('wasm heap exhausted');
    try {
      fill(new Float32Array(this.heap.memory.buffer, src, count));
      return this.run(src, H, W, C4, C, opts);
    } finally {
      this.heap.free(src);
    }
  }

  /** The kernels on C4 channels (C4 % 4 === 0) at `src`, of which the first C are the frame. */
  private run(src: number, H: number, W: number, C4: number, C: number, opts: WasmQuantizeOptions): QuantizedFrame {
    const HW = H * W;
    const n = HW * C;
    if (opts.into && opts.into.length !== n)
      throw new Error(`frame buffer of ${opts.into.length} bytes for ${n} values`);
    // One block: min/max (2·C4 floats) + min/scale (2·C4 floats) + the bytes.
    const stats = this.block(16 * C4 + HW * C4);
    const ms = stats + 8 * C4;
    const dst = stats + 16 * C4;
    let zeros: number;
    const range = opts.range;
    if (range) {
      if (range.min.length !== C || range.max.length !== C)
        throw new Error(`a known range of ${range.min.length} channels for ${C}`);
      const given = new Float32Array(this.heap.memory.buffer, stats, 3 * C4);
      given.fill(0); // the padding channels' bounds, and no zero counts to add
      given.set(range.min, 0);
      given.set(range.max, C4);
      this.finish(stats, C4, C);
      zeros = range.zeros;
    } else {
      // All in the kernel: min/max and zero counts, then min/scale (JavaScript loops over C here cost ~10 µs a layer).
      this.minmax(src, HW, C4, stats);
      zeros = this.finish(stats, C4, C);
    }
    const f = new Float32Array(this.heap.memory.buffer, stats, 2 * C4);
    const min = f.slice(0, C);
    const max = f.slice(C4, C4 + C);
    (opts.perPixel ? this.quantPixels : this.quant)(src, HW, C4, ms, dst);
    const bytes = new Uint8Array(this.heap.memory.buffer, dst, n);
    const data = opts.into ?? new Uint8Array(n);
    data.set(bytes);
    return { shape: [H, W, C], min, max, data, zeros };
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
