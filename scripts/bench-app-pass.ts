/**
 * `npm run bench -- --browser --app`: the app's own pass against the bench page's, in one Chromium, same model,
 * backend and photo. The browser build of the app (vite.web.config.ts, built into a temp folder) and the engine
 * bench page (test/engine/page/bench.html) are served and opened side by side, each in a browser context of its
 * own (its own renderer process and main thread). Both get test/engine/pass-probe.js, which timestamps on the
 * page's main thread the analyze request and the last frame reply as it is dispatched to the EngineClient — so the
 * app's pass is measured where the bench page's is, without a hook in the app.
 *
 * Per warm rep (reps alternate which page goes first): the app gets astronaut.png dropped on its window (a real
 * drop event; its store adds the image and runs the pass, its scene draws the frames as they stream); the bench
 * page runs the same photo through its own client. Printed per model: request → last frame in the app and in the
 * bench page and their ratio (goal ≤ 1.1), drop → last frame, the engine's own forward + extraction time in each
 * (did the worker itself slow down?), and the main thread's work per pass (CDP Performance.getMetrics
 * TaskDuration, from the drop until three animation frames after the pass). Here the app's scene draws with
 * SwiftShader, on the same 2 CPU cores the engine runs on.
 *
 *   npx tsx scripts/bench-app-pass.ts [--json] [--reps 5] [--models a,b] [--backends wasm] [--software-compositing]
 *                                     [--trace /tmp/app.json]   (a Chrome trace of the app's last rep, per model)
 *
 * With --trace: TRACE_JS=1 adds V8's sampling profiler (JavaScript by function; it slows the pages down, so read
 * its times as shares), TRACE_INVALIDATIONS=1 what invalidated style, layout and paint, and NO_MINIFY=1 builds the
 * app unminified so the functions keep their names. Open the file in Perfetto (ui.perfetto.dev) or chrome://tracing.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../test/e2e/browser';
import { PASS_PROBE, buildAndServe, median, openEnginePage, round } from '../test/engine/browser-page';
import type { EngineBench } from '../test/engine/page/bench';
import type { BackendName } from '../common/engine-protocol';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PHOTO = fileURLToPath(new URL('../resources/samples/astronaut.png', import.meta.url));

/** What pass-probe.js records per analyze request (main-thread performance.now() instants). */
export interface ProbeRecord {
  modelId: string;
  requestAt: number;
  firstFrameAt: number | null;
  lastFrameAt: number | null;
  frames: number;
  doneAt: number | null;
  timings: { forwardMs: number; extractMs: number } | null;
  failed: string | null;
}

/** The parts of the app page the bench reads: the session store (window.__fme) and the probe. */
interface AppWindow {
  __fme?: {
    store: {
      engineState: string;
      passState: string;
      modelId: string | null;
      summary: { frameOrder: string[] } | null;
      notice: { message: string } | null;
      selectModel(id: string): Promise<void>;
    };
  };
  __passProbe: { passes: ProbeRecord[]; longTasks: [number, number][] };
  __benchPhoto?: Uint8Array;
  engineBench: EngineBench;
}

interface PassNumbers {
  /** Main thread: analyze request → last frame dispatched to the client (ms). */
  passMs: number;
  /** The engine's forward + extraction (ms), as it reports them. */
  engineMs: number;
  /** Main-thread task time during the pass (ms), drop (or request) to three animation frames after it. */
  mainThreadMs: number;
  /** Long tasks (> 50 ms) on the main thread in that time: how many, and their total ms. */
  longTasks: number;
  longTaskMs: number;
  frames: number;
}

/** One measured pass: what the page saw, and its main thread's task time meanwhile (CDP). */
interface Measured {
  rec: Seen;
  taskMs: number;
}

