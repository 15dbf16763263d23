import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));

import { dialog, resetFakes } from './fake-electron';
import {
  DEFAULT_LIMITS,
  FileService,
  readImageFile,
  readKerasFile,
  readModelAt,
  readModelFolder,
  resolveShardPath,
  sniffImage,
  sniffKeras,
} from '../../main/files';
import { StateStore } from '../../main/state';

const samples = resolve(__dirname, '../../resources/samples');
const bundledModel = resolve(__dirname, '../../resources/models/mobilenetv2/model.json');
const PNG = readFileSync(join(samples, 'chelsea.png'));
const JPEG = readFileSync(join(samples, 'rocket.jpg'));

let dir: string;

beforeEach(() => {
  resetFakes();
  dir = mkdtempSync(join(tmpdir(), 'fme-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A tiny tfjs model folder: model.json naming `paths`, with the given files written. */
function modelFolder(name: string, paths: string[], files: Record<string, Buffer | string> = {}): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const json = {
    format: 'layers-model',
    modelTopology: { class_name: 'Sequential' },
    weightsManifest: [{ paths, weights: [] }],
  };
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(folder, rel, '..'), { recursive: true });
    writeFileSync(join(folder, rel), content);
  }
  return join(folder, 'model.json');
}

describe('sniffing', () => {
  it('recognises the sample photos by their bytes and refuses text', () => {
    expect(sniffImage(PNG)).toBe('png');
    expect(sniffImage(JPEG)).toBe('jpeg');
    expect(sniffImage(Buffer.from('GIF89a......'))).toBe('gif');
    expect(sniffImage(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(sniffImage(Buffer.from('<!doctype html>'))).toBeNull();
    expect(sniffImage(new Uint8Array())).toBeNull();
  });

  it('recognises Keras HDF5 and zip files', () => {
    expect(sniffKeras(Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe('hdf5');
    expect(sniffKeras(Buffer.from([0x50, 0x4b, 0x03, 0x04]))).toBe('zip');
    expect(sniffKeras(PNG)).toBeNull();
  });
});

describe('readImageFile', () => {
  it('returns the base name and exactly the bytes', async () => {
    const f = await readImageFile(join(samples, 'chelsea.png'));
    expect(f.name).toBe('chelsea.png');
    expect(f.bytes).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(f.bytes).equals(PNG)).toBe(true);
  });

  it('refuses a renamed text file, naming the file and what it starts with', async () => {
    const p = join(dir, 'notes.png');
    writeFileSync(p, 'hello world, not a picture');
    await expect(readImageFile(p)).rejects.toThrow(
      `${p}: named like an image but its bytes are not PNG, JPEG, GIF, WebP or BMP (starts with 68 65 6c 6c 6f 20 77 6f)`,
    );
  });

  it('refuses other extensions, missing files, folders and files over the limit', async () => {
    const txt = join(dir, 'a.txt');
    writeFileSync(txt, PNG);
    await expect(readImageFile(txt)).rejects.toThrow(/a\.txt: not an image file/);
    await expect(readImageFile(join(dir, 'gone.png'))).rejects.toThrow(/gone\.png: file not found/);
    mkdirSync(join(dir, 'folder.png'));
    await expect(readImageFile(join(dir, 'folder.png'))).rejects.toThrow(/folder\.png: not a file/);
    await expect(
      readImageFile(join(samples, 'chelsea.png'), { ...DEFAULT_LIMITS, maxImageBytes: 1000 }),
    ).rejects.toThrow(/chelsea\.png: the image is .* more than the limit of 1000 bytes/);
  });
});

describe('resolveShardPath', () => {
  it('accepts plain relative paths inside the folder', () => {
    expect(resolveShardPath('/m', 'group1-shard1of2.bin', '/m/model.json')).toBe(resolve('/m/group1-shard1of2.bin'));
    expect(resolveShardPath('/m', './weights/a.bin', '/m/model.json')).toBe(resolve('/m/weights/a.bin'));
  });

  it.each([
    ['../secret.bin', 'climbs out'],
    ['weights/../../secret.bin', 'climbs out'],
    ['/etc/passwd', 'absolute'],
    ['C:/Windows/win.ini', 'absolute'],
    ['..\\secret.bin', 'backslash'],
    ['https://example.com/w.bin', 'URL'],
    ['a\0.bin', 'NUL'],
    ['', 'empty'],
    ['a//b.bin', 'empty'],
  ])('refuses %s', (shard, why) => {
    expect(() => resolveShardPath('/m', shard, '/m/model.json')).toThrow(why);
    expect(() => resolveShardPath('/m', shard, '/m/model.json')).toThrow('/m/model.json');
  });
});

describe('readModelFolder', () => {
  it('reads the bundled MobileNetV2 model.json and its shard', async () => {
    const model = await readModelFolder(bundledModel);
    expect(model.name).toBe('mobilenetv2');
    expect(model.files.map((f) => f.path)).toEqual(['model.json', 'group1-shard1of1.bin']);
    expect(model.files[1].bytes.byteLength).toBe(
      readFileSync(join(bundledModel, '../group1-shard1of1.bin')).byteLength,
    );
  });

  it('reads shards in subfolders once each, with folder-relative paths', async () => {
    const json = modelFolder('net', ['a.bin', './sub/b.bin', 'a.bin'], {
      'a.bin': Buffer.alloc(4, 1),
      'sub/b.bin': Buffer.alloc(8, 2),
    });
    const model = await readModelFolder(json);
    expect(model.files.map((f) => [f.path, f.bytes.byteLength])).toEqual([
      ['model.json', readFileSync(json).byteLength],
      ['a.bin', 4],
      ['sub/b.bin', 8],
    ]);
  });

  it('refuses a manifest path that escapes the folder and reads nothing outside', async () => {
    writeFileSync(join(dir, 'secret.bin'), 'secret');
    const json = modelFolder('evil', ['../secret.bin']);
    await expect(readModelFolder(json)).rejects.toThrow(`${json}: weight file "../secret.bin" climbs out with ".."`);
    const abs = modelFolder('evil2', [join(dir, 'secret.bin')]);
    await expect(readModelFolder(abs)).rejects.toThrow(/is an absolute path/);
  });

  it('refuses a shard that is a symlink to a file outside the folder', async () => {
    writeFileSync(join(dir, 'secret.bin'), 'secret');
    const json = modelFolder('linked', ['w.bin']);
    symlinkSync(join(dir, 'secret.bin'), join(dir, 'linked', 'w.bin'));
    await expect(readModelFolder(json)).rejects.toThrow(/weight file "w.bin" links outside/);
  });

  it('names the missing shard, bad JSON and non-model JSON', async () => {
    const missing = modelFolder('missing', ['gone.bin']);
    await expect(readModelFolder(missing)).rejects.toThrow(`${missing}: weight file "gone.bin" is missing`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    await expect(readModelFolder(bad)).rejects.toThrow(new RegExp(`^${bad}: not valid JSON`));
    const pkg = join(dir, 'package.json');
    writeFileSync(pkg, '{"name":"x"}');
    await expect(readModelFolder(pkg)).rejects.toThrow(
      /not a TensorFlow.js model.json \(it has neither modelTopology nor weightsManifest\)/,
    );
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, '{"modelTopology":{},"weightsManifest":[{"paths":"a.bin"}]}');
    await expect(readModelFolder(wrong)).rejects.toThrow(/not a TensorFlow.js model.json/);
  });

  it('enforces the total size limit', async () => {
    const json = modelFolder('big', ['a.bin', 'b.bin'], { 'a.bin': Buffer.alloc(600), 'b.bin': Buffer.alloc(600) });
    await expect(readModelFolder(json, { ...DEFAULT_LIMITS, maxModelBytes: 1000 })).rejects.toThrow(
      /add up to more than the limit/,
    );
  });
});

describe('readKerasFile / readModelAt', () => {
  it('reads an HDF5 .h5 and refuses a mislabelled one', async () => {
    const h5 = join(dir, 'net.h5');
    writeFileSync(h5, Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    const m = await readKerasFile(h5);
    expect(m).toMatchObject({ name: 'net', files: [{ path: 'net.h5' }] });
    const fake = join(dir, 'fake.keras');
    writeFileSync(fake, Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
    await expect(readKerasFile(fake)).rejects.toThrow(/fake\.keras: not a Keras \.keras \(zip\) file/);
  });

  it('accepts a folder holding model.json and says when there is none', async () => {
    const json = modelFolder('folder-model', ['a.bin'], { 'a.bin': Buffer.alloc(4) });
    const { model, recentPath } = await readModelAt(join(dir, 'folder-model'));
    expect(model.name).toBe('folder-model');
    expect(recentPath).toBe(json);
    mkdirSync(join(dir, 'empty'));
    await expect(readModelAt(join(dir, 'empty'))).rejects.toThrow(/empty: this folder has no model.json/);
    await expect(readModelAt(join(samples, 'chelsea.png'))).rejects.toThrow(/chelsea\.png: not a model/);
  });
});

describe('FileService', () => {
  let state: StateStore;
  let files: FileService;

  beforeEach(() => {
    state = StateStore.load(join(dir, 'user-data'), { log: () => {} });
    files = new FileService(state, DEFAULT_LIMITS, 'linux');
  });

  it('Open Image: null on cancel; the chosen images (base names only) otherwise, remembered as recent', async () => {
    expect(await files.openImageDialog(null)).toBeNull();
    dialog.showOpenDialog.mockResolvedValueOnce({
      canceled: false,
      filePaths: [join(samples, 'chelsea.png'), join(samples, 'rocket.jpg')],
    });
    const opened = await files.openImageDialog(null);
    expect(opened!.map((f) => f.name)).toEqual(['chelsea.png', 'rocket.jpg']);
    const options = dialog.showOpenDialog.mock.calls[1][0] as {
      filters: { extensions: string[] }[];
      properties: string[];
    };
    expect(options.filters[0].extensions).toContain('png');
    expect(options.properties).toContain('multiSelections');
    expect(state.recentList().map((r) => r.name)).toEqual(['rocket.jpg', 'chelsea.png']);
  });

  it('Open Image: an unreadable choice is an error naming the file', async () => {
    const p = join(dir, 'broken.jpg');
    writeFileSync(p, 'not a jpeg');
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [p] });
    await expect(files.openImageDialog(null)).rejects.toThrow(`${p}: named like an image`);
  });

  it('Open Model: reads the picked model.json and its shards, remembered as recent', async () => {
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [bundledModel] });
    const model = await files.openModelDialog(null);
    expect(model!.files.map((f) => f.path)).toEqual(['model.json', 'group1-shard1of1.bin']);
    expect(state.recentList()[0]).toMatchObject({ kind: 'model', name: 'mobilenetv2', path: bundledModel });
  });

  it('readDropped: images are read, other files reported by name', async () => {
    const txt = join(dir, 'notes.txt');
    writeFileSync(txt, 'hi');
    const result = await files.readDropped([join(samples, 'coffee.png'), txt, join(dir, 'gone.png'), 'relative.png']);
    expect(result.kind).toBe('images');
    if (result.kind !== 'images') return;
    expect(result.files.map((f) => f.name)).toEqual(['coffee.png']);
    // Missing paths first (in drop order), then files that could not be read.
    expect(result.errors).toEqual([
      `${join(dir, 'gone.png')}: not found`,
      'relative.png: not an absolute path',
      `${txt}: not an image file (expected png, jpg, jpeg, webp, gif, bmp; got ".txt")`,
    ]);
  });

  it('readDropped: a dropped model folder or model.json (with its shards) is a model', async () => {
    const json = modelFolder('dropped', ['w.bin'], { 'w.bin': Buffer.alloc(12) });
    const asFolder = await files.readDropped([join(dir, 'dropped')]);
    expect(asFolder).toMatchObject({ kind: 'model', errors: [] });
    const withShard = await files.readDropped([json, join(dir, 'dropped', 'w.bin')]);
    expect(withShard.kind).toBe('model');
    expect(withShard.errors).toEqual([]);
    const withImage = await files.readDropped([json, join(samples, 'coffee.png')]);
    expect(withImage.errors).toEqual([`${join(samples, 'coffee.png')}: ignored; a model was dropped with it`]);
  });

  it('readDropped: a model whose manifest escapes its folder is refused; the images still load', async () => {
    writeFileSync(join(dir, 'secret.bin'), 'secret');
    const json = modelFolder('evil', ['../secret.bin']);
    const result = await files.readDropped([json, join(samples, 'coffee.png')]);
    expect(result.kind).toBe('images');
    expect(result.errors[0]).toContain('"../secret.bin" climbs out');
    if (result.kind === 'images') expect(result.files.map((f) => f.name)).toEqual(['coffee.png']);
  });

  it('readDropped: a folder without a model is reported, its contents are not read', async () => {
    mkdirSync(join(dir, 'photos'));
    writeFileSync(join(dir, 'photos', 'a.png'), PNG);
    const result = await files.readDropped([join(dir, 'photos')]);
    expect(result).toEqual({
      kind: 'images',
      files: [],
      errors: [
        `${join(dir, 'photos')}: this folder has no model.json (to open images, choose or drop the images themselves)`,
      ],
    });
  });

  it('openRecent reopens by id, and reports a vanished file or unknown id as missing', async () => {
    const copy = join(dir, 'copy.png');
    writeFileSync(copy, PNG);
    const entry = state.addRecent('image', 'copy.png', copy);
    const model = state.addRecent('model', 'mobilenetv2', bundledModel);
    const again = await files.openRecent(entry.id);
    expect(again.kind).toBe('image');
    if (again.kind === 'image') expect(again.files[0].name).toBe('copy.png');
    expect((await files.openRecent(model.id)).kind).toBe('model');
    expect(await files.openRecent(999)).toEqual({
      kind: 'missing',
      message: 'There is no recent entry 999 (the list changed).',
    });
    rmSync(copy);
    expect(await files.openRecent(entry.id)).toEqual({
      kind: 'missing',
      message: `${copy}: no longer exists; removed from Recent.`,
    });
    expect(state.getRecent(entry.id)).toBeUndefined();
  });
});
