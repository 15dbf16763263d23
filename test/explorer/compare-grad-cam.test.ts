// @vitest-environment node
// The real engine (tfjs on wasm) runs in this test; happy-dom would make tfjs take the browser's code paths.
/**
 * Grad-CAM per Compare pane, on the real engine: each pane's map is computed for its own model on the comparison's
 * image, after its pass (queued like the passes). Oracle for the class: the top-1 of a plain pass of the same model
 * on the same image through a second client (the prediction the main view would show); the map covers the model
 * input and is not all zero; a new image clears it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineClient } from '../../common/engine-client';
import { RESOURCES, openCompareOnRealEngine, sample } from './compare-real-engine';

describe('Grad-CAM in Compare panes (real engine, wasm)', () => {
  let env: Awaited<ReturnType<typeof openCompareOnRealEngine>>;
  let store: typeof env.store;
  let oracle: EngineClient;

  beforeAll(async () => {
    env = await openCompareOnRealEngine();
    ({ store, oracle } = env);
  }, 60_000);

  afterAll(() => env?.close());

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
