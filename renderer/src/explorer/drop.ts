import type { OpenedFile, ModelFilesPayload } from '../../../common/ipc-contract';
import { isImageFile, modelFromFiles } from '../bridge/model-files';

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
 * Sorts a drop into images and (at most one) model: every file that is not an image is taken as part of the
 * model (a Keras `.h5`, an `.onnx` and its `.onnx.data`, a tfjs folder, a Teachable Machine export with its
 * labels); the engine decides the format by content and names any file it cannot open.
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
  const model = await modelFromFiles(files);
  const images: OpenedFile[] = [];
  for (const f of files) if (isImageFile(f)) images.push({ name: f.name, bytes: await f.arrayBuffer() });
  return { images, model, errors };
}
