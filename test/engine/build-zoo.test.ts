import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { buildGraphModel, buildZooModel } from '../../renderer/src/engine/build-zoo';
import { getZooGraph, GraphBuilder, ZOO_IDS, type ZooId } from '../../renderer/src/zoo';

// Small inputs keep the weights (and the CPU backend's He-normal sampling) cheap. Conv weights do not depend on
// the input size, and global-average-pooled heads neither, so those models are checked against their published
// totals too; AlexNet's and VGG's flatten-fed fc layers shrink with the input, as the analysis predicts.
const SMALL: Record<ZooId, [number, number]> = {
  alexnet: [64, 64],
  vgg16: [32, 32],
  googlenet: [32, 32],
  resnet50: [32, 32],
  densenet121: [32, 32],
  mobilenetv2: [32, 32],
  inceptionv3: [75, 75],
};
const PUBLISHED: Partial<Record<ZooId, number>> = {
  googlenet: 6_639_464, // torchvision 6,624,904 + 14,560 BN moving statistics (Keras convention)
  resnet50: 25_636_712,
  densenet121: 8_062_504,
  mobilenetv2: 3_538_984,
  inceptionv3: 23_851_784,
};

let baseline = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  baseline = tf.memory().numTensors;
});
afterAll(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

describe('buildZooModel: the engine builds exactly what the analysis describes', () => {
  it.each(ZOO_IDS)('%s: params, layer names and every output shape agree with the analysis', (id) => {
    const input = SMALL[id];
    const model = buildZooModel(id, { input, seed: 7 });
    try {
      const analysis = analyzeGraph(getZooGraph(id, { input }));
      expect(model.countParams()).toBe(analysis.totals.params);
      if (PUBLISHED[id]) expect(model.countParams()).toBe(PUBLISHED[id]);
      expect(model.layers.map((l) => l.name).sort()).toEqual(analysis.layers.map((l) => l.id).sort());

      // Per-layer parameter counts, and BN statistics as tfjs's non-trainable weights.
      const byId = new Map(analysis.layers.map((l) => [l.id, l]));
      for (const layer of model.layers) {
        const expected = byId.get(layer.name)!;
        expect([layer.name, layer.countParams()]).toEqual([layer.name, expected.params.total]);
        const nonTrainable = layer.nonTrainableWeights.reduce(
          (s, w) => s + (w.shape as number[]).reduce((a, b) => a * b, 1),
          0,
        );
        expect([layer.name, nonTrainable]).toEqual([layer.name, expected.params.nonTrainable]);
      }

      // One forward pass with every layer as an output: real tensor shapes equal the analysed ones.
      const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
      const probe = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.output as tf.SymbolicTensor) });
      const outs = tf.tidy(() => probe.predict(tf.zeros([1, input[0], input[1], 3])) as tf.Tensor[]);
      try {
        layers.forEach((l, i) =>
          expect([l.name, outs[i].shape.slice(1)]).toEqual([l.name, byId.get(l.name)!.outputShape]),
        );
      } finally {
        tf.dispose(outs);
      }
    } finally {
      model.dispose();
    }
  });

  it('is deterministic per seed, and different seeds give different weights', () => {
    const w = (seed: number) => {
      const m = buildZooModel('mobilenetv2', { input: [32, 32], seed });
      const v = m.getLayer('Conv1').getWeights()[0].dataSync().slice(0, 64);
      m.dispose();
      return Array.from(v);
    };
    const a = w(1);
    expect(w(1)).toEqual(a);
    expect(w(2)).not.toEqual(a);
    // He-normal: spread ≈ sqrt(2 / fan_in) = sqrt(2 / 27) ≈ 0.27 for Conv1 (3×3×3); it is not all zeros or ones.
    const std = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    expect(std).toBeGreaterThan(0.1);
    expect(std).toBeLessThan(0.5);
  });

  it('builds the default input size for the architecture', () => {
    const m = buildZooModel('mobilenetv2');
    try {
      expect(m.inputs[0].shape).toEqual([null, 224, 224, 3]);
      expect(m.outputs[0].shape).toEqual([null, 1000]);
    } finally {
      m.dispose();
    }
  });

  it('rejects graphs it cannot build, naming the layer', () => {
    expect(() => buildZooModel('lenet')).toThrow(/Unknown zoo model "lenet"/);
    const g = new GraphBuilder('odd').build([]);
    g.nodes.push(
      { name: 'in', op: 'input', inputs: [], shape: [8, 8, 3] },
      { name: 'mystery', op: 'unknown', inputs: ['in'], className: 'Foo' },
    );
    g.outputs = ['mystery'];
    expect(() => buildGraphModel(g)).toThrow(/layer "mystery" \(unknown\) cannot be built/);
  });
});
