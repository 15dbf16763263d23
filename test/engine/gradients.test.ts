/**
 * Effective receptive field and Grad-CAM through IRRunner.forwardSync. Oracles: for linear all-ones conv stacks
 * the gradient of a unit with respect to a pixel is the number of paths from that pixel to the unit, counted by
 * hand below ([1 2 3 2 1] ⊗ [1 2 3 2 1] for two 3×3 convs; [1 1 2 1 2 1 1] per axis for a stride-2 conv then a
 * 3×3); the theoretical box comes from the analysis. Grad-CAM: a bright square on black through a model whose class
 * is that square's channel must peak inside the square, with weights equal to the hand-derived dense / (h·w).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import {
  DifferentiableRunner,
  defaultCamLayer,
  effectiveField,
  gradCam,
  massShare,
} from '../../renderer/src/engine/gradients';
import { InputError } from '../../common/image-header';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { openModelFiles } from '../../renderer/src/formats';
import { GraphBuilder } from '../../renderer/src/zoo/builder';
import type { ModelGraph, WeightStore } from '../../renderer/src/analysis/graph';
import { RESOURCES, seeded } from './helpers';

let baseline = 0;
beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  baseline = tf.memory().numTensors;
});
afterAll(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

const ones = (n: number) => new Float32Array(n).fill(1);

function contextOf(graph: ModelGraph, weights: WeightStore) {
  const runner = new IRRunner(graph, weights);
  const analysis = analyzeGraph(graph);
  const diff = new DifferentiableRunner(graph, runner, weights);
  const dispose = () => {
    diff.dispose();
    runner.dispose();
  };
  return { graph, runner, diff, analysis, weights, dispose };
}

/** Number of paths from input offset o (0-based within the field) through convs with kernel k / stride s. */
function pathCounts(layers: { k: number; s: number }[]): number[] {
  // Walk down from the one unit: counts per position of each earlier layer.
  let counts = [1];
  for (let l = layers.length - 1; l >= 0; l--) {
    const { k, s } = layers[l];
    const next = new Array<number>((counts.length - 1) * s + k).fill(0);
    counts.forEach((c, u) => {
      for (let t = 0; t < k; t++) next[u * s + t] += c;
    });
    counts = next;
  }
  return counts;
}