export interface AppPassRow {
  model: string;
  backend: string;
  reps: number;
  app: PassNumbers & { dropToLastFrameMs: number; firstFrameMs: number };
  benchPage: PassNumbers;
  /** app.passMs / benchPage.passMs (goal ≤ 1.1). */
  ratio: number;
  /** The median of each rep's app / bench page ratio (the two run back to back, so a drift in load hits both). */
  pairedRatio: number;
  /** app.engineMs / benchPage.engineMs: > 1 when the app's main thread slowed the worker itself. */
  engineRatio: number;
  /** Every rep's request → last frame (ms), app and bench page, in run order. */
  samples: { app: number[]; benchPage: number[] };
  /** 1-minute load average before and after this model's reps. */
  load: [number, number];
  /** How Chromium composited the pages: with SwiftShader (the e2e flags) or in software (--software-compositing). */
  compositing: 'swiftshader' | 'software';
}

/** What a --trace records: the main thread's tasks with JS samples, paint and layout, and the GPU process. */
const TRACE_CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'disabled-by-default-devtools.timeline.frame',
  ...(process.env.TRACE_INVALIDATIONS ? ['disabled-by-default-devtools.timeline.invalidationTracking'] : []),
  ...(process.env.TRACE_JS ? ['disabled-by-default-v8.cpu_profiler'] : []),
  'v8.execute',
  'blink',
  'cc',
  'gpu',
  'viz',
  'toplevel',
];

async function taskMs(page: Page, run: () => Promise<Seen>): Promise<Measured> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const task = async () =>
    (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')!.value * 1000;
  const before = await task();
  const rec = await run();
  const ms = (await task()) - before;
  await cdp.detach();
  if (rec.failed || rec.lastFrameAt === null || !rec.timings)
    throw new Error(`${rec.modelId}: the pass did not finish (${rec.failed ?? 'no frames'})`);
  return { rec, taskMs: ms };
}

/** A pass as one page saw it: the probe's record, when its trigger fired, and the long tasks since then. */
type Seen = ProbeRecord & { startAt: number; longTasks: [number, number][] };

/** Drops the photo on the app's window and waits for the pass it starts, and three animation frames after. */
function dropPhoto(page: Page): Promise<Seen> {
  return page.evaluate(async () => {
    const w = window as unknown as AppWindow;
    const { passes, longTasks } = w.__passProbe;
    const n = passes.length;
    const dt = new DataTransfer();
    dt.items.add(new File([w.__benchPhoto! as BlobPart], 'astronaut.png', { type: 'image/png' }));
    const target = document.querySelector('.explorer-app')!;
    const startAt = performance.now();
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    // A pass that never comes is reported with what the page shows, not waited for forever.
    let failed: string | null = null;
    while (!passes[n]?.doneAt && !passes[n]?.failed && !failed) {
      const s = w.__fme?.store;
      if (s?.passState === 'error') failed = s.notice?.message ?? 'the pass failed';
      else if (performance.now() > startAt + 600_000)
        failed = `no finished pass 600 s after the drop (${passes.length - n} started, store ${s?.passState})`;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let k = 0; k < 3; k++) await new Promise((r) => requestAnimationFrame(r));
    const rec = passes[n] ?? ({ failed: 'no pass started' } as ProbeRecord);
    return { ...rec, ...(failed ? { failed } : {}), startAt, longTasks: longTasks.filter(([t]) => t >= startAt) };
  });
}

/** One pass in the bench page (the same photo through its own client), and three animation frames after. */
function benchPass(page: Page, model: string): Promise<Seen> {
  return page.evaluate(async (modelId) => {
    const w = window as unknown as AppWindow;
    const { passes, longTasks } = w.__passProbe;
    const n = passes.length;
    const startAt = performance.now();
    await w.engineBench.pass({ modelId, maxSide: 0 });
    for (let k = 0; k < 3; k++) await new Promise((r) => requestAnimationFrame(r));
    return { ...passes[n], startAt, longTasks: longTasks.filter(([t]) => t >= startAt) };
  }, model);
}

