/**
 * Two real ONNX files against onnxruntime-node (the oracle, tests only): a PyTorch 1.3 LeNet exported with a
 * fixed batch of 10 (NCHW) and a tf2onnx MesoNet with an NHWC input and a symbolic batch. Every activation
 * onnxruntime computes (test/formats/oracle/onnx_expose.py adds them as graph outputs) is compared with the
 * app's layer; parameters must equal the float initializers' value count, counted by the onnx package.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { onnxFormat, openOnnx } from '../../renderer/src/formats/onnx';
import { seeded } from '../engine/helpers';
import { compareLayouts, runAll } from './onnx-helpers';

const FIXTURES = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
const EXPOSE = fileURLToPath(new URL('./oracle/onnx_expose.py', import.meta.url));
const APT_HINT = 'install them with: apt-get install python3-torch python3-torchvision python3-onnx';
let dir = '';
let baseline = 0;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  baseline = tf.memory().numTensors;
  dir = mkdtempSync(join(tmpdir(), 'onnx-real-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(tf.memory().numTensors, 'tensors left behind after the IR runner was disposed').toBe(baseline);
});

/** The model with every activation exposed, and the onnx package's parameter count. */
function expose(file: string): { path: string; params: number; outputs: string[] } {
  const out = join(dir, file);
  const r = spawnSync('/usr/bin/python3', [EXPOSE, join(FIXTURES, file), out], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`/usr/bin/python3 could not run (${r.error.message}); ${APT_HINT}`);
  if (r.status === 3) throw new Error(`the oracle needs the onnx package (${r.stderr.trim()}); ${APT_HINT}`);
  if (r.status !== 0) throw new Error(`onnx_expose.py failed: ${r.stderr.slice(-2000)}`);
  return { path: out, ...(JSON.parse(r.stdout) as { params: number; outputs: string[] }) };
}

const CASES = [
  {
    file: 'onnx-ccoltong-lenet-batch10.onnx',
    // ORT needs the exported batch of 10; the app runs batch 1 with image 0.
    ortShape: [10, 1, 28, 28],
    nhwc: false,
    producer: 'PyTorch 1.3',
    opset: 9,
    minCompared: 10,
  },
  {
    file: 'onnx-mesonet-tf2onnx-nhwc.onnx',
    ortShape: [1, 256, 256, 3],
    nhwc: true,
    producer: 'tf2onnx',
    opset: 15,
    minCompared: 15,
  },
];

describe('real ONNX files match onnxruntime', () => {
  for (const c of CASES) {
    it(`${c.file}: opens, counts its initializers, and every activation matches`, async () => {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, c.file)));
      const files = [{ path: c.file, bytes }];
      expect(onnxFormat.match(files)).toBe(true);
      const opened = await openOnnx(files);
      expect(opened.description).toContain(`opset ${c.opset}`);
      expect(opened.description).toContain(c.producer);
      expect(opened.graph.name).toBe(c.file.replace(/\.onnx$/, ''));
      const inputNode = opened.graph.nodes[0];
      expect(inputNode.op).toBe('input');
      const [H, W, C] = c.nhwc ? c.ortShape.slice(1) : [c.ortShape[2], c.ortShape[3], c.ortShape[1]];
      if (inputNode.op === 'input') expect(inputNode.shape).toEqual([H, W, C]);
      // tf2onnx's transposes fold away: no layer for them.
      expect(opened.graph.nodes.some((n) => /__\d+$/.test(n.name))).toBe(false);
      expect(opened.graph.nodes.filter((n) => n.op === 'bn').length).toBe(c.nhwc ? 4 : 0);

      const ex = expose(c.file);
      const analysis = analyzeGraph(opened.graph);
      expect(analysis.totals.params).toBe(ex.params);

      // The same image for both: ORT's batch is filled with other images after image 0.
      const per = H * W * C;
      const batch = c.ortShape[0];
      const all = seeded(per * batch, 17);
      const session = await ort.InferenceSession.create(ex.path);
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', all, c.ortShape) };
      const ref = await session.run(feeds);
      const img = all.subarray(0, per);
      const input = tf.tidy(() => {
        const t = c.nhwc ? tf.tensor4d(img, [1, H, W, C]) : tf.tensor4d(img, [1, C, H, W]);
        return c.nhwc ? t : tf.transpose(t, [0, 2, 3, 1]);
      });
      const runner = new IRRunner(opened.graph, opened.weights);
      try {
        const shapes = new Map(analysis.layers.map((l) => [l.id, l.outputShape]));
        // Flatten outputs follow each layout's own order, and the input is not a frame: both are left out.
        const flat = new Set(
          opened.graph.nodes.filter((n) => n.op === 'flatten' || n.op === 'input').map((n) => n.name),
        );
        // Per layer the last tensor mapped to it (MatMul + Add is one dense layer with its bias; a transpose
        // aliases the layer before it), in graph order.
        const lastOf = new Map<string, string>();
        for (const t of new Set([...ex.outputs, ...session.outputNames])) {
          const layer = opened.tensorToLayer.get(t);
          if (layer && !flat.has(layer) && t in ref) lastOf.set(layer, t);
        }
        const pairs = [...lastOf].map(([layer, t]) => ({ layer, t }));
        const got = await runAll(runner, input, new Set(pairs.map((p) => p.layer)));
        let worst = 0;
        let compared = 0;
        for (const { t, layer } of pairs) {
          const r = ref[t];
          const dims = r.dims as number[];
          const sample = (r.data as Float32Array).subarray(0, (r.data as Float32Array).length / dims[0]);
          const err = compareLayouts(got.get(layer)!, shapes.get(layer) as number[], sample, dims.slice(1));
          expect(err, `${c.file}: ${t} (layer ${layer})`).toBeLessThan(1e-4);
          worst = Math.max(worst, err);
          compared++;
        }
        expect(compared).toBeGreaterThanOrEqual(c.minCompared);
        // The final output is among them.
        expect(pairs.some((p) => session.outputNames.includes(p.t))).toBe(true);
        console.log(`${c.file}: ${compared} activations, worst relative error ${worst.toExponential(2)}`);
      } finally {
        input.dispose();
        runner.dispose();
        await session.release();
      }
    }, 120_000);
  }
});
