import type { OpenedFile, ModelFilesPayload } from '../../../preload/contract';
import { modelFromFiles } from '../bridge/web';

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp)$/i;

/** Reads every file entry of a dropped folder (webkitGetAsEntry), with paths relative to the drop. */
async function walk(entry: FileSystemEntry, prefix: string, out: File[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    Object.defineProperty(file, 'webkitRelativePath', { value: prefix + file.name });
    out.push(file);
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
      if (!batch.length) break;
      for (const child of batch) await walk(child, `${prefix}${entry.name}/`, out);
    }
  }
}

/**
 * Sorts a drop into images and (at most one) model: a `model.json` among the files, or a dropped folder
 * holding one. Anything else is reported by name, not silently ignored.
 */
export async function filesFromDataTransfer(
  dt: DataTransfer,
): Promise<{ images: OpenedFile[]; model: ModelFilesPayload | null; errors: string[] }> {
  const files: File[] = [];
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.some((e) => e.isDirectory)) {
    for (const e of entries) await walk(e, '', files);
  } else {
    files.push(...dt.files);
  }
  const errors: string[] = [];
  const isModelFile = (f: File) => f.name.endsWith('.json') || f.name.endsWith('.bin');
  const modelFiles = files.filter(isModelFile);
  const model = modelFiles.some((f) => f.name.endsWith('.json')) ? await modelFromFiles(modelFiles) : null;
  const images: OpenedFile[] = [];
  for (const f of files) {
    if (isModelFile(f)) continue;
    if (IMAGE_EXT.test(f.name) || f.type.startsWith('image/'))
      images.push({ name: f.name, bytes: await f.arrayBuffer() });
    else errors.push(`${f.name}: not an image or a tfjs model file; ignored.`);
  }
  return { images, model, errors };
}
