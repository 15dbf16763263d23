/**
 * Shared by the Keras format tests: the real fixtures, Python (h5py) as an independent reader and writer of
 * HDF5 files in Keras' layout, tfjs-layers as an independent implementation of Keras layers (the numeric
 * oracle), and the IR runner's per-layer outputs to compare with it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import type { OpenedModel } from '../../renderer/src/formats/types';

export const PYTHON = '/usr/bin/python3';

/** A real model file from test/fixtures/models (with its LICENSE next to it). */
export const fixturePath = (name: string): string =>
  fileURLToPath(new URL(`../fixtures/models/${name}`, import.meta.url));
export const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(fixturePath(name)));

/** A fresh temporary folder. */
export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'fme-keras-'));

/**
 * Runs a Python script with h5py and numpy; a missing interpreter or module fails the test with a message (the
 * oracles are not optional). The script reads JSON from stdin and prints JSON.
 */
export function python<T>(script: string, input: unknown): T {
  let out: string;
  try {
    out = execFileSync(PYTHON, ['-c', script], {
      input: JSON.stringify(input),
      encoding: 'utf8',
      maxBuffer: 512 << 20,
    });
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string };
    if (err.code === 'ENOENT')
      throw new Error(`${PYTHON} is missing: the Keras format tests need Python 3 with h5py and numpy`);
    if (/No module named '(h5py|numpy)'/.test(err.stderr ?? ''))
      throw new Error(`the Keras format tests need h5py and numpy for ${PYTHON}: ${err.stderr}`);
    throw new Error(`python failed: ${err.stderr ?? err.message}`);
  }
  return JSON.parse(out) as T;
}

/** Counts the values stored in a Keras file with h5py: model_weights of an .h5, all but optimizer/ of a .keras weights file. */
export function storedValueCount(path: string): { values: number; tensors: number } {
  return python(
    `
import h5py, json, sys, zipfile, io
p = json.load(sys.stdin)['path']
if zipfile.is_zipfile(p):
    f = h5py.File(io.BytesIO(zipfile.ZipFile(p).read('model.weights.h5')), 'r'); root = f
else:
    f = h5py.File(p, 'r'); root = f['model_weights'] if 'model_weights' in f else f
n = [0, 0]
def visit(name, o):
    # The optimizer's slots are training state, not the model's weights.
    if isinstance(o, h5py.Dataset) and not name.startswith('optimizer'): n[0] += o.size; n[1] += 1
root.visititems(visit)
print(json.dumps({'values': int(n[0]), 'tensors': int(n[1])}))
`,
    { path },
  );
}

/** One layer's tensors as the h5 file stores them, for building tfjs artifacts. */
interface DumpedLayer {
  group: string;
  weights: { name: string; shape: number[]; data: string }[];
}

/** Reads a full-model HDF5 with h5py: its model_config and every layer group's tensors in weight_names order. */
export function dumpH5(path: string): { modelConfig: string; kerasVersion: string; layers: DumpedLayer[] } {
  return python(
    `
import h5py, json, sys, base64, numpy as np
p = json.load(sys.stdin)['path']
f = h5py.File(p, 'r')
cfg = f.attrs['model_config']; cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
ver = f.attrs.get('keras_version', b''); ver = ver.decode() if isinstance(ver, bytes) else str(ver)
mw = f['model_weights']
names = [n.decode() if isinstance(n, bytes) else n for n in mw.attrs['layer_names']]
layers = []
for ln in names:
    g = mw[ln]
    wn = [n.decode() if isinstance(n, bytes) else n for n in g.attrs.get('weight_names', [])]
    ws = []
    for n in wn:
        a = np.asarray(g[n], dtype='<f4')
        ws.append({'name': n, 'shape': list(a.shape), 'data': base64.b64encode(a.tobytes()).decode()})
    layers.append({'group': ln, 'weights': ws})
print(json.dumps({'modelConfig': cfg, 'kerasVersion': ver, 'layers': layers}))
`,
    { path },
  );
}

