/**
 * Keras HDF5 full models. Real files: two students' models (Keras 2.0.5 mini-Xception, Keras 3.8 legacy h5
 * GTSRB CNN) — params checked against h5py's count of the stored values, every layer's output against tfjs-layers
 * loading the same file. Files written here with h5py in Keras' layout (listed in the report): a Teachable
 * Machine-style model nested three deep with a frozen block (weight_names order), Keras 3 legacy names, a
 * weights-only file, and the broken inputs.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { InputError } from '../../common/image-header';
import { kerasH5Format } from '../../renderer/src/formats/keras-h5';
import type { ModelFile } from '../../renderer/src/formats/types';
import {
  artifactsFromH5,
  expectSameOutputs,
  fixture,
  fixturePath,
  irOutputs,
  seededInput,
  storedValueCount,
  tfjsOutputs,
  writeH5,
  type H5DatasetSpec,
} from './helpers-keras';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const open = (path: string, bytes: Uint8Array, extra: ModelFile[] = []) =>
  kerasH5Format.open([{ path: path.split('/').pop()!, bytes }, ...extra]);

/** Runs our IR and tfjs on the same seeded input and compares every layer. */
async function compareWithTfjs(m: Awaited<ReturnType<typeof open>>, model: tf.LayersModel, lo = 0, hi = 1) {
  const [h, w, c] = (m.graph.nodes[0] as { shape: number[] }).shape;
  const x = tf.tensor4d(seededInput(h * w * c, 7, lo, hi), [1, h, w, c]);
  try {
    const ours = await irOutputs(m, x);
    const oracle = tfjsOutputs(model, x);
    return expectSameOutputs(ours, oracle);
  } finally {
    x.dispose();
  }
}

describe('real Keras HDF5 models', () => {
  it.each([
    ['kh5-oarriaga-fer-mini-xception.hdf5', '2.0.5', [64, 64, 1], 46, [7]],
    ['kh5-ayaan-gtsrb-bn.h5', '3.8.0', [30, 30, 3], 18, [43]],
  ])(
    '%s (Keras %s) opens; params = stored values; shapes and every output match tfjs',
    async (name, ver, input, n, out) => {
      const tensorsBefore = tf.memory().numTensors;
      const m = await open(name, fixture(name));
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      expect(m.format).toBe('keras-h5');
      expect(m.description).toBe(`Keras ${ver} HDF5 (${name})`);
      const a = analyzeGraph(m.graph);
      expect(a.warnings).toEqual([]);
      expect(a.input).toEqual(input);
      expect(a.layers).toHaveLength(n);
      expect(a.layers.at(-1)!.outputShape).toEqual(out);
      // Params: every stored value, counted by h5py, not by our reader.
      const stored = storedValueCount(fixturePath(name));
      expect(a.totals.params).toBe(stored.values);
      let inStore = 0;
      for (const list of m.weights.values()) for (const t of list) inStore += t.data.length;
      expect(inStore).toBe(stored.values);
      // BatchNormalization's moving statistics are non-trainable.
      const bn = a.layers.find((l) => l.className === 'BatchNormalization')!;
      expect(bn.params.nonTrainable).toBe(2 * bn.outputShape.at(-1)!);

      // tfjs-layers reads the same file (topology + tensors from h5py): shapes and every layer's values agree.
      const model = await tf.loadLayersModel(tf.io.fromMemory(artifactsFromH5(fixturePath(name))));
      try {
        for (const l of model.layers) {
          const ours = a.layers.find((x) => x.id === l.name);
          expect(ours, l.name).toBeDefined();
          const s = (Array.isArray(l.outputShape[0]) ? l.outputShape[0] : l.outputShape) as (number | null)[];
          expect(ours!.outputShape, l.name).toEqual(s.slice(1));
        }
        const before = tf.memory().numTensors;
        const compared = await compareWithTfjs(m, model);
        expect(compared).toBe(n - 1);
        // The IR runner's weights and every activation are released again.
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        model.dispose();
      }
    },
  );

  it('leaves preprocess to the engine when the model states nothing', async () => {
    const m = await open('a.h5', fixture('kh5-ayaan-gtsrb-bn.h5'));
    expect(m.preprocess).toBeUndefined();
    expect(m.labels).toBeUndefined();
  });
});

