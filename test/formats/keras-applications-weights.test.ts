/**
 * A weights-only Keras file with Keras Applications layer names (what `model.save_weights` writes, and what Keras
 * caches in ~/.keras/models) opens on the built-in architecture of the same name. The file is written at test
 * time with h5py in Keras 2's save_weights layout from a tfjs-built MobileNetV2, whose own forward pass is the
 * oracle: the same weights through the IR runner must give the same activations.
 *
 * Then the files Keras Applications downloads — VGG16 (with and without the top), ResNet50, DenseNet121,
 * InceptionV3, MobileNetV2 — written by h5py in that layout with seeded values: every tensor must land on the
 * layer of its name (checked against fingerprints numpy computes of what it wrote), the parameter totals are
 * Keras' published ones, `_notop` files give the backbone ending where Keras' include_top=False model ends, and
 * VGG16's first conv computes what numpy computes by hand from the stored kernel.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { buildZooModel } from '../../renderer/src/engine/build-zoo';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { LayersRunner } from '../../renderer/src/engine/runner';
import { kerasH5Format } from '../../renderer/src/formats/keras-h5';
import { python, tempDir } from './helpers-keras';
import { readFileSync } from 'node:fs';
import { openModelFiles } from '../../renderer/src/formats';
import { IMAGENET_CLASSES } from '../../renderer/src/formats/imagenet-classes';
import { getZooGraph, type ZooId } from '../../renderer/src/zoo';
import type { GraphNode } from '../../renderer/src/analysis/graph';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

let model: tf.LayersModel;
let h5Path = '';

beforeAll(() => {
  model = buildZooModel('mobilenetv2', { input: [32, 32], seed: 5 });
  const dir = tempDir();
  const entries: { layer: string; names: string[]; shapes: number[][]; offsets: number[] }[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const layer of model.layers) {
    const ws = layer.weights;
    if (!ws.length) continue;
    const values = layer.getWeights();
    entries.push({
      layer: layer.name,
      names: ws.map((w) => `${layer.name}/${w.originalName.split('/').pop()}:0`),
      shapes: values.map((v) => v.shape),
      offsets: values.map((v) => {
        const o = offset;
        const d = v.dataSync() as Float32Array;
        chunks.push(d);
        offset += d.length;
        return o;
      }),
    });
  }
  const all = new Float32Array(offset);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  writeFileSync(join(dir, 'values.f32'), Buffer.from(all.buffer));
  h5Path = join(dir, 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5');
  python(
    `
import h5py, json, sys, numpy as np
a = json.load(sys.stdin)
vals = np.fromfile(a['values'], dtype='<f4')
with h5py.File(a['out'], 'w') as f:
    f.attrs['layer_names'] = [e['layer'].encode() for e in a['entries']]
    f.attrs['backend'] = b'tensorflow'
    f.attrs['keras_version'] = b'2.2.4'
    for e in a['entries']:
        g = f.create_group(e['layer'])
        g.attrs['weight_names'] = [n.encode() for n in e['names']]
        for n, s, off in zip(e['names'], e['shapes'], e['offsets']):
            size = int(np.prod(s)) if s else 1
            g.create_dataset(n, data=vals[off:off + size].reshape(s))
print(json.dumps({'ok': True}))
`,
    { values: join(dir, 'values.f32'), out: h5Path, entries },
  );
});

afterAll(() => model?.dispose());

describe('Keras Applications weights without an architecture', () => {
  it('open on the built-in MobileNetV2 with every stored value, and run as the model that wrote them', async () => {
    const bytes = new Uint8Array(readFileSync(h5Path));
    const files = [{ path: 'mobilenet_v2_weights.h5', bytes }];
    expect(kerasH5Format.match(files)).toBe(true);
    const opened = await kerasH5Format.open(files);
    expect(opened.description).toMatch(/Keras Applications MobileNetV2 weights .* on the built-in MobileNetV2/);
    expect(opened.warnings.join(' ')).toMatch(/weights only/);
    // Keras Applications' published count for MobileNetV2 (1.0, 224): 3,538,984.
    const analysis = analyzeGraph(opened.graph, { input: [32, 32] });
    expect(analysis.totals.params).toBe(3_538_984);
    expect(analysis.warnings.filter((w) => /weight manifest/.test(w))).toEqual([]);

    const ir = new IRRunner(opened.graph, opened.weights);
    const ref = new LayersRunner(model);
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 11);
    const want = new Map<string, Float32Array>();
    await ref.run(x, async (o) => void want.set(o.layerId, (await o.tensor.data()) as Float32Array));
    let worst = 0;
    await ir.run(x, async (o) => {
      const a = (await o.tensor.data()) as Float32Array;
      const b = want.get(o.layerId)!;
      let lo = Infinity;
      let hi = -Infinity;
      let d = 0;
      for (let i = 0; i < b.length; i++) {
        lo = Math.min(lo, b[i]);
        hi = Math.max(hi, b[i]);
        d = Math.max(d, Math.abs(a[i] - b[i]));
      }
      worst = Math.max(worst, d / Math.max(hi - lo, 1e-6));
    });
    expect(want.size).toBe(ir.frameOrder.length);
    expect(worst).toBeLessThan(1e-4);
    x.dispose();
    ir.dispose();
  }, 120_000);
});

/** One Keras Applications weight file to write: the zoo architecture, whether the top is left out, the file name. */
const APPS: { id: ZooId; notop: boolean; file: string; params: number; output: string; mode: string }[] = [
  // Totals as Keras Applications reports them (model.count_params(), include_top True / False).
  {
    id: 'vgg16',
    notop: false,
    file: 'vgg16_weights_tf_dim_ordering_tf_kernels.h5',
    params: 138_357_544,
    output: 'predictions',
    mode: 'caffe',
  },
  {
    id: 'vgg16',
    notop: true,
    file: 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    params: 14_714_688,
    output: 'block5_pool',
    mode: 'caffe',
  },
  {
    id: 'resnet50',
    notop: false,
    file: 'resnet50_weights_tf_dim_ordering_tf_kernels.h5',
    params: 25_636_712,
    output: 'predictions',
    mode: 'caffe',
  },
  {
    id: 'resnet50',
    notop: true,
    file: 'resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5',
    params: 23_587_712,
    output: 'conv5_block3_out',
    mode: 'caffe',
  },
  {
    id: 'densenet121',
    notop: false,
    file: 'densenet121_weights_tf_dim_ordering_tf_kernels.h5',
    params: 8_062_504,
    output: 'predictions',
    mode: 'torch',
  },
  {
    id: 'inceptionv3',
    notop: false,
    file: 'inception_v3_weights_tf_dim_ordering_tf_kernels.h5',
    params: 23_851_784,
    output: 'predictions',
    mode: 'tf',
  },
  {
    id: 'mobilenetv2',
    notop: false,
    file: 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5',
    params: 3_538_984,
    output: 'predictions',
    mode: 'tf',
  },
];

