import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { buildGraphModel } from '../../renderer/src/engine/build-zoo';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { LayersRunner } from '../../renderer/src/engine/runner';
import { getZooGraph, type ModelGraph } from '../../renderer/src/zoo';
import type { GraphNode, TensorData, WeightStore } from '../../renderer/src/analysis/graph';

let baseline = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  baseline = tf.memory().numTensors;
});
afterAll(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

/** The weights tfjs-layers built for each layer, as the IR's weight store (Keras order and layout). */
function weightsOf(model: tf.LayersModel, graph: ModelGraph): WeightStore {
  const store: WeightStore = new Map();
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    store.set(
      layer.name,
      ws.map((t, i): TensorData => ({
        name: `${layer.name}/${i}`,
        shape: t.shape,
        data: t.dataSync() as Float32Array,
      })),
    );
  }
  expect(graph.nodes.length).toBeGreaterThan(0);
  return store;
}

/** Every layer's output from both runners on one input; max |a − b| relative to the layer's range. */
async function compareRunners(
  graph: ModelGraph,
  input: [number, number, number],
  seed: number,
  lazy = false,
): Promise<number> {
  const model = buildGraphModel(graph, { seed });
  // Non-trivial BN statistics, so folding them is exercised.
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const values = layer.getWeights().map((w, i, all) =>
      tf.tidy(() => {
        const r = tf.randomUniform(w.shape, 0.5, 1.5, 'float32', seed + i);
        return i === all.length - 1 ? r : tf.add(w, tf.sub(r, 1));
      }),
    );
    layer.setWeights(values);
    tf.dispose(values);
  }
  const layersRunner = new LayersRunner(model);
  const before = tf.memory().numTensors;
  const ir = new IRRunner(graph, weightsOf(model, graph), { lazy });
  // Lazy: nothing is on the backend before the first pass reaches a layer.
  if (lazy) expect(tf.memory().numTensors).toBe(before);
  const x = tf.randomUniform([1, ...input], -1, 1, 'float32', seed);
  const ref = new Map<string, Float32Array>();
  let worst = 0;
  try {
    await layersRunner.run(x, async (o) => {
      ref.set(o.layerId, (await o.tensor.data()) as Float32Array);
    });
    expect(ir.frameOrder.length).toBe(ref.size);
    await ir.run(x, async (o) => {
      const a = (await o.tensor.data()) as Float32Array;
      const b = ref.get(o.layerId)!;
      expect([o.layerId, a.length]).toEqual([o.layerId, b.length]);
      let lo = Infinity;
      let hi = -Infinity;
      let diff = 0;
      for (let i = 0; i < b.length; i++) {
        lo = Math.min(lo, b[i]);
        hi = Math.max(hi, b[i]);
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
      }
      worst = Math.max(worst, diff / Math.max(hi - lo, 1e-6));
    });
  } finally {
    x.dispose();
    ir.dispose();
    model.dispose();
  }
  return worst;
}

