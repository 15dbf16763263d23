/**
 * Builds the engine pages (test/engine/page: the check page index.html, the bench page bench.html) with Vite into a
 * temp folder, with resources/ (models, samples) as its public folder, serves it on 127.0.0.1 with the app's
 * headers, and opens one in Debian's Chromium. Used by the WebGL correctness e2e test, `npm run bench -- --browser`
 * and `--browser --app` (scripts/bench-app-pass.ts). Nothing is written into the repository.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../e2e/browser';
import { build } from 'vite';
// @ts-expect-error plain ESM helper without type declarations
import { serveStatic } from '../../scripts/static-server.mjs';
import type { EngineBench, PassSample } from './page/bench';
import type { BackendName } from '../../common/engine-protocol';

const ROOT = fileURLToPath(new URL('./page/', import.meta.url));
const RESOURCES = fileURLToPath(new URL('../../resources/', import.meta.url));
/** The probe both the app and the bench page get in the `--app` bench (see the file). */
export const PASS_PROBE = fileURLToPath(new URL('./pass-probe.js', import.meta.url));

type BenchWindow = { engineBench: EngineBench };

export interface EnginePage {
  page: Page;
  browser: Browser;
  url: string;
  errors: string[];
  close(): Promise<void>;
}

/** Vite-builds `root` (its config file, or none) into a temp folder and serves it; `close` stops and removes it. */
export async function buildAndServe(o: {
  root?: string;
  configFile?: string;
  input?: Record<string, string>;
}): Promise<{ url: string; close(): Promise<void> }> {
  const out = mkdtempSync(join(tmpdir(), 'fme-page-'));
  await build({
    configFile: o.configFile ?? false,
    ...(o.root ? { root: o.root, base: './', publicDir: RESOURCES, worker: { format: 'es' as const } } : {}),
    logLevel: 'warn',
    build: {
      outDir: out,
      emptyOutDir: true,
      target: 'es2022',
      reportCompressedSize: false,
      chunkSizeWarningLimit: 8000,
      ...(o.input ? { rollupOptions: { input: o.input } } : {}),
    },
  });
  const server: { url: string; close: () => Promise<void> } = await serveStatic(out, { port: 0 });
  return {
    url: server.url,
    async close() {
      await server.close();
      rmSync(out, { recursive: true, force: true });
    },
  };
}

/**
 * Builds, serves and opens the check page (or `entry`: 'bench.html'); `close` undoes all three. Given a `browser`,
 * the page opens there (in a context of its own) and `close` leaves the browser running.
 */
export async function openEnginePage(
  opts: { entry?: 'index.html' | 'bench.html'; browser?: Browser; initScript?: string } = {},
): Promise<EnginePage> {
  const server = await buildAndServe({
    root: ROOT,
    input: { index: join(ROOT, 'index.html'), bench: join(ROOT, 'bench.html') },
  });
  const browser = opts.browser ?? (await launchBrowser());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  if (opts.initScript) await page.addInitScript({ path: opts.initScript });
  await page.goto(`${server.url}${opts.entry ?? 'index.html'}`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, {
    timeout: 60_000,
  });
  return {
    page,
    browser,
    url: server.url,
    errors,
    async close() {
      if (opts.browser) await page.context().close();
      else await browser.close();
      await server.close();
    },
  };
}

