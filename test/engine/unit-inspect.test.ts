/**
 * Kernels and one convolution step by step, on real pretrained weights: the bundled MobileNetV2 (tfjs layers,
 * through the format registry into the IR), a student's Keras 3 HDF5 model (GTSRB CNN) and a pretrained
 * mini-Xception (SeparableConv2D). The oracle for every stage is the engine itself: the layer's output tensor from
 * `IRRunner.runTo` at (y, x, c), computed by tfjs's conv kernels, never by the inspector. Padding cells are checked
 * against the 'same' rule worked out by hand. Separable and transposed convs on seeded weights are also checked
 * against PyTorch (/usr/bin/python3: F.conv2d with groups = C_in then a 1×1 conv; nn.ConvTranspose2d).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { InputError } from '../../common/image-header';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import {
  CELL_GAP,
  CELL_INSIDE,
  CELL_PAD,
  CELL_ZEROPAD,
  inspectUnit,
  type InspectContext,
  type UnitInspection,
} from '../../renderer/src/engine/unit-inspect';
import { openModelFiles } from '../../renderer/src/formats';
import type { OpenedModel } from '../../renderer/src/formats/types';
import { GraphBuilder } from '../../renderer/src/zoo/builder';
import type { ConvTransposeNode, GraphNode, SeparableNode, WeightStore } from '../../renderer/src/analysis/graph';
import { RESOURCES, seeded } from './helpers';

const FIXTURES = new URL('../fixtures/models/', import.meta.url).pathname;

let baseline = 0;
let mobile: { opened: OpenedModel; runner: IRRunner; ctx: InspectContext; x: tf.Tensor };
let gtsrb: { opened: OpenedModel; runner: IRRunner; ctx: InspectContext; x: tf.Tensor };

/** A smooth image-like input in [lo, hi]. */
function smooth(h: number, w: number, c: number, lo = 0, hi = 1): tf.Tensor {
  return tf.tidy(() => {
    const r = tf.linspace(0, 1, h).reshape([h, 1, 1]);
    const q = tf.linspace(0, 1, w).reshape([1, w, 1]);
    const ch = tf.linspace(0.2, 0.8, c).reshape([1, 1, c]);
    return tf
      .sin(r.mul(9).add(q.mul(5)).add(ch.mul(3)))
      .mul((hi - lo) / 2)
      .add((hi + lo) / 2)
      .expandDims(0);
  });
}

async function load(files: { path: string; bytes: Uint8Array }[], name: string, size?: [number, number]) {
  const opened = await openModelFiles(files, name);
  const analysis = analyzeGraph(opened.graph, size ? { input: size } : {});
  const order = new Map(analysis.layers.map((l, i) => [l.id, i]));
  opened.graph.nodes.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
  const runner = new IRRunner(opened.graph, opened.weights);
  return { opened, runner, ctx: { graph: opened.graph, weights: opened.weights, runner } };
}

/** The engine's value of unit (y, x, c) in `layer`: the runner's own output tensor. */
async function engineValue(runner: IRRunner, x: tf.Tensor, layer: string, y: number, xx: number, c: number) {
  const t = await runner.runTo(x, layer);
  try {
    const d = (await t.data()) as Float32Array;
    if (t.shape.length === 2) return d[c];
    const [, , W, C] = t.shape as number[];
    return d[(y * W + xx) * C + c];
  } finally {
    t.dispose();
  }
}

/** Every stage with an engine value agrees with the runner's tensor for that stage's layer. */
async function expectStagesMatchEngine(r: UnitInspection, runner: IRRunner, x: tf.Tensor) {
  let checked = 0;
  for (const s of r.stages) {
    if (s.engine === null) continue;
    const want = await engineValue(runner, x, s.layer, r.y, r.x, r.channel);
    const tol = 1e-4 * Math.max(1, Math.abs(want));
    expect(Math.abs(s.value - want), `${s.layer} ${s.kind}: ${s.value} vs engine ${want}`).toBeLessThan(tol);
    expect(Math.abs((s.engine as number) - want)).toBeLessThan(1e-6 * Math.max(1, Math.abs(want)));
    checked++;
  }
  return checked;
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
  baseline = tf.memory().numTensors;
  const dir = join(RESOURCES, 'models', 'mobilenetv2');
  const files = readdirSync(dir)
    .filter((f) => f === 'model.json' || f.endsWith('.bin'))
    .map((path) => ({ path, bytes: new Uint8Array(readFileSync(join(dir, path))) }));
  mobile = { ...(await load(files, 'mobilenetv2', [224, 224])), x: smooth(224, 224, 3) };
  const h5 = 'kh5-ayaan-gtsrb-bn.h5';
  gtsrb = {
    ...(await load([{ path: h5, bytes: new Uint8Array(readFileSync(join(FIXTURES, h5))) }], h5)),
    x: smooth(30, 30, 3),
  };
}, 120_000);