// --- Files written with h5py in Keras' layout --------------------------------------------------------------------

type Layer = Record<string, unknown>;
const conv = (name: string, filters: number, k: number, extra: Layer = {}): Layer => ({
  class_name: 'Conv2D',
  config: {
    name,
    filters,
    kernel_size: [k, k],
    strides: [1, 1],
    padding: 'same',
    data_format: 'channels_last',
    dilation_rate: [1, 1],
    activation: 'linear',
    use_bias: true,
    trainable: true,
    ...extra,
  },
});
const bn = (name: string, extra: Layer = {}): Layer => ({
  class_name: 'BatchNormalization',
  config: { name, axis: -1, momentum: 0.99, epsilon: 0.001, center: true, scale: true, trainable: true, ...extra },
});
const relu6 = (name: string): Layer => ({
  class_name: 'ReLU',
  config: { name, max_value: 6, negative_slope: 0, threshold: 0 },
});
/** Keras 2 functional wiring: [[[input, 0, 0, {}]]]. */
const wired = (l: Layer, ...inputs: string[]): Layer => ({
  ...l,
  name: (l.config as { name: string }).name,
  inbound_nodes: [inputs.map((i) => [i, 0, 0, {}])],
});

/**
 * A Teachable Machine-shaped model (Keras 2 / tf.keras 2.x): Sequential[Sequential[Functional model1 (a
 * MobileNet-like block with a frozen depthwise stage), GAP], Sequential[Dense, Dense]].
 */
function teachableMachineConfig(): unknown {
  const model1 = {
    class_name: 'Functional',
    config: {
      name: 'model1',
      layers: [
        {
          class_name: 'InputLayer',
          name: 'input_1',
          config: { batch_input_shape: [null, 32, 32, 3], dtype: 'float32', name: 'input_1' },
          inbound_nodes: [],
        },
        wired(conv('Conv1', 8, 3, { strides: [2, 2], use_bias: false }), 'input_1'),
        wired(bn('bn_Conv1'), 'Conv1'),
        wired(relu6('Conv1_relu'), 'bn_Conv1'),
        wired(
          {
            class_name: 'DepthwiseConv2D',
            config: {
              name: 'expanded_conv_depthwise',
              kernel_size: [3, 3],
              strides: [1, 1],
              padding: 'same',
              depth_multiplier: 1,
              use_bias: false,
              activation: 'linear',
              trainable: false,
            },
          },
          'Conv1_relu',
        ),
        wired(bn('expanded_conv_depthwise_BN', { trainable: false }), 'expanded_conv_depthwise'),
        wired(relu6('expanded_conv_depthwise_relu'), 'expanded_conv_depthwise_BN'),
        wired(conv('expanded_conv_project', 16, 1), 'expanded_conv_depthwise_relu'),
        wired({ class_name: 'Add', config: { name: 'block_add' } }, 'expanded_conv_project', 'expanded_conv_project'),
        wired({ class_name: 'Activation', config: { name: 'out_relu', activation: 'relu' } }, 'block_add'),
      ],
      input_layers: [['input_1', 0, 0]],
      output_layers: [['out_relu', 0, 0]],
    },
  };
  return {
    class_name: 'Sequential',
    config: {
      name: 'sequential_4',
      layers: [
        {
          class_name: 'Sequential',
          config: {
            name: 'sequential_1',
            layers: [
              model1,
              {
                class_name: 'GlobalAveragePooling2D',
                config: { name: 'global_average_pooling2d_GlobalAveragePooling2D1' },
              },
            ],
          },
        },
        {
          class_name: 'Sequential',
          config: {
            name: 'sequential_3',
            layers: [
              {
                class_name: 'Dense',
                config: {
                  name: 'dense_Dense1',
                  units: 10,
                  activation: 'relu',
                  use_bias: true,
                  batch_input_shape: [null, 16],
                },
              },
              {
                class_name: 'Dense',
                config: { name: 'dense_Dense2', units: 3, activation: 'softmax', use_bias: true },
              },
            ],
          },
        },
      ],
    },
  };
}

