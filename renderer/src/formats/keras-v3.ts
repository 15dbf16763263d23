/**
 * Keras 3 `.keras` archives (also tf.keras 2.13–2.15's "Keras v3" format): a zip of `config.json` (the model
 * config), `metadata.json` (the Keras version) and `model.weights.h5`. In the weights file each layer's tensors
 * sit at `layers/<name>/vars/0, 1, …` in creation order, where `<name>` is the snake-cased class name made unique
 * per model (Keras' `saving_lib`: 'conv2d', 'conv2d_1', … — not the layer's own name), nested models repeating
 * the pattern (`layers/sequential/layers/dense/vars`); some versions write `_layer_checkpoint_dependencies`
 * instead of `layers`. Both, and the layer's own name, are tried.
 */
import { unzipSync } from 'fflate';
import type { KerasFlatLayer } from '../analysis/keras';
import { InputError } from '../../../common/image-header';
import type { TensorData } from '../analysis/graph';
import { isHdf5, withHdf5, type H5Reader } from './hdf5';
import { attachWeights, flattenStrict, notAModelError, parseJson, rescalingHint } from './keras-common';
import { findLabels } from './labels';
import type { ModelFile, ModelFormat, OpenedModel } from './types';

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const isZip = (b: Uint8Array): boolean => ZIP_MAGIC.every((m, i) => b[i] === m);

/** Names a `.keras` archive's local headers carry; present even when the archive's end is cut off. */
const ENTRY_NAMES = ['config.json', 'model.weights.h5'].map((s) => new TextEncoder().encode(s));

function mentions(hay: Uint8Array, needle: Uint8Array): boolean {
  const end = Math.min(hay.length, 256 << 20) - needle.length;
  outer: for (let i = 0; i <= end; i++) {
    if (hay[i] !== needle[0]) continue;
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** A zip that names a Keras config or weights entry. */
const isKerasZip = (b: Uint8Array): boolean => isZip(b) && ENTRY_NAMES.some((n) => mentions(b.subarray(0, 1 << 16), n));

const ENTRIES = new Set(['config.json', 'metadata.json', 'model.weights.h5']);

/** Reads the archive's entries, refusing a damaged or truncated zip by name. */
function unzip(bytes: Uint8Array, file: string): Record<string, Uint8Array> {
  const tooBig: string[] = [];
  try {
    // Only the three entries a model needs are inflated, each within a size limit (a zip bomb stays packed).
    const out = unzipSync(bytes, {
      filter: (f) => {
        const base = f.name.split('/').pop()!;
        if (!ENTRIES.has(base)) return false;
        const limit = base.endsWith('.h5') ? 2 ** 31 : 64 << 20;
        if (f.originalSize > limit) tooBig.push(`${f.name} (${f.originalSize} bytes)`);
        return f.originalSize <= limit;
      },
    });
    if (tooBig.length) throw new InputError(`${file}: the archive's ${tooBig.join(', ')} is too large to open`, file);
    return out;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(
      `${file}: the .keras archive is truncated or damaged — the zip cannot be read (${(e as Error).message}); ` +
        'download or copy it again',
      file,
    );
  }
}

/** The tensors of one layer's `vars` group in index order, from the first candidate path that has them. */
function readVars(h5: H5Reader, layer: KerasFlatLayer, file: string, byName: boolean): TensorData[] {
  const want = layer.variables.length;
  let found: string | undefined;
  // TF 2.10–2.12's experimental format keyed layers by their own names: try those first there.
  const own = (p: string) => p.endsWith(`/${layer.kerasName}`) || p === layer.kerasName;
  const paths = byName ? [...layer.v3Paths.filter(own), ...layer.v3Paths.filter((p) => !own(p))] : layer.v3Paths;
  for (const p of paths) {
    const vars = `${p}/vars`;
    if (!h5.isGroup(vars)) continue;
    const n = h5.keys(vars).filter((k) => /^\d+$/.test(k)).length;
    if (n === want) {
      found = vars;
      break;
    }
    found ??= vars;
  }
  if (!found) {
    throw new InputError(
      `${file}: model.weights.h5 has no weights for layer "${layer.kerasName}" (${layer.className}); ` +
        `looked for ${layer.v3Paths.slice(0, 2).join(' or ')}`,
      file,
    );
  }
  const keys = h5
    .keys(found)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b));
  return keys.map((k, i) => {
    const t = h5.tensor(`${found}/${k}`);
    const v = layer.variables[i]?.name ?? k;
    return { name: `${layer.kerasName}/${v}`, shape: t.shape, data: t.data };
  });
}

/** Keras 3 `.keras` archives. */
export const kerasV3Format: ModelFormat = {
  id: 'keras-v3',
  name: 'Keras 3 (.keras)',
  match(files) {
    return files.some((f) => isKerasZip(f.bytes));
  },
  async open(files): Promise<OpenedModel> {
    const main: ModelFile | undefined =
      files.find((f) => isKerasZip(f.bytes)) ?? files.find((f) => isZip(f.bytes) && /\.keras$/i.test(f.path));
    if (!main) {
      const f = files.find((x) => /\.keras$/i.test(x.path)) ?? files[0];
      if (!f) throw new InputError('no file given', '');
      if (isHdf5(f.bytes))
        throw new InputError(
          `${f.path}: this .keras file is HDF5 (an older Keras save); open it as Keras HDF5`,
          f.path,
        );
      throw notAModelError(f.bytes, f.path, 'a Keras 3 .keras archive');
    }
    const file = main.path;
    const entries = unzip(main.bytes, file);
    const get = (name: string) => entries[name] ?? Object.entries(entries).find(([k]) => k.endsWith(`/${name}`))?.[1];
    const cfgBytes = get('config.json');
    if (!cfgBytes) throw new InputError(`${file}: the .keras archive has no config.json (the architecture)`, file);
    const weightsBytes = get('model.weights.h5');
    if (!weightsBytes) throw new InputError(`${file}: the .keras archive has no model.weights.h5 (the weights)`, file);
    const metaBytes = get('metadata.json');
    const meta = metaBytes ? parseJson(new TextDecoder().decode(metaBytes), file, 'metadata.json') : {};
    const version =
      typeof meta === 'object' &&
      meta !== null &&
      typeof (meta as { keras_version?: unknown }).keras_version === 'string'
        ? (meta as { keras_version: string }).keras_version
        : undefined;
    const topo = parseJson(new TextDecoder().decode(cfgBytes), file, 'config.json');
    const flat = flattenStrict(topo, file, version ? !/^2\./.test(version) : true);
    if (!isHdf5(weightsBytes))
      throw new InputError(`${file}: model.weights.h5 inside the archive is not an HDF5 file`, file);
    const values = await withHdf5(weightsBytes, `${file}/model.weights.h5`, (h5) => {
      const out = new Map<KerasFlatLayer, TensorData[]>();
      const byName = version !== undefined && /^2\.(9|10|11|12)\./.test(version);
      for (const layer of flat.layers) if (layer.variables.length) out.set(layer, readVars(h5, layer, file, byName));
      return out;
    });
    const weights = attachWeights(flat, values, file);
    const labels = findLabels(files);
    const preprocess = rescalingHint(flat.graph);
    return {
      graph: flat.graph,
      weights,
      format: 'keras-v3',
      description: `Keras ${version ?? '3'} .keras (${file})`,
      mainFile: file,
      ...(labels ? { labels } : {}),
      ...(preprocess ? { preprocess } : {}),
      warnings: [...(flat.graph.parseWarnings ?? [])],
    };
  },
};
