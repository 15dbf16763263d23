/**
 * A weights-only Keras file with Keras Applications layer names (what `model.save_weights` writes, and what Keras
 * caches in ~/.keras/models) opens on the built-in architecture of the same name. The file is written at test
 * time with h5py in Keras 2's save_weights layout from a tfjs-built MobileNetV2, whose own forward pass is the
 * oracle: the same weights through the IR runner must give the same activations.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { buildZooModel } from '../../renderer/src/engine/build-zoo';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { LayersRunner } from '../../renderer/src/engine/runner';
import { kerasH5Format } from '../../renderer/src/formats/keras-h5';
import { python, tempDir } from './helpers-keras';
import { readFileSync } from 'node:fs';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

let model: tf.LayersModel;
let h5Path = '';

beforeAll(() => {
  model = buildZooModel('mobilenetv2', { input: [32, 32], seed: 5 });
  const dir = tempDir();
  const entries: { layer: string; names: string[]; shapes: number[][]; offsets: number[] }[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const layer of model.layers) {
    const ws = layer.weights;
    if (!ws.length) continue;
    const values = layer.getWeights();
    entries.push({
      layer: layer.name,
      names: ws.map((w) => `${layer.name}/${w.originalName.split('/').pop()}:0`),
      shapes: values.map((v) => v.shape),
      offsets: values.map((v) => {
        const o = offset;
        const d = v.dataSync() as Float32Array;
        chunks.push(d);
        offset += d.length;
        return o;
      }),
    });
  }
  const all = new Float32Array(offset);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  writeFileSync(join(dir, 'values.f32'), Buffer.from(all.buffer));
  h5Path = join(dir, 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5');
  python(
    `
import h5py, json, sys, numpy as np
a = json.load(sys.stdin)
vals = np.fromfile(a['values'], dtype='<f4')
with h5py.File(a['out'], 'w') as f:
    f.attrs['layer_names'] = [e['layer'].encode() for e in a['entries']]
    f.attrs['backend'] = b'tensorflow'
    f.attrs['keras_version'] = b'2.2.4'
    for e in a['entries']:
        g = f.create_group(e['layer'])
        g.attrs['weight_names'] = [n.encode() for n in e['names']]
        for n, s, off in zip(e['names'], e['shapes'], e['offsets']):
            size = int(np.prod(s)) if s else 1
            g.create_dataset(n, data=vals[off:off + size].reshape(s))
print(json.dumps({'ok': True}))
`,
    { values: join(dir, 'values.f32'), out: h5Path, entries },
  );
});

afterAll(() => model?.dispose());

describe('Keras Applications weights without an architecture', () => {
  it('open on the built-in MobileNetV2 with every stored value, and run as the model that wrote them', async () => {
    const bytes = new Uint8Array(readFileSync(h5Path));
    const files = [{ path: 'mobilenet_v2_weights.h5', bytes }];
    expect(kerasH5Format.match(files)).toBe(true);
    const opened = await kerasH5Format.open(files);
    expect(opened.description).toMatch(/Keras Applications MobileNetV2 weights .* on the built-in MobileNetV2/);
    expect(opened.warnings.join(' ')).toMatch(/weights only/);
    // Keras Applications' published count for MobileNetV2 (1.0, 224): 3,538,984.
    const analysis = analyzeGraph(opened.graph, { input: [32, 32] });
    expect(analysis.totals.params).toBe(3_538_984);
    expect(analysis.warnings.filter((w) => /weight manifest/.test(w))).toEqual([]);

    const ir = new IRRunner(opened.graph, opened.weights);
    const ref = new LayersRunner(model);
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 11);
    const want = new Map<string, Float32Array>();
    await ref.run(x, async (o) => void want.set(o.layerId, (await o.tensor.data()) as Float32Array));
    let worst = 0;
    await ir.run(x, async (o) => {
      const a = (await o.tensor.data()) as Float32Array;
      const b = want.get(o.layerId)!;
      let lo = Infinity;
      let hi = -Infinity;
      let d = 0;
      for (let i = 0; i < b.length; i++) {
        lo = Math.min(lo, b[i]);
        hi = Math.max(hi, b[i]);
        d = Math.max(d, Math.abs(a[i] - b[i]));
      }
      worst = Math.max(worst, d / Math.max(hi - lo, 1e-6));
    });
    expect(want.size).toBe(ir.frameOrder.length);
    expect(worst).toBeLessThan(1e-4);
    x.dispose();
    ir.dispose();
  }, 120_000);
});
