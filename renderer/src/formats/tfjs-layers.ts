/**
 * TensorFlow.js layers models: `model.json` (a Keras model topology plus a weights manifest) and its binary
 * shards; Teachable Machine's image export is one of these with a `metadata.json` next to it (class labels, its
 * [−1, 1] input convention). Weights are decoded by hand from the manifest (float32, int32, and the converter's
 * quantizations: uint8 / uint16 with scale and min, float16) and bound to layers by name.
 */
import type { KerasFlatLayer } from '../analysis/keras';
import { InputError } from '../../../common/image-header';
import { checkShards, parseModelJsonFile } from '../engine/model-files';
import type { TensorData } from '../analysis/graph';
import {
  attachWeights,
  flattenStrict,
  isKeras3Version,
  notAModelError,
  parseJson,
  rescalingHint,
} from './keras-common';
import { TEACHABLE_MACHINE_HINT } from './keras-h5';
import { findLabels } from './labels';
import type { ModelFile, ModelFormat, OpenedModel, PreprocessHint } from './types';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A manifest entry as the tfjs converter writes it. */
interface ManifestWeight {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

const decoder = new TextDecoder();

/** Parses a file as JSON when it looks like it (starts with '{'); undefined otherwise. */
function tryJson(f: ModelFile): unknown {
  const head = decoder
    .decode(f.bytes.subarray(0, 64))
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (!head.startsWith('{')) return undefined;
  try {
    return JSON.parse(decoder.decode(f.bytes));
  } catch {
    return undefined;
  }
}

/** True for a tfjs layers-model JSON: a Keras topology (not a GraphDef) with a weights manifest. */
function isLayersModelJson(json: unknown): json is Json {
  if (!isObj(json)) return false;
  const mt = json.modelTopology;
  if (!isObj(mt) || Array.isArray(mt.node) || json.format === 'graph-model') return false;
  const topo = isObj(mt.model_config) ? mt.model_config : mt;
  return typeof topo.class_name === 'string' && (json.format === 'layers-model' || Array.isArray(json.weightsManifest));
}

/** The model.json among the files. */
function findModelJson(files: ModelFile[]): { file: ModelFile; json: Json } | undefined {
  const sorted = [...files].sort(
    (a, b) => Number(!/model\.json$/i.test(a.path)) - Number(!/model\.json$/i.test(b.path)),
  );
  for (const f of sorted) {
    if (f.bytes.length > 64 << 20) continue;
    const j = tryJson(f);
    if (isLayersModelJson(j)) return { file: f, json: j };
  }
  return undefined;
}

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** Bytes per value of a manifest entry as stored. */
function storedBytes(w: ManifestWeight): number {
  const q = w.quantization?.dtype;
  if (q === 'uint8') return 1;
  if (q === 'uint16' || q === 'float16') return 2;
  if (w.dtype === 'bool') return 1;
  return 4;
}

/** Decodes one weight from `buf` at `off` into float32. */
function decode(w: ManifestWeight, buf: Uint8Array, off: number, n: number): Float32Array {
  const view = new DataView(buf.buffer, buf.byteOffset + off, n * storedBytes(w));
  const out = new Float32Array(n);
  const q = w.quantization;
  if (q?.dtype === 'uint8' || q?.dtype === 'uint16') {
    const scale = q.scale ?? 1;
    const min = q.min ?? 0;
    for (let i = 0; i < n; i++)
      out[i] = (q.dtype === 'uint8' ? view.getUint8(i) : view.getUint16(i * 2, true)) * scale + min;
  } else if (q?.dtype === 'float16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  } else if (w.dtype === 'int32') {
    for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
  } else if (w.dtype === 'bool') {
    for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
  } else if (w.dtype === undefined || w.dtype === 'float32') {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  } else throw new Error(`dtype ${w.dtype}`);
  return out;
}

/** Normalises 'a/./b/../c' to 'a/c'. */
function joinPath(dir: string, p: string): string {
  const parts: string[] = [];
  for (const seg of `${dir}${p}`.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

/** Every manifest weight decoded, in manifest order. */
function readManifest(json: Json, files: ModelFile[], jsonPath: string): TensorData[] {
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) return [];
  const dir = jsonPath.includes('/') ? jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1) : '';
  const byPath = new Map(files.map((f) => [joinPath('', f.path), f]));
  const out: TensorData[] = [];
  for (const group of manifest) {
    if (!isObj(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) continue;
    const shards = group.paths.map((p) => {
      const path = joinPath(dir, String(p));
      const f = byPath.get(path);
      if (!f)
        throw new InputError(
          `${jsonPath}: the weight file "${String(p)}" the model lists is missing; open the folder with all its files`,
          jsonPath,
        );
      return f.bytes;
    });
    const total = shards.reduce((a, s) => a + s.length, 0);
    const buf = new Uint8Array(total);
    let o = 0;
    for (const s of shards) {
      buf.set(s, o);
      o += s.length;
    }
    let off = 0;
    for (const raw of group.weights as ManifestWeight[]) {
      const n = raw.shape.reduce((a, b) => a * b, 1);
      const size = n * storedBytes(raw);
      if (off + size > buf.length) {
        throw new InputError(
          `${jsonPath}: the weight files are too short — "${raw.name}" needs bytes ${off}–${off + size}, ` +
            `the shards hold ${buf.length} (truncated download?)`,
          jsonPath,
        );
      }
      let data: Float32Array;
      try {
        data = decode(raw, buf, off, n);
      } catch {
        throw new InputError(
          `${jsonPath}: weight "${raw.name}" has dtype ${raw.dtype}, which cannot be read`,
          jsonPath,
        );
      }
      out.push({ name: raw.name, shape: [...raw.shape], data });
      off += size;
    }
  }
  return out;
}

/** Binds manifest tensors to layers by name ('<scope…>/<layer>/<variable>'); within a layer, by variable name. */
function bindByName(
  layers: KerasFlatLayer[],
  tensors: TensorData[],
): { values: Map<KerasFlatLayer, TensorData[]>; unmatched: TensorData[] } {
  const byName = new Map<string, KerasFlatLayer[]>();
  for (const l of layers) byName.set(l.kerasName, [...(byName.get(l.kerasName) ?? []), l]);
  const grouped = new Map<KerasFlatLayer, TensorData[]>();
  const unmatched: TensorData[] = [];
  for (const t of tensors) {
    const seg = t.name.split('/');
    let owner: KerasFlatLayer | undefined;
    // Layer names may contain '/' themselves; try every prefix span, outermost scope first, longest first.
    for (let start = 0; start < seg.length - 1 && !owner; start++) {
      for (let end = seg.length - 1; end > start && !owner; end--) {
        const cands = byName.get(seg.slice(start, end).join('/'));
        if (!cands) continue;
        const scope = seg.slice(0, start);
        owner =
          cands.find((c) => c.scope.join('/') === scope.join('/')) ?? cands.find((c) => c.variables.length) ?? cands[0];
      }
    }
    if (owner) grouped.set(owner, [...(grouped.get(owner) ?? []), t]);
    else unmatched.push(t);
  }
  const values = new Map<KerasFlatLayer, TensorData[]>();
  for (const [layer, list] of grouped) {
    const leaf = (t: TensorData) =>
      t.name
        .split('/')
        .pop()!
        .replace(/(:\d+|_\d+)$/, '');
    const ordered = layer.variables.map((v) => list.find((t) => leaf(t) === v.name));
    values.set(layer, ordered.every((t) => t) && ordered.length === list.length ? (ordered as TensorData[]) : list);
  }
  return { values, unmatched };
}

/** The Teachable Machine metadata.json next to the model, when there is one. */
function teachableMachine(files: ModelFile[]): Json | undefined {
  const f = files.find((x) => /(^|\/)metadata\.json$/i.test(x.path));
  const j = f ? tryJson(f) : undefined;
  if (!isObj(j) || !Array.isArray(j.labels)) return undefined;
  return 'tmVersion' in j || String(j.packageName ?? '').includes('teachablemachine') || 'imageSize' in j
    ? j
    : undefined;
}

/** tfjs layers models (and Teachable Machine image exports). */
export const tfjsLayersFormat: ModelFormat = {
  id: 'tfjs-layers',
  name: 'TensorFlow.js layers model',
  match(files) {
    return findModelJson(files) !== undefined;
  },
  async open(files): Promise<OpenedModel> {
    const found = findModelJson(files);
    if (!found) {
      const f = files.find((x) => /\.json$/i.test(x.path)) ?? files[0];
      if (!f) throw new InputError('no file given', '');
      const j = tryJson(f);
      if (j === undefined && f.bytes[0] === 0x7b) parseJson(decoder.decode(f.bytes), f.path, 'the model.json');
      if (isObj(j) && isObj(j.modelTopology) && Array.isArray(j.modelTopology.node))
        throw new InputError(`${f.path}: this is a tfjs graph model, not a layers model`, f.path);
      if (j !== undefined)
        throw new InputError(`${f.path}: no "modelTopology" with a Keras model — not a tfjs layers model`, f.path);
      throw notAModelError(f.bytes, f.path, 'a tfjs model.json');
    }
    const { file: jf, json } = found;
    const file = jf.path;
    const mt = json.modelTopology as Json;
    const topo = isObj(mt.model_config) ? mt.model_config : mt;
    const version = mt.keras_version;
    const keras3 = isKeras3Version(version) || typeof topo.module === 'string';
    const flat = flattenStrict(topo, file, keras3);
    // The engine's own checks first: no shard path may leave the folder, every shard present, sizes exact.
    const info = parseModelJsonFile(decoder.decode(jf.bytes), file);
    checkShards(info, new Map(files.map((f) => [joinPath('', f.path), f.bytes.byteLength])), file.split('/').pop()!);
    const tensors = readManifest(json, files, file);
    const { values, unmatched } = bindByName(flat.layers, tensors);
    const weights = attachWeights(flat, values, file);
    if (unmatched.length) flat.graph.unmatchedWeights = unmatched.map((t) => ({ name: t.name, shape: t.shape }));
    const warnings = [...(flat.graph.parseWarnings ?? [])];
    if (unmatched.length)
      warnings.push(
        `${unmatched.length} weight tensors match no layer: ${unmatched
          .slice(0, 5)
          .map((t) => t.name)
          .join(', ')}`,
      );
    const tm = teachableMachine(files);
    const labels = findLabels(files);
    let preprocess: PreprocessHint | undefined = rescalingHint(flat.graph);
    if (tm) {
      const size = typeof tm.imageSize === 'number' ? tm.imageSize : 224;
      preprocess = {
        preprocess: { ...TEACHABLE_MACHINE_HINT.preprocess, inputSize: [size, size] },
        source: `Teachable Machine convention: ${size}×${size} centre crop, values in [−1, 1]`,
      };
    }
    return {
      graph: flat.graph,
      weights,
      format: 'tfjs-layers',
      description: tm
        ? 'Teachable Machine image model'
        : `TensorFlow.js layers model${typeof version === 'string' ? ` (Keras ${version})` : ''} (${file})`,
      mainFile: file,
      ...(labels ? { labels } : {}),
      ...(preprocess ? { preprocess } : {}),
      warnings,
    };
  },
};
