/**
 * tfjs layers models. Oracles: tfjs-layers itself (a model built and saved by tfjs, run by tfjs, compared layer by
 * layer with the IR runner), tfjs' own weight decoder (`tf.io.decodeWeights`) for quantized manifests, and the
 * Keras 3 `.keras` reader for a Keras-3-style topology (batch_shape, keras_history) carried in a model.json.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { kerasV3Format } from '../../renderer/src/formats/keras-v3';
import { tfjsLayersFormat } from '../../renderer/src/formats/tfjs-layers';
import type { ModelFile } from '../../renderer/src/formats/types';
import {
  dumpKerasV3,
  expectSameOutputs,
  fixture,
  fixturePath,
  irOutputs,
  seededInput,
  tfjsOutputs,
} from './helpers-keras';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const enc = (s: string) => new TextEncoder().encode(s);

/** Saves a tfjs model to model.json + one shard, optionally rewriting the manifest and shard. */
async function saveFiles(
  model: tf.LayersModel,
  rewrite?: (
    specs: tf.io.WeightsManifestEntry[],
    data: Uint8Array,
  ) => { specs: tf.io.WeightsManifestEntry[]; data: Uint8Array },
): Promise<ModelFile[]> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  let specs = artifacts!.weightSpecs!;
  let data: Uint8Array = new Uint8Array(artifacts!.weightData as ArrayBuffer);
  if (rewrite) ({ specs, data } = rewrite(specs, data));
  const json = {
    format: 'layers-model',
    generatedBy: 'TensorFlow.js tfjs-layers v4.22.0',
    modelTopology: artifacts!.modelTopology,
    weightsManifest: [{ paths: ['./weights.bin'], weights: specs }],
  };
  return [
    { path: 'model.json', bytes: enc(JSON.stringify(json)) },
    { path: 'weights.bin', bytes: data },
  ];
}

/** A Teachable Machine-shaped tfjs model: Sequential[Sequential[Functional backbone, GAP], Sequential[Dense, Dense]]. */
function teachableMachineModel(): tf.LayersModel {
  const input = tf.input({ shape: [24, 24, 3], name: 'input_1' });
  let x = tf.layers
    .conv2d({ name: 'Conv1', filters: 6, kernelSize: 3, strides: 2, padding: 'same', useBias: false })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn_Conv1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'Conv1_relu', maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  const dw = tf.layers
    .depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same', depthMultiplier: 1 })
    .apply(x) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'res_add' }).apply([x, dw]) as tf.SymbolicTensor;
  const out = tf.layers
    .conv2d({ name: 'project', filters: 8, kernelSize: 1, activation: 'relu' })
    .apply(sum) as tf.SymbolicTensor;
  const backbone = tf.model({ inputs: input, outputs: out, name: 'model1' });
  const seq1 = tf.sequential({
    name: 'sequential_1',
    layers: [backbone, tf.layers.globalAveragePooling2d({ name: 'gap' })],
  });
  const head = tf.sequential({
    name: 'sequential_3',
    layers: [
      tf.layers.dense({ name: 'dense_Dense1', units: 7, activation: 'relu', inputShape: [8] }),
      tf.layers.dense({ name: 'dense_Dense2', units: 3, activation: 'softmax' }),
    ],
  });
  const model = tf.sequential({ name: 'sequential_4', layers: [seq1, head] });
  // Non-trivial batch-norm statistics, so the test sees them used.
  const bn = backbone.getLayer('bn_Conv1');
  bn.setWeights(
    bn.getWeights().map((w, i) => tf.tensor(seededInput(w.size, 11 + i, i === 3 ? 0.5 : -0.5, 1.5), w.shape)),
  );
  return model;
}

const metadata = {
  tfjsVersion: '1.3.1',
  tmVersion: '2.4.5',
  packageVersion: '0.8.4',
  packageName: '@teachablemachine/image',
  modelName: 'tm-my-image-model',
  labels: ['rock', 'paper', 'scissors'],
  imageSize: 224,
};

