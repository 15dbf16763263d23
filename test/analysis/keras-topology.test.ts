import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AnalysisError,
  analyzeGraph,
  analyzeModelJson,
  graphFromKerasTopology,
  manifestValueCount,
  parseModelJson,
} from '../../renderer/src/analysis';
import { flattenKerasModel } from '../../renderer/src/analysis/keras';
import { getZooGraph } from '../../renderer/src/zoo';

const modelPath = (id: string) => fileURLToPath(new URL(`../../resources/models/${id}/model.json`, import.meta.url));
const loadBundled = (id: string): unknown => JSON.parse(readFileSync(modelPath(id), 'utf8'));
const sourceBytes = (id: string): number =>
  (
    JSON.parse(
      readFileSync(fileURLToPath(new URL(`../../resources/models/${id}/SOURCE.json`, import.meta.url)), 'utf8'),
    ) as { bytes: number }
  ).bytes;

/** A small functional model.json in Keras 2 format, with an optional weights manifest. */
function tinyModel(extraLayers: unknown[] = [], weights?: { name: string; shape: number[] }[]) {
  const layers = [
    {
      name: 'img',
      class_name: 'InputLayer',
      config: { batch_input_shape: [null, 16, 16, 3], name: 'img' },
      inbound_nodes: [],
    },
    {
      name: 'conv',
      class_name: 'Conv2D',
      config: {
        name: 'conv',
        filters: 8,
        kernel_size: [3, 3],
        strides: [1, 1],
        padding: 'same',
        dilation_rate: [1, 1],
        activation: 'relu',
        use_bias: true,
        data_format: 'channels_last',
      },
      inbound_nodes: [[['img', 0, 0, {}]]],
    },
    ...extraLayers,
  ];
  const last = layers[layers.length - 1] as { name: string };
  return {
    format: 'layers-model',
    modelTopology: {
      keras_version: '2.2.4',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Model',
        config: { name: 'tiny', layers, input_layers: [['img', 0, 0]], output_layers: [[last.name, 0, 0]] },
      },
    },
    ...(weights ? { weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights }] } : {}),
  };
}

describe('bundled pretrained models report exactly what their weight files hold', () => {
  // The shards are uint8-quantized (one byte per value), so SOURCE.json's byte count equals the number of values:
  // MobileNetV2 2,619,461 and InceptionV3 22,360,869 (resources/models/*/SOURCE.json, scripts/prepare-resources.mjs).
  it.each([
    ['mobilenetv2', 2_619_461, 162],
    ['inceptionv3', 22_360_869, 318],
  ])('%s: %i parameters in %i layers, no warnings', (id, values, layerCount) => {
    const json = loadBundled(id);
    expect(manifestValueCount(json)).toBe(values);
    expect(sourceBytes(id)).toBe(values);
    const a = analyzeModelJson(json, modelPath(id));
    expect(a.totals.params).toBe(values);
    expect(a.layers).toHaveLength(layerCount);
    expect(a.warnings).toEqual([]);
    expect(a.layers.at(-1)?.outputShape).toEqual([5]);
    // The counts from the layer configs agree with the manifest (no mismatch warning above), and frozen layers are flagged.
    expect(a.totals.frozenParams).toBeGreaterThan(0);
    expect(a.layers.filter((l) => l.frozen).length).toBeGreaterThan(0);
  });

  it('the bundled MobileNetV2 backbone equals the zoo MobileNetV2 layer by layer', () => {
    const file = analyzeModelJson(loadBundled('mobilenetv2'), 'mobilenetv2/model.json');
    const zoo = new Map(analyzeGraph(getZooGraph('mobilenetv2')).layers.map((l) => [l.id, l]));
    let shared = 0;
    for (const l of file.layers) {
      const z = zoo.get(l.id);
      if (!z || l.id === 'input_1') continue;
      shared++;
      expect({
        id: l.id,
        cls: l.className,
        shape: l.outputShape,
        p: l.params.total,
        macs: l.macs,
        rf: l.receptiveField,
        inputs: l.inputs,
      }).toEqual({
        id: z.id,
        cls: z.className,
        shape: z.outputShape,
        p: z.params.total,
        macs: z.macs,
        rf: z.receptiveField,
        inputs: z.inputs,
      });
    }
    expect(shared).toBe(154); // everything up to out_relu
  });

  it('the bundled InceptionV3 backbone equals the zoo InceptionV3 layer by layer (1311-pixel field at mixed10)', () => {
    const file = analyzeModelJson(loadBundled('inceptionv3'), 'inceptionv3/model.json');
    const zoo = new Map(analyzeGraph(getZooGraph('inceptionv3')).layers.map((l) => [l.id, l]));
    const shared = file.layers.filter((l) => zoo.has(l.id));
    expect(shared.length).toBe(311);
    for (const l of shared) {
      const z = zoo.get(l.id)!;
      expect([l.id, l.outputShape, l.params.total, l.receptiveField?.size]).toEqual([
        z.id,
        z.outputShape,
        z.params.total,
        z.receptiveField?.size,
      ]);
    }
    expect(file.layers.find((l) => l.id === 'mixed10')?.receptiveField?.size).toEqual([1311, 1311]);
  });

  it('takes another input size for the same file', () => {
    const a = analyzeModelJson(loadBundled('mobilenetv2'), 'mobilenetv2/model.json', { input: [256, 256] });
    expect(a.input).toEqual([256, 256, 3]);
    expect(a.layers.find((l) => l.id === 'out_relu')?.outputShape).toEqual([8, 8, 1280]);
    expect(a.totals.params).toBe(2_619_461);
    // The head average-pools 7×7 windows: a 6×6 map (192×192 input) leaves nothing.
    expect(() => analyzeModelJson(loadBundled('mobilenetv2'), 'm.json', { input: [192, 192] })).toThrow(
      /^m.json: input 192×192 is too small.*"average_pooling2d_1" \(AveragePooling2D\) would output 0×0 from its 6×6 input/,
    );
  });
});

