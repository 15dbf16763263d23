/**
 * The bundled pretrained models and a zoo architecture, end to end in Node on wasm (and cpu for the
 * cross-backend check). InceptionV3 passes are slow on 2 cores (~0.5 s each): one pass only.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NSFWJS_CLASSES } from '../../renderer/src/engine/catalog';
import { CancelledError, type Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine, imageFromFile } from '../../renderer/src/engine/node';
import type { ImageInput, ModelSummary } from '../../common/engine-protocol';
import { RESOURCES, SAMPLE, collector } from './helpers';

const MNV2 = 'mobilenetv2-pretrained';
let engine: Engine;
let photo: ImageInput;
let summary: ModelSummary;
const progress: { phase: string; loaded: number; total: number; detail?: string }[] = [];

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  await engine.hello(RESOURCES, ['wasm']);
  photo = await imageFromFile(SAMPLE);
  summary = await engine.loadModel(MNV2, (phase, loaded, total, detail) =>
    progress.push({ phase, loaded, total, detail }),
  );
});

afterAll(() => engine.dispose());

describe('MobileNetV2 (bundled)', () => {
  it('lists both bundled models and the zoo, honestly described', () => {
    const models = engine.listModels();
    const ids = models.map((m) => m.id);
    expect(ids.slice(0, 2)).toEqual([MNV2, 'inceptionv3-pretrained']);
    expect(ids).toEqual(
      expect.arrayContaining([
        'alexnet',
        'vgg16',
        'googlenet',
        'resnet50',
        'densenet121',
        'mobilenetv2',
        'inceptionv3',
      ]),
    );
    const m = models[0];
    expect(m.description).toMatch(
      /ImageNet-trained MobileNetV2 backbone; the head was fine-tuned to a 5-class content classifier \(nsfwjs\)/,
    );
    expect(m.trained).toBe(true);
    expect(m.preprocess).toEqual({
      inputSize: [224, 224],
      resize: 'stretch',
      channelOrder: 'rgb',
      scale: 1,
      offset: 0,
      mean: [0, 0, 0],
      std: [1, 1, 1],
    });
    expect(models.filter((e) => e.source === 'zoo').every((e) => !e.trained)).toBe(true);
  });

  it('reports loading progress in bytes per shard', () => {
    const fetches = progress.filter((p) => p.phase === 'fetch');
    const last = fetches[fetches.length - 1];
    expect(last).toMatchObject({ loaded: 2619461, total: 2619461, detail: 'group1-shard1of1.bin (1/1)' });
    expect(progress.some((p) => p.phase === 'build')).toBe(true);
  });

  it('has a summary whose frame order maps onto the analysed layers', () => {
    expect(summary.frameOrder).toHaveLength(161); // 162 layers without the input
    expect(summary.frameOrder[0]).toBe('Conv1_pad');
    const ids = new Set(summary.analysis.layers.map((l) => l.id));
    expect(summary.frameOrder.every((id) => ids.has(id))).toBe(true);
    expect(summary.analysis.warnings.filter((w) => /no analysis/.test(w))).toEqual([]);
    const conv1 = summary.analysis.layers.find((l) => l.id === 'Conv1')!;
    expect(conv1.outputShape).toEqual([112, 112, 32]);
  });

  it('classifies the astronaut photo as Neutral and streams every layer with transfer-ready buffers', async () => {
    const { frames, images, sink } = collector();
    const r = await engine.analyze({ modelId: MNV2, image: photo }, sink);
    expect(images[0]).toMatchObject({ name: 'astronaut.png', width: 512, height: 512 });
    expect(images[0].preview).toMatchObject({ width: 224, height: 224 });
    expect(frames.map((f) => f.layerId)).toEqual(summary.frameOrder);
    const conv1 = frames[1];
    expect(conv1.shape).toEqual([112, 112, 32]);
    expect(conv1.data.byteLength).toBe(112 * 112 * 32);
    // One byte per value sent at full resolution.
    expect(r.stats.bytesSent).toBe(r.stats.values);
    const out = frames[frames.length - 1];
    expect(out.shape).toEqual([1, 1, 5]);
    const probs = [...out.min]; // a [1,1,N] frame: one value per channel, exactly min = max
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(NSFWJS_CLASSES[probs.indexOf(Math.max(...probs))]).toBe('Neutral');
    expect(r.timings.firstFrameMs).toBeLessThanOrEqual(r.timings.forwardMs + r.timings.extractMs);
  });

  it('pools the overview: maxSide 32 sends at most 32×32 per channel', async () => {
    const { frames, sink } = collector();
    const r = await engine.analyze({ modelId: MNV2, image: photo, maxSide: 32 }, sink);
    expect(frames.every((f) => f.shape[0] <= 32 && f.shape[1] <= 32)).toBe(true);
    expect(frames[1].shape).toEqual([28, 28, 32]);
    expect(frames[1].fullShape).toEqual([112, 112, 32]);
    expect(r.stats.bytesSent).toBeLessThan(r.stats.values / 2);
  });

  it("gives the first layers' exact values identically on cpu and wasm (within 1e-4 relative)", async () => {
    // Stated tolerance: the two backends sum the 27-term convolutions in different orders (float32).
    // The pass runs on wasm; the input it kept survives the switch, and cpu recomputes only these layers.
    await engine.analyze({ modelId: MNV2, image: photo }, collector().sink);
    const read = async () => {
      const out: Float32Array[] = [];
      for (const layer of ['Conv1_pad', 'Conv1', 'Conv1_relu']) {
        for (const c of [0, 7, 31]) {
          if (layer === 'Conv1_pad' && c > 2) continue;
          out.push((await engine.channel(MNV2, layer, c)).values);
        }
      }
      return out;
    };
    const wasm = await read();
    await engine.setBackend('cpu');
    expect(engine.backend?.backend).toBe('cpu');
    const cpu = await read();
    await engine.setBackend('wasm');
    expect(cpu.length).toBe(wasm.length);
    let worst = 0;
    wasm.forEach((w, i) => {
      const scale = Math.max(1, ...w.map(Math.abs));
      for (let p = 0; p < w.length; p++) worst = Math.max(worst, Math.abs(w[p] - cpu[i][p]) / scale);
    });
    expect(worst).toBeLessThan(1e-4);
  });

  it('returns to the baseline tensor count after passes, channel reads and a backend switch', async () => {
    await engine.analyze({ modelId: MNV2, image: photo }, collector().sink);
    const base = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      await engine.analyze({ modelId: MNV2, image: photo, maxSide: 16 * i }, collector().sink);
      await engine.channel(MNV2, summary.frameOrder[40], i);
    }
    expect(tf.memory().numTensors).toBe(base);
  });

  it('matches a frame with the exact channel values', async () => {
    const { frames, sink } = collector();
    await engine.analyze({ modelId: MNV2, image: photo }, sink);
    const f = frames[summary.frameOrder.indexOf('block_3_expand_relu')];
    const [h, w, C] = f.shape;
    const c = 5;
    const exact = await engine.channel(MNV2, 'block_3_expand_relu', c);
    expect(exact.shape).toEqual([h, w]);
    expect(C).toBe(144);
    const step = (f.max[c] - f.min[c]) / 255;
    for (let p = 0; p < h * w; p++) {
      expect(Math.abs(f.min[c] + f.data[c * h * w + p] * step - exact.values[p])).toBeLessThanOrEqual(step / 2 + 1e-5);
    }
  });
});

describe('InceptionV3 (bundled) and a zoo model', () => {
  it('cancels a load between shards, leaving nothing loaded', async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const load = engine.loadModel(
      'inceptionv3-pretrained',
      (phase, _l, _t, detail) => {
        seen.push(`${phase} ${detail}`);
        if (detail?.startsWith('group1-shard2of6')) ac.abort();
      },
      ac.signal,
    );
    await expect(load).rejects.toBeInstanceOf(CancelledError);
    expect(seen.some((s) => s.startsWith('fetch group1-shard3of6'))).toBe(false);
    expect(engine.loadedModelIds()).not.toContain('inceptionv3-pretrained');
  });

  it('loads InceptionV3 and runs one pass at 299×299', async () => {
    const s = await engine.loadModel('inceptionv3-pretrained');
    expect(s.preprocess.inputSize).toEqual([299, 299]);
    expect(s.frameOrder.length).toBeGreaterThan(300);
    const ids = new Set(s.analysis.layers.map((l) => l.id));
    expect(s.frameOrder.every((id) => ids.has(id))).toBe(true);
    const { frames, images, sink } = collector();
    await engine.analyze({ modelId: s.id, image: photo, maxSide: 8 }, sink);
    expect(images[0].preview.width).toBe(299);
    expect(frames).toHaveLength(s.frameOrder.length);
    expect(frames[frames.length - 1].shape).toEqual([1, 1, 5]);
    // Both models stay loaded (LRU of 4).
    expect(engine.loadedModelIds()).toEqual([MNV2, 'inceptionv3-pretrained']);
  });

  it('builds a zoo architecture with untrained weights whose layers match its analysis', async () => {
    const s = await engine.loadModel('mobilenetv2');
    expect(s.trained).toBe(false);
    expect(s.source).toBe('zoo');
    expect(s.preprocess).toMatchObject({ scale: 2, offset: -1, resize: 'center-crop' });
    const ids = new Set(s.analysis.layers.map((l) => l.id));
    expect(s.frameOrder.every((id) => ids.has(id))).toBe(true);
    const { frames, sink } = collector();
    await engine.analyze({ modelId: 'mobilenetv2', image: photo, maxSide: 8 }, sink);
    expect(frames).toHaveLength(s.frameOrder.length);
    for (const f of frames) {
      const l = s.analysis.layers.find((x) => x.id === f.layerId)!;
      expect(f.fullShape).toEqual(l.outputShape);
    }
  });
});
