/**
 * Effective receptive field and Grad-CAM cost as a ratio to one plain forward pass of the same model on the same
 * backend (issue 13 target: each ≤ 3×). MobileNetV2 (the bundled pretrained model, through the format registry and
 * the IR runner, as the engine runs it) on wasm in Node. Medians of warm runs; the forward baseline is
 * `IRRunner.predict` (every node, only the output kept, synchronous) read back with `data()`, and the EFR / Grad-CAM
 * times include their own read-backs of the maps.
 *
 *   npx tsx scripts/bench-gradients.ts [--reps 9] [--json] [--backend wasm|cpu]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { analyzeGraph } from '../renderer/src/analysis';
import { DifferentiableRunner, effectiveField, gradCam } from '../renderer/src/engine/gradients';
import { IRRunner } from '../renderer/src/engine/ir-runner';
import { openModelFiles } from '../renderer/src/formats';

export interface GradientBenchRow {
  what: string;
  medianMs: number;
  /** Median ÷ the forward pass's median. */
  ratio: number;
}

/** The target: each ≤ 3 forward passes. */
export const GRADIENT_TARGET_RATIO = 3;

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Times forward, EFR (a mid-network unit and a last-layer unit) and Grad-CAM on MobileNetV2. */
export async function runGradientBench(opts: { reps?: number; backend?: string } = {}): Promise<GradientBenchRow[]> {
  const reps = opts.reps ?? 9;
  await tf.setBackend(opts.backend ?? 'wasm');
  await tf.ready();
  const dir = resolve(fileURLToPath(new URL('../resources/models/mobilenetv2', import.meta.url)));
  const files = readdirSync(dir)
    .filter((f) => f === 'model.json' || f.endsWith('.bin'))
    .map((path) => ({ path, bytes: new Uint8Array(readFileSync(join(dir, path))) }));
  const opened = await openModelFiles(files, 'mobilenetv2');
  const analysis = analyzeGraph(opened.graph, { input: [224, 224] });
  const order = new Map(analysis.layers.map((l, i) => [l.id, i]));
  opened.graph.nodes.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  const runner = new IRRunner(opened.graph, opened.weights);
  const diff = new DifferentiableRunner(opened.graph, runner, opened.weights);
  const ctx = { graph: opened.graph, runner, diff, analysis, weights: opened.weights };
  const x = tf.tidy(() => tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 1));
  const jobs: { what: string; run: () => Promise<unknown> }[] = [
    {
      what: 'forward (IRRunner.predict)',
      run: async () => {
        const y = runner.predict(x);
        await y.data();
        y.dispose();
      },
    },
    {
      what: 'EFR block_6_expand_relu unit',
      run: () => effectiveField(ctx, x, { layer: 'block_6_expand_relu', channel: 3, y: 10, x: 10 }),
    },
    { what: 'EFR out_relu unit', run: () => effectiveField(ctx, x, { layer: 'out_relu', channel: 3, y: 3, x: 3 }) },
    { what: 'Grad-CAM (top class, out_relu)', run: () => gradCam(ctx, x) },
  ];
  try {
    for (let i = 0; i < 2; i++) for (const j of jobs) await j.run();
    const times = jobs.map(() => [] as number[]);
    // Interleaved rounds so a busy moment on a shared machine hits every job alike.
    for (let r = 0; r < reps; r++)
      for (let k = 0; k < jobs.length; k++) {
        const t0 = performance.now();
        await jobs[k].run();
        times[k].push(performance.now() - t0);
      }
    const base = median(times[0]);
    return jobs.map((j, k) => ({ what: j.what, medianMs: median(times[k]), ratio: median(times[k]) / base }));
  } finally {
    x.dispose();
    diff.dispose();
    runner.dispose();
  }
}

/** The text table. */
export function gradientTable(rows: GradientBenchRow[], backend: string): string {
  const w = Math.max(...rows.map((r) => r.what.length));
  const lines = [`Gradients on MobileNetV2 (${backend}), medians, ratio to one forward pass:`];
  for (const r of rows)
    lines.push(`  ${r.what.padEnd(w)}  ${r.medianMs.toFixed(1).padStart(7)} ms  ${r.ratio.toFixed(2)}×`);
  const worst = Math.max(...rows.slice(1).map((r) => r.ratio));
  lines.push(
    `Target: each ≤ ${GRADIENT_TARGET_RATIO}× the forward pass; worst ${worst.toFixed(2)}× ` +
      `(load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`,
  );
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (k: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const backend = opt('--backend') ?? 'wasm';
  const rows = await runGradientBench({ reps: opt('--reps') ? Number(opt('--reps')) : undefined, backend });
  console.log(args.includes('--json') ? JSON.stringify(rows) : gradientTable(rows, backend));
}