describe('Keras topology parsing', () => {
  it('parses a functional model and counts params from the config without a manifest', () => {
    const json = tinyModel([
      {
        name: 'pool',
        class_name: 'MaxPooling2D',
        config: { name: 'pool', pool_size: [2, 2], strides: [2, 2], padding: 'valid' },
        inbound_nodes: [[['conv', 0, 0, {}]]],
      },
      { name: 'flat', class_name: 'Flatten', config: { name: 'flat' }, inbound_nodes: [[['pool', 0, 0, {}]]] },
      {
        name: 'out',
        class_name: 'Dense',
        config: { name: 'out', units: 10, activation: 'softmax', use_bias: true },
        inbound_nodes: [[['flat', 0, 0, {}]]],
      },
    ]);
    const a = analyzeModelJson(json, 'tiny.json');
    expect(a.name).toBe('tiny');
    expect(a.layers.map((l) => [l.id, l.kind, l.outputShape, l.params.total])).toEqual([
      ['img', 'input', [16, 16, 3], 0],
      ['conv', 'conv', [16, 16, 8], 3 * 3 * 3 * 8 + 8],
      ['pool', 'pool', [8, 8, 8], 0],
      ['flat', 'flatten', [512], 0],
      ['out', 'dense', [10], 512 * 10 + 10],
    ]);
    expect(a.layers[1].activation).toBe('relu');
    expect(a.warnings).toEqual([]);
  });

  it('parses Sequential models (input from the first layer) and Keras 3 inbound nodes', () => {
    const seq = {
      modelTopology: {
        class_name: 'Sequential',
        config: {
          name: 'seq',
          layers: [
            {
              class_name: 'Conv2D',
              config: {
                name: 'c1',
                batch_input_shape: [null, 28, 28, 1],
                filters: 4,
                kernel_size: 5,
                activation: 'relu',
              },
            },
            { class_name: 'BatchNormalization', config: { name: 'bn', axis: -1 } },
            { class_name: 'GlobalAveragePooling2D', config: { name: 'gap' } },
            { class_name: 'Dense', config: { name: 'd', units: 3 } },
          ],
        },
      },
    };
    const a = analyzeModelJson(seq, 'seq.json');
    expect(a.layers.map((l) => [l.id, l.outputShape])).toEqual([
      ['input', [28, 28, 1]],
      ['c1', [24, 24, 4]],
      ['bn', [24, 24, 4]],
      ['gap', [4]],
      ['d', [3]],
    ]);
    expect(a.totals.params).toBe(5 * 5 * 4 + 4 + 16 + 15);
    expect(a.totals.nonTrainable).toBe(8);

    const tensor = (name: string) => ({
      class_name: '__keras_tensor__',
      config: { shape: [null], keras_history: [name, 0, 0] },
    });
    const k3 = {
      modelTopology: {
        class_name: 'Functional',
        config: {
          name: 'k3',
          layers: [
            {
              name: 'x',
              class_name: 'InputLayer',
              config: { batch_shape: [null, 8, 8, 2], name: 'x' },
              inbound_nodes: [],
            },
            {
              name: 'a',
              class_name: 'Conv2D',
              config: { name: 'a', filters: 2, kernel_size: [3, 3], padding: 'same' },
              inbound_nodes: [{ args: [tensor('x')], kwargs: {} }],
            },
            {
              name: 'sum',
              class_name: 'Add',
              config: { name: 'sum' },
              inbound_nodes: [{ args: [[tensor('x'), tensor('a')]], kwargs: {} }],
            },
          ],
          output_layers: [['sum', 0, 0]],
        },
      },
    };
    const b = analyzeModelJson(k3, 'k3.json');
    expect(b.layers.find((l) => l.id === 'sum')?.inputs).toEqual(['x', 'a']);
    expect(b.layers.find((l) => l.id === 'sum')?.receptiveField?.paths).toHaveLength(2);
  });

  it("counts an unknown layer's weights from the manifest and says so", () => {
    const json = tinyModel(
      [
        {
          name: 'mystery',
          class_name: 'MyCustomLayer',
          config: { name: 'mystery', foo: 1 },
          inbound_nodes: [[['conv', 0, 0, {}]]],
        },
        {
          name: 'after',
          class_name: 'Conv2D',
          config: { name: 'after', filters: 4, kernel_size: [1, 1] },
          inbound_nodes: [[['mystery', 0, 0, {}]]],
        },
      ],
      [
        { name: 'conv/kernel', shape: [3, 3, 3, 8] },
        { name: 'conv/bias', shape: [8] },
        { name: 'mystery/w', shape: [8, 8] },
        { name: 'mystery/b', shape: [8] },
        { name: 'after/kernel', shape: [1, 1, 8, 4] },
        { name: 'after/bias', shape: [4] },
      ],
    );
    const a = analyzeModelJson(json, 'custom.json');
    const mystery = a.layers.find((l) => l.id === 'mystery')!;
    expect(mystery.kind).toBe('unknown');
    expect(mystery.className).toBe('MyCustomLayer');
    expect(mystery.params.total).toBe(72);
    expect(mystery.outputShape).toEqual([]);
    expect(mystery.receptiveField).toBeNull();
    // Downstream shapes are unknown, but weights still come from the manifest.
    const after = a.layers.find((l) => l.id === 'after')!;
    expect(after.outputShape).toEqual([]);
    expect(after.params.total).toBe(36);
    expect(a.totals.params).toBe(224 + 72 + 36);
    expect(a.totals.params).toBe(manifestValueCount(json));
    expect(a.warnings.join('\n')).toMatch(/unknown layer class MyCustomLayer/);
    expect(a.warnings.join('\n')).toMatch(/"after" \(Conv2D\): output shape cannot be inferred/);
  });

  it('prefers the manifest when it disagrees with the config, and reports unmatched weights', () => {
    const json = tinyModel(
      [],
      [
        { name: 'conv/kernel', shape: [5, 5, 3, 8] },
        { name: 'conv/bias', shape: [8] },
        { name: 'stray/kernel', shape: [10] },
      ],
    );
    const a = analyzeModelJson(json, 'mismatch.json');
    expect(a.layers[1].params.total).toBe(5 * 5 * 3 * 8 + 8);
    expect(a.warnings.join('\n')).toMatch(/"conv": the weight manifest holds 608 values, the layer config implies 224/);
    expect(a.warnings.join('\n')).toMatch(
      /1 weight tensors \(10 values\) in the manifest match no layer.*stray\/kernel/,
    );
  });

  it('matches weights behind a model-name scope and layer names containing "/"', () => {
    const json = tinyModel(
      [],
      [
        { name: 'tiny/conv/kernel', shape: [3, 3, 3, 8] },
        { name: 'tiny/conv/bias', shape: [8] },
      ],
    );
    const g = graphFromKerasTopology(json, 'scoped.json');
    expect(g.nodes.find((n) => n.name === 'conv')?.weights?.map((w) => w.name)).toEqual([
      'tiny/conv/kernel',
      'tiny/conv/bias',
    ]);
    const slash = tinyModel([], [{ name: 'conv1/conv/kernel', shape: [3, 3, 3, 8] }]);
    const cfg = (slash.modelTopology.model_config.config.layers as { name: string; config: { name: string } }[])[1];
    cfg.name = 'conv1/conv';
    cfg.config.name = 'conv1/conv';
    const g2 = graphFromKerasTopology(slash, 'slash.json');
    expect(g2.nodes[1].weights).toHaveLength(1);
  });

  it('names the file for files that are not layers models', () => {
    expect(() => parseModelJson('{nope', '/x/model.json')).toThrow(/^\/x\/model.json: not valid JSON/);
    expect(() => analyzeModelJson({ hello: 1 }, 'a.json')).toThrow(/^a.json: no "modelTopology"/);
    expect(() => analyzeModelJson([1, 2], 'b.json')).toThrow(/^b.json: expected a JSON object/);
    const emptyGraph = { format: 'graph-model', modelTopology: { node: [] } };
    expect(() => graphFromKerasTopology(emptyGraph, 'g.json')).toThrow(/^g.json: this is a tfjs graph model/);
    expect(() => analyzeModelJson(emptyGraph, 'g.json')).toThrow(/^g.json: the graph has no Placeholder input/);
    expect(() =>
      analyzeModelJson({ modelTopology: { model_config: { class_name: 'Weird', config: {} } } }, 'w.json'),
    ).toThrow(/model class "Weird" is not supported/);
    expect(() =>
      analyzeModelJson(
        {
          modelTopology: {
            class_name: 'Sequential',
            config: { layers: [{ class_name: 'Dense', config: { name: 'd', units: 2 } }] },
          },
        },
        's.json',
      ),
    ).toThrow(/s.json: the first layer "d" of the Sequential model declares no input shape/);
    const cf = tinyModel();
    (cf.modelTopology.model_config.config.layers[1] as { config: Record<string, unknown> }).config.data_format =
      'channels_first';
    expect(() => analyzeModelJson(cf, 'cf.json')).toThrow(AnalysisError);
    expect(() => analyzeModelJson(cf, 'cf.json')).toThrow(
      /cf.json: layer "conv" \(Conv2D\): data_format channels_first/,
    );
  });

  it('asks for an input size when the file leaves it open', () => {
    const open = tinyModel();
    (open.modelTopology.model_config.config.layers[0] as { config: Record<string, unknown> }).config.batch_input_shape =
      [null, null, null, 3];
    expect(() => analyzeModelJson(open, 'open.json')).toThrow(/open.json: the input size is not fixed \(None×None\)/);
    expect(analyzeModelJson(open, 'open.json', { input: [20, 30] }).layers[1].outputShape).toEqual([20, 30, 8]);
  });
});

