/**
 * Reading the files the user chose: images and models from the open dialogs, dropped files, recent
 * entries. Main reads only what the user pointed at: the chosen or dropped files themselves, and for a
 * model the weight files its model.json names, which must lie inside the model's own folder. Renderers
 * never send a path to open (recent entries reopen by id) and get base names back, not full paths.
 */
import { dialog, type BaseWindow, type OpenDialogOptions } from 'electron';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import * as v from 'valibot';
import type {
  ModelFilesPayload,
  OpenedFile,
  ReadDroppedResult,
  RecentEntry,
  RecentOpenResult,
} from '../preload/contract';
import { isInside } from './protocol';
import type { StateStore } from './state';

/** Size limits: large enough for any real photo and InceptionV3-sized models, small enough to stay sane. */
export interface FileLimits {
  maxImageBytes: number;
  maxModelJsonBytes: number;
  maxModelBytes: number;
}

/** 200 MB per image, 64 MB for a model.json, 1 GiB for a whole model. */
export const DEFAULT_LIMITS: FileLimits = {
  maxImageBytes: 200 * 1024 * 1024,
  maxModelJsonBytes: 64 * 1024 * 1024,
  maxModelBytes: 1024 * 1024 * 1024,
};

/** Image extensions the open dialog offers and drops accept. */
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp'] as const;
/** Single-file Keras models. */
export const KERAS_EXTENSIONS = ['h5', 'hdf5', 'keras'] as const;

/** An image format recognised by its first bytes. */
export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp';

/** The image format the bytes start with, or null (the extension is never trusted alone). */
export function sniffImage(bytes: Uint8Array): ImageFormat | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61) return 'gif';
  if (
    starts(0x52, 0x49, 0x46, 0x46) &&
    bytes[8] === 0x57 &&
    bytes[9] === 0x45 &&
    bytes[10] === 0x42 &&
    bytes[11] === 0x50
  ) {
    return 'webp';
  }
  if (starts(0x42, 0x4d) && bytes.length >= 26) return 'bmp';
  return null;
}

/** Keras file kinds by their first bytes: HDF5 (.h5) or zip (.keras v3). */
export function sniffKeras(bytes: Uint8Array): 'hdf5' | 'zip' | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a)) return 'hdf5';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'zip';
  return null;
}

function hexHead(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ') || '(empty)';
}

function extensionOf(path: string): string {
  return extname(path).slice(1).toLowerCase();
}

/** Copies a Node Buffer's bytes into an ArrayBuffer of exactly that length (Buffers may share a pool). */
function toArrayBuffer(buf: Buffer): ArrayBuffer {
  const out = new ArrayBuffer(buf.byteLength);
  new Uint8Array(out).set(buf);
  return out;
}

