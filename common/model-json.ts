/**
 * The app's one tfjs `model.json` reader (main's file reader and the engine both use it): parses and checks
 * the JSON — not JSON, not a tfjs model, weight paths that escape the model's folder, weights without
 * name/shape/dtype, unknown dtypes — and says how many bytes each weight group's shards must hold, so missing
 * or mismatched shards are refused before anything is built. Messages name the file and the problem.
 * (Shapes that do not match and unknown layer classes are found when the model is built.) Pure: text in.
 */
import { InputError } from './errors';

export type ModelFormat = 'layers' | 'graph';

/** Bytes per stored element, by manifest dtype (or quantization dtype). */
const ITEM_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  float16: 2,
  complex64: 8,
};

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype?: string };
}
interface ManifestGroup {
  paths: string[];
  weights: ManifestWeight[];
}

/** A parsed and checked model.json. */
export interface ModelJsonInfo {
  json: Record<string, unknown>;
  format: ModelFormat;
  groups: ManifestGroup[];
  /** Per group, the shard paths resolved against the model's folder (the keys to look files up by). */
  resolvedPaths: string[][];
  /** Bytes each group's shards must hold together, from the manifest; null where it cannot be known (strings). */
  groupBytes: (number | null)[];
  totalBytes: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Joins `rel` onto the folder `dir` ('' = the model's folder); null when it leaves that folder or is absolute. */
export function resolveInside(dir: string, rel: string): string | null {
  if (rel === '' || rel.startsWith('/') || rel.includes('\\') || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(rel)) return null;
  const parts = dir ? dir.split('/').filter(Boolean) : [];
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return null;
      parts.pop();
    } else parts.push(seg);
  }
  return parts.join('/');
}

/**
 * Parses and checks a model.json's text; `jsonPath` is its path relative to the model's folder. Messages
 * begin with `label` (default: the file's name; main passes the full path the user chose).
 */
export function parseModelJsonFile(text: string, jsonPath: string, label?: string): ModelJsonInfo {
  const file = label ?? jsonPath.split('/').pop() ?? jsonPath;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`, file);
  }
  if (!isObj(json)) throw new InputError(`${file}: not a tfjs model (the JSON is not an object)`, file);
  const topo = json.modelTopology;
  let format: ModelFormat;
  if (json.format === 'graph-model' || (isObj(topo) && Array.isArray(topo.node))) format = 'graph';
  else if (isObj(topo) && (isObj(topo.model_config) || typeof topo.class_name === 'string')) format = 'layers';
  else if (typeof json.class_name === 'string' && 'config' in json) {
    throw new InputError(
      `${file}: this is a bare Keras model config without weights; export the model with tensorflowjs_converter ` +
        '(model.json with modelTopology and weightsManifest)',
      file,
    );
  } else {
    throw new InputError(
      `${file}: not a tfjs model (no "modelTopology" with a Keras model or a TensorFlow graph)`,
      file,
    );
  }
  const manifest = json.weightsManifest;
  if (manifest !== undefined && !Array.isArray(manifest)) {
    throw new InputError(`${file}: "weightsManifest" must be a list of weight groups`, file);
  }
  const dir = jsonPath.includes('/') ? jsonPath.slice(0, jsonPath.lastIndexOf('/')) : '';
  const groups: ManifestGroup[] = [];
  const resolvedPaths: string[][] = [];
  const groupBytes: (number | null)[] = [];
  let totalBytes = 0;
  (manifest ?? []).forEach((g: unknown, gi: number) => {
    if (!isObj(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new InputError(`${file}: weightsManifest group ${gi + 1} needs "paths" and "weights" lists`, file);
    }
    const paths = g.paths.map((p: unknown) => {
      if (typeof p !== 'string')
        throw new InputError(`${file}: weightsManifest group ${gi + 1} has a path that is not a string`, file);
      const r = resolveInside(dir, p);
      if (r === null)
        throw new InputError(
          `${file}: weight path '${p}' escapes the model's folder (only files beside model.json are read)`,
          file,
        );
      return r;
    });
    let bytes: number | null = 0;
    const weights: ManifestWeight[] = g.weights.map((w: unknown) => {
      if (!isObj(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        throw new InputError(
          `${file}: weightsManifest group ${gi + 1} has a weight without name, shape or dtype`,
          file,
        );
      }
      const shape = w.shape.map(Number);
      if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
        throw new InputError(`${file}: weight '${w.name}' has an invalid shape [${w.shape.join(', ')}]`, file);
      }
      const q = isObj(w.quantization) ? (w.quantization as { dtype?: string }) : undefined;
      const stored = q?.dtype ?? w.dtype;
      const itemBytes = ITEM_BYTES[stored];
      if (itemBytes === undefined && stored !== 'string')
        throw new InputError(`${file}: weight '${w.name}' has an unknown dtype "${stored}"`, file);
      if (itemBytes === undefined || bytes === null) bytes = null;
      else bytes += shape.reduce((a, b) => a * b, 1) * itemBytes;
      // tfjs tests `'quantization' in spec`: never add the key when the manifest has none.
      return q ? { name: w.name, shape, dtype: w.dtype, quantization: q } : { name: w.name, shape, dtype: w.dtype };
    });
    groups.push({ paths: g.paths as string[], weights });
    resolvedPaths.push(paths);
    groupBytes.push(bytes);
    totalBytes += bytes ?? 0;
  });
  return { json, format, groups, resolvedPaths, groupBytes, totalBytes };
}