afterAll(() => {
  mobile.runner.dispose();
  gtsrb.runner.dispose();
  tf.dispose([mobile.x, gtsrb.x]);
  expect(tf.memory().numTensors).toBe(baseline);
});

describe('MobileNetV2 (pretrained, bundled)', () => {
  it('Conv1 at the bottom-right border: ZeroPadding2D cells, RGB kernel, sum → BN → ReLU6 equal the engine', async () => {
    const r = await inspectUnit(mobile.ctx, mobile.x, { layer: 'Conv1', channel: 5, y: 111, x: 111 });
    expect(r.op).toBe('conv');
    expect(r.kernelSize).toEqual([3, 3]);
    expect(r.strides).toEqual([2, 2]);
    expect(r.kernels.map((k) => k.inputChannel)).toEqual([0, 1, 2]);
    // Conv1_pad pads [[0, 1], [0, 1]] to 225 × 225; unit 111 reads rows/cols 222..224 of it, 224 being the border.
    expect(r.patch.layer).toBe('Conv1_pad');
    expect([r.patch.top, r.patch.left]).toEqual([222, 222]);
    const zp = [...r.patch.cells].map((v, t) => (v === CELL_ZEROPAD ? t : -1)).filter((t) => t >= 0);
    expect(zp).toEqual([2, 5, 6, 7, 8]);
    for (const t of zp) for (let s = 0; s < 3; s++) expect(r.patch.values[s * 9 + t]).toBe(0);
    expect(r.rgb?.width).toBe(3);
    expect(r.rgb?.data.length).toBe(36);
    // Kernel norms are the L2 norms of the stored weights (read back independently here).
    const k = mobile.opened.weights.get('Conv1')![0];
    for (let s = 0; s < 3; s++) {
      let n = 0;
      for (let t = 0; t < 9; t++) n += k.data[t * 3 * 32 + s * 32 + 5] ** 2;
      expect(r.kernels[s].norm).toBeCloseTo(Math.sqrt(n), 6);
    }
    expect(r.stages.map((s) => [s.layer, s.kind])).toEqual([
      ['Conv1', 'sum'],
      ['bn_Conv1', 'bn'],
      ['Conv1_relu', 'activation'],
    ]);
    expect(await expectStagesMatchEngine(r, mobile.runner, mobile.x)).toBe(3);
  });

  it('a depthwise unit on the top edge (3×3 same): one input channel, padded top row, equals the engine', async () => {
    const r = await inspectUnit(mobile.ctx, mobile.x, { layer: 'expanded_conv_depthwise', channel: 17, y: 0, x: 40 });
    expect(r.op).toBe('depthwise');
    expect(r.kernels.map((k) => k.inputChannel)).toEqual([17]);
    expect(r.pad).toEqual([1, 1, 1, 1]);
    expect([...r.patch.cells]).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(r.rgb).toBeNull();
    expect(await expectStagesMatchEngine(r, mobile.runner, mobile.x)).toBe(3);
  });

  it('a pointwise conv deep in the network and a dense unit (relu) equal the engine', async () => {
    const r = await inspectUnit(mobile.ctx, mobile.x, { layer: 'block_6_project', channel: 40, y: 3, x: 9 });
    expect(r.patch.channels.length).toBe(192);
    expect(await expectStagesMatchEngine(r, mobile.runner, mobile.x)).toBeGreaterThan(0);
    const d = await inspectUnit(mobile.ctx, mobile.x, { layer: 'dense_1', channel: 7 });
    expect(d.op).toBe('dense');
    expect(d.patch.rows).toBe(1);
    expect(d.stages.map((s) => s.kind)).toEqual(['sum', 'bias', 'activation']);
    expect(await expectStagesMatchEngine(d, mobile.runner, mobile.x)).toBe(1);
  });

  it('a softmax dense unit: the probability equals the engine', async () => {
    const d = await inspectUnit(mobile.ctx, mobile.x, { layer: 'dense_3', channel: 2 });
    expect(d.stages.at(-1)!.kind).toBe('activation');
    expect(await expectStagesMatchEngine(d, mobile.runner, mobile.x)).toBe(1);
  });
});

