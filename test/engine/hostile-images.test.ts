/**
 * Hostile images through the whole protocol (EngineClient ⇄ serveEngine ⇄ Node engine): each is refused
 * with a message naming the file and saying what is wrong, `file` names it for the UI, and the engine
 * still answers `listModels` within 5 s afterwards.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient, EngineError } from '../../common/engine-client';
import type { Engine } from '../../renderer/src/engine/engine';
import { createNodeEngine } from '../../renderer/src/engine/node';
import type { ImageInput, PortLike } from '../../common/engine-protocol';
import { serveEngine } from '../../renderer/src/engine/server';
import { RESOURCES, encodeJpeg, encodePng, fixtureModel } from './helpers';

let engine: Engine;
let channel: MessageChannel;
let client: EngineClient;
let stop: () => void;
let modelId: string;

beforeAll(async () => {
  engine = createNodeEngine({ warmUp: false });
  channel = new MessageChannel();
  stop = serveEngine(channel.port2 as unknown as PortLike, engine);
  client = new EngineClient(channel.port1 as unknown as PortLike);
  await client.hello(RESOURCES, ['wasm']);
  await tf.ready();
  modelId = (await client.loadUserModel((await fixtureModel('hostile')).files)).id;
});

afterAll(async () => {
  client.dispose();
  stop();
  channel.port1.close();
  channel.port2.close();
  await engine.dispose();
});

function pixels(w: number, h: number): Uint8Array {
  const d = new Uint8Array(w * h * 4);
  for (let i = 0; i < d.length; i++) d[i] = i % 4 === 3 ? 255 : (i * 31 + (i >> 7)) & 0xff;
  return d;
}
const enc = (name: string, bytes: ArrayBuffer | Uint8Array): ImageInput => ({
  kind: 'encoded',
  name,
  bytes: bytes instanceof Uint8Array ? (bytes.slice().buffer as ArrayBuffer) : bytes,
});
const png = new Uint8Array(encodePng(40, 30, pixels(40, 30)));
const jpg = new Uint8Array(encodeJpeg(64, 48, pixels(64, 48), 90));
const ascii = (s: string) => new TextEncoder().encode(s);
const withU32 = (b: Uint8Array, at: number, v: number) => {
  const c = b.slice();
  new DataView(c.buffer).setUint32(at, v);
  return c;
};
/** A JPEG cut at `fraction` of its scan data, with the end-of-image marker appended (passes the EOI check). */
function cutJpegWithEoi(fraction: number): Uint8Array {
  let sos = 2;
  while (!(jpg[sos] === 0xff && jpg[sos + 1] === 0xda)) sos += 2 + ((jpg[sos + 2] << 8) | jpg[sos + 3]);
  const keep = sos + Math.floor((jpg.length - sos) * fraction);
  return new Uint8Array([...jpg.subarray(0, keep), 0xff, 0xd9]);
}

