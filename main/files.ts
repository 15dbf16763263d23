/**
 * Reading the files the user chose: images and models from the open dialogs, and Recent entries main
 * recorded itself. No IPC channel takes a path from a renderer (Recent entries reopen by id; dropped files
 * are read by the renderer from the File objects the drop gave it). For a model, main also reads the
 * weight files its model.json names, which must be plain file names in the model's own folder, and the
 * few side files a format needs. Every read is size-capped; renderers get base names, never full paths.
 */
import { dialog, type BaseWindow, type OpenDialogOptions } from 'electron';
import type { Stats } from 'node:fs';
import { lstat, open, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { freemem } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import type { ModelFilesPayload, OpenedFile, RecentEntry, RecentOpenResult } from '../common/ipc-contract';
import type { StateStore } from './state';
import { readImageHeader, type ImageFormat as CommonImageFormat } from '../common/image-header';
import { parseModelJsonFile } from '../common/model-json';

/** Size limits: large enough for any real photo and InceptionV3-sized models, small enough to stay sane. */
export interface FileLimits {
  maxImageBytes: number;
  maxModelJsonBytes: number;
  /** labels.txt, classes.txt, metadata.json. */
  maxSidecarBytes: number;
  /** One model file, weight shard or external-data file. */
  maxFileBytes: number;
  /** Everything one model sends, together. */
  maxModelBytes: number;
  /** Free memory in bytes (default: `os.freemem()`); tests pass their own. */
  freeMemory?: () => number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * 200 MiB per image, 64 MiB for a model.json, 16 MiB per side file, 2 GiB for a whole model (and for one
 * file of it, less a byte: Node's readFile cannot return more).
 */
export const DEFAULT_LIMITS: FileLimits = {
  maxImageBytes: 200 * MiB,
  maxModelJsonBytes: 64 * MiB,
  maxSidecarBytes: 16 * MiB,
  maxFileBytes: 2 * GiB - 1,
  maxModelBytes: 2 * GiB,
};

/** Image extensions the open dialog offers. */
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'avif'] as const;
/** Single-file models the Open Model dialog offers: Keras HDF5 and v3 zip, ONNX, PyTorch state dicts. */
export const MODEL_FILE_EXTENSIONS = ['h5', 'hdf5', 'keras', 'onnx', 'pth', 'pt'] as const;

/** An image format recognised by its first bytes. */
export type ImageFormat = Exclude<CommonImageFormat, 'unknown'>;

/** The image format the bytes start with, or null (the extension is never trusted alone): the app's one sniffer. */
export function sniffImage(bytes: Uint8Array): ImageFormat | null {
  const { format } = readImageHeader(bytes);
  return format === 'unknown' ? null : format;
}

function hexHead(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ') || '(empty)';
}

function extensionOf(path: string): string {
  return extname(path).slice(1).toLowerCase();
}

/**
 * A Node Buffer's bytes as an ArrayBuffer of exactly that length. A Buffer that owns its whole ArrayBuffer
 * (readFile of a large file) is handed over as it is, so a 528 MB VGG-16 checkpoint is not held twice;
 * a small one may share Node's pool and is copied.
 */
function toArrayBuffer(buf: Buffer): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.byteLength && buf.buffer instanceof ArrayBuffer)
    return buf.buffer;
  const out = new ArrayBuffer(buf.byteLength);
  new Uint8Array(out).set(buf);
  return out;
}

/** Throws {@link memoryProblem}'s message when the file at `path` is too large for the free memory. */
async function checkMemory(path: string, limits: FileLimits): Promise<void> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return; // readBounded names the problem
  }
  const problem = memoryProblem(path, size, limits.freeMemory?.() ?? freemem());
  if (problem) throw new Error(problem);
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

/**
 * How much memory opening a model of `bytes` takes, as a multiple of its size: the bytes in the UI and the
 * engine (1×), its weights as float32 (≤ 1× for a float32 file) and the engine's tensors (1×), with slack.
 */
export const MODEL_MEMORY_FACTOR = 3;

/**
 * Says beforehand when a model file is too large for the memory this computer has free (so the user gets a
 * message naming the file instead of a renderer that runs out of memory), or null when it fits.
 */
