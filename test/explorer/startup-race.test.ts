/**
 * The start-up race: an image (or model) the user drops while the app is still starting — the engine
 * connecting, the start-up sample on its way, the default model loading — is the one shown when the app is
 * ready; the start-up sample never replaces it. Driven through `store.start`, the path ExplorerApp takes, with
 * the scripted engine (whose connection and sample fetch the test holds back) and the real session store.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import type { EngineRequest, PortLike } from '../../common/engine-protocol';
import type { HostBridge } from '../../renderer/src/bridge/types';
import { FakeEngine, fakeBridge, settle, tinySummary } from './fake-engine';

function png(name: string) {
  return { name, bytes: new Uint8Array([137, 80, 78, 71]).buffer };
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The scripted engine, plus answers to loadUserModel (a user model is the tiny CNN under the user's name). */
class Engine implements PortLike {
  readonly inner = new FakeEngine();
  private listeners = new Set<(ev: MessageEvent) => void>();
  get requests(): EngineRequest[] {
    return this.inner.requests;
  }
  addEventListener(t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.add(l);
    this.inner.addEventListener(t, l);
  }
  removeEventListener(t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.delete(l);
    this.inner.removeEventListener(t, l);
  }
  start(): void {}
  postMessage(message: unknown): void {
    const req = message as EngineRequest;
    if (req.type !== 'loadUserModel') return this.inner.postMessage(message);
    this.requests.push(req);
    const summary = { ...tinySummary(), id: `user:${req.model.name}`, name: req.model.name, source: 'user' as const };
    setTimeout(() =>
      this.listeners.forEach((l) => l({ data: { type: 'modelLoaded', id: req.id, summary } } as MessageEvent)),
    );
  }
  /** Names of the images the engine was asked to analyse, in order. */
  analysed(): string[] {
    return this.requests.flatMap((r) => (r.type === 'analyze' ? [r.image.name] : []));
  }
}

/** A bridge whose engine connection is held back until `release()`. */
function slowBridge(engine: Engine): { bridge: HostBridge; release: () => void } {
  const gate = deferred();
  return {
    bridge: { ...fakeBridge(engine as never), connectEngine: () => gate.promise.then(() => engine) },
    release: () => gate.resolve(),
  };
}

/** The start-up sample's fetch, held back until `release()`; the URL it was asked for is recorded. */
function slowSample(): { release: () => void; urls: string[] } {
  const gate = deferred();
  const urls: string[] = [];
  vi.stubGlobal('fetch', async (url: URL | string) => {
    urls.push(String(url));
    await gate.promise;
    const { bytes } = png('chelsea.png');
    return { ok: true, status: 200, arrayBuffer: async () => bytes };
  });
  return { release: () => gate.resolve(), urls };
}

const CHOICE = { model: 'tiny', sample: 'chelsea.png' };

