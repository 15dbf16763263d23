/**
 * Keras 3 `.keras` archives. Real files: three students' MNIST / Sign-MNIST CNNs (Keras 3.3, 3.10, 3.15) —
 * params against h5py's count of the stored values, shapes against each layer's `build_config`, every output
 * against tfjs-layers. A file written here with h5py in Keras' saving_lib layout (listed in the report): nested
 * Functional / Sequential models whose layer names differ from their weight-file names, Normalization with
 * adapted statistics, augmentation and Rescaling in front.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { kerasH5Format } from '../../renderer/src/formats/keras-h5';
import { kerasV3Format } from '../../renderer/src/formats/keras-v3';
import {
  dumpKerasV3,
  expectSameOutputs,
  fixture,
  fixturePath,
  irOutputs,
  kerasConfigForTfjs,
  seededInput,
  storedValueCount,
  tfjsOutputs,
  writeH5,
  type H5DatasetSpec,
} from './helpers-keras';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Json = Record<string, unknown>;

/** tfjs artifacts from a .keras file read by h5py (Conv2D / Dense variables are kernel, bias). */
function artifactsFromKeras(path: string): tf.io.ModelArtifacts {
  const d = dumpKerasV3(path);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const bufs: Uint8Array[] = [];
  for (const [group, vars] of Object.entries(d.groups)) {
    const layer = group.split('/').pop()!;
    vars.forEach((v, i) => {
      specs.push({ name: `${layer}/${['kernel', 'bias'][i]}`, shape: v.shape, dtype: 'float32' });
      bufs.push(new Uint8Array(Buffer.from(v.data, 'base64')));
    });
  }
  const data = new Uint8Array(bufs.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of bufs) {
    data.set(b, o);
    o += b.length;
  }
  return {
    modelTopology: kerasConfigForTfjs(d.config) as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: data.buffer,
  };
}

describe('real Keras 3 .keras models', () => {
  it.each([
    ['kv3-akshatv25-mnist.keras', '3.15.1', 9, [10]],
    ['kv3-alkhatib-signmnist.keras', '3.3.3', 15, [25]],
    ['kv3-subhadip-mnist.keras', '3.10.0', 9, [10]],
  ])('%s (Keras %s): params = stored values, shapes = build_config, outputs = tfjs', async (name, ver, n, out) => {
    const m = await kerasV3Format.open([{ path: name, bytes: fixture(name) }]);
    expect(kerasV3Format.match([{ path: name, bytes: fixture(name) }])).toBe(true);
    expect(kerasH5Format.match([{ path: name, bytes: fixture(name) }])).toBe(false);
    expect(m.description).toBe(`Keras ${ver} .keras (${name})`);
    const a = analyzeGraph(m.graph);
    expect(a.warnings).toEqual([]);
    expect(a.layers).toHaveLength(n);
    expect(a.layers.at(-1)!.outputShape).toEqual(out);
    expect(a.totals.params).toBe(storedValueCount(fixturePath(name)).values);
    // Keras records each layer's input shape in build_config: it is the previous layer's output.
    const cfg = dumpKerasV3(fixturePath(name)).config as { config: { layers: Json[] } };
    const layers = cfg.config.layers.filter((l) => l.class_name !== 'InputLayer');
    let checked = 0;
    layers.forEach((l, i) => {
      const bc = l.build_config as { input_shape?: (number | null)[] } | undefined;
      if (!bc?.input_shape) return;
      const prev = i === 0 ? a.layers[0] : a.layers.find((x) => x.id === (layers[i - 1].config as Json).name)!;
      expect(prev.outputShape, `input of ${(l.config as Json).name}`).toEqual(bc.input_shape.slice(1));
      checked++;
    });
    expect(checked).toBeGreaterThan(0);
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifactsFromKeras(fixturePath(name))));
    try {
      const x = tf.tensor4d(seededInput(28 * 28, 3), [1, 28, 28, 1]);
      const compared = expectSameOutputs(await irOutputs(m, x), tfjsOutputs(model, x));
      x.dispose();
      expect(compared).toBe(n - 1);
    } finally {
      model.dispose();
    }
  });

  it('a truncated .keras archive is refused as truncated', async () => {
    const full = fixture('kv3-subhadip-mnist.keras');
    const cut = full.subarray(0, full.length >> 1);
    expect(kerasV3Format.match([{ path: 'm.keras', bytes: cut }])).toBe(true);
    await expect(kerasV3Format.open([{ path: 'm.keras', bytes: cut }])).rejects.toThrow(
      /^m.keras: the .keras archive is truncated or damaged/,
    );
  });

  it('a Git LFS pointer named .keras says so; an HDF5 .keras belongs to the HDF5 format', async () => {
    const lfs = new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 491163\n');
    await expect(kerasV3Format.open([{ path: 'm.keras', bytes: lfs }])).rejects.toThrow(
      /^m.keras: this is a Git LFS pointer, not the model: run git lfs pull/,
    );
    const h5 = fixture('kh5-ayaan-gtsrb-bn.h5');
    expect(kerasV3Format.match([{ path: 'm.keras', bytes: h5 }])).toBe(false);
    expect(kerasH5Format.match([{ path: 'm.keras', bytes: h5 }])).toBe(true);
    expect((await kerasH5Format.open([{ path: 'm.keras', bytes: h5 }])).format).toBe('keras-h5');
  });
});

