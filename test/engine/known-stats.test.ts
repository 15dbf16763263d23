/**
 * Layers whose min, max and zero count follow exactly from their inputs' (known-stats.ts: zero padding,
 * concatenation, dropout) are quantized without a min/max pass over their values. What must hold is that nothing
 * changes for the user: the frame is the one the min/max pass gives. Oracles: the float values of the layer as
 * tfjs computes them (tf.pad / tf.concat here; the engine's `channel` readback of the bundled models' layers),
 * reduced by the JavaScript quantizer (quantize.ts, its own min/max loop) and quantized by the SIMD kernel's
 * min/max path; and, for a concatenation, the frames of its inputs (channel-major: its bytes are theirs, in order).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine, imageFromFile } from '../../renderer/src/engine/node';
import { deriveStats, type ChannelStats } from '../../renderer/src/engine/known-stats';
import { quantizeNHWC } from '../../renderer/src/engine/quantize';
import { WasmQuantizer } from '../../renderer/src/engine/wasm-quantize';
import type { ImageInput, LayerFrame } from '../../common/engine-protocol';
import { RESOURCES, SAMPLE, collector, seeded } from './helpers';

/** What the JavaScript quantizer's own min/max loop finds in NHWC values. */
function statsOf(values: Float32Array, H: number, W: number, C: number): ChannelStats {
  const q = quantizeNHWC(values, H, W, C);
  return { shape: [H, W, C], min: q.min, max: q.max, zeros: q.zeros! };
}

/**
 * [1, H, W, 6] with one channel of each kind: mixed signs; all positive; all negative; all NaN; non-negative with
 * +0 as its minimum; NaN, −0 and ±Infinity among ordinary values.
 */
function edgeValues(H: number, W: number): Float32Array {
  const C = 6;
  const r = seeded(H * W * C, 3);
  const v = new Float32Array(H * W * C);
  for (let p = 0; p < H * W; p++) {
    const x = r[p * C];
    v[p * C] = x;
    v[p * C + 1] = Math.abs(x) + 0.5;
    v[p * C + 2] = -Math.abs(x) - 0.5;
    v[p * C + 3] = Number.NaN;
    v[p * C + 4] = p % 3 === 0 ? 0 : Math.abs(x);
    v[p * C + 5] = p === 1 ? Number.NaN : p === 2 ? -0 : p === 4 ? Infinity : p === 5 ? -Infinity : x * 3;
  }
  return v;
}

