import type { ModelFilesPayload } from '../../../common/ipc-contract';

/** Images by name or MIME type; everything else a user drops or picks may be (part of) a model. */
export const IMAGE_NAME = /\.(png|jpe?g|webp|gif|bmp|avif)$/i;
export const isImageFile = (f: File): boolean => IMAGE_NAME.test(f.name) || f.type.startsWith('image/');

/** Most files a model folder may bring along (a Teachable Machine export has three, a tfjs model tens). */
const MAX_MODEL_FILES = 500;

const rel = (f: File) => (f.webkitRelativePath || f.name).replace(/\\/g, '/');

/**
 * A model's files as the engine takes them: paths relative to the model's folder. Any format: a tfjs
 * `model.json` with its shards, a Keras `.h5` / `.keras`, an `.onnx` with its `.onnx.data`, a Teachable Machine
 * export, with `labels.txt` / `metadata.json` beside it. The engine decides the format by content, so nothing
 * is filtered by name here except images (which join the image strip) and hidden files. Null when none is left.
 */
export async function modelFromFiles(files: File[]): Promise<ModelFilesPayload | null> {
  const candidates = files.filter((f) => !isImageFile(f) && !f.name.startsWith('.')).slice(0, MAX_MODEL_FILES);
  if (!candidates.length) return null;
  // The shallowest model.json decides the folder (a tfjs export); otherwise the common folder of the files.
  const json = candidates
    .filter((f) => rel(f).endsWith('model.json'))
    .sort((a, b) => rel(a).split('/').length - rel(b).split('/').length)[0];
  const dirOf = (p: string) => p.slice(0, p.lastIndexOf('/') + 1);
  let base = json ? dirOf(rel(json)) : dirOf(rel(candidates[0]));
  if (!json) for (const f of candidates) while (base && !rel(f).startsWith(base)) base = dirOf(base.slice(0, -1));
  const inFolder = candidates.filter((f) => rel(f).startsWith(base));
  // One loose file names the model; a folder (or several files) is named after the folder or the largest file.
  const main = json ?? [...inFolder].sort((a, b) => b.size - a.size)[0];
  const name = base ? base.replace(/\/$/, '').split('/').pop()! : main.name;
  return {
    name,
    files: await Promise.all(
      inFolder.map(async (f) => ({ path: rel(f).slice(base.length), bytes: await f.arrayBuffer() })),
    ),
  };
}
