import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import { FakeEngine, fakeBridge, settle } from './fake-engine';

function png(name: string) {
  return { name, bytes: new Uint8Array([137, 80, 78, 71]).buffer };
}

describe('session store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('connects, reports the backend and why, and lists the models', async () => {
    const store = useSessionStore();
    await store.connect(fakeBridge(new FakeEngine()));
    expect(store.engineState).toBe('ready');
    expect(store.backend).toBe('wasm');
    expect(store.backendReason).toBe('forced by the test');
    expect(store.models.map((m) => m.id)).toEqual(['tiny']);
  });

  it('streams every layer of a pass into frames, in order, and records the timings', async () => {
    const store = useSessionStore();
    await store.connect(fakeBridge(new FakeEngine()));
    store.addImages([png('cat.png')]);
    await store.selectModel('tiny');
    await settle();
    expect([...store.frames.keys()]).toEqual(['conv1', 'pool1']);
    expect(store.passState).toBe('done');
    expect(store.timings?.totalMs).toBe(6);
    expect(store.inputPreview?.width).toBe(8);
  });

  it('keeps the previous scene and says why when an image cannot be decoded', async () => {
    const store = useSessionStore();
    await store.connect(fakeBridge(new FakeEngine({ badImages: new Set(['broken.png']) })));
    store.addImages([png('cat.png')]);
    await store.selectModel('tiny');
    await settle();
    const before = store.frames;
    store.addImages([png('broken.png')]);
    await settle();
    expect(store.notice?.kind).toBe('error');
    expect(store.notice?.message).toContain('broken.png');
    expect(store.frames).toBe(before);
    expect(store.frames.size).toBe(2);
    // The unreadable image leaves the strip and the selection returns to the image on screen.
    expect(store.images.map((i) => i.name)).toEqual(['cat.png']);
    expect(store.activeImage?.name).toBe('cat.png');
    // A model switch afterwards runs on the good image, not the broken one.
    await store.selectModel('tiny');
    await settle();
    expect(store.passState).toBe('done');
  });

  it('refuses empty and truncated files before they reach the strip, listing every one', async () => {
    const engine = new FakeEngine();
    const store = useSessionStore();
    await store.connect(fakeBridge(engine));
    const truncatedPng = Uint8Array.from([
      137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 8, 0, 0, 0, 8, 8, 6, 0, 0, 0,
    ]);
    store.addImages([
      { name: 'empty.png', bytes: new ArrayBuffer(0) },
      { name: 'cut.png', bytes: truncatedPng.buffer },
    ]);
    await settle();
    expect(store.images).toHaveLength(0);
    expect(store.notice?.message).toMatch(/empty\.png: the file is empty/);
    expect(store.notice?.message).toMatch(/cut\.png: .*truncated/);
    expect(engine.requests.filter((r) => r.type === 'analyze')).toHaveLength(0);
  });

  it('keeps the loaded model when another fails to load', async () => {
    const store = useSessionStore();
    await store.connect(fakeBridge(new FakeEngine({ badModels: new Set(['missing']) })));
    await store.selectModel('tiny');
    await store.selectModel('missing');
    expect(store.notice?.message).toContain('missing/model.json');
    expect(store.modelId).toBe('tiny');
    expect(store.summary?.id).toBe('tiny');
  });

  it('cancels a model load in flight and keeps the model on screen', async () => {
    const store = useSessionStore();
    await store.connect(fakeBridge(new FakeEngine({ slowModels: new Set(['huge']) })));
    await store.selectModel('tiny');
    const loading = store.selectModel('huge');
    await settle();
    expect(store.modelLoading).toMatchObject({ modelId: 'huge', loaded: 1e6, total: 4e6 });
    store.cancelLoad();
    await loading;
    expect(store.modelLoading).toBeNull();
    expect(store.modelId).toBe('tiny');
    expect(store.notice).toBeNull();
  });

  it('steps the focus through the streamed layers and stops at both ends', async () => {
    const store = useSessionStore();
    await store.connect(fakeBridge(new FakeEngine()));
    await store.selectModel('tiny');
    expect(store.focusedLayer?.id).toBe('conv1');
    store.focusStep(1);
    expect(store.focusedLayer?.id).toBe('pool1');
    store.focusStep(1);
    expect(store.focusedLayer?.id).toBe('pool1');
    store.focusStep(-5);
    expect(store.focusedLayer?.id).toBe('conv1');
    store.focusLayer('pool1');
    expect(store.focusIndex).toBe(1);
  });

  it('queues forty dropped images without analysing them all', async () => {
    const engine = new FakeEngine();
    const store = useSessionStore();
    await store.connect(fakeBridge(engine));
    await store.selectModel('tiny');
    const before = engine.requests.filter((r) => r.type === 'analyze').length;
    store.addImages(Array.from({ length: 40 }, (_, i) => png(`img-${i}.png`)));
    await settle();
    expect(store.images).toHaveLength(40);
    expect(store.activeImage?.name).toBe('img-0.png');
    expect(engine.requests.filter((r) => r.type === 'analyze').length - before).toBe(1);
  });

  it('fetches exact channel values on demand', async () => {
    const store = useSessionStore();
    await store.connect(fakeBridge(new FakeEngine()));
    await store.selectModel('tiny');
    const r = await store.channelValues('conv1', 2);
    expect(r?.shape).toEqual([8, 8]);
    expect(r?.values[0]).toBe(0.5);
  });
});