/** Keras' legacy order for sequential_1: trainable weights depth-first, then the non-trainable ones (frozen block last). */
const TM_SEQ1: [string, number[], boolean?][] = [
  ['Conv1/kernel:0', [3, 3, 3, 8]],
  ['bn_Conv1/gamma:0', [8]],
  ['bn_Conv1/beta:0', [8]],
  ['expanded_conv_project/kernel:0', [1, 1, 8, 16]],
  ['expanded_conv_project/bias:0', [16]],
  ['bn_Conv1/moving_mean:0', [8]],
  ['bn_Conv1/moving_variance:0', [8], true],
  ['expanded_conv_depthwise/depthwise_kernel:0', [3, 3, 8, 1]],
  ['expanded_conv_depthwise_BN/gamma:0', [8]],
  ['expanded_conv_depthwise_BN/beta:0', [8]],
  ['expanded_conv_depthwise_BN/moving_mean:0', [8]],
  ['expanded_conv_depthwise_BN/moving_variance:0', [8], true],
];
const TM_SEQ3: [string, number[]][] = [
  ['dense_Dense1/kernel:0', [16, 10]],
  ['dense_Dense1/bias:0', [10]],
  ['dense_Dense2/kernel:0', [10, 3]],
  ['dense_Dense2/bias:0', [3]],
];

function writeTeachableMachineH5() {
  const datasets: H5DatasetSpec[] = [];
  let seed = 100;
  for (const [n, shape, positive] of TM_SEQ1)
    datasets.push({ path: `model_weights/sequential_1/${n}`, shape, seed: seed++, positive });
  for (const [n, shape] of TM_SEQ3) datasets.push({ path: `model_weights/sequential_3/${n}`, shape, seed: seed++ });
  return writeH5(
    {
      attrs: { keras_version: '2.4.0', backend: 'tensorflow', model_config: JSON.stringify(teachableMachineConfig()) },
      groupAttrs: {
        model_weights: { layer_names: ['sequential_1', 'sequential_3'], keras_version: '2.4.0', backend: 'tensorflow' },
        'model_weights/sequential_1': { weight_names: TM_SEQ1.map((w) => w[0]) },
        'model_weights/sequential_3': { weight_names: TM_SEQ3.map((w) => w[0]) },
      },
      datasets,
    },
    'keras_model.h5',
  );
}

