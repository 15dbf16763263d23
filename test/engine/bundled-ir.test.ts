/**
 * The bundled nsfwjs models run through the format registry and the IR runner (the engine's one builder); the
 * oracle is tfjs-layers' own loader (`tf.loadLayersModel`) on the same files and the same input: every layer's
 * output must agree, so moving the bundled models off the LayersRunner path lost nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { openModelFiles } from '../../renderer/src/formats';
import { RESOURCES } from './helpers';

let baseline = 0;
beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  baseline = tf.memory().numTensors;
});
afterAll(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

/** model.json's shards concatenated in manifest order, as tfjs's IO handlers hand them to the loader. */
function artifactsOf(dir: string): tf.io.ModelArtifacts {
  const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const parts = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
  const data = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.byteLength;
  }
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer,
  };
}

async function compareWithTfjs(folder: string, size: number): Promise<{ layers: number; worst: number }> {
  const dir = join(RESOURCES, 'models', folder);
  const files = readdirSync(dir)
    .filter((f) => f === 'model.json' || f.endsWith('.bin'))
    .map((path) => ({ path, bytes: new Uint8Array(readFileSync(join(dir, path))) }));
  const opened = await openModelFiles(files, folder);
  const analysis = analyzeGraph(opened.graph, { input: [size, size] });
  const order = new Map(analysis.layers.map((l, i) => [l.id, i]));
  opened.graph.nodes.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  const ir = new IRRunner(opened.graph, opened.weights);
  const ref = await tf.loadLayersModel(tf.io.fromMemory(artifactsOf(dir)), { strict: true });
  // A smooth input in [0, 1] (the nsfwjs convention): a gradient with a ripple.
  const x = tf.tidy(() => {
    const r = tf.linspace(0, 1, size).reshape([size, 1, 1]);
    const c = tf.linspace(0, 1, size).reshape([1, size, 1]);
    const ch = tf.tensor1d([0.2, 0.5, 0.8]).reshape([1, 1, 3]);
    return tf
      .sin(r.mul(9).add(c.mul(5)).add(ch.mul(3)))
      .mul(0.5)
      .add(0.5)
      .expandDims(0);
  });
  let worst = 0;
  let layers = 0;
  try {
    const names = ir.frameOrder;
    const probe = tf.model({
      inputs: ref.inputs,
      outputs: names.map((n) => ref.getLayer(n).output as tf.SymbolicTensor),
    });
    const want = probe.predict(x) as tf.Tensor[];
    try {
      await ir.run(x, async (o) => {
        const a = (await o.tensor.data()) as Float32Array;
        const b = (await want[o.index].data()) as Float32Array;
        expect([o.layerId, o.tensor.shape]).toEqual([o.layerId, want[o.index].shape]);
        let range = 1e-6;
        for (const v of b) range = Math.max(range, Math.abs(v));
        let d = 0;
        for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
        worst = Math.max(worst, d / range);
        layers++;
      });
    } finally {
      tf.dispose(want);
    }
  } finally {
    x.dispose();
    ir.dispose();
    ref.dispose();
  }
  return { layers, worst };
}

describe('bundled models: registry + IR runner against tfjs-layers’ loader', () => {
  it('MobileNetV2: all 161 layers agree within 1e-4 of each layer’s range', async () => {
    const r = await compareWithTfjs('mobilenetv2', 224);
    expect(r.layers).toBe(161);
    // Stated tolerance: both run float32 on wasm, but the IR runner folds BatchNorm into the conv and fuses
    // activations, so sums run in a different order.
    expect(r.worst).toBeLessThan(1e-4);
  }, 120_000);

  it('InceptionV3: every layer agrees within 1e-4 of each layer’s range', async () => {
    const r = await compareWithTfjs('inceptionv3', 299);
    expect(r.layers).toBeGreaterThan(300);
    expect(r.worst).toBeLessThan(1e-4);
  }, 300_000);
});
