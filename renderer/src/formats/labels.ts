/**
 * Class names that travel next to a model: Teachable Machine's `labels.txt` (Keras download, lines "0 cat"),
 * a plain `classes.txt` / `labels.txt` (one name a line), or a `metadata.json` with a `labels` list (Teachable
 * Machine's tfjs export).
 */
import type { ModelFile } from './types';

const baseName = (p: string): string => p.split('/').pop()!.toLowerCase();

/** Lines of a labels file: "0 cat" / "0: cat" lose their index when every line has one in order. */
export function parseLabelLines(text: string): string[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const numbered = lines.map((l) => /^(\d+)[\s:,.)-]+(.*)$/.exec(l));
  if (lines.length && numbered.every((m, i) => m !== null && Number(m[1]) === i && m[2].trim().length > 0)) {
    return numbered.map((m) => m![2].trim());
  }
  return lines;
}

/** The `labels` list of a Teachable Machine metadata.json, or undefined. */
export function labelsFromMetadata(bytes: Uint8Array): string[] | undefined {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof json !== 'object' || json === null) return undefined;
    const labels = (json as { labels?: unknown }).labels;
    if (Array.isArray(labels) && labels.length && labels.every((l) => typeof l === 'string')) return labels;
  } catch {
    // not JSON: no labels
  }
  return undefined;
}

/**
 * Class names found among `files`: metadata.json `labels`, then labels.txt, then classes.txt; undefined when
 * none is there or the file holds no names.
 */
export function findLabels(files: ModelFile[]): string[] | undefined {
  const find = (name: string) => files.find((f) => baseName(f.path) === name);
  const meta = find('metadata.json');
  if (meta) {
    const l = labelsFromMetadata(meta.bytes);
    if (l) return l;
  }
  for (const name of ['labels.txt', 'classes.txt']) {
    const f = find(name);
    if (!f) continue;
    const l = parseLabelLines(new TextDecoder().decode(f.bytes));
    if (l.length) return l;
  }
  return undefined;
}