describe('nested models (h5py-written, Teachable Machine layout)', () => {
  it('flattens three levels with scopes, binds weight_names by Keras order, reads labels.txt; matches tfjs', async () => {
    const { path, values } = writeTeachableMachineH5();
    const labels = { path: 'labels.txt', bytes: new TextEncoder().encode('0 cat\n1 dog\n2 parrot\n') };
    const m = await open(path, new Uint8Array(readFileSync(path)), [labels]);
    expect(m.labels).toEqual(['cat', 'dog', 'parrot']);
    expect(m.description).toBe('Teachable Machine image model (Keras 2.4.0 HDF5, keras_model.h5)');
    expect(m.preprocess?.preprocess).toMatchObject({ inputSize: [224, 224], scale: 2, offset: -1 });
    const names = m.graph.nodes.map((n) => n.name);
    expect(names).toEqual([
      'input_1',
      'Conv1',
      'bn_Conv1',
      'Conv1_relu',
      'expanded_conv_depthwise',
      'expanded_conv_depthwise_BN',
      'expanded_conv_depthwise_relu',
      'expanded_conv_project',
      'block_add',
      'out_relu',
      'global_average_pooling2d_GlobalAveragePooling2D1',
      'dense_Dense1',
      'dense_Dense2',
    ]);
    const node = (n: string) => m.graph.nodes.find((x) => x.name === n)!;
    expect(node('Conv1').scope).toEqual(['sequential_1', 'model1']);
    expect(node('global_average_pooling2d_GlobalAveragePooling2D1').scope).toEqual(['sequential_1']);
    expect(node('dense_Dense1').scope).toEqual(['sequential_3']);
    expect(node('dense_Dense1').inputs).toEqual(['global_average_pooling2d_GlobalAveragePooling2D1']);
    expect(node('expanded_conv_depthwise_BN').trainable).toBe(false);
    // The frozen BN's tensors come from the end of the list, in gamma, beta, mean, variance order.
    const got = m.weights.get('expanded_conv_depthwise_BN')!;
    const ds = (n: string) => values.get(`model_weights/sequential_1/expanded_conv_depthwise_BN/${n}:0`)!;
    expect(got.map((t) => t.data)).toEqual([ds('gamma'), ds('beta'), ds('moving_mean'), ds('moving_variance')]);
    expect(m.weights.get('bn_Conv1')!.map((t) => t.name)).toEqual([
      'bn_Conv1/gamma:0',
      'bn_Conv1/beta:0',
      'bn_Conv1/moving_mean:0',
      'bn_Conv1/moving_variance:0',
    ]);
    const a = analyzeGraph(m.graph);
    expect(a.warnings).toEqual([]);
    expect(a.totals.params).toBe(storedValueCount(path).values);
    expect(a.layers.find((l) => l.id === 'out_relu')!.outputShape).toEqual([16, 16, 16]);
    expect(a.layers.at(-1)!.outputShape).toEqual([3]);

    // tfjs binds the same tensors by their names, independently of the order we rely on.
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifactsFromH5(path, true)));
    try {
      expect(await compareWithTfjs(m, model, -1, 1)).toBe(12);
    } finally {
      model.dispose();
    }
  });

  it("takes the input of a nested Sequential from its first layer's batch_input_shape, and fails when nothing states it", async () => {
    const cfg = {
      class_name: 'Sequential',
      config: {
        name: 'outer',
        layers: [
          {
            class_name: 'Sequential',
            config: {
              name: 'inner',
              layers: [{ class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: 3, use_bias: false } }],
            },
          },
        ],
      },
    };
    const { path } = writeH5(
      {
        attrs: { keras_version: '2.4.0', model_config: JSON.stringify(cfg) },
        groupAttrs: {
          model_weights: { layer_names: ['inner'] },
          'model_weights/inner': { weight_names: ['c/kernel:0'] },
        },
        datasets: [{ path: 'model_weights/inner/c/kernel:0', shape: [3, 3, 1, 2], seed: 1 }],
      },
      'noshape.h5',
    );
    await expect(open(path, new Uint8Array(readFileSync(path)))).rejects.toThrow(
      /^noshape.h5: the first layer "c" of the Sequential model "inner" declares no input shape/,
    );
    (cfg.config.layers[0].config.layers[0].config as Layer).batch_input_shape = [null, 5, 5, 1];
    const ok = writeH5(
      {
        attrs: { keras_version: '2.4.0', model_config: JSON.stringify(cfg) },
        groupAttrs: {
          model_weights: { layer_names: ['inner'] },
          'model_weights/inner': { weight_names: ['c/kernel:0'] },
        },
        datasets: [{ path: 'model_weights/inner/c/kernel:0', shape: [3, 3, 1, 2], seed: 1 }],
      },
      'shape.h5',
    );
    const m = await open(ok.path, new Uint8Array(readFileSync(ok.path)));
    expect(m.graph.nodes.map((n) => [n.name, n.scope])).toEqual([
      ['input', ['inner']],
      ['c', ['inner']],
    ]);
    expect(analyzeGraph(m.graph).layers[1].outputShape).toEqual([3, 3, 2]);
  });

  it('reads Keras 3 legacy h5 weight names (variable paths) and prefixes clashing names with their scope', async () => {
    const k3 = (cls: string, config: Layer, inbound: string[]) => ({
      module: 'keras.layers',
      class_name: cls,
      config,
      registered_name: null,
      name: config.name,
      inbound_nodes: inbound.length
        ? [
            {
              args: inbound.length === 1 ? inbound.map(tensor) : [inbound.map(tensor)],
              kwargs: {},
            },
          ]
        : [],
    });
    const tensor = (n: string) => ({
      class_name: '__keras_tensor__',
      config: { shape: [1], dtype: 'float32', keras_history: [n, 0, 0] },
    });
    const inner = {
      module: 'keras',
      class_name: 'Functional',
      name: 'block',
      config: {
        name: 'block',
        trainable: true,
        layers: [
          k3('InputLayer', { name: 'block_in', batch_shape: [null, 8, 8, 4] }, []),
          k3('Conv2D', conv('conv', 4, 3).config as Layer, ['block_in']),
          k3('BatchNormalization', bn('bn').config as Layer, ['conv']),
          k3('Add', { name: 'add' }, ['block_in', 'bn']),
        ],
        input_layers: [['block_in', 0, 0]],
        output_layers: [['add', 0, 0]],
      },
    };
    const cfg = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        name: 'sequential',
        layers: [
          {
            module: 'keras.layers',
            class_name: 'InputLayer',
            config: { name: 'input_layer', batch_shape: [null, 8, 8, 4] },
          },
          { module: 'keras.layers', class_name: 'Conv2D', config: conv('conv', 4, 1).config },
          inner,
          { module: 'keras.layers', class_name: 'Rescaling', config: { name: 'rescaling', scale: 0.5, offset: 0 } },
          { module: 'keras.layers', class_name: 'GlobalAveragePooling2D', config: { name: 'gap', keepdims: false } },
        ],
      },
    };
    const names: [string, string, number[], boolean?][] = [
      ['conv', 'sequential/conv/kernel', [1, 1, 4, 4]],
      ['conv', 'sequential/conv/bias', [4]],
      ['block', 'sequential/block/conv/kernel', [3, 3, 4, 4]],
      ['block', 'sequential/block/conv/bias', [4]],
      ['block', 'sequential/block/bn/gamma', [4]],
      ['block', 'sequential/block/bn/beta', [4]],
      ['block', 'sequential/block/bn/moving_mean', [4]],
      ['block', 'sequential/block/bn/moving_variance', [4], true],
    ];
    const { path, values } = writeH5(
      {
        attrs: { keras_version: '3.8.0', backend: 'tensorflow', model_config: JSON.stringify(cfg) },
        groupAttrs: {
          model_weights: { layer_names: ['conv', 'block', 'rescaling', 'gap', 'top_level_model_weights'] },
          'model_weights/conv': { weight_names: names.filter((n) => n[0] === 'conv').map((n) => n[1]) },
          'model_weights/block': { weight_names: names.filter((n) => n[0] === 'block').map((n) => n[1]) },
          'model_weights/rescaling': { weight_names: [] },
          'model_weights/gap': { weight_names: [] },
        },
        datasets: names.map(([g, n, shape, positive], i) => ({
          path: `model_weights/${g}/${n}`,
          shape,
          seed: i,
          positive,
        })),
      },
      'k3legacy.h5',
    );
    const m = await open(path, new Uint8Array(readFileSync(path)));
    // Two layers are called "conv": the nested one gets its model's name in front.
    expect(m.graph.nodes.map((n) => n.name)).toEqual([
      'input_layer',
      'conv',
      'block/conv',
      'bn',
      'add',
      'rescaling',
      'gap',
    ]);
    expect(m.graph.nodes.find((n) => n.name === 'add')!.inputs).toEqual(['conv', 'bn']);
    expect(m.weights.get('block/conv')![0].data).toEqual(
      values.get('model_weights/block/sequential/block/conv/kernel'),
    );
    expect(m.weights.get('bn')!.map((t) => t.name.split('/').pop())).toEqual([
      'gamma',
      'beta',
      'moving_mean',
      'moving_variance',
    ]);
    expect(m.weights.get('bn')![3].data).toEqual(values.get('model_weights/block/sequential/block/bn/moving_variance'));
    expect(analyzeGraph(m.graph).totals.params).toBe(storedValueCount(path).values);
    // A Rescaling layer after other layers is no input convention.
    expect(m.preprocess).toBeUndefined();
  });
});

