/**
 * The protocol end to end: EngineClient ⇄ MessageChannel ⇄ serveEngine ⇄ Engine, as the UI and the
 * worker use it (Node's MessageChannel transfers buffers like the browser's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineCancelled, EngineClient, EngineError, type AnalyzeEvent } from '../../common/engine-client';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine, imageFromFile } from '../../renderer/src/engine/node';
import type { ImageInput, LayerFrame, PortLike } from '../../common/engine-protocol';
import { serveEngine } from '../../renderer/src/engine/server';
import { FIX, RESOURCES, SAMPLE, fixtureModel, fixturePixels } from './helpers';

let engine: Engine;
let channel: MessageChannel;
let client: EngineClient;
let stop: () => void;
let photo: ImageInput;
const MNV2 = 'mobilenetv2-pretrained';

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  channel = new MessageChannel();
  stop = serveEngine(channel.port2 as unknown as PortLike, engine);
  client = new EngineClient(channel.port1 as unknown as PortLike);
  photo = await imageFromFile(SAMPLE);
});

afterAll(async () => {
  client.dispose();
  stop();
  channel.port1.close();
  channel.port2.close();
  await engine.dispose();
});

describe('EngineClient ⇄ serveEngine', () => {
  it('says hello with the backend, the reason and the model list', async () => {
    const ready = await client.hello(RESOURCES, ['wasm']);
    expect(ready.backend).toBe('wasm');
    expect(ready.reason).toMatch(/^wasm \(/);
    expect(ready.models.map((m) => m.id)).toContain(MNV2);
    expect(ready.tfjsVersion).toBe('4.22.0');
    expect((await client.listModels()).length).toBe(ready.models.length);
  });

  it('loads a model with progress replies', async () => {
    const phases: string[] = [];
    const s = await client.loadModel(MNV2, { onProgress: (p) => phases.push(p.phase) });
    expect(s.frameOrder).toHaveLength(161);
    expect(phases[0]).toBe('fetch');
    expect(phases).toContain('build');
  });

  it('streams image, frames and done as separate messages; buffers arrive intact', async () => {
    const run = client.analyze({ modelId: MNV2, image: photo, maxSide: 16 });
    const events: AnalyzeEvent['type'][] = [];
    const frames: LayerFrame[] = [];
    for await (const ev of run) {
      events.push(ev.type);
      if (ev.type === 'frame') frames.push(ev.frame);
    }
    expect(events.slice(0, 3)).toEqual(['progress', 'image', 'progress']); // decode, the input preview, infer
    expect(events[events.length - 1]).toBe('done');
    expect(frames).toHaveLength(161);
    expect(frames.map((f) => f.index)).toEqual([...Array(161).keys()]);
    const f = frames[1];
    expect(f.data).toBeInstanceOf(Uint8Array);
    expect(f.data.byteLength).toBe(f.shape[0] * f.shape[1] * f.shape[2]);
    expect(f.min).toBeInstanceOf(Float32Array);
    const outcome = await run.done;
    expect(outcome.backend).toBe('wasm');
    expect(outcome.stats?.frames).toBe(161);
  });

  it('a newer analyze cancels the older one; the newer completes', async () => {
    const older = client.analyze({ modelId: MNV2, image: photo });
    let olderFrames = 0;
    older.onFrame(() => olderFrames++);
    const newer = client.analyze({ modelId: MNV2, image: photo, maxSide: 8 });
    let newerFrames = 0;
    newer.onFrame(() => newerFrames++);
    await expect(older.done).rejects.toBeInstanceOf(EngineCancelled);
    await newer.done;
    expect(olderFrames).toBe(0); // superseded at once: nothing of it reaches the UI
    expect(newerFrames).toBe(161);
  });

  it('keepOthers queues passes instead (compare mode) and cancel() stops one', async () => {
    const a = client.analyze({ modelId: MNV2, image: photo, maxSide: 8 });
    const b = client.analyze({ modelId: MNV2, image: photo, maxSide: 8, keepOthers: true });
    const c = client.analyze({ modelId: MNV2, image: photo, maxSide: 8, keepOthers: true });
    let cFrames = 0;
    c.onFrame(() => {
      if (++cFrames === 3) c.cancel();
    });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.stats?.frames).toBe(161);
    expect(rb.stats?.frames).toBe(161);
    await expect(c.done).rejects.toBeInstanceOf(EngineCancelled);
    expect(cFrames).toBeLessThan(161);
  });

  it('errors name the file; the engine answers the next request', async () => {
    const run = client.analyze({
      modelId: MNV2,
      image: { kind: 'encoded', name: 'empty.jpg', bytes: new ArrayBuffer(0) },
    });
    const seen: Error[] = [];
    run.onError((e) => seen.push(e));
    const err = await run.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).message).toBe('empty.jpg: the file is empty (0 bytes)');
    expect((err as EngineError).file).toBe('empty.jpg');
    expect(seen).toHaveLength(1);
    await expect(client.loadModel('no-such-model')).rejects.toThrow(/unknown model 'no-such-model'/);
    const bad = await client
      .loadUserModel({
        name: 'x',
        files: [{ path: 'model.json', bytes: new TextEncoder().encode('nope').buffer as ArrayBuffer }],
      })
      .catch((e: unknown) => e);
    // The format registry words it ("not valid JSON", "a text file, not a model this app opens"); the file leads.
    expect((bad as EngineError).message).toMatch(/^x\/model\.json: (not valid JSON|a text file, not a model)/);
    expect((bad as EngineError).file).toBe('model.json');
  });

  it('loads a user model (buffers transferred) and reads exact channel values', async () => {
    const fix = await fixtureModel('proto');
    const s = await client.loadUserModel(fix.files, { transfer: true });
    expect(fix.files.files[0].bytes.byteLength).toBe(0); // transferred, not copied
    expect(s.id).toBe('user:proto');
    await client.analyze({
      modelId: s.id,
      image: { kind: 'rgba', name: 'f', width: FIX.W, height: FIX.H, data: fixturePixels() },
    }).done;
    const ch = await client.channel(s.id, 'conv', 2);
    expect(ch.shape).toEqual([FIX.H, FIX.W]);
    expect(ch.values).toBeInstanceOf(Float32Array);
    await expect(client.channel(s.id, 'conv', 99)).rejects.toThrow(/channel 99 does not exist/);
  });

  it('answers setBackend and announces backend changes', async () => {
    const announced: string[] = [];
    const off = client.onBackend((b) => announced.push(b.backend));
    const r = await client.setBackend('cpu');
    expect(r.backend).toBe('cpu');
    await client.setBackend('wasm');
    off();
    expect(announced).toEqual(['cpu', 'wasm']);
    await expect(client.setBackend('webgl')).resolves.toMatchObject({
      backend: 'wasm',
      reason: expect.stringMatching(/not webgl: not available in Node/),
    });
    await expect(client.simulateContextLoss()).rejects.toThrow(/not webgl/);
  });

  it('rejects malformed requests without dying', async () => {
    const errors: string[] = [];
    const off = client.onError((e) => errors.push(e.message));
    channel.port1.postMessage({ type: 'explode' });
    await client.listModels();
    off();
    expect(errors[0]).toMatch(/malformed engine request/);
  });
});