describe('strided conv with same padding (pretrained Conv1 kernel, 9 × 10 input)', () => {
  it('border units read the padding TF puts there: top row at (0, 0), bottom row and right column at (4, 4)', async () => {
    // Hand computation of TF 'same', stride 2, K 3: H 9 → out 5, pad total 4·2 + 3 − 9 = 2 → top 1, bottom 1;
    // W 10 → out 5, total 4·2 + 3 − 10 = 1 → left 0, right 1.
    const b = new GraphBuilder('strided');
    const inp = b.input('image', [9, 10, 3]);
    const conv = b.conv('conv', inp, 32, 3, { strides: 2, padding: 'same', activation: 'relu' });
    const graph = b.build([conv]);
    const k = mobile.opened.weights.get('Conv1')![0];
    const weights: WeightStore = new Map([
      [
        'conv',
        [
          { name: 'kernel', shape: k.shape, data: k.data },
          { name: 'bias', shape: [32], data: seeded(32, 3).map((v) => v * 0.1) },
        ],
      ],
    ]);
    const runner = new IRRunner(graph, weights);
    const x = tf.tensor4d(seeded(9 * 10 * 3, 5), [1, 9, 10, 3]);
    try {
      const ctx = { graph, weights, runner };
      const a = await inspectUnit(ctx, x, { layer: 'conv', channel: 3, y: 0, x: 0 });
      expect(a.pad).toEqual([1, 1, 0, 1]);
      expect([a.patch.top, a.patch.left]).toEqual([-1, 0]);
      expect([...a.patch.cells]).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0]);
      const z = await inspectUnit(ctx, x, { layer: 'conv', channel: 3, y: 4, x: 4 });
      expect([z.patch.top, z.patch.left]).toEqual([7, 8]);
      expect([...z.patch.cells]).toEqual([0, 0, 1, 0, 0, 1, 1, 1, 1].map((v) => (v ? CELL_PAD : CELL_INSIDE)));
      expect(z.stages.map((s) => s.kind)).toEqual(['sum', 'bias', 'activation']);
      // Several channels so the ReLU is seen both clipping and passing.
      for (let c = 0; c < 32; c += 5) {
        for (const [yy, xx] of [
          [0, 0],
          [4, 4],
          [2, 4],
        ]) {
          const r = await inspectUnit(ctx, x, { layer: 'conv', channel: c, y: yy, x: xx });
          expect(await expectStagesMatchEngine(r, runner, x)).toBe(1);
        }
      }
    } finally {
      x.dispose();
      runner.dispose();
    }
  });
});

describe('Keras HDF5 GTSRB CNN (pretrained)', () => {
  it('conv (5×5 valid, bias) → BN → ReLU and dense (relu) → BN equal the engine', async () => {
    const r = await inspectUnit(gtsrb.ctx, gtsrb.x, { layer: 'conv2d_1', channel: 9, y: 12, x: 20 });
    expect(r.kernelSize).toEqual([5, 5]);
    expect(r.stages.map((s) => s.kind)).toEqual(['sum', 'bias', 'bn', 'activation']);
    expect(await expectStagesMatchEngine(r, gtsrb.runner, gtsrb.x)).toBe(3);
    const first = await inspectUnit(gtsrb.ctx, gtsrb.x, { layer: 'conv2d', channel: 0, y: 0, x: 25 });
    expect(first.rgb).not.toBeNull();
    expect(await expectStagesMatchEngine(first, gtsrb.runner, gtsrb.x)).toBe(1);
    const d = await inspectUnit(gtsrb.ctx, gtsrb.x, { layer: 'dense', channel: 11 });
    expect(d.stages.map((s) => s.kind)).toEqual(['sum', 'bias', 'activation', 'bn']);
    expect(await expectStagesMatchEngine(d, gtsrb.runner, gtsrb.x)).toBe(2);
  });

  it('names the problem for a layer it cannot step through or a unit outside the layer', async () => {
    await expect(inspectUnit(gtsrb.ctx, gtsrb.x, { layer: 'max_pooling2d', channel: 0, y: 0, x: 0 })).rejects.toThrow(
      /layer "max_pooling2d" is a maxpool layer/,
    );
    await expect(inspectUnit(gtsrb.ctx, gtsrb.x, { layer: 'conv2d', channel: 0, y: 26, x: 0 })).rejects.toThrow(
      InputError,
    );
    await expect(inspectUnit(gtsrb.ctx, gtsrb.x, { layer: 'conv2d', channel: 999, y: 0, x: 0 })).rejects.toThrow(
      /channel 999/,
    );
  });
});

