// @vitest-environment node
// The real engine (tfjs on wasm) runs in this test; happy-dom would make tfjs take the browser's code paths.
/**
 * Grad-CAM per Compare pane, on the real engine: each pane's map is computed for its own model on the comparison's
 * image, after its pass (queued like the passes). Oracle for the class: the top-1 of a plain pass of the same model
 * on the same image through a second client (the prediction the main view would show); the map covers the model
 * input and is not all zero; a new image clears it.
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
import { useCompareStore } from '../../renderer/src/explorer/stores/compare';

const ROOT = resolve(__dirname, '../..');
const RESOURCES = `${resolve(ROOT, 'resources')}/`;
const sample = (name: string) => {
  const b = readFileSync(resolve(ROOT, 'resources/samples', name));
  return { name, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
};

describe('Grad-CAM in Compare panes (real engine, wasm)', () => {
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

  it('each pane gets its own model’s map for the top class; a new image clears it', async () => {
    const img = sample('chelsea.png');
    void store.setImage(img, { kind: 'sample', name: 'chelsea.png', path: 'samples/chelsea.png' });
    void store.addModel('mobilenetv2-pretrained');
    void store.addModel('mobilenetv2');
    await store.idle();
    for (const p of store.panes) await store.gradCam(p.key);
    await store.idle();
    const [trained, seeded] = store.panes;
    expect(trained.cam?.layer).toBe('out_relu');
    expect(seeded.cam).not.toBeNull();
    expect([trained.cam!.height, trained.cam!.width]).toEqual(trained.summary!.preprocess.inputSize);
    expect(trained.cam!.max).toBeGreaterThan(0);

    // The class is the model's own top-1 on this image (a separate plain pass through another port).
    await oracle.hello(RESOURCES, ['wasm']);
    const done = await oracle.analyze({
      modelId: 'mobilenetv2-pretrained',
      image: { kind: 'encoded', ...sample('chelsea.png') },
      maxSide: 8,
    }).done;
    expect(trained.cam!.classIndex).toBe(done.prediction!.top[0].index);

    // Hidden on request; a new image (a pass) drops the stale map.
    await store.gradCam(seeded.key, false);
    expect(seeded.cam).toBeNull();
    void store.setImage(sample('astronaut.png'), {
      kind: 'sample',
      name: 'astronaut.png',
      path: 'samples/astronaut.png',
    });
    await store.idle();
    expect(trained.cam).toBeNull();
  }, 240_000);
});
