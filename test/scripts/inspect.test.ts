import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const FIXTURES = join(ROOT, 'test/fixtures/models');

/** Runs scripts/inspect.ts the way `npm run -s inspect -- …` does. */
function inspect(...args: string[]) {
  const r = spawnSync(process.execPath, [TSX, 'scripts/inspect.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const KEYS = [
  'model',
  'format',
  'input',
  'preprocess',
  'totalParams',
  'trainableParams',
  'nonTrainableParams',
  'totalMacs',
  'layers',
  'prediction',
];

/** A 28×28 grey digit-like PNG (a bright bar on black) and its pixels. */
function digitPng(): { path: string; pixels: Float32Array } {
  const png = new PNG({ width: 28, height: 28 });
  const pixels = new Float32Array(28 * 28);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const v = x >= 12 && x <= 15 && y >= 4 && y <= 23 ? 255 : Math.round((x * y) % 7) * 3;
      pixels[y * 28 + x] = v;
      const i = (y * 28 + x) * 4;
      png.data[i] = png.data[i + 1] = png.data[i + 2] = v;
      png.data[i + 3] = 255;
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'fme-inspect-'));
  const path = join(dir, 'digit.png');
  writeFileSync(path, PNG.sync.write(png));
  return { path, pixels };
}

describe('npm run inspect', () => {
  it('ONNX LeNet: the documented JSON, and a top-5 equal to onnxruntime on the same pixels', async () => {
    const { path, pixels } = digitPng();
    const r = inspect(join(FIXTURES, 'onnx-ccoltong-lenet-batch10.onnx'), '--image', path, '--json');
    expect(r.stderr).not.toMatch(/^inspect:/m);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    for (const k of KEYS) expect(Object.keys(j)).toContain(k);
    expect(j.format).toBe('onnx');
    expect(j.input).toEqual([28, 28, 1]);
    // The onnx package counts 61,706 initializer values in this file (test/formats/onnx-real.test.ts).
    expect(j.totalParams).toBe(61_706);
    expect(j.preprocess).toMatchObject({ scale: 1, offset: 0, channels: 1 });
    expect(j.preprocess.source).toMatch(/default/);
    for (const l of j.layers.slice(1)) {
      expect(Object.keys(l)).toEqual(['name', 'kind', 'outputShape', 'params', 'macs', 'receptiveField', 'activation']);
      expect(l.activation.min).toBeLessThanOrEqual(l.activation.mean);
      expect(l.activation.mean).toBeLessThanOrEqual(l.activation.max);
    }
    expect(j.prediction).toHaveLength(5);

    // Oracle: onnxruntime on the image at its own size, used pixel for pixel (value = pixel / 255), batch 10.
    const session = await ort.InferenceSession.create(join(FIXTURES, 'onnx-ccoltong-lenet-batch10.onnx'));
    const x = new Float32Array(10 * 28 * 28);
    for (let b = 0; b < 10; b++) for (let i = 0; i < 784; i++) x[b * 784 + i] = pixels[i] / 255;
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [10, 1, 28, 28]) });
    const y = Array.from(out[session.outputNames[0]].data as Float32Array).slice(0, 10);
    const sum = y.reduce((a, b) => a + b, 0);
    const probs =
      y.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-3
        ? y
        : y.map((v) => Math.exp(v - Math.max(...y))).map((e, _i, all) => e / all.reduce((a, b) => a + b, 0));
    const order = probs
      .map((p, i) => [p, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 5);
    expect(j.prediction.map((p: { index: number }) => p.index)).toEqual(order.map((o) => o[1]));
    j.prediction.forEach((p: { probability: number }, k: number) => expect(p.probability).toBeCloseTo(order[k][0], 4));
  }, 180_000);

  it('conventions from the command line reach the engine and the JSON says so', () => {
    const { path } = digitPng();
    const base = inspect(join(FIXTURES, 'onnx-ccoltong-lenet-batch10.onnx'), '--image', path, '--json');
    const signed = inspect(
      join(FIXTURES, 'onnx-ccoltong-lenet-batch10.onnx'),
      '--image',
      path,
      '--json',
      '--range',
      '-1,1',
    );
    expect(signed.code).toBe(0);
    const a = JSON.parse(base.stdout);
    const b = JSON.parse(signed.stdout);
    expect(b.preprocess).toMatchObject({ scale: 2, offset: -1, source: 'command line' });
    // The input layer's values now reach −1: the first conv sees a different input, so its activations change.
    expect(a.layers[1].activation).not.toEqual(b.layers[1].activation);
  }, 180_000);

  it('refuses what it cannot run with one line naming the file (and 2 for bad usage)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fme-inspect-bad-'));
    const text = join(dir, 'model.h5');
    writeFileSync(text, 'this is not a model\n');
    const r = inspect(text);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^inspect: .*model\.h5.*text file/);
    const rgb = inspect(join(FIXTURES, 'onnx-mesonet-tf2onnx-nhwc.onnx'), '--grey');
    expect(rgb.code).toBe(2);
    expect(rgb.stderr).toMatch(/--grey: the model takes 3 input channels/);
    expect(inspect(join(FIXTURES, 'onnx-mesonet-tf2onnx-nhwc.onnx'), '--range', '0,2').code).toBe(2);
  }, 180_000);
});

describe('npm run summary reads every format the app opens', () => {
  it.each([
    ['kh5-ayaan-gtsrb-bn.h5', 'Keras HDF5'],
    ['kv3-subhadip-mnist.keras', 'Keras 3 archive'],
    ['onnx-mesonet-tf2onnx-nhwc.onnx', 'tf2onnx ONNX'],
  ])('%s (%s)', (file) => {
    const r = spawnSync(process.execPath, [TSX, 'scripts/summary.ts', join(FIXTURES, file), '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).not.toMatch(/^summary:/m);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.totalParams).toBeGreaterThan(1000);
    expect(j.layers.length).toBeGreaterThan(3);
  });
});