// ------------------------------------------------------------------ separable and transposed convs vs PyTorch

/** PyTorch's output for each case (NHWC in, NHWC out), computed by /usr/bin/python3 from the same numbers. */
const TORCH = String.raw`
import json, sys
import torch
import torch.nn.functional as F
out = []
for c in json.load(sys.stdin):
    x = torch.tensor(c['x'], dtype=torch.float32).reshape(c['xshape']).permute(0, 3, 1, 2)
    if c['kind'] == 'separable':
        kh, kw, cin, m = c['dwshape']
        f = c['pwshape'][3]
        dw = torch.tensor(c['dw']).reshape(kh, kw, cin * m).permute(2, 0, 1).unsqueeze(1)
        pw = torch.tensor(c['pw']).reshape(cin * m, f).t().reshape(f, cin * m, 1, 1)
        t, b, l, r = c['pad']
        d = F.conv2d(F.pad(x, (l, r, t, b)), dw, stride=c['stride'], dilation=c['dil'], groups=cin)
        y = F.conv2d(d, pw) + torch.tensor(c['bias']).reshape(1, f, 1, 1)
        out.append({'y': y.permute(0, 2, 3, 1).flatten().tolist(), 'yshape': list(y.permute(0, 2, 3, 1).shape),
                    'd': d.permute(0, 2, 3, 1).flatten().tolist()})
    else:
        kh, kw, f, cin = c['kshape']
        conv = torch.nn.ConvTranspose2d(cin, f, (kh, kw), stride=c['stride'], padding=c['pad'],
                                        output_padding=c['op'], dilation=c['dil'], bias=c['bias'] is not None)
        with torch.no_grad():
            conv.weight.copy_(torch.tensor(c['k']).reshape(kh, kw, f, cin).permute(3, 2, 0, 1))
            if c['bias'] is not None:
                conv.bias.copy_(torch.tensor(c['bias']))
            y = conv(x).permute(0, 2, 3, 1)
        out.append({'y': y.flatten().tolist(), 'yshape': list(y.shape)})
json.dump(out, sys.stdout)
`;

interface TorchOut {
  y: number[];
  yshape: number[];
  d?: number[];
}