describe('deriveStats: the stats of a padded, concatenated or copied layer from its inputs', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const [H, W, C] = [5, 7, 6];
  const x = edgeValues(H, W);
  const input = statsOf(x, H, W, C);
  const expectSame = (got: ChannelStats | null, want: ChannelStats) => {
    expect(got).not.toBeNull();
    expect(got!.shape).toEqual(want.shape);
    // toEqual tells −0 from +0: the bounds are the pass's, bit for bit.
    expect([...got!.min]).toEqual([...want.min]);
    expect([...got!.max]).toEqual([...want.max]);
    expect(got!.zeros).toBe(want.zeros);
  };

  for (const pad of [
    [0, 1, 0, 1],
    [2, 0, 3, 1],
    [1, 1, 1, 1],
  ] as const) {
    it(`zero padding [${pad.join(', ')}]: what a min/max pass over tf.pad's output finds`, async () => {
      const [t, b, l, r] = pad;
      const y = tf.tidy(() =>
        tf.pad(tf.tensor4d(x, [1, H, W, C]), [
          [0, 0],
          [t, b],
          [l, r],
          [0, 0],
        ]),
      );
      const values = (await y.data()) as Float32Array;
      const [Hp, Wp] = [H + t + b, W + l + r];
      y.dispose();
      const want = statsOf(values, Hp, Wp, C);
      expectSame(deriveStats({ kind: 'pad', inputs: [0] }, [Hp, Wp, C], [input]), want);
      // The padding moved bounds: the all-positive channel now starts at 0, the all-negative one ends at 0.
      expect(want.min[1]).toBe(0);
      expect(want.max[2]).toBe(0);
      expect(want.zeros).toBeGreaterThan(input.zeros);
    });
  }

  it('zero padding of a layer with a −0 bound: unknown (which zero the pass keeps depends on where it lies)', () => {
    const v = new Float32Array(4 * 4).fill(1);
    v[0] = -0; // channel 0's minimum
    const s = statsOf(v, 2, 2, 4);
    expect(Object.is(s.min[0], -0)).toBe(true);
    expect(deriveStats({ kind: 'pad', inputs: [0] }, [3, 3, 4], [s])).toBeNull();
    // No padding at all is a copy: the −0 stays, exactly as the pass over the same values finds it.
    expectSame(deriveStats({ kind: 'pad', inputs: [0] }, [2, 2, 4], [s]), s);
  });

  it('concatenation: what a min/max pass over tf.concat’s output finds', async () => {
    const y2 = seeded(H * W * 2, 11).map((v, i) => (i % 2 ? v : 0));
    const second = statsOf(y2, H, W, 2);
    const z = tf.tidy(() => tf.concat([tf.tensor4d(x, [1, H, W, C]), tf.tensor4d(y2, [1, H, W, 2])], -1));
    const values = (await z.data()) as Float32Array;
    z.dispose();
    const want = statsOf(values, H, W, C + 2);
    // Inputs by frame index, as the runner names them.
    const known: ChannelStats[] = [];
    known[3] = input;
    known[7] = second;
    expectSame(deriveStats({ kind: 'concat', inputs: [3, 7] }, [H, W, C + 2], known), want);
  });

  it('a copy (Dropout, Identity) is its input; a missing input or another shape gives nothing', () => {
    expectSame(deriveStats({ kind: 'same', inputs: [0] }, [H, W, C], [input]), input);
    expect(deriveStats({ kind: 'same', inputs: [1] }, [H, W, C], [input])).toBeNull();
    expect(deriveStats({ kind: 'same', inputs: [0] }, [H, W + 1, C], [input])).toBeNull();
    expect(deriveStats({ kind: 'same', inputs: [0] }, [H, W, C + 1], [input])).toBeNull();
    expect(deriveStats({ kind: 'concat', inputs: [0, 0] }, [H, W, C], [input])).toBeNull();
    expect(deriveStats({ kind: 'pad', inputs: [0] }, [H - 1, W, C], [input])).toBeNull();
  });
});

describe('the SIMD kernel with a known range', () => {
  it('gives the frame of its min/max pass: the same bytes, bounds and zeros', () => {
    const q = WasmQuantizer.standalone()!;
    for (const [H, W, C] of [
      [5, 7, 6],
      [9, 9, 32],
    ]) {
      const x = C === 6 ? edgeValues(H, W) : seeded(H * W * C, 5).map((v, i) => (i % 4 ? v : 0));
      const pass = q.quantizeValues(x, H, W, C);
      const known = q.quantizeValues(x, H, W, C, {
        range: { min: pass.min.slice(), max: pass.max.slice(), zeros: pass.zeros! },
      });
      expect(Buffer.from(known.data).equals(Buffer.from(pass.data))).toBe(true);
      expect([...known.min]).toEqual([...pass.min]);
      expect([...known.max]).toEqual([...pass.max]);
      expect(known.zeros).toBe(pass.zeros);
      expect(() =>
        q.quantizeValues(x, H, W, C, { range: { min: new Float32Array(C + 1), max: pass.max, zeros: 0 } }),
      ).toThrow(/known range of/);
    }
  });
});

