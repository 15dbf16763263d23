/**
 * The browser bench page (`npm run bench -- --browser`, and the bench page side of `--browser --app`): the real
 * engine Worker in Chromium, driven the way scripts/bench.ts drives the Node engine. Built by Vite from
 * test/engine/browser-page.ts beside the engine check page; exposes `window.engineBench`.
 *
 * Its client's watchdog is far more patient than the app's: a bench reports a slow pass (WebGL on SwiftShader,
 * a loaded machine) instead of declaring the engine dead at the app's 60 s deadline.
 */
import { EngineClient, type WatchdogOptions } from '../../../common/engine-client';
import type { BackendName, LayerFrame } from '../../../common/engine-protocol';

/** Minutes, not seconds: only a truly stuck engine ends a bench. */
export const BENCH_WATCHDOG: WatchdogOptions = {
  pongTimeoutMs: 120_000,
  webglPongTimeoutMs: 300_000,
  analyzeMs: 1_800_000,
  loadBaseMs: 600_000,
  otherMs: 1_800_000,
  startupSilenceMs: 300_000,
};

const SAMPLE = 'astronaut.png';

const worker = new Worker(new URL('../../../renderer/src/engine/worker.ts', import.meta.url), { type: 'module' });
const channel = new MessageChannel();
worker.postMessage({ type: 'connect' }, [channel.port2]);
const client = new EngineClient(channel.port1, { watchdog: BENCH_WATCHDOG });
const base = new URL('./', document.baseURI).href;
let sampleBytes: Promise<ArrayBuffer> | null = null;

/** One pass's numbers: the engine's own (forward + extraction, first frame) and this thread's wall clock. */
export interface PassSample {
  /** forwardMs + extractMs as the engine reports them (the Node bench's "all layers"). */
  engineMs: number;
  firstFrameMs: number;
  /** This thread: analyze request → last frame received. */
  wallMs: number;
  frames: number;
  bytesPerValue: number;
  peakBytes: number;
}

/** Starts the engine on `backend` and loads the model. */
async function setup(o: { modelId: string; backend: BackendName }) {
  await client.hello(base, [o.backend]);
  const b = await client.setBackend(o.backend);
  await client.loadModel(o.modelId);
  return b;
}

/** One all-layer pass of the sample; its frames' buffers go back to the engine afterwards, as the UI's do. */
async function pass(o: { modelId: string; maxSide: number }): Promise<PassSample> {
  sampleBytes ??= fetch(`${base}samples/${SAMPLE}`).then((r) => r.arrayBuffer());
  const bytes = (await sampleBytes).slice(0);
  const frames: LayerFrame[] = [];
  const t0 = performance.now();
  let last = t0;
  const run = client.analyze({
    modelId: o.modelId,
    image: { kind: 'encoded', name: SAMPLE, bytes },
    maxSide: o.maxSide,
  });
  run.onFrame((f) => {
    last = performance.now();
    frames.push(f);
  });
  const { timings, stats } = await run.done;
  client.recycle(frames);
  return {
    engineMs: timings.forwardMs + timings.extractMs,
    firstFrameMs: timings.firstFrameMs,
    wallMs: last - t0,
    frames: frames.length,
    bytesPerValue: stats ? stats.bytesSent / stats.values : 0,
    peakBytes: stats?.peakBytes ?? 0,
  };
}

/** Plain single-output inference on the model's last analysed input (ms, measured in the engine). */
function predict(modelId: string): Promise<number> {
  return client.predict(modelId);
}

/** One backend's bench numbers (definitions as in scripts/bench.ts): `reps` warm rounds after one warm-up. */
async function bench(o: { modelId: string; backend: BackendName; reps: number; maxSide: number }) {
  const ready = await setup(o);
  const passes: PassSample[] = [];
  const plain: number[] = [];
  for (let i = 0; i <= o.reps; i++) {
    const p = await pass(o);
    const ms = await predict(o.modelId);
    if (i === 0) continue;
    passes.push(p);
    plain.push(ms);
  }
  return { passes, plain, backend: ready.backend, reason: ready.reason };
}

const api = { setup, pass, predict, bench };
export type EngineBench = typeof api;

declare global {
  interface Window {
    engineBench: EngineBench;
  }
}
window.engineBench = api;
document.getElementById('status')!.textContent = 'ready';
