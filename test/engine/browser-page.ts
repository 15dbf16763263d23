/**
 * Builds the engine check page (test/engine/page) with Vite into a temp folder, with resources/
 * (models, samples) as its public folder, serves it on 127.0.0.1 with the app's headers, and opens it
 * in Debian's Chromium. Used by the WebGL correctness e2e test and `npm run bench -- --browser`.
 * Nothing is written into the repository.
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

const ROOT = fileURLToPath(new URL('./page/', import.meta.url));
const RESOURCES = fileURLToPath(new URL('../../resources/', import.meta.url));

/** What test/engine/page/main.ts exposes as `window.engineCheck` (the parts Node calls). */
export interface EngineCheck {
  bench(o: { modelId: string; backend: 'webgl' | 'wasm'; reps: number; maxSide: number }): Promise<{
    all: number[];
    first: number[];
    plain: number[];
    bytesPerValue: number;
    peakBytes: number;
    backend: string;
    reason: string;
  }>;
}
type CheckWindow = { engineCheck: EngineCheck };

export interface EnginePage {
  page: Page;
  browser: Browser;
  url: string;
  errors: string[];
  close(): Promise<void>;
}

/** Builds, serves and opens the page; `close` undoes all three. */
export async function openEnginePage(): Promise<EnginePage> {
  const out = mkdtempSync(join(tmpdir(), 'fme-engine-page-'));
  await build({
    configFile: false,
    root: ROOT,
    base: './',
    publicDir: RESOURCES,
    logLevel: 'warn',
    worker: { format: 'es' },
    build: {
      outDir: out,
      emptyOutDir: true,
      target: 'es2022',
      reportCompressedSize: false,
      chunkSizeWarningLimit: 8000,
    },
  });
  const server: { url: string; close: () => Promise<void> } = await serveStatic(out, { port: 0 });
  const browser = await launchBrowser();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(`${server.url}index.html`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready', null, {
    timeout: 60_000,
  });
  return {
    page,
    browser,
    url: server.url,
    errors,
    async close() {
      await browser.close();
      await server.close();
      rmSync(out, { recursive: true, force: true });
    },
  };
}

/** The bench's rows for webgl and wasm in Chromium (same definitions as scripts/bench.ts). */
export async function runBrowserBench(opts: {
  models: string[];
  maxSide: number;
  reps: number;
  log: (s: string) => void;
}) {
  const p = await openEnginePage();
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const rows = [];
  try {
    for (const model of opts.models) {
      for (const backend of ['webgl', 'wasm'] as const) {
        opts.log(`${model} on ${backend} (Chromium)…`);
        const r = await p.page.evaluate((o) => (window as unknown as CheckWindow).engineCheck.bench(o), {
          modelId: model,
          backend,
          reps: opts.reps,
          maxSide: opts.maxSide,
        });
        const all = median(r.all);
        rows.push({
          model,
          backend: r.backend,
          plainMs: Math.round(median(r.plain) * 10) / 10,
          allLayersMs: Math.round(all * 10) / 10,
          ratio: Math.round((all / median(r.plain)) * 100) / 100,
          firstFrameMs: Math.round(median(r.first) * 100) / 100,
          bytesPerValue: Math.round(r.bytesPerValue * 1000) / 1000,
          peakBytes: r.peakBytes,
          renderer: r.reason,
        });
      }
    }
  } finally {
    await p.close();
  }
  return rows;
}
