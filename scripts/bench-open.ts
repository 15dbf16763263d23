/**
 * `npm run bench -- --open`: opening a model file, from bytes in memory to the first feature map of a pass, for
 * every real model fixture (test/fixtures/models) and for a MobileNetV2-sized ONNX export (torchvision's
 * mobilenet_v2, seeded, exported at bench time by Debian's python3-torch), against the same-sized network
 * opened as a tfjs model.json (the bundled MobileNetV2) — through the app's registry and IR runner, and through
 * tfjs-layers' own loader (`tf.loadLayersModel` + the layers runner) for reference. Ratios are measured in this one run (wasm backend).
 *
 *   npm run -s bench -- --open [--json] [--reps 3]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { Engine } from '../renderer/src/engine/engine';
import { LayersRunner } from '../renderer/src/engine/runner';
import { createNodeEngine, imageFromFile } from '../renderer/src/engine/node';
import type { UserModelFiles } from '../common/engine-protocol';
import { readModelArg } from './model-cli';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/models');
const SAMPLE = join(ROOT, 'resources/samples/chelsea.png');

export interface OpenRow {
  model: string;
  format: string;
  bytes: number;
  params: number;
  /** Median ms from the files' bytes to the first frame of the first pass (load + decode + first layer). */
  openToFirstFrameMs: number;
  loadMs: number;
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One open: a fresh id each time (no cache), load, then a pass until its first frame arrives. */
async function openOnce(engine: Engine, files: UserModelFiles, k: number): Promise<{ total: number; load: number }> {
  const image = await imageFromFile(SAMPLE);
  const t0 = performance.now();
  const s = await engine.loadUserModel({ ...files, name: `${files.name}#${k}` });
  const tLoad = performance.now();
  let first = -1;
  await engine.analyze(
    { modelId: s.id, image, maxSide: 32 },
    {
      image: () => {},
      frame: () => {
        if (first < 0) first = performance.now();
      },
    },
  );
  await engine.unloadModel(s.id);
  return { total: first - t0, load: tLoad - t0 };
}

/**
 * The reference: the bundled MobileNetV2 through tfjs-layers' own loader (`tf.loadLayersModel`, what the catalog
 * used before every model went through the registry), then the same image's first layer through the layers
 * runner: bytes in memory → first feature map, as `openOnce` measures the registry path.
 */
async function tfjsLoaderOnce(engine: Engine): Promise<{ total: number; load: number }> {
  const dir = join(ROOT, 'resources/models/mobilenetv2');
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
  const image = await imageFromFile(SAMPLE);
  const prepared = await engine.prepare('mobilenetv2-pretrained', image);
  const t0 = performance.now();
  const data = new Uint8Array(shards.reduce((a, b) => a + b.byteLength, 0));
  let o = 0;
  for (const b of shards) {
    data.set(b, o);
    o += b.byteLength;
  }
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: data.buffer,
    }),
  );
  const tLoad = performance.now();
  const runner = new LayersRunner(model);
  const x = tf.tensor4d(prepared.values, [1, prepared.height, prepared.width, prepared.channels]);
  let first = -1;
  try {
    await runner.run(x, async (out) => {
      if (first < 0) {
        await out.tensor.data();
        first = performance.now();
      }
    });
  } finally {
    x.dispose();
    runner.dispose();
  }
  return { total: first - t0, load: tLoad - t0 };
}

