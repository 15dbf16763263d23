/** Small helpers both stores (session and compare) need. */
import { EngineCancelled } from '../../../../common/engine-client';

const MIME_BY_EXT: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
};

/** A Blob object URL for an image's bytes, typed by its extension so the browser shows it as a thumbnail. */
export function imageObjectUrl(name: string, bytes: ArrayBuffer): string {
  return URL.createObjectURL(imageBlob(name, bytes));
}

/** The image's bytes as a Blob typed by its extension (what its object URL serves; createImageBitmap reads it). */
export function imageBlob(name: string, bytes: ArrayBuffer): Blob {
  const ext = name.split('.').pop()?.toLowerCase() ?? '';
  return new Blob([bytes], { type: MIME_BY_EXT[ext] ?? '' });
}

/** The message of an error, or the value as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** True for the rejection of a pass that was cancelled (by the user, a newer pass or a model load). */
export function isCancelled(e: unknown): boolean {
  return e instanceof EngineCancelled;
}
