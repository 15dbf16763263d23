/**
 * "Run it": an architecture-edit file goes through the engine's user-model path (format registry → IR runner with
 * seeded weights) and every layer's feature map comes back with the shape the editor computed. tfjs executes the
 * edited convolutions itself, so the shapes it produces are an independent check of the editor's arithmetic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine } from '../../renderer/src/engine/node';
import type { ImageInput, ModelSummary } from '../../common/engine-protocol';
import { evaluateEdit } from '../../renderer/src/analysis/edit';
import { serializeEditFile, type EditFile } from '../../renderer/src/analysis/edit-file';
import { buildEdit } from '../../renderer/src/analysis/edit-presets';
import { RESOURCES, collector } from './helpers';

const SPEC: EditFile = {
  base: 'mobilenetv2',
  knobs: { alpha: 0.35, expansion: 3 },
  edits: [
    { layer: 'Conv1', field: 'kernel', value: 5 },
    { layer: 'block_3_depthwise', field: 'kernel', value: 5 },
    { layer: 'Conv_1', field: 'filters', value: 320 },
    { layer: 'predictions', field: 'units', value: 10 },
  ],
  seed: 11,
};

let engine: Engine;
let summary: ModelSummary;

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  await engine.hello(RESOURCES, ['wasm']);
  const bytes = new TextEncoder().encode(serializeEditFile(SPEC));
  summary = await engine.loadUserModel({
    name: 'mobilenet-edit.json',
    files: [{ path: 'mobilenet-edit.json', bytes: bytes.buffer.slice(0) as ArrayBuffer }],
  });
}, 120_000);

afterAll(async () => {
  await engine.dispose();
});

describe('Run it: an edited architecture through the engine', () => {
  it('opens as a user model with the editor’s numbers', () => {
    const built = buildEdit(SPEC);
    const r = evaluateEdit(built.base, built.edited);
    expect(r.broken).toBeNull();
    expect(summary.format).toBe('architecture-edit');
    expect(summary.description).toContain('seeded untrained weights');
    expect(summary.analysis.totals.params).toBe(r.analysis?.totals.params);
    expect(summary.analysis.layers.find((l) => l.name === 'predictions')?.outputShape).toEqual([10]);
  });

  it('streams every layer with the shape the editor computed', async () => {
    const built = buildEdit(SPEC);
    const expected = new Map(
      (evaluateEdit(built.base, built.edited).analysis?.layers ?? []).map((l) => [l.name, l.outputShape]),
    );
    const data = new Uint8ClampedArray(224 * 224 * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 251;
    const image: ImageInput = { kind: 'rgba', name: 'noise.rgba', width: 224, height: 224, data };
    const { frames, sink } = collector();
    await engine.analyze({ modelId: summary.id, image }, sink);
    expect(frames.map((f) => f.layerId)).toEqual(summary.frameOrder);
    expect(frames.length).toBeGreaterThan(100);
    for (const f of frames) expect(f.fullShape, f.layerId).toEqual(expected.get(f.layerId));
    // Conv1 with a 5×5 kernel on the 225×225 padded input, stride 2: ⌊(225 − 5)/2⌋ + 1 = 111; 8 filters at α 0.35.
    expect(frames.find((f) => f.layerId === 'Conv1')?.fullShape).toEqual([111, 111, 16]);
  });
});
