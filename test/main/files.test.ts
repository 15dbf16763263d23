import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));
// A spy on every read main makes, to show what is checked before anything is read.
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return { ...real, readFile: vi.fn(real.readFile) };
});

import { readFile } from 'node:fs/promises';

import { dialog, resetFakes } from './fake-electron';
import {
  DEFAULT_LIMITS,
  FileService,
  readImageFile,
  readModelAt,
  readModelFile,
  readModelFolder,
  resolveShardPath,
  sniffImage,
} from '../../main/files';
import { StateStore } from '../../main/state';
import { parseModelJsonFile } from '../../common/model-json';

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

/**
 * A tiny tfjs model folder: model.json naming `paths`, with the given files written. The manifest's one
 * weight is a uint8 vector as long as the named files that exist together (unless `weights` is given).
 */
function modelFolder(
  name: string,
  paths: string[],
  files: Record<string, Buffer | string> = {},
  weights?: { name: string; shape: number[]; dtype: string; quantization?: { dtype: string } }[],
): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const bytes = paths.reduce((n, p) => n + (files[p] === undefined ? 0 : Buffer.byteLength(files[p])), 0);
  const json = {
    format: 'layers-model',
    modelTopology: { class_name: 'Sequential' },
    weightsManifest: [{ paths, weights: weights ?? [{ name: 'w', shape: [bytes], dtype: 'uint8' }] }],
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
    // The same sniffer as the engine's (common/image-header.ts): AVIF is an image to both, and so is a BMP
    // whose header is too short to give its size (the decoder then names the problem).
    expect(sniffImage(Buffer.from('\0\0\0\x1cftypavif\0\0\0\0'))).toBe('avif');
    expect(sniffImage(Buffer.from('BM\0\0\0\0'))).toBe('bmp');
    expect(sniffImage(Buffer.from('<!doctype html>'))).toBeNull();
    expect(sniffImage(new Uint8Array())).toBeNull();
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
  it('accepts plain file names in the folder', () => {
    expect(resolveShardPath('/m', 'group1-shard1of2.bin', '/m/model.json')).toBe(join('/m', 'group1-shard1of2.bin'));
    expect(resolveShardPath('/m', '..weights.bin', '/m/model.json')).toBe(join('/m', '..weights.bin'));
  });

  it.each([
    ['../x', 'climbs out'],
    ['../secret.bin', 'climbs out'],
    ['weights/../../secret.bin', 'climbs out'],
    ['.ssh/id_rsa', 'subfolder'],
    ['./weights/a.bin', 'subfolder'],
    ['./a.bin', 'subfolder'],
    ['sub/b.bin', 'subfolder'],
    ['/etc/passwd', 'absolute'],
    ['C:/Windows/win.ini', 'absolute'],
    ['..\\secret.bin', 'backslash'],
    ['https://example.com/w.bin', 'URL'],
    ['a\0.bin', 'NUL'],
    ['', 'empty'],
    ['.', 'not a file name'],
    ['..', 'climbs out'],
  ])('refuses %s, naming the model file and the path', (shard, why) => {
    expect(() => resolveShardPath('/m', shard, '/m/model.json')).toThrow(why);
    expect(() => resolveShardPath('/m', shard, '/m/model.json')).toThrow(`/m/model.json: weight file "${shard}"`);
  });
});

describe('the model.json reader main shares with the engine (common/model-json.ts)', () => {
  const json = (weights: unknown[]) =>
    JSON.stringify({ modelTopology: { class_name: 'Sequential' }, weightsManifest: [{ paths: ['a.bin'], weights }] });
  it('says how many bytes a group needs: shapes × dtype sizes, quantization included; null for strings', () => {
    const weights = [
      { name: 'k', shape: [3, 3, 3, 32], dtype: 'float32' },
      { name: 'b', shape: [32], dtype: 'int32' },
      { name: 'q', shape: [10, 10], dtype: 'float32', quantization: { dtype: 'uint8' } },
      { name: 'h', shape: [5], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'm', shape: [7], dtype: 'bool' },
      { name: 's', shape: [], dtype: 'float32' },
    ];
    expect(parseModelJsonFile(json(weights), 'model.json').groupBytes).toEqual([864 * 4 + 32 * 4 + 100 + 10 + 7 + 4]);
    expect(parseModelJsonFile(json([{ name: 't', shape: [2], dtype: 'string' }]), 'model.json').groupBytes).toEqual([
      null,
    ]);
    expect(() =>
      parseModelJsonFile(json([{ name: 'x', shape: [1], dtype: 'float64' }]), 'm.json', '/m/m.json'),
    ).toThrow(`/m/m.json: weight 'x' has an unknown dtype "float64"`);
  });
});

