/**
 * The engine's platform in a browser Worker: resources with fetch (progress from the body stream),
 * images decoded by Chromium (`createImageBitmap` with the EXIF orientation applied), and
 * tfjs-backend-wasm's .wasm files bundled by Vite (`?url`), so nothing is fetched from a CDN.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { InputError, checkPixelCount, describeNonImage, type ImageHeader } from './image-header';
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

async function decodeImage(name: string, bytes: Uint8Array, header: ImageHeader, mime?: string): Promise<RgbaImage> {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime || MIME[header.format] || '' });
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
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
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error(`${name}: no 2D canvas to read the pixels with`);
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: bitmap.width, height: bitmap.height, data };
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
      // which a bundled module worker cannot offer: use the single-threaded SIMD build.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      setWasmPaths({
        'tfjs-backend-wasm.wasm': wasmPlain,
        'tfjs-backend-wasm-simd.wasm': wasmSimd,
        'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
      });
    }
  },
};
