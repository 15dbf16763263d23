/**
 * "Find weights on this computer…": the pretrained files people already have because torchvision or Keras
 * Applications once downloaded them. Only when the user asks, main lists the regular files directly inside
 * the caches those libraries use (never a subfolder, never anything else), reads the first bytes of each to
 * tell a torch file or an HDF5 file from anything else, and names the architecture from the cache's own file
 * names. The app opens a found file only by the id main recorded (like a Recent entry); the engine then
 * recognises the architecture from the content, so a renamed file still opens correctly.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FoundWeights } from '../common/ipc-contract';

/** A cache folder and whose cache it is. */
export interface CacheFolder {
  dir: string;
  library: 'torchvision' | 'keras';
}

/**
 * The folders torchvision and Keras download pretrained weights into, in the order they are searched:
 * `$TORCH_HOME/hub/checkpoints` (torch's default `$XDG_CACHE_HOME/torch`, else `~/.cache/torch`), and
 * `$KERAS_HOME/models` (else `~/.keras/models`). Duplicates removed.
 */
export function cacheFolders(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): CacheFolder[] {
  const torchHome = env.TORCH_HOME || join(env.XDG_CACHE_HOME || join(home, '.cache'), 'torch');
  const folders: CacheFolder[] = [
    { dir: join(torchHome, 'hub', 'checkpoints'), library: 'torchvision' },
    { dir: join(home, '.cache', 'torch', 'hub', 'checkpoints'), library: 'torchvision' },
    { dir: join(env.KERAS_HOME || join(home, '.keras'), 'models'), library: 'keras' },
    { dir: join(home, '.keras', 'models'), library: 'keras' },
  ];
  const seen = new Set<string>();
  return folders.filter((f) => !seen.has(f.dir) && seen.add(f.dir));
}

/** torchvision's weight file names (`<arch>-<first 8 hex of the sha256>.pth`) → the architecture's name. */
const TORCHVISION_NAMES: Record<string, string> = {
  alexnet: 'AlexNet',
  vgg16: 'VGG-16',
  vgg16_bn: 'VGG-16 (BatchNorm)',
  googlenet: 'GoogLeNet',
  resnet18: 'ResNet-18',
  resnet34: 'ResNet-34',
  resnet50: 'ResNet-50',
  resnet101: 'ResNet-101',
  densenet121: 'DenseNet-121',
  mobilenet_v2: 'MobileNetV2',
  inception_v3: 'Inception-v3',
};

/** Keras Applications' file names (`<app>_weights_tf_dim_ordering_tf_kernels[_notop].h5`) → the name. */
const KERAS_NAMES: Record<string, string> = {
  vgg16: 'VGG-16',
  resnet50: 'ResNet-50',
  densenet121: 'DenseNet-121',
  inception_v3: 'Inception-v3',
  mobilenet_v2: 'MobileNetV2',
};

/** What a cache file's name says it is: the architecture and variant, or null for a name neither library writes. */
export function recogniseCacheName(name: string): { architecture: string; variant: string } | null {
  // AlexNet's file is `alexnet-owt-<hash>.pth` (after the "one weird trick" paper), Inception's `inception_v3_google-…`.
  const tv = /^([a-z0-9_]+?)(?:_google|-owt)?-[0-9a-f]{8,}\.pth$/.exec(name);
  if (tv && TORCHVISION_NAMES[tv[1]]) {
    return { architecture: TORCHVISION_NAMES[tv[1]], variant: 'ImageNet (torchvision file)' };
  }
  // MobileNetV2's names carry alpha and size (`…_kernels_1.0_224_no_top.h5`); the others `…_kernels_notop.h5`.
  const keras = /^([a-z0-9_]+?)_weights_tf_dim_ordering_tf_kernels(?:_[0-9.]+_[0-9]+)?(_notop|_no_top)?\.h5$/.exec(
    name,
  );
  if (keras && KERAS_NAMES[keras[1]]) {
    return {
      architecture: KERAS_NAMES[keras[1]],
      variant: keras[2] ? 'ImageNet backbone, no head (Keras Applications file)' : 'ImageNet (Keras Applications file)',
    };
  }
  return null;
}

/** Extensions a weight file in those caches may have. */
const WEIGHT_EXTENSIONS = /\.(pth|pt|pth\.tar|ckpt|bin|h5|hdf5|keras)$/i;
/** Most files listed per folder (a cache with thousands of files is not what this looks for). */
export const MAX_FILES_PER_FOLDER = 500;

/** What the first bytes say: a zip (torch ≥ 1.6, .keras), HDF5, a legacy torch pickle, or nothing we open. */
export function sniffWeightFile(head: Uint8Array): 'zip' | 'hdf5' | 'pickle' | null {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  const hdf5 = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  if (head.length >= 8 && hdf5.every((b, i) => head[i] === b)) return 'hdf5';
  // Legacy torch.save: a pickle (PROTO opcode 0x80, protocol 2..5) of the magic number.
  if (head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'pickle';
  return null;
}

async function readHead(path: string, n: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** One file found (before main gives it an id). */
export type FoundFile = Omit<FoundWeights, 'id'>;

/**
 * Lists the weight files directly inside each cache folder: regular files (symbolic links are followed, as
 * the libraries' own caches may hold them) with a weight extension whose first bytes are a format the app
 * opens. A missing folder is skipped; an unreadable file is skipped. Sorted by architecture, then name.
 */
export async function findWeights(folders: readonly CacheFolder[] = cacheFolders()): Promise<FoundFile[]> {
  const found: FoundFile[] = [];
  const seen = new Set<string>();
  for (const folder of folders) {
    let names: string[];
    try {
      names = await readdir(folder.dir);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => WEIGHT_EXTENSIONS.test(n)).slice(0, MAX_FILES_PER_FOLDER)) {
      const path = join(folder.dir, name);
      if (seen.has(path)) continue;
      try {
        const info = await stat(path);
        if (!info.isFile() || info.size < 16) continue;
        const kind = sniffWeightFile(await readHead(path, 8));
        if (!kind) continue;
        seen.add(path);
        const known = recogniseCacheName(name);
        found.push({
          name,
          path,
          size: info.size,
          library: folder.library,
          architecture: known?.architecture ?? null,
          label: known ? `${known.architecture} — ${known.variant}` : `${name} (${folder.library} cache)`,
        });
      } catch {
        // Unreadable or vanished between readdir and stat: not a file we can offer.
      }
    }
  }
  return found.sort(
    (a, b) => (a.architecture ?? '\uffff').localeCompare(b.architecture ?? '\uffff') || a.name.localeCompare(b.name),
  );
}
