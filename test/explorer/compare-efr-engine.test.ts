// @vitest-environment node
// The real engine (tfjs on wasm) runs in this test; happy-dom would make tfjs take the browser's code paths.
/**
 * Effective receptive fields per Compare pane, on the real engine: the pretrained and the seeded MobileNetV2 side
 * by side, "the same place everywhere" on, a unit pinned in the first pane. Both have MobileNetV2's layers (the
 * pretrained one has its own classifier head), so the same place is the same layer and unit. Each pane's field is its own model's: the box is the analysis's
 * theoretical field of the pinned unit, the gradient stays inside it, and the trained pane's map equals the map a
 * second client (the main view's route) gets for that model and unit on the same image.
 */
import { readFileSync } from 'node:fs';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { HostBridge } from '../../renderer/src/bridge/types';
import { EngineClient } from '../../common/engine-client';
import { createNodeEngine } from '../../renderer/src/engine/node';
import { serveEngine } from '../../renderer/src/engine/server';
import type { PortLike } from '../../common/engine-protocol';
import { unitFootprint } from '../../renderer/src/analysis';
import { useCompareStore } from '../../renderer/src/explorer/stores/compare';

const ROOT = resolve(__dirname, '../..');
const RESOURCES = `${resolve(ROOT, 'resources')}/`;
const sample = (name: string) => {
  const b = readFileSync(resolve(ROOT, 'resources/samples', name));
  return { name, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
};

describe('effective fields in Compare panes (real engine, wasm)', () => {
  let stop: () => void;
  let ports: MessagePort[];
  let store: ReturnType<typeof useCompareStore>;
  let oracle: EngineClient;

  beforeAll(async () => {
    setActivePinia(createPinia());
    const engine = createNodeEngine({ warmUp: false });
    const channel = new MessageChannel();
    const second = new MessageChannel();
    ports = [channel.port1, channel.port2, second.port1, second.port2];
    const stops = [
      serveEngine(channel.port2 as unknown as PortLike, engine),
      serveEngine(second.port2 as unknown as PortLike, engine),
    ];
    stop = () => stops.forEach((s) => s());
    oracle = new EngineClient(second.port1 as unknown as PortLike);
    const bridge = {
      kind: 'web',
      resourcesBase: RESOURCES,
      connectEngine: async () => channel.port1 as unknown as PortLike,
    } as unknown as HostBridge;
    store = useCompareStore();
    await store.open(bridge);
  }, 60_000);

  afterAll(() => {
    store?.close();
    oracle?.dispose();
    stop?.();
    ports?.forEach((p) => p.close());
  });

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