/** Reads a regular file of at most `maxBytes`, with errors that name the file. */
async function readBounded(path: string, maxBytes: number, what: string): Promise<Buffer> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot be read (${(err as Error).message})`,
    );
  }
  if (!info.isFile()) throw new Error(`${path}: not a file`);
  if (info.size > maxBytes) {
    throw new Error(`${path}: ${what} is ${formatBytes(info.size)}, more than the limit of ${formatBytes(maxBytes)}`);
  }
  return readFile(path);
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

/**
 * Reads one image the user chose: the extension must be an image's and the bytes must start like one.
 * Returns the base name only (renderers never see full paths).
 */
export async function readImageFile(path: string, limits: FileLimits = DEFAULT_LIMITS): Promise<OpenedFile> {
  const ext = extensionOf(path);
  if (!(IMAGE_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new Error(`${path}: not an image file (expected ${IMAGE_EXTENSIONS.join(', ')}; got ".${ext}")`);
  }
  const buf = await readBounded(path, limits.maxImageBytes, 'the image');
  if (!sniffImage(buf)) {
    throw new Error(
      `${path}: named like an image but its bytes are not PNG, JPEG, GIF, WebP or BMP (starts with ${hexHead(buf)})`,
    );
  }
  return { name: basename(path), bytes: toArrayBuffer(buf) };
}

const ModelJsonSchema = v.looseObject({
  modelTopology: v.optional(v.unknown()),
  format: v.optional(v.string()),
  weightsManifest: v.optional(
    v.array(
      v.looseObject({
        paths: v.array(v.string('each weight file path must be a string')),
        weights: v.optional(v.array(v.unknown())),
      }),
      'weightsManifest must be a list of { paths, weights } groups',
    ),
  ),
});

/**
 * Checks one `weightsManifest` path and returns where it lies. It must be a plain relative path inside
 * the model's folder: no absolute path, drive letter, URL, `..`, backslash or NUL.
 */
export function resolveShardPath(folder: string, shard: string, modelJson: string): string {
  const refuse = (why: string) =>
    new Error(`${modelJson}: weight file "${shard}" ${why}; only files inside ${folder} are read`);
  if (shard.length === 0) throw refuse('is an empty path');
  if (shard.includes('\0')) throw refuse('contains a NUL byte');
  if (shard.includes('\\')) throw refuse('contains a backslash');
  if (isAbsolute(shard) || /^[a-zA-Z]:/.test(shard)) throw refuse('is an absolute path');
  if (shard.includes(':')) throw refuse('looks like a URL or drive path');
  const segments = shard.split('/').filter((s, i) => !(i === 0 && s === '.'));
  if (segments.some((s) => s === '..')) throw refuse('climbs out with ".."');
  if (segments.some((s) => s === '' || s === '.')) throw refuse('has an empty or "." segment');
  const abs = resolve(folder, ...segments);
  if (!isInside(resolve(folder), abs)) throw refuse('resolves outside the folder');
  return abs;
}

/**
 * Reads a tfjs `model.json` and every weight file its manifest names, all from the folder that holds it
 * (symlinks that lead elsewhere are refused too). Paths in the payload are relative to that folder.
 */
export async function readModelFolder(
  modelJsonPath: string,
  limits: FileLimits = DEFAULT_LIMITS,
): Promise<ModelFilesPayload> {
  const jsonBuf = await readBounded(modelJsonPath, limits.maxModelJsonBytes, 'the model.json');
  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(jsonBuf.toString('utf8'));
  } catch (err) {
    throw new Error(`${modelJsonPath}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = v.safeParse(ModelJsonSchema, parsedJson);
  if (!parsed.success) {
    throw new Error(
      `${modelJsonPath}: not a TensorFlow.js model.json (${v.summarize(parsed.issues).replace(/\n/g, '; ')})`,
    );
  }
  if (parsed.output.modelTopology === undefined && parsed.output.weightsManifest === undefined) {
    throw new Error(
      `${modelJsonPath}: not a TensorFlow.js model.json (it has neither modelTopology nor weightsManifest)`,
    );
  }
  const folder = dirname(resolve(modelJsonPath));
  const realFolder = await realpath(folder);
  const files: ModelFilesPayload['files'] = [{ path: basename(modelJsonPath), bytes: toArrayBuffer(jsonBuf) }];
  let total = jsonBuf.byteLength;
  const seen = new Set<string>();
  for (const group of parsed.output.weightsManifest ?? []) {
    for (const shard of group.paths) {
      const abs = resolveShardPath(folder, shard, modelJsonPath);
      const rel = shard.replace(/^\.\//, '');
      if (seen.has(rel)) continue;
      seen.add(rel);
      let real: string;
      try {
        real = await realpath(abs);
      } catch {
        throw new Error(`${modelJsonPath}: weight file "${shard}" is missing (looked for ${abs})`);
      }
      if (!isInside(realFolder, real)) {
        throw new Error(`${modelJsonPath}: weight file "${shard}" links outside ${folder}; refused`);
      }
      const size = (await stat(real)).size;
      if (total + size > limits.maxModelBytes) {
        throw new Error(
          `${modelJsonPath}: the model's files add up to more than the limit of ${formatBytes(limits.maxModelBytes)}`,
        );
      }
      const buf = await readBounded(real, limits.maxModelBytes, 'the weight file');
      total += buf.byteLength;
      files.push({ path: rel, bytes: toArrayBuffer(buf) });
    }
  }
  return { name: basename(folder), files };
}

/** Reads a single-file Keras model (.h5/.hdf5 HDF5, or .keras zip). */
export async function readKerasFile(path: string, limits: FileLimits = DEFAULT_LIMITS): Promise<ModelFilesPayload> {
  const buf = await readBounded(path, limits.maxModelBytes, 'the model');
  const kind = sniffKeras(buf);
  const ext = extensionOf(path);
  if (!kind || (ext === 'keras') !== (kind === 'zip')) {
    throw new Error(
      `${path}: not a Keras ${ext === 'keras' ? '.keras (zip)' : 'HDF5'} file (starts with ${hexHead(buf)})`,
    );
  }
  return { name: basename(path, extname(path)), files: [{ path: basename(path), bytes: toArrayBuffer(buf) }] };
}

/** Reads what the user picked as a model: a model.json, its folder, or a Keras file. Returns the model and the file to remember. */
export async function readModelAt(
  path: string,
  limits: FileLimits = DEFAULT_LIMITS,
): Promise<{ model: ModelFilesPayload; recentPath: string }> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`${path}: not found`);
  }
  if (info.isDirectory()) {
    const json = join(path, 'model.json');
    try {
      await stat(json);
    } catch {
      throw new Error(`${path}: this folder has no model.json (to open images, choose or drop the images themselves)`);
    }
    return { model: await readModelFolder(json, limits), recentPath: json };
  }
  const ext = extensionOf(path);
  if ((KERAS_EXTENSIONS as readonly string[]).includes(ext))
    return { model: await readKerasFile(path, limits), recentPath: path };
  if (ext === 'json') return { model: await readModelFolder(path, limits), recentPath: path };
  throw new Error(`${path}: not a model (expected a TensorFlow.js model.json, its folder, or a Keras .h5/.keras file)`);
}

