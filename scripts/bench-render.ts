/**
 * Render benchmark of the 3D scene: `npm run bench -- --render [--json] [--models a,b] [--frames N]
 * [--size WxH]`. Builds a small page (scripts/bench-render-page.ts: the scene alone) with vite into a
 * temp folder, serves it on 127.0.0.1 and drives it in Debian's Chromium (SwiftShader WebGL2). Per
 * model (the two bundled ones, GoogLeNet, ResNet-50, DenseNet-121): the real layer shapes (from the model's
 * model.json or zoo graph through the analysis) with synthetic frame bytes, the app's default view (blocks of a
 * large model collapsed), then an orbit. Prints one JSON object per model with
 * --json, else a table. Frame-time numbers on SwiftShader are CPU numbers; judge speed on a GPU.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { analyzeGraph, analyzeModelJson } from '../renderer/src/analysis';
import { getZooGraph, isZooId, ZOO_IDS } from '../renderer/src/zoo';
import type { ModelSummary } from '../common/engine-protocol';
import type { RenderBenchOptions, RenderBenchResult } from './bench-render-page';
// @ts-expect-error plain ESM helper without type declarations
import { serveStatic } from './static-server.mjs';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/e2e/browser';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const RENDER_BENCH_CHROMIUM_ARGS = ['--headless=new', ...CHROMIUM_ARGS];

/** The models the benchmark runs by default: the bundled ones (folders under resources/models) and zoo graphs. */
export const RENDER_BENCH_MODELS = ['mobilenetv2', 'inceptionv3', 'googlenet', 'resnet50', 'densenet121'];

/** Frame order of an analysis: every layer with a spatial or vector output (what the engine streams), input excluded. */
function streamedLayers(analysis: ModelSummary['analysis']): string[] {
  return analysis.layers
    .filter(
      (l) =>
        l.kind !== 'input' &&
        (l.outputShape.length === 3 || l.outputShape.length === 1) &&
        l.outputShape.every((d) => d > 0),
    )
    .map((l) => l.id);
}

/**
 * A ModelSummary for a bundled model (a folder under resources/models) or a zoo architecture (its graph): the
 * analysed layer graph and a frame order of every layer with a spatial or vector output, input excluded.
 */
export function benchSummary(model: string): ModelSummary {
  let analysis: ModelSummary['analysis'];
  let source: ModelSummary['source'] = 'bundled';
  if (isZooId(model)) {
    analysis = analyzeGraph(getZooGraph(model));
    source = 'zoo';
  } else {
    const file = join(ROOT, 'resources', 'models', model, 'model.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new Error(
        `render bench: ${file} is missing; run \`npm install\` (it converts the bundled models), or name a zoo model (${ZOO_IDS.join(', ')})`,
      );
    }
    analysis = analyzeModelJson(JSON.parse(text), file);
  }
  const [h, w] = analysis.input;
  return {
    id: model,
    name: model,
    source,
    description: 'render benchmark: real layer shapes, synthetic frames',
    trained: source === 'bundled',
    preprocess: {
      inputSize: [h, w],
      resize: 'center-crop',
      channelOrder: 'rgb',
      scale: 1,
      offset: 0,
      mean: [0, 0, 0],
      std: [1, 1, 1],
    },
    analysis,
    frameOrder: streamedLayers(analysis),
  };
}

/** Builds the benchmark page into a new temp folder; returns the folder (caller removes it). */
export async function buildRenderPage(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fme-render-bench-'));
  await build({
    configFile: false,
    root: ROOT,
    publicDir: false,
    logLevel: 'warn',
    build: {
      outDir: dir,
      emptyOutDir: false,
      target: 'es2022',
      sourcemap: false,
      copyPublicDir: false,
      chunkSizeWarningLimit: 4096, // one bundle with three.js on purpose
      rollupOptions: {
        input: resolve(ROOT, 'scripts/bench-render-page.ts'),
        output: { format: 'es', entryFileNames: 'bench.js', inlineDynamicImports: true },
      },
    },
  });
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>render bench</title>' +
      '<style>html,body{margin:0}</style></head><body><script type="module" src="./bench.js"></script></body></html>',
  );
  return dir;
}

/** Serves the built page, launches Chromium and opens it. */
export async function openRenderPage(
  dir: string,
  viewport = { width: 1280, height: 720 },
): Promise<{ page: Page; browser: Browser; close: () => Promise<void> }> {
  const server: { url: string; close: () => Promise<void> } = await serveStatic(dir, { port: 0 });
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: RENDER_BENCH_CHROMIUM_ARGS,
    });
    const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(
      () => document.documentElement.dataset.ready === '1' || document.readyState === 'complete',
    );
    const ready = await page.evaluate(() => !!window.__renderBench);
    if (!ready) throw new Error(`render bench: the page did not start${errors.length ? `: ${errors.join('; ')}` : ''}`);
    const b = browser;
    return {
      page,
      browser: b,
      close: async () => {
        await b.close();
        await server.close();
      },
    };
  } catch (e) {
    await browser?.close();
    await server.close();
    throw e;
  }
}

