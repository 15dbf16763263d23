/**
 * torchvision state dicts against PyTorch itself: test/formats/oracle/torchvision_ref.py builds each supported
 * architecture with seeded random weights, saves `model.state_dict()` (zip and legacy containers, the published
 * files' key names), and records forward-hook outputs and logits for one input. Each file is opened through the
 * format registry (openModelFiles) and run by the IR runner on wasm: every hooked layer and the logits within
 * 1e-4 of the layer's range, the same top-5, and the parameter count PyTorch reports. Also: a fine-tuned head, a
 * state dict of another model, and torchvision's ImageNet preprocessing on real photos.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { InputError } from '../../common/image-header';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { prepareInput } from '../../renderer/src/engine/preprocess';
import type { Preprocess } from '../../common/engine-protocol';
import { parseRequest } from '../../common/engine-protocol-schema';
import { OpenCancelledError, detectFormat, openModelFiles } from '../../renderer/src/formats';
import { IMAGENET_CLASSES } from '../../renderer/src/formats/imagenet-classes';
import { openTorchStateDict, pytorchFormat } from '../../renderer/src/formats/pytorch';
import { readTorchStateDict } from '../../renderer/src/formats/torch-file';
import { compareNchw, readF32, runAll } from './onnx-helpers';

const SCRIPT = fileURLToPath(new URL('./oracle/torchvision_ref.py', import.meta.url));
const SAMPLES = fileURLToPath(new URL('../../resources/samples/', import.meta.url));
const PHOTOS = ['chelsea.png', 'coffee.png'];
const APT_HINT = 'install them with: apt-get install python3-torch python3-torchvision';
const TOL = 1e-4;

interface RefModel {
  name: string;
  arch: string;
  file: string;
  container: 'zip' | 'legacy';
  classes: number;
  inputShape: [number, number, number, number];
  input: string;
  layers: { module: string; node: string; shape: number[]; bin: string }[];
  output: { node: string; shape: number[]; bin: string };
  top5: number[];
  params: number;
  bnStats: number;
  tensors: number;
  auxTensors: number;
}
interface Manifest {
  models: RefModel[];
  small: { file: string; tensors: number; params: number; keys: [string, number[]][] };
  transforms: { crops: { image: string; resize: number; crop: number; bin: string }[]; categories: string[] };
}

let dir = '';
let manifest: Manifest;
let baseline = 0;

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  baseline = tf.memory().numTensors;
  dir = mkdtempSync(join(tmpdir(), 'torchvision-ref-'));
  const images = PHOTOS.map((p) => join(SAMPLES, p)).join(',');
  const r = spawnSync('/usr/bin/python3', [SCRIPT, dir, '--images', images], { encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw new Error(`/usr/bin/python3 could not run (${r.error.message}); ${APT_HINT}`);
  if (r.status === 3)
    throw new Error(`the PyTorch oracle needs torch and torchvision (${r.stderr.trim()}); ${APT_HINT}`);
  if (r.status !== 0) throw new Error(`the PyTorch oracle failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}, 320_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(tf.memory().numTensors, 'tensors left behind after the IR runner was disposed').toBe(baseline);
});

/** A file read for this open only: consumable, as the engine's worker hands its files to the formats. */
const fileOf = (name: string, consumable = true) => ({
  path: name,
  bytes: new Uint8Array(readFileSync(join(dir, name))),
  consumable,
});

/** Indices of the 5 largest values, largest first. */
function top5(v: Float32Array): number[] {
  return [...v.keys()].sort((a, b) => v[b] - v[a]).slice(0, 5);
}

