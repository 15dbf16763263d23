import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  analyzeModelJson,
  graphFromGraphModel,
  manifestValueCount,
  type ModelAnalysis,
} from '../../renderer/src/analysis';

/**
 * A real tfjs graph model: nsfwjs ships "mobilenet_v2_mid" (TF-Hub MobileNetV2 with depth multiplier 1.4 plus a
 * 5-class head, converted by tensorflowjs_converter 1.7.4 with fused ops) as a UMD wrapper around its model.json.
 * It is evaluated in an empty vm context, as scripts/prepare-resources.mjs does for the bundled models.
 */
function loadMid(): unknown {
  const pkg = createRequire(import.meta.url).resolve('nsfwjs');
  let dir = dirname(pkg);
  while (!dir.endsWith('nsfwjs')) dir = dirname(dir);
  const code = readFileSync(join(dir, 'dist/models/mobilenet_v2_mid/model.min.js'), 'utf8');
  const module = { exports: {} as unknown };
  vm.runInContext(code, vm.createContext({ module, exports: module.exports }), { timeout: 20_000 });
  return module.exports;
}

const json = loadMid();
const PREFIX =
  'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/';
const layer = (a: ModelAnalysis, id: string) => {
  const l = a.layers.find((x) => x.id === id || x.id === PREFIX + id);
  if (!l) throw new Error(`no ${id}`);
  return l;
};

describe('tfjs graph models (TensorFlow ops)', () => {
  const a = analyzeModelJson(json, 'mobilenet_v2_mid/model.json');

  it('counts exactly the values its weight manifest lists', () => {
    expect(manifestValueCount(json)).toBe(4_300_775);
    expect(a.totals.params).toBe(4_300_775);
    expect(a.warnings).toEqual([]);
  });

  it('turns fused TF ops into conv / depthwise / dense nodes named like the TF nodes', () => {
    expect(a.layers).toHaveLength(70); // the 70 non-constant ops
    const stem = layer(a, 'MobilenetV2/Conv/Relu6');
    expect(stem).toMatchObject({
      kind: 'conv',
      className: '_FusedConv2D',
      outputShape: [112, 112, 48],
      activation: 'relu6',
    });
    expect(stem.params).toMatchObject({ weights: 3 * 3 * 3 * 48, biases: 48 }); // BN folded into the bias
    expect(stem.geometry).toMatchObject({ kernel: [3, 3], stride: [2, 2], padding: 'same', pad: [0, 1, 0, 1] });
    expect(layer(a, 'MobilenetV2/expanded_conv/depthwise/depthwise')).toMatchObject({
      kind: 'depthwise',
      outputShape: [112, 112, 48],
    });
    expect(layer(a, 'MobilenetV2/Conv_1/Relu6').params.total).toBe(448 * 1792 + 1792);
    expect(layer(a, 'MobilenetV2/Logits/AvgPool')).toMatchObject({ kind: 'pool', outputShape: [1, 1, 1792] });
    expect(layer(a, 'StatefulPartitionedCall/sequential/dense/BiasAdd')).toMatchObject({
      kind: 'dense',
      outputShape: [5],
    });
    expect(layer(a, 'MobilenetV2/expanded_conv_2/add')).toMatchObject({ kind: 'add' });
    expect(a.layers.at(-1)).toMatchObject({ id: 'Identity', outputShape: [5] });
  });

  it('gives the same receptive field as the Keras MobileNetV2 (491 pixels, jump 32)', () => {
    expect(layer(a, 'MobilenetV2/Conv_1/Relu6').receptiveField).toMatchObject({
      size: [491, 491],
      jump: [32, 32],
      start: [31, 31],
    });
  });

  it('names the file for broken graph models', () => {
    expect(() => graphFromGraphModel({}, 'x.json')).toThrow(/^x.json: not a tfjs graph model/);
    const tiny = (format: string) => ({
      format: 'graph-model',
      modelTopology: {
        node: [
          {
            name: 'in',
            op: 'Placeholder',
            attr: { shape: { shape: { dim: [{ size: '-1' }, { size: '8' }, { size: '8' }, { size: '3' }] } } },
          },
          {
            name: 'w',
            op: 'Const',
            attr: {
              value: { tensor: { tensorShape: { dim: [{ size: '3' }, { size: '3' }, { size: '3' }, { size: '4' }] } } },
            },
          },
          {
            name: 'c',
            op: 'Conv2D',
            input: ['in', 'w'],
            attr: { data_format: { s: btoa(format) }, padding: { s: btoa('VALID') } },
          },
        ],
      },
    });
    expect(() => graphFromGraphModel(tiny('NCHW'), 'nchw.json')).toThrow(
      /^nchw.json: node "c" \(Conv2D\): data_format NCHW is not supported/,
    );
    const g = analyzeModelJson(tiny('NHWC'), 'nhwc.json');
    // No manifest: the filter's shape comes from the Const node, the count from the conv's config.
    expect(g.layers.find((l) => l.id === 'c')).toMatchObject({ outputShape: [6, 6, 4], params: { total: 108 } });
  });
});