// --- A .keras file written with h5py in saving_lib's layout ------------------------------------------------------

const L = (cls: string, config: Json, inbound: string[] = []): Json => ({
  module: 'keras.layers',
  class_name: cls,
  config,
  registered_name: null,
  name: config.name,
  inbound_nodes: inbound.length
    ? [{ args: inbound.length === 1 ? [tensor(inbound[0])] : [inbound.map(tensor)], kwargs: {} }]
    : [],
});
const tensor = (n: string) => ({
  class_name: '__keras_tensor__',
  config: { shape: [null], dtype: 'float32', keras_history: [n, 0, 0] },
});
const conv = (name: string, filters: number, k: number, extra: Json = {}): Json => ({
  name,
  filters,
  kernel_size: [k, k],
  strides: [1, 1],
  padding: 'same',
  data_format: 'channels_last',
  dilation_rate: [1, 1],
  groups: 1,
  activation: 'linear',
  use_bias: true,
  ...extra,
});

function nestedKerasFile() {
  const aug = {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'augment',
      layers: [
        {
          module: 'keras.layers',
          class_name: 'InputLayer',
          config: { name: 'aug_in', batch_shape: [null, 16, 16, 3] },
        },
        { module: 'keras.layers', class_name: 'RandomFlip', config: { name: 'flip', mode: 'horizontal' } },
        { module: 'keras.layers', class_name: 'RandomRotation', config: { name: 'rot', factor: 0.1 } },
      ],
    },
  };
  const features = {
    module: 'keras',
    class_name: 'Functional',
    name: 'features',
    config: {
      name: 'features',
      layers: [
        L('InputLayer', { name: 'f_in', batch_shape: [null, 16, 16, 3] }),
        L('Conv2D', conv('stem', 8, 3, { strides: [2, 2] }), ['f_in']),
        L(
          'BatchNormalization',
          { name: 'stem_bn', axis: -1, epsilon: 0.001, momentum: 0.99, center: true, scale: false },
          ['stem'],
        ),
        L('LeakyReLU', { name: 'stem_act', negative_slope: 0.2 }, ['stem_bn']),
        L('DepthwiseConv2D', { ...conv('dw', 0, 3), depth_multiplier: 2 }, ['stem_act']),
        L('SeparableConv2D', conv('sep', 8, 3), ['stem_act']),
        L('Concatenate', { name: 'cat', axis: -1 }, ['dw', 'sep']),
        L('PReLU', { name: 'prelu', shared_axes: [1, 2] }, ['cat']),
      ],
      input_layers: [['f_in', 0, 0]],
      output_layers: [['prelu', 0, 0]],
    },
    inbound_nodes: [{ args: [tensor('rescale')], kwargs: {} }],
  };
  const cfg = {
    module: 'keras',
    class_name: 'Functional',
    config: {
      name: 'student_net',
      layers: [
        L('InputLayer', { name: 'image', batch_shape: [null, 16, 16, 3] }),
        { ...aug, name: 'augment', inbound_nodes: [{ args: [tensor('image')], kwargs: {} }] },
        L('Rescaling', { name: 'rescale', scale: 1 / 255, offset: 0 }, ['augment']),
        features,
        L('Normalization', { name: 'norm', axis: -1, mean: null, variance: null, invert: false }, ['features']),
        L('Conv2DTranspose', conv('up', 4, 3, { strides: [2, 2], output_padding: null }), ['norm']),
        L('GlobalAveragePooling2D', { name: 'gap', keepdims: false }, ['up']),
        L('Dense', { name: 'head', units: 5, activation: 'softmax', use_bias: true }, ['gap']),
      ],
      input_layers: [['image', 0, 0]],
      output_layers: [['head', 0, 0]],
    },
  };
  // saving_lib names: snake-cased class + a per-model counter, not the layer names.
  const ds: [string, number[], boolean?][] = [
    ['layers/functional/layers/conv2d/vars/0', [3, 3, 3, 8]],
    ['layers/functional/layers/conv2d/vars/1', [8]],
    ['layers/functional/layers/batch_normalization/vars/0', [8]],
    ['layers/functional/layers/batch_normalization/vars/1', [8]],
    ['layers/functional/layers/batch_normalization/vars/2', [8], true],
    ['layers/functional/layers/depthwise_conv2d/vars/0', [3, 3, 8, 2]],
    ['layers/functional/layers/depthwise_conv2d/vars/1', [16]],
    ['layers/functional/layers/separable_conv2d/vars/0', [3, 3, 8, 1]],
    ['layers/functional/layers/separable_conv2d/vars/1', [1, 1, 8, 8]],
    ['layers/functional/layers/separable_conv2d/vars/2', [8]],
    ['layers/functional/layers/p_re_lu/vars/0', [1, 1, 24]],
    ['layers/normalization/vars/0', [24]],
    ['layers/normalization/vars/1', [24], true],
    ['layers/normalization/vars/2', []],
    ['layers/conv2d_transpose/vars/0', [3, 3, 4, 24]],
    ['layers/conv2d_transpose/vars/1', [4]],
    ['layers/dense/vars/0', [4, 5]],
    ['layers/dense/vars/1', [5]],
  ];
  const datasets: H5DatasetSpec[] = ds.map(([path, shape, positive], i) => ({ path, shape, seed: 50 + i, positive }));
  return writeH5(
    {
      datasets,
      zip: {
        'config.json': JSON.stringify(cfg),
        'metadata.json': JSON.stringify({ keras_version: '3.6.0', date_saved: '2025-03-01@10:00:00' }),
      },
    },
    'student.keras',
  );
}

