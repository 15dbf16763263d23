/**
 * Every bad input the issue lists, with generated fixtures: each gets a clear message naming the
 * file and the problem, the engine stays alive, and the model and image loaded before stay loaded.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, type Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine } from '../../renderer/src/engine/node';
import type { ImageInput, UserModelFiles } from '../../common/engine-protocol';
import {
  FIX,
  RESOURCES,
  collector,
  encodeJpeg,
  encodePng,
  fixtureModel,
  fixturePixels,
  modelFiles,
  type FixtureModel,
} from './helpers';

let engine: Engine;
let fix: FixtureModel;
let modelId: string;
let weights: ArrayBuffer;
const goodImage: ImageInput = { kind: 'rgba', name: 'good.rgba', width: FIX.W, height: FIX.H, data: fixturePixels() };

/** A plain 16×12 gradient. */
function pixels(w = 16, h = 12): Uint8Array {
  const px = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) px.set([(i * 7) % 256, (i * 3) % 256, 128, 255], i * 4);
  return px;
}
const encoded = (name: string, bytes: ArrayBuffer | Uint8Array): ImageInput => ({
  kind: 'encoded',
  name,
  bytes: bytes instanceof Uint8Array ? (bytes.slice().buffer as ArrayBuffer) : bytes,
});

/** The model and the last image still work, and nothing leaked. */
async function stillAlive(tensorsBefore: number) {
  expect(engine.loadedModelIds()).toContain(modelId);
  const { frames, sink } = collector();
  await engine.analyze({ modelId, image: goodImage }, sink);
  expect(frames).toHaveLength(4);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
}

async function expectImageError(image: ImageInput, pattern: RegExp) {
  const before = tf.memory().numTensors;
  const err = await engine.analyze({ modelId, image }, collector().sink).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).message).toMatch(pattern);
  expect((err as InputError).message.startsWith(`${image.name}: `)).toBe(true);
  expect((err as InputError).file).toBe(image.name);
  await stillAlive(before);
}

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  await engine.hello(RESOURCES, ['wasm']);
  fix = await fixtureModel('good');
  weights = fix.files.files.find((f) => f.path === 'weights.bin')!.bytes;
  modelId = (await engine.loadUserModel(fix.files)).id;
  await engine.analyze({ modelId, image: goodImage }, collector().sink);
});

afterAll(() => engine.dispose());