function torchOracle(cases: object[]): TorchOut[] {
  const r = spawnSync('/usr/bin/python3', ['-c', TORCH], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    timeout: 110_000,
    maxBuffer: 64 << 20,
  });
  if (r.error) throw new Error(`/usr/bin/python3 could not run (${r.error.message}); apt-get install python3-torch`);
  if (r.status !== 0) throw new Error(`the PyTorch oracle failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout) as TorchOut[];
}

const list = (a: Float32Array) => Array.from(a);
const at = (o: { y: number[]; yshape: number[] }, y: number, x: number, c: number) =>
  o.y[(y * o.yshape[2] + x) * o.yshape[3] + c];

/** A one-layer graph on an H × W × C input. */
function oneLayer(node: GraphNode, shape: [number, number, number]) {
  const input: GraphNode = { name: 'image', op: 'input', inputs: [], shape };
  return { name: 'one', nodes: [input, node], outputs: [node.name] };
}

describe('SeparableConv2D', () => {
  it('mini-Xception (pretrained): depthwise per channel, pointwise over their sums → BN → ReLU equal the engine', async () => {
    const f = 'kh5-oarriaga-fer-mini-xception.hdf5';
    const m = await load([{ path: f, bytes: new Uint8Array(readFileSync(join(FIXTURES, f))) }], f);
    const x = smooth(64, 64, 1, -1, 1);
    try {
      for (const [yy, xx] of [
        [0, 0],
        [7, 9],
        [14, 14],
      ]) {
        const r = await inspectUnit(m.ctx, x, { layer: 'separable_conv2d_3', channel: 21, y: yy, x: xx });
        expect(r.op).toBe('separable');
        // 16 depthwise channels (multiplier 1), each its own 3×3 slice of one input channel.
        expect(r.kernels.map((k) => k.inputChannel)).toEqual(Array.from({ length: 16 }, (_, i) => i));
        expect(r.pointwise!.depthwise.length).toBe(16);
        // Each depthwise sum is its slice's Σ products; the pointwise products are sum × weight.
        for (let s = 0; s < 16; s++) {
          const d = r.patch.products.slice(s * 9, s * 9 + 9).reduce((a, b) => a + b, 0);
          expect(r.pointwise!.depthwise[s]).toBeCloseTo(d, 5);
          expect(r.pointwise!.products[s]).toBeCloseTo(d * r.pointwise!.weights[s], 5);
        }
        expect(r.stages.map((s) => s.kind)).toEqual(['sum', 'bn', 'activation']);
        expect(r.stages[0].label).toMatch(/^Σ 16 pointwise products/);
        expect(await expectStagesMatchEngine(r, m.runner, x)).toBe(3);
      }
    } finally {
      x.dispose();
      m.runner.dispose();
    }
  });

  it('stride 2, TF same padding, multiplier 2, bias: every unit kind equals PyTorch and the engine', async () => {
    const [H, W, Cin, M, F] = [9, 10, 3, 2, 4];
    const node: SeparableNode = {
      name: 'sep',
      op: 'separable',
      inputs: ['image'],
      filters: F,
      depthMultiplier: M,
      kernel: [3, 3],
      strides: [2, 2],
      padding: 'same',
      dilation: [1, 1],
      useBias: true,
    };
    const graph = oneLayer(node, [H, W, Cin]);
    const dw = seeded(9 * Cin * M, 11);
    const pw = seeded(Cin * M * F, 12);
    const bias = seeded(F, 13);
    const weights: WeightStore = new Map([
      [
        'sep',
        [
          { name: 'depthwise', shape: [3, 3, Cin, M], data: dw },
          { name: 'pointwise', shape: [1, 1, Cin * M, F], data: pw },
          { name: 'bias', shape: [F], data: bias },
        ],
      ],
    ]);
    const xv = seeded(H * W * Cin, 14);
    // TF 'same' by hand: H 9 → 5, total pad 4·2 + 3 − 9 = 2 → 1 / 1; W 10 → 5, total 1 → 0 / 1.
    const [torch] = torchOracle([
      {
        kind: 'separable',
        x: list(xv),
        xshape: [1, H, W, Cin],
        dw: list(dw),
        dwshape: [3, 3, Cin, M],
        pw: list(pw),
        pwshape: [1, 1, Cin * M, F],
        bias: list(bias),
        pad: [1, 1, 0, 1],
        stride: 2,
        dil: 1,
      },
    ]);
    expect(torch.yshape).toEqual([1, 5, 5, F]);
    const runner = new IRRunner(graph, weights);
    const x = tf.tensor4d(xv, [1, H, W, Cin]);
    try {
      const ctx = { graph, weights, runner };
      for (const [yy, xx] of [
        [0, 0],
        [4, 4],
        [2, 3],
      ])
        for (let c = 0; c < F; c++) {
          const r = await inspectUnit(ctx, x, { layer: 'sep', channel: c, y: yy, x: xx });
          expect(r.pad).toEqual([1, 1, 0, 1]);
          expect(r.kernels.map((k) => k.inputChannel)).toEqual([0, 0, 1, 1, 2, 2]);
          for (let s = 0; s < Cin * M; s++)
            expect(r.pointwise!.depthwise[s]).toBeCloseTo(torch.d![(yy * 5 + xx) * Cin * M + s], 5);
          expect(r.stages.map((s) => s.kind)).toEqual(['sum', 'bias']);
          expect(r.value).toBeCloseTo(at(torch, yy, xx, c), 5);
          expect(await expectStagesMatchEngine(r, runner, x)).toBe(1);
        }
      const corner = await inspectUnit(ctx, x, { layer: 'sep', channel: 0, y: 0, x: 0 });
      expect([...corner.patch.cells]).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0]);
    } finally {
      x.dispose();
      runner.dispose();
    }
  });
});

describe('Conv2DTranspose', () => {
  const [H, W, Cin, F] = [5, 6, 4, 3];
  const xv = seeded(H * W * Cin, 21);

  function transposed(o: Partial<ConvTransposeNode>, k: number[], seed: number) {
    const node: ConvTransposeNode = {
      name: 'up',
      op: 'convtranspose',
      inputs: ['image'],
      filters: F,
      kernel: [k[0], k[1]],
      strides: [2, 2],
      padding: 'valid',
      dilation: [1, 1],
      useBias: true,
      ...o,
    };
    const kernel = seeded(k[0] * k[1] * F * Cin, seed);
    const bias = seeded(F, seed + 1);
    const weights: WeightStore = new Map([
      [
        'up',
        [
          { name: 'kernel', shape: [k[0], k[1], F, Cin], data: kernel },
          ...(node.useBias ? [{ name: 'bias', shape: [F], data: bias }] : []),
        ],
      ],
    ]);
    const torchCase = {
      kind: 'transpose',
      x: list(xv),
      xshape: [1, H, W, Cin],
      k: list(kernel),
      kshape: [k[0], k[1], F, Cin],
      bias: node.useBias ? list(bias) : null,
      stride: node.strides,
      pad: Array.isArray(node.padding) ? [node.padding[0], node.padding[2]] : [0, 0],
      op: node.outputPadding ?? [0, 0],
      dil: node.dilation,
    };
    return { graph: oneLayer(node, [H, W, Cin]), weights, torchCase };
  }

  it('stride 2, padding 1, output padding 1; dilation 2: border and interior units equal PyTorch and the engine', async () => {
    const a = transposed({ padding: [1, 1, 1, 1], outputPadding: [1, 1] }, [3, 3], 31);
    const b = transposed({ dilation: [2, 2], useBias: false }, [3, 2], 41);
    const [ta, tb] = torchOracle([a.torchCase, b.torchCase]);
    // (5 − 1)·2 − 2 + 3 + 1 = 10 by 12; (5 − 1)·2 + 2·2 + 1 = 13 by (6 − 1)·2 + 2 + 1 = 13.
    expect(ta.yshape).toEqual([1, 10, 12, F]);
    expect(tb.yshape).toEqual([1, 13, 13, F]);
    const x = tf.tensor4d(xv, [1, H, W, Cin]);
    try {
      for (const [m, torch] of [
        [a, ta],
        [b, tb],
      ] as const) {
        const runner = new IRRunner(m.graph, m.weights);
        try {
          const ctx = { graph: m.graph, weights: m.weights, runner };
          const [oh, ow] = torch.yshape.slice(1, 3);
          for (const [yy, xx] of [
            [0, 0],
            [oh - 1, ow - 1],
            [0, ow - 1],
            [oh >> 1, (ow >> 1) + 1],
            [3, 4],
          ])
            for (let c = 0; c < F; c++) {
              const r = await inspectUnit(ctx, x, { layer: 'up', channel: c, y: yy, x: xx });
              expect(r.op).toBe('convtranspose');
              expect(r.kernels.map((k) => k.inputChannel)).toEqual([0, 1, 2, 3]);
              expect(r.value, `unit (${yy}, ${xx}) ch ${c}`).toBeCloseTo(at(torch, yy, xx, c), 5);
              expect(await expectStagesMatchEngine(r, runner, x)).toBe(1);
            }
        } finally {
          runner.dispose();
        }
      }

      // By hand, padding 1: output (0, 0) is full (1, 1); tap i reads input (1 − i) / 2 — only the centre tap
      // lands on a cell (0, 0), the others fall between cells. Output (9, 11) is full (10, 12): tap 0 would read
      // row 5 (past the 5-row input, the output-padding row), tap 2 row 4; columns 6 (past) and 5.
      const runner = new IRRunner(a.graph, a.weights);
      try {
        const ctx = { graph: a.graph, weights: a.weights, runner };
        const r = await inspectUnit(ctx, x, { layer: 'up', channel: 1, y: 0, x: 0 });
        const G = CELL_GAP;
        expect([...r.patch.cells]).toEqual([G, G, G, G, CELL_INSIDE, G, G, G, G]);
        expect([...r.patch.taps!.slice(8, 10)]).toEqual([0, 0]);
        expect(r.stages[0].label).toMatch(/^Σ 36 products/);
        const k = a.weights.get('up')![0].data;
        let want = 0;
        for (let s = 0; s < Cin; s++) want += xv[s] * k[(4 * F + 1) * Cin + s];
        expect(r.stages[0].value).toBeCloseTo(want, 6);
        const z = await inspectUnit(ctx, x, { layer: 'up', channel: 1, y: 9, x: 11 });
        const P = CELL_PAD;
        expect([...z.patch.cells]).toEqual([P, G, P, G, G, G, P, G, CELL_INSIDE]);
        expect([...z.patch.taps!.slice(16, 18)]).toEqual([4, 5]);
        expect([z.patch.top, z.patch.left]).toEqual([4, 5]);
      } finally {
        runner.dispose();
      }
    } finally {
      x.dispose();
    }
  });
});