const CASES: [string, ImageInput, RegExp][] = [
  ['an empty file', enc('empty.png', new ArrayBuffer(0)), /^empty\.png: the file is empty \(0 bytes\)$/],
  [
    'one byte',
    enc('one.jpg', new Uint8Array([0xff])),
    /^one\.jpg: not an image; it looks like unrecognised data \(first bytes ff\)$/,
  ],
  [
    'a text file',
    enc('notes.png', ascii('just some notes\n')),
    /^notes\.png: not an image; it looks like a text file$/,
  ],
  [
    'a JSON file',
    enc('model.png', ascii('{"format":"layers-model"}')),
    /^model\.png: not an image; it looks like a JSON file$/,
  ],
  ['a PDF', enc('scan.jpg', ascii('%PDF-1.7\n')), /^scan\.jpg: not an image; it looks like a PDF document$/],
  [
    'a ZIP',
    enc('photos.png', new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0])),
    /^photos\.png: not an image; it looks like a ZIP archive$/,
  ],
  [
    'an HDF5 file',
    enc('weights.png', new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a])),
    /^weights\.png: not an image; it looks like an HDF5 file/,
  ],
  [
    'an SVG',
    enc('logo.png', ascii('<svg xmlns="http://www.w3.org/2000/svg"/>')),
    /^logo\.png: not an image; it looks like an XML\/SVG document/,
  ],
  ['a PNG signature alone', enc('sig.png', png.subarray(0, 8)), /^sig\.png: the PNG data is truncated/],
  [
    'a PNG cut at 60 %',
    enc('cut.png', png.subarray(0, Math.floor(png.length * 0.6))),
    /^cut\.png: the PNG data is truncated \(no IEND chunk at the end\)$/,
  ],
  [
    'a PNG with damaged image data',
    enc(
      'corrupt.png',
      (() => {
        const c = png.slice();
        const i = Buffer.from(c).indexOf('IDAT');
        for (let k = i + 6; k < i + 14; k++) c[k] ^= 0xff;
        return c;
      })(),
    ),
    /^corrupt\.png: the PNG data is corrupt/,
  ],
  [
    'a PNG claiming 100000×100000',
    enc('huge.png', withU32(withU32(png, 16, 100000), 20, 100000)),
    /^huge\.png: 100000×100000 pixels \(10000\.0 megapixels\) is over the 50-megapixel limit/,
  ],
  ['a PNG claiming 0×30', enc('zero.png', withU32(png, 16, 0)), /^zero\.png: the PNG header gives a size of 0 pixels$/],
  [
    'a JPEG cut without an end marker',
    enc('cut.jpg', jpg.subarray(0, Math.floor(jpg.length * 0.7))),
    /^cut\.jpg: the JPEG data is truncated \(no end-of-image marker after the image data\)$/,
  ],
  [
    'a JPEG cut with an end marker appended',
    enc('eoi.jpg', cutJpegWithEoi(0.5)),
    /^eoi\.jpg: the JPEG data is corrupt/,
  ],
  [
    'a JPEG header without scan data',
    enc('head.jpg', jpg.subarray(0, 20)),
    /^head\.jpg: the JPEG data is truncated \(no image data/,
  ],
  [
    'a JPEG with a broken quantization table',
    enc(
      'dqt.jpg',
      (() => {
        const c = jpg.slice();
        c[Buffer.from(c).indexOf(Buffer.from([0xff, 0xdb])) + 1] = 0;
        return c;
      })(),
    ),
    /^dqt\.jpg: the JPEG data is corrupt/,
  ],
  [
    'a GIF (browser-only format)',
    enc('anim.gif', new Uint8Array([...ascii('GIF89a'), 4, 0, 4, 0, 0, 0, 0, 0x3b])),
    /^anim\.gif: GIF images are decoded in the app only/,
  ],
  [
    'a truncated BMP',
    enc(
      'cut.bmp',
      new Uint8Array([
        0x42, 0x4d, 0, 1, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 0, 24, 0,
      ]),
    ),
    /^cut\.bmp: the BMP data is truncated \(30 of 256 bytes\)$/,
  ],
  [
    'a truncated WebP',
    enc('cut.webp', new Uint8Array([...ascii('RIFF'), 0, 1, 0, 0, ...ascii('WEBPVP8 '), 0, 0, 0, 0])),
    /^cut\.webp: the WEBP data is truncated \(20 of 264 bytes\)$/,
  ],
  [
    'RGBA data a byte short',
    { kind: 'rgba', name: 'short.rgba', width: 4, height: 4, data: new Uint8ClampedArray(63) },
    /short\.rgba|63 bytes; 4×4 RGBA needs 64/,
  ],
  [
    'RGBA over the pixel limit',
    { kind: 'rgba', name: 'big.rgba', width: 9000, height: 9000, data: new Uint8ClampedArray(4) },
    /over the 50-megapixel limit/,
  ],
];

describe('hostile images', () => {
  it.each(CASES)('%s: refused with the file named, and the engine answers afterwards', async (_n, image, expected) => {
    const err = await client.analyze({ modelId, image }).done.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).message).toMatch(expected);
    if (image.kind === 'encoded') expect((err as EngineError).file).toBe(image.name);
    const t0 = Date.now();
    expect((await client.listModels()).length).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('after all of them a good image still runs through the model', async () => {
    const run = client.analyze({ modelId, image: enc('good.png', png) });
    await expect(run.done).resolves.toMatchObject({ backend: 'wasm' });
  });
});
