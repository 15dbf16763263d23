/**
 * `npm run bench -- --kernels`: the extraction kernel (wasm-quantize.ts) on MobileNetV2's layer shapes at
 * 224 × 224 (each repeated about as often as the network has it), in one process and one run: the blocked kernel as
 * the engine runs it — with relaxed SIMD's truncation (Chromium, Electron, Node ≥ 22, and Node 20 through V8's
 * flag, which the Node engine and this bench switch on) and with the floor + 2^23 conversion (runtimes without
 * relaxed SIMD) — against its per-pixel reference kernel and the JavaScript quantizer (quantize.ts). The same values; reps alternate between the variants, so a busy machine slows them alike.
 * Medians in ms per sweep of the shapes, and each as a ratio to the JavaScript path.
 *
 *   npm run -s bench -- --kernels [--reps 15] [--json]
 */
import { setFlagsFromString } from 'node:v8';
import { quantizeNHWC } from '../renderer/src/engine/quantize';

/** MobileNetV2's distinct layer shapes at 224 × 224 [H, W, C], each with a repeat count roughly as the network has it. */
const SHAPES: [number, number, number, number][] = [
  [112, 112, 32, 4],
  [112, 112, 16, 2],
  [112, 112, 96, 3],
  [56, 56, 96, 2],
  [56, 56, 24, 5],
  [56, 56, 144, 8],
  [28, 28, 144, 3],
  [28, 28, 32, 7],
  [28, 28, 192, 14],
  [14, 14, 192, 3],
  [14, 14, 64, 7],
  [14, 14, 384, 20],
  [14, 14, 96, 5],
  [14, 14, 576, 9],
  [7, 7, 576, 3],
  [7, 7, 160, 5],
  [7, 7, 960, 12],
  [7, 7, 320, 2],
  [7, 7, 1280, 3],
];

export interface KernelRow {
  variant: string;
  ms: number;
  /** The JavaScript quantizer's time over this variant's. */
  speedup: number;
}

/** A WebAssembly memory with a bump allocator: all the kernel needs from tfjs-backend-wasm's heap. */
function bumpHeap(bytes: number) {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) + 16 });
  let top = 1024;
  return {
    memory,
    malloc(n: number) {
      const p = top;
      top += Math.ceil(n / 16) * 16;
      if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
      return p;
    },
    free() {},
  };
}

export async function runKernelBench(opts: { reps?: number } = {}): Promise<KernelRow[]> {
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  const { WasmQuantizer } = await import('../renderer/src/engine/wasm-quantize');
  const reps = opts.reps ?? 15;
  // Post-activation-like values: a third exact zeros, the rest spread over a channel-dependent range.
  const layers = SHAPES.map(([H, W, C, count]) => {
    const values = new Float32Array(H * W * C);
    for (let i = 0; i < values.length; i++) values[i] = i % 3 === 0 ? 0 : Math.sin(i * 0.37) * (1 + (i % C) / C) * 3;
    return { H, W, C, count, values };
  });
  const total = layers.reduce((a, l) => a + l.values.byteLength, 0);
  /** A kernel on a memory of its own holding every layer (the engine quantizes in place in tfjs's heap). */
  const kernel = (relaxed: boolean) => {
    const heap = bumpHeap(2 * total);
    const q = WasmQuantizer.create(heap, { relaxed });
    if (!q) throw new Error('this runtime has no WebAssembly SIMD');
    const at = layers.map((l) => {
      const p = heap.malloc(l.values.byteLength);
      new Float32Array(heap.memory.buffer, p, l.values.length).set(l.values);
      return p;
    });
    return (perPixel = false) =>
      layers.forEach((l, k) => {
        for (let i = 0; i < l.count; i++) q.quantize(at[k], l.H, l.W, l.C, { perPixel });
      });
  };
  const withRelaxed = kernel(true);
  const withFloor = kernel(false);
  const variants: [string, () => void][] = [
    ['blocked, relaxed SIMD truncation', () => withRelaxed()],
    ['blocked, floor + 2^23 (no relaxed SIMD)', () => withFloor()],
    ['per-pixel reference kernel', () => withRelaxed(true)],
    [
      'JavaScript (quantize.ts)',
      () =>
        layers.forEach((l) => {
          for (let i = 0; i < l.count; i++) quantizeNHWC(l.values, l.H, l.W, l.C);
        }),
    ],
  ];
  const times = variants.map(() => [] as number[]);
  for (let r = 0; r < reps + 2; r++) {
    variants.forEach(([, run], k) => {
      const t = performance.now();
      run();
      if (r >= 2) times[k].push(performance.now() - t);
    });
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const ms = times.map(median);
  const js = ms[ms.length - 1];
  return variants.map(([variant], k) => ({
    variant,
    ms: Math.round(ms[k] * 100) / 100,
    speedup: Math.round((js / ms[k]) * 100) / 100,
  }));
}

export function kernelTable(rows: KernelRow[]): string {
  const values = SHAPES.reduce((a, [H, W, C, n]) => a + H * W * C * n, 0);
  return [
    `Extraction kernels on MobileNetV2's layer shapes, repeated about as the network has them (${(values / 1e6).toFixed(1)} M values per pass; min/max, zero count, 8-bit quantize, channel-major)`,
    '',
    'variant                                     ms/pass   × JavaScript',
    ...rows.map((r) => `${r.variant.padEnd(44)}${String(r.ms).padEnd(10)}${r.speedup}`),
  ].join('\n');
}
