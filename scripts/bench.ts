/**
 * `npm run bench`: the engine's speed, measured in one run, for the bundled MobileNetV2 and
 * InceptionV3 on each backend available where it runs (Node: wasm and cpu; `--browser`: webgl and
 * wasm in Chromium). Per model and backend: plain single-output inference, all-layer extraction
 * (forward + quantize + readback, every layer streamed as 8-bit frames, their buffers handed back for
 * reuse as the UI does), their ratio, time to the first frame, bytes sent per activation value, peak
 * tensor memory — and beside it, on the same runner in the same run, the peers' ways of reading every
 * layer (peer-passes.ts): TensorSpace's multi-output model + float32 data(), CNN Explainer's
 * layer-by-layer arraySync(), layer-by-layer dataSync(). Medians of warm runs.
 *
 *   npm run bench                       text table (median, min–max) and the peer table
 *   npm run -s bench -- --json          one JSON array (each row's `peers` holds the peer numbers)
 *   npm run bench -- --reps 7 --max-side 32 --models mobilenetv2-pretrained --backends wasm
 *   npm run bench -- --cold             load model → first / last frame for every built-in model, as a ratio
 *                                       to one warm pass (bench-cold.ts; --backends wasm by default)
 *   npm run bench -- --browser          the engine Worker in Debian's Chromium (test/engine/browser-page.ts
 *                                       builds test/engine/page with Vite); wasm by default, --backends webgl
 *                                       on a GPU (here WebGL is SwiftShader: correct, not fast)
 *   npm run bench -- --browser --app    the app's own pass vs the bench page's, same model and backend, and the
 *                                       app's main-thread work per pass (bench-app-pass.ts; --software-compositing
 *                                       composites the pages in software, as Chromium does without a usable GPU;
 *                                       --trace FILE writes a Chrome trace of the app's last rep per model)
 *   npm run bench -- --pth              torchvision .pth → first frame vs the seeded build, and peak memory /
 *                                       file size (bench-pth.ts; writes the state dicts with PyTorch)
 *   npm run bench -- --render           the scene renderer's bench (scripts/bench-render.ts)
 *   npm run bench -- --open             opening model files: bytes → first frame per fixture and for a
 *                                       MobileNetV2 ONNX export vs the same-sized tfjs model.json (bench-open.ts)
 *   npm run bench -- --kernels          the extraction kernel on MobileNetV2's layer shapes: relaxed SIMD and floor
 *                                       conversions, the per-pixel reference kernel and the JS path (bench-kernels.ts)
 *   npm run bench -- --edit             the what-if editor: one change on DenseNet-121 → every shape, count and
 *                                       receptive field updated (bench-edit.ts; target ≤ 16 ms, one frame)
 *   npm run bench -- --gradients        effective receptive field and Grad-CAM on MobileNetV2, as a ratio to one
 *                                       plain forward on the same backend (bench-gradients.ts; target ≤ 3×)
 *   npx tsx scripts/bench-torch-read.ts reading a VGG-16 .pth (zip, legacy): time and peak memory / file size
 *
 * Targets (issue "Fast from the first click"): extraction ≤ 1.3× plain for MobileNetV2 and ≤ 1.15× for
 * InceptionV3 on wasm in Node; ≤ 1 byte per value; first frame ≤ 1.0× a warm pass from "load model" (--cold).
 */
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { Engine } from '../renderer/src/engine/engine';
import { createNodeEngine, imageFromFile } from '../renderer/src/engine/node';
import type { BackendName, LayerFrame } from '../common/engine-protocol';
import { PEER_METHODS, type PeerMethod } from '../renderer/src/engine/peer-passes';

export interface BenchRow {
  model: string;
  backend: string;
  plainMs: number;
  allLayersMs: number;
  ratio: number;
  /** Median of each rep's all layers / plain (both run in the same rep): steadier than the ratio of medians on a busy machine. */
  pairedRatio: number;
  /**
   * The peers' ways of reading every layer, run in the same process on the same runner (peer-passes.ts): median
   * ms, ratio to plain, float bytes read per value (4) and peak tensor bytes — TensorSpace's multi-output model +
   * float32 data(), CNN Explainer's layer-by-layer arraySync(), layer-by-layer dataSync().
   */
  peers: Record<PeerMethod, { ms: number; ratio: number; bytesPerValue: number; peakBytes: number }>;
  firstFrameMs: number;
  bytesPerValue: number;
  peakBytes: number;
  /** The 1-minute load average when the row was measured: on shared cores the ratios are only as good as this. */
  loadAvg: number;
}

interface Samples {
  plain: number[];
  all: number[];
  first: number[];
  peers: Record<PeerMethod, number[]>;
}

