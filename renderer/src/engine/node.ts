/**
 * The engine in Node (tests, bench, CLI): resources from the file system, PNG and JPEG decoded with
 * small pure-JS decoders (pngjs, jpeg-js) with the EXIF orientation applied, backends wasm and cpu
 * (tfjs-backend-wasm loads its .wasm from node_modules by itself in Node). Never imported by the
 * Worker bundle.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { Engine, type EngineOptions } from './engine';
import { InputError, MAX_IMAGE_PIXELS, type ImageHeader } from '../../../common/image-header';
import type { EnginePlatform } from './platform';
import { applyOrientation, type RgbaImage } from './preprocess';
import { kernelModuleBytes } from './wasm-quantize';

/**
 * Relaxed SIMD, which Chromium, Electron and Node ≥ 22 run by default, is behind a V8 flag in Node 20 (V8 11.3, where
 * it is complete and only not yet shipped). The extraction kernel truncates with it where the runtime validates it
 * (wasm-quantize.ts): one instruction per vector instead of three, 2.4 ms of 18 per sweep of MobileNetV2's layer
 * shapes (`npm run bench -- --kernels`), and the bytes are the same either way (test/engine/wasm-quantize.test.ts).
 * So the Node engine runs the kernel the app runs. Set before any module is compiled, and only where it is missing: a V8
 * that ships the feature may no longer know the flag.
 */
export function enableRelaxedSimd(): boolean {
  const bytes = kernelModuleBytes(true) as Uint8Array<ArrayBuffer>;
  if (!WebAssembly.validate(bytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(bytes);
}

/** Reads a path or a file: URL (http URLs are refused: nothing is fetched at run time). */
async function readResource(
  url: string,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<ArrayBuffer> {
  if (/^https?:/i.test(url)) throw new Error(`${url}: the Node engine reads local files only`);
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  let buf: Buffer;
  try {
    buf = await readFile(path, { signal: opts.signal });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${path}: file not found` : `${path}: ${(e as Error).message}`);
  }
  opts.onBytes?.(buf.byteLength);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** Decodes PNG and JPEG; other formats are decoded by Chromium in the app. */
export async function decodeImageNode(name: string, bytes: Uint8Array, header: ImageHeader): Promise<RgbaImage> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (header.format === 'png') {
    try {
      const png = PNG.sync.read(buf);
      return {
        width: png.width,
        height: png.height,
        data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength),
      };
    } catch (e) {
      throw new InputError(`${name}: the PNG data is corrupt (${(e as Error).message})`, name);
    }
  }
  if (header.format === 'jpeg') {
    let img: { width: number; height: number; data: Uint8Array };
    try {
      img = jpeg.decode(buf, {
        useTArray: true,
        formatAsRGBA: true,
        maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6,
        maxMemoryUsageInMB: 1024,
      });
    } catch (e) {
      throw new InputError(`${name}: the JPEG data is corrupt (${(e as Error).message})`, name);
    }
    const rgba = {
      width: img.width,
      height: img.height,
      data: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength),
    };
    return applyOrientation(rgba, header.orientation);
  }
  if (header.format === 'unknown') throw new InputError(`${name}: not an image`, name);
  throw new InputError(
    `${name}: ${header.format.toUpperCase()} images are decoded in the app only (Node decodes PNG and JPEG)`,
    name,
  );
}

/** The Node platform. */
export const nodePlatform: EnginePlatform = {
  name: 'node',
  backends: ['wasm', 'cpu'],
  readResource,
  decodeImage: (name, bytes, header) => decodeImageNode(name, bytes, header),
};

/** An engine for Node. */
export function createNodeEngine(opts: Omit<EngineOptions, 'platform'> = {}): Engine {
  enableRelaxedSimd();
  return new Engine({ platform: nodePlatform, ...opts });
}

/** Reads an image file into an `ImageInput` (encoded bytes). */
export async function imageFromFile(path: string): Promise<{ kind: 'encoded'; name: string; bytes: ArrayBuffer }> {
  const bytes = await readResource(path);
  return { kind: 'encoded', name: path.split(/[\\/]/).pop() ?? path, bytes };
}
