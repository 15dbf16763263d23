// @vitest-environment node
// The real engine (tfjs on wasm) runs in this test; happy-dom would make tfjs take the browser's code paths.
import { readFileSync, readdirSync } from 'node:fs';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { HostBridge } from '../../renderer/src/bridge/types';
import { EngineClient } from '../../common/engine-client';
import { createNodeEngine } from '../../renderer/src/engine/node';
import { serveEngine } from '../../renderer/src/engine/server';
import type { PortLike } from '../../common/engine-protocol';
import { analyzeGraph } from '../../renderer/src/analysis';
import { getZooGraph } from '../../renderer/src/zoo';
import { alignIndex } from '../../renderer/src/explorer/compare/alignment';
import { useCompareStore, type CompareEngine } from '../../renderer/src/explorer/stores/compare';

const ROOT = resolve(__dirname, '../..');
const RESOURCES = `${resolve(ROOT, 'resources')}/`;
const chelsea = () => {
  const b = readFileSync(resolve(ROOT, 'resources/samples/chelsea.png'));
  return { name: 'chelsea.png', bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
};

/** What the store asked the engine, in order, with the time each pass ran. */
interface Log {
  loads: string[];
  passes: { modelId: string; start: number; end: number; maxSide?: number; keepOthers?: boolean }[];
}

/** The real EngineClient with a log of the calls the store makes through it. */
function loggingClient(client: EngineClient, log: Log): CompareEngine {
  return {
    hello: (base, prefer) => client.hello(base, prefer),
    loadModel: (id, opts) => {
      log.loads.push(id);
      return client.loadModel(id, opts);
    },
    loadUserModel: (m, opts) => client.loadUserModel(m, opts),
    analyze: (opts) => {
      const entry = {
        modelId: opts.modelId,
        start: performance.now(),
        end: Infinity,
        maxSide: opts.maxSide,
        keepOthers: opts.keepOthers,
      };
      log.passes.push(entry);
      const run = client.analyze(opts);
      run.done.then(
        () => (entry.end = performance.now()),
        () => (entry.end = performance.now()),
      );
      return run;
    },
    dispose: () => client.dispose(),
  };
}

describe('compare store on the real engine (wasm)', () => {
  const log: Log = { loads: [], passes: [] };
  let stop: () => void;
  let ports: MessagePort[];
  let store: ReturnType<typeof useCompareStore>;

  beforeAll(async () => {
    setActivePinia(createPinia());
    const engine = createNodeEngine({ warmUp: false });
    const channel = new MessageChannel();
    ports = [channel.port1, channel.port2];
    stop = serveEngine(channel.port2 as unknown as PortLike, engine);
    const bridge = {
      kind: 'web',
      resourcesBase: RESOURCES,
      connectEngine: async () => channel.port1 as unknown as PortLike,
    } as unknown as HostBridge;
    store = useCompareStore();
    await store.open(bridge, loggingClient(new EngineClient(channel.port1 as unknown as PortLike), log));
  });

  afterAll(() => {
    store?.close();
    stop?.();
    ports?.forEach((p) => p.close());
  });

  it('lists the built-in models', () => {
    expect(store.connected).toBe(true);
    expect(store.backend).toBe('wasm');
    expect(store.models.map((m) => m.id)).toEqual(
      expect.arrayContaining(['mobilenetv2', 'mobilenetv2-pretrained', 'resnet50']),
    );
  });

  it('runs two models on one image, one pass at a time, streaming every layer into each pane', async () => {
    void store.setImage(chelsea(), { kind: 'sample', name: 'chelsea.png', path: 'samples/chelsea.png' });
    void store.addModel('mobilenetv2');
    void store.addModel('mobilenetv2-pretrained');
    expect(store.panes.map((p) => p.state)).toEqual(['loading', 'loading']);
    await store.idle();
    expect(store.panes.map((p) => p.state)).toEqual(['done', 'done']);
    for (const p of store.panes) {
      expect(p.frames.size).toBe(p.summary!.frameOrder.length);
      expect(p.received).toBe(p.frames.size);
      expect(p.timings!.totalMs).toBeGreaterThan(0);
      // Maps come pooled down for the small panes.
      for (const f of p.frames.values()) expect(Math.max(f.shape[0], f.shape[1])).toBeLessThanOrEqual(56);
    }
    expect(log.passes.map((p) => p.modelId)).toEqual(['mobilenetv2', 'mobilenetv2-pretrained']);
    expect(log.passes.every((p) => p.keepOthers && p.maxSide === 56)).toBe(true);
    expect(log.passes[1].start).toBeGreaterThanOrEqual(log.passes[0].end);
  });

  it('fills the table from the analysis: totals equal analyzeGraph on the zoo graph', () => {
    const expected = analyzeGraph(getZooGraph('mobilenetv2')).totals;
    const row = store.table.models.find((m) => m.modelId === 'mobilenetv2')!;
    expect(row).toMatchObject({
      params: expected.params,
      macs: expected.macs,
      depth: expected.depth,
      denseParams: expected.denseParams,
    });
    expect(row.lastPassMs).toBe(store.panes[0].timings!.totalMs);
    expect(row.backend).toBe('wasm');
    const bundled = store.table.models.find((m) => m.modelId === 'mobilenetv2-pretrained')!;
    expect(bundled.params).toBe(store.panes[1].summary!.analysis.totals.params);
    expect(bundled.trained).toBe(true);
    // Its prediction on the image is in the table: the engine's top classes for that pass, highest first.
    const top = store.panes[1].prediction!.top;
    expect(bundled.prediction!.map((c) => c.label)).toEqual(
      [...top].sort((a, b) => b.probability - a.probability).map((c) => c.label),
    );
    expect(bundled.prediction!.length).toBe(5);
  });

  it('lines up the other pane when one steps, by stage or by depth', () => {
    const [a, b] = store.panes;
    store.setLinkMode('stage');
    store.focus(a.key, 40);
    expect(a.focusIndex).toBe(40);
    expect(b.focusIndex).toBe(alignIndex(a.layout!, 40, b.layout!, 'stage'));
    expect(b.layout!.stage[b.focusIndex]).toBe(a.layout!.stage[40]);
    store.setLinkMode('depth');
    expect(b.focusIndex).toBe(alignIndex(a.layout!, 40, b.layout!, 'depth'));
    store.step(1, b.key);
    expect(store.leaderKey).toBe(b.key);
    store.setLinkMode('off');
    const before = a.focusIndex;
    store.step(3);
    expect(a.focusIndex).toBe(before);
  });

  it('adds a third model without reloading or rerunning the other two', async () => {
    const framesBefore = store.panes.map((p) => p.frames);
    const loadsBefore = log.loads.length;
    const passesBefore = log.passes.length;
    await store.addModel('googlenet');
    await store.idle();
    expect(log.loads.slice(loadsBefore)).toEqual(['googlenet']);
    expect(log.passes.slice(passesBefore).map((p) => p.modelId)).toEqual(['googlenet']);
    expect(store.panes.slice(0, 2).map((p) => p.frames)).toEqual(framesBefore);
    expect(store.panes[2].state).toBe('done');
    expect(store.table.models.map((m) => m.modelId)).toEqual(['mobilenetv2', 'mobilenetv2-pretrained', 'googlenet']);
  });

  it('adds a fourth model alone, refuses a duplicate and a fifth, and reruns every pane for a new image', async () => {
    await store.addModel('googlenet');
    expect(store.panes).toHaveLength(3);
    const [loads3, passes3] = [log.loads.length, log.passes.length];
    await store.addModel('densenet121');
    await store.idle();
    // The fourth model loads and runs alone; the engine keeps all four loaded.
    expect(log.loads.slice(loads3)).toEqual(['densenet121']);
    expect(log.passes.slice(passes3).map((p) => p.modelId)).toEqual(['densenet121']);
    const loads = log.loads.length;
    await store.addModel('resnet50');
    expect(store.panes).toHaveLength(4);
    expect(store.notice?.message).toContain('up to 4 models');
    expect(log.loads.length).toBe(loads);
    store.removeModel('densenet121');
    const passesBefore = log.passes.length;
    await store.setImage(chelsea(), { kind: 'file', name: 'chelsea.png', path: 'chelsea.png' });
    await store.idle();
    expect(log.passes.slice(passesBefore).map((p) => p.modelId)).toEqual([
      'mobilenetv2',
      'mobilenetv2-pretrained',
      'googlenet',
    ]);
    expect(store.panes.map((p) => p.state)).toEqual(['done', 'done', 'done']);
  });

  it("adds the user's own model from its files, keyed by the engine's id and with the path it came from", async () => {
    const dir = resolve(ROOT, 'resources/models/mobilenetv2');
    const files = readdirSync(dir)
      .filter((f) => f === 'model.json' || f.endsWith('.bin'))
      .map((f) => {
        const b = readFileSync(resolve(dir, f));
        return { path: f, bytes: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
      });
    await store.addUserModel({ name: 'my-mobilenet', files }, '/models/my-mobilenet/model.json');
    await store.idle();
    const p = store.panes[3];
    expect(p).toMatchObject({
      key: 'user:my-mobilenet',
      modelId: 'user:my-mobilenet',
      source: 'user',
      path: '/models/my-mobilenet/model.json',
      state: 'done',
    });
    expect(p.frames.size).toBe(p.summary!.frameOrder.length);
    // The same files as the bundled model: the same analysis.
    const row = store.table.models.find((m) => m.modelId === 'user:my-mobilenet')!;
    expect(row.params).toBe(store.table.models.find((m) => m.modelId === 'mobilenetv2-pretrained')!.params);
    store.removeModel(p.key);
  });

  it('reports an unknown model without adding a pane', async () => {
    await store.addModel('no-such-model');
    expect(store.notice).toEqual({ kind: 'error', message: 'Unknown model "no-such-model"' });
    expect(store.panes).toHaveLength(3);
  });
});