describe('bad images', () => {
  const png = encodePng(16, 12, pixels());

  it('decodes a good PNG and JPEG (the fixtures themselves are fine)', async () => {
    for (const img of [encoded('ok.png', png), encoded('ok.jpg', encodeJpeg(16, 12, pixels()))]) {
      const c = collector();
      await engine.analyze({ modelId, image: img }, c.sink);
      expect(c.images[0]).toMatchObject({ width: 16, height: 12 });
    }
  });

  it('refuses a zero-byte file', () =>
    expectImageError(encoded('empty.png', new ArrayBuffer(0)), /the file is empty \(0 bytes\)/));

  it('refuses a truncated PNG and a truncated JPEG', async () => {
    await expectImageError(encoded('cut.png', png.slice(0, Math.floor(png.byteLength * 0.6))), /PNG data is truncated/);
    const jpg = encodeJpeg(64, 48, pixels(64, 48));
    await expectImageError(
      encoded('cut.jpg', jpg.slice(0, Math.floor(jpg.byteLength * 0.7))),
      /JPEG data is truncated/,
    );
  });

  it('refuses a corrupt PNG (damaged image data) and a corrupt JPEG (damaged header)', async () => {
    const bad = new Uint8Array(png.slice(0));
    // Flip bytes inside the IDAT chunk: its CRC no longer matches.
    const idat = Buffer.from(bad).indexOf('IDAT');
    for (let i = idat + 6; i < idat + 14; i++) bad[i] ^= 0xff;
    await expectImageError(encoded('corrupt.png', bad), /PNG data is corrupt/);
    const jpg = new Uint8Array(encodeJpeg(16, 12, pixels()));
    // Destroy the quantization table marker segment (the first FFDB): the decoder cannot go on.
    const dqt = Buffer.from(jpg).indexOf(Buffer.from([0xff, 0xdb]));
    jpg[dqt + 1] = 0x00;
    await expectImageError(encoded('corrupt.jpg', jpg), /the JPEG data is corrupt \(unknown JPEG marker/);
  });

  it('refuses files that are not images, saying what they look like', async () => {
    await expectImageError(
      encoded('notes.png', new TextEncoder().encode('hello, this is text\n')),
      /not an image; it looks like a text file/,
    );
    await expectImageError(
      encoded('doc.jpg', new TextEncoder().encode('%PDF-1.7\n%\u00e2\u00e3')),
      /not an image; it looks like a PDF document/,
    );
    await expectImageError(
      encoded('random.bin', new Uint8Array([0, 1, 2, 3, 250, 251, 252, 253])),
      /not an image; it looks like unrecognised data \(first bytes 00 01 02 03\)/,
    );
  });

  it('refuses an image over 50 megapixels from its header, before decoding', async () => {
    // A PNG header claiming 10000 × 6000 pixels, with no pixel data at all: refused on the header alone.
    const head = new Uint8Array(png.slice(0, 33));
    new DataView(head.buffer).setUint32(16, 10000);
    new DataView(head.buffer).setUint32(20, 6000);
    await expectImageError(
      encoded('huge.png', head),
      /10000×6000 pixels \(60\.0 megapixels\) is over the 50-megapixel limit/,
    );
    await expectImageError(
      { kind: 'rgba', name: 'huge.rgba', width: 8000, height: 7000, data: new Uint8ClampedArray(8000 * 7000 * 4) },
      /over the 50-megapixel limit/,
    );
  });

  it('refuses RGBA data whose length does not match its size', () =>
    expectImageError(
      { kind: 'rgba', name: 'odd.rgba', width: 4, height: 4, data: new Uint8ClampedArray(10) },
      /does not match 4×4 pixels/,
    ));
});

describe('bad models', () => {
  const json = () =>
    structuredClone(fix.json) as {
      modelTopology: { config: { layers: { class_name: string; config: { name: string } }[] } };
      weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
    };

  async function expectModelError(files: UserModelFiles, pattern: RegExp, file?: string) {
    const before = tf.memory().numTensors;
    const err = await engine.loadUserModel(files).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(pattern);
    if (file) expect((err as InputError).file).toBe(file);
    expect(engine.loadedModelIds()).not.toContain(`user:${files.name}`);
    await stillAlive(before);
  }

  it('a missing weight shard', async () => {
    const j = json();
    j.weightsManifest[0].paths = ['weights.bin', 'weights2.bin'];
    await expectModelError(
      modelFiles('missing', j, { 'weights.bin': weights }),
      /model\.json: weight file 'weights2\.bin' listed in weightsManifest is missing/,
      'weights2.bin',
    );
  });

  it('a shard with the wrong byte length', async () => {
    await expectModelError(
      modelFiles('short', json(), { 'weights.bin': weights.slice(0, weights.byteLength - 8) }),
      new RegExp(
        `weights\\.bin: ${weights.byteLength - 8} bytes, but model\\.json's weightsManifest describes ${weights.byteLength} bytes`,
      ),
      'weights.bin',
    );
  });

  it('weight shapes that do not match the layers', async () => {
    const j = json();
    // Same number of values (so the byte check passes), wrong layout for the conv kernel.
    j.weightsManifest[0].weights[0].shape = [3, 3, FIX.F, FIX.C];
    await expectModelError(
      modelFiles('shapes', j, { 'weights.bin': weights }),
      /model\.json: weight 'conv\/kernel' has shape \[3, 3, 4, 3\] in the file, but layer 'conv' needs \[3, 3, 3, 4\]/,
    );
  });

  it('weight paths that escape the model folder', async () => {
    for (const p of ['../weights.bin', '/etc/passwd', 'sub/../../weights.bin', 'https://example.com/w.bin']) {
      const j = json();
      j.weightsManifest[0].paths = [p];
      await expectModelError(
        modelFiles('escape', j, { 'weights.bin': weights }),
        /weight path '.*' escapes the model's folder/,
      );
    }
  });

  it('a layer class tfjs does not know', async () => {
    const j = json();
    j.modelTopology.config.layers[1].class_name = 'FancyPooling';
    await expectModelError(
      modelFiles('custom', j, { 'weights.bin': weights }),
      /model\.json: layer "pool" has class FancyPooling, which Feature Map Explorer does not know/,
    );
  });

  it('a model.json that is not JSON, not a tfjs model, or absent', async () => {
    const text = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
    await expectModelError(
      { name: 'broken', files: [{ path: 'model.json', bytes: text('{"modelTopology": ') }] },
      /^broken\/model\.json: not valid JSON/,
    );
    await expectModelError(
      { name: 'other', files: [{ path: 'model.json', bytes: text('{"hello": 1}') }] },
      /^other\/model\.json: a JSON file, not a model this app opens/,
    );
    await expectModelError(
      { name: 'none', files: [{ path: 'weights.bin', bytes: weights }] },
      /^none\/weights\.bin: binary data of an unknown kind, not a model this app opens/,
    );
    await expectModelError(
      { name: 'keras', files: [{ path: 'model.h5', bytes: weights }] },
      /^keras\/model\.h5: binary data of an unknown kind, not a model this app opens/,
    );
  });

  it('loads the same model from a sub-folder path and keeps the good one loaded', async () => {
    const files = { name: 'nested', files: fix.files.files.map((f) => ({ ...f, path: `export/${f.path}` })) };
    const s = await engine.loadUserModel(files);
    expect(s.frameOrder).toEqual(['conv', 'pool', 'flat', 'dense']);
    expect(engine.loadedModelIds()).toEqual(expect.arrayContaining([modelId, 'user:nested']));
  });
});
