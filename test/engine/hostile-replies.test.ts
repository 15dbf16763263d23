/**
 * Hostile replies reaching the UI: the client checks each one against protocol-schema.ts; a malformed one
 * is reported (onError) and fails the request it names, instead of reaching the scene as a TypeError.
 */
import { describe, expect, it } from 'vitest';
import { EngineClient, EngineError } from '../../common/engine-client';
import type { EngineRequest, PortLike } from '../../common/engine-protocol';

/** A port whose "engine" the test scripts: `answer` maps each request to the raw replies sent back. */
class ScriptedPort implements PortLike {
  readonly requests: EngineRequest[] = [];
  private listeners = new Set<(ev: MessageEvent) => void>();
  constructor(private readonly answer: (req: EngineRequest) => unknown[]) {}
  addEventListener(_t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.add(l);
  }
  removeEventListener(_t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.delete(l);
  }
  postMessage(message: unknown): void {
    const req = message as EngineRequest;
    this.requests.push(req);
    const replies = req.type === 'ping' ? [{ type: 'pong', id: req.id }] : this.answer(req);
    for (const r of replies) setTimeout(() => this.listeners.forEach((l) => l({ data: r } as MessageEvent)), 0);
  }
}

const frame = (over: object = {}) => ({
  layerId: 'conv',
  index: 0,
  shape: [2, 2, 1],
  fullShape: [2, 2, 1],
  min: new Float32Array(1),
  max: new Float32Array(1),
  data: new Uint8Array(4),
  ...over,
});
const timings = { decodeMs: 0, forwardMs: 1, extractMs: 0, totalMs: 1, firstFrameMs: 0 };
const image = { kind: 'rgba' as const, name: 'a.png', width: 1, height: 1, data: new Uint8ClampedArray(4) };

/** Runs one analyze against replies built by `frames(id)`, returns how it ended and what was reported. */
async function analyzeWith(replies: (id: number) => unknown[]) {
  const port = new ScriptedPort((req) => (req.type === 'analyze' ? replies(req.id) : []));
  const client = new EngineClient(port);
  const reported: string[] = [];
  client.onError((e) => reported.push(e.message));
  const frames: unknown[] = [];
  const run = client.analyze({ modelId: 'm', image }).onFrame((f) => frames.push(f));
  const outcome = await run.done.then(
    () => 'done',
    (e: unknown) => e,
  );
  client.dispose();
  return { outcome, reported, frames };
}

const BAD_FRAMES: [string, object, RegExp][] = [
  [
    'data shorter than its shape',
    frame({ data: new Uint8Array(3) }),
    /frame\.frame\.data: 3 bytes; shape 2×2×1 needs 4/,
  ],
  ['data as a plain array', frame({ data: [1, 2, 3, 4] }), /frame\.frame\.data: frame data must be a Uint8Array/],
  ['data as a Float32Array', frame({ data: new Float32Array(4) }), /frame data must be a Uint8Array/],
  [
    'min with two entries for one channel',
    frame({ min: new Float32Array(2) }),
    /min\/max: 2\/1 entries; 1 channels need 1 each/,
  ],
  ['max as a Float64Array', frame({ max: new Float64Array(1) }), /frame\.frame\.max: frame max must be a Float32Array/],
  ['a shape of two numbers', frame({ shape: [2, 2] }), /frame\.frame\.shape\.2: frame channels must be a number/],
  ['a negative shape', frame({ shape: [-2, -2, 1] }), /frame height must not be negative/],
  ['no layerId', frame({ layerId: undefined }), /frame\.frame\.layerId: frame layerId must be a string/],
];