export function memoryProblem(path: string, bytes: number, freeBytes: number = freemem()): string | null {
  const need = bytes * MODEL_MEMORY_FACTOR;
  if (need <= freeBytes) return null;
  return (
    `${path}: opening this ${formatBytes(bytes)} model needs about ${formatBytes(need)} of memory, and this ` +
    `computer has ${formatBytes(freeBytes)} free; close other programs, or open a smaller model`
  );
}

function formatBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
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

/**
 * Checks one `weightsManifest` path and returns where it lies. It must be a flat file name in the model's
 * own folder: no subfolder, no `..`, no absolute path, drive letter, URL, backslash or NUL. (tfjs writes
 * plain names such as `group1-shard1of2.bin`; anything else is how a crafted model.json would reach
 * `~/.ssh/id_rsa` or `../x`.)
 */
export function resolveShardPath(folder: string, shard: string, modelJson: string): string {
  const refuse = (why: string) =>
    new Error(`${modelJson}: weight file "${shard}" ${why}; only plain file names inside ${folder} are read`);
  if (shard.length === 0) throw refuse('is an empty path');
  if (shard.includes('\0')) throw refuse('contains a NUL byte');
  if (isAbsolute(shard) || /^[a-zA-Z]:/.test(shard)) throw refuse('is an absolute path');
  if (shard.includes('\\')) throw refuse('contains a backslash');
  if (shard.includes(':')) throw refuse('looks like a URL or drive path');
  if (shard.split('/').includes('..')) throw refuse('climbs out with ".."');
  if (shard.includes('/')) throw refuse('is in a subfolder');
  if (shard === '.' || shard === '..') throw refuse('is not a file name');
  const abs = join(folder, shard);
  if (dirname(abs) !== folder) throw refuse('resolves outside the folder');
  return abs;
}

/**
 * Where a file of the chosen model's folder really is, provided it is a regular file directly in that
 * folder after following symlinks. `what` names it in messages.
 */
async function checkedSibling(realFolder: string, abs: string, what: string, owner: string): Promise<Stats> {
  let real: string;
  try {
    real = await realpath(abs);
  } catch {
    throw new Error(`${owner}: ${what} is missing (looked for ${abs})`);
  }
  if (dirname(real) !== realFolder) throw new Error(`${owner}: ${what} links outside ${realFolder}; refused`);
  const info = await lstat(real);
  if (!info.isFile()) throw new Error(`${owner}: ${what} is not a regular file`);
  return info;
}

/** Side files a model format may carry in its folder (class names, Teachable Machine metadata). */
export const SIDECAR_NAMES = ['labels.txt', 'classes.txt', 'metadata.json'] as const;

/** Adds the side files present in `folder` to `files`, each within its cap; returns the bytes added. */
async function addSidecars(
  folder: string,
  realFolder: string,
  owner: string,
  files: ModelFilesPayload['files'],
  extra: readonly string[],
  budget: { used: number },
  limits: FileLimits,
): Promise<void> {
  const names = [...SIDECAR_NAMES.filter((n) => !files.some((f) => f.path === n)), ...extra];
  for (const name of names) {
    const abs = join(folder, name);
    try {
      await lstat(abs);
    } catch {
      continue; // absent: nothing to send
    }
    const isData = extra.includes(name);
    const info = await checkedSibling(realFolder, abs, `"${name}"`, owner);
    const cap = isData ? limits.maxFileBytes : limits.maxSidecarBytes;
    if (info.size > cap) {
      throw new Error(`${abs}: "${name}" is ${formatBytes(info.size)}, more than the limit of ${formatBytes(cap)}`);
    }
    chargeBudget(budget, info.size, owner, limits);
    files.push({ path: name, bytes: toArrayBuffer(await readFile(abs)) });
  }
}

function chargeBudget(budget: { used: number }, size: number, owner: string, limits: FileLimits): void {
  if (budget.used + size > limits.maxModelBytes) {
    throw new Error(
      `${owner}: the model's files add up to more than the limit of ${formatBytes(limits.maxModelBytes)}`,
    );
  }
  budget.used += size;
}

