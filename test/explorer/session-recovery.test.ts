/**
 * The session store when the engine stops answering: the client's watchdog declares it dead, the store
 * restarts it through the bridge, restores the model list, the model and the image, and marks the model
 * that was loading when it stopped. The engine here is the scripted FakeEngine; `hung` makes it silent.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { ENGINE_HEAP_LIMIT, useSessionStore } from '../../renderer/src/explorer/stores/session';
import type { HostBridge } from '../../renderer/src/bridge/types';
import { FakeEngine, fakeBridge, settle, type FakeEngineOptions } from './fake-engine';

function png(name: string) {
  return { name, bytes: new Uint8Array([137, 80, 78, 71]).buffer };
}

/** A bridge whose restartEngine replaces the engine with a fresh (answering) one, as the web bridge does. */
function restartingBridge(first: FakeEngine, next: () => FakeEngine = () => new FakeEngine()) {
  const state = { engine: first, restarts: 0, reasons: [] as string[] };
  const bridge: HostBridge = {
    ...fakeBridge(first),
    connectEngine: async () => state.engine,
    restartEngine: async (reason: string) => {
      state.restarts++;
      state.reasons.push(reason);
      state.engine = next();
    },
  };
  return { bridge, state };
}

async function until(check: () => boolean, timeoutMs = 8000): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - t0;
}

describe('session store: engine recovery', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('a hang while loading a model: restarted, previous model and image back, the model marked', async () => {
    const opts: FakeEngineOptions = {};
    const { bridge, state } = restartingBridge(new FakeEngine(opts));
    const store = useSessionStore();
    await store.connect(bridge);
    store.addImages([png('cat.png')]);
    await store.selectModel('tiny');
    await settle();
    expect(store.passState).toBe('done');

    opts.hung = true;
    const json = new TextEncoder().encode('{}').buffer as ArrayBuffer;
    void store.loadUserModel({ name: 'cyclic', files: [{ path: 'model.json', bytes: json }] });
    // Done again on the new engine (the old pass's 'done' must not count): its rerun was sent and finished.
    const rerun = () => state.engine.requests.some((r) => r.type === 'analyze');
    const ms = await until(
      () => store.restarts === 1 && store.engineState === 'ready' && rerun() && store.passState === 'done',
    );
    expect(ms).toBeLessThan(5000);
    expect(state.restarts).toBe(1);
    expect(store.notice?.message).toMatch(
      /^The engine stopped responding while loading cyclic\/model\.json; it was restarted\. cyclic\/model\.json is marked/,
    );
    expect(store.notice?.action).toBe('restart');
    expect(store.crashedModels).toEqual([{ modelId: 'user:cyclic', during: 'loading cyclic/model.json' }]);
    // What was on screen is back: the model list, the model, the image and its frames.
    expect(store.models.map((m) => m.id)).toEqual(['tiny']);
    expect(store.modelId).toBe('tiny');
    expect(store.activeImage?.name).toBe('cat.png');
    expect([...store.frames.keys()]).toEqual(['conv1', 'pool1']);
    const sent = state.engine.requests.map((r) => r.type);
    expect(sent).toEqual(expect.arrayContaining(['hello', 'loadModel', 'analyze']));
    expect(sent).not.toContain('loadUserModel'); // the culprit is not loaded again by itself
  });

  it('a hang during a pass: restarted and rerun, nothing marked the first time', async () => {
    const opts: FakeEngineOptions = {};
    const { bridge, state } = restartingBridge(new FakeEngine(opts));
    const store = useSessionStore();
    await store.connect(bridge);
    store.addImages([png('cat.png')]);
    await store.selectModel('tiny');
    await settle();
    opts.hung = true;
    store.addImages([png('dog.png')]);
    await until(
      () =>
        store.restarts === 1 &&
        store.engineState === 'ready' &&
        state.engine.requests.some((r) => r.type === 'analyze') &&
        store.passState === 'done',
    );
    expect(store.notice?.message).toMatch(
      /^The engine stopped responding while analyzing dog\.png with tiny; it was restarted\.$/,
    );
    expect(store.crashedModels).toEqual([]);
    expect(store.activeImage?.name).toBe('dog.png');
    expect(store.frames.size).toBe(2);
    const analyzed = state.engine.requests.filter((r) => r.type === 'analyze');
    expect(analyzed.map((r) => (r.type === 'analyze' ? r.image.name : ''))).toEqual(['dog.png']);
  });

  it('an engine that stops again while the recovery reloads the model: recovered once more', async () => {
    const opts: FakeEngineOptions = {};
    // The engine the first recovery brings back never finishes loading the model, then stops answering.
    const second: FakeEngineOptions = { slowModels: new Set(['tiny']) };
    const later = [new FakeEngine(second)];
    const { bridge, state } = restartingBridge(new FakeEngine(opts), () => later.shift() ?? new FakeEngine());
    const store = useSessionStore();
    await store.connect(bridge);
    store.addImages([png('cat.png')]);
    await store.selectModel('tiny');
    await settle();
    opts.hung = true;
    store.addImages([png('dog.png')]);
    await until(() => store.restarts === 1 && state.engine.requests.some((r) => r.type === 'loadModel'));
    second.hung = true;
    await until(() => store.restarts === 2 && store.engineState === 'ready');
    expect(state.restarts).toBe(2);
    expect(store.notice?.message).toMatch(
      /^The engine stopped responding while loading tiny; it was restarted\. Tiny CNN is marked: it caused the engine to stop/,
    );
    expect(store.crashedModels).toEqual([{ modelId: 'tiny', during: 'loading tiny' }]);
    expect(store.activeImage?.name).toBe('dog.png');
    // The third engine answers: the user picks the model again and the image runs through it.
    await store.selectModel('tiny');
    await settle();
    expect(store.modelId).toBe('tiny');
    expect(store.passState).toBe('done');
    expect(store.frames.size).toBe(2);
  });

  it('"Restart engine" restarts on request and restores the model and image', async () => {
    const { bridge, state } = restartingBridge(new FakeEngine());
    const store = useSessionStore();
    await store.connect(bridge);
    store.addImages([png('cat.png')]);
    await store.selectModel('tiny');
    await settle();
    await store.restartEngine();
    await settle();
    expect(state.restarts).toBe(1);
    expect(store.engineState).toBe('ready');
    expect(state.reasons).toEqual(['restart requested']);
    expect(store.notice).toBeNull(); // the "Restarting the engine…" line goes once it is back
    expect(store.modelId).toBe('tiny');
    expect(store.passState).toBe('done');
  });

  it('an engine whose memory grew past the limit is recycled after the pass, once, with the scene restored', async () => {
    const opts: FakeEngineOptions = {};
    const { bridge, state } = restartingBridge(new FakeEngine(opts));
    const store = useSessionStore();
    await store.connect(bridge);
    store.addImages([png('cat.png')]);
    await store.selectModel('tiny');
    await settle();
    expect(state.restarts).toBe(0);
    opts.heapBytes = 2 * ENGINE_HEAP_LIMIT;
    await store.analyze();
    await until(() => store.restarts === 1 && store.engineState === 'ready' && store.passState === 'done');
    expect(state.reasons[0]).toMatch(/^recycled: its memory grew to 3072 MB$/);
    expect(store.crashedModels).toEqual([]);
    expect(store.frames.size).toBe(2);
    // The new engine reports the same: not recycled again for the same model and image.
    (state.engine as unknown as { opts: FakeEngineOptions }).opts.heapBytes = 2 * ENGINE_HEAP_LIMIT;
    await store.analyze();
    await settle();
    expect(store.restarts).toBe(1);
  });
});