describe('tfjs layers models', () => {
  it('opens a Teachable Machine export: nested models flattened, labels and TM preprocess, outputs = tfjs', async () => {
    const model = teachableMachineModel();
    try {
      const files = [...(await saveFiles(model)), { path: 'metadata.json', bytes: enc(JSON.stringify(metadata)) }];
      expect(tfjsLayersFormat.match(files)).toBe(true);
      const m = await tfjsLayersFormat.open(files);
      expect(m.format).toBe('tfjs-layers');
      expect(m.description).toBe('Teachable Machine image model');
      expect(m.labels).toEqual(['rock', 'paper', 'scissors']);
      expect(m.preprocess).toEqual({
        preprocess: {
          inputSize: [224, 224],
          resize: 'center-crop',
          scale: 2,
          offset: -1,
          mean: [0, 0, 0],
          std: [1, 1, 1],
        },
        source: 'Teachable Machine convention: 224×224 centre crop, values in [−1, 1]',
      });
      expect(m.graph.nodes.map((n) => `${n.scope?.join('/') ?? ''}:${n.name}`)).toEqual([
        'sequential_1/model1:input_1',
        'sequential_1/model1:Conv1',
        'sequential_1/model1:bn_Conv1',
        'sequential_1/model1:Conv1_relu',
        'sequential_1/model1:dw',
        'sequential_1/model1:res_add',
        'sequential_1/model1:project',
        'sequential_1:gap',
        'sequential_3:dense_Dense1',
        'sequential_3:dense_Dense2',
      ]);
      const a = analyzeGraph(m.graph);
      expect(a.warnings).toEqual([]);
      expect(a.totals.params).toBe(model.countParams());
      const x = tf.tensor4d(seededInput(24 * 24 * 3, 9, -1, 1), [1, 24, 24, 3]);
      const compared = expectSameOutputs(await irOutputs(m, x), tfjsOutputs(model, x));
      x.dispose();
      expect(compared).toBe(9);
    } finally {
      model.dispose();
    }
  });

  it('maps every layer class a tfjs-built CNN uses, and runs each one as tfjs does', async () => {
    const L = tf.layers;
    const ap = <T extends tf.SymbolicTensor | tf.SymbolicTensor[]>(l: tf.layers.Layer, x: T) =>
      l.apply(x) as tf.SymbolicTensor;
    const input = tf.input({ shape: [12, 12, 3], name: 'image' });
    let x = ap(L.rescaling({ name: 'rescale', scale: 1 / 127.5, offset: -1 }), input);
    x = ap(L.gaussianNoise({ name: 'noise', stddev: 0.1 }), x);
    x = ap(L.conv2d({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same', activation: 'swish' }), x);
    x = ap(L.batchNormalization({ name: 'bn1' }), x);
    x = ap(L.reLU({ name: 'relu4', maxValue: 4 }), x);
    let a = ap(
      L.depthwiseConv2d({ name: 'dw', kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'relu6' }),
      x,
    );
    a = ap(L.leakyReLU({ name: 'leaky', alpha: 0.1 }), a);
    let b = ap(L.separableConv2d({ name: 'sep', filters: 8, kernelSize: 3, padding: 'same', activation: 'tanh' }), x);
    b = ap(L.elu({ name: 'elu' }), b);
    x = ap(L.concatenate({ name: 'cat', axis: -1 }), [a, b]);
    x = ap(L.prelu({ name: 'prelu', sharedAxes: [1, 2] }), x);
    x = ap(
      L.conv2dTranspose({
        name: 'up_conv',
        filters: 6,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'sigmoid',
      }),
      x,
    );
    x = ap(L.maxPooling2d({ name: 'mp', poolSize: 2 }), x);
    x = ap(
      L.zeroPadding2d({
        name: 'pad',
        padding: [
          [1, 2],
          [0, 1],
        ],
      }),
      x,
    );
    x = ap(
      L.cropping2D({
        name: 'crop',
        cropping: [
          [1, 2],
          [0, 1],
        ],
      }),
      x,
    );
    x = ap(L.averagePooling2d({ name: 'ap', poolSize: 3, strides: 1, padding: 'same' }), x);
    const up = ap(L.upSampling2d({ name: 'ups', size: [2, 2] }), x);
    const p1 = ap(L.conv2d({ name: 'p1', filters: 6, kernelSize: 1, activation: 'elu' }), up);
    const p2 = ap(L.conv2d({ name: 'p2', filters: 6, kernelSize: 1, activation: 'hardSigmoid', dilationRate: 1 }), up);
    const p3 = ap(
      L.conv2d({ name: 'p3', filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'selu' }),
      up,
    );
    const mul = ap(L.multiply({ name: 'mul' }), [p1, p2]);
    const avg = ap(L.average({ name: 'avg' }), [p2, p3]);
    const mx = ap(L.maximum({ name: 'max' }), [mul, avg]);
    const mn = ap(L.minimum({ name: 'min' }), [mul, p3]);
    x = ap(L.add({ name: 'sum' }), [mx, mn, up]);
    x = ap(L.activation({ name: 'soft', activation: 'softplus' }), x);
    x = ap(L.gaussianDropout({ name: 'gdrop', rate: 0.2 }), x);
    x = ap(
      L.conv2d({ name: 'strided', filters: 5, kernelSize: 3, strides: 2, padding: 'valid', activation: 'softsign' }),
      x,
    );
    const g1 = ap(L.globalAveragePooling2d({ name: 'gap' }), x);
    const g2 = ap(L.globalMaxPooling2d({ name: 'gmp' }), x);
    x = ap(L.concatenate({ name: 'pooled' }), [g1, g2]);
    x = ap(L.reshape({ name: 'reshape', targetShape: [1, 1, 10] }), x);
    x = ap(L.flatten({ name: 'flat' }), x);
    x = ap(L.dropout({ name: 'drop', rate: 0.5 }), x);
    x = ap(L.dense({ name: 'fc', units: 6, activation: 'tanh' }), x);
    x = ap(L.dense({ name: 'logits', units: 4 }), x);
    x = ap(L.softmax({ name: 'probs' }), x);
    const model = tf.model({ inputs: input, outputs: x, name: 'zoo_of_layers' });
    // Non-trivial batch-norm statistics.
    const bnl = model.getLayer('bn1');
    bnl.setWeights(
      bnl.getWeights().map((w, i) => tf.tensor(seededInput(w.size, 20 + i, i === 3 ? 0.5 : -0.5, 1.5), w.shape)),
    );
    try {
      const m = await tfjsLayersFormat.open(await saveFiles(model));
      expect(m.preprocess?.source).toMatch(
        /^Rescaling layer "rescale" \(x·0.00784314 \+ -1\) in the model: it takes pixels in \[0, 255\]/,
      );
      const byName = new Map(m.graph.nodes.map((n) => [n.name, n]));
      expect(byName.get('relu4')).toMatchObject({ op: 'activation', fn: 'relu', max: 4 });
      expect(byName.get('leaky')).toMatchObject({ op: 'activation', fn: 'leaky_relu', alpha: 0.1 });
      expect(byName.get('elu')).toMatchObject({ op: 'activation', fn: 'elu', alpha: 1 });
      expect(byName.get('noise')?.op).toBe('identity');
      expect(byName.get('gdrop')?.op).toBe('dropout');
      const an = analyzeGraph(m.graph);
      expect(an.warnings).toEqual(['layer "probs": softmax over axis 1 is taken as the last axis (the channels)']);
      expect(an.totals.params).toBe(model.countParams());
      for (const l of model.layers) {
        const ours = an.layers.find((q) => q.id === l.name)!;
        expect(ours.outputShape, l.name).toEqual((l.outputShape as number[]).slice(1));
      }
      const xin = tf.tensor4d(seededInput(12 * 12 * 3, 13, 0, 255), [1, 12, 12, 3]);
      const compared = expectSameOutputs(await irOutputs(m, xin), tfjsOutputs(model, xin));
      xin.dispose();
      expect(compared).toBe(model.layers.length - 1);
    } finally {
      model.dispose();
    }
  });

  it('decodes uint8- and float16-quantized manifests as tfjs does', async () => {
    const model = teachableMachineModel();
    try {
      const toHalf = (v: number): number => {
        const f = new Float32Array([v]);
        const u = new Uint32Array(f.buffer)[0];
        const sign = (u >>> 16) & 0x8000;
        const e = ((u >>> 23) & 0xff) - 127 + 15;
        if (e <= 0) return sign;
        if (e >= 31) return sign | 0x7c00;
        return sign | (e << 10) | ((u >>> 13) & 0x3ff);
      };
      for (const kind of ['uint8', 'float16'] as const) {
        let manifest: tf.io.WeightsManifestEntry[] = [];
        let shard = new Uint8Array();
        const files = await saveFiles(model, (specs, data) => {
          const f32 = new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
          const parts: Uint8Array[] = [];
          let off = 0;
          manifest = specs.map((s) => {
            const n = s.shape.reduce((p, q) => p * q, 1);
            const vals = f32.subarray(off, off + n);
            off += n;
            if (kind === 'uint8') {
              const min = Math.min(...vals);
              const max = Math.max(...vals);
              const scale = (max - min) / 255 || 1;
              parts.push(Uint8Array.from(vals, (v) => Math.round((v - min) / scale)));
              return { ...s, quantization: { dtype: 'uint8', scale, min, original_dtype: 'float32' } };
            }
            const h = Uint16Array.from(vals, toHalf);
            parts.push(new Uint8Array(h.buffer));
            return { ...s, quantization: { dtype: 'float16', original_dtype: 'float32' } };
          });
          shard = new Uint8Array(parts.reduce((p, q) => p + q.length, 0));
          let o = 0;
          for (const p of parts) {
            shard.set(p, o);
            o += p.length;
          }
          return { specs: manifest, data: shard };
        });
        const m = await tfjsLayersFormat.open(files);
        const oracle = tf.io.decodeWeights(shard.slice().buffer, manifest);
        let checked = 0;
        for (const list of m.weights.values()) {
          for (const t of list) {
            const want = oracle[t.name];
            expect(want, t.name).toBeDefined();
            const w = want.dataSync();
            for (let i = 0; i < w.length; i++)
              expect(Math.abs(t.data[i] - w[i]), `${kind} ${t.name}[${i}]`).toBeLessThan(
                1e-6 * Math.max(1, Math.abs(w[i])),
              );
            checked++;
          }
        }
        tf.dispose(Object.values(oracle));
        expect(checked).toBe(manifest.length);
      }
    } finally {
      model.dispose();
    }
  });

  it('reads a Keras-3-style topology (module keys, batch_shape, DTypePolicy) in a model.json like the .keras reader', async () => {
    const name = 'kv3-subhadip-mnist.keras';
    const d = dumpKerasV3(fixturePath(name));
    const specs: { name: string; shape: number[]; dtype: string }[] = [];
    const bufs: Uint8Array[] = [];
    for (const [g, vars] of Object.entries(d.groups))
      vars.forEach((v, i) => {
        specs.push({ name: `${g.split('/').pop()}/${['kernel', 'bias'][i]}`, shape: v.shape, dtype: 'float32' });
        bufs.push(new Uint8Array(Buffer.from(v.data, 'base64')));
      });
    const shard = new Uint8Array(bufs.reduce((p, q) => p + q.length, 0));
    let o = 0;
    for (const b of bufs) {
      shard.set(b, o);
      o += b.length;
    }
    const json = {
      format: 'layers-model',
      modelTopology: { keras_version: '3.10.0', backend: 'tensorflow', model_config: d.config },
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: specs }],
    };
    const files = [
      { path: 'mnist/model.json', bytes: enc(JSON.stringify(json)) },
      { path: 'mnist/group1-shard1of1.bin', bytes: shard },
    ];
    const m = await tfjsLayersFormat.open(files);
    const ref = await kerasV3Format.open([{ path: name, bytes: fixture(name) }]);
    expect(m.graph.nodes.map((n) => n.name)).toEqual(ref.graph.nodes.map((n) => n.name));
    expect(analyzeGraph(m.graph).totals.params).toBe(analyzeGraph(ref.graph).totals.params);
    const x = tf.tensor4d(seededInput(28 * 28, 4), [1, 28, 28, 1]);
    const ours = await irOutputs(m, x);
    const theirs = await irOutputs(ref, x);
    x.dispose();
    expect(expectSameOutputs(ours, theirs, 1e-7)).toBe(8);
  });

  it('refuses a graph model, a missing shard, a short shard and an unknown class by name', async () => {
    const graph = { format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] };
    expect(tfjsLayersFormat.match([{ path: 'model.json', bytes: enc(JSON.stringify(graph)) }])).toBe(false);
    await expect(tfjsLayersFormat.open([{ path: 'model.json', bytes: enc(JSON.stringify(graph)) }])).rejects.toThrow(
      /^model.json: this is a tfjs graph model, not a layers model/,
    );
    const model = teachableMachineModel();
    try {
      const files = await saveFiles(model);
      await expect(tfjsLayersFormat.open(files.slice(0, 1))).rejects.toThrow(
        /^model.json: weight file 'weights.bin' listed in weightsManifest is missing/,
      );
      await expect(
        tfjsLayersFormat.open([files[0], { path: 'weights.bin', bytes: files[1].bytes.subarray(0, 100) }]),
      ).rejects.toThrow(/^weights.bin: 100 bytes, but model.json's weightsManifest describes \d+ bytes/);
      const json = JSON.parse(new TextDecoder().decode(files[0].bytes));
      json.modelTopology.config.layers[1].config.layers[1].class_name = 'MyCustomHead';
      await expect(
        tfjsLayersFormat.open([{ path: 'model.json', bytes: enc(JSON.stringify(json)) }, files[1]]),
      ).rejects.toThrow(
        /^model.json: layer "dense_Dense2" has class MyCustomHead, which Feature Map Explorer does not know/,
      );
    } finally {
      model.dispose();
    }
  });
});