describe('older Keras 2 layouts (h5py-written)', () => {
  it('reads a Keras 2.0–2.2 Sequential whose config is a bare list, input from batch_input_shape', async () => {
    const cfg = {
      class_name: 'Sequential',
      config: [
        {
          class_name: 'Conv2D',
          config: {
            ...(conv('conv2d_1', 4, 3).config as Layer),
            batch_input_shape: [null, 10, 10, 1],
            padding: 'valid',
          },
        },
        {
          class_name: 'MaxPooling2D',
          config: { name: 'max_pooling2d_1', pool_size: [2, 2], strides: [2, 2], padding: 'valid' },
        },
        { class_name: 'Flatten', config: { name: 'flatten_1' } },
        { class_name: 'Dense', config: { name: 'dense_1', units: 3, activation: 'softmax', use_bias: true } },
      ],
    };
    const w: [string, string, number[]][] = [
      ['conv2d_1', 'conv2d_1/kernel:0', [3, 3, 1, 4]],
      ['conv2d_1', 'conv2d_1/bias:0', [4]],
      ['dense_1', 'dense_1/kernel:0', [64, 3]],
      ['dense_1', 'dense_1/bias:0', [3]],
    ];
    const groups = ['conv2d_1', 'max_pooling2d_1', 'flatten_1', 'dense_1'];
    const { path } = writeH5(
      {
        attrs: { keras_version: '2.1.6', backend: 'tensorflow', model_config: JSON.stringify(cfg) },
        groupAttrs: {
          model_weights: { layer_names: groups },
          ...Object.fromEntries(
            groups.map((g) => [`model_weights/${g}`, { weight_names: w.filter((x) => x[0] === g).map((x) => x[1]) }]),
          ),
        },
        datasets: w.map(([g, n, shape], i) => ({ path: `model_weights/${g}/${n}`, shape, seed: i })),
      },
      'old.h5',
    );
    const m = await open(path, new Uint8Array(readFileSync(path)));
    expect(m.description).toBe('Keras 2.1.6 HDF5 (old.h5)');
    const a = analyzeGraph(m.graph);
    expect(a.layers.map((l) => [l.id, l.outputShape])).toEqual([
      ['input', [10, 10, 1]],
      ['conv2d_1', [8, 8, 4]],
      ['max_pooling2d_1', [4, 4, 4]],
      ['flatten_1', [64]],
      ['dense_1', [3]],
    ]);
    expect(a.totals.params).toBe(storedValueCount(path).values);
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifactsFromH5(path)));
    try {
      expect(await compareWithTfjs(m, model)).toBe(4);
    } finally {
      model.dispose();
    }
  });

  it('refuses Keras 1 files by version, and other formats do not match', async () => {
    const { path } = writeH5(
      { attrs: { keras_version: '1.2.2', model_config: '{"class_name": "Sequential", "config": []}' }, datasets: [] },
      'k1.h5',
    );
    await expect(open(path, new Uint8Array(readFileSync(path)))).rejects.toThrow(
      /^k1.h5: saved by Keras 1.2.2; Keras 1 layer configs/,
    );
    const onnx = fixture('onnx-ccoltong-lenet-batch10.onnx');
    expect(kerasH5Format.match([{ path: 'm.onnx', bytes: onnx }])).toBe(false);
    expect(kerasH5Format.match([{ path: 'm.keras', bytes: fixture('kv3-subhadip-mnist.keras') }])).toBe(false);
  });
});