async function openApp(browser: Browser, url: string, backend: BackendName): Promise<{ page: Page; errors: string[] }> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.addInitScript({ path: PASS_PROBE });
  await page.goto(`${url}index.html?backend=${backend}`);
  // Start-up: the engine, the default model and its first pass on the start-up sample.
  await page.waitForFunction(
    () => {
      const s = (window as unknown as AppWindow).__fme?.store;
      return s?.engineState === 'ready' && s.passState === 'done';
    },
    null,
    { timeout: 600_000, polling: 250 },
  );
  const photo = readFileSync(PHOTO).toString('base64');
  await page.evaluate((b64) => {
    (window as unknown as AppWindow).__benchPhoto = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  }, photo);
  // The web bridge starts its standby engine worker 5 s after connecting: let it finish before timing anything.
  await page.waitForTimeout(8000);
  return { page, errors };
}

export async function runAppPassBench(opts: {
  models: string[];
  reps?: number;
  backend?: BackendName;
  /**
   * Composite the page in software (--disable-gpu-compositing), as Chromium does on a machine without a usable GPU,
   * keeping SwiftShader for WebGL only. By default this headless Chromium composites with SwiftShader too (the
   * e2e flags), which costs the GPU process 40–170 ms of CPU per compositor frame.
   */
  softwareCompositing?: boolean;
  /** Write a Chrome trace (chrome://tracing, Perfetto) of the app's last rep of each model to this path (model-suffixed). */
  trace?: string;
  log: (s: string) => void;
}): Promise<AppPassRow[]> {
  const reps = Math.max(5, opts.reps ?? 5);
  const backend = opts.backend ?? 'wasm';
  opts.log('building the web app and the bench page…');
  const web = await buildAndServe({ configFile: `${ROOT}vite.web.config.ts` });
  const browser = await launchBrowser(opts.softwareCompositing ? ['--disable-gpu-compositing'] : []);
  const rows: AppPassRow[] = [];
  try {
    const bench = await openEnginePage({ entry: 'bench.html', browser, initScript: PASS_PROBE });
    const app = await openApp(browser, web.url, backend);
    for (const model of opts.models) {
      opts.log(`${model} on ${backend}: app vs bench page, ${reps} warm reps…`);
      const ready = await bench.page.evaluate((o) => (window as unknown as AppWindow).engineBench.setup(o), {
        modelId: model,
        backend,
      });
      if (ready.backend !== backend) throw new Error(`bench page: backend ${backend} unavailable (${ready.reason})`);
      await app.page.evaluate(async (m) => {
        const s = (window as unknown as AppWindow).__fme!.store;
        if (s.modelId !== m) await s.selectModel(m);
      }, model);
      const layers = await app.page.evaluate(
        () => (window as unknown as AppWindow).__fme!.store.summary?.frameOrder.length ?? 0,
      );
      const load0 = loadavg()[0];
      const a: Measured[] = [];
      const b: Measured[] = [];
      // Round 0 warms both up; then the order alternates so a change in the machine's load hits both alike.
      for (let i = 0; i <= reps; i++) {
        for (const side of i % 2 ? ['app', 'bench'] : ['bench', 'app']) {
          if (side === 'app') {
            await app.page.bringToFront();
            const tracing = opts.trace && i === reps ? `${opts.trace.replace(/\.json$/, '')}-${model}.json` : null;
            if (tracing) await browser.startTracing(app.page, { path: tracing, categories: TRACE_CATEGORIES });
            const r = await taskMs(app.page, () => dropPhoto(app.page));
            if (tracing) {
              await browser.stopTracing();
              opts.log(`  trace of the app's rep ${i}: ${tracing}`);
            }
            if (r.rec.frames !== layers) throw new Error(`app: ${r.rec.frames} of ${layers} layers arrived`);
            if (i > 0) a.push(r);
          } else {
            await bench.page.bringToFront();
            const r = await taskMs(bench.page, () => benchPass(bench.page, model));
            if (r.rec.frames !== layers) throw new Error(`bench page: ${r.rec.frames} of ${layers} layers arrived`);
            if (i > 0) b.push(r);
          }
        }
        if (i > 0)
          opts.log(
            `  rep ${i}: app ${round(a[i - 1].rec.lastFrameAt! - a[i - 1].rec.requestAt)} ms, ` +
              `bench page ${round(b[i - 1].rec.lastFrameAt! - b[i - 1].rec.requestAt)} ms`,
          );
      }
      const passMs = (r: ProbeRecord) => r.lastFrameAt! - r.requestAt;
      const engineMs = (r: ProbeRecord) => r.timings!.forwardMs + r.timings!.extractMs;
      const numbers = (s: Measured[]): PassNumbers => ({
        passMs: round(median(s.map((x) => passMs(x.rec)))),
        engineMs: round(median(s.map((x) => engineMs(x.rec)))),
        mainThreadMs: round(median(s.map((x) => x.taskMs))),
        longTasks: median(s.map((x) => x.rec.longTasks.length)),
        longTaskMs: round(median(s.map((x) => x.rec.longTasks.reduce((t, [, d]) => t + d, 0)))),
        frames: s[0].rec.frames,
      });
      const appN = numbers(a);
      const benchN = numbers(b);
      rows.push({
        model,
        backend,
        reps,
        compositing: opts.softwareCompositing ? 'software' : 'swiftshader',
        app: {
          ...appN,
          dropToLastFrameMs: round(median(a.map((x) => x.rec.lastFrameAt! - x.rec.startAt))),
          firstFrameMs: round(median(a.map((x) => x.rec.firstFrameAt! - x.rec.requestAt))),
        },
        benchPage: benchN,
        ratio: round(appN.passMs / benchN.passMs, 2),
        pairedRatio: round(median(a.map((x, k) => passMs(x.rec) / passMs(b[k].rec))), 2),
        engineRatio: round(appN.engineMs / benchN.engineMs, 2),
        samples: { app: a.map((x) => round(passMs(x.rec))), benchPage: b.map((x) => round(passMs(x.rec))) },
        load: [round(load0, 2), round(loadavg()[0], 2)],
      });
    }
    const errors = [...app.errors, ...bench.errors];
    if (errors.length) opts.log(`page errors:\n${errors.join('\n')}`);
    await bench.close();
  } finally {
    await browser.close();
    await web.close();
  }
  return rows;
}