describe('effective receptive field', () => {
  it('two linear 3×3 all-ones convs: the gradient is [1 2 3 2 1]ᵀ[1 2 3 2 1] on the 5×5 field, zero outside', async () => {
    expect(
      pathCounts([
        { k: 3, s: 1 },
        { k: 3, s: 1 },
      ]),
    ).toEqual([1, 2, 3, 2, 1]);
    const b = new GraphBuilder('ones');
    const x = b.input('image', [11, 11, 2]);
    const c1 = b.conv('c1', x, 2, 3, { useBias: false });
    const c2 = b.conv('c2', c1, 1, 3, { useBias: false });
    const weights: WeightStore = new Map([
      ['c1', [{ name: 'k', shape: [3, 3, 2, 2], data: ones(36) }]],
      ['c2', [{ name: 'k', shape: [3, 3, 2, 1], data: ones(18) }]],
    ]);
    const ctx = contextOf(b.build([c2]), weights);
    const input = tf.tensor4d(seeded(11 * 11 * 2, 1), [1, 11, 11, 2]);
    try {
      const r = await effectiveField(ctx, input, { layer: 'c2', channel: 0, y: 3, x: 2 });
      // c2 unit (3, 2) sees input rows 3..7, cols 2..6.
      expect(r.box).toMatchObject({ top: 3, bottom: 7, left: 2, right: 6 });
      const a = [1, 2, 3, 2, 1];
      // Two input channels, each with 2 paths per c1 channel pattern: |∂/∂x| summed over the 2 input channels.
      // Per input channel the count is 2 (c1 channels) · a_i · a_j; summed over 2 input channels: 4 · a_i · a_j.
      for (let i = 0; i < 11; i++)
        for (let j = 0; j < 11; j++) {
          const inBox = i >= 3 && i <= 7 && j >= 2 && j <= 6;
          const want = inBox ? 4 * a[i - 3] * a[j - 2] : 0;
          expect(r.map[i * 11 + j], `pixel (${i}, ${j})`).toBeCloseTo(want, 4);
        }
      expect(r.insideBox).toBeCloseTo(1, 6);
      expect(r.mass).toBeCloseTo(4 * 81, 3);
      // 95 % of 81 by hand: 9 + 4·6 + 4·4 + 4·3 = 61 on 13 pixels, then 8 pixels of 2 reach 77 ≥ 76.95: 21 of 25.
      expect(r.pixels95).toBe(21);
      expect(r.share95).toBeCloseTo(21 / 25, 10);
    } finally {
      input.dispose();
      ctx.dispose();
    }
  });

  it('a stride-2 conv then a 3×3: the path counts [1 1 2 1 2 1 1] per axis', async () => {
    const want = pathCounts([
      { k: 3, s: 2 },
      { k: 3, s: 1 },
    ]);
    expect(want).toEqual([1, 1, 2, 1, 2, 1, 1]);
    const b = new GraphBuilder('strided');
    const x = b.input('image', [15, 15, 1]);
    const c1 = b.conv('c1', x, 1, 3, { strides: 2, useBias: false });
    const c2 = b.conv('c2', c1, 1, 3, { useBias: false });
    const weights: WeightStore = new Map([
      ['c1', [{ name: 'k', shape: [3, 3, 1, 1], data: ones(9) }]],
      ['c2', [{ name: 'k', shape: [3, 3, 1, 1], data: ones(9) }]],
    ]);
    const ctx = contextOf(b.build([c2]), weights);
    const input = tf.tensor4d(seeded(225, 2), [1, 15, 15, 1]);
    try {
      const r = await effectiveField(ctx, input, { layer: 'c2', channel: 0, y: 2, x: 1 });
      // Unit (2, 1): rows 4..10, cols 2..8 (jump 2, size 7).
      expect(r.box).toMatchObject({ top: 4, bottom: 10, left: 2, right: 8 });
      for (let i = 0; i < 15; i++)
        for (let j = 0; j < 15; j++) {
          const inBox = i >= 4 && i <= 10 && j >= 2 && j <= 8;
          expect(r.map[i * 15 + j]).toBeCloseTo(inBox ? want[i - 4] * want[j - 2] : 0, 4);
        }
    } finally {
      input.dispose();
      ctx.dispose();
    }
  });

  it('a ReLU conv stack with random weights and same padding: the gradient stays inside the (clipped) field', async () => {
    const b = new GraphBuilder('relu');
    let x = b.input('image', [20, 20, 3]);
    const ks = [3, 3, 5, 3];
    const ws: WeightStore = new Map();
    let cin = 3;
    ks.forEach((k, i) => {
      x = b.conv(`c${i}`, x, 4, k, { padding: 'same', activation: 'relu', strides: i === 1 ? 2 : 1 });
      ws.set(`c${i}`, [
        { name: 'k', shape: [k, k, cin, 4], data: seeded(k * k * cin * 4, 10 + i).map((v) => 0.5 * v + 0.15) },
        { name: 'b', shape: [4], data: seeded(4, 20 + i).map((v) => 0.5 + 0.1 * v) },
      ]);
      cin = 4;
    });
    const ctx = contextOf(b.build([x]), ws);
    const input = tf.tensor4d(
      seeded(20 * 20 * 3, 3).map((v) => v + 0.5),
      [1, 20, 20, 3],
    );
    try {
      const out = await ctx.runner.runTo(input, 'c3');
      const act = (await out.data()) as Float32Array;
      out.dispose();
      for (const [yy, xx] of [
        [5, 5],
        [0, 9],
      ]) {
        // The most active channel at this unit (a ReLU unit at 0 has no gradient at all).
        let channel = 0;
        for (let c = 1; c < 4; c++) if (act[(yy * 10 + xx) * 4 + c] > act[(yy * 10 + xx) * 4 + channel]) channel = c;
        expect(act[(yy * 10 + xx) * 4 + channel]).toBeGreaterThan(0);
        const r = await effectiveField(ctx, input, { layer: 'c3', channel, y: yy, x: xx });
        expect(r.box).not.toBeNull();
        const box = r.box!;
        expect(r.mass).toBeGreaterThan(0);
        let outside = 0;
        for (let i = 0; i < 20; i++)
          for (let j = 0; j < 20; j++)
            if (i < box.top || i > box.bottom || j < box.left || j > box.right) outside += r.map[i * 20 + j];
        expect(outside).toBe(0);
        expect(r.insideBox).toBe(1);
        expect(r.share95).toBeGreaterThan(0);
        expect(r.share95).toBeLessThanOrEqual(1);
      }
    } finally {
      input.dispose();
      ctx.dispose();
    }
  });

  it('the input-only gradients of conv / depthwise / separable equal tfjs’s own (cpu backend, every kernel)', async () => {
    // Oracle: on the cpu backend tfjs differentiates the runner's fused ops itself; the DifferentiableRunner's
    // hand-built input gradients must give the same map for strides, 'same' / explicit padding, dilation,
    // depth multiplier 2, groups and separable convs (fused-forward and unfused paths).
    await tf.setBackend('cpu');
    // tfjs cannot differentiate a dilated conv at all, so the oracle graph has c1 as the equivalent undilated 5×5
    // conv with zeros between the taps (built here by hand); the graph under test keeps dilation 2.
    const mix = (dilated: boolean) => {
      const b = new GraphBuilder('mix');
      const x0 = b.input('image', [13, 12, 4]);
      const d1 = b.depthwise('d1', x0, 3, { strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu6' });
      const c1 = dilated
        ? b.conv('c1', d1, 6, 3, { dilation: 2, padding: 'same', activation: 'elu' })
        : b.conv('c1', d1, 6, 5, { padding: 'same', activation: 'elu' });
      const g1 = b.conv('g1', c1, 6, 3, { groups: 3, strides: [1, 2], padding: 'valid' });
      const graph = b.build([g1]);
      // An explicit-padding depthwise (ONNX style) and a separable conv on top, written as IR nodes.
      graph.nodes.push(
        {
          name: 'pd',
          op: 'depthwise',
          inputs: ['g1'],
          kernel: [3, 3],
          strides: [2, 1],
          padding: [2, 0, 1, 1],
          dilation: [1, 1],
          useBias: true,
          depthMultiplier: 1,
        },
        {
          name: 'sp',
          op: 'separable',
          inputs: ['pd'],
          kernel: [3, 3],
          strides: [1, 1],
          padding: 'same',
          dilation: [1, 1],
          useBias: true,
          filters: 5,
          depthMultiplier: 1,
          activation: 'tanh',
        },
      );
      // A linear separable with depth multiplier 2 (the fused-forward path).
      graph.nodes.push({
        name: 'sq',
        op: 'separable',
        inputs: ['sp'],
        kernel: [3, 3],
        strides: [1, 1],
        padding: 'same',
        dilation: [1, 1],
        useBias: true,
        filters: 3,
        depthMultiplier: 2,
      });
      graph.outputs = ['sq'];
      const k3 = seeded(432, 3);
      const k5 = new Float32Array(5 * 5 * 48);
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++)
          k5.set(k3.subarray((i * 3 + j) * 48, (i * 3 + j + 1) * 48), (i * 2 * 5 + j * 2) * 48);
      const ws: WeightStore = new Map([
        [
          'd1',
          [
            { name: 'k', shape: [3, 3, 4, 2], data: seeded(72, 1) },
            { name: 'b', shape: [8], data: seeded(8, 2) },
          ],
        ],
        [
          'c1',
          [
            dilated ? { name: 'k', shape: [3, 3, 8, 6], data: k3 } : { name: 'k', shape: [5, 5, 8, 6], data: k5 },
            { name: 'b', shape: [6], data: seeded(6, 4) },
          ],
        ],
        [
          'g1',
          [
            { name: 'k', shape: [3, 3, 2, 6], data: seeded(108, 5) },
            { name: 'b', shape: [6], data: seeded(6, 6) },
          ],
        ],
        [
          'pd',
          [
            { name: 'k', shape: [3, 3, 6, 1], data: seeded(54, 7) },
            { name: 'b', shape: [6], data: seeded(6, 8) },
          ],
        ],
        [
          'sp',
          [
            { name: 'dw', shape: [3, 3, 6, 1], data: seeded(54, 9) },
            { name: 'pw', shape: [1, 1, 6, 5], data: seeded(30, 10) },
            { name: 'b', shape: [5], data: seeded(5, 11) },
          ],
        ],
      ]);
      ws.set('sq', [
        { name: 'dw', shape: [3, 3, 5, 2], data: seeded(90, 13) },
        { name: 'pw', shape: [1, 1, 10, 3], data: seeded(30, 14) },
        { name: 'b', shape: [3], data: seeded(3, 15) },
      ]);
      return { graph, ws };
    };
    const plain = mix(false);
    const oracleRunner = new IRRunner(plain.graph, plain.ws);
    const { graph, ws } = mix(true);
    const runner = new IRRunner(graph, ws);
    const diff = new DifferentiableRunner(graph, runner, ws);
    const input = tf.tensor4d(seeded(13 * 12 * 4, 12), [1, 13, 12, 4]);
    try {
      for (const [layer, c, y, x] of [
        ['d1', 3, 0, 5],
        ['c1', 2, 3, 3],
        ['g1', 4, 2, 1],
        ['sp', 1, 1, 0],
        ['sq', 0, 1, 1],
      ] as const) {
        // The first channel from c on whose unit is not clipped flat (a dead ReLU has no gradient to compare).
        let ch: number = c;
        const unitOf = (k: number) => (t: tf.Tensor) => tf.sum(tf.slice(t, [0, y, x, k], [1, 1, 1, 1])) as tf.Scalar;
        const oracle = (k: number) =>
          tf.tidy(() => tf.grad((v: tf.Tensor) => unitOf(k)(oracleRunner.forwardSync(v, [layer]).get(layer)!))(input));
        for (;;) {
          const g = oracle(ch);
          const m = tf.tidy(() => tf.sum(tf.abs(g)));
          const live = (await m.data())[0] > 0;
          tf.dispose([g, m]);
          if (live) break;
          ch++;
        }
        const unit = unitOf(ch);
        const want = oracle(ch);
        const got = tf.tidy(() => tf.grad((v: tf.Tensor) => unit(diff.forward(v, [layer]).get(layer)!))(input));
        const value = tf.tidy(() => [
          unit(runner.forwardSync(input, [layer]).get(layer)!),
          unit(diff.forward(input, [layer]).get(layer)!),
        ]);
        const [a, bb] = await Promise.all([want.data(), got.data()]);
        const [v1, v2] = await Promise.all(value.map((t) => t.data()));
        tf.dispose([want, got, ...value]);
        expect(v2[0]).toBeCloseTo(v1[0], 5);
        let mass = 0;
        for (let i = 0; i < a.length; i++) {
          expect(Math.abs(bb[i] - a[i]), `${layer} grad[${i}]`).toBeLessThan(1e-5);
          mass += Math.abs(a[i]);
        }
        expect(mass, layer).toBeGreaterThan(0);
      }
    } finally {
      input.dispose();
      diff.dispose();
      runner.dispose();
      oracleRunner.dispose();
      await tf.setBackend('wasm');
    }
  });

  it('BatchNorm folded into the conv before it gives tfjs’s own gradient (cpu), and is not folded where it must not be', async () => {
    // conv → BN → relu6, depthwise (multiplier 2) → BN → relu6, separable → BN (both linear, folded), and a conv
    // read by a BN and by an add (not folded: its own output is needed). Oracle: tfjs differentiating the
    // runner's own ops on the cpu backend (its BN is a multiply and an add).
    await tf.setBackend('cpu');
    const b = new GraphBuilder('bnfold');
    const x0 = b.input('image', [11, 10, 3]);
    const c1 = b.conv('c1', x0, 4, 3, { strides: 2, padding: 'same', useBias: false });
    const r1 = b.act('r1', b.bn('n1', c1), 'relu6');
    const d1 = b.depthwise('d1', r1, 3, { padding: 'same', depthMultiplier: 2 });
    const r2 = b.act('r2', b.bn('n2', d1, { center: false }), 'relu6');
    const c2 = b.conv('c2', r2, 8, 1, {});
    const sum = b.add('sum', [b.bn('n3', c2, { scale: false }), c2]);
    const graph = b.build([sum]);
    graph.nodes.push({
      name: 'sp',
      op: 'separable',
      inputs: ['sum'],
      kernel: [3, 3],
      strides: [1, 1],
      padding: 'same',
      dilation: [1, 1],
      useBias: true,
      filters: 5,
      depthMultiplier: 1,
    });
    graph.nodes.push({
      name: 'n4',
      op: 'bn',
      inputs: ['sp'],
      center: true,
      scale: true,
      epsilon: 1e-3,
      momentum: 0.99,
    });
    graph.outputs = ['n4'];
    // BN statistics away from 0 / 1 (variance positive), so a wrong fold shows.
    const stats = (c: number, k: number, parts: number) =>
      Array.from({ length: parts }, (_, i) => {
        const v = seeded(c, k + i);
        return { name: `s${i}`, shape: [c], data: i === parts - 1 ? v.map((t) => 0.5 + Math.abs(t)) : v };
      });
    const ws: WeightStore = new Map([
      ['c1', [{ name: 'k', shape: [3, 3, 3, 4], data: seeded(108, 1) }]],
      ['n1', stats(4, 10, 4)],
      [
        'd1',
        [
          { name: 'k', shape: [3, 3, 4, 2], data: seeded(72, 2) },
          { name: 'b', shape: [8], data: seeded(8, 3) },
        ],
      ],
      ['n2', stats(8, 20, 3)],
      [
        'c2',
        [
          { name: 'k', shape: [1, 1, 8, 8], data: seeded(64, 4) },
          { name: 'b', shape: [8], data: seeded(8, 5) },
        ],
      ],
      ['n3', stats(8, 30, 3)],
      [
        'sp',
        [
          { name: 'dw', shape: [3, 3, 8, 1], data: seeded(72, 6) },
          { name: 'pw', shape: [1, 1, 8, 5], data: seeded(40, 7) },
          { name: 'b', shape: [5], data: seeded(5, 8) },
        ],
      ],
      ['n4', stats(5, 40, 4)],
    ]);
    const runner = new IRRunner(graph, ws);
    const diff = new DifferentiableRunner(graph, runner, ws);
    const input = tf.tensor4d(seeded(11 * 10 * 3, 9), [1, 11, 10, 3]);
    try {
      for (const [layer, c, y, x] of [
        ['r1', 1, 2, 2],
        ['n2', 5, 3, 1],
        ['r2', 3, 1, 4],
        ['sum', 2, 2, 3],
        ['n4', 4, 3, 2],
        ['c2', 6, 1, 1],
      ] as const) {
        const unit = (t: tf.Tensor) => tf.sum(tf.slice(t, [0, y, x, c], [1, 1, 1, 1])) as tf.Scalar;
        const want = tf.tidy(() => tf.grad((v: tf.Tensor) => unit(runner.forwardSync(v, [layer]).get(layer)!))(input));
        const got = tf.tidy(() => tf.grad((v: tf.Tensor) => unit(diff.forward(v, [layer]).get(layer)!))(input));
        const [a, g] = await Promise.all([want.data(), got.data()]);
        tf.dispose([want, got]);
        let mass = 0;
        let worst = 0;
        for (let i = 0; i < a.length; i++) {
          worst = Math.max(worst, Math.abs(g[i] - a[i]));
          mass += Math.abs(a[i]);
        }
        expect(mass, `${layer}: a live unit`).toBeGreaterThan(0);
        expect(worst, layer).toBeLessThan(1e-5 * Math.max(1, mass));
      }
      // The values too: the folded forward equals the runner's (conv, then BN).
      const [r, d] = tf.tidy(() => [
        runner.forwardSync(input, ['n4']).get('n4')!,
        diff.forward(input, ['n4']).get('n4')!,
      ]);
      const [rv, dv] = await Promise.all([r.data(), d.data()]);
      tf.dispose([r, d]);
      for (let i = 0; i < rv.length; i++) expect(dv[i]).toBeCloseTo(rv[i], 4);
    } finally {
      input.dispose();
      diff.dispose();
      runner.dispose();
      await tf.setBackend('wasm');
    }
  });

  it('massShare: the fewest pixels by descending value holding 95 %', () => {
    // 10, 5, 3, 1, 1 (mass 20): 95 % = 19 → 10 + 5 + 3 + 1 = 19 on 4 pixels.
    expect(massShare(Float32Array.of(1, 10, 1, 3, 5), 20, 0.95)).toMatchObject({ pixels: 4 });
    expect(massShare(new Float32Array(4), 0, 0.95)).toEqual({ share: null, pixels: 0 });
  });

  it('names the problem for a unit outside the layer', async () => {
    const b = new GraphBuilder('m');
    const c = b.conv('c', b.input('image', [4, 4, 1]), 1, 3, { useBias: false });
    const ctx = contextOf(b.build([c]), new Map([['c', [{ name: 'k', shape: [3, 3, 1, 1], data: ones(9) }]]]));
    const input = tf.zeros([1, 4, 4, 1]);
    try {
      await expect(effectiveField(ctx, input, { layer: 'c', channel: 0, y: 2, x: 0 })).rejects.toThrow(InputError);
      await expect(effectiveField(ctx, input, { layer: 'c', channel: 0, y: 2, x: 0 })).rejects.toThrow(
        /2×2; unit \(2, 0\)/,
      );
      await expect(effectiveField(ctx, input, { layer: 'nope', channel: 0 })).rejects.toThrow(/no layer "nope"/);
    } finally {
      input.dispose();
      ctx.dispose();
    }
  });
});

describe('Grad-CAM', () => {
  /** Two squares on black: a bright one in channel 0 (rows 3..7, cols 9..13), a dimmer one in channel 1. */
  function squares(): tf.Tensor4D {
    const H = 20;
    const v = new Float32Array(H * H * 2);
    for (let i = 3; i <= 7; i++) for (let j = 9; j <= 13; j++) v[(i * H + j) * 2] = 1;
    for (let i = 12; i <= 16; i++) for (let j = 2; j <= 6; j++) v[(i * H + j) * 2 + 1] = 0.6;
    return tf.tensor4d(v, [1, H, H, 2]);
  }

  /** 3×3 smoothing conv (ReLU) per channel → 1×1 conv picking channels → GAP → dense (identity) → softmax. */
  function model() {
    const b = new GraphBuilder('squares');
    const x = b.input('image', [20, 20, 2]);
    const s = b.conv('smooth', x, 2, 3, { padding: 'same', activation: 'relu' });
    const p = b.conv('pick', s, 2, 1, { useBias: false, activation: 'relu' });
    const g = b.gap('gap', p);
    const d = b.dense('logits', g, 2);
    const out = b.act('probs', d, 'softmax');
    const smooth = new Float32Array(3 * 3 * 2 * 2);
    for (let t = 0; t < 9; t++) {
      smooth[t * 4 + 0] = 1 / 9; // in 0 → out 0
      smooth[t * 4 + 3] = 1 / 9; // in 1 → out 1
    }
    const dense = Float32Array.of(3, 0, 0, 2); // [in, units]: logit 0 = 3·gap0, logit 1 = 2·gap1
    const weights: WeightStore = new Map([
      [
        'smooth',
        [
          { name: 'k', shape: [3, 3, 2, 2], data: smooth },
          { name: 'b', shape: [2], data: new Float32Array(2) },
        ],
      ],
      ['pick', [{ name: 'k', shape: [1, 1, 2, 2], data: Float32Array.of(1, 0, 0, 1) }]],
      [
        'logits',
        [
          { name: 'k', shape: [2, 2], data: dense },
          { name: 'b', shape: [2], data: new Float32Array(2) },
        ],
      ],
    ]);
    return { ctx: contextOf(b.build([out]), weights), dense };
  }

  const peak = (m: Float32Array, W: number) => {
    let k = 0;
    for (let i = 1; i < m.length; i++) if (m[i] > m[k]) k = i;
    return [Math.floor(k / W), k % W];
  };

  it('peaks inside the square of the predicted class; weights equal dense / (h·w) by hand', async () => {
    const { ctx, dense } = model();
    const input = squares();
    try {
      expect(defaultCamLayer(ctx.analysis)).toBe('pick');
      const r = await gradCam(ctx, input);
      expect(r.layer).toBe('pick');
      expect(r.logit).toBe(true);
      expect(r.classIndex).toBe(0);
      expect([r.height, r.width]).toEqual([20, 20]);
      const [py, px] = peak(r.map, 20);
      expect(py).toBeGreaterThanOrEqual(3);
      expect(py).toBeLessThanOrEqual(7);
      expect(px).toBeGreaterThanOrEqual(9);
      expect(px).toBeLessThanOrEqual(13);
      // ∂ logit0 / ∂ A_k(i, j) = dense[k][0] / 400 at every (i, j), so w = [3 / 400, 0].
      expect(r.weights[0]).toBeCloseTo(dense[0] / 400, 7);
      expect(r.weights[1]).toBeCloseTo(dense[2] / 400, 7);
      // The score is the pre-softmax logit: 3 · mean(A_0) = 3 · 25 / 400 (the smoothing keeps the square's sum).
      expect(r.score).toBeCloseTo((3 * 25) / 400, 5);
      // Far from the square (the other object) the CAM is zero.
      expect(r.map[14 * 20 + 4]).toBe(0);

      const other = await gradCam(ctx, input, { classIndex: 1 });
      const [qy, qx] = peak(other.map, 20);
      expect([qy >= 12 && qy <= 16, qx >= 2 && qx <= 6]).toEqual([true, true]);
      await expect(gradCam(ctx, input, { classIndex: 5 })).rejects.toThrow(/class 5 does not exist/);
      await expect(gradCam(ctx, input, { layer: 'gap' })).rejects.toThrow(/not spatial/);
    } finally {
      input.dispose();
      ctx.dispose();
    }
  });

  it('scores the pre-softmax logit of a fused dense softmax (Keras GTSRB CNN): logit differences = log p ratios', async () => {
    const h5 = 'kh5-ayaan-gtsrb-bn.h5';
    const path = new URL(`../fixtures/models/${h5}`, import.meta.url).pathname;
    const opened = await openModelFiles([{ path: h5, bytes: new Uint8Array(readFileSync(path)) }], h5);
    const analysis = analyzeGraph(opened.graph);
    const runner = new IRRunner(opened.graph, opened.weights);
    const diff = new DifferentiableRunner(opened.graph, runner, opened.weights);
    const ctx = { graph: opened.graph, runner, diff, analysis, weights: opened.weights };
    const input = tf.tidy(() => tf.randomUniform([1, 30, 30, 3], 0, 1, 'float32', 9));
    try {
      const top = await gradCam(ctx, input);
      expect(top.logit).toBe(true);
      expect(top.layer).toBe(defaultCamLayer(analysis));
      const other = await gradCam(ctx, input, { classIndex: (top.classIndex + 1) % 43 });
      const out = runner.predict(input);
      const p = (await out.data()) as Float32Array;
      out.dispose();
      // The engine's softmax output is the oracle: z_a − z_b = log(p_a / p_b).
      expect(top.score - other.score).toBeCloseTo(Math.log(p[top.classIndex] / p[other.classIndex]), 3);
      let best = 0;
      for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
      expect(top.classIndex).toBe(best);
    } finally {
      input.dispose();
      diff.dispose();
      runner.dispose();
    }
  });

  it('runs on the pretrained MobileNetV2 on its last spatial layer, and a unit EFR stays in its field', async () => {
    const dir = join(RESOURCES, 'models', 'mobilenetv2');
    const files = readdirSync(dir)
      .filter((f) => f === 'model.json' || f.endsWith('.bin'))
      .map((path) => ({ path, bytes: new Uint8Array(readFileSync(join(dir, path))) }));
    const opened = await openModelFiles(files, 'mobilenetv2');
    const analysis = analyzeGraph(opened.graph, { input: [224, 224] });
    const order = new Map(analysis.layers.map((l, i) => [l.id, i]));
    opened.graph.nodes.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    const runner = new IRRunner(opened.graph, opened.weights);
    const diff = new DifferentiableRunner(opened.graph, runner, opened.weights);
    const ctx = { graph: opened.graph, runner, diff, analysis, weights: opened.weights };
    const input = tf.tidy(() => tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 4));
    try {
      const r = await gradCam(ctx, input);
      expect(r.layer).toBe(defaultCamLayer(analysis));
      expect([r.layerHeight, r.layerWidth]).toEqual([7, 7]);
      expect(r.max).toBeGreaterThanOrEqual(0);
      const e = await effectiveField(ctx, input, { layer: 'block_3_project', channel: 4, y: 20, x: 20 });
      expect(e.mass).toBeGreaterThan(0);
      expect(e.insideBox).toBeCloseTo(1, 6);
      expect(e.share95).toBeLessThan(1);
    } finally {
      input.dispose();
      diff.dispose();
      runner.dispose();
    }
  }, 60_000);
});