describe('start-up race', () => {
  beforeEach(() => setActivePinia(createPinia()));
  afterEach(() => vi.unstubAllGlobals());

  it('without a drop: the start-up sample runs through the default model', async () => {
    const engine = new Engine();
    const sample = slowSample();
    sample.release();
    const store = useSessionStore();
    await store.start(fakeBridge(engine as never), CHOICE);
    await settle();
    expect(sample.urls).toEqual(['http://localhost/samples/chelsea.png']);
    expect(store.images.map((i) => i.name)).toEqual(['chelsea.png']);
    expect(store.activeImage?.name).toBe('chelsea.png');
    expect(store.modelId).toBe('tiny');
    expect(engine.analysed()).toEqual(['chelsea.png']);
    expect(store.passState).toBe('done');
    // Start-up's own choices are not the user acting: the first-screen hint stays.
    expect(store.userActed).toBe(false);
  });

  it('an image dropped while the engine is connecting is the one shown; the sample is not added over it', async () => {
    const engine = new Engine();
    const sample = slowSample();
    sample.release();
    const { bridge, release } = slowBridge(engine);
    const store = useSessionStore();
    const starting = store.start(bridge, CHOICE);
    await settle();
    expect(store.engineState).toBe('connecting');
    store.addImages([png('dropped.png')]);
    release();
    await starting;
    await settle();
    expect(store.images.map((i) => i.name)).toEqual(['dropped.png']);
    expect(store.activeImage?.name).toBe('dropped.png');
    expect(store.modelId).toBe('tiny');
    expect(engine.analysed()).toEqual(['dropped.png']);
    expect(store.passState).toBe('done');
    expect([...store.frames.keys()]).toEqual(['conv1', 'pool1']);
    expect(store.userActed).toBe(true);
  });

  it('an image dropped while the start-up sample is loading wins over the sample that arrives after it', async () => {
    const engine = new Engine();
    const sample = slowSample();
    const store = useSessionStore();
    const starting = store.start(fakeBridge(engine as never), CHOICE);
    await settle();
    expect(store.engineState).toBe('ready');
    expect(sample.urls).toHaveLength(1); // the sample is on its way
    store.addImages([png('dropped.png')]);
    sample.release();
    await starting;
    await settle();
    expect(store.images.map((i) => i.name)).toEqual(['dropped.png']);
    expect(store.activeImage?.name).toBe('dropped.png');
    expect(engine.analysed()).toEqual(['dropped.png']);
  });

  it('an image dropped while the default model loads is the one its first pass runs on', async () => {
    const engine = new Engine();
    const sample = slowSample();
    sample.release();
    const store = useSessionStore();
    const starting = store.start(fakeBridge(engine as never), CHOICE);
    await vi.waitFor(() => expect(store.modelLoading).not.toBeNull(), { timeout: 2000, interval: 1 });
    store.addImages([png('dropped.png')]);
    await starting;
    await settle();
    expect(store.activeImage?.name).toBe('dropped.png');
    expect(engine.analysed()).toEqual(['dropped.png']);
    expect(store.passState).toBe('done');
  });

  it('a model dropped while the engine is connecting is loaded instead of the default, not lost', async () => {
    const engine = new Engine();
    const sample = slowSample();
    sample.release();
    const { bridge, release } = slowBridge(engine);
    const store = useSessionStore();
    const starting = store.start(bridge, CHOICE);
    await settle();
    const opening = store.loadUserModel({ name: 'cats', files: [{ path: 'model.json', bytes: new ArrayBuffer(2) }] });
    release();
    await Promise.all([starting, opening]);
    await settle();
    expect(store.modelId).toBe('user:cats');
    expect(engine.requests.filter((r) => r.type === 'loadModel')).toEqual([]);
    expect(store.activeImage?.name).toBe('chelsea.png');
    expect(engine.analysed()).toEqual(['chelsea.png']);
  });

  it('an engine that fails at start-up shows the start-up sample and model once restarted', async () => {
    const sample = slowSample();
    sample.release();
    const engine = new Engine();
    let attempts = 0;
    const bridge: HostBridge = {
      ...fakeBridge(engine as never),
      connectEngine: async () => {
        if (attempts++ === 0) throw new Error('the inference window did not load');
        return engine;
      },
      restartEngine: async () => {},
    };
    const store = useSessionStore();
    await expect(store.start(bridge, CHOICE)).rejects.toThrow('the inference window did not load');
    expect(store.modelId).toBeNull();
    await store.restartEngine();
    await settle();
    expect(store.engineState).toBe('ready');
    expect(store.modelId).toBe('tiny');
    expect(store.activeImage?.name).toBe('chelsea.png');
    expect(engine.analysed()).toEqual(['chelsea.png']);
  });

  it('a sample that cannot be fetched says so, naming the file; the default model still loads', async () => {
    vi.stubGlobal('fetch', async () => ({ ok: false, status: 404, arrayBuffer: async () => new ArrayBuffer(0) }));
    const store = useSessionStore();
    await store.start(fakeBridge(new Engine() as never), CHOICE);
    expect(store.notice?.message).toBe('Could not open the sample chelsea.png: samples/chelsea.png: HTTP 404');
    expect(store.modelId).toBe('tiny');
    expect(store.images).toEqual([]);
  });
});
