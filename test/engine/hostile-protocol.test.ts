/**
 * Hostile engine-protocol messages: wrong types, missing fields, huge ids, typed arrays of the wrong kind
 * or length, unknown types. Each is answered with an `error` reply naming the problem (and the request's
 * id when it has a usable one), and the engine still answers `listModels` within 5 s afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../../common/engine-client';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine } from '../../renderer/src/engine/node';
import type { EngineReply, PortLike } from '../../common/engine-protocol';
import { serveEngine } from '../../renderer/src/engine/server';
import { RESOURCES } from './helpers';

let engine: Engine;
let channel: MessageChannel;
let client: EngineClient;
let stop: () => void;

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  channel = new MessageChannel();
  // Not a test engine: the test hooks must be refused too.
  stop = serveEngine(channel.port2 as unknown as PortLike, engine);
  client = new EngineClient(channel.port1 as unknown as PortLike);
  await client.hello(RESOURCES, ['wasm']);
});

afterAll(async () => {
  client.dispose();
  stop();
  channel.port1.close();
  channel.port2.close();
  await engine.dispose();
});

/** Sends a raw message and resolves with the engine's next error reply. */
function errorFor(message: unknown, transfer: Transferable[] = []): Promise<Extract<EngineReply, { type: 'error' }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no error reply within 5 s')), 5000);
    const onMessage = (ev: MessageEvent) => {
      const r = ev.data as EngineReply;
      if (r.type !== 'error') return;
      clearTimeout(timer);
      channel.port1.removeEventListener('message', onMessage);
      resolve(r);
    };
    channel.port1.addEventListener('message', onMessage);
    channel.port1.postMessage(message, transfer as never);
  });
}

/** The engine is still there: listModels answers within 5 s. */
async function stillAnswers(): Promise<void> {
  const t0 = Date.now();
  const models = await Promise.race([
    client.listModels(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('listModels: no answer in 5 s')), 5000)),
  ]);
  expect(models.length).toBeGreaterThan(0);
  expect(Date.now() - t0).toBeLessThan(5000);
}

const px = (w: number, h: number, n = w * h * 4) => new Uint8ClampedArray(n);
const analyze = (image: unknown, extra: object = {}) => ({ type: 'analyze', id: 7, modelId: 'm', image, ...extra });