describe('files that are not usable Keras models', () => {
  const text = (s: string) => new TextEncoder().encode(s);
  /** An HDF5 file with only a model_config (the error comes before any weight is read). */
  const configOnly = (name: string, cfg: unknown) => {
    const { path } = writeH5(
      {
        attrs: { keras_version: '2.4.0', model_config: JSON.stringify(cfg) },
        groupAttrs: { model_weights: {} },
        datasets: [],
      },
      name,
    );
    return open(name, new Uint8Array(readFileSync(path)));
  };
  const functional = (layers: Layer[], out: string) => ({
    class_name: 'Functional',
    config: {
      name: 'f',
      layers: [
        {
          class_name: 'InputLayer',
          name: 'in',
          config: { batch_input_shape: [null, 8, 8, 3], name: 'in' },
          inbound_nodes: [],
        },
        ...layers,
      ],
      input_layers: [['in', 0, 0]],
      output_layers: [[out, 0, 0]],
    },
  });

  it('a Git LFS pointer and a text file named .h5 say what they are', async () => {
    const lfs = text(
      'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 2441136\n',
    );
    expect(kerasH5Format.match([{ path: 'model.h5', bytes: lfs }])).toBe(true);
    await expect(open('model.h5', lfs)).rejects.toThrow(
      /^model.h5: this is a Git LFS pointer, not the model: run git lfs pull/,
    );
    await expect(open('model.h5', text('see https://example.org/model for the weights\n'))).rejects.toThrow(
      /^model.h5: this is a text file, not a Keras HDF5 model \(it starts "see https/,
    );
    await expect(open('model.h5', text('<!DOCTYPE html><html>Not found</html>'))).rejects.toThrow(InputError);
    expect(kerasH5Format.match([{ path: 'x.bin', bytes: lfs }])).toBe(false);
  });

  it('a weights-only file (save_weights) says so, with its counts and the Applications model its names match', async () => {
    const layers: [string, [string, number[]][]][] = [
      [
        'block1_conv1',
        [
          ['kernel:0', [3, 3, 3, 4]],
          ['bias:0', [4]],
        ],
      ],
      ['block1_pool', []],
      [
        'block5_conv3',
        [
          ['kernel:0', [3, 3, 4, 4]],
          ['bias:0', [4]],
        ],
      ],
    ];
    const { path } = writeH5(
      {
        attrs: { layer_names: layers.map((l) => l[0]), keras_version: '2.1.5', backend: 'tensorflow' },
        groupAttrs: Object.fromEntries(layers.map(([l, ws]) => [l, { weight_names: ws.map((w) => `${l}/${w[0]}`) }])),
        datasets: layers.flatMap(([l, ws]) => ws.map((w, i) => ({ path: `${l}/${l}/${w[0]}`, shape: w[1], seed: i }))),
      },
      'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    );
    const bytes = new Uint8Array(readFileSync(path));
    expect(kerasH5Format.match([{ path: 'w.h5', bytes }])).toBe(true);
    await expect(open('w.h5', bytes)).rejects.toThrow(
      /^w.h5: weights only, no architecture — the file holds 3 layers with 4 weight tensors \(260 values\) but no model_config; the layer names are those of Keras Applications VGG16/,
    );
  });

  it('weights-only plus its to_json() architecture opens as one model', async () => {
    const cfg = {
      class_name: 'Sequential',
      config: {
        name: 'small',
        layers: [
          { class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 6, 6, 3] } },
          conv('block1_conv1', 4, 3),
          { class_name: 'GlobalAveragePooling2D', config: { name: 'gap' } },
        ],
      },
    };
    const { path, values } = writeH5(
      {
        attrs: { layer_names: ['block1_conv1', 'gap'], keras_version: '2.9.0', backend: 'tensorflow' },
        groupAttrs: {
          block1_conv1: { weight_names: ['block1_conv1/kernel:0', 'block1_conv1/bias:0'] },
          gap: { weight_names: [] },
        },
        datasets: [
          { path: 'block1_conv1/block1_conv1/kernel:0', shape: [3, 3, 3, 4], seed: 1 },
          { path: 'block1_conv1/block1_conv1/bias:0', shape: [4], seed: 2 },
        ],
      },
      'weights.h5',
    );
    const files = [
      { path: 'weights.h5', bytes: new Uint8Array(readFileSync(path)) },
      { path: 'model.json', bytes: new TextEncoder().encode(JSON.stringify(cfg)) },
    ];
    expect(kerasH5Format.match(files)).toBe(true);
    const m = await kerasH5Format.open(files);
    expect(m.description).toBe('Keras 2.9.0 HDF5 weights (weights.h5) with the architecture from model.json');
    expect(m.weights.get('block1_conv1')![1].data).toEqual(values.get('block1_conv1/block1_conv1/bias:0'));
    expect(analyzeGraph(m.graph).totals.params).toBe(112);
  });

  it('recognises ResNet50 weights by their layer names too', async () => {
    const names = ['input_1', 'conv1_pad', 'conv1_conv', 'conv1_bn', 'conv2_block1_1_conv', 'conv4_block6_out'];
    const { path } = writeH5(
      {
        attrs: { layer_names: names, keras_version: '2.2.4' },
        groupAttrs: {
          ...Object.fromEntries(names.map((n) => [n, { weight_names: [] }])),
          conv1_conv: { weight_names: ['conv1_conv/kernel:0'] },
        },
        datasets: [{ path: 'conv1_conv/conv1_conv/kernel:0', shape: [7, 7, 3, 2], seed: 3 }],
      },
      'resnet50_weights_tf_dim_ordering_tf_kernels.h5',
    );
    await expect(open('r.h5', new Uint8Array(readFileSync(path)))).rejects.toThrow(
      /^r.h5: weights only, no architecture — the file holds 6 layers with 1 weight tensors \(294 values\).*Keras Applications ResNet50/,
    );
  });

  it('a truncated HDF5 file is refused as truncated', async () => {
    const full = fixture('kh5-ayaan-gtsrb-bn.h5');
    for (const n of [600, 50_000, full.length >> 1]) {
      await expect(open('cut.h5', full.subarray(0, n))).rejects.toThrow(/^cut.h5: the HDF5 file is truncated/);
    }
  });

  it('a Lambda layer and an unknown class are refused by name, with what they would need', async () => {
    const lambda = functional(
      [wired({ class_name: 'Lambda', config: { name: 'preprocess', function: ['4wEAAA…', null, null] } }, 'in')],
      'preprocess',
    );
    await expect(configOnly('lam.h5', lambda)).rejects.toThrow(
      /^lam.h5: layer "preprocess" is a Lambda layer: a Lambda layer runs Python code the file does not contain/,
    );
    const custom = functional([wired({ class_name: 'MyAttention', config: { name: 'att' } }, 'in')], 'att');
    await expect(configOnly('custom.h5', custom)).rejects.toThrow(
      /^custom.h5: layer "att" has class MyAttention, which Feature Map Explorer does not know.*the layer's code/,
    );
  });

  it('a cycle in inbound_nodes is reported, not followed', async () => {
    const cyc = functional(
      [
        wired(conv('a', 3, 3), 'b'),
        wired(conv('b', 3, 3), 'a'),
        wired({ class_name: 'Add', config: { name: 'out' } }, 'in', 'b'),
      ],
      'out',
    );
    await expect(configOnly('cycle.h5', cyc)).rejects.toThrow(
      /^cycle.h5: the layers form a cycle: "a" → "b" → "a"|"b" → "a" → "b"/,
    );
    const self = functional([wired(conv('a', 3, 3), 'a')], 'a');
    await expect(configOnly('self.h5', self)).rejects.toThrow(/^self.h5: the layers form a cycle: "a" → "a"/);
    const dangling = functional([wired(conv('a', 3, 3), 'nowhere')], 'a');
    await expect(configOnly('dangling.h5', dangling)).rejects.toThrow(
      /^dangling.h5: layer "a" takes input "nowhere", which is not a layer of the model/,
    );
  });

  it('a model without an image input (a Dense MLP on a vector) says it has no H×W×C input', async () => {
    const mlp = {
      class_name: 'Sequential',
      config: {
        name: 'mlp',
        layers: [
          {
            class_name: 'Dense',
            config: { name: 'd1', units: 32, batch_input_shape: [null, 784], activation: 'relu' },
          },
          { class_name: 'Dense', config: { name: 'd2', units: 10 } },
        ],
      },
    };
    await expect(configOnly('mlp.h5', mlp)).rejects.toThrow(
      /^mlp.h5: .*no H×W×C image input — its input has shape \[784\]/,
    );
  });

  it('channels_first convolutions are refused plainly', async () => {
    const cf = functional([wired(conv('c', 3, 3, { data_format: 'channels_first' }), 'in')], 'c');
    await expect(configOnly('cf.h5', cf)).rejects.toThrow(
      /^cf.h5: layer "c" \(Conv2D\): data_format channels_first is not supported/,
    );
  });
});