/** Keras' variable names and shapes of a zoo layer (the layout Keras Applications' files store). */
function kerasVariables(node: GraphNode, inShape: number[]): { name: string; shape: number[] }[] {
  const cin = inShape[inShape.length - 1];
  switch (node.op) {
    case 'conv':
      return [
        { name: 'kernel', shape: [...node.kernel, cin / (node.groups ?? 1), node.filters] },
        ...(node.useBias ? [{ name: 'bias', shape: [node.filters] }] : []),
      ];
    case 'depthwise':
      return [
        { name: 'depthwise_kernel', shape: [...node.kernel, cin, node.depthMultiplier] },
        ...(node.useBias ? [{ name: 'bias', shape: [cin * node.depthMultiplier] }] : []),
      ];
    case 'dense':
      return [
        { name: 'kernel', shape: [inShape.reduce((a, b) => a * b, 1), node.units] },
        ...(node.useBias ? [{ name: 'bias', shape: [node.units] }] : []),
      ];
    case 'bn':
      return [
        ...(node.scale ? [{ name: 'gamma', shape: [cin] }] : []),
        ...(node.center ? [{ name: 'beta', shape: [cin] }] : []),
        { name: 'moving_mean', shape: [cin] },
        { name: 'moving_variance', shape: [cin] },
      ];
    default:
      return [];
  }
}

/** A raw little-endian float32 file. */
function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** [sum, Σ v·(i mod 7 + 1), first, last] of a tensor: what numpy reports of each tensor it wrote. */
function fingerprint(v: Float32Array): number[] {
  let s = 0;
  let w = 0;
  for (let i = 0; i < v.length; i++) {
    s += v[i];
    w += v[i] * ((i % 7) + 1);
  }
  return [s, w, v[0], v[v.length - 1]];
}

const WRITE_APP = `
import h5py, json, sys, numpy as np
a = json.load(sys.stdin)
prints = {}
with h5py.File(a['out'], 'w') as f:
    f.attrs['layer_names'] = [l['name'].encode() for l in a['layers']]
    f.attrs['backend'] = b'tensorflow'
    f.attrs['keras_version'] = b'2.2.4'
    for li, l in enumerate(a['layers']):
        g = f.create_group(l['name'])
        names = ['%s/%s:0' % (l['name'], v['name']) for v in l['vars']]
        g.attrs['weight_names'] = [n.encode() for n in names]
        rng = np.random.default_rng(1000 + li)
        for n, v in zip(names, l['vars']):
            x = rng.standard_normal(v['shape'], dtype=np.float32) * np.float32(0.05)
            if v['name'] == 'moving_variance':
                x = np.abs(x) + np.float32(0.5)
            g.create_dataset(n, data=x)
            flat = x.reshape(-1).astype(np.float64)
            prints[l['name'] + '/' + v['name']] = [flat.sum(), (flat * (np.arange(flat.size) % 7 + 1)).sum(), flat[0], flat[-1]]
out = {'prints': prints}
if a.get('conv'):
    # block1_conv1 by hand: 3x3 'same' conv of a seeded image, plus the bias, then ReLU.
    c = a['conv']
    img = np.random.default_rng(7).random((c['size'], c['size'], 3), dtype=np.float32) * 2 - 1
    img.astype('<f4').tofile(c['input'])
    with h5py.File(a['out'], 'r') as f:
        k = f['block1_conv1/block1_conv1/kernel:0'][()].astype(np.float64)
        b = f['block1_conv1/block1_conv1/bias:0'][()].astype(np.float64)
    p = np.pad(img.astype(np.float64), ((1, 1), (1, 1), (0, 0)))
    y = np.zeros((c['size'], c['size'], k.shape[3]))
    for dy in range(3):
        for dx in range(3):
            y += p[dy:dy + c['size'], dx:dx + c['size'], :] @ k[dy, dx]
    np.maximum(y + b, 0).astype('<f4').tofile(c['output'])
print(json.dumps(out))
`;