describe('nested .keras (h5py-written, saving_lib layout)', () => {
  it('finds weights under class-named paths, folds Normalization, and reads Rescaling as a [0, 255] input', async () => {
    const { path, values } = nestedKerasFile();
    const bytes = new Uint8Array(readFileSync(path));
    const m = await kerasV3Format.open([{ path: 'student.keras', bytes }]);
    expect(m.graph.nodes.map((n) => [n.name, n.op, n.scope?.join('/') ?? ''])).toEqual([
      ['image', 'input', ''],
      ['flip', 'identity', 'augment'],
      ['rot', 'identity', 'augment'],
      ['rescale', 'scale', ''],
      ['stem', 'conv', 'features'],
      ['stem_bn', 'bn', 'features'],
      ['stem_act', 'activation', 'features'],
      ['dw', 'depthwise', 'features'],
      ['sep', 'separable', 'features'],
      ['cat', 'concat', 'features'],
      ['prelu', 'activation', 'features'],
      ['norm', 'scale', ''],
      ['up', 'convtranspose', ''],
      ['gap', 'gap', ''],
      ['head', 'dense', ''],
    ]);
    const v = (p: string) => values.get(p)!;
    expect(m.weights.get('stem')!.map((t) => t.data)).toEqual([
      v('layers/functional/layers/conv2d/vars/0'),
      v('layers/functional/layers/conv2d/vars/1'),
    ]);
    expect(m.weights.get('sep')!.map((t) => t.name)).toEqual([
      'sep/depthwise_kernel',
      'sep/pointwise_kernel',
      'sep/bias',
    ]);
    expect(m.weights.get('up')![0].shape).toEqual([3, 3, 4, 24]);
    const act = m.graph.nodes.find((n) => n.name === 'stem_act')!;
    expect(act).toMatchObject({ fn: 'leaky_relu', alpha: 0.2 });
    // Normalization: (x − mean) / √var folded into a scale node; its statistics are counted, not run.
    const norm = m.graph.nodes.find((n) => n.name === 'norm')!;
    if (norm.op !== 'scale') throw new Error('norm is not a scale node');
    const mean = v('layers/normalization/vars/0');
    const variance = v('layers/normalization/vars/1');
    expect(norm.scale[3]).toBeCloseTo(1 / Math.sqrt(variance[3]), 5);
    expect(norm.offset[3]).toBeCloseTo(-mean[3] / Math.sqrt(variance[3]), 5);
    expect(norm.weights!.map((w) => w.role)).toEqual(['stat', 'stat', 'stat']);
    expect(m.weights.has('norm')).toBe(false);
    const a = analyzeGraph(m.graph);
    expect(a.warnings).toEqual([]);
    expect(a.totals.params).toBe(storedValueCount(path).values);
    expect(a.layers.find((l) => l.id === 'cat')!.outputShape).toEqual([8, 8, 24]);
    expect(a.layers.find((l) => l.id === 'up')!.outputShape).toEqual([16, 16, 4]);
    expect(m.preprocess).toEqual({
      preprocess: { scale: 255, offset: 0, mean: [0, 0, 0], std: [1, 1, 1] },
      source: 'Rescaling layer "rescale" (x·0.00392157) in the model: it takes pixels in [0, 255]',
    });
    // The IR runs end to end and gives a probability vector.
    const x = tf.tensor4d(seededInput(16 * 16 * 3, 5, 0, 255), [1, 16, 16, 3]);
    const outs = await irOutputs(m, x);
    x.dispose();
    const p = outs.get('head')!;
    expect(p.reduce((s, q) => s + q, 0)).toBeCloseTo(1, 5);
  });

  it("reads tf.keras 2.15's _layer_checkpoint_dependencies layout (counters advance twice per weighted layer); outputs = tfjs", async () => {
    const k2 = (cls: string, config: Json, inbound: string[]) => ({
      module: 'keras.layers',
      class_name: cls,
      config,
      registered_name: null,
      name: config.name,
      inbound_nodes: inbound.length ? [inbound.map((i) => [i, 0, 0, {}])] : [],
    });
    const cfg = {
      module: 'keras',
      class_name: 'Functional',
      config: {
        name: 'model',
        layers: [
          k2('InputLayer', { name: 'input_1', batch_input_shape: [null, 10, 10, 3], dtype: 'float32' }, []),
          k2('Conv2D', conv('a', 4, 3, { activation: 'relu' }), ['input_1']),
          k2('MaxPooling2D', { name: 'pool', pool_size: [2, 2], strides: [2, 2], padding: 'valid' }, ['a']),
          k2('Conv2D', conv('b', 4, 3), ['pool']),
          k2('Add', { name: 'add' }, ['pool', 'b']),
          k2('Flatten', { name: 'flat' }, ['add']),
          k2('Dense', { name: 'out', units: 3, activation: 'softmax', use_bias: true }, ['flat']),
        ],
        input_layers: [['input_1', 0, 0]],
        output_layers: [['out', 0, 0]],
      },
    };
    // dict order: layer_with_weights-0 → a, layer-1 → a (again), …: a is conv2d, b is conv2d_2, out is dense.
    const ds: [string, string, number[]][] = [
      ['a', '_layer_checkpoint_dependencies/conv2d/vars/0', [3, 3, 3, 4]],
      ['a', '_layer_checkpoint_dependencies/conv2d/vars/1', [4]],
      ['b', '_layer_checkpoint_dependencies/conv2d_2/vars/0', [3, 3, 4, 4]],
      ['b', '_layer_checkpoint_dependencies/conv2d_2/vars/1', [4]],
      ['out', '_layer_checkpoint_dependencies/dense/vars/0', [100, 3]],
      ['out', '_layer_checkpoint_dependencies/dense/vars/1', [3]],
    ];
    const { path, values } = writeH5(
      {
        datasets: ds.map(([, p, shape], i) => ({ path: p, shape, seed: 70 + i })),
        zip: { 'config.json': JSON.stringify(cfg), 'metadata.json': JSON.stringify({ keras_version: '2.15.0' }) },
      },
      'tfkeras.keras',
    );
    const m = await kerasV3Format.open([{ path: 'tfkeras.keras', bytes: new Uint8Array(readFileSync(path)) }]);
    expect(m.description).toBe('Keras 2.15.0 .keras (tfkeras.keras)');
    expect(m.weights.get('b')![0].data).toEqual(values.get('_layer_checkpoint_dependencies/conv2d_2/vars/0'));
    expect(analyzeGraph(m.graph).totals.params).toBe(storedValueCount(path).values);
    // tfjs reads the same Keras 2 config with the tensors named by layer.
    const specs = ds.map(([l, p, shape]) => ({
      name: `${l}/${p.endsWith('0') ? 'kernel' : 'bias'}`,
      shape,
      dtype: 'float32' as const,
    }));
    const bufs = ds.map(([, p]) => new Uint8Array(values.get(p)!.buffer));
    const data = new Uint8Array(bufs.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const b of bufs) {
      data.set(b, o);
      o += b.length;
    }
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: kerasConfigForTfjs(cfg) as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: specs,
        weightData: data.buffer,
      }),
    );
    try {
      const x = tf.tensor4d(seededInput(300, 8), [1, 10, 10, 3]);
      expect(expectSameOutputs(await irOutputs(m, x), tfjsOutputs(model, x))).toBe(6);
      x.dispose();
    } finally {
      model.dispose();
    }
  });

  it('refuses a Lambda layer in config.json by name', async () => {
    const cfg = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        name: 's',
        layers: [
          { module: 'keras.layers', class_name: 'InputLayer', config: { name: 'in', batch_shape: [null, 8, 8, 3] } },
          {
            module: 'keras.layers',
            class_name: 'Lambda',
            config: { name: 'scale_it', function: { class_name: '__lambda__' } },
          },
        ],
      },
    };
    const { path } = writeH5(
      { datasets: [], zip: { 'config.json': JSON.stringify(cfg), 'metadata.json': '{"keras_version": "3.6.0"}' } },
      'l.keras',
    );
    await expect(kerasV3Format.open([{ path: 'l.keras', bytes: new Uint8Array(readFileSync(path)) }])).rejects.toThrow(
      /^l.keras: layer "scale_it" is a Lambda layer: a Lambda layer runs Python code the file does not contain/,
    );
  });
});
