/**
 * Frame buffers recycled UI → worker: the pool, the `recycle` message end to end over a real MessageChannel
 * (validated like every message), the engine writing the next pass's frames into the buffers it got back with the
 * same bytes as fresh ones, and the cpu backend quantizing with the same wasm kernel (frames checked against the
 * layer's exact float values).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EngineClient } from '../../common/engine-client';
import type { Engine } from '../../renderer/src/engine/engine';
import { FramePool } from '../../renderer/src/engine/frame-pool';
import { createNodeEngine, imageFromFile } from '../../renderer/src/engine/node';
import type { LayerFrame, PortLike } from '../../common/engine-protocol';
import { parseRequest } from '../../common/engine-protocol-schema';
import { serveEngine } from '../../renderer/src/engine/server';
import { WasmQuantizer } from '../../renderer/src/engine/wasm-quantize';
import { RESOURCES, SAMPLE, collector } from './helpers';

const MNV2 = 'mobilenetv2-pretrained';
let engine: Engine;
let photo: Awaited<ReturnType<typeof imageFromFile>>;

beforeAll(async () => {
  engine = createNodeEngine();
  await engine.hello(RESOURCES, ['wasm']);
  photo = await imageFromFile(SAMPLE);
  await engine.loadModel(MNV2);
});
afterAll(() => engine.dispose());

describe('FramePool', () => {
  it('hands back buffers of exactly the asked size, once each, within its byte cap', () => {
    const pool = new FramePool(100);
    const a = new ArrayBuffer(40);
    const b = new ArrayBuffer(40);
    pool.put([a, a, b, new ArrayBuffer(0), new ArrayBuffer(30), new ArrayBuffer(50)]);
    // a once (no duplicates) and b; an empty (detached) buffer never; 30 and 50 bytes would pass the 100-byte cap.
    expect(pool.bytes).toBe(80);
    expect(pool.take(30)).toBeUndefined();
    expect(pool.take(50)).toBeUndefined();
    const got = [pool.take(40)!.buffer, pool.take(40)!.buffer];
    expect(new Set(got)).toEqual(new Set([a, b]));
    expect(pool.take(40)).toBeUndefined();
    expect(pool.bytes).toBe(0);
  });
});

describe('recycled frame buffers', () => {
  it('a pass after a recycle writes its frames into the returned buffers, byte for byte as fresh ones', async () => {
    const first = collector();
    await engine.analyze({ modelId: MNV2, image: photo }, first.sink);
    const copies = first.frames.map((f) => Uint8Array.from(f.data));
    const given = new Set(first.frames.map((f) => f.data.buffer as ArrayBuffer));
    engine.recycle([...given]);
    expect(engine.recycledBytes).toBe([...given].reduce((a, b) => a + b.byteLength, 0));
    const second = collector();
    await engine.analyze({ modelId: MNV2, image: photo }, second.sink);
    const reused = second.frames.filter((f) => given.has(f.data.buffer as ArrayBuffer)).length;
    // Every frame found a buffer of its size (layers repeat their sizes from pass to pass).
    expect(reused).toBe(second.frames.length);
    expect(engine.recycledBytes).toBe(0);
    second.frames.forEach((f, i) => {
      expect([f.layerId, Buffer.from(f.data).equals(Buffer.from(copies[i]))]).toEqual([first.frames[i].layerId, true]);
    });
  });

  it('travels as a validated `recycle` message: buffers transferred from the client, bad ones refused by name', async () => {
    const channel = new MessageChannel();
    const stop = serveEngine(channel.port2 as unknown as PortLike, engine);
    const client = new EngineClient(channel.port1 as unknown as PortLike);
    try {
      await client.hello(RESOURCES, ['wasm']);
      const frames: LayerFrame[] = [];
      await client
        .analyze({ modelId: MNV2, image: { ...photo, bytes: photo.bytes.slice(0) } })
        .onFrame((f) => frames.push(f)).done;
      const before = engine.recycledBytes;
      const total = frames.reduce((a, f) => a + f.data.byteLength, 0);
      client.recycle(frames);
      // Transferred: the UI's copies are gone, so nothing can draw from a buffer the engine now writes into.
      expect(frames.every((f) => f.data.byteLength === 0)).toBe(true);
      await client.listModels(); // the recycle message was handled before this reply
      expect(engine.recycledBytes - before).toBe(total);
    } finally {
      client.dispose();
      stop();
      channel.port1.close();
      channel.port2.close();
    }
    expect(parseRequest({ type: 'recycle', id: 3, buffers: [new ArrayBuffer(8)] }).ok).toBe(true);
    const bad = parseRequest({ type: 'recycle', id: 4, buffers: [new Uint8Array(8)] });
    expect(bad).toMatchObject({ ok: false, id: 4 });
    expect(!bad.ok && bad.problem).toMatch(/recycle\.buffers\.0: recycled frame buffer must be an ArrayBuffer/);
    const notArray = parseRequest({ type: 'recycle', id: 5, buffers: 'x' });
    expect(!notArray.ok && notArray.problem).toMatch(/buffers must be an array/);
  });

  it('the cpu backend quantizes with the wasm kernel; its frames dequantize to the exact values', async () => {
    const spy = vi.spyOn(WasmQuantizer.prototype, 'quantizeValues');
    await engine.setBackend('cpu');
    try {
      expect(engine.backend?.backend).toBe('cpu');
      const { frames, sink } = collector();
      await engine.analyze({ modelId: MNV2, image: photo }, sink);
      // Every layer (all float32), the 3-channel input and the 5-class output too (copied with C padded to 4 and 8).
      expect(frames.length).toBeGreaterThan(150);
      expect(spy).toHaveBeenCalledTimes(frames.length);
      for (const layer of ['Conv1', 'block_3_expand_relu', 'block_16_project']) {
        const f = frames.find((x) => x.layerId === layer)!;
        const [h, w, C] = f.shape;
        for (const c of [0, C - 1]) {
          const exact = await engine.channel(MNV2, layer, c);
          const step = (f.max[c] - f.min[c]) / 255;
          let worst = 0;
          for (let p = 0; p < h * w; p++)
            worst = Math.max(worst, Math.abs(f.min[c] + f.data[c * h * w + p] * step - exact.values[p]));
          expect([layer, c, worst <= step / 2 + 1e-5 * Math.max(1, Math.abs(f.max[c]))]).toEqual([layer, c, true]);
        }
      }
    } finally {
      spy.mockRestore();
      await engine.setBackend('wasm');
    }
  }, 120_000);
});