/**
 * Every shard the manifest lists is present and each group's shards hold exactly the bytes its weights need;
 * throws InputError naming the file otherwise. Only sizes are read (no copy).
 */
export function checkShards(info: ModelJsonInfo, sizes: Map<string, number>, jsonName: string): void {
  const missing = info.resolvedPaths.flat().filter((p) => !sizes.has(p));
  if (missing.length) {
    const list = missing.map((p) => `'${p}'`).join(', ');
    throw new InputError(
      `${jsonName}: weight file${missing.length > 1 ? 's' : ''} ${list} listed in weightsManifest ${missing.length > 1 ? 'are' : 'is'} missing`,
      missing[0],
    );
  }
  info.resolvedPaths.forEach((paths, gi) => {
    const got = paths.reduce((a, p) => a + sizes.get(p)!, 0);
    const want = info.groupBytes[gi];
    if (want !== null && got !== want) {
      const names = paths.join(' + ');
      throw new InputError(
        `${names}: ${got} bytes, but ${jsonName}'s weightsManifest describes ${want} bytes for ` +
          `${info.groups[gi].weights.length} weights (${got < want ? 'truncated or missing data' : 'extra data'})`,
        paths[paths.length - 1],
      );
    }
  });
}

/** Finds the model.json among a user's files: 'model.json' nearest the root, else the only .json file. */
export function findModelJson(paths: string[], modelName: string): string {
  const norm = paths.map((p) => p.replace(/\\/g, '/'));
  const named = norm
    .filter((p) => p === 'model.json' || p.endsWith('/model.json'))
    .sort((a, b) => a.split('/').length - b.split('/').length);
  if (named.length) return named[0];
  const jsons = norm.filter((p) => p.toLowerCase().endsWith('.json'));
  if (jsons.length === 1) return jsons[0];
  const h5 = norm.find((p) => /\.(h5|hdf5|keras)$/i.test(p));
  if (h5) {
    throw new InputError(
      `${h5}: Keras ${h5.endsWith('.keras') ? '.keras' : 'HDF5'} files are not read yet; convert the model with ` +
        'tensorflowjs_converter to model.json + weight shards',
      h5,
    );
  }
  if (norm.some((p) => p.endsWith('.pb'))) {
    throw new InputError(
      `${modelName}: a TensorFlow SavedModel/frozen graph; convert it with tensorflowjs_converter first`,
      modelName,
    );
  }
  if (jsons.length > 1) {
    throw new InputError(
      `${modelName}: several .json files and none is named model.json (${jsons.join(', ')})`,
      modelName,
    );
  }
  throw new InputError(
    `${modelName}: no model.json among the ${paths.length} file${paths.length === 1 ? '' : 's'} given`,
    modelName,
  );
}