describe('Keras layer classes → IR ops (flattenKerasModel)', () => {
  const seq = (layers: unknown[], module?: string) => ({
    ...(module ? { module } : {}),
    class_name: 'Sequential',
    config: {
      name: 'm',
      layers: [{ class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 8, 8, 3] } }, ...layers],
    },
  });
  const one = (cls: string, config: Record<string, unknown>, module?: string) =>
    flattenKerasModel(seq([{ class_name: cls, config: { name: 'x', ...config } }], module), 'm.json', { strict: true })
      .graph.nodes[1];

  it('maps activations, including Keras 3 spellings and parameters', () => {
    expect(one('ReLU', { max_value: 6, negative_slope: 0, threshold: 0 })).toMatchObject({ fn: 'relu6' });
    expect(one('ReLU', { max_value: 4.5, negative_slope: 0.1 })).toMatchObject({ fn: 'relu', max: 4.5, alpha: 0.1 });
    expect(() => one('ReLU', { threshold: 1 })).toThrow(
      /m.json: layer "x" \(ReLU\): ReLU with threshold 1 is not supported/,
    );
    expect(one('LeakyReLU', { alpha: 0.1 })).toMatchObject({ fn: 'leaky_relu', alpha: 0.1 });
    expect(one('LeakyReLU', { negative_slope: 0.25 })).toMatchObject({ fn: 'leaky_relu', alpha: 0.25 });
    expect(one('ELU', { alpha: 0.7 })).toMatchObject({ fn: 'elu', alpha: 0.7 });
    expect(one('PReLU', {})).toMatchObject({ fn: 'prelu' });
    expect(one('Softmax', { axis: -1 })).toMatchObject({ fn: 'softmax' });
    expect(one('Activation', { activation: 'silu' })).toMatchObject({ fn: 'swish' });
    expect(one('Activation', { activation: 'hard_silu' })).toMatchObject({ fn: 'hard_swish' });
    expect(one('Activation', { activation: 'hard_sigmoid' })).toEqual(expect.not.objectContaining({ alpha: 1 / 6 }));
    expect(one('Activation', { activation: 'hard_sigmoid' }, 'keras')).toMatchObject({ alpha: 1 / 6, beta: 0.5 });
    expect(one('Activation', { activation: 'leaky_relu' }, 'keras')).toMatchObject({ fn: 'leaky_relu', alpha: 0.2 });
    expect(one('Conv2D', { filters: 2, kernel_size: 3, activation: 'gelu' })).toMatchObject({ activation: 'gelu' });
  });

  it('maps augmentation, noise, resizing, merges and preprocessing layers', () => {
    for (const cls of [
      'RandomFlip',
      'RandomRotation',
      'RandomZoom',
      'RandomContrast',
      'RandomTranslation',
      'RandomBrightness',
      'GaussianNoise',
    ])
      expect(one(cls, { factor: 0.1 }).op, cls).toBe('identity');
    expect(one('SpatialDropout2D', { rate: 0.3 })).toMatchObject({ op: 'dropout', rate: 0.3 });
    expect(one('GaussianDropout', { rate: 0.1 })).toMatchObject({ op: 'dropout', rate: 0.1 });
    expect(one('UpSampling2D', { size: [2, 3], interpolation: 'bilinear' })).toMatchObject({
      op: 'upsample',
      size: [2, 3],
      interpolation: 'bilinear',
    });
    expect(one('Resizing', { height: 5, width: 6, interpolation: 'nearest' })).toMatchObject({
      op: 'resize',
      height: 5,
      width: 6,
    });
    expect(one('Rescaling', { scale: 1 / 255, offset: 0 })).toMatchObject({
      op: 'scale',
      scale: [1 / 255],
      offset: [0],
    });
    expect(one('Normalization', { axis: -1, mean: [1, 2, 3], variance: [4, 4, 16] })).toMatchObject({
      op: 'scale',
      scale: [0.5, 0.5, 0.25],
      offset: [-0.5, -1, -0.75],
    });
    expect(one('Conv2DTranspose', { filters: 4, kernel_size: 3, strides: 2, output_padding: [1, 1] })).toMatchObject({
      op: 'convtranspose',
      outputPadding: [1, 1],
    });
    expect(one('GlobalAveragePooling2D', { keepdims: true })).toMatchObject({ op: 'gap', keepDims: true });
    expect(one('Conv2D', { filters: 6, kernel_size: 3, groups: 3 })).toMatchObject({ op: 'conv', groups: 3 });
    expect(one('DepthwiseConv2D', { kernel_size: 3, depth_multiplier: 2 })).toMatchObject({ depthMultiplier: 2 });
    const g = flattenKerasModel(
      {
        class_name: 'Functional',
        config: {
          name: 'f',
          layers: [
            { class_name: 'InputLayer', name: 'in', config: { batch_input_shape: [null, 4, 4, 2] }, inbound_nodes: [] },
            ...['Subtract', 'Maximum', 'Minimum', 'Average'].map((c) => ({
              class_name: c,
              name: c,
              config: { name: c },
              inbound_nodes: [
                [
                  ['in', 0, 0, {}],
                  ['in', 0, 0, {}],
                ],
              ],
            })),
          ],
          input_layers: [['in', 0, 0]],
          output_layers: [['Average', 0, 0]],
        },
      },
      'f.json',
      { strict: true },
    );
    expect(g.graph.nodes.map((n) => n.op)).toEqual(['input', 'subtract', 'maximum', 'minimum', 'average']);
  });

  it('warns where a fused activation has parameters the IR does not carry (Keras 3 hard_sigmoid, leaky_relu)', () => {
    const f = flattenKerasModel(
      seq([{ class_name: 'Dense', config: { name: 'd', units: 2, activation: 'hard_sigmoid' } }], 'keras'),
      'k3.json',
    );
    expect(f.graph.parseWarnings).toEqual([
      'layer "d": its built-in hard_sigmoid activation has parameters the engine does not take from the layer (Keras 3: relu6(x + 3) / 6); its values may differ slightly',
    ]);
    const k2 = flattenKerasModel(
      seq([{ class_name: 'Dense', config: { name: 'd', units: 2, activation: 'hard_sigmoid' } }]),
      'k2.json',
    );
    expect(k2.graph.parseWarnings).toBeUndefined();
  });

  it('strict mode refuses what it cannot run; the analysis mode keeps it as unknown', () => {
    expect(() => one('ThresholdedReLU', { theta: 1 })).toThrow(
      /layer "x" has class ThresholdedReLU, which Feature Map Explorer does not know/,
    );
    const lax = flattenKerasModel(seq([{ class_name: 'Lambda', config: { name: 'l' } }]), 'm.json');
    expect(lax.graph.nodes[1]).toMatchObject({ op: 'unknown', className: 'Lambda' });
  });
});
