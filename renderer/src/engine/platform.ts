/**
 * What differs between the engine in a browser Worker and the engine in Node (tests, bench, CLI):
 * how resources are read, how images are decoded, which backends exist. engine.ts depends only on
 * this interface; platform-browser.ts and node.ts implement it.
 */
import type { ImageHeader } from '../../../common/image-header';
import type { RgbaImage } from './preprocess';
import type { BackendName } from '../../../common/engine-protocol';

export interface ReadOptions {
  signal?: AbortSignal;
  /** Bytes read so far of this resource (for progress), called as data arrives. */
  onBytes?: (loaded: number) => void;
}

export interface EnginePlatform {
  readonly name: 'browser' | 'node';
  /** Backends this platform can run, in the default order of preference. */
  readonly backends: BackendName[];
  /** Reads a resource by URL (browser: fetch) or path / file: URL (Node: fs). Throws with the URL named. */
  readResource(url: string, opts?: ReadOptions): Promise<ArrayBuffer>;
  /**
   * Decodes an image into straight-alpha RGBA with its EXIF orientation applied. `header` was read and
   * checked (size limit) already. Throws InputError naming the file when the data cannot be decoded.
   */
  decodeImage(name: string, bytes: Uint8Array, header: ImageHeader, mime?: string): Promise<RgbaImage>;
  /** Runs before a backend is first initialised (browser: wasm file URLs for tfjs-backend-wasm). */
  beforeBackend?(name: BackendName): void | Promise<void>;
}