/**
 * Reads a tfjs `model.json` and every weight file its manifest names, plus the side files next to it
 * (labels.txt, classes.txt, metadata.json). Weight files must be plain names in the model's folder (no
 * symlinks leading elsewhere), and each group's files must add up to exactly the bytes its weights'
 * shapes and dtypes call for: all of that is checked before a single weight byte is read.
 */
export async function readModelFolder(
  modelJsonPath: string,
  limits: FileLimits = DEFAULT_LIMITS,
): Promise<ModelFilesPayload> {
  const jsonBuf = await readBounded(modelJsonPath, limits.maxModelJsonBytes, 'the model.json');
  // The app's one model.json reader (common/model-json.ts), the same the engine checks with.
  const parsed = parseModelJsonFile(jsonBuf.toString('utf8'), basename(modelJsonPath), modelJsonPath);
  const folder = dirname(resolve(modelJsonPath));
  const realFolder = await realpath(folder);
  const budget = { used: jsonBuf.byteLength };
  const seen = new Set<string>();
  const shards: { name: string; abs: string }[] = [];
  // Every check first: names, places, sizes against the manifest and the limits. Only then read.
  for (const [g, group] of parsed.groups.entries()) {
    let groupBytes = 0;
    for (const shard of group.paths) {
      const abs = resolveShardPath(folder, shard, modelJsonPath);
      if (seen.has(shard)) throw new Error(`${modelJsonPath}: weight file "${shard}" is named twice in the manifest`);
      seen.add(shard);
      const info = await checkedSibling(realFolder, abs, `weight file "${shard}"`, modelJsonPath);
      if (info.size > limits.maxFileBytes) {
        throw new Error(
          `${modelJsonPath}: weight file "${shard}" is ${formatBytes(info.size)}, more than the limit of ${formatBytes(limits.maxFileBytes)}`,
        );
      }
      chargeBudget(budget, info.size, modelJsonPath, limits);
      groupBytes += info.size;
      shards.push({ name: shard, abs });
    }
    const expected = parsed.groupBytes[g];
    if (expected !== null && expected !== groupBytes) {
      throw new Error(
        `${modelJsonPath}: weight group ${g + 1} (${group.paths.join(', ')}) holds ${groupBytes} bytes, ` +
          `but its weights' shapes and dtypes need ${expected}; the files do not belong to this model.json`,
      );
    }
  }
  const files: ModelFilesPayload['files'] = [{ path: basename(modelJsonPath), bytes: toArrayBuffer(jsonBuf) }];
  for (const shard of shards) {
    const buf = await readBounded(shard.abs, limits.maxFileBytes, `weight file "${shard.name}"`);
    files.push({ path: shard.name, bytes: toArrayBuffer(buf) });
  }
  await addSidecars(folder, realFolder, modelJsonPath, files, [], budget, limits);
  return { name: basename(folder), files };
}

/**
 * Reads a single-file model the user chose (Keras .h5/.hdf5/.keras, ONNX .onnx) and the files next to it
 * that its format may need: labels.txt, classes.txt, metadata.json, and for ONNX every `*.data` file in
 * the folder (external tensor data, e.g. `<name>.onnx.data`). Main does not parse the formats: the
 * engine recognises them by content and reports what a file looks like when it is none of them.
 */
export async function readModelFile(path: string, limits: FileLimits = DEFAULT_LIMITS): Promise<ModelFilesPayload> {
  await checkMemory(path, limits);
  const buf = await readBounded(path, limits.maxFileBytes, 'the model');
  const folder = dirname(resolve(path));
  const realFolder = await realpath(folder);
  const name = basename(path);
  const budget = { used: 0 };
  chargeBudget(budget, buf.byteLength, path, limits);
  const files: ModelFilesPayload['files'] = [{ path: name, bytes: toArrayBuffer(buf) }];
  const data =
    extensionOf(path) === 'onnx'
      ? (await readdir(folder)).filter((n) => n.toLowerCase().endsWith('.data') && n !== name).sort()
      : [];
  await addSidecars(folder, realFolder, path, files, data, budget, limits);
  return { name: basename(path, extname(path)), files };
}

