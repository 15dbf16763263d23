/**
 * The JPEG scan walker (image-header.ts jpegScanProblem): complete files pass, files cut short pass the
 * end-of-image check once a marker is appended but not the walk.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jpegScanProblem } from '../../common/image-header';
import { RESOURCES, encodeJpeg } from './helpers';

function noise(w: number, h: number, seed = 1): Uint8Array {
  const d = new Uint8Array(w * h * 4);
  let a = seed;
  for (let i = 0; i < d.length; i++) {
    a = (a * 1103515245 + 12345) >>> 0;
    d[i] = i % 4 === 3 ? 255 : (a >>> 24) ^ ((i >> 6) & 0xff);
  }
  return d;
}

/** The first `fraction` of the data after the scan header, then FF D9. */
function cutWithEoi(jpg: Uint8Array, fraction: number): Uint8Array {
  let sos = 2;
  while (!(jpg[sos] === 0xff && jpg[sos + 1] === 0xda)) sos += 2 + ((jpg[sos + 2] << 8) | jpg[sos + 3]);
  const data = sos + 2 + ((jpg[sos + 2] << 8) | jpg[sos + 3]);
  const keep = data + Math.floor((jpg.length - 2 - data) * fraction);
  return new Uint8Array([...jpg.subarray(0, keep), 0xff, 0xd9]);
}

describe('JPEG scan walk', () => {
  const sizes: [number, number][] = [
    [1, 1],
    [7, 9],
    [16, 16],
    [64, 48],
    [333, 127],
  ];
  it.each(sizes)('a complete %i×%i JPEG passes; cut at half its data with FF D9 appended it does not', (w, h) => {
    const jpg = new Uint8Array(encodeJpeg(w, h, noise(w, h), 90));
    expect(jpegScanProblem(jpg)).toBeNull();
    if (w * h >= 256)
      expect(jpegScanProblem(cutWithEoi(jpg, 0.5))).toMatch(/^the image data stops at block row \d+ of \d+$/);
  });

  it('the bundled rocket.jpg (a real camera file) passes, and fails when cut', () => {
    const jpg = new Uint8Array(readFileSync(resolve(RESOURCES, 'samples/rocket.jpg')));
    const t0 = performance.now();
    expect(jpegScanProblem(jpg)).toBeNull();
    console.log(`rocket.jpg (${jpg.length} bytes) walked in ${(performance.now() - t0).toFixed(1)} ms`);
    expect(jpegScanProblem(cutWithEoi(jpg, 0.7))).toMatch(/stops at block row/);
  });
});
