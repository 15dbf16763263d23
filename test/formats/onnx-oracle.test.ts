/**
 * The ONNX reader against PyTorch: test/formats/oracle/onnx_oracle.py builds small CNNs, ResNet-18 and
 * MobileNetV2 with seeded weights, exports them at opsets 9–17 (ResNet-18 with external data and a symbolic
 * batch), and records activations with forward hooks. Each hooked module's output must match the app's layer
 * (NHWC) within 1e-4 of the layer's range, and the parameter count must equal the initializers the weighted
 * nodes read.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { openOnnx } from '../../renderer/src/formats/onnx';
import { compareNchw, type Manifest, readF32, runAll } from './onnx-helpers';

const SCRIPT = fileURLToPath(new URL('./oracle/onnx_oracle.py', import.meta.url));
const APT_HINT = 'install them with: apt-get install python3-torch python3-torchvision python3-onnx';
const TOL = 1e-4;

let dir = '';
let manifest: Manifest;
let baseline = 0;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  baseline = tf.memory().numTensors;
  dir = mkdtempSync(join(tmpdir(), 'onnx-oracle-'));
  const r = spawnSync('/usr/bin/python3', [SCRIPT, dir], { encoding: 'utf8', timeout: 110_000 });
  if (r.error) throw new Error(`/usr/bin/python3 could not run (${r.error.message}); ${APT_HINT}`);
  if (r.status === 3)
    throw new Error(`the PyTorch oracle needs torch, torchvision and onnx (${r.stderr.trim()}); ${APT_HINT}`);
  if (r.status !== 0) throw new Error(`the PyTorch oracle failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(tf.memory().numTensors, 'tensors left behind after the IR runner was disposed').toBe(baseline);
});

const NAMES = [
  'lenet-op9',
  'lenet-op11',
  'lenet-op13',
  'lenet-op17',
  'mixnet-op9',
  'mixnet-op11',
  'mixnet-op13',
  'mixnet-op17',
  'actnet-op11',
  'actnet-op13',
  'nhwcnet-op13',
  'resnet18-op13-external',
  'mobilenetv2-op9',
  'mobilenetv2-op11',
  'squeezenet11-op17',
  'googlenet-op11',
];

describe('ONNX exported by PyTorch 1.13 matches PyTorch', () => {
  it('the oracle produced every model', () => {
    expect(manifest.models.map((m) => m.name)).toEqual(NAMES);
  });

  for (const name of NAMES) {
    it(`${name}: every hooked layer and the output match`, async () => {
      const m = manifest.models.find((x) => x.name === name)!;
      const files = m.files.map((f) => ({ path: f, bytes: new Uint8Array(readFileSync(join(dir, f))) }));
      const opened = await openOnnx(files);
      expect(opened.format).toBe('onnx');
      expect(opened.description).toContain(`opset ${m.opset}`);
      const hw: [number, number] = m.nhwc ? [m.inputShape[1], m.inputShape[2]] : [m.inputShape[2], m.inputShape[3]];
      const analysis = analyzeGraph(opened.graph, { input: hw });
      expect(analysis.totals.params).toBe(m.params);
      // BN stays its own layer wherever the export kept it.
      const onnxBn = m.layers.filter((l) => l.node.endsWith('BatchNormalization')).length;
      expect(opened.graph.nodes.filter((n) => n.op === 'bn').length >= onnxBn).toBe(true);

      const runner = new IRRunner(opened.graph, opened.weights);
      const raw = readF32(join(dir, m.input));
      // The IR input is NHWC: PyTorch's NCHW image is transposed; an NHWC model's is fed as it is.
      const input = tf.tidy(() =>
        m.nhwc
          ? tf.tensor4d(raw, m.inputShape as [number, number, number, number])
          : tf.transpose(tf.tensor4d(raw, m.inputShape as [number, number, number, number]), [0, 2, 3, 1]),
      );
      try {
        const wanted = [...m.layers.map((l) => l.tensor), m.output.tensor];
        const layerOf = wanted.map((t) => opened.tensorToLayer.get(t));
        expect(
          layerOf.every((l) => l !== undefined),
          `unmapped tensors: ${wanted.filter((_, i) => !layerOf[i])}`,
        ).toBe(true);
        const got = await runAll(runner, input, new Set(layerOf as string[]));
        const worst: string[] = [];
        const refs = [...m.layers, { module: 'output', ...m.output }];
        refs.forEach((l, i) => {
          const ref = readF32(join(dir, l.bin));
          const err = compareNchw(got.get(layerOf[i]!)!, ref, l.shape);
          worst.push(`${l.module}: ${err.toExponential(2)}`);
          expect(err, `${name} ${l.module} (${layerOf[i]}) relative error`).toBeLessThan(TOL);
        });
        console.log(`${name}: ${worst.join(', ')}`);
      } finally {
        input.dispose();
        runner.dispose();
      }
    }, 120_000);
  }
});
