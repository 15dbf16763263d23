/**
 * `npm run bench -- --cold`: what a user waits for after "load model", for every built-in architecture and
 * bundled model, in one Node process: load → first frame and → last frame of the first pass (the model not
 * loaded before), each as a ratio to one warm all-layer pass of the same model (the second pass, forward +
 * extraction) measured right after. Goal: first frame ≤ 1.0× a warm pass for every model.
 *
 * The engine is where it is when the app shows its model list: started, with the app's start-up pass done (its
 * default model on its start-up sample). That pass, the first of a fresh process (every decoder, kernel and
 * JavaScript path runs for the first time), is measured the same way and printed on its own line, first; the
 * model is then unloaded, and every row loads its model cold into that engine with the start-up photo still open,
 * as when the user picks another model in the app — so no row pays the process's warm-up or the photo's decoding
 * for the others, and the rows do not depend on their order. (Each row used to run on another sample than the
 * start-up pass: the first row alone then decoded it — 13–18 ms of pngjs in Node — and every later row found it in
 * the engine's decode cache.)
 *
 *   npm run -s bench -- --cold [--json] [--backends wasm] [--models vgg16,resnet50] [--max-side 0]
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { Engine } from '../renderer/src/engine/engine';
import { catalogEntries } from '../renderer/src/engine/catalog';
import { createNodeEngine, imageFromFile } from '../renderer/src/engine/node';
import type { BackendName } from '../common/engine-protocol';

const RESOURCES = fileURLToPath(new URL('../resources/', import.meta.url));
/** The app's start-up: its default model and sample (ExplorerApp.vue); the sample stays the open photo. */
const STARTUP_MODEL = 'mobilenetv2-pretrained';
const STARTUP_SAMPLE = fileURLToPath(new URL('../resources/samples/chelsea.png', import.meta.url));

export interface ColdRow {
  /** 'start-up': the app's first pass in a fresh process (before the rows); 'load': a model loaded cold. */
  kind: 'start-up' | 'load';
  model: string;
  backend: string;
  /** ms from the load request to the model being ready. */
  loadMs: number;
  /** ms from the load request to the first frame of the first pass. */
  firstFrameMs: number;
  /** ms from the load request to the last frame of the first pass. */
  lastFrameMs: number;
  /** ms of the warm all-layer pass (forward + extraction) right after. */
  warmPassMs: number;
  firstRatio: number;
  lastRatio: number;
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

async function coldOne(
  engine: Engine,
  model: string,
  backend: string,
  maxSide: number,
  image: Awaited<ReturnType<typeof imageFromFile>>,
  kind: ColdRow['kind'] = 'load',
): Promise<ColdRow> {
  await engine.unloadModel(model);
  let first = -1;
  let last = -1;
  const t0 = performance.now();
  await engine.loadModel(model);
  const loadMs = performance.now() - t0;
  await engine.analyze(
    { modelId: model, image, maxSide },
    {
      image: () => {},
      frame: () => {
        last = performance.now();
        if (first < 0) first = last;
      },
    },
  );
  const warm = await engine.analyze({ modelId: model, image, maxSide }, { image: () => {}, frame: () => {} });
  await engine.unloadModel(model);
  const warmPassMs = warm.timings.forwardMs + warm.timings.extractMs;
  return {
    kind,
    model,
    backend,
    loadMs: round(loadMs),
    firstFrameMs: round(first - t0),
    lastFrameMs: round(last - t0),
    warmPassMs: round(warmPassMs),
    firstRatio: round((first - t0) / warmPassMs, 2),
    lastRatio: round((last - t0) / warmPassMs, 2),
  };
}

/** Runs the cold-start bench; one row per model and backend. */
export async function runColdBench(opts: {
  models?: string[];
  backends?: BackendName[];
  maxSide?: number;
  log?: (s: string) => void;
}): Promise<ColdRow[]> {
  const models = opts.models ?? catalogEntries().map((e) => e.id);
  const backends = opts.backends ?? ['wasm'];
  const engine = createNodeEngine();
  await engine.hello(RESOURCES, backends);
  const rows: ColdRow[] = [];
  // Read once: every row runs on the open photo (the bytes, and the engine's decode cache, stay the same).
  const image = await imageFromFile(STARTUP_SAMPLE);
  for (const backend of backends) {
    await engine.setBackend(backend);
    if (engine.backend?.backend !== backend)
      throw new Error(`backend ${backend} unavailable: ${engine.backend?.reason}`);
    opts.log?.(`start-up: ${STARTUP_MODEL} on ${backend}…`);
    rows.push(await coldOne(engine, STARTUP_MODEL, backend, opts.maxSide ?? 0, image, 'start-up'));
    for (const model of models) {
      opts.log?.(`${model} on ${backend}…`);
      const row = await coldOne(engine, model, backend, opts.maxSide ?? 0, image);
      opts.log?.(
        `  first ${row.firstFrameMs} ms (${row.firstRatio}×), last ${row.lastFrameMs} ms, warm ${row.warmPassMs} ms`,
      );
      rows.push(row);
    }
  }
  await engine.dispose();
  return rows;
}

/** The rows as a text table. */
export function coldTable(rows: ColdRow[]): string {
  const label = (r: ColdRow) => (r.kind === 'start-up' ? `(start-up) ${r.model}` : r.model);
  const width = Math.max(24, ...rows.map((r) => label(r).length));
  const lines = [
    `Cold start (Node ${process.version}, tfjs ${tf.version.tfjs}): load model → first / last frame of the first pass, as a ratio to one warm all-layer pass`,
    '',
    `${'model'.padEnd(width)}  backend  load ms    first frame ms (×warm)  last frame ms (×warm)  warm pass ms`,
  ];
  for (const r of rows) {
    lines.push(
      [
        label(r).padEnd(width),
        r.backend.padEnd(7),
        String(r.loadMs).padEnd(9),
        `${r.firstFrameMs} (${r.firstRatio}×)`.padEnd(22),
        `${r.lastFrameMs} (${r.lastRatio}×)`.padEnd(21),
        r.warmPassMs,
      ].join('  '),
    );
  }
  lines.push(
    '',
    '(start-up): the app’s first pass in a fresh process (its default model and sample: every decoder, kernel and',
    'JavaScript path runs for the first time), before the rows; each row then loads its model cold into that engine.',
    'Goal: first frame ≤ 1.0× a warm pass for every model.',
  );
  return lines.join('\n');
}
