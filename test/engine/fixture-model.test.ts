/**
 * The engine on a tiny model with known weights: activations checked against a hand-written
 * convolution, streaming order, pooling, exact channel values, cancellation, memory baseline, and a
 * tfjs graph model. Runs on wasm (as the app's tests do).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, type Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine } from '../../renderer/src/engine/node';
import type { ImageInput, LayerFrame, ModelSummary } from '../../common/engine-protocol';
import {
  FIX,
  RESOURCES,
  collector,
  fixtureModel,
  fixturePixels,
  graphFixture,
  handConv,
  type FixtureModel,
} from './helpers';

let engine: Engine;
let fix: FixtureModel;
let summary: ModelSummary;
const progress: string[] = [];
const image: ImageInput = { kind: 'rgba', name: 'fixture.rgba', width: FIX.W, height: FIX.H, data: fixturePixels() };
/** The model input the engine should build: pixel / 255 (user models default to [0, 1]). */
const input = (() => {
  const px = fixturePixels();
  const v = new Float32Array(FIX.H * FIX.W * 3);
  for (let p = 0; p < FIX.H * FIX.W; p++) for (let c = 0; c < 3; c++) v[p * 3 + c] = px[p * 4 + c] / 255;
  return v;
})();

/** The value a frame stands for at (channel c, pixel p). */
const deq = (f: LayerFrame, c: number, p: number) => {
  const [h, w] = f.shape;
  return f.min[c] + (f.data[c * h * w + p] / 255) * (f.max[c] - f.min[c]);
};
/** Half a quantization step of channel c, plus float slack. */
const halfStep = (f: LayerFrame, c: number) => (f.max[c] - f.min[c]) / 255 / 2 + 1e-5;

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  const ready = await engine.hello(RESOURCES, ['wasm']);
  expect(ready.backend).toBe('wasm');
  fix = await fixtureModel();
  summary = await engine.loadUserModel(fix.files, (phase, loaded, total) =>
    progress.push(`${phase}:${loaded}/${total}`),
  );
});

afterAll(async () => {
  await engine.dispose();
});

describe('fixture layers model', () => {
  it('describes the model: frame order, preprocess from the input shape, analysis of the same layers', () => {
    expect(summary.id).toBe('user:fixture');
    expect(summary.source).toBe('user');
    expect(summary.frameOrder).toEqual(['conv', 'pool', 'flat', 'dense']);
    expect(summary.preprocess.inputSize).toEqual([FIX.H, FIX.W]);
    const ids = summary.analysis.layers.map((l) => l.id);
    for (const id of summary.frameOrder) expect(ids).toContain(id);
    const conv = summary.analysis.layers.find((l) => l.id === 'conv')!;
    expect(conv.outputShape).toEqual([FIX.H, FIX.W, FIX.F]);
    expect(conv.params.total).toBe(3 * 3 * FIX.C * FIX.F + FIX.F);
    // Progress: the model's files (model.json + 4 weights of float32), then building.
    const bytes = (3 * 3 * FIX.C * FIX.F + FIX.F + 2 * 3 * FIX.F * FIX.units + FIX.units) * 4;
    const fetched = progress.find((p) => p.startsWith('fetch:'))!;
    const [loaded, total] = fetched.slice('fetch:'.length).split('/').map(Number);
    expect(loaded).toBe(total);
    expect(total).toBeGreaterThan(bytes);
    expect(progress.some((p) => p.startsWith('build:'))).toBe(true);
  });

  it('streams every layer in order, after the preview image, and the conv layer matches a hand-written convolution', async () => {
    const { frames, images, sink } = collector();
    const r = await engine.analyze({ modelId: summary.id, image }, sink);
    expect(images).toHaveLength(1);
    expect(images[0].preview.width).toBe(FIX.W);
    expect([...images[0].preview.data.subarray(0, 8)]).toEqual([...image.data.subarray(0, 8)] as number[]);
    expect(frames.map((f) => f.layerId)).toEqual(summary.frameOrder);
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3]);
    expect(r.stats.frames).toBe(4);

    const want = handConv(input, fix.kernel, fix.bias);
    const conv = frames[0];
    expect(conv.shape).toEqual([FIX.H, FIX.W, FIX.F]);
    expect(conv.fullShape).toEqual([FIX.H, FIX.W, FIX.F]);
    expect(conv.data.length).toBe(FIX.H * FIX.W * FIX.F);
    for (let c = 0; c < FIX.F; c++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let p = 0; p < FIX.H * FIX.W; p++) {
        const v = want[p * FIX.F + c];
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        // channel-major: byte c·H·W + p
        expect(Math.abs(deq(conv, c, p) - v)).toBeLessThanOrEqual(halfStep(conv, c));
      }
      expect(conv.min[c]).toBeCloseTo(lo, 5);
      expect(conv.max[c]).toBeCloseTo(hi, 5);
    }

    // Average-pool 2×2 (valid) of the conv output.
    const pool = frames[1];
    expect(pool.shape).toEqual([2, 3, FIX.F]);
    for (let c = 0; c < FIX.F; c++) {
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 3; x++) {
          let s = 0;
          for (const [dy, dx] of [
            [0, 0],
            [0, 1],
            [1, 0],
            [1, 1],
          ])
            s += want[((2 * y + dy) * FIX.W + 2 * x + dx) * FIX.F + c];
          expect(Math.abs(deq(pool, c, y * 3 + x) - s / 4)).toBeLessThanOrEqual(halfStep(pool, c));
        }
      }
    }
    // Vectors are sent as [1, 1, N].
    expect(frames[2].shape).toEqual([1, 1, 2 * 3 * FIX.F]);
    expect(frames[3].shape).toEqual([1, 1, FIX.units]);
    expect(frames[3].fullShape).toEqual([FIX.units]);
  });

  it('returns exact float values of a channel on demand', async () => {
    await engine.analyze({ modelId: summary.id, image }, collector().sink);
    const want = handConv(input, fix.kernel, fix.bias);
    for (const c of [0, 3]) {
      const r = await engine.channel(summary.id, 'conv', c);
      expect(r.shape).toEqual([FIX.H, FIX.W]);
      for (let p = 0; p < FIX.H * FIX.W; p++) expect(r.values[p]).toBeCloseTo(want[p * FIX.F + c], 5);
    }
    await expect(engine.channel(summary.id, 'conv', FIX.F)).rejects.toThrow(/has 4 channels; channel 4 does not exist/);
    await expect(engine.channel(summary.id, 'nope', 0)).rejects.toThrow(/no layer 'nope'/);
  });

  it('average-pools each channel down to maxSide with edge cells averaging what they cover', async () => {
    const { frames, sink } = collector();
    await engine.analyze({ modelId: summary.id, image, maxSide: 2 }, sink);
    const conv = frames[0];
    // factor ceil(6 / 2) = 3 → ceil(5 / 3) × ceil(6 / 3) = 2 × 2
    expect(conv.shape).toEqual([2, 2, FIX.F]);
    expect(conv.fullShape).toEqual([FIX.H, FIX.W, FIX.F]);
    const want = handConv(input, fix.kernel, fix.bias);
    for (let c = 0; c < FIX.F; c++) {
      for (let py = 0; py < 2; py++) {
        for (let px = 0; px < 2; px++) {
          let s = 0;
          let n = 0;
          for (let y = py * 3; y < Math.min(FIX.H, py * 3 + 3); y++) {
            for (let x = px * 3; x < px * 3 + 3; x++) {
              s += want[(y * FIX.W + x) * FIX.F + c];
              n++;
            }
          }
          expect(Math.abs(deq(conv, c, py * 2 + px) - s / n)).toBeLessThanOrEqual(halfStep(conv, c));
        }
      }
    }
  });

  it('cancels between layers and cleans up', async () => {
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    const { frames, sink } = collector((_f, n) => {
      if (n === 1) ac.abort();
    });
    await expect(engine.analyze({ modelId: summary.id, image }, sink, ac.signal)).rejects.toBeInstanceOf(
      CancelledError,
    );
    expect(frames.length).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    // The engine carries on.
    const again = collector();
    await engine.analyze({ modelId: summary.id, image }, again.sink);
    expect(again.frames).toHaveLength(4);
  });

  it('returns to the same number of tensors after any number of passes and channel reads', async () => {
    await engine.analyze({ modelId: summary.id, image }, collector().sink);
    const base = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await engine.analyze({ modelId: summary.id, image, maxSide: i }, collector().sink);
      await engine.channel(summary.id, i === 1 ? 'pool' : 'dense', 0);
    }
    expect(tf.memory().numTensors).toBe(base);
  });
});

