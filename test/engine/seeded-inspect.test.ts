/**
 * Seeded models (the zoo, an architecture edit's "Run it") through the engine's inspection and gradient requests:
 * the zoo's weights are drawn lazily per layer and not kept, so the engine draws the asked layer again; the numbers
 * must still be the ones the pass computed (oracle: the engine's float readback of the layer, `channel`). An
 * architecture edit's summary says its weights are untrained.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine } from '../../renderer/src/engine/node';
import type { ImageInput } from '../../common/engine-protocol';
import { serializeEditFile } from '../../renderer/src/analysis/edit-file';
import { RESOURCES, collector, seeded } from './helpers';

let engine: Engine;

/** A smooth 64 × 64 test image (values from a seeded stream, low-passed so maps are not noise). */
function image(): ImageInput {
  const n = 64;
  const r = seeded(n * n, 3);
  const data = new Uint8ClampedArray(n * n * 4);
  for (let i = 0; i < n * n; i++) {
    const y = Math.floor(i / n);
    const x = i % n;
    data[i * 4] = 128 + 100 * Math.sin(x / 7);
    data[i * 4 + 1] = 128 + 100 * Math.cos(y / 9);
    data[i * 4 + 2] = 128 + 60 * r[i];
    data[i * 4 + 3] = 255;
  }
  return { kind: 'rgba', name: 'waves', width: n, height: n, data };
}

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  await engine.hello(RESOURCES, ['wasm']);
}, 60_000);

afterAll(async () => {
  await engine.dispose();
});

async function engineValue(modelId: string, layer: string, c: number, y: number, x: number) {
  const ch = await engine.channel(modelId, layer, c);
  return ch.values[y * ch.shape[1] + x];
}

describe('seeded weights, drawn again on demand', () => {
  it('AlexNet (zoo): a conv unit and a deep conv unit equal the engine; the effective field stays in its box', async () => {
    await engine.loadModel('alexnet');
    await engine.analyze({ modelId: 'alexnet', image: image(), maxSide: 8 }, collector().sink);
    const layers = engine.summary('alexnet')!.analysis.layers.filter((l) => l.kind === 'conv');
    for (const [layer, c, y, x] of [
      [layers[0].id, 3, 20, 31],
      [layers[layers.length - 1].id, 100, 6, 2],
    ] as const) {
      const r = await engine.inspectUnit('alexnet', { layer, channel: c, y, x });
      const last = r.stages[r.stages.length - 1];
      expect(r.value).toBeCloseTo(await engineValue('alexnet', last.layer, c, y, x), 3);
    }
    // A unit the ReLU lets through (a dead one has no gradient at all): the channel's largest value.
    const ch = await engine.channel('alexnet', layers[1].id, 7);
    let best = 0;
    for (let i = 1; i < ch.values.length; i++) if (ch.values[i] > ch.values[best]) best = i;
    expect(ch.values[best]).toBeGreaterThan(0);
    const [y, x] = [Math.floor(best / ch.shape[1]), best % ch.shape[1]];
    const e = await engine.effectiveField('alexnet', { layer: layers[1].id, channel: 7, y, x });
    expect(e.mass).toBeGreaterThan(0);
    expect(e.insideBox).toBeCloseTo(1, 6);
  }, 120_000);

  it('an architecture edit opens as untrained and its units can be inspected', async () => {
    const text = serializeEditFile({ base: 'mobilenetv2', knobs: { alpha: 0.35 }, edits: [], seed: 5 });
    const bytes = new TextEncoder().encode(text);
    const s = await engine.loadUserModel({
      name: 'edit.json',
      files: [{ path: 'edit.json', bytes: bytes.buffer.slice(0) as ArrayBuffer }],
    });
    expect(s.trained).toBe(false);
    await engine.analyze({ modelId: s.id, image: image(), maxSide: 8 }, collector().sink);
    const r = await engine.inspectUnit(s.id, { layer: 'Conv1', channel: 2, y: 40, x: 40 });
    const last = r.stages[r.stages.length - 1];
    expect(r.value).toBeCloseTo(await engineValue(s.id, last.layer, 2, 40, 40), 4);
  }, 120_000);
});