function parseArgs(args: string[]): { json: boolean; models: string[]; opts: RenderBenchOptions } {
  const value = (name: string): string | undefined => {
    const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
    if (i < 0) return undefined;
    const a = args[i];
    return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
  };
  // The engine bench names models by id ('mobilenetv2-pretrained'); this one by folder: accept both.
  const models = (value('--models') ?? RENDER_BENCH_MODELS.join(','))
    .split(',')
    .filter(Boolean)
    .map((m) => m.replace(/-pretrained$/, ''));
  for (const m of models) {
    if (!/^[\w.-]+$/.test(m)) throw new Error(`render bench: --models: "${m}" is not a model folder name`);
  }
  const frames = Number(value('--frames') ?? 60);
  if (!Number.isInteger(frames) || frames < 2)
    throw new Error(`render bench: --frames needs an integer ≥ 2, got ${value('--frames')}`);
  const size = value('--size') ?? '1280x720';
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (!m) throw new Error(`render bench: --size needs WIDTHxHEIGHT, got ${size}`);
  return {
    json: args.includes('--json'),
    models,
    opts: { width: Number(m[1]), height: Number(m[2]), orbitFrames: frames, idleMs: 1000, theme: 'dark' },
  };
}

function table(rows: RenderBenchResult[]): string {
  const cols: [string, (r: RenderBenchResult) => string][] = [
    ['model', (r) => r.model],
    ['layers', (r) => String(r.layers)],
    ['visible', (r) => String(r.visibleLayers)],
    ['draw calls', (r) => String(r.drawCalls)],
    ['texture MB', (r) => (r.textureBytes / 1e6).toFixed(2)],
    ['values M', (r) => (r.activationValues / 1e6).toFixed(2)],
    ['B/value (layers)', (r) => (r.layerTextureBytes / Math.max(1, r.activationValues)).toFixed(3)],
    ['tiles', (r) => String(r.instances)],
    ['idle frames', (r) => String(r.idleFramesRendered)],
    ['frame ms p50', (r) => r.frameMsMedian.toFixed(1)],
    ['frame ms p95', (r) => r.frameMsP95.toFixed(1)],
    ['rAF ms p50', (r) => r.rafMsMedian.toFixed(1)],
    ['upload ms', (r) => r.uploadMs.toFixed(0)],
    ['blocks', (r) => `${r.visibleBlocks}/${r.blocks}`],
    ['arcs', (r) => String(r.arcs)],
    ['labels', (r) => String(r.labelsShown)],
    ['layout ms', (r) => r.layoutMs.toFixed(1)],
  ];
  const cells = [cols.map(([h]) => h), ...rows.map((r) => cols.map(([, f]) => f(r)))];
  const widths = cols.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ')).join('\n');
}

/** Runs the render benchmark; `args` as after `npm run bench -- --render`. Returns the results. */
export async function runRenderBench(args: string[]): Promise<RenderBenchResult[]> {
  const { json, models, opts } = parseArgs(args);
  const summaries = models.map(benchSummary);
  const dir = await buildRenderPage();
  const results: RenderBenchResult[] = [];
  try {
    const { page, close } = await openRenderPage(dir, { width: opts.width, height: opts.height });
    try {
      for (const s of summaries) {
        const r = await page.evaluate(([summary, o]) => window.__renderBench!.run(summary, o), [s, opts] as const);
        results.push(r);
        if (json) console.log(JSON.stringify(r));
      }
    } finally {
      await close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!json) {
    console.log(table(results));
    console.log(
      `\nrenderer: ${results[0]?.renderer ?? '?'} · ${opts.width}×${opts.height} · orbit of ${opts.orbitFrames} frames · ` +
        `frame ms = render + 1-pixel readPixels (waits for the GPU)\n` +
        `data: synthetic frames (structured patterns) shaped like each model's layers; rendering cost depends on shapes, not values.\n` +
        `the view is the app's default: large models open with their blocks collapsed (blocks = visible/recognised).\n` +
        `draw calls must stay ≤ visible layers + visible blocks + 7; idle frames must be 0.`,
    );
  }
  return results;
}

// Run directly: `npx tsx scripts/bench-render.ts [--json] …` (npm run bench -- --render delegates here).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runRenderBench(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