describe('fixture graph model', () => {
  it('loads a tfjs graph model, streams its activation nodes and matches a hand-written VALID convolution', async () => {
    const g = graphFixture();
    const s = await engine.loadUserModel(g.files);
    expect(s.frameOrder).toEqual(['conv', 'relu']);
    expect(s.preprocess.inputSize).toEqual([4, 4]);
    // The shared analysis reads the graph model's ops: the conv's 2·2·3·2 kernel is counted, no fallback.
    expect(s.analysis.warnings.filter((w) => w.startsWith('no layer arithmetic'))).toEqual([]);
    const conv = s.analysis.layers.find((l) => l.id === 'conv');
    expect(conv?.outputShape).toEqual([3, 3, 2]);
    expect(conv?.params.weights).toBe(2 * 2 * 3 * 2);
    expect(conv?.receptiveField?.size).toEqual([2, 2]);
    const px = fixturePixels().subarray(0, 4 * 4 * 4);
    const { frames, sink } = collector();
    await engine.analyze(
      { modelId: s.id, image: { kind: 'rgba', name: 'g.rgba', width: 4, height: 4, data: new Uint8ClampedArray(px) } },
      sink,
    );
    expect(frames.map((f) => f.layerId)).toEqual(['conv', 'relu']);
    expect(frames[0].shape).toEqual([3, 3, 2]);
    for (let f = 0; f < 2; f++) {
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 3; x++) {
          let sum = 0;
          for (let ky = 0; ky < 2; ky++) {
            for (let kx = 0; kx < 2; kx++) {
              for (let c = 0; c < 3; c++)
                sum += (px[((y + ky) * 4 + x + kx) * 4 + c] / 255) * g.weights[((ky * 2 + kx) * 3 + c) * 2 + f];
            }
          }
          expect(Math.abs(deq(frames[0], f, y * 3 + x) - sum)).toBeLessThanOrEqual(halfStep(frames[0], f));
          expect(Math.abs(deq(frames[1], f, y * 3 + x) - Math.max(0, sum))).toBeLessThanOrEqual(halfStep(frames[1], f));
        }
      }
    }
    const exact = await engine.channel(s.id, 'relu', 1);
    expect(exact.shape).toEqual([3, 3]);
  });
});
