/**
 * Channel health counts against direct counts: hand-built activations with known dead / sparse / saturated
 * channels, and every ReLU6 layer of the pretrained MobileNetV2 on a photo-like input, where the oracle is tfjs
 * reductions over the same floats (tf.equal / tf.all per channel), not this module's loop.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import {
  DEAD,
  SATURATED,
  channelHealth,
  channelHealthOfTensor,
  clipValueOf,
  healthFromRange,
} from '../../renderer/src/engine/channel-health';
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

describe('constructed activations', () => {
  it('counts dead, zero and saturated values of a 3×4×5 ReLU6 map', () => {
    // Channel 0 all zero (dead), 1 all 6 (saturated), 2 half zeros, 3 one zero, 4 values up to 5.9 (not saturated).
    const H = 3;
    const W = 4;
    const C = 5;
    const v = new Float32Array(H * W * C);
    for (let p = 0; p < H * W; p++) {
      v[p * C + 0] = 0;
      v[p * C + 1] = 6;
      v[p * C + 2] = p % 2 === 0 ? 0 : 1.5;
      v[p * C + 3] = p === 7 ? 0 : 2;
      v[p * C + 4] = p === 0 ? 6 : 5.9;
    }
    const h = channelHealth(v, [1, H, W, C], { clip: 6 });
    expect(h.channels).toBe(5);
    expect(h.perChannel).toBe(12);
    expect(h.dead).toBe(1);
    expect(h.deadShare).toBeCloseTo(1 / 5, 12);
    // Zeros: 12 (dead) + 6 (half) + 1 = 19 of 60.
    expect(h.sparsity).toBeCloseTo(19 / 60, 12);
    expect(h.saturated).toBe(1);
    expect([...h.state]).toEqual([DEAD, SATURATED, 0, 0, 0]);
    expect([...h.zeroShare!]).toEqual([1, 0, 0.5, 1 / 12, 0].map(Math.fround));
    // Without a clip value nothing counts as saturated.
    expect(channelHealth(v, [H, W, C]).saturated).toBe(0);
  });

  it('a dense vector: every unit is its own channel', () => {
    const h = channelHealth(Float32Array.of(0, 1, 0, 6), [1, 4], { clip: 6 });
    expect([h.dead, h.saturated, h.sparsity]).toEqual([2, 1, 0.5]);
  });

  it('rejects data that does not fit its shape, naming the layer', () => {
    expect(() => channelHealth(new Float32Array(5), [1, 2, 2, 1], {}, 'layer "x"')).toThrow(
      /layer "x": 5 values for shape \[1, 2, 2, 1\]/,
    );
  });

  it('clip values from the graph: ReLU6, ReLU(max_value), clip, and none', () => {
    expect(clipValueOf({ name: 'a', op: 'activation', inputs: ['x'], fn: 'relu6' })).toBe(6);
    expect(clipValueOf({ name: 'a', op: 'activation', inputs: ['x'], fn: 'relu', max: 4 })).toBe(4);
    expect(clipValueOf({ name: 'a', op: 'activation', inputs: ['x'], fn: 'clip', min: 0, max: 1 })).toBe(1);
    expect(clipValueOf({ name: 'a', op: 'activation', inputs: ['x'], fn: 'relu' })).toBeNull();
    expect(
      clipValueOf({
        name: 'c',
        op: 'conv',
        inputs: ['x'],
        filters: 1,
        kernel: [1, 1],
        strides: [1, 1],
        padding: 'valid',
        dilation: [1, 1],
        useBias: false,
        activation: 'relu6',
      }),
    ).toBe(6);
  });
});

describe('MobileNetV2 (pretrained) ReLU6 layers', () => {
  it('dead / saturated / sparsity equal a tfjs count on the floats, and the min/max form agrees', async () => {
    const dir = join(RESOURCES, 'models', 'mobilenetv2');
    const files = readdirSync(dir)
      .filter((f) => f === 'model.json' || f.endsWith('.bin'))
      .map((path) => ({ path, bytes: new Uint8Array(readFileSync(join(dir, path))) }));
    const opened = await openModelFiles(files, 'mobilenetv2');
    const analysis = analyzeGraph(opened.graph, { input: [224, 224] });
    const order = new Map(analysis.layers.map((l, i) => [l.id, i]));
    opened.graph.nodes.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    const runner = new IRRunner(opened.graph, opened.weights);
    const relu6 = opened.graph.nodes.filter((n) => clipValueOf(n) === 6).map((n) => n.name);
    expect(relu6.length).toBeGreaterThan(30);
    // A photo-like input: smooth colour gradients with a bright disc.
    const x = tf.tidy(() => {
      const r = tf.linspace(-1, 1, 224).reshape([224, 1, 1]);
      const c = tf.linspace(-1, 1, 224).reshape([1, 224, 1]);
      const disc = tf.cast(tf.less(tf.add(tf.square(r), tf.square(c)), 0.2), 'float32');
      const ch = tf.tensor1d([0.9, 0.4, 0.1]).reshape([1, 1, 3]);
      return tf.clipByValue(tf.add(tf.mul(disc, ch), tf.mul(tf.add(r, 1), 0.25)), 0, 1).expandDims(0);
    });
    let dead = 0;
    let saturated = 0;
    try {
      await runner.run(x, async (o) => {
        if (!relu6.includes(o.layerId)) return;
        const h = await channelHealthOfTensor(o.tensor, { clip: 6, eps: 0 });
        const [d, s, z, mn, mx] = tf.tidy(() => {
          const t = o.tensor;
          const C = t.shape[3]!;
          const flat = tf.reshape(t, [-1, C]);
          return [
            tf.sum(tf.all(tf.equal(flat, 0), 0)),
            tf.sum(tf.all(tf.greaterEqual(flat, 6), 0)),
            tf.sum(tf.cast(tf.equal(flat, 0), 'int32')),
            tf.min(flat, 0),
            tf.max(flat, 0),
          ];
        });
        const [dd, ss, zz] = await Promise.all([d.data(), s.data(), z.data()]);
        const [mins, maxs] = await Promise.all([mn.data(), mx.data()]);
        tf.dispose([d, s, z, mn, mx]);
        expect([o.layerId, h.dead, h.saturated]).toEqual([o.layerId, dd[0], ss[0]]);
        expect(h.sparsity).toBeCloseTo(zz[0] / o.tensor.size, 12);
        const r = healthFromRange(mins, maxs, h.perChannel, { clip: 6, eps: 0, zeros: zz[0] });
        expect([...r.state]).toEqual([...h.state]);
        expect(r.sparsity).toBeCloseTo(h.sparsity!, 12);
        dead += h.dead;
        saturated += h.saturated;
      });
    } finally {
      x.dispose();
      runner.dispose();
    }
    // Reported, not asserted as exact: how many channels of this image are dead / pinned at 6 over the network.
    console.info(`MobileNetV2 ReLU6 layers: ${dead} dead, ${saturated} saturated channels`);
  }, 60_000);
});