/** The what-if editor's files say so in their first bytes (`"format": "feature-map-explorer/architecture-edit"`). */
async function isArchitectureEdit(path: string): Promise<boolean> {
  try {
    const handle = await open(path, 'r');
    try {
      const head = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      return head.subarray(0, bytesRead).toString('utf8').includes('feature-map-explorer/architecture-edit');
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

/** Reads what the user picked as a model: a model.json, its folder, or a single-file model. Returns the model and the path to remember. */
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
    const names = await readdir(path);
    if (names.includes('model.json')) {
      const json = join(path, 'model.json');
      return { model: await readModelFolder(json, limits), recentPath: json };
    }
    const single = names.filter((n) => (MODEL_FILE_EXTENSIONS as readonly string[]).includes(extensionOf(n)));
    if (single.length === 1) {
      const file = join(path, single[0]);
      return { model: await readModelFile(file, limits), recentPath: file };
    }
    throw new Error(
      single.length > 1
        ? `${path}: this folder holds several models (${single.join(', ')}); choose one of them`
        : `${path}: this folder has no model.json or model file (to open images, choose the images themselves)`,
    );
  }
  const ext = extensionOf(path);
  if ((MODEL_FILE_EXTENSIONS as readonly string[]).includes(ext))
    return { model: await readModelFile(path, limits), recentPath: path };
  if (ext === 'json') {
    // An architecture-edit file (the what-if editor's "Save edits…") is one self-contained JSON, not a model.json.
    if (await isArchitectureEdit(path)) return { model: await readModelFile(path, limits), recentPath: path };
    return { model: await readModelFolder(path, limits), recentPath: path };
  }
  throw new Error(
    `${path}: not a model (expected a TensorFlow.js model.json or its folder, a Keras .h5/.hdf5/.keras file or an ONNX .onnx file)`,
  );
}

/**
 * Reads the files of the dialogs and Recent entries, and remembers each success in the Recent list. Only
 * paths the user chose reach it: dialog results, and Recent entries main recorded, looked up by id.
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

  /**
   * File ▸ Open Model…: a model.json (or, on macOS, its folder), a Keras .h5/.hdf5/.keras or an ONNX file;
   * null when cancelled. The side files the format needs come along (see readModelFile).
   */
  async openModelDialog(parent: BaseWindow | null): Promise<ModelFilesPayload | null> {
    const options: OpenDialogOptions = {
      title: 'Open Model',
      // Only macOS can pick files and folders in one dialog; elsewhere openDirectory would hide the files.
      properties: this.platform === 'darwin' ? ['openFile', 'openDirectory'] : ['openFile'],
      filters: [
        { name: 'Models (model.json, Keras, ONNX, PyTorch)', extensions: ['json', ...MODEL_FILE_EXTENSIONS] },
        { name: 'TensorFlow.js (model.json)', extensions: ['json'] },
        { name: 'Keras (.h5, .hdf5, .keras)', extensions: ['h5', 'hdf5', 'keras'] },
        { name: 'ONNX (.onnx)', extensions: ['onnx'] },
        { name: 'PyTorch state dict (.pth, .pt)', extensions: ['pth', 'pt'] },
      ],
    };
    const result = parent ? await dialog.showOpenDialog(parent, options) : await dialog.showOpenDialog(options);
    if (result.canceled || result.filePaths.length === 0) return null;
    const { model, recentPath } = await readModelAt(result.filePaths[0], this.limits);
    this.state.addRecent('model', model.name, recentPath);
    return model;
  }

  /**
   * Opens a weight file that "Find weights on this computer…" recorded, by id; a forgotten id or a file
   * that is gone gives `{ kind: 'missing' }` (and forgets it). Only the file itself is read.
   */
  async openFound(id: number): Promise<RecentOpenResult> {
    const entry = this.state.getFound(id);
    if (!entry) return { kind: 'missing', message: `There is no found weight file ${id} (the list changed).` };
    try {
      await stat(entry.path);
    } catch {
      this.state.removeFound(id);
      return { kind: 'missing', message: `${entry.path}: no longer exists; removed from the found weights.` };
    }
    await checkMemory(entry.path, this.limits);
    const buf = await readBounded(entry.path, this.limits.maxFileBytes, 'the weights');
    const name = basename(entry.path);
    return {
      kind: 'model',
      model: { name: basename(name, extname(name)), files: [{ path: name, bytes: toArrayBuffer(buf) }] },
    };
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