describe('hostile replies', () => {
  it.each(BAD_FRAMES)(
    'a frame with %s fails the pass with the problem and reaches no listener',
    async (_n, bad, expected) => {
      const { outcome, reported, frames } = await analyzeWith((id) => [
        { type: 'frame', id, frame: bad },
        { type: 'done', id, timings, backend: 'wasm' },
      ]);
      expect(outcome).toBeInstanceOf(EngineError);
      expect((outcome as EngineError).message).toMatch(expected);
      expect((outcome as EngineError).message).toMatch(/^malformed engine reply: /);
      expect(reported).toHaveLength(1);
      expect(frames).toEqual([]);
    },
  );

  it('a good frame passes (the checks do not reject what the engine sends)', async () => {
    const { outcome, frames } = await analyzeWith((id) => [
      { type: 'frame', id, frame: frame() },
      { type: 'done', id, timings, backend: 'wasm' },
    ]);
    expect(outcome).toBe('done');
    expect(frames).toHaveLength(1);
  });

  it.each(BAD_FRAMES)(
    'a batch of frames with one %s fails the pass, naming its place, and none is delivered',
    async (_n, bad) => {
      const { outcome, reported, frames } = await analyzeWith((id) => [
        { type: 'frames', id, frames: [frame(), bad, frame({ layerId: 'later' })] },
        { type: 'done', id, timings, backend: 'wasm' },
      ]);
      expect(outcome).toBeInstanceOf(EngineError);
      expect((outcome as EngineError).message).toMatch(/^malformed engine reply: frames\.frames(\.1|\[1\])/);
      expect(reported).toHaveLength(1);
      expect(frames).toEqual([]);
    },
  );

  it('an empty batch of frames is refused; a good batch reaches the listener frame by frame, in order', async () => {
    const empty = await analyzeWith((id) => [
      { type: 'frames', id, frames: [] },
      { type: 'done', id, timings, backend: 'wasm' },
    ]);
    expect((empty.outcome as EngineError).message).toMatch(/empty batch/);
    const good = await analyzeWith((id) => [
      { type: 'frame', id, frame: frame({ layerId: 'a' }) },
      { type: 'frames', id, frames: [frame({ layerId: 'b', index: 1 }), frame({ layerId: 'c', index: 2 })] },
      { type: 'done', id, timings, backend: 'wasm' },
    ]);
    expect(good.outcome).toBe('done');
    expect(good.frames.map((f) => (f as { layerId: string }).layerId)).toEqual(['a', 'b', 'c']);
  });

  it('an image preview whose pixels do not match its size fails the pass', async () => {
    const { outcome } = await analyzeWith((id) => [
      {
        type: 'image',
        id,
        name: 'a.png',
        width: 1,
        height: 1,
        preview: { width: 2, height: 2, data: new Uint8ClampedArray(4) },
      },
    ]);
    expect((outcome as Error).message).toMatch(/image\.preview\.data: 4 bytes; 2×2 RGBA needs 16/);
  });

  it('done with timings as text fails the pass', async () => {
    const { outcome } = await analyzeWith((id) => [
      { type: 'done', id, timings: { ...timings, totalMs: 'fast' }, backend: 'wasm' },
    ]);
    expect((outcome as Error).message).toMatch(/done\.timings\.totalMs: totalMs must be a number/);
  });

  it('an unknown reply type, garbage and a reply for no request are reported, not routed', async () => {
    const port = new ScriptedPort((req) =>
      req.type === 'listModels'
        ? [
            { type: 'surprise', id: req.id },
            null,
            'text',
            { type: 'models', id: 9999, models: [] },
            { type: 'models', id: req.id, models: [] },
          ]
        : [],
    );
    const client = new EngineClient(port);
    const reported: string[] = [];
    client.onError((e) => reported.push(e.message));
    // The unknown type names this request's id, so the request fails with it.
    await expect(client.listModels()).rejects.toThrow(/^malformed engine reply: unknown type 'surprise'$/);
    await new Promise((r) => setTimeout(r, 10));
    expect(reported).toEqual([
      "malformed engine reply: unknown type 'surprise'",
      'malformed engine reply: not an object (null)',
      'malformed engine reply: not an object ("text")',
    ]);
    client.dispose();
  });

  it('a model list with a broken entry fails listModels with the entry named', async () => {
    const port = new ScriptedPort((req) =>
      req.type === 'listModels'
        ? [{ type: 'models', id: req.id, models: [{ id: 'x', name: 'x', source: 'moon' }] }]
        : [],
    );
    const client = new EngineClient(port);
    await expect(client.listModels()).rejects.toThrow(/models\.models\.0\.source: source must be bundled, zoo or user/);
    client.dispose();
  });

  it('channel values of the wrong length fail the request', async () => {
    const port = new ScriptedPort((req) =>
      req.type === 'channel'
        ? [{ type: 'channel', id: req.id, layerId: 'l', channel: 0, shape: [2, 2], values: new Float32Array(3) }]
        : [],
    );
    const client = new EngineClient(port);
    await expect(client.channel('m', 'l', 0)).rejects.toThrow(/channel\.values: 3 values; shape 2×2 needs 4/);
    client.dispose();
  });
});