function isModelPath(path: string, isDir: boolean): boolean {
  const ext = extensionOf(path);
  return isDir || ext === 'json' || (KERAS_EXTENSIONS as readonly string[]).includes(ext);
}

/**
 * Reads the files of the dialogs, drops and recent entries, and remembers each success in the recent
 * list. Only paths the user chose reach it: dialog results, dropped paths (from `webUtils.getPathForFile`
 * in the preload) and recent entries looked up by id.
 */
export class FileService {
  constructor(
    private readonly state: StateStore,
    private readonly limits: FileLimits = DEFAULT_LIMITS,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {}

  /** File ▸ Open Image…: null when cancelled; throws naming every file that is not a readable image. */
  async openImageDialog(parent: BaseWindow | null): Promise<OpenedFile[] | null> {
    const options: OpenDialogOptions = {
      title: 'Open Image',
      properties: ['openFile', 'multiSelections'],
      filters: [{ name: 'Images', extensions: [...IMAGE_EXTENSIONS] }],
    };
    const result = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
    if (result.canceled || result.filePaths.length === 0) return null;
    const opened: OpenedFile[] = [];
    const errors: string[] = [];
    for (const path of result.filePaths) {
      try {
        opened.push(await readImageFile(path, this.limits));
        this.state.addRecent('image', basename(path), path);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length) throw new Error(errors.join('\n'));
    return opened;
  }

  /** File ▸ Open Model…: a model.json (or, on macOS, its folder) or a Keras file; null when cancelled. */
  async openModelDialog(parent: BaseWindow | null): Promise<ModelFilesPayload | null> {
    const options: OpenDialogOptions = {
      title: 'Open Model',
      // Only macOS can pick files and folders in one dialog; elsewhere openDirectory would hide the files.
      properties: this.platform === 'darwin' ? ['openFile', 'openDirectory'] : ['openFile'],
      filters: [{ name: 'Models (model.json, Keras)', extensions: ['json', ...KERAS_EXTENSIONS] }],
    };
    const result = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
    if (result.canceled || result.filePaths.length === 0) return null;
    const { model, recentPath } = await readModelAt(result.filePaths[0], this.limits);
    this.state.addRecent('model', model.name, recentPath);
    return model;
  }

  /**
   * Reads dropped files: if one of them is a model (model.json, a folder holding one, a Keras file) the
   * result is that model; otherwise every dropped image. Problems with single files are reported by name
   * in `errors`; nothing but the dropped files (and a dropped model's own weight files) is read.
   */
  async readDropped(paths: readonly string[]): Promise<ReadDroppedResult> {
    const errors: string[] = [];
    const kinds = await Promise.all(
      paths.map(async (p) => {
        if (!isAbsolute(p)) return { path: p, error: `${p}: not an absolute path` };
        try {
          const info = await stat(p);
          return { path: p, isDir: info.isDirectory() };
        } catch {
          return { path: p, error: `${p}: not found` };
        }
      }),
    );
    for (const k of kinds) if ('error' in k && k.error) errors.push(k.error);
    const present = kinds.filter((k): k is { path: string; isDir: boolean } => !('error' in k));
    const models = present.filter((k) => isModelPath(k.path, k.isDir));
    for (const m of models) {
      try {
        const { model, recentPath } = await readModelAt(m.path, this.limits);
        this.state.addRecent('model', model.name, recentPath);
        const others = present.filter((k) => k !== m && !isShardOf(k.path, model, recentPath));
        for (const o of others) errors.push(`${o.path}: ignored; a model was dropped with it`);
        return { kind: 'model', model, errors };
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    const files: OpenedFile[] = [];
    for (const k of present) {
      if (models.includes(k)) continue;
      try {
        files.push(await readImageFile(k.path, this.limits));
        this.state.addRecent('image', basename(k.path), k.path);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    return { kind: 'images', files, errors };
  }

  /** Reopens a recent entry by id; a missing entry or file gives `{ kind: 'missing' }` (and leaves the list). */
  async openRecent(id: number): Promise<RecentOpenResult> {
    const entry: RecentEntry | undefined = this.state.getRecent(id);
    if (!entry) return { kind: 'missing', message: `There is no recent entry ${id} (the list changed).` };
    try {
      await stat(entry.path);
    } catch {
      this.state.removeRecent(id);
      return { kind: 'missing', message: `${entry.path}: no longer exists; removed from Recent.` };
    }
    if (entry.kind === 'image') {
      const file = await readImageFile(entry.path, this.limits);
      this.state.addRecent('image', entry.name, entry.path);
      return { kind: 'image', files: [file] };
    }
    const { model, recentPath } = await readModelAt(entry.path, this.limits);
    this.state.addRecent('model', model.name, recentPath);
    return { kind: 'model', model };
  }
}

/** Was `path` (dropped alongside a model.json) one of that model's own files? Then it is not an error. */
function isShardOf(path: string, model: ModelFilesPayload, modelJson: string): boolean {
  const folder = dirname(resolve(modelJson));
  return model.files.some((f) => resolve(folder, f.path) === resolve(path));
}