const CASES: [string, unknown, RegExp][] = [
  ['null', null, /^malformed engine request: not an object \(null\)$/],
  ['a string', 'listModels', /not an object \("listModels"\)/],
  ['an array', [1, 2], /not an object \(\[1,2\]\)/],
  ['a number', 42, /not an object \(42\)/],
  ['no type', { id: 1 }, /unknown type undefined/],
  ['an unknown type', { type: 'explode', id: 1 }, /unknown type 'explode'$/],
  ['a prototype key as type', { type: 'constructor', id: 1 }, /unknown type 'constructor'/],
  ['a numeric type', { type: 3, id: 1 }, /unknown type 3/],
  ['a missing id', { type: 'listModels' }, /^malformed engine request: listModels\.id: missing$/],
  ['a string id', { type: 'listModels', id: '1' }, /listModels\.id: id must be a number/],
  ['a huge id', { type: 'listModels', id: 2 ** 60 }, /listModels\.id: id must be a safe integer/],
  ['a negative id', { type: 'listModels', id: -1 }, /id must not be negative/],
  ['a fractional id', { type: 'listModels', id: 1.5 }, /id must be an integer/],
  ['an infinite id', { type: 'listModels', id: Infinity }, /listModels\.id: id must be an integer/],
  ['NaN as id', { type: 'listModels', id: NaN }, /listModels\.id: id must be a number/],
  ['loadModel without modelId', { type: 'loadModel', id: 1 }, /loadModel\.modelId: missing/],
  ['an empty modelId', { type: 'loadModel', id: 1, modelId: '' }, /modelId must not be empty/],
  ['a 5000-character modelId', { type: 'loadModel', id: 1, modelId: 'x'.repeat(5000) }, /at most 4096 characters/],
  ['a modelId object', { type: 'loadModel', id: 1, modelId: { toString: null } }, /modelId must be a string/],
  [
    'a user model without files',
    { type: 'loadUserModel', id: 1, model: { name: 'm', files: [] } },
    /at least one file/,
  ],
  [
    'a user model with files as an object',
    { type: 'loadUserModel', id: 1, model: { name: 'm', files: {} } },
    /loadUserModel\.model\.files: files must be an array/,
  ],
  [
    'a user model file as text',
    { type: 'loadUserModel', id: 1, model: { name: 'm', files: [{ path: 'model.json', bytes: '{}' }] } },
    /loadUserModel\.model\.files\.0\.bytes: file bytes must be an ArrayBuffer/,
  ],
  [
    'a user model file as a Uint8Array',
    { type: 'loadUserModel', id: 1, model: { name: 'm', files: [{ path: 'model.json', bytes: new Uint8Array(4) }] } },
    /file bytes must be an ArrayBuffer/,
  ],
  [
    'an image kind svg',
    analyze({ kind: 'svg', name: 'a.svg' }),
    /analyze\.image\.kind: image\.kind must be encoded or rgba/,
  ],
  ['an image without a name', analyze({ kind: 'encoded', bytes: new ArrayBuffer(4) }), /analyze\.image\.name: missing/],
  [
    'encoded bytes as a string',
    analyze({ kind: 'encoded', name: 'a.png', bytes: 'PNG' }),
    /image bytes must be an ArrayBuffer/,
  ],
  [
    'RGBA data too short',
    analyze({ kind: 'rgba', name: 'a.png', width: 4, height: 4, data: px(4, 4, 60) }),
    /^malformed engine request: analyze\.image\.data: 60 bytes; 4×4 RGBA needs 64$/,
  ],
  [
    'RGBA data too long',
    analyze({ kind: 'rgba', name: 'a.png', width: 2, height: 2, data: px(2, 2, 17) }),
    /17 bytes; 2×2 RGBA needs 16/,
  ],
  [
    'RGBA data as a Uint8Array',
    analyze({ kind: 'rgba', name: 'a.png', width: 1, height: 1, data: new Uint8Array(4) }),
    /analyze\.image\.data: image data must be a Uint8ClampedArray/,
  ],
  [
    'RGBA data as a Float32Array',
    analyze({ kind: 'rgba', name: 'a.png', width: 1, height: 1, data: new Float32Array(4) }),
    /image data must be a Uint8ClampedArray/,
  ],
  [
    'RGBA data as a plain array',
    analyze({ kind: 'rgba', name: 'a.png', width: 1, height: 1, data: [0, 0, 0, 0] }),
    /image data must be a Uint8ClampedArray/,
  ],
  [
    'RGBA 100000 wide',
    analyze({ kind: 'rgba', name: 'a.png', width: 100_000, height: 1, data: px(1, 1) }),
    /image width must be at most 65535/,
  ],
  [
    'RGBA zero high',
    analyze({ kind: 'rgba', name: 'a.png', width: 4, height: 0, data: px(1, 1) }),
    /image height must be at least 1/,
  ],
  [
    'RGBA over the pixel limit',
    analyze({ kind: 'rgba', name: 'a.png', width: 10_000, height: 10_000, data: px(1, 1) }),
    /analyze\.image: 10000×10000 is over the 50-megapixel limit/,
  ],
  [
    'a negative maxSide',
    analyze({ kind: 'encoded', name: 'a.png', bytes: new ArrayBuffer(1) }, { maxSide: -1 }),
    /analyze\.maxSide: maxSide must not be negative/,
  ],
  [
    'an unknown resize',
    analyze({ kind: 'encoded', name: 'a.png', bytes: new ArrayBuffer(1) }, { resize: 'zoom' }),
    /resize must be center-crop, letterbox or stretch/,
  ],
  [
    'keepOthers as a string',
    analyze({ kind: 'encoded', name: 'a.png', bytes: new ArrayBuffer(1) }, { keepOthers: 'yes' }),
    /keepOthers must be a boolean/,
  ],
  [
    'a preprocess mean of two numbers',
    analyze({ kind: 'encoded', name: 'a.png', bytes: new ArrayBuffer(1) }, { preprocess: { mean: [1, 2] } }),
    /analyze\.preprocess\.mean\.2: mean must be a number/,
  ],
  [
    'a preprocess scale of Infinity',
    analyze({ kind: 'encoded', name: 'a.png', bytes: new ArrayBuffer(1) }, { preprocess: { scale: Infinity } }),
    /scale must be finite/,
  ],
  [
    'a channel of NaN',
    { type: 'channel', id: 1, modelId: 'm', layerId: 'l', channel: NaN },
    /channel\.channel: channel must be a number/,
  ],
  [
    'a negative channel',
    { type: 'channel', id: 1, modelId: 'm', layerId: 'l', channel: -3 },
    /channel must not be negative/,
  ],
  ['cancel without target', { type: 'cancel', id: 1 }, /cancel\.target: missing/],
  [
    'an unknown backend',
    { type: 'setBackend', id: 1, backend: 'cuda' },
    /setBackend\.backend: backend must be webgl, wasm or cpu/,
  ],
  [
    'hello preferring metal',
    { type: 'hello', id: 1, resourcesBase: '/', prefer: ['metal'] },
    /hello\.prefer\.0: backend must be/,
  ],
  ['hello without resourcesBase', { type: 'hello', id: 1 }, /hello\.resourcesBase: missing/],
  [
    'debugSpin on a product engine',
    { type: 'debugSpin', id: 1, ms: 10_000 },
    /^debugSpin is a test hook; this engine was not started for tests$/,
  ],
  ['debugSpin for a year', { type: 'debugSpin', id: 1, ms: 3e10 }, /debugSpin\.ms: ms must be at most 600000/],
  ['debugExit on a product engine', { type: 'debugExit', id: 1 }, /^debugExit is a test hook/],
  ['an unknown model', { type: 'loadModel', id: 1, modelId: 'no-such-model' }, /unknown model 'no-such-model'/],
  ['a channel of a model never loaded', { type: 'channel', id: 1, modelId: 'nope', layerId: 'l', channel: 0 }, /nope/],
  ['predict with a model never loaded', { type: 'predict', id: 1, modelId: 'nope' }, /nope/],
];