describe('Keras Applications weight files (~/.keras/models) on the zoo architectures', () => {
  let tf0 = 0;
  beforeAll(() => {
    tf0 = tf.memory().numTensors;
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(tf0);
  });

  for (const app of APPS) {
    it(`${app.file}: every tensor on its layer, ${app.notop ? 'the backbone without the top' : 'ImageNet names'}`, async () => {
      const dir = tempDir();
      const full = getZooGraph(app.id);
      const shapes = new Map(analyzeGraph(full).layers.map((l) => [l.id, l.outputShape]));
      // The layers an include_top=False file has: everything before the classifier's dense layers and their
      // flatten / pooling (Keras' notop model stops at the last feature map).
      const firstTop = app.notop
        ? full.nodes.findIndex((n) => n.op === 'flatten' || n.op === 'gap')
        : full.nodes.length;
      // Keras 2 names DenseNet's stem conv1/conv, conv1/bn, conv1/relu (Keras 3 and the zoo: conv1_conv, …).
      const kerasName = (n: string) => (app.id === 'densenet121' ? n.replace(/^conv1_(conv|bn|relu)$/, 'conv1/$1') : n);
      const layers = full.nodes.slice(0, firstTop).map((n) => ({
        name: kerasName(n.name),
        vars: n.op === 'input' ? [] : kerasVariables(n, shapes.get(n.inputs[0]) ?? []),
      }));
      const path = join(dir, app.file);
      const conv = app.id === 'vgg16' ? { size: 16, input: join(dir, 'x.f32'), output: join(dir, 'y.f32') } : undefined;
      const { prints } = python<{ prints: Record<string, number[]> }>(WRITE_APP, { out: path, layers, conv });

      const opened = await openModelFiles([{ path: app.file, bytes: new Uint8Array(readFileSync(path)) }], app.file);
      expect(opened.format).toBe('keras-h5');
      expect(opened.description).toContain(app.notop ? 'weights without the top' : 'weights (');
      expect(opened.graph.outputs).toEqual([app.output]);
      if (app.notop) {
        expect(opened.labels).toBeUndefined();
        expect(opened.graph.nodes.some((n) => n.op === 'dense')).toBe(false);
        expect(opened.warnings.join(' ')).toContain(`the model ends at ${app.output}`);
      } else expect(opened.labels).toEqual([...IMAGENET_CLASSES]);
      const pre = opened.preprocess!.preprocess;
      if (app.mode === 'caffe')
        expect(pre).toMatchObject({ channelOrder: 'bgr', scale: 255, mean: [103.939, 116.779, 123.68] });
      if (app.mode === 'torch')
        expect(pre).toMatchObject({ channelOrder: 'rgb', scale: 1, std: [0.229, 0.224, 0.225] });
      if (app.mode === 'tf') expect(pre).toMatchObject({ channelOrder: 'rgb', scale: 2, offset: -1 });
      expect(analyzeGraph(opened.graph).totals.params).toBe(app.params);

      // Every tensor numpy wrote sits on the layer of its name, in Keras' order, with its values.
      let checked = 0;
      for (const [node, tensors] of opened.weights) {
        for (const t of tensors) {
          // The store names each tensor "<zoo layer>/<variable>:0".
          const leaf = t.name.slice(node.length + 1).replace(/:\d+$/, '');
          const want = prints[`${kerasName(node)}/${leaf}`];
          expect(want, `${t.name} was not written`).toBeDefined();
          expect(t.name.startsWith(`${node}/`)).toBe(true);
          const got = fingerprint(t.data);
          got.forEach((v, i) => expect(v, `${t.name} fingerprint ${i}`).toBeCloseTo(want[i], 2));
          checked++;
        }
      }
      expect(checked).toBe(Object.keys(prints).length);

      if (conv) {
        const x = tf.tensor4d(f32(conv.input), [1, conv.size, conv.size, 3]);
        const ir = new IRRunner(opened.graph, opened.weights);
        try {
          const y = await ir.runTo(x, 'block1_conv1');
          const got = (await y.data()) as Float32Array;
          y.dispose();
          const ref = f32(conv.output);
          expect(got.length).toBe(ref.length);
          let worst = 0;
          for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
          expect(worst).toBeLessThan(1e-5);
        } finally {
          x.dispose();
          ir.dispose();
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }, 180_000);
  }
});
