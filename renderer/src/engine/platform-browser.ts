/**
 * The engine's platform in a browser Worker: resources with fetch (progress from the body stream),
 * images decoded by Chromium (`createImageBitmap` with the EXIF orientation applied, downscaled while
 * decoding to the largest size any view needs), and
 * tfjs-backend-wasm's .wasm files bundled by Vite (`?url`), so nothing is fetched from a CDN.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import {
  InputError,
  checkPixelCount,
  describeNonImage,
  jpegScanProblem,
  type ImageHeader,
} from '../../../common/image-header';
import type { EnginePlatform, ReadOptions } from './platform';
import type { RgbaImage } from './preprocess';

const MIME: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
  webp: 'image/webp',
  avif: 'image/avif',
};

async function readResource(url: string, opts: ReadOptions = {}): Promise<ArrayBuffer> {
  let res: Response;
  try {
    res = await fetch(url, { signal: opts.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new Error(`${url}: could not be read (${(e as Error).message})`);
  }
  if (!res.ok) throw new Error(`${url}: ${res.status === 404 ? 'not found' : `HTTP ${res.status}`}`);
  if (!res.body || !opts.onBytes) return res.arrayBuffer();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    n += value.byteLength;
    opts.onBytes(n);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out.buffer;
}

/**
 * The largest side an image is decoded at: every view needs less (model inputs are at most 512 px, the
 * preview and thumbnails smaller), and a 50-megapixel photo decoded in full would hold 200 MB of pixels.
 */
export const MAX_DECODE_SIDE = 1024;
/** Most bytes of decoded RGBA the engine holds for one image (MAX_DECODE_SIDE² × 4). */
export const MAX_DECODED_BYTES = MAX_DECODE_SIDE * MAX_DECODE_SIDE * 4;

/**
 * The size to decode at: the longer side brought down to MAX_DECODE_SIDE. Only that one side is given to
 * createImageBitmap, so the browser keeps the aspect ratio itself, whichever way the EXIF orientation turns it.
 */
export function decodeTarget(header: ImageHeader): ImageBitmapOptions {
  const { width, height } = header;
  if (width == null || height == null || Math.max(width, height) <= MAX_DECODE_SIDE) return {};
  const k = MAX_DECODE_SIDE / Math.max(width, height);
  return width >= height
    ? { resizeWidth: MAX_DECODE_SIDE, resizeQuality: 'high' }
    : { resizeHeight: Math.max(1, Math.round(height * k)), resizeQuality: 'high' };
}

async function decodeImage(name: string, bytes: Uint8Array, header: ImageHeader, mime?: string): Promise<RgbaImage> {
  if (header.format === 'jpeg') {
    // Chromium decodes a JPEG cut short (even with an end marker appended) and greys out the rest: walk
    // the scan data here so a half-written file is refused, not shown as if it were the picture.
    const problem = jpegScanProblem(bytes);
    if (problem)
      throw new InputError(
        problem.startsWith('the JPEG data')
          ? `${name}: ${problem}`
          : `${name}: the JPEG data is truncated (${problem})`,
        name,
      );
  }
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime || MIME[header.format] || '' });
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, {
      imageOrientation: 'from-image',
      premultiplyAlpha: 'none',
      ...decodeTarget(header),
    });
  } catch {
    if (header.format === 'unknown')
      throw new InputError(`${name}: not an image; it looks like ${describeNonImage(bytes)}`, name);
    throw new InputError(
      `${name}: the ${header.format.toUpperCase()} data is corrupt (the browser could not decode it)`,
      name,
    );
  }
  try {
    checkPixelCount(name, bitmap.width, bitmap.height);
    // A format whose header gave no size (AVIF) comes out at full size: scale it down here.
    const k = Math.min(1, MAX_DECODE_SIDE / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * k));
    const h = Math.max(1, Math.round(bitmap.height * k));
    if (w * h * 4 > MAX_DECODED_BYTES)
      throw new InputError(`${name}: decodes to more than ${MAX_DECODED_BYTES} bytes`, name);
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error(`${name}: no 2D canvas to read the pixels with`);
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, w, h);
    const { data } = ctx.getImageData(0, 0, w, h);
    return { width: w, height: h, data };
  } finally {
    bitmap.close();
  }
}

/** The browser platform (Web Worker). */
export const browserPlatform: EnginePlatform = {
  name: 'browser',
  backends: ['webgl', 'wasm', 'cpu'],
  readResource,
  decodeImage,
  beforeBackend(name) {
    if (name === 'wasm') {
      // The threaded build starts its pthread workers with importScripts() of the backend's own script,
      // which a bundled module worker cannot offer: use the single-threaded SIMD build. setWasmPaths still
      // wants a URL for every binary, so the threaded one is listed, never fetched.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      setWasmPaths({
        'tfjs-backend-wasm.wasm': wasmPlain,
        'tfjs-backend-wasm-simd.wasm': wasmSimd,
        'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
      });
    }
  },
};