describe('hostile engine-protocol messages', () => {
  it.each(CASES)(
    '%s: an error naming the problem, and the engine answers afterwards',
    async (_name, message, expected) => {
      const reply = await errorFor(message);
      expect(reply.message).toMatch(expected);
      await stillAnswers();
    },
  );

  it('the error carries the request id when it is usable, null when not', async () => {
    expect((await errorFor({ type: 'loadModel', id: 41 })).id).toBe(41);
    expect((await errorFor({ type: 'loadModel', id: -4 })).id).toBeNull();
    expect((await errorFor({ type: 'nope', id: 42 })).id).toBe(42);
    expect((await errorFor(undefined)).id).toBeNull();
  });

  it('a transferred buffer of the wrong kind is refused and the engine still answers', async () => {
    const buf = new ArrayBuffer(64);
    const reply = await errorFor(
      analyze({ kind: 'rgba', name: 't.png', width: 4, height: 4, data: new Float64Array(buf) }),
      [buf],
    );
    expect(reply.message).toMatch(/image data must be a Uint8ClampedArray/);
    await stillAnswers();
  });

  it('a burst of 500 malformed messages leaves the engine answering', async () => {
    let errors = 0;
    const onMessage = (ev: MessageEvent) => {
      if ((ev.data as EngineReply).type === 'error') errors++;
    };
    channel.port1.addEventListener('message', onMessage);
    for (let i = 0; i < 500; i++)
      // Ids far from the client's own, so these errors cannot be taken for its listModels' answer.
      channel.port1.postMessage({ type: i % 2 ? 'analyze' : `bogus-${i}`, id: 1e9 + i });
    await stillAnswers();
    channel.port1.removeEventListener('message', onMessage);
    expect(errors).toBe(500);
  });
});