describe('readModelFolder', () => {
  beforeEach(() => {
    vi.mocked(readFile).mockClear();
  });
  const readPaths = () => vi.mocked(readFile).mock.calls.map((c) => String(c[0]));

  it('reads the bundled MobileNetV2 model.json and its shard', async () => {
    const model = await readModelFolder(bundledModel);
    expect(model.name).toBe('mobilenetv2');
    expect(model.files.map((f) => f.path)).toEqual(['model.json', 'group1-shard1of1.bin']);
    expect(model.files[1].bytes.byteLength).toBe(
      readFileSync(join(bundledModel, '../group1-shard1of1.bin')).byteLength,
    );
  });

  it('reads several shards of a group whose sizes add up to the float32 weights', async () => {
    const json = modelFolder('net', ['a.bin', 'b.bin'], { 'a.bin': Buffer.alloc(16, 1), 'b.bin': Buffer.alloc(8, 2) }, [
      { name: 'k', shape: [2, 2], dtype: 'float32' },
      { name: 'b', shape: [2], dtype: 'float32' },
    ]);
    const model = await readModelFolder(json);
    expect(model.files.map((f) => [f.path, f.bytes.byteLength])).toEqual([
      ['model.json', readFileSync(json).byteLength],
      ['a.bin', 16],
      ['b.bin', 8],
    ]);
  });

  it('refuses a manifest naming .ssh/id_rsa or ../x, naming the model file and the path, and reads nothing else', async () => {
    mkdirSync(join(dir, 'home', '.ssh'), { recursive: true });
    writeFileSync(join(dir, 'home', '.ssh', 'id_rsa'), 'PRIVATE KEY');
    const json = modelFolder('home', ['.ssh/id_rsa']);
    await expect(readModelFolder(json)).rejects.toThrow(`${json}: weight file ".ssh/id_rsa" is in a subfolder`);
    writeFileSync(join(dir, 'x'), 'secret');
    const up = modelFolder('evil', ['../x']);
    await expect(readModelFolder(up)).rejects.toThrow(`${up}: weight path '../x' escapes the model's folder`);
    const abs = modelFolder('evil2', [join(dir, 'x')]);
    await expect(readModelFolder(abs)).rejects.toThrow(
      `${abs}: weight path '${join(dir, 'x')}' escapes the model's folder`,
    );
    expect(readPaths()).toEqual([json, up, abs]);
  });

  it('refuses a shard that is a symlink to a file outside the folder', async () => {
    writeFileSync(join(dir, 'secret.bin'), 'secret');
    const json = modelFolder('linked', ['w.bin'], {}, [{ name: 'w', shape: [6], dtype: 'uint8' }]);
    symlinkSync(join(dir, 'secret.bin'), join(dir, 'linked', 'w.bin'));
    await expect(readModelFolder(json)).rejects.toThrow(`${json}: weight file "w.bin" links outside`);
    expect(readPaths()).toEqual([json]);
  });

  it('checks the shard sizes against the manifest before reading any shard', async () => {
    const json = modelFolder('mismatch', ['a.bin', 'b.bin'], { 'a.bin': Buffer.alloc(40), 'b.bin': Buffer.alloc(1) }, [
      { name: 'k', shape: [10], dtype: 'float32' },
    ]);
    await expect(readModelFolder(json)).rejects.toThrow(
      `${json}: weight group 1 (a.bin, b.bin) holds 41 bytes, but its weights' shapes and dtypes need 40`,
    );
    expect(readPaths()).toEqual([json]);
  });

  it('refuses a shard named twice, a group without weights, and shards that are not files', async () => {
    const twice = modelFolder('twice', ['a.bin', 'a.bin'], { 'a.bin': Buffer.alloc(4) });
    await expect(readModelFolder(twice)).rejects.toThrow(`${twice}: weight file "a.bin" is named twice`);
    const noWeights = join(dir, 'no-weights.json');
    writeFileSync(
      noWeights,
      JSON.stringify({ modelTopology: { class_name: 'Sequential' }, weightsManifest: [{ paths: ['a.bin'] }] }),
    );
    await expect(readModelFolder(noWeights)).rejects.toThrow(
      `${noWeights}: weightsManifest group 1 needs "paths" and "weights" lists`,
    );
    const dirShard = modelFolder('dir-shard', ['sub']);
    mkdirSync(join(dir, 'dir-shard', 'sub'));
    await expect(readModelFolder(dirShard)).rejects.toThrow(`${dirShard}: weight file "sub" is not a regular file`);
  });

  it('names the missing shard, bad JSON and non-model JSON', async () => {
    const missing = modelFolder('missing', ['gone.bin']);
    await expect(readModelFolder(missing)).rejects.toThrow(`${missing}: weight file "gone.bin" is missing`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    await expect(readModelFolder(bad)).rejects.toThrow(new RegExp(`^${bad}: not valid JSON`));
    const pkg = join(dir, 'package.json');
    writeFileSync(pkg, '{"name":"x"}');
    await expect(readModelFolder(pkg)).rejects.toThrow(`${pkg}: not a tfjs model (no "modelTopology"`);
    const wrong = join(dir, 'wrong.json');
    writeFileSync(
      wrong,
      '{"modelTopology":{"class_name":"Sequential"},"weightsManifest":[{"paths":"a.bin","weights":[]}]}',
    );
    await expect(readModelFolder(wrong)).rejects.toThrow(
      `${wrong}: weightsManifest group 1 needs "paths" and "weights"`,
    );
  });

  it('enforces the total and per-file size limits before reading', async () => {
    const json = modelFolder('big', ['a.bin', 'b.bin'], { 'a.bin': Buffer.alloc(600), 'b.bin': Buffer.alloc(600) });
    await expect(readModelFolder(json, { ...DEFAULT_LIMITS, maxModelBytes: 1000 })).rejects.toThrow(
      `${json}: the model's files add up to more than the limit of 1000 bytes`,
    );
    await expect(readModelFolder(json, { ...DEFAULT_LIMITS, maxFileBytes: 500 })).rejects.toThrow(
      `${json}: weight file "a.bin" is 600 bytes, more than the limit of 500 bytes`,
    );
    expect(readPaths()).toEqual([json, json]);
  });

  it('sends labels.txt, classes.txt and metadata.json next to the model.json, each capped', async () => {
    const json = modelFolder('tm', ['weights.bin'], {
      'weights.bin': Buffer.alloc(4),
      'metadata.json': '{"labels":["a","b"]}',
      'labels.txt': 'a\nb\n',
      'notes.txt': 'not sent',
    });
    const model = await readModelFolder(json);
    expect(model.files.map((f) => f.path)).toEqual(['model.json', 'weights.bin', 'labels.txt', 'metadata.json']);
    await expect(readModelFolder(json, { ...DEFAULT_LIMITS, maxSidecarBytes: 5 })).rejects.toThrow(
      /labels\.txt: "labels\.txt" is 4 bytes|metadata\.json: "metadata\.json" is 20 bytes, more than the limit of 5 bytes/,
    );
    rmSync(join(dir, 'tm', 'labels.txt'));
    writeFileSync(join(dir, 'elsewhere.txt'), 'secret');
    symlinkSync(join(dir, 'elsewhere.txt'), join(dir, 'tm', 'labels.txt'));
    await expect(readModelFolder(json)).rejects.toThrow(`${json}: "labels.txt" links outside`);
  });
});

describe('readModelFile / readModelAt', () => {
  it('sends a Keras file as it is (the engine recognises formats by content), without *.data files', async () => {
    const h5 = join(dir, 'net.h5');
    writeFileSync(h5, Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    writeFileSync(join(dir, 'other.data'), 'x');
    const m = await readModelFile(h5);
    expect(m.name).toBe('net');
    expect(m.files.map((f) => f.path)).toEqual(['net.h5']);
    expect(Buffer.from(m.files[0].bytes).equals(readFileSync(h5))).toBe(true);
  });

  it('sends an ONNX file with every *.data file and the labels next to it, within the limits', async () => {
    const folder = join(dir, 'onnx');
    mkdirSync(folder);
    writeFileSync(join(folder, 'resnet.onnx'), Buffer.alloc(10));
    writeFileSync(join(folder, 'resnet.onnx.data'), Buffer.alloc(100));
    writeFileSync(join(folder, 'weights.data'), Buffer.alloc(50));
    writeFileSync(join(folder, 'classes.txt'), 'a\n');
    writeFileSync(join(folder, 'readme.md'), 'not sent');
    const m = await readModelFile(join(folder, 'resnet.onnx'));
    expect(m.files.map((f) => [f.path, f.bytes.byteLength])).toEqual([
      ['resnet.onnx', 10],
      ['classes.txt', 2],
      ['resnet.onnx.data', 100],
      ['weights.data', 50],
    ]);
    await expect(readModelFile(join(folder, 'resnet.onnx'), { ...DEFAULT_LIMITS, maxModelBytes: 100 })).rejects.toThrow(
      `${join(folder, 'resnet.onnx')}: the model's files add up to more than the limit of 100 bytes`,
    );
    await expect(readModelFile(join(folder, 'resnet.onnx'), { ...DEFAULT_LIMITS, maxFileBytes: 5 })).rejects.toThrow(
      `${join(folder, 'resnet.onnx')}: the model is 10 bytes, more than the limit of 5 bytes`,
    );
  });

  it('accepts a folder holding model.json or exactly one model file, and says when there is none', async () => {
    const json = modelFolder('folder-model', ['a.bin'], { 'a.bin': Buffer.alloc(4) });
    const { model, recentPath } = await readModelAt(join(dir, 'folder-model'));
    expect(model.name).toBe('folder-model');
    expect(recentPath).toBe(json);
    mkdirSync(join(dir, 'one'));
    writeFileSync(join(dir, 'one', 'm.keras'), Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    writeFileSync(join(dir, 'one', 'labels.txt'), 'a');
    const one = await readModelAt(join(dir, 'one'));
    expect(one.recentPath).toBe(join(dir, 'one', 'm.keras'));
    expect(one.model.files.map((f) => f.path)).toEqual(['m.keras', 'labels.txt']);
    writeFileSync(join(dir, 'one', 'n.onnx'), 'x');
    await expect(readModelAt(join(dir, 'one'))).rejects.toThrow(/holds several models \(m\.keras, n\.onnx\)/);
    mkdirSync(join(dir, 'empty'));
    await expect(readModelAt(join(dir, 'empty'))).rejects.toThrow(/empty: this folder has no model.json or model file/);
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

  it('Open Model: offers model.json, Keras and ONNX files (and folders on macOS)', async () => {
    await files.openModelDialog(null);
    const options = dialog.showOpenDialog.mock.calls[0][0] as {
      filters: { extensions: string[] }[];
      properties: string[];
    };
    expect(options.filters[0].extensions.sort()).toEqual(['h5', 'hdf5', 'json', 'keras', 'onnx', 'pt', 'pth']);
    expect(options.properties).toEqual(['openFile']);
    const mac = new FileService(state, DEFAULT_LIMITS, 'darwin');
    await mac.openModelDialog(null);
    expect((dialog.showOpenDialog.mock.calls[1][0] as { properties: string[] }).properties).toEqual([
      'openFile',
      'openDirectory',
    ]);
  });

  it('Open Model: an ONNX file comes with its external data and labels, remembered as recent', async () => {
    const folder = join(dir, 'onnx');
    mkdirSync(folder);
    writeFileSync(join(folder, 'net.onnx'), Buffer.from([8, 7, 18, 4]));
    writeFileSync(join(folder, 'net.onnx.data'), Buffer.alloc(16));
    writeFileSync(join(folder, 'labels.txt'), 'cat\ndog\n');
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [join(folder, 'net.onnx')] });
    const model = await files.openModelDialog(null);
    expect(model!.files.map((f) => f.path)).toEqual(['net.onnx', 'labels.txt', 'net.onnx.data']);
    expect(state.recentList()[0]).toMatchObject({ kind: 'model', name: 'net', path: join(folder, 'net.onnx') });
  });

  it('Open Model: a bad manifest is an error naming the model file and the path', async () => {
    const json = modelFolder('ssh', ['.ssh/id_rsa']);
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [json] });
    await expect(files.openModelDialog(null)).rejects.toThrow(`${json}: weight file ".ssh/id_rsa" is in a subfolder`);
    expect(state.recentList()).toEqual([]);
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

describe('readModelAt: what-if editor files', () => {
  it('reads an architecture-edit .json as one file (not as a tfjs model.json with shards)', async () => {
    const edit = join(dir, 'vgg16-gap.json');
    writeFileSync(
      edit,
      JSON.stringify({
        format: 'feature-map-explorer/architecture-edit',
        version: 1,
        base: 'vgg16',
        preset: 'vgg16-gap',
      }),
    );
    const { model, recentPath } = await readModelAt(edit);
    expect(recentPath).toBe(edit);
    expect(model.files.map((f) => f.path)).toEqual(['vgg16-gap.json']);
    // Any other JSON still goes to the model.json reader, which names what is wrong.
    const other = join(dir, 'other.json');
    writeFileSync(other, '{"name":"x"}');
    await expect(readModelAt(other)).rejects.toThrow(`${other}: not a tfjs model`);
  });
});