/** A dataset the generator writes: seeded normal values (× scale + shift; variances use abs). */
export interface H5DatasetSpec {
  path: string;
  shape: number[];
  seed: number;
  positive?: boolean;
}

/** A file for the generator: HDF5 (root attributes, group attributes, datasets), optionally zipped as .keras. */
export interface H5FileSpec {
  attrs?: Record<string, string | string[]>;
  groupAttrs?: Record<string, Record<string, string | string[]>>;
  datasets: H5DatasetSpec[];
  /** Write as a .keras zip: these entries plus model.weights.h5. */
  zip?: Record<string, string>;
}

/**
 * Writes an HDF5 file (or a .keras zip around one) with h5py, in the layout the spec gives; returns its path and
 * each dataset's values (float32) as written, read back by h5py.
 */
export function writeH5(spec: H5FileSpec, name: string): { path: string; values: Map<string, Float32Array> } {
  const dir = tempDir();
  const path = join(dir, name);
  const out = python<Record<string, string>>(
    `
import h5py, json, sys, base64, io, zipfile, numpy as np
s = json.load(sys.stdin)
buf = io.BytesIO() if s.get('zip') else s['path']
f = h5py.File(buf, 'w')
def enc(v):
    return [x.encode() for x in v] if isinstance(v, list) else v
for k, v in (s.get('attrs') or {}).items(): f.attrs[k] = enc(v)
vals = {}
for d in s['datasets']:
    a = (np.random.default_rng(d['seed']).standard_normal(d['shape']) * 0.5).astype('<f4')
    if d.get('positive'): a = np.abs(a) + 0.1
    f.create_dataset(d['path'], data=a)
    vals[d['path']] = base64.b64encode(a.tobytes()).decode()
for g, attrs in (s.get('groupAttrs') or {}).items():
    grp = f.require_group(g)
    for k, v in attrs.items(): grp.attrs[k] = enc(v) if v != [] else np.array([], dtype='S1')
f.close()
if s.get('zip'):
    with zipfile.ZipFile(s['path'], 'w') as z:
        for k, v in s['zip'].items(): z.writestr(k, v)
        z.writestr('model.weights.h5', buf.getvalue())
print(json.dumps(vals))
`,
    { ...spec, path },
  );
  const values = new Map<string, Float32Array>();
  for (const [k, v] of Object.entries(out))
    values.set(k, new Float32Array(new Uint8Array(Buffer.from(v, 'base64')).buffer));
  return { path, values };
}

/** Deterministic pseudo-random values in [lo, hi) (LCG), so both runners see the same input. */
export function seededInput(n: number, seed = 1, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / (1 << 24)) * (hi - lo);
  }
  return out;
}

/** Every layer's output from the IR runner, by node name. */
export async function irOutputs(m: OpenedModel, input: tf.Tensor): Promise<Map<string, Float32Array>> {
  const runner = new IRRunner(m.graph, m.weights);
  const out = new Map<string, Float32Array>();
  try {
    await runner.run(input, async (o) => {
      out.set(o.layerId, (await o.tensor.data()) as Float32Array);
    });
  } finally {
    runner.dispose();
  }
  return out;
}

/** Every layer's output from a tfjs LayersModel (nested models' inner layers included), by layer name. */
export function tfjsOutputs(model: tf.LayersModel, input: tf.Tensor): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const walk = (m: tf.LayersModel, x: tf.Tensor): tf.Tensor => {
    // Run layer by layer through Sequential containers; a Functional model is probed with one multi-output model.
    if (m instanceof tf.Sequential) {
      let cur = x;
      for (const l of m.layers) {
        if (l.getClassName() === 'InputLayer') continue;
        const next = l instanceof tf.LayersModel ? walk(l, cur) : (l.apply(cur) as tf.Tensor);
        if (!(l instanceof tf.LayersModel)) out.set(l.name, next.dataSync() as Float32Array);
        cur = next;
      }
      return cur;
    }
    const inner = m.layers.filter((l) => l.getClassName() !== 'InputLayer');
    const probe = tf.model({ inputs: m.inputs, outputs: inner.map((l) => l.output as tf.SymbolicTensor) });
    const ys = probe.predict(x) as tf.Tensor[] | tf.Tensor;
    const list = Array.isArray(ys) ? ys : [ys];
    inner.forEach((l, i) => out.set(l.name, list[i].dataSync() as Float32Array));
    return list[list.length - 1];
  };
  tf.tidy(() => {
    walk(model, input);
  });
  return out;
}