const RESOURCES = fileURLToPath(new URL('../resources/', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../resources/samples/astronaut.png', import.meta.url));

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function benchOne(
  engine: Engine,
  model: string,
  backend: BackendName,
  reps: number,
  maxSide: number,
  log: (s: string) => void,
) {
  await engine.setBackend(backend);
  if (engine.backend?.backend !== backend) throw new Error(`backend ${backend} unavailable: ${engine.backend?.reason}`);
  await engine.loadModel(model);
  const image = await imageFromFile(SAMPLE);
  const prepared = await engine.prepare(model, image);
  const s: Samples = { plain: [], all: [], first: [], peers: { multiOutput: [], arraySync: [], dataSync: [] } };
  const peerInfo = {} as BenchRow['peers'];
  let bytesPerValue = 0;
  let valuesPerPass = 1;
  let peakBytes = 0;
  // Round 0 warms up (wasm and cpu load without a pass on zeros).
  for (let i = 0; i <= reps; i++) {
    const plain = await engine.predictOnce(model, prepared);
    const peerMs: Partial<Record<PeerMethod, number>> = {};
    for (const method of PEER_METHODS) {
      const p = await engine.peerPass(model, prepared, method);
      peerMs[method] = p.ms;
      peerInfo[method] = {
        ms: 0,
        ratio: 0,
        bytesPerValue: 0,
        peakBytes: Math.max(peerInfo[method]?.peakBytes ?? 0, p.peakBytes),
      };
      peerInfo[method].bytesPerValue = p.bytes;
    }
    // As the UI does, the frames' buffers go back to the engine once drawn, for the next pass to reuse.
    const frames: LayerFrame[] = [];
    const r = await engine.analyze(
      { modelId: model, image, maxSide },
      { image: () => {}, frame: (f) => frames.push(f) },
    );
    engine.recycle(frames.map((f) => f.data.buffer as ArrayBuffer));
    if (i === 0) continue;
    for (const method of PEER_METHODS) s.peers[method].push(peerMs[method]!);
    s.plain.push(plain);
    s.all.push(r.timings.forwardMs + r.timings.extractMs);
    s.first.push(r.timings.firstFrameMs);
    bytesPerValue = r.stats.bytesSent / r.stats.values;
    valuesPerPass = r.stats.values;
    peakBytes = Math.max(peakBytes, r.stats.peakBytes ?? 0);
    log(
      `  ${model} ${backend} run ${i}/${reps}: plain ${round(plain)} ms, all layers ${round(s.all[s.all.length - 1])} ms`,
    );
  }
  await engine.unloadModel(model);
  for (const method of PEER_METHODS) {
    const ms = median(s.peers[method]);
    peerInfo[method] = {
      ms: round(ms),
      ratio: round(ms / median(s.plain), 2),
      // Float bytes read back per activation value (the engine's frames count the same values).
      bytesPerValue: round(peerInfo[method].bytesPerValue / valuesPerPass, 3),
      peakBytes: peerInfo[method].peakBytes,
    };
  }
  const row: BenchRow = {
    model,
    backend,
    plainMs: round(median(s.plain)),
    allLayersMs: round(median(s.all)),
    ratio: round(median(s.all) / median(s.plain), 2),
    pairedRatio: round(median(s.all.map((ms, i) => ms / s.plain[i])), 2),
    firstFrameMs: round(median(s.first), 2),
    bytesPerValue: round(bytesPerValue, 3),
    peakBytes,
    peers: peerInfo,
    loadAvg: round(loadavg()[0], 2),
  };
  return { row, samples: s };
}

function table(results: { row: BenchRow; samples: Samples }[], maxSide: number): string {
  const range = (a: number[]) => `${round(Math.min(...a))}–${round(Math.max(...a))}`;
  const lines = [
    `Engine bench (Node ${process.version}, tfjs ${tf.version.tfjs}, maxSide ${maxSide || 'full'}; medians of warm runs, min–max; ` +
      `load average ${results.map((r) => r.row.loadAvg).join(' / ')} on ${availableParallelism()} cores)`,
    '',
    'model                    backend  plain ms (min–max)     all layers ms (min–max)  ratio (paired)  first frame ms (% of pass)  bytes/value  peak tensor MB',
  ];
  for (const { row: r, samples: s } of results) {
    const pct = round((100 * r.firstFrameMs) / r.allLayersMs);
    lines.push(
      [
        r.model.padEnd(24),
        r.backend.padEnd(7),
        `${r.plainMs} (${range(s.plain)})`.padEnd(22),
        `${r.allLayersMs} (${range(s.all)})`.padEnd(24),
        `${r.ratio} (${r.pairedRatio})`.padEnd(14),
        `${r.firstFrameMs} (${pct}%)`.padEnd(26),
        String(r.bytesPerValue).padEnd(11),
        round(r.peakBytes / 2 ** 20),
      ].join('  '),
    );
  }
  lines.push(
    '',
    'Peers, same run and runner (ms, ×plain, bytes/value, peak tensor MB):',
    'model                    backend  plain       TensorSpace multi-output+data()  CNN Explainer arraySync()  dataSync() per layer    engine',
  );
  for (const { row: r } of results) {
    const peer = (m: PeerMethod) => {
      const p = r.peers[m];
      return `${p.ms} (${p.ratio}×, ${p.bytesPerValue} B, ${round(p.peakBytes / 2 ** 20)} MB)`;
    };
    lines.push(
      [
        r.model.padEnd(24),
        r.backend.padEnd(7),
        `${r.plainMs} (1×)`.padEnd(10),
        peer('multiOutput').padEnd(32),
        peer('arraySync').padEnd(25),
        peer('dataSync').padEnd(22),
        `${r.allLayersMs} (${r.ratio}×, ${r.bytesPerValue} B, ${round(r.peakBytes / 2 ** 20)} MB)`,
      ].join('  '),
    );
  }
  lines.push(
    '',
    'Targets: ratio ≤ 1.3 (MobileNetV2) / 1.15 (InceptionV3) on wasm · bytes/value ≤ 1 · first frame < 25% of the pass.',
  );
  return lines.join('\n');
}

export async function main(args: string[]): Promise<void> {
  if (args.includes('--render')) {
    const m = await import('./bench-render');
    await m.runRenderBench(args);
    return;
  }
  const json = args.includes('--json');
  const log = (line: string) => {
    if (!json) console.error(line);
  };
  const maxSide = Number(option(args, '--max-side') ?? 0);
  const models = (option(args, '--models') ?? 'mobilenetv2-pretrained,inceptionv3-pretrained').split(',');
  // (--cold reads --models itself: its default is every built-in model.)
  if (args.includes('--open')) {
    const { runOpenBench, openTable } = await import('./bench-open');
    const rows = await runOpenBench({ reps: Number(option(args, '--reps') ?? 3), log });
    console.log(json ? JSON.stringify(rows) : openTable(rows));
    return;
  }
  if (args.includes('--kernels')) {
    const { runKernelBench, kernelTable } = await import('./bench-kernels');
    const rows = await runKernelBench({ reps: Number(option(args, '--reps') ?? 15) });
    console.log(json ? JSON.stringify(rows) : kernelTable(rows));
    return;
  }
  if (args.includes('--edit')) {
    const { runEditBench, editTable } = await import('./bench-edit');
    const rows = runEditBench({ reps: Number(option(args, '--reps') ?? 30) });
    console.log(json ? JSON.stringify(rows) : editTable(rows));
    return;
  }
  if (args.includes('--gradients')) {
    const { runGradientBench, gradientTable } = await import('./bench-gradients');
    const backend = option(args, '--backends') ?? 'wasm';
    const rows = await runGradientBench({ reps: Number(option(args, '--reps') ?? 5), backend });
    console.log(json ? JSON.stringify(rows) : gradientTable(rows, backend));
    return;
  }
  if (args.includes('--cold') && !args.includes('--browser')) {
    const { runColdBench, coldTable } = await import('./bench-cold');
    const rows = await runColdBench({
      models: option(args, '--models')?.split(','),
      backends: (option(args, '--backends') ?? 'wasm').split(',') as BackendName[],
      maxSide,
      log,
    });
    console.log(json ? JSON.stringify(rows) : coldTable(rows));
    return;
  }
  if (args.includes('--browser') && args.includes('--app')) {
    const { runAppPassBench, appPassTable } = await import('./bench-app-pass');
    const rows = await runAppPassBench({
      models,
      reps: Number(option(args, '--reps') ?? 5),
      backend: (option(args, '--backends') ?? 'wasm') as BackendName,
      softwareCompositing: args.includes('--software-compositing'),
      trace: option(args, '--trace'),
      log,
    });
    console.log(json ? JSON.stringify(rows) : appPassTable(rows));
    return;
  }
  if (args.includes('--browser')) {
    const { runBrowserBench, browserTable } = await import('../test/engine/browser-page');
    const rows = await runBrowserBench({
      models,
      maxSide,
      reps: Number(option(args, '--reps') ?? 5),
      backends: (option(args, '--backends') ?? 'wasm').split(',') as BackendName[],
      log,
    });
    console.log(json ? JSON.stringify(rows) : browserTable(rows));
    return;
  }
  if (args.includes('--pth')) {
    const { runPthBench, pthTable } = await import('./bench-pth');
    const rows = runPthBench({ log });
    console.log(json ? JSON.stringify(rows) : pthTable(rows));
    return;
  }
  const backends = (option(args, '--backends') ?? 'wasm,cpu').split(',') as BackendName[];
  const engine = createNodeEngine();
  await engine.hello(RESOURCES, backends);
  const results: { row: BenchRow; samples: Samples }[] = [];
  for (const model of models) {
    for (const backend of backends) {
      // The cpu backend is plain JavaScript: few runs keep the default bench within minutes on 2 cores.
      const reps = Number(option(args, '--reps') ?? (backend === 'cpu' ? 2 : 5));
      log(`${model} on ${backend}…`);
      results.push(await benchOne(engine, model, backend, reps, maxSide, log));
    }
  }
  await engine.dispose();
  if (json) console.log(JSON.stringify(results.map((r) => r.row)));
  else console.log(table(results, maxSide));
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