const ARCHS = [
  'alexnet',
  'vgg16',
  'vgg16_bn',
  'googlenet',
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'densenet121',
  'mobilenet_v2',
  'inception_v3',
];
const NAMES: Record<string, string> = {
  alexnet: 'AlexNet',
  vgg16: 'VGG-16',
  vgg16_bn: 'VGG-16 (BN)',
  googlenet: 'GoogLeNet',
  resnet18: 'ResNet-18',
  resnet34: 'ResNet-34',
  resnet50: 'ResNet-50',
  resnet101: 'ResNet-101',
  densenet121: 'DenseNet-121',
  mobilenet_v2: 'MobileNetV2',
  inception_v3: 'Inception-v3',
};

describe('torchvision state dicts match PyTorch', () => {
  it('the oracle saved every architecture, in both containers', () => {
    expect(manifest.models.map((m) => m.name)).toEqual([...ARCHS, 'resnet18_head10']);
    expect(manifest.models.filter((m) => m.container === 'legacy').length).toBeGreaterThanOrEqual(2);
    for (const m of manifest.models)
      expect(m.layers.length + 1, m.name).toBeGreaterThanOrEqual(m.name.includes('head') ? 3 : 7);
  });

  // Each file converted in place (the app's path); the legacy ResNet-18 and the zip MobileNetV2 also from bytes
  // the caller keeps, which must come back untouched.
  const cases = [
    ...ARCHS.map((name) => ({ name, consumable: true })),
    ...['resnet18', 'mobilenet_v2'].map((name) => ({ name, consumable: false })),
  ];
  for (const { name, consumable } of cases) {
    it(`${name}${consumable ? '' : ' (bytes kept by the caller)'}: recognised, and every hooked layer and the logits match`, async () => {
      const m = manifest.models.find((x) => x.name === name)!;
      const file = fileOf(m.file, consumable);
      const opened = await openModelFiles([file], m.file);
      if (!consumable)
        expect(Buffer.compare(file.bytes, readFileSync(join(dir, m.file))), 'the kept bytes changed').toBe(0);
      expect(opened.format).toBe('pytorch');
      expect(opened.description).toBe(
        `${NAMES[name]} — ImageNet (torchvision file ${m.file}${m.container === 'legacy' ? ', legacy container' : ''})`,
      );
      expect(opened.labels).toEqual(manifest.transforms.categories);
      const crop = name === 'inception_v3' ? [299, 342] : [224, 256];
      expect(opened.preprocess?.preprocess).toMatchObject({
        inputSize: [crop[0], crop[0]],
        resize: 'center-crop',
        cropFraction: crop[0] / crop[1],
        channelOrder: 'rgb',
        scale: 1,
        offset: 0,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
      });
      if (m.auxTensors) {
        expect(opened.warnings.join('\n')).toContain(`${m.auxTensors} tensors of the auxiliary classifier`);
      } else expect(opened.warnings).toEqual([]);

      // Parameters as PyTorch counts them, and with the BN statistics as Keras counts them.
      const analysis = analyzeGraph(opened.graph);
      expect(analysis.totals.paramsWithoutBnStats).toBe(m.params);
      expect(analysis.totals.params).toBe(m.params + m.bnStats);

      const runner = new IRRunner(opened.graph, opened.weights);
      const input = tf.tidy(() => tf.transpose(tf.tensor4d(readF32(join(dir, m.input)), m.inputShape), [0, 2, 3, 1]));
      try {
        const refs = [...m.layers, { module: 'logits', ...m.output }];
        const got = await runAll(runner, input, new Set(refs.map((l) => l.node)));
        const errs: string[] = [];
        for (const l of refs) {
          const mine = got.get(l.node);
          expect(mine, `${name}: no layer "${l.node}"`).toBeDefined();
          const err = compareNchw(mine!, readF32(join(dir, l.bin)), l.shape);
          errs.push(`${l.module}: ${err.toExponential(1)}`);
          expect(err, `${name} ${l.module} (${l.node}) error relative to its range`).toBeLessThan(TOL);
        }
        expect(top5(got.get(m.output.node)!)).toEqual(m.top5);
        console.log(`${name}: ${errs.join(', ')}`);
      } finally {
        input.dispose();
        runner.dispose();
      }
    }, 300_000);
  }
});