describe('the bundled models: frames of padded and concatenated layers are the min/max pass’s', () => {
  let engine: Engine;
  let photo: ImageInput;

  beforeAll(async () => {
    engine = createNodeEngine({ warmUp: false });
    await engine.hello(RESOURCES, ['wasm']);
    await engine.setBackend('wasm');
    photo = await imageFromFile(SAMPLE);
  }, 60_000);

  afterAll(async () => {
    await engine.dispose();
  });

  async function pass(modelId: string) {
    const summary = await engine.loadModel(modelId);
    const col = collector();
    const r = await engine.analyze({ modelId, image: photo, maxSide: 0 }, col.sink);
    return { summary, r, frames: new Map<string, LayerFrame>(col.frames.map((f) => [f.layerId, f])) };
  }

  /** The layer's floats as the engine reads them back (runTo, every channel). */
  async function floats(modelId: string, layer: string, C: number): Promise<{ H: number; W: number; v: Float32Array }> {
    const first = await engine.channel(modelId, layer, 0);
    const [H, W] = first.shape;
    const v = new Float32Array(H * W * C);
    for (let c = 0; c < C; c++) {
      const ch = (await engine.channel(modelId, layer, c)).values;
      for (let p = 0; p < H * W; p++) v[p * C + c] = ch[p];
    }
    return { H, W, v };
  }

  it('MobileNetV2 wasm: each ZeroPadding2D frame equals quantizing tf.pad’s floats with the min/max pass', async () => {
    const id = 'mobilenetv2-pretrained';
    const { summary, r, frames } = await pass(id);
    const pads = summary.graph!.nodes.filter((n) => n.op === 'zeropad' && n.inputs[0] !== 'input_1');
    expect(pads.length).toBe(4);
    // The four pads of expand activations and the two Dropouts were quantized with known stats.
    expect(r.stats.knownRanges).toBe(6);
    const q = WasmQuantizer.standalone()!;
    for (const node of pads) {
      const f = frames.get(node.name)!;
      const [H, W, C] = f.shape;
      const { v } = await floats(id, node.name, C);
      const oracle = q.quantizeValues(v, H, W, C);
      const js = quantizeNHWC(v, H, W, C);
      expect(Buffer.from(f.data).equals(Buffer.from(oracle.data)), node.name).toBe(true);
      expect([...f.min], node.name).toEqual([...js.min]);
      expect([...f.max], node.name).toEqual([...js.max]);
      expect(f.zeros, node.name).toBe(js.zeros);
      expect(f.zeros, node.name).toBeGreaterThan(frames.get(node.inputs[0])!.zeros!);
    }
  }, 180_000);

  it('InceptionV3 wasm: each concatenation’s frame is its inputs’ frames, channel after channel', async () => {
    const id = 'inceptionv3-pretrained';
    const { summary, r, frames } = await pass(id);
    const concats = summary.graph!.nodes.filter((n) => n.op === 'concat');
    expect(concats.length).toBeGreaterThanOrEqual(11);
    expect(r.stats.knownRanges).toBeGreaterThanOrEqual(concats.length);
    for (const node of concats) {
      const f = frames.get(node.name)!;
      const ins = node.inputs.map((i) => frames.get(i)!);
      const bytes = Buffer.concat(ins.map((g) => Buffer.from(g.data)));
      expect(Buffer.from(f.data).equals(bytes), node.name).toBe(true);
      expect([...f.min], node.name).toEqual(ins.flatMap((g) => [...g.min]));
      expect([...f.max], node.name).toEqual(ins.flatMap((g) => [...g.max]));
      expect(f.zeros, node.name).toBe(ins.reduce((n, g) => n + g.zeros!, 0));
    }
    // And one against its floats: mixed0 read back and reduced by the JavaScript quantizer.
    const f = frames.get('mixed0')!;
    const [H, W, C] = f.shape;
    const { v } = await floats(id, 'mixed0', C);
    const js = quantizeNHWC(v, H, W, C);
    expect([...f.min]).toEqual([...js.min]);
    expect([...f.max]).toEqual([...js.max]);
    expect(f.zeros).toBe(js.zeros);
  }, 240_000);
});
