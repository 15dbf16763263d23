// @vitest-environment node
// The real engine (tfjs on wasm) runs in this test; happy-dom would make tfjs take the browser's code paths.
/**
 * Effective receptive fields per Compare pane, on the real engine: the pretrained and the seeded MobileNetV2 side
 * by side, "the same place everywhere" on, a unit pinned in the first pane. Both have MobileNetV2's layers (the
 * pretrained one has its own classifier head), so the same place is the same layer and unit. Each pane's field is its own model's: the box is the analysis's
 * theoretical field of the pinned unit, the gradient stays inside it, and the trained pane's map equals the map a
 * second client (the main view's route) gets for that model and unit on the same image.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineClient } from '../../common/engine-client';
import { unitFootprint } from '../../renderer/src/analysis';
import { RESOURCES, openCompareOnRealEngine, sample } from './compare-real-engine';

describe('effective fields in Compare panes (real engine, wasm)', () => {
  let env: Awaited<ReturnType<typeof openCompareOnRealEngine>>;
  let store: typeof env.store;
  let oracle: EngineClient;

  beforeAll(async () => {
    env = await openCompareOnRealEngine();
    ({ store, oracle } = env);
  }, 60_000);

  afterAll(() => env?.close());

  it('one pin, the same unit in both panes, each pane’s field from its own model', async () => {
    void store.setImage(sample('chelsea.png'), { kind: 'sample', name: 'chelsea.png', path: 'samples/chelsea.png' });
    void store.addModel('mobilenetv2-pretrained');
    void store.addModel('mobilenetv2');
    await store.idle();
    store.pinEverywhere = true;
    const unit = { layerId: 'block_6_project', channel: 5, y: 7, x: 7 };
    store.pinUnit('mobilenetv2-pretrained', unit);
    const [trained, seeded] = store.panes;
    expect(seeded.pinned).toEqual(unit);
    await store.effectiveField('mobilenetv2-pretrained');
    for (const p of [trained, seeded]) {
      const f = p.field!;
      expect([f.layer, f.channel, f.y, f.x]).toEqual(['block_6_project', 5, 7, 7]);
      const fp = unitFootprint(p.summary!.analysis, unit.layerId, unit.y, unit.x);
      expect(f.box).toMatchObject({ top: fp.top, left: fp.left, bottom: fp.bottom, right: fp.right });
      expect(f.mass).toBeGreaterThan(0);
      expect(f.insideBox).toBeGreaterThan(0.999);
      expect(f.share95).toBeGreaterThan(0);
      expect(f.share95).toBeLessThanOrEqual(1);
    }
    expect(trained.field!.map).not.toEqual(seeded.field!.map);

    // The main view's route for the same model, image and unit gives the trained pane's map.
    await oracle.hello(RESOURCES, ['wasm']);
    await oracle.analyze({
      modelId: 'mobilenetv2-pretrained',
      image: { kind: 'encoded', ...sample('chelsea.png') },
      maxSide: 8,
    }).done;
    const want = await oracle.effectiveField('mobilenetv2-pretrained', { layer: unit.layerId, channel: 5, y: 7, x: 7 });
    const got = trained.field!.map;
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.map[i]));
    expect(worst).toBeLessThanOrEqual(1e-6 * want.max);
  }, 240_000);
});