/** torchvision mobilenet_v2 (seeded) exported to ONNX in a temp folder; null with the reason when torch is missing. */
function exportMobileNetOnnx(): { dir: string; file: string } | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fme-bench-onnx-'));
  const file = join(dir, 'mobilenet_v2.onnx');
  const py = `
import torch, torchvision
torch.manual_seed(0)
m = torchvision.models.mobilenet_v2(weights=None).eval()
torch.onnx.export(m, torch.zeros(1, 3, 224, 224), ${JSON.stringify(file)}, opset_version=13)
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { error: (r.stderr || r.error?.message || 'python failed').trim().split('\n').pop() ?? 'python failed' };
  }
  return { dir, file };
}

export async function runOpenBench(opts: { reps: number; log: (s: string) => void }): Promise<OpenRow[]> {
  const engine = createNodeEngine({ warmUp: false });
  await engine.hello(join(ROOT, 'resources/'), ['wasm']);
  const rows: OpenRow[] = [];
  const measure = async (label: string, files: UserModelFiles) => {
    opts.log(`${label}…`);
    const times: number[] = [];
    const loads: number[] = [];
    let format = '?';
    let params = 0;
    // One untimed open first: wasm set-up and JIT warm-up are not the file's cost.
    await openOnce(engine, files, -1);
    for (let k = 0; k < opts.reps; k++) {
      const t = await openOnce(engine, files, k);
      times.push(t.total);
      loads.push(t.load);
    }
    const s = await engine.loadUserModel({ ...files, name: `${files.name}#info` });
    format = s.format ?? '?';
    params = s.analysis.totals.params;
    await engine.unloadModel(s.id);
    rows.push({
      model: label,
      format,
      bytes: files.files.reduce((a, f) => a + f.bytes.byteLength, 0),
      params,
      openToFirstFrameMs: Math.round(median(times) * 10) / 10,
      loadMs: Math.round(median(loads) * 10) / 10,
    });
  };
  for (const name of readdirSync(FIXTURES).sort()) {
    if (name.endsWith('.LICENSE.txt') || name.endsWith('.md')) continue;
    const path = join(FIXTURES, name);
    if (statSync(path).isDirectory() && !readdirSync(path).some((f) => f.endsWith('.json'))) continue;
    await measure(name, readModelArg(path));
  }
  const bundled = join(ROOT, 'resources/models/mobilenetv2');
  await measure('bundled MobileNetV2 model.json (registry + IR runner)', readModelArg(bundled));
  const onnx = exportMobileNetOnnx();
  if ('file' in onnx) {
    await measure('torchvision mobilenet_v2 .onnx (registry + IR runner)', readModelArg(onnx.file));
    rmSync(onnx.dir, { recursive: true, force: true });
  } else opts.log(`no MobileNetV2 ONNX export (${onnx.error}); install python3-torch python3-torchvision`);
  // Reference: the same bundled model.json through tfjs-layers' own loader.
  await engine.loadModel('mobilenetv2-pretrained');
  await tfjsLoaderOnce(engine);
  const cat: number[] = [];
  const catLoad: number[] = [];
  for (let k = 0; k < opts.reps; k++) {
    const t = await tfjsLoaderOnce(engine);
    cat.push(t.total);
    catLoad.push(t.load);
  }
  rows.push({
    model: 'bundled MobileNetV2 model.json (tf.loadLayersModel, the reference)',
    format: 'tfjs-layers',
    bytes: 0,
    params: 0,
    openToFirstFrameMs: Math.round(median(cat) * 10) / 10,
    loadMs: Math.round(median(catLoad) * 10) / 10,
  });
  await engine.dispose();
  return rows;
}

/** The table, with the ratios the issue asks for. */
export function openTable(rows: OpenRow[]): string {
  const out = ['model | format | bytes | params | load ms | bytes → first frame ms'];
  for (const r of rows)
    out.push(`${r.model} | ${r.format} | ${r.bytes} | ${r.params} | ${r.loadMs} | ${r.openToFirstFrameMs}`);
  const find = (s: string) => rows.find((r) => r.model.startsWith(s));
  const onnx = find('torchvision mobilenet_v2');
  const tfjs = find('bundled MobileNetV2 model.json (registry');
  const cat = find('bundled MobileNetV2 model.json (tf.load');
  if (onnx && tfjs)
    out.push(
      `ratio MobileNetV2 .onnx / tfjs model.json (both registry + IR): ${(onnx.openToFirstFrameMs / tfjs.openToFirstFrameMs).toFixed(2)}× (goal ≤ 1.5×)`,
    );
  if (onnx && cat)
    out.push(
      `ratio MobileNetV2 .onnx / tfjs model.json via tf.loadLayersModel: ${(onnx.openToFirstFrameMs / cat.openToFirstFrameMs).toFixed(2)}×`,
    );
  if (tfjs && cat)
    out.push(
      `ratio registry + IR / tf.loadLayersModel, same model.json: ${(tfjs.openToFirstFrameMs / cat.openToFirstFrameMs).toFixed(2)}×`,
    );
  return out.join('\n');
}
