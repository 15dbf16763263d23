/**
 * Preprocessing, image headers and quantization: pure functions, checked against independent
 * computations (tfjs's own resizeBilinear for the nsfwjs resize, hand-made headers and pixel grids).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkImageBytes, readExifOrientation, readImageHeader } from '../../common/image-header';
import { applyOrientation, prepareInput, resizeGeometry, type RgbaImage } from '../../renderer/src/engine/preprocess';
import type { Preprocess } from '../../common/engine-protocol';
import { frameShape, pooledSize, quantizeNHWC } from '../../renderer/src/engine/quantize';
import { encodeJpeg, encodePng, seeded } from './helpers';

const unit: Preprocess = {
  inputSize: [4, 4],
  resize: 'stretch',
  channelOrder: 'rgb',
  scale: 1,
  offset: 0,
  mean: [0, 0, 0],
  std: [1, 1, 1],
};

function image(w: number, h: number, f: (x: number, y: number) => [number, number, number, number]): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(f(x, y), (y * w + x) * 4);
  return { width: w, height: h, data };
}

beforeAll(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

describe('prepareInput', () => {
  it("stretch equals nsfwjs' preprocessing: pixel / 255, tf.image.resizeBilinear with alignCorners", () => {
    const r = seeded(37 * 23 * 4, 5);
    const img = image(37, 23, (x, y) => {
      const i = (y * 37 + x) * 4;
      return [(r[i] + 1) * 127, (r[i + 1] + 1) * 127, (r[i + 2] + 1) * 127, 255];
    });
    const pre: Preprocess = { ...unit, inputSize: [11, 16] };
    const got = prepareInput(img, pre);
    const want = tf.tidy(() => {
      const rgb = tf.tensor3d(Int32Array.from(img.data), [23, 37, 4], 'int32').slice([0, 0, 0], [23, 37, 3]);
      return tf.image.resizeBilinear(rgb.toFloat().div(255) as tf.Tensor3D, [11, 16], true).dataSync();
    });
    expect(got.values.length).toBe(11 * 16 * 3);
    for (let i = 0; i < want.length; i++) expect(got.values[i]).toBeCloseTo(want[i], 5);
  });

  it('center-crop takes the middle of the image; letterbox pads with black', () => {
    // 8 × 4 image: left half red, right half blue, a green column band in the middle.
    const img = image(8, 4, (x) =>
      x === 3 || x === 4 ? [0, 255, 0, 255] : x < 4 ? [255, 0, 0, 255] : [0, 0, 255, 255],
    );
    expect(resizeGeometry(8, 4, 4, 4, 'center-crop')).toEqual({ src: [2, 0, 4, 4], dst: [0, 0, 4, 4] });
    const crop = prepareInput(img, unit, 'center-crop');
    // Columns 2..5 of the source: red, green, green, blue.
    const px = (p: ReturnType<typeof prepareInput>, x: number, y: number) => [
      ...p.values.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3),
    ];
    expect(px(crop, 0, 0)).toEqual([1, 0, 0]);
    expect(px(crop, 1, 2)).toEqual([0, 1, 0]);
    expect(px(crop, 3, 3)).toEqual([0, 0, 1]);
    expect(resizeGeometry(8, 4, 4, 4, 'letterbox')).toEqual({ src: [0, 0, 8, 4], dst: [0, 1, 4, 2] });
    const box = prepareInput(img, unit, 'letterbox');
    expect(px(box, 0, 0)).toEqual([0, 0, 0]);
    expect(px(box, 3, 3)).toEqual([0, 0, 0]);
    expect(px(box, 0, 1)).toEqual([1, 0, 0]);
    expect(px(box, 3, 2)).toEqual([0, 0, 1]);
    expect([...box.preview.subarray(0, 4)]).toEqual([0, 0, 0, 255]);
  });

  it('composites alpha on white, applies channel order and mean / std, and makes grey inputs', () => {
    const img = image(4, 4, () => [200, 100, 0, 128]);
    // a = 128/255: c' = c·a + 255·(1 − a)
    const a = 128 / 255;
    const comp = [200 * a + 255 * (1 - a), 100 * a + 255 * (1 - a), 255 * (1 - a)];
    const p = prepareInput(img, unit);
    expect([...p.values.subarray(0, 3)].map((v) => v * 255)).toEqual(comp.map((v) => expect.closeTo(v, 3)));
    expect([...p.preview.subarray(0, 4)]).toEqual([...comp.map(Math.round), 255]);
    const caffe = prepareInput(img, { ...unit, channelOrder: 'bgr', scale: 255, mean: [10, 20, 30], std: [2, 4, 5] });
    expect([...caffe.values.subarray(0, 3)]).toEqual(
      [(comp[2] - 10) / 2, (comp[1] - 20) / 4, (comp[0] - 30) / 5].map((v) => expect.closeTo(v, 3)),
    );
    expect([...caffe.preview.subarray(0, 3)]).toEqual(comp.map(Math.round)); // the preview stays RGB
    const grey = prepareInput(img, { ...unit, channels: 1, scale: 2, offset: -1 });
    expect(grey.values.length).toBe(16);
    expect(grey.values[0]).toBeCloseTo(((0.299 * comp[0] + 0.587 * comp[1] + 0.114 * comp[2]) / 255) * 2 - 1, 5);
  });
});

describe('EXIF orientation', () => {
  // A 3 × 2 image whose pixels are numbered 1..6 in reading order (value in the red channel).
  const src = image(3, 2, (x, y) => [1 + y * 3 + x, 0, 0, 255]);
  const read = (img: RgbaImage) => {
    const rows: number[][] = [];
    for (let y = 0; y < img.height; y++)
      rows.push([...Array(img.width)].map((_, x) => img.data[(y * img.width + x) * 4]));
    return rows;
  };
  // What a viewer shows for each orientation tag, for stored pixels [[1,2,3],[4,5,6]].
  const expected: Record<number, number[][]> = {
    1: [
      [1, 2, 3],
      [4, 5, 6],
    ],
    2: [
      [3, 2, 1],
      [6, 5, 4],
    ],
    3: [
      [6, 5, 4],
      [3, 2, 1],
    ],
    4: [
      [4, 5, 6],
      [1, 2, 3],
    ],
    5: [
      [1, 4],
      [2, 5],
      [3, 6],
    ],
    6: [
      [4, 1],
      [5, 2],
      [6, 3],
    ],
    7: [
      [6, 3],
      [5, 2],
      [4, 1],
    ],
    8: [
      [3, 6],
      [2, 5],
      [1, 4],
    ],
  };
  for (const [o, rows] of Object.entries(expected)) {
    it(`orientation ${o}`, () => expect(read(applyOrientation(src, Number(o)))).toEqual(rows));
  }

  it('is read from a JPEG APP1 Exif block (both byte orders)', () => {
    const jpg = new Uint8Array(encodeJpeg(8, 4, new Uint8Array(8 * 4 * 4).fill(90)));
    for (const le of [true, false]) {
      const tiff = new Uint8Array(26);
      const dv = new DataView(tiff.buffer);
      tiff.set(le ? [0x49, 0x49] : [0x4d, 0x4d]);
      dv.setUint16(2, 42, le);
      dv.setUint32(4, 8, le);
      dv.setUint16(8, 1, le); // one IFD entry
      dv.setUint16(10, 0x0112, le);
      dv.setUint16(12, 3, le); // SHORT
      dv.setUint32(14, 1, le);
      dv.setUint16(18, 6, le);
      expect(readExifOrientation(tiff)).toBe(6);
      const app1 = new Uint8Array(4 + 6 + tiff.length);
      app1.set([0xff, 0xe1, (app1.length - 2) >> 8, (app1.length - 2) & 255]);
      app1.set(new TextEncoder().encode('Exif\0\0'), 4);
      app1.set(tiff, 10);
      const withExif = new Uint8Array(jpg.length + app1.length);
      withExif.set(jpg.subarray(0, 2));
      withExif.set(app1, 2);
      withExif.set(jpg.subarray(2), 2 + app1.length);
      expect(readImageHeader(withExif)).toEqual({ format: 'jpeg', width: 8, height: 4, orientation: 6 });
    }
  });
});

describe('image headers', () => {
  it('reads the size of PNG, JPEG, GIF, BMP and WebP headers', () => {
    const png = new Uint8Array(encodePng(7, 5, new Uint8Array(7 * 5 * 4)));
    expect(readImageHeader(png)).toEqual({ format: 'png', width: 7, height: 5, orientation: 1 });
    expect(readImageHeader(new Uint8Array(encodeJpeg(9, 3, new Uint8Array(9 * 3 * 4))))).toMatchObject({
      format: 'jpeg',
      width: 9,
      height: 3,
    });
    const gif = new Uint8Array([...new TextEncoder().encode('GIF89a'), 300 & 255, 300 >> 8, 20, 0]);
    expect(readImageHeader(gif)).toMatchObject({ format: 'gif', width: 300, height: 20 });
    const bmp = new Uint8Array(54);
    const dv = new DataView(bmp.buffer);
    bmp.set([0x42, 0x4d]);
    dv.setUint32(14, 40, true);
    dv.setInt32(18, 640, true);
    dv.setInt32(22, -480, true); // top-down
    expect(readImageHeader(bmp)).toMatchObject({ format: 'bmp', width: 640, height: 480 });
    const webp = new Uint8Array(30);
    webp.set(new TextEncoder().encode('RIFF'));
    webp.set(new TextEncoder().encode('WEBPVP8X'), 8);
    webp.set([1999 & 255, 1999 >> 8, 0, 99, 0, 0], 24); // width − 1, height − 1 as 24-bit
    expect(readImageHeader(webp)).toMatchObject({ format: 'webp', width: 2000, height: 100 });
  });

  it('refuses a 0×0 header and lets unknown formats through only where the browser may know them', () => {
    const png = new Uint8Array(encodePng(1, 1, new Uint8Array(4)));
    new DataView(png.buffer).setUint32(16, 0);
    expect(() => checkImageBytes('zero.png', png, false)).toThrow('zero.png: the PNG header gives a size of 0 pixels');
    const odd = new Uint8Array([1, 2, 3, 4, 5]);
    expect(() => checkImageBytes('x.ico', odd, false)).toThrow(/x\.ico: not an image/);
    expect(checkImageBytes('x.ico', odd, true).format).toBe('unknown');
  });
});

describe('quantizeNHWC', () => {
  it('packs channel-major with a range per channel, to within half a step', () => {
    const H = 3,
      W = 5,
      C = 4;
    const v = seeded(H * W * C, 9).map((x, i) => x * (1 + (i % C)) + (i % C) * 10);
    const q = quantizeNHWC(v, H, W, C);
    expect(q.shape).toEqual([H, W, C]);
    for (let c = 0; c < C; c++) {
      const vals = [...Array(H * W)].map((_, p) => v[p * C + c]);
      expect(q.min[c]).toBe(Math.fround(Math.min(...vals)));
      expect(q.max[c]).toBe(Math.fround(Math.max(...vals)));
      const step = (q.max[c] - q.min[c]) / 255;
      vals.forEach((x, p) => {
        expect(Math.abs(q.min[c] + q.data[c * H * W + p] * step - x)).toBeLessThanOrEqual(step / 2 + 1e-6);
      });
      // The extremes map to 0 and 255.
      expect(Math.min(...q.data.subarray(c * H * W, (c + 1) * H * W))).toBe(0);
      expect(Math.max(...q.data.subarray(c * H * W, (c + 1) * H * W))).toBe(255);
    }
  });

  it('sends a constant channel as min = max and zeros, and ignores NaN', () => {
    const v = new Float32Array([2, NaN, 2, 5, 2, 1]); // C = 2
    const q = quantizeNHWC(v, 1, 3, 2);
    expect([q.min[0], q.max[0]]).toEqual([2, 2]);
    expect([...q.data.subarray(0, 3)]).toEqual([0, 0, 0]);
    expect([q.min[1], q.max[1]]).toEqual([1, 5]);
  });

  it('average-pools by an integer factor, edge cells averaging only the pixels they cover', () => {
    // 3 × 5, one channel, values 0..14; maxSide 2 → factor 3 → 1 × 2 cells: columns 0–2 and 3–4.
    const v = Float32Array.from({ length: 15 }, (_, i) => i);
    const q = quantizeNHWC(v, 3, 5, 1, 2);
    expect(q.shape).toEqual([1, 2, 1]);
    const left = (0 + 1 + 2 + 5 + 6 + 7 + 10 + 11 + 12) / 9;
    const right = (3 + 4 + 8 + 9 + 13 + 14) / 6;
    expect([q.min[0], q.max[0]]).toEqual([Math.fround(left), Math.fround(right)]);
    expect([...q.data]).toEqual([0, 255]);
  });

  it('names the frame shape and the pooled size', () => {
    expect(frameShape([1, 7, 9, 3])).toEqual([7, 9, 3]);
    expect(frameShape([1, 1000])).toEqual([1, 1, 1000]);
    expect(frameShape([1, 10, 4])).toEqual([1, 10, 4]);
    expect(pooledSize(112, 112, 32)).toEqual({ factor: 4, h: 28, w: 28 });
    expect(pooledSize(7, 7, 32)).toEqual({ factor: 1, h: 7, w: 7 });
    expect(pooledSize(149, 149, 32)).toEqual({ factor: 5, h: 30, w: 30 });
    expect(pooledSize(149, 149, 0)).toEqual({ factor: 1, h: 149, w: 149 });
  });
});