describe('state dicts that are not an ImageNet torchvision file', () => {
  it("a fine-tuned 10-class head: the backbone loads, the head is the file's own, no ImageNet names", async () => {
    const m = manifest.models.find((x) => x.name === 'resnet18_head10')!;
    const opened = await openModelFiles([fileOf(m.file)], m.file);
    expect(opened.description).toBe(
      `ResNet-18 backbone with the file's own 10-class head (torchvision file ${m.file})`,
    );
    expect(opened.labels).toBeUndefined();
    expect(opened.warnings.join('\n')).toMatch(/classifier "fc" has 10 outputs, not ImageNet's 1000/);
    const fc = opened.graph.nodes.find((n) => n.name === 'fc')!;
    expect(fc.op === 'dense' && fc.units).toBe(10);
    const runner = new IRRunner(opened.graph, opened.weights);
    const input = tf.tidy(() => tf.transpose(tf.tensor4d(readF32(join(dir, m.input)), m.inputShape), [0, 2, 3, 1]));
    try {
      const got = await runAll(runner, input, new Set(['fc', ...m.layers.map((l) => l.node)]));
      for (const l of [...m.layers, m.output]) {
        const err = compareNchw(got.get(l.node)!, readF32(join(dir, l.bin)), l.shape);
        expect(err, l.node).toBeLessThan(TOL);
      }
    } finally {
      input.dispose();
      runner.dispose();
    }
  });

  it('a state dict of another network: one message naming the file and listing what it holds', async () => {
    const s = manifest.small;
    const files = [fileOf(s.file)];
    expect(detectFormat(files)?.id).toBe('pytorch');
    const err = await openModelFiles(files, s.file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const msg = (err as Error).message;
    const kParams = `${(s.params / 1e3).toFixed(1)} k params`;
    expect(msg).toContain(`${s.file}: a PyTorch state_dict of ${s.tensors} tensors (${kParams}) that matches none`);
    expect(msg).toContain('(alexnet, vgg16, vgg16_bn, googlenet, resnet18, resnet34, resnet50, resnet101, densenet121');
    // The first ten tensors, each with its shape.
    for (const [k, shape] of s.keys.slice(0, 10)) expect(msg).toContain(`${k} [${shape.join(',')}]`);
    expect(msg).toContain(`(${s.tensors - 10} more)`);
  });
});

describe('state dicts close to an architecture', () => {
  const resnet18 = () => {
    const m = manifest.models.find((x) => x.name === 'resnet18')!;
    return { m, sd: readTorchStateDict(fileOf(m.file).bytes, m.file) };
  };

  it('nn.DataParallel\'s "module." prefix is taken off, as load_state_dict users do', async () => {
    const { m, sd } = resnet18();
    const prefixed = new Map([...sd.tensors].map(([k, v]) => [`module.${k}`, v]));
    const opened = await openTorchStateDict({ ...sd, tensors: prefixed }, m.file);
    expect(opened.description).toContain('ResNet-18 — ImageNet');
    expect(opened.weights.get('layer4.1.conv2')![0].shape).toEqual([3, 3, 512, 512]);
  });

  it('converted in place, tensors sharing bytes are copied instead: each lands in the IR layout once', async () => {
    const m = manifest.models.find((x) => x.name === 'resnet18')!;
    const file = fileOf(m.file);
    const sd = readTorchStateDict(file.bytes, m.file, { inPlace: true });
    const tensors = new Map(sd.tensors);
    // Tied weights: two keys, one tensor (and its bytes). Converting it in place twice would scramble both.
    const tied = tensors.get('layer1.0.conv1.weight')!;
    tensors.set('layer1.0.conv2.weight', tied);
    const stored = tied.values.slice();
    const fileBuffer = file.bytes.buffer;
    const opened = await openTorchStateDict({ ...sd, tensors }, m.file, { inPlace: true });
    // OIHW → HWIO by its definition (torch's permute(2, 3, 1, 0)), written out.
    const [O, I, KH, KW] = tied.shape;
    const hwio = new Float32Array(stored.length);
    for (let o = 0; o < O; o++)
      for (let i = 0; i < I; i++)
        for (let y = 0; y < KH; y++)
          for (let x = 0; x < KW; x++) hwio[((y * KW + x) * I + i) * O + o] = stored[((o * I + i) * KH + y) * KW + x];
    for (const node of ['layer1.0.conv1', 'layer1.0.conv2']) {
      const w = opened.weights.get(node)![0].data;
      expect(
        w.findIndex((v, k) => v !== hwio[k]),
        node,
      ).toBe(-1);
      expect(w.buffer, `${node} is a copy`).not.toBe(fileBuffer);
    }
    // The rest were converted where they lay: views of the file's own bytes.
    expect(opened.weights.get('conv1')![0].data.buffer).toBe(fileBuffer);
    expect(opened.weights.get('fc')![0].data.buffer).toBe(fileBuffer);
  });

  it('one tensor missing: refused, naming the closest architecture and what differs', async () => {
    const { sd } = resnet18();
    const tensors = new Map(sd.tensors);
    tensors.delete('layer3.1.bn2.running_var');
    const w = tensors.get('layer2.0.conv1.weight')!;
    tensors.set('layer2.0.conv1.weight', { ...w, shape: [96, 64, 3, 3], values: new Float32Array(96 * 64 * 9) });
    let msg = '';
    try {
      await openTorchStateDict({ ...sd, tensors }, 'broken.pth');
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^broken\.pth: a PyTorch state_dict of \d+ tensors \(11\.7 M params\) that matches none/);
    expect(msg).toContain('Closest is resnet18');
    expect(msg).toContain('missing layer3.1.bn2.running_var');
    expect(msg).toContain('layer2.0.conv1.weight is [96,64,3,3], resnet18 has [128,64,3,3]');
  });
});

describe('cancelling an open', () => {
  const resnet18 = () => fileOf(manifest.models.find((x) => x.name === 'resnet18')!.file);

  it('an aborted signal stops the open as cancelled, not as a problem with the file', async () => {
    const ac = new AbortController();
    ac.abort();
    const e: unknown = await pytorchFormat.open([resnet18()], { signal: ac.signal }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenCancelledError);
    expect(e).not.toBeInstanceOf(InputError);
    expect((e as Error).name).toBe('CancelledError');
  });

  it('a cancel that arrives while the tensors are being converted stops the conversion', async () => {
    // ResNet-18's 46 MB: the open runs to its first turn of the event loop (after 32 MB converted), where this
    // timer, set first, aborts it.
    const ac = new AbortController();
    const file = resnet18();
    let aborted = false;
    setTimeout(() => {
      aborted = true;
      ac.abort();
    }, 0);
    const opening = pytorchFormat.open([file], { signal: ac.signal });
    expect(aborted).toBe(false);
    const e: unknown = await opening.catch((x: unknown) => x);
    expect(aborted, 'the open finished before the cancel could arrive').toBe(true);
    expect(e).toBeInstanceOf(OpenCancelledError);
    expect((e as Error).message).toBe(`opening ${file.path} was cancelled`);
    // The registry says the same (and a format that never looks at the signal is caught after its open).
    const again = new AbortController();
    again.abort();
    await expect(openModelFiles([resnet18()], 'resnet18', { signal: again.signal })).rejects.toBeInstanceOf(
      OpenCancelledError,
    );
  });
});

describe("torchvision's ImageNet preprocessing", () => {
  it('cropFraction crosses the engine protocol only within (0, 1]', () => {
    const req = (cropFraction: number) =>
      parseRequest({
        type: 'analyze',
        id: 1,
        modelId: 'user:resnet50.pth',
        image: { kind: 'encoded', name: 'cat.png', bytes: new ArrayBuffer(8) },
        preprocess: { cropFraction },
      });
    expect(req(0.875).ok).toBe(true);
    expect(req(1).ok).toBe(true);
    for (const bad of [0, -0.5, 1.5, Number.NaN]) {
      const r = req(bad);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem).toContain('cropFraction');
    }
  });

  it("the class names are torchvision's", () => {
    expect(IMAGENET_CLASSES).toEqual(manifest.transforms.categories);
  });

  /**
   * The app's crop against torchvision's Resize(R) + CenterCrop(S) on real photos (PIL bilinear). Where the resize
   * enlarges the photo (chelsea: 300 → 342) PIL's bilinear is plain half-pixel bilinear, as the app's, so every
   * value must agree within 1 level (rounding). Where it shrinks it (1.17× – 1.56× here) PIL widens its filter
   * (antialiasing) and the app does not: they differ at sharp edges (up to ~80 levels on single pixels), so
   * there the mean absolute difference must stay within 1.5 levels and 8×8-block means within 4 — while the same
   * comparison with the crop left out (the largest square) or a window 4% too large fails clearly, so the test
   * sees the geometry.
   */
  for (const [i, photo] of PHOTOS.entries()) {
    for (const [resize, crop] of [
      [256, 224],
      [342, 299],
    ]) {
      it(`${photo}: Resize(${resize}) + CenterCrop(${crop})`, () => {
        const png = PNG.sync.read(readFileSync(join(SAMPLES, photo)));
        const img = { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data) };
        const ref = new Uint8Array(readFileSync(join(dir, `image${i}.${resize}-${crop}.rgb`)));
        const pre: Preprocess = {
          inputSize: [crop, crop],
          resize: 'center-crop',
          cropFraction: crop / resize,
          channelOrder: 'rgb',
          scale: 1,
          offset: 0,
          mean: [0, 0, 0],
          std: [1, 1, 1],
        };
        const diff = (p: Preprocess) => {
          const { preview } = prepareInput(img, p);
          let sum = 0;
          let max = 0;
          for (let k = 0; k < crop * crop; k++)
            for (let c = 0; c < 3; c++) {
              const d = Math.abs(preview[k * 4 + c] - ref[k * 3 + c]);
              sum += d;
              max = Math.max(max, d);
            }
          const B = 8;
          let block = 0;
          for (let by = 0; by + B <= crop; by += B)
            for (let bx = 0; bx + B <= crop; bx += B)
              for (let c = 0; c < 3; c++) {
                let a = 0;
                let b = 0;
                for (let y = by; y < by + B; y++)
                  for (let x = bx; x < bx + B; x++) {
                    a += preview[(y * crop + x) * 4 + c];
                    b += ref[(y * crop + x) * 3 + c];
                  }
                block = Math.max(block, Math.abs(a - b) / (B * B));
              }
          return { mean: sum / (crop * crop * 3), block, max };
        };
        const good = diff(pre);
        const enlarges = resize > Math.min(img.width, img.height);
        expect(good.mean).toBeLessThan(enlarges ? 0.5 : 1.5);
        expect(good.block).toBeLessThan(4);
        if (enlarges) expect(good.max).toBeLessThanOrEqual(1);
        const { cropFraction: _omit, ...noCrop } = pre;
        const wrong = [diff(noCrop), diff({ ...pre, cropFraction: (crop / resize) * 1.04 })];
        for (const w of wrong) expect(w.block).toBeGreaterThan(2 * good.block);
        console.log(
          `${photo} ${resize}/${crop}: mean |Δ| ${good.mean.toFixed(2)}, 8×8 blocks ≤ ${good.block.toFixed(2)}; ` +
            `without the crop ${wrong[0].block.toFixed(1)}, 4% off ${wrong[1].block.toFixed(1)}`,
        );
      });
    }
  }
});
