/**
 * Fast from the first click: the zoo runs through the IR runner with seeded He-normal weights, and on wasm / cpu a
 * model load runs no pass on zeros (there are no shaders to compile). The zoo's values are checked against a hand
 * computation of its first convolution from the prepared input and the seeded kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ZOO_SEED } from '../../renderer/src/engine/catalog';
import type { Engine } from '../../renderer/src/engine/engine';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { createNodeEngine, imageFromFile } from '../../renderer/src/engine/node';
import type { ImageInput } from '../../common/engine-protocol';
import { seededWeightStore, seededWeights } from '../../renderer/src/engine/seeded-weights';
import { getZooGraph } from '../../renderer/src/zoo';
import { RESOURCES, SAMPLE, collector } from './helpers';

let engine: Engine;
let photo: ImageInput;

beforeAll(async () => {
  engine = createNodeEngine(); // default options: warm-up on, as the app runs it
  await engine.hello(RESOURCES, ['wasm']);
  photo = await imageFromFile(SAMPLE);
});
afterAll(() => engine.dispose());

describe('cold start on wasm', () => {
  it('loads a zoo model and a bundled model without running a pass', async () => {
    const run = vi.spyOn(IRRunner.prototype, 'run');
    const predict = vi.spyOn(IRRunner.prototype, 'predict');
    try {
      const s = await engine.loadModel('mobilenetv2');
      expect(s.source).toBe('zoo');
      await engine.loadModel('mobilenetv2-pretrained');
      expect(run).not.toHaveBeenCalled();
      expect(predict).not.toHaveBeenCalled();
      // The first analyze is the first pass.
      const { frames, sink } = collector();
      await engine.analyze({ modelId: 'mobilenetv2', image: photo, maxSide: 8 }, sink);
      expect(run).toHaveBeenCalledTimes(1);
      expect(frames).toHaveLength(s.frameOrder.length);
    } finally {
      run.mockRestore();
      predict.mockRestore();
    }
  });

  it('draws a zoo model’s weights lazily: the load allocates none, the first pass all of them', async () => {
    await engine.unloadModel('googlenet');
    const base = tf.memory().numBytes;
    const tensors = tf.memory().numTensors;
    const s = await engine.loadModel('googlenet');
    expect(tf.memory().numBytes - base).toBeLessThan(1 << 20);
    let firstFrameBytes = 0;
    const { frames, sink } = collector((_f, n) => {
      if (n === 1) firstFrameBytes = tf.memory().numBytes - base;
    });
    await engine.analyze({ modelId: 'googlenet', image: photo, maxSide: 8 }, sink);
    expect(frames).toHaveLength(s.frameOrder.length);
    // The first frame needed one conv's weights (7×7×3×64); after the pass every parameter is on the backend.
    expect(firstFrameBytes).toBeLessThan(4 << 20);
    expect(tf.memory().numBytes - base).toBeGreaterThanOrEqual(4 * s.analysis.totals.params);
    // The per-node generator gives exactly the store's tensors.
    const graph = getZooGraph('googlenet');
    const store = seededWeightStore(graph, { seed: ZOO_SEED });
    const one = seededWeights(graph, { seed: ZOO_SEED });
    for (const node of graph.nodes) {
      const a = one(node);
      const b = store.get(node.name) ?? [];
      expect(a.map((t) => t.shape)).toEqual(b.map((t) => t.shape));
      a.forEach((t, i) => expect(Buffer.from(t.data.buffer).equals(Buffer.from(b[i].data.buffer))).toBe(true));
    }
    // Unloading disposes what the pass built, too.
    await engine.unloadModel('googlenet');
    expect(tf.memory().numTensors).toBe(tensors);
  }, 60_000);

  it("computes the zoo MobileNetV2's Conv1 and Conv1_relu as a hand-written convolution of the seeded kernel", async () => {
    await engine.analyze({ modelId: 'mobilenetv2', image: photo }, collector().sink);
    const x = await engine.prepare('mobilenetv2', photo);
    expect([x.height, x.width, x.channels]).toEqual([224, 224, 3]);
    const [kernel] = seededWeightStore(getZooGraph('mobilenetv2'), { seed: ZOO_SEED }).get('Conv1')!;
    expect(kernel.shape).toEqual([3, 3, 3, 32]);
    // keras_applications' correct_pad for 224: one zero row / column at the bottom / right; 3×3, stride 2, valid.
    const at = (y: number, xx: number, c: number) => (y < 224 && xx < 224 ? x.values[(y * 224 + xx) * 3 + c] : 0);
    const conv = (f: number, oy: number, ox: number) => {
      let s = 0;
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++)
          for (let c = 0; c < 3; c++) s += at(2 * oy + i, 2 * ox + j, c) * kernel.data[((i * 3 + j) * 3 + c) * 32 + f];
      return s;
    };
    for (const f of [0, 13, 31]) {
      const got = await engine.channel('mobilenetv2', 'Conv1', f);
      const relu = await engine.channel('mobilenetv2', 'Conv1_relu', f);
      expect(got.shape).toEqual([112, 112]);
      let worst = 0;
      for (let oy = 0; oy < 112; oy += 5) {
        for (let ox = 0; ox < 112; ox += 3) {
          const want = conv(f, oy, ox);
          worst = Math.max(worst, Math.abs(got.values[oy * 112 + ox] - want));
          // BatchNorm at Keras's initial state (gamma 1, beta 0, mean 0, var 1, eps 1e-3), then ReLU6.
          const act = Math.min(6, Math.max(0, want / Math.sqrt(1 + 1e-3)));
          worst = Math.max(worst, Math.abs(relu.values[oy * 112 + ox] - act));
        }
      }
      expect(worst).toBeLessThan(1e-4);
    }
  });

  it('gives the same zoo maps in a fresh engine (seeded weights are deterministic)', async () => {
    const a = await engine.channel('mobilenetv2', 'block_5_project', 7);
    const other = createNodeEngine();
    try {
      await other.hello(RESOURCES, ['wasm']);
      await other.analyze({ modelId: 'mobilenetv2', image: photo }, collector().sink);
      const b = await other.channel('mobilenetv2', 'block_5_project', 7);
      expect(Buffer.from(b.values.buffer).equals(Buffer.from(a.values.buffer))).toBe(true);
    } finally {
      await other.dispose();
    }
  });
});
