/**
 * A minimal page that runs the real engine Worker in Chromium, for the engine's WebGL correctness
 * test (test/e2e/engine-webgl.e2e.test.ts). Built by Vite from
 * test/engine/browser-page.ts; exposes `window.engineCheck`.
 */
import { EngineClient } from '../../../common/engine-client';
import type { BackendName, LayerFrame } from '../../../common/engine-protocol';

const worker = new Worker(new URL('../../../renderer/src/engine/worker.ts', import.meta.url), { type: 'module' });
const channel = new MessageChannel();
worker.postMessage({ type: 'connect' }, [channel.port2]);
const client = new EngineClient(channel.port1);
const base = new URL('./', document.baseURI).href;

async function sample(name = 'astronaut.png'): Promise<ArrayBuffer> {
  const res = await fetch(`${base}samples/${name}`);
  return res.arrayBuffer();
}

async function pass(modelId: string, maxSide: number, keep: number) {
  const frames: LayerFrame[] = [];
  const run = client.analyze({
    modelId,
    image: { kind: 'encoded', name: 'astronaut.png', bytes: await sample() },
    maxSide,
  });
  run.onFrame((f) => {
    if (frames.length < keep) frames.push(f);
  });
  const outcome = await run.done;
  return { frames, outcome };
}

/** Per layer: the largest difference between two frames of the same layer, in quantization steps. */
function compare(a: LayerFrame, b: LayerFrame) {
  const [h, w, C] = a.shape;
  let worstSteps = 0;
  let bytesOff = 0;
  for (let c = 0; c < C; c++) {
    const stepA = (a.max[c] - a.min[c]) / 255;
    const stepB = (b.max[c] - b.min[c]) / 255;
    // A channel with one value (a [1, 1, N] output) has no step: there, compare to a float noise floor.
    const step = Math.max(stepA, stepB, 1e-4 * Math.max(1, Math.abs(a.max[c])));
    for (let p = 0; p < h * w; p++) {
      const i = c * h * w + p;
      const va = a.min[c] + a.data[i] * stepA;
      const vb = b.min[c] + b.data[i] * stepB;
      worstSteps = Math.max(worstSteps, Math.abs(va - vb) / step);
      if (Math.abs(a.data[i] - b.data[i]) > 1) bytesOff++;
    }
  }
  return { layerId: a.layerId, shapeA: a.shape, shapeB: b.shape, worstSteps, bytesOff, values: a.data.length };
}

const api = {
  async hello(prefer: BackendName[]) {
    return client.hello(base, prefer);
  },
  /** The first `layers` frames of one pass on wasm and one on webgl, compared. */
  async compareBackends(opts: { modelId: string; layers: number; maxSide: number }) {
    const ready = await client.hello(base, ['wasm']);
    await client.loadModel(opts.modelId);
    const wasm = await pass(opts.modelId, opts.maxSide, opts.layers);
    const gl = await client.setBackend('webgl');
    const webgl = await pass(opts.modelId, opts.maxSide, opts.layers);
    await client.setBackend('wasm');
    return {
      first: ready.backend,
      webgl: gl,
      outcomes: [wasm.outcome, webgl.outcome],
      layers: wasm.frames.map((f, i) => compare(f, webgl.frames[i])),
      orderOk: webgl.frames.every((f, i) => f.index === i && f.layerId === wasm.frames[i].layerId),
    };
  },
  /**
   * The first `layers` frames of one full-resolution pass on webgl with their zero counts, beside a direct count
   * of each layer's float values read back on the same backend (the `channel` request, every channel).
   */
  async zeroCounts(opts: { modelId: string; layers: number }) {
    await client.hello(base, ['wasm']);
    await client.loadModel(opts.modelId);
    const gl = await client.setBackend('webgl');
    const { frames } = await pass(opts.modelId, 0, opts.layers);
    const layers: { layerId: string; zeros: number | null; direct: number; values: number }[] = [];
    for (const f of frames) {
      let direct = 0;
      for (let c = 0; c < f.shape[2]; c++)
        for (const v of (await client.channel(opts.modelId, f.layerId, c)).values) if (v === 0) direct++;
      layers.push({ layerId: f.layerId, zeros: f.zeros ?? null, direct, values: f.data.length });
    }
    await client.setBackend('wasm');
    return { webgl: gl, layers };
  },
  /**
   * A user's model file (fetched from `url`) run on `backend` with an RGBA image at the model's input size (no
   * resize, no crop): the exact float values of `layers` (each channel-major, [C][H][W]) and of the output vector.
   */
  async userFloats(o: {
    url: string;
    name: string;
    backend: BackendName;
    image: { width: number; height: number; data: number[] };
    layers: string[];
  }) {
    await client.hello(base, [o.backend]);
    const ready = await client.setBackend(o.backend);
    const bytes = await (await fetch(o.url)).arrayBuffer();
    const summary = await client.loadUserModel({ name: o.name, files: [{ path: o.name, bytes }] });
    const run = client.analyze({
      modelId: summary.id,
      image: { kind: 'rgba', name: 'seeded.rgba', ...o.image, data: new Uint8ClampedArray(o.image.data) },
      preprocess: { inputSize: [o.image.height, o.image.width], cropFraction: 1 },
    });
    const outcome = await run.done;
    const out: Record<string, number[]> = {};
    const last = summary.frameOrder[summary.frameOrder.length - 1];
    for (const layerId of [...o.layers, last]) {
      const shape = summary.analysis.layers.find((l) => l.id === layerId)!.outputShape;
      const values: number[] = [];
      for (let c = 0; c < shape[shape.length - 1]; c++)
        values.push(...(await client.channel(summary.id, layerId, c)).values);
      out[layerId] = values;
    }
    return { backend: ready.backend, outcomeBackend: outcome.backend, output: last, layers: out };
  },
  /** Loses the WebGL context mid-way and checks the engine falls back and still answers. */
  async contextLoss(modelId: string) {
    await client.hello(base, ['webgl']);
    await client.loadModel(modelId);
    const announced: string[] = [];
    client.onBackend((b) => announced.push(`${b.backend}: ${b.reason}`));
    const before = await pass(modelId, 8, 0);
    await client.simulateContextLoss();
    const after = await pass(modelId, 8, 0);
    return { before: before.outcome, after: after.outcome, announced };
  },
  /** A model loaded fresh on WebGL: parallel shader compilation and the extraction shaders' warm-up run. */
  async loadOnWebgl(modelId: string) {
    const ready = await client.hello(base, ['webgl']);
    const phases: string[] = [];
    const summary = await client.loadModel(modelId, { onProgress: (p) => phases.push(p.phase) });
    const { frames, outcome } = await pass(modelId, 8, 1000);
    return {
      backend: ready.backend,
      phases: [...new Set(phases)],
      frames: frames.length,
      layers: summary.frameOrder.length,
      outcome,
    };
  },
};

declare global {
  interface Window {
    engineCheck: typeof api;
  }
}
window.engineCheck = api;
document.getElementById('status')!.textContent = 'ready';