export function appPassTable(rows: AppPassRow[]): string {
  const lines = [
    `The app’s pass vs the bench page’s (Chromium, same model, backend and photo; medians of warm reps; page composited ${
      rows[0]?.compositing === 'software' ? 'in software' : 'with SwiftShader'
    })`,
    '',
    'model                    backend  app ms  bench page ms  ratio (paired)  drop→last ms  engine ms app/page (ratio)  main thread ms/pass app/page  long tasks app (ms)  load',
  ];
  for (const r of rows)
    lines.push(
      [
        r.model.padEnd(24),
        r.backend.padEnd(7),
        String(r.app.passMs).padEnd(6),
        String(r.benchPage.passMs).padEnd(13),
        `${r.ratio} (${r.pairedRatio})`.padEnd(14),
        String(r.app.dropToLastFrameMs).padEnd(12),
        `${r.app.engineMs}/${r.benchPage.engineMs} (${r.engineRatio})`.padEnd(27),
        `${r.app.mainThreadMs}/${r.benchPage.mainThreadMs}`.padEnd(27),
        `${r.app.longTasks} (${r.app.longTaskMs})`.padEnd(19),
        r.load.join('→'),
      ].join('  '),
    );
  lines.push('', 'app ms, bench page ms: analyze request → last frame on the page’s main thread. Goal: ratio ≤ 1.1.');
  return lines.join('\n');
}

async function main(args: string[]): Promise<void> {
  const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const json = args.includes('--json');
  const rows = await runAppPassBench({
    models: (opt('--models') ?? 'mobilenetv2-pretrained,inceptionv3-pretrained').split(','),
    reps: Number(opt('--reps') ?? 5),
    backend: (opt('--backends') ?? 'wasm') as BackendName,
    softwareCompositing: args.includes('--software-compositing'),
    trace: opt('--trace'),
    log: (s) => json || console.error(s),
  });
  console.log(json ? JSON.stringify(rows) : appPassTable(rows));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  });
