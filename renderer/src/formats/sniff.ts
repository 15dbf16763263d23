/**
 * What a file looks like, from its first bytes: for the message when no format opens it ("a JPEG image, not a
 * model"), and for formats' `match`. Never trusts the name alone.
 */
import type { ModelFile } from './types';

const HDF5 = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const ZIP = [0x50, 0x4b, 0x03, 0x04];

const startsWith = (b: Uint8Array, sig: number[], at = 0) => sig.every((v, i) => b[at + i] === v);

/** True for an HDF5 file (signature at offset 0, or at 512/1024/2048… when a user block precedes it). */
export function isHdf5(b: Uint8Array): boolean {
  for (let at = 0; at + 8 <= b.length && at <= 1 << 20; at = at === 0 ? 512 : at * 2) {
    if (startsWith(b, HDF5, at)) return true;
  }
  return false;
}

export const isZip = (b: Uint8Array): boolean => startsWith(b, ZIP);

/** A Git LFS pointer: the repository held the model in LFS and the clone has only this text stub. */
export function isLfsPointer(b: Uint8Array): boolean {
  if (b.length > 1024) return false;
  return new TextDecoder().decode(b).startsWith('version https://git-lfs.github.com/spec/');
}

/** The first non-space character, when the file's start is plausibly text (valid UTF-8, few control bytes). */
function firstTextChar(b: Uint8Array): string | null {
  const head = b.subarray(0, 512);
  let text: string | null = null;
  // The 512-byte cut may split a multi-byte character: allow up to 3 bytes less.
  for (let cut = 0; cut < 4 && text === null; cut++) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(0, head.length - cut)));
    } catch {
      text = null;
    }
  }
  if (text === null) return null;
  let control = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) control++;
  }
  if (control > text.length / 50) return null;
  const m = /[^\s\ufeff]/.exec(text);
  return m ? m[0] : null;
}

/** One phrase saying what the bytes are, for "<file>: <phrase>, not a model this app opens". */
export function describeBytes(b: Uint8Array): string {
  if (b.length === 0) return 'an empty file';
  if (isLfsPointer(b)) return 'a Git LFS pointer (the model itself was never downloaded: run `git lfs pull`)';
  if (isHdf5(b)) return 'an HDF5 file';
  if (isZip(b)) return 'a zip archive';
  if (b[0] === 0xff && b[1] === 0xd8) return 'a JPEG image';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47])) return 'a PNG image';
  if (b[0] === 0x80 && b[1] >= 2 && b[1] <= 5) return 'a Python pickle (code, never run by this app)';
  const c = firstTextChar(b);
  if (c === '{' || c === '[') return 'a JSON file';
  if (c !== null) return 'a text file';
  return 'binary data of an unknown kind';
}

/** The file with this base name (case-insensitive), in the model's folder or any subfolder; shallowest first. */
export function findFile(files: ModelFile[], name: string): ModelFile | undefined {
  const lower = name.toLowerCase();
  return files
    .filter((f) => (f.path.split('/').pop() ?? '').toLowerCase() === lower)
    .sort((a, b) => a.path.split('/').length - b.path.split('/').length)[0];
}
