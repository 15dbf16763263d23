import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));

import type { IpcMainInvokeEvent } from 'electron';
import { app, FakeBrowserWindow, ipcMain, resetFakes, type FakeWebContents } from './fake-electron';
import { ExplorerApp } from '../../main/app';
import { cacheFolders, findWeights, recogniseCacheName, sniffWeightFile } from '../../main/weights-finder';
import { Invoke, type FoundWeights, type WireRecentOpenResult } from '../../common/ipc-contract';

const KERAS_H5 = resolve(__dirname, '../fixtures/models/kh5-ayaan-gtsrb-bn.h5');

let dir: string;
beforeEach(() => {
  resetFakes();
  dir = mkdtempSync(join(tmpdir(), 'fme-weights-'));
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

/** Real checkpoints written by PyTorch itself: zip (torch ≥ 1.6) unless a path ends in "#legacy". One python run. */
function torchSave(...paths: string[]): void {
  execFileSync('/usr/bin/python3', [
    '-c',
    'import sys, torch\nfor p in sys.argv[1:]:\n' +
      '    torch.save({"conv1.weight": torch.zeros(4, 3, 3, 3)}, p.split("#")[0], ' +
      '_use_new_zipfile_serialization=not p.endswith("#legacy"))',
    ...paths,
  ]);
}

describe('recogniseCacheName', () => {
  it.each([
    ['resnet50-0676ba61.pth', 'ResNet-50 — ImageNet (torchvision file)'],
    ['resnet50-11ad3fa6.pth', 'ResNet-50 — ImageNet (torchvision file)'],
    ['alexnet-owt-7be5be79.pth', 'AlexNet — ImageNet (torchvision file)'],
    ['vgg16-397923af.pth', 'VGG-16 — ImageNet (torchvision file)'],
    ['vgg16_bn-6c64b313.pth', 'VGG-16 (BatchNorm) — ImageNet (torchvision file)'],
    ['googlenet-1378be20.pth', 'GoogLeNet — ImageNet (torchvision file)'],
    ['densenet121-a639ec97.pth', 'DenseNet-121 — ImageNet (torchvision file)'],
    ['mobilenet_v2-b0353104.pth', 'MobileNetV2 — ImageNet (torchvision file)'],
    ['inception_v3_google-0cc3c7bd.pth', 'Inception-v3 — ImageNet (torchvision file)'],
    ['vgg16_weights_tf_dim_ordering_tf_kernels.h5', 'VGG-16 — ImageNet (Keras Applications file)'],
    [
      'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
      'VGG-16 — ImageNet backbone, no head (Keras Applications file)',
    ],
    [
      'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5',
      'MobileNetV2 — ImageNet backbone, no head (Keras Applications file)',
    ],
    ['densenet121_weights_tf_dim_ordering_tf_kernels.h5', 'DenseNet-121 — ImageNet (Keras Applications file)'],
    ['my-model.pth', null],
    ['efficientnet_b0_rwightman-3dd342df.pth', null],
  ])('%s → %s', (name, label) => {
    const r = recogniseCacheName(name);
    expect(r ? `${r.architecture} — ${r.variant}` : null).toBe(label);
  });
});

describe('cacheFolders', () => {
  it('follows TORCH_HOME, XDG_CACHE_HOME and KERAS_HOME, and always looks in the defaults too', () => {
    expect(cacheFolders({}, '/home/u').map((f) => f.dir)).toEqual([
      '/home/u/.cache/torch/hub/checkpoints',
      '/home/u/.keras/models',
    ]);
    expect(cacheFolders({ TORCH_HOME: '/t', KERAS_HOME: '/k' }, '/home/u').map((f) => f.dir)).toEqual([
      '/t/hub/checkpoints',
      '/home/u/.cache/torch/hub/checkpoints',
      '/k/models',
      '/home/u/.keras/models',
    ]);
    expect(cacheFolders({ XDG_CACHE_HOME: '/x' }, '/home/u')[0].dir).toBe('/x/torch/hub/checkpoints');
  });
});

describe('findWeights', () => {
  it('lists real torch and Keras files directly in the caches, and nothing else', async () => {
    const torchDir = join(dir, 'torch', 'hub', 'checkpoints');
    const kerasDir = join(dir, 'keras', 'models');
    mkdirSync(join(torchDir, 'sub'), { recursive: true });
    mkdirSync(kerasDir, { recursive: true });
    // The one in sub/ is not directly inside a cache: not listed.
    torchSave(
      join(torchDir, 'resnet50-0676ba61.pth'),
      `${join(torchDir, 'my-finetuned.pt')}#legacy`,
      join(torchDir, 'sub', 'vgg16-397923af.pth'),
    );
    writeFileSync(join(torchDir, 'notes-0676ba61.pth'), 'this is a text file, not weights');
    writeFileSync(join(torchDir, 'README.txt'), 'x'.repeat(100));
    mkdirSync(join(torchDir, 'folder.pth'));
    copyFileSync(KERAS_H5, join(kerasDir, 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'));
    symlinkSync(KERAS_H5, join(kerasDir, 'resnet50_weights_tf_dim_ordering_tf_kernels.h5'));

    const found = await findWeights([
      { dir: torchDir, library: 'torchvision' },
      { dir: join(dir, 'missing'), library: 'torchvision' },
      { dir: kerasDir, library: 'keras' },
    ]);
    expect(found.map((f) => [f.name, f.label])).toEqual([
      ['resnet50_weights_tf_dim_ordering_tf_kernels.h5', 'ResNet-50 — ImageNet (Keras Applications file)'],
      ['resnet50-0676ba61.pth', 'ResNet-50 — ImageNet (torchvision file)'],
      [
        'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
        'VGG-16 — ImageNet backbone, no head (Keras Applications file)',
      ],
      ['my-finetuned.pt', 'my-finetuned.pt (torchvision cache)'],
    ]);
    expect(found.find((f) => f.name === 'my-finetuned.pt')!.size).toBe(
      readFileSync(join(torchDir, 'my-finetuned.pt')).byteLength,
    );
  });

  it('tells the containers apart by their first bytes', () => {
    const zip = join(dir, 'a.pth');
    const legacy = join(dir, 'b.pth');
    torchSave(zip, `${legacy}#legacy`);
    expect(sniffWeightFile(readFileSync(zip).subarray(0, 8))).toBe('zip');
    expect(sniffWeightFile(readFileSync(legacy).subarray(0, 8))).toBe('pickle');
    expect(sniffWeightFile(readFileSync(KERAS_H5).subarray(0, 8))).toBe('hdf5');
    expect(sniffWeightFile(new TextEncoder().encode('{"a": 1}'))).toBeNull();
  });
});

describe('Find weights on this computer (through IPC)', () => {
  const eventFrom = (contents: FakeWebContents) =>
    ({ sender: contents, senderFrame: contents.mainFrame }) as unknown as IpcMainInvokeEvent;

  function startApp() {
    const paths = {
      rendererRoot: join(dir, 'out/renderer'),
      resourcesRoot: join(dir, 'resources'),
      preloadUi: join(dir, 'out/preload/index.cjs'),
      preloadInference: join(dir, 'out/preload/inference.cjs'),
    };
    mkdirSync(paths.rendererRoot, { recursive: true });
    const explorer = new ExplorerApp({ paths, isPackaged: false, platform: 'linux', log: () => {} });
    explorer.start();
    return { explorer, ui: FakeBrowserWindow.instances[1] };
  }

  it('searches only when asked, remembers what it found across runs, and opens a found file by id', async () => {
    vi.stubEnv('HOME', join(dir, 'home'));
    vi.stubEnv('TORCH_HOME', '');
    vi.stubEnv('XDG_CACHE_HOME', '');
    vi.stubEnv('KERAS_HOME', '');
    app.userData = join(dir, 'user-data');
    const checkpoints = join(dir, 'home', '.cache', 'torch', 'hub', 'checkpoints');
    mkdirSync(checkpoints, { recursive: true });
    const file = join(checkpoints, 'resnet18-f37072fd.pth');
    torchSave(file);

    const { explorer, ui } = startApp();
    await expect(ipcMain.invoke(Invoke.foundWeights, eventFrom(ui.webContents))).resolves.toEqual([]);
    const found = (await ipcMain.invoke(Invoke.findWeights, eventFrom(ui.webContents))) as FoundWeights[];
    expect(found).toEqual([
      expect.objectContaining({ name: 'resnet18-f37072fd.pth', label: 'ResNet-18 — ImageNet (torchvision file)' }),
    ]);
    const opened = (await ipcMain.invoke(
      Invoke.openFoundWeights,
      eventFrom(ui.webContents),
      found[0].id,
    )) as WireRecentOpenResult;
    expect(opened.kind).toBe('model');
    if (opened.kind !== 'model') return;
    expect(opened.model.files).toHaveLength(1);
    const f = opened.model.files[0];
    expect(f.path).toBe('resnet18-f37072fd.pth');
    expect('bytes' in f && Buffer.from(f.bytes).equals(readFileSync(file))).toBe(true);
    // An id main never gave out, or a payload of the wrong shape, is refused.
    await expect(ipcMain.invoke(Invoke.openFoundWeights, eventFrom(ui.webContents), 999)).resolves.toMatchObject({
      kind: 'missing',
    });
    await expect(ipcMain.invoke(Invoke.openFoundWeights, eventFrom(ui.webContents), '/etc/passwd')).rejects.toThrow(
      /bad payload/,
    );

    // Remembered by the next run (paths, not copies), without searching again.
    app.emit('before-quit');
    explorer.stop?.();
    resetFakes();
    app.userData = join(dir, 'user-data');
    const next = startApp();
    const remembered = (await ipcMain.invoke(Invoke.foundWeights, eventFrom(next.ui.webContents))) as FoundWeights[];
    expect(remembered.map((r) => r.path)).toEqual([file]);

    // A file deleted since is reported and forgotten.
    rmSync(file);
    await expect(
      ipcMain.invoke(Invoke.openFoundWeights, eventFrom(next.ui.webContents), remembered[0].id),
    ).resolves.toMatchObject({ kind: 'missing', message: expect.stringContaining('no longer exists') });
    await expect(ipcMain.invoke(Invoke.foundWeights, eventFrom(next.ui.webContents))).resolves.toEqual([]);
  });
});

describe('memory, said beforehand', () => {
  it('refuses a file that needs more memory than is free, naming the file and the numbers', async () => {
    const { memoryProblem, readModelFile, DEFAULT_LIMITS } = await import('../../main/files');
    expect(memoryProblem('/c/vgg16-397923af.pth', 553_433_881, 8 * 2 ** 30)).toBeNull();
    expect(memoryProblem('/c/vgg16-397923af.pth', 553_433_881, 1 * 2 ** 30)).toBe(
      '/c/vgg16-397923af.pth: opening this 527.8 MiB model needs about 1.5 GiB of memory, and this computer has ' +
        '1.0 GiB free; close other programs, or open a smaller model',
    );
    const file = join(dir, 'resnet18-f37072fd.pth');
    torchSave(file);
    const size = readFileSync(file).byteLength;
    await expect(readModelFile(file, { ...DEFAULT_LIMITS, freeMemory: () => size * 2 })).rejects.toThrow(
      /resnet18-f37072fd\.pth: opening this .* model needs about/,
    );
    const ok = await readModelFile(file, { ...DEFAULT_LIMITS, freeMemory: () => size * 4 });
    expect(Buffer.from(ok.files[0].bytes).equals(readFileSync(file))).toBe(true);
  });
});