/** Expects every layer both runners computed to agree within `rel` of the oracle layer's value range. */
export function expectSameOutputs(
  ours: Map<string, Float32Array>,
  oracle: Map<string, Float32Array>,
  rel = 1e-4,
): number {
  let compared = 0;
  for (const [name, want] of oracle) {
    const got = ours.get(name);
    if (!got) continue;
    expect(got.length, `layer ${name}: size`).toBe(want.length);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of want) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const tol = rel * Math.max(hi - lo, 1e-3);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst, `layer ${name}: max |IR − tfjs| = ${worst} over range ${hi - lo}`).toBeLessThanOrEqual(tol);
    compared++;
  }
  return compared;
}

/** Keras 3 config spellings → the Keras 2 ones tfjs reads (dtype policies, batch_shape); a test-side shim. */
export function kerasConfigForTfjs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(kerasConfigForTfjs);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (o.class_name === 'DTypePolicy') return 'float32';
    const r: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) r[k === 'batch_shape' ? 'batch_input_shape' : k] = kerasConfigForTfjs(x);
    return r;
  }
  return v;
}

/**
 * tfjs artifacts built straight from an HDF5 file read by h5py: the model_config as the topology, each group's
 * tensors named "<layer>/<variable>" (what tfjs looks weights up by). `innerNames`: name nested models' weights
 * by the layer their name carries instead of the top-level group.
 */
export function artifactsFromH5(path: string, innerNames = false): tf.io.ModelArtifacts {
  const d = dumpH5(path);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const bufs: Uint8Array[] = [];
  for (const l of d.layers)
    for (const w of l.weights) {
      const seg = w.name.replace(/:\d+$/, '').split('/');
      const layer = innerNames ? seg[seg.length - 2] : l.group;
      specs.push({ name: `${layer}/${seg[seg.length - 1]}`, shape: w.shape, dtype: 'float32' });
      bufs.push(new Uint8Array(Buffer.from(w.data, 'base64')));
    }
  const data = new Uint8Array(bufs.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of bufs) {
    data.set(b, o);
    o += b.length;
  }
  return {
    modelTopology: kerasConfigForTfjs(JSON.parse(d.modelConfig)) as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: data.buffer,
  };
}

/** Writes bytes to a temp file (for Python to read). */
export function writeTemp(name: string, bytes: Uint8Array | string): string {
  const p = join(tempDir(), name);
  writeFileSync(p, bytes);
  return p;
}

/** The tensors of a `.keras` archive's weights file: every `…/vars/<i>` group's datasets in index order, by group. */
export function dumpKerasV3(path: string): {
  config: unknown;
  groups: Record<string, { shape: number[]; data: string }[]>;
} {
  return python(
    `
import h5py, json, sys, zipfile, io, base64, numpy as np
p = json.load(sys.stdin)['path']
z = zipfile.ZipFile(p)
f = h5py.File(io.BytesIO(z.read('model.weights.h5')), 'r')
groups = {}
def visit(name, o):
    if isinstance(o, h5py.Group) and name.endswith('/vars') and name.startswith('layers/'):
        ks = sorted([k for k in o.keys()], key=int)
        groups[name[:-5]] = [{'shape': list(o[k].shape), 'data': base64.b64encode(np.asarray(o[k], dtype='<f4').tobytes()).decode()} for k in ks]
f.visititems(visit)
print(json.dumps({'config': json.loads(z.read('config.json')), 'groups': groups}))
`,
    { path },
  );
}
