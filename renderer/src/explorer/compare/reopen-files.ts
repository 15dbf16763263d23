/**
 * The browser build's way of resolving a saved comparison's references: bundled samples come from the app's
 * own resources; other images from the files the user picked together with the comparison (matched by file
 * name, as a browser never sees paths). User models are only found when the engine already knows them.
 */
import type { OpenedFile } from '../../../../common/ipc-contract';
import { SAMPLES, fetchSample } from '../samples';
import type { ComparisonResolver, SavedImageRef } from './saved-comparison';

/** The last path segment of a POSIX or Windows path. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** True when `name` is one of the bundled samples. */
export function isSampleName(name: string): boolean {
  return SAMPLES.some((s) => s.file === name);
}

/**
 * A resolver over picked files. `fetchSampleBytes` defaults to reading resources/samples through the page's
 * origin; tests pass their own reader of the same files.
 */
export function filesResolver(
  picked: readonly OpenedFile[],
  resourcesBase: string,
  fetchSampleBytes: (base: string, file: string) => Promise<OpenedFile> = fetchSample,
): ComparisonResolver {
  return {
    async image(ref: SavedImageRef) {
      if (ref.kind === 'sample') {
        if (!isSampleName(ref.name)) throw new Error(`"${ref.name}" is not one of the bundled samples`);
        return fetchSampleBytes(resourcesBase, ref.name);
      }
      const wanted = baseName(ref.path);
      return picked.find((f) => f.name === wanted) ?? picked.find((f) => f.name === ref.name) ?? null;
    },
    async userModel() {
      // A browser cannot open a folder by path; the model must be opened again with "Add your model…".
      return null;
    },
  };
}