/** Median (the mean of the middle two for an even count). */
export const median = (a: number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const round = (v: number, d = 1): number => Math.round(v * 10 ** d) / 10 ** d;

/** One row of `npm run bench -- --browser`: medians of `reps` warm passes in the engine Worker in Chromium. */
export interface BrowserBenchRow {
  model: string;
  backend: string;
  reps: number;
  /** Plain single-output predict (ms). */
  plainMs: number;
  /** All-layer extraction: forward + quantize + readback, as the engine reports it (ms). */
  allLayersMs: number;
  /** allLayersMs / plainMs. */
  ratio: number;
  /**
   * The median of each round's own ratio (its pass / the plain predict right after it): steadier than `ratio` on a
   * machine whose load changes between rounds.
   */
  pairedRatio: number;
  /** The page's main thread: analyze request → last frame received (ms). */
  wallMs: number;
  firstFrameMs: number;
  bytesPerValue: number;
  peakBytes: number;
  /** min–max of the all-layer and plain samples. */
  allLayersRange: [number, number];
  plainRange: [number, number];
  renderer: string;
}

/**
 * The bench's rows in Chromium (same definitions as scripts/bench.ts), per model and backend. wasm by default:
 * here WebGL is SwiftShader (correct, far too slow to time); pass `backends: ['webgl', 'wasm']` on a GPU machine.
 */
export async function runBrowserBench(opts: {
  models: string[];
  maxSide: number;
  reps?: number;
  backends?: BackendName[];
  log: (s: string) => void;
}): Promise<BrowserBenchRow[]> {
  const reps = Math.max(5, opts.reps ?? 5);
  const p = await openEnginePage({ entry: 'bench.html' });
  const rows: BrowserBenchRow[] = [];
  try {
    for (const model of opts.models) {
      for (const backend of opts.backends ?? ['wasm']) {
        opts.log(`${model} on ${backend} (Chromium, engine Worker), ${reps} warm reps…`);
        const r = await p.page.evaluate((o) => (window as unknown as BenchWindow).engineBench.bench(o), {
          modelId: model,
          backend,
          reps,
          maxSide: opts.maxSide,
        });
        if (r.backend !== backend) throw new Error(`Chromium: backend ${backend} unavailable (${r.reason})`);
        const all = r.passes.map((s: PassSample) => s.engineMs);
        const last = r.passes[r.passes.length - 1];
        rows.push({
          model,
          backend: r.backend,
          reps,
          plainMs: round(median(r.plain)),
          allLayersMs: round(median(all)),
          ratio: round(median(all) / median(r.plain), 2),
          pairedRatio: round(median(all.map((ms, i) => ms / r.plain[i])), 2),
          wallMs: round(median(r.passes.map((s: PassSample) => s.wallMs))),
          firstFrameMs: round(median(r.passes.map((s: PassSample) => s.firstFrameMs)), 2),
          bytesPerValue: round(last.bytesPerValue, 3),
          peakBytes: Math.max(...r.passes.map((s: PassSample) => s.peakBytes)),
          allLayersRange: [round(Math.min(...all)), round(Math.max(...all))],
          plainRange: [round(Math.min(...r.plain)), round(Math.max(...r.plain))],
          renderer: r.reason,
        });
        opts.log(`  ${JSON.stringify(rows[rows.length - 1])}`);
      }
    }
    if (p.errors.length) opts.log(`page errors:\n${p.errors.join('\n')}`);
  } finally {
    await p.close();
  }
  return rows;
}

/** The text table of runBrowserBench's rows. */
export function browserTable(rows: BrowserBenchRow[]): string {
  const lines = [
    'Browser bench (Chromium, engine in a Web Worker; medians of warm reps, min–max)',
    '',
    'model                    backend  reps  plain ms (min–max)    all layers ms (min–max)  ratio (paired)  wall ms  first frame ms  bytes/value',
  ];
  for (const r of rows)
    lines.push(
      [
        r.model.padEnd(24),
        r.backend.padEnd(7),
        String(r.reps).padEnd(4),
        `${r.plainMs} (${r.plainRange.join('–')})`.padEnd(21),
        `${r.allLayersMs} (${r.allLayersRange.join('–')})`.padEnd(24),
        `${r.ratio} (${r.pairedRatio})`.padEnd(14),
        String(r.wallMs).padEnd(7),
        String(r.firstFrameMs).padEnd(14),
        r.bytesPerValue,
      ].join('  '),
    );
  lines.push('', 'Targets (browser build): ratio ≤ 1.5 (MobileNetV2) / 1.2 (InceptionV3) · bytes/value ≤ 1.');
  return lines.join('\n');
}