describe('IRRunner: the IR executed with tfjs ops equals tfjs-layers, layer by layer', () => {
  it.each([
    ['mobilenetv2', [48, 48, 3]],
    ['resnet50', [32, 32, 3]],
    ['inceptionv3', [75, 75, 3]],
    ['googlenet', [32, 32, 3]],
    ['densenet121', [32, 32, 3]],
  ] as const)(
    '%s (every layer within 1e-4 of its range)',
    async (id, input) => {
      const graph = getZooGraph(id, { input: [input[0], input[1]] });
      const worst = await compareRunners(graph, [...input], 3);
      expect(worst).toBeLessThan(1e-4);
    },
    120_000,
  );

  it('lazy mode (each layer built when the pass reaches it) equals tfjs-layers too: mobilenetv2', async () => {
    const graph = getZooGraph('mobilenetv2', { input: [48, 48] });
    expect(await compareRunners(graph, [48, 48, 3], 4, true)).toBeLessThan(1e-4);
  }, 120_000);

  it('layers beyond the zoo: separable, transposed conv, upsampling, merges, activations with parameters', async () => {
    const n = (node: Partial<GraphNode> & { op: GraphNode['op']; name: string }, inputs: string[]) =>
      ({ ...node, inputs }) as GraphNode;
    const graph: ModelGraph = {
      name: 'mixed',
      outputs: ['out'],
      nodes: [
        n({ op: 'input', name: 'in', shape: [12, 12, 3] } as never, []),
        n(
          {
            op: 'separable',
            name: 'sep',
            kernel: [3, 3],
            strides: [1, 1],
            padding: 'same',
            dilation: [1, 1],
            useBias: true,
            filters: 8,
            depthMultiplier: 2,
            activation: 'relu',
          } as never,
          ['in'],
        ),
        n({ op: 'activation', name: 'lrelu', fn: 'leaky_relu', alpha: 0.1 } as never, ['sep']),
        n(
          {
            op: 'convtranspose',
            name: 'up',
            kernel: [3, 3],
            strides: [2, 2],
            padding: 'same',
            dilation: [1, 1],
            useBias: true,
            filters: 4,
          } as never,
          ['lrelu'],
        ),
        n({ op: 'upsample', name: 'ups', size: [2, 2], interpolation: 'nearest' } as never, ['sep']),
        n(
          {
            op: 'conv',
            name: 'c4',
            kernel: [1, 1],
            strides: [1, 1],
            padding: 'valid',
            dilation: [1, 1],
            useBias: false,
            filters: 4,
          } as never,
          ['ups'],
        ),
        n({ op: 'subtract', name: 'sub' } as never, ['up', 'c4']),
        n({ op: 'activation', name: 'hs', fn: 'hard_sigmoid', alpha: 0.2, beta: 0.5 } as never, ['sub']),
        n({ op: 'gap', name: 'gap' } as never, ['hs']),
        n({ op: 'dense', name: 'out', units: 3, useBias: true, activation: 'softmax' } as never, ['gap']),
      ],
    };
    // tfjs-layers has no Subtract or hard_sigmoid-with-params layer builder here: compare by hand instead.
    const shapes = analyzeGraph(graph).layers.map((l) => [l.id, l.outputShape]);
    expect(shapes).toEqual([
      ['in', [12, 12, 3]],
      ['sep', [12, 12, 8]],
      ['lrelu', [12, 12, 8]],
      ['up', [24, 24, 4]],
      ['ups', [24, 24, 8]],
      ['c4', [24, 24, 4]],
      ['sub', [24, 24, 4]],
      ['hs', [24, 24, 4]],
      ['gap', [4]],
      ['out', [3]],
    ]);
    const rnd = (name: string, shape: number[], seed: number): TensorData => {
      const t = tf.randomNormal(shape, 0, 0.5, 'float32', seed);
      const data = t.dataSync() as Float32Array;
      t.dispose();
      return { name, shape, data };
    };
    const weights: WeightStore = new Map([
      ['sep', [rnd('dw', [3, 3, 3, 2], 1), rnd('pw', [1, 1, 6, 8], 2), rnd('b', [8], 3)]],
      ['up', [rnd('k', [3, 3, 4, 8], 4), rnd('b', [4], 5)]],
      ['c4', [rnd('k', [1, 1, 8, 4], 6)]],
      ['out', [rnd('k', [4, 3], 7), rnd('b', [3], 8)]],
    ]);
    const ir = new IRRunner(graph, weights);
    const x = tf.randomUniform([1, 12, 12, 3], 0, 1, 'float32', 9);
    const outs = new Map<string, number[]>();
    await ir.run(x, async (o) => {
      expect(o.tensor.shape.slice(1)).toEqual(shapes.find((s) => s[0] === o.layerId)![1]);
      outs.set(o.layerId, Array.from(await o.tensor.data()));
    });
    // Independent references with tfjs's own ops for the pieces: transposed conv ('same', stride 2) and the head.
    const ref = tf.tidy(() => {
      const w = (name: string) => weights.get(name)!;
      const t = (d: TensorData) => tf.tensor(d.data, d.shape);
      let s = tf.separableConv2d(
        x as tf.Tensor4D,
        t(w('sep')[0]) as tf.Tensor4D,
        t(w('sep')[1]) as tf.Tensor4D,
        1,
        'same',
      );
      s = tf.relu(tf.add(s, t(w('sep')[2])));
      const l = tf.leakyRelu(s, 0.1);
      const up = tf.add(
        tf.conv2dTranspose(l as tf.Tensor4D, t(w('up')[0]) as tf.Tensor4D, [1, 24, 24, 4], 2, 'same'),
        t(w('up')[1]),
      );
      const ups = tf.image.resizeNearestNeighbor(s as tf.Tensor4D, [24, 24]);
      const c4 = tf.conv2d(ups, t(w('c4')[0]) as tf.Tensor4D, 1, 'valid');
      const hs = tf.clipByValue(tf.add(tf.mul(tf.sub(up, c4), 0.2), 0.5), 0, 1);
      const gap = tf.mean(hs, [1, 2]);
      return Array.from(
        tf.softmax(tf.add(tf.matMul(gap as tf.Tensor2D, t(w('out')[0]) as tf.Tensor2D), t(w('out')[1]))).dataSync(),
      );
    });
    const got = outs.get('out')!;
    ref.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    x.dispose();
    ir.dispose();
  });

  it('explicit padding and ceil mode follow PyTorch: a hand-computed 4×4 max and average pool', async () => {
    const graph: ModelGraph = {
      name: 'pools',
      outputs: ['avg'],
      nodes: [
        { op: 'input', name: 'in', inputs: [], shape: [4, 4, 1] },
        { op: 'maxpool', name: 'max', inputs: ['in'], pool: [3, 3], strides: [2, 2], padding: [1, 1, 1, 1] },
        {
          op: 'avgpool',
          name: 'avg',
          inputs: ['in'],
          pool: [3, 3],
          strides: [2, 2],
          padding: 'valid',
          ceilMode: true,
        },
      ],
    };
    // in = -1 … -16 row-major: max over padded windows must never pick a padding zero.
    const x = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => -(i + 1)),
      [1, 4, 4, 1],
    );
    const ir = new IRRunner(graph, new Map());
    const outs = new Map<string, number[]>();
    await ir.run(x, async (o) => void outs.set(o.layerId, Array.from(await o.tensor.data())));
    // max, padding 1: out = floor((4 + 2 − 3)/2) + 1 = 2; window (0,0) covers rows/cols 0..1 of the image, (1,1) rows/cols 1..3.
    expect(outs.get('max')).toEqual([-1, -2, -5, -6]);
    // avg, ceil_mode: out = ceil((4−3)/2)+1 = 2; the last window covers rows 2..3 only and divides by the cells it covers.
    const a = (rows: number[], cols: number[]) =>
      rows.flatMap((r) => cols.map((c) => -(r * 4 + c + 1))).reduce((s, v) => s + v, 0) / (rows.length * cols.length);
    expect(outs.get('avg')!.map((v) => +v.toFixed(5))).toEqual(
      [a([0, 1, 2], [0, 1, 2]), a([0, 1, 2], [2, 3]), a([2, 3], [0, 1, 2]), a([2, 3], [2, 3])].map(
        (v) => +v.toFixed(5),
      ),
    );
    x.dispose();
    ir.dispose();
  });
});
