/**
 * A small read-only view of an HDF5 file held in memory, over h5wasm (the HDF5 C library compiled to wasm).
 * The default `h5wasm` entry is an ES module with the wasm inlined, so the same import works in Node (tests,
 * CLI) and in a bundled module Web Worker: no file fetch, no `h5wasm/node` (which needs Node's fs).
 * h5wasm reads from its own in-memory file system: the bytes are written there under a unique name, read,
 * and the file is closed and unlinked in every case.
 */
import * as h5wasm from 'h5wasm';
import { InputError } from '../../../common/image-header';

/** The HDF5 signature; it sits at offset 0, or 512, 1024, 2048… after a user block. */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Offset of the HDF5 superblock signature, or −1 when the bytes are not HDF5. */
export function hdf5SignatureOffset(bytes: Uint8Array): number {
  for (let off = 0; off + 8 <= bytes.length && off <= 1 << 20; off = off === 0 ? 512 : off * 2) {
    if (SIGNATURE.every((b, i) => bytes[off + i] === b)) return off;
  }
  return -1;
}

/** True when the bytes start (after an optional user block) with the HDF5 signature. */
export const isHdf5 = (bytes: Uint8Array): boolean => hdf5SignatureOffset(bytes) >= 0;

/**
 * The end-of-file address the superblock states (versions 0–3), relative to the signature; undefined when the
 * header is too short to say. A file shorter than this was cut off (an interrupted download or copy).
 */
export function hdf5StatedLength(bytes: Uint8Array): number | undefined {
  const base = hdf5SignatureOffset(bytes);
  if (base < 0) return undefined;
  const version = bytes[base + 8];
  const read = (off: number, size: number): number | undefined => {
    if (base + off + size > bytes.length) return undefined;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[base + off + i];
    // All ones is HDF5's "undefined address": no stated length.
    return v >= 2 ** 52 ? undefined : v;
  };
  if (version === 0 || version === 1) {
    const sizeOffsets = bytes[base + 13];
    const start = version === 0 ? 24 : 28;
    return read(start + 2 * sizeOffsets, sizeOffsets);
  }
  if (version === 2 || version === 3) {
    const sizeOffsets = bytes[base + 9];
    return read(12 + 2 * sizeOffsets, sizeOffsets);
  }
  return undefined;
}

/** A dataset's values as float32 with its shape. */
export interface H5Tensor {
  shape: number[];
  data: Float32Array;
  dtype: string;
}

/** Read access to one open HDF5 file; paths are '/'-separated from the root. */
export interface H5Reader {
  /** Child names of a group ([] for a missing path or a dataset). */
  keys(path: string): string[];
  isGroup(path: string): boolean;
  isDataset(path: string): boolean;
  /** An attribute's value: strings decoded (bytes → UTF-8), string arrays as string[]; undefined when absent. */
  attr(path: string, name: string): unknown;
  attrNames(path: string): string[];
  /** Shape of a dataset without reading it. */
  shape(path: string): number[] | undefined;
  /** A dataset's values converted to float32. */
  tensor(path: string): H5Tensor;
}

let counter = 0;

/** Decodes one attribute value: Uint8Array / string / arrays of them. */
function decodeValue(v: unknown): unknown {
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v)) return v.map(decodeValue);
  if (typeof v === 'bigint') return Number(v);
  return v;
}

/**
 * Opens `bytes` as HDF5 and runs `read` on it; closes and deletes the in-memory copy afterwards. A file h5wasm
 * cannot open (truncated, damaged) throws InputError naming `fileName`.
 */
export async function withHdf5<T>(bytes: Uint8Array, fileName: string, read: (f: H5Reader) => T): Promise<T> {
  const stated = hdf5StatedLength(bytes);
  const base = hdf5SignatureOffset(bytes);
  if (stated !== undefined && base >= 0 && bytes.length < base + stated) {
    throw new InputError(
      `${fileName}: the HDF5 file is truncated — it has ${bytes.length} bytes, its header says ${base + stated} ` +
        '(an interrupted download or copy?)',
      fileName,
    );
  }
  const module = await h5wasm.ready;
  const FS = module.FS;
  const path = `/fme-${Date.now().toString(36)}-${counter++}.h5`;
  FS.writeFile(path, bytes);
  let file: h5wasm.File | undefined;
  try {
    try {
      file = new h5wasm.File(path, 'r');
    } catch (e) {
      throw new InputError(
        `${fileName}: the HDF5 file cannot be opened — it is truncated or damaged (${(e as Error).message ?? e})`,
        fileName,
      );
    }
    const f = file;
    const get = (p: string) => {
      try {
        return f.get(p === '' ? '/' : p);
      } catch {
        return null;
      }
    };
    const reader: H5Reader = {
      keys(p) {
        const g = get(p);
        return g instanceof h5wasm.Group ? g.keys() : [];
      },
      isGroup: (p) => get(p) instanceof h5wasm.Group,
      isDataset: (p) => get(p) instanceof h5wasm.Dataset,
      attrNames(p) {
        const o = get(p);
        return o instanceof h5wasm.Group || o instanceof h5wasm.Dataset ? Object.keys(o.attrs) : [];
      },
      attr(p, name) {
        const o = get(p);
        if (!(o instanceof h5wasm.Group || o instanceof h5wasm.Dataset)) return undefined;
        const attrs = o.attrs;
        if (!(name in attrs)) return undefined;
        return decodeValue(attrs[name].value);
      },
      shape(p) {
        const o = get(p);
        return o instanceof h5wasm.Dataset ? (o.shape ?? undefined) : undefined;
      },
      tensor(p) {
        const o = get(p);
        if (!(o instanceof h5wasm.Dataset)) throw new InputError(`${fileName}: no dataset at "${p}"`, fileName);
        const shape = o.shape ?? [];
        let v: unknown;
        try {
          v = o.value;
        } catch (e) {
          throw new InputError(
            `${fileName}: the dataset "${p}" cannot be read — the file is truncated or damaged (${(e as Error).message})`,
            fileName,
          );
        }
        const n = shape.reduce((a, b) => a * b, 1);
        let data: Float32Array;
        if (v instanceof Float32Array) data = v;
        else if (typeof v === 'number') data = Float32Array.of(v);
        else if (typeof v === 'bigint') data = Float32Array.of(Number(v));
        else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
          const arr = v as unknown as ArrayLike<number | bigint>;
          data = new Float32Array(arr.length);
          for (let i = 0; i < arr.length; i++) data[i] = Number(arr[i]);
        } else if (Array.isArray(v)) data = Float32Array.from(v.flat(Infinity) as number[], Number);
        else throw new InputError(`${fileName}: the dataset "${p}" is not numeric`, fileName);
        if (data.length !== n) {
          throw new InputError(
            `${fileName}: the dataset "${p}" holds ${data.length} values for shape [${shape.join(', ')}] — the file is truncated or damaged`,
            fileName,
          );
        }
        return { shape, data, dtype: String(o.dtype) };
      },
    };
    return read(reader);
  } finally {
    try {
      file?.close();
    } catch {
      // already closed or never opened
    }
    try {
      FS.unlink(path);
    } catch {
      // never written
    }
  }
}
