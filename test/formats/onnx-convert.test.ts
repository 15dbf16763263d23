/**
 * The ONNX reader on hand-made models with known weights (written by the small encoder in onnx-helpers.ts):
 * weight layouts (OIHW → HWIO, depthwise, ConvTranspose, Gemm transB, the NCHW-flatten row permutation), layout
 * tracking through tf2onnx's transposes, shape arithmetic folded at open, op mapping, and every bad-input message.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analyzeGraph } from '../../renderer/src/analysis';
import { InputError } from '../../common/image-header';
import { IRRunner } from '../../renderer/src/engine/ir-runner';
import { flattenPerm, oihwToHwio, onnxFormat, openOnnx } from '../../renderer/src/formats/onnx';
import type { GraphNode } from '../../renderer/src/analysis/graph';
import { seeded } from '../engine/helpers';
import { buildOnnx, f32bytes, runAll, type ModelSpec, type NodeSpec, type TensorSpec } from './onnx-helpers';

const FIXTURES = fileURLToPath(new URL('../fixtures/models/', import.meta.url));

let baseline = 0;
beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  baseline = tf.memory().numTensors;
});
afterAll(() => {
  expect(tf.memory().numTensors, 'tensors left behind after the IR runner was disposed').toBe(baseline);
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** W[a][b][c][d] = a·1000 + b·100 + c·10 + d: every value says where it came from. */
const coded = ([A, B, C, D]: number[]) =>
  range(A * B * C * D).map((k) => {
    const d = k % D;
    const c = Math.floor(k / D) % C;
    const b = Math.floor(k / (C * D)) % B;
    const a = Math.floor(k / (B * C * D));
    return a * 1000 + b * 100 + c * 10 + d;
  });

const init = (name: string, dims: number[], values: number[]): TensorSpec => ({ name, dims, values });
const ints = (name: string, values: number[]): TensorSpec => ({ name, dims: [values.length], values, int64: true });

function model(nodes: NodeSpec[], opts: Partial<ModelSpec> = {}): Uint8Array {
  return buildOnnx({
    inputs: [{ name: 'x', dims: [1, 3, 4, 4] }],
    outputs: [nodes[nodes.length - 1].outputs[0]],
    nodes,
    ...opts,
  });
}

const open = (bytes: Uint8Array, path = 'm.onnx', extra: { path: string; bytes: Uint8Array }[] = []) =>
  openOnnx([{ path, bytes }, ...extra]);

const nodeNamed = (nodes: GraphNode[], name: string) => {
  const n = nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no layer ${name}: ${nodes.map((x) => x.name)}`);
  return n;
};

/** The InputError an open throws. */
async function openError(bytes: Uint8Array, path = 'm.onnx', extra: { path: string; bytes: Uint8Array }[] = []) {
  try {
    await open(bytes, path, extra);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message.startsWith(path)).toBe(true);
    return e as InputError;
  }
  throw new Error('opened without an error');
}

describe('weight layouts', () => {
  it('OIHW → HWIO moves every value to [h][w][i][o]', () => {
    const shape = [2, 3, 1, 2];
    const out = oihwToHwio(coded(shape), shape);
    for (let h = 0; h < 1; h++)
      for (let w = 0; w < 2; w++)
        for (let i = 0; i < 3; i++)
          for (let o = 0; o < 2; o++) expect(out[((h * 2 + w) * 3 + i) * 2 + o]).toBe(o * 1000 + i * 100 + h * 10 + w);
  });

  it('a Conv becomes a conv layer with an HWIO kernel, bias and explicit pads [t, b, l, r]', async () => {
    const bytes = model(
      [
        {
          op: 'Conv',
          name: 'conv',
          inputs: ['x', 'W', 'B'],
          outputs: ['y'],
          attrs: [
            { name: 'kernel_shape', ints: [1, 2] },
            { name: 'pads', ints: [1, 0, 2, 1] },
          ],
        },
      ],
      { initializers: [init('W', [2, 3, 1, 2], coded([2, 3, 1, 2])), init('B', [2], [5, 6])] },
    );
    const m = await open(bytes);
    const conv = nodeNamed(m.graph.nodes, 'conv');
    expect(conv).toMatchObject({ op: 'conv', filters: 2, kernel: [1, 2], padding: [1, 2, 0, 1], useBias: true });
    const [k, b] = m.weights.get('conv')!;
    expect(k.shape).toEqual([1, 2, 3, 2]);
    expect([...k.data]).toEqual([...oihwToHwio(coded([2, 3, 1, 2]), [2, 3, 1, 2])]);
    expect([...b.data]).toEqual([5, 6]);
    const a = analyzeGraph(m.graph);
    expect(a.layers.find((l) => l.id === 'conv')!.outputShape).toEqual([4 + 3, 4 - 1 + 1, 2]);
  });

  it('group == C_in with C_out = C_in·m becomes a depthwise layer [kh, kw, C, m]; other groups stay grouped convs', async () => {
    const bytes = model(
      [
        {
          op: 'Conv',
          name: 'dw',
          inputs: ['x', 'W'],
          outputs: ['y'],
          attrs: [
            { name: 'group', i: 3 },
            { name: 'kernel_shape', ints: [3, 3] },
            { name: 'dilations', ints: [2, 2] },
            { name: 'auto_pad', s: 'SAME_UPPER' },
          ],
        },
        {
          op: 'Conv',
          name: 'grouped',
          inputs: ['y', 'G'],
          outputs: ['z'],
          attrs: [{ name: 'group', i: 2 }],
        },
      ],
      { initializers: [init('W', [6, 1, 3, 3], coded([6, 1, 3, 3])), init('G', [4, 3, 1, 1], coded([4, 3, 1, 1]))] },
    );
    const m = await open(bytes);
    const dw = nodeNamed(m.graph.nodes, 'dw');
    expect(dw).toMatchObject({
      op: 'depthwise',
      depthMultiplier: 2,
      padding: 'same',
      dilation: [2, 2],
      useBias: false,
    });
    const [k] = m.weights.get('dw')!;
    expect(k.shape).toEqual([3, 3, 3, 2]);
    for (let h = 0; h < 3; h++)
      for (let w = 0; w < 3; w++)
        for (let c = 0; c < 3; c++)
          for (let j = 0; j < 2; j++)
            expect(k.data[((h * 3 + w) * 3 + c) * 2 + j]).toBe((c * 2 + j) * 1000 + h * 10 + w);
    expect(nodeNamed(m.graph.nodes, 'grouped')).toMatchObject({ op: 'conv', groups: 2, filters: 4 });
    expect(m.weights.get('grouped')![0].shape).toEqual([1, 1, 3, 4]);
  });

  it('ConvTranspose IOHW → [kh, kw, out, in] with its pads and output size', async () => {
    const bytes = model(
      [
        {
          op: 'ConvTranspose',
          name: 'up',
          inputs: ['x', 'W'],
          outputs: ['y'],
          attrs: [
            { name: 'strides', ints: [2, 2] },
            { name: 'pads', ints: [1, 1, 1, 1] },
            { name: 'kernel_shape', ints: [4, 2] },
          ],
        },
      ],
      { initializers: [init('W', [3, 2, 4, 2], coded([3, 2, 4, 2]))] },
    );
    const m = await open(bytes);
    expect(nodeNamed(m.graph.nodes, 'up')).toMatchObject({ op: 'convtranspose', filters: 2, padding: [1, 1, 1, 1] });
    const [k] = m.weights.get('up')!;
    expect(k.shape).toEqual([4, 2, 2, 3]);
    for (let h = 0; h < 4; h++)
      for (let w = 0; w < 2; w++)
        for (let o = 0; o < 2; o++)
          for (let i = 0; i < 3; i++)
            expect(k.data[((h * 2 + w) * 2 + o) * 3 + i]).toBe(i * 1000 + o * 100 + h * 10 + w);
    const a = analyzeGraph(m.graph);
    expect(a.layers.find((l) => l.id === 'up')!.outputShape).toEqual([(4 - 1) * 2 + 4 - 2, (4 - 1) * 2 + 2 - 2, 2]);
  });

  it('flattening an NCHW tensor permutes the Gemm rows (c, h, w) → (h, w, c); transB, alpha and beta apply', async () => {
    // C = 2, H = 2, W = 3: 12 features; Gemm 12 → 2 units.
    const Wt = range(24).map((v) => (v % 7) - 3 + v / 10);
    const bytes = buildOnnx({
      inputs: [{ name: 'x', dims: ['s77', 2, 2, 3] }],
      outputs: ['y'],
      nodes: [
        { op: 'Flatten', name: 'flat', inputs: ['x'], outputs: ['f'] },
        {
          op: 'Gemm',
          name: 'fc',
          inputs: ['f', 'W', 'C'],
          outputs: ['y'],
          attrs: [
            { name: 'transB', i: 1 },
            { name: 'alpha', f: 2 },
            { name: 'beta', f: 0.5 },
          ],
        },
      ],
      initializers: [init('W', [2, 12], Wt), init('C', [2], [1, -2])],
    });
    const m = await open(bytes);
    const [k, b] = m.weights.get('fc')!;
    expect(k.shape).toEqual([12, 2]);
    for (let c = 0; c < 2; c++)
      for (let h = 0; h < 2; h++)
        for (let w = 0; w < 3; w++)
          for (let u = 0; u < 2; u++) {
            const onnxRow = c * 6 + h * 3 + w;
            const irRow = (h * 3 + w) * 2 + c;
            expect(k.data[irRow * 2 + u]).toBeCloseTo(2 * Wt[u * 12 + onnxRow], 5);
          }
    expect([...b.data]).toEqual([0.5, -1]);
    // And the numbers: ONNX semantics on an NCHW input against the IR runner on the same image in NHWC.
    const x = seeded(12, 3);
    const want = [0, 1].map((u) => 2 * range(12).reduce((s, i) => s + x[i] * Wt[u * 12 + i], 0) + 0.5 * [1, -2][u]);
    const runner = new IRRunner(m.graph, m.weights);
    const input = tf.tidy(() => tf.transpose(tf.tensor4d(x, [1, 2, 2, 3]), [0, 2, 3, 1]));
    try {
      const got = await runAll(runner, input, new Set(['fc']));
      expect([...got.get('fc')!].map((v, i) => Math.abs(v - want[i]) < 1e-4)).toEqual([true, true]);
    } finally {
      input.dispose();
      runner.dispose();
    }
  });

  it('a concatenation of flattened tensors keeps each part’s row order for the Gemm after it', async () => {
    const Wt = range(10).map((v) => v - 4.5);
    const bytes = buildOnnx({
      inputs: [{ name: 'x', dims: [1, 2, 2, 2] }],
      outputs: ['y'],
      nodes: [
        { op: 'Flatten', name: 'f1', inputs: ['x'], outputs: ['a'] },
        { op: 'GlobalMaxPool', name: 'gmp', inputs: ['x'], outputs: ['g'] },
        { op: 'Flatten', name: 'f2', inputs: ['g'], outputs: ['b'] },
        { op: 'Concat', name: 'cat', inputs: ['a', 'b'], outputs: ['c'], attrs: [{ name: 'axis', i: 1 }] },
        { op: 'Gemm', name: 'fc', inputs: ['c', 'W'], outputs: ['y'], attrs: [{ name: 'transB', i: 1 }] },
      ],
      initializers: [init('W', [1, 10], Wt)],
    });
    const m = await open(bytes);
    const x = seeded(8, 11);
    const feats = [...x, Math.max(x[0], x[1], x[2], x[3]), Math.max(x[4], x[5], x[6], x[7])];
    const want = feats.reduce((s, v, i) => s + v * Wt[i], 0);
    const runner = new IRRunner(m.graph, m.weights);
    const input = tf.tidy(() => tf.transpose(tf.tensor4d(x, [1, 2, 2, 2]), [0, 2, 3, 1]));
    try {
      const got = await runAll(runner, input, new Set(['fc']));
      expect(got.get('fc')![0]).toBeCloseTo(want, 4);
    } finally {
      input.dispose();
      runner.dispose();
    }
  });

  it('flattenPerm is null where ONNX and NHWC orders agree', () => {
    expect(flattenPerm({ shape: [1, 5, 1, 1], perm: [0, 3, 1, 2] })).toBeNull();
    expect(flattenPerm({ shape: [1, 2, 2, 2], perm: [0, 1, 2, 3] })).toBeNull();
    expect([...flattenPerm({ shape: [1, 2, 1, 2], perm: [0, 3, 1, 2] })!]).toEqual([0, 2, 1, 3]);
  });

  it('Gemm without transB reads the weight as [in, units]; BN keeps scale, B, mean, var as gamma, beta, mean, var', async () => {
    const bytes = buildOnnx({
      inputs: [{ name: 'x', dims: [1, 2, 1, 1] }],
      outputs: ['y'],
      nodes: [
        {
          op: 'BatchNormalization',
          name: 'bn',
          inputs: ['x', 's', 'b', 'mu', 'var'],
          outputs: ['n'],
          attrs: [{ name: 'epsilon', f: 0.001 }],
        },
        { op: 'Flatten', name: 'flat', inputs: ['n'], outputs: ['f'] },
        { op: 'Gemm', name: 'fc', inputs: ['f', 'W'], outputs: ['y'] },
      ],
      initializers: [
        init('s', [2], [1, 2]),
        init('b', [2], [3, 4]),
        init('mu', [2], [5, 6]),
        init('var', [2], [7, 8]),
        init('W', [2, 3], [1, 2, 3, 4, 5, 6]),
      ],
    });
    const m = await open(bytes);
    const bn = nodeNamed(m.graph.nodes, 'bn');
    expect(bn).toMatchObject({ op: 'bn', center: true, scale: true });
    expect((bn as { epsilon: number }).epsilon).toBeCloseTo(0.001, 6);
    expect(m.weights.get('bn')!.map((t) => [...t.data])).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    expect(bn.weights!.map((w) => w.role)).toEqual(['weight', 'bias', 'stat', 'stat']);
    expect(nodeNamed(m.graph.nodes, 'fc')).toMatchObject({ op: 'dense', units: 3, useBias: false });
    expect([...m.weights.get('fc')![0].data]).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('layouts, folding and op mapping', () => {
  it("tf2onnx's NHWC input: transposes fold away, MatMul + Add is one dense layer with identity row order", async () => {
    const Wd = range(32 * 3).map((v) => v / 10);
    const bytes = buildOnnx({
      opset: 15,
      inputs: [{ name: 'input', dims: ['unk__44', 4, 4, 2] }],
      outputs: ['out'],
      nodes: [
        {
          op: 'Transpose',
          name: 'conv/BiasAdd__6',
          inputs: ['input'],
          outputs: ['t0'],
          attrs: [{ name: 'perm', ints: [0, 3, 1, 2] }],
        },
        {
          op: 'Conv',
          name: 'conv/BiasAdd',
          inputs: ['t0', 'K', 'Kb'],
          outputs: ['c'],
          attrs: [{ name: 'kernel_shape', ints: [1, 1] }],
        },
        {
          op: 'Transpose',
          name: 'pool__52',
          inputs: ['c'],
          outputs: ['t1'],
          attrs: [{ name: 'perm', ints: [0, 2, 3, 1] }],
        },
        { op: 'Reshape', name: 'flatten/Reshape', inputs: ['t1', 'shape'], outputs: ['f'] },
        { op: 'MatMul', name: 'dense/MatMul', inputs: ['f', 'Wd'], outputs: ['mm'] },
        { op: 'Add', name: 'dense/BiasAdd', inputs: ['mm', 'bd'], outputs: ['out'] },
      ],
      initializers: [
        init('K', [2, 2, 1, 1], [1, 0, 0, 1]),
        init('Kb', [2], [0, 0]),
        ints('shape', [-1, 32]),
        init('Wd', [32, 3], Wd),
        init('bd', [3], [1, 2, 3]),
      ],
    });
    const m = await open(bytes, 'meso.onnx');
    expect(m.graph.name).toBe('meso');
    expect(m.graph.nodes.map((n) => n.op)).toEqual(['input', 'conv', 'flatten', 'dense']);
    expect(m.graph.nodes[0]).toMatchObject({ name: 'input', shape: [4, 4, 2] });
    const dense = nodeNamed(m.graph.nodes, 'dense/MatMul');
    expect(dense).toMatchObject({ useBias: true, units: 3 });
    expect([...m.weights.get('dense/MatMul')![0].data]).toEqual([...new Float32Array(Wd)]);
    expect([...m.weights.get('dense/MatMul')![1].data]).toEqual([1, 2, 3]);
    expect(m.tensorToLayer.get('out')).toBe('dense/MatMul');
    expect(m.graph.outputs).toEqual(['dense/MatMul']);
    expect(analyzeGraph(m.graph).totals.params).toBe(4 + 2 + 96 + 3);
  });

  it('an NHWC input (channels last by its dims) with ReduceMean over axes [1, 2] is a global average pool', async () => {
    const bytes = buildOnnx({
      inputs: [{ name: 'x', dims: [1, 8, 8, 3] }],
      outputs: ['y'],
      nodes: [
        { op: 'Mul', name: 'rescale', inputs: ['x', 'k'], outputs: ['a'] },
        {
          op: 'ReduceMean',
          name: 'gap',
          inputs: ['a'],
          outputs: ['g'],
          attrs: [
            { name: 'axes', ints: [1, 2] },
            { name: 'keepdims', i: 0 },
          ],
        },
        { op: 'Softmax', name: 'soft', inputs: ['g'], outputs: ['y'] },
      ],
      initializers: [init('k', [], [1 / 255])],
    });
    const m = await open(bytes);
    expect(m.graph.nodes[0]).toMatchObject({ op: 'input', shape: [8, 8, 3] });
    expect(nodeNamed(m.graph.nodes, 'rescale')).toMatchObject({ op: 'scale', offset: [0] });
    expect(nodeNamed(m.graph.nodes, 'gap')).toMatchObject({ op: 'gap', keepDims: false });
    const a = analyzeGraph(m.graph);
    expect(a.layers.find((l) => l.id === 'soft')!.outputShape).toEqual([3]);
  });

  it('an input of open size stays open in the IR (with a warning) and analyses at any size', async () => {
    const bytes = buildOnnx({
      inputs: [{ name: 'x', dims: ['N', 3, 'H', 'W'] }],
      outputs: ['y'],
      nodes: [
        { op: 'Conv', name: 'conv', inputs: ['x', 'K'], outputs: ['c'], attrs: [{ name: 'strides', ints: [2, 2] }] },
        { op: 'GlobalAveragePool', name: 'gap', inputs: ['c'], outputs: ['g'] },
        { op: 'Flatten', name: 'flat', inputs: ['g'], outputs: ['f'] },
        { op: 'Gemm', name: 'fc', inputs: ['f', 'W'], outputs: ['y'], attrs: [{ name: 'transB', i: 1 }] },
      ],
      initializers: [init('K', [4, 3, 3, 3], range(108)), init('W', [2, 4], range(8))],
    });
    const m = await open(bytes);
    expect(m.graph.nodes[0]).toMatchObject({ op: 'input', shape: [null, null, 3] });
    expect(m.warnings.join(' ')).toMatch(/no fixed size/);
    const a = analyzeGraph(m.graph, { input: [33, 17] });
    expect(a.layers.find((l) => l.id === 'conv')!.outputShape).toEqual([16, 8, 4]);
    expect(a.layers.find((l) => l.id === 'fc')!.outputShape).toEqual([2]);
  });

  it("PyTorch's x.view(x.size(0), -1) shape chain folds at open (symbolic batch runs as 1)", async () => {
    const bytes = buildOnnx({
      opset: 11,
      inputs: [{ name: 'x', dims: ['batch_size', 3, 2, 2] }],
      outputs: ['y'],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Constant', inputs: [], outputs: ['zero'], attrs: [{ name: 'value', t: ints('z', [0]) }] },
        { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: [{ name: 'axis', i: 0 }] },
        { op: 'Unsqueeze', inputs: ['n'], outputs: ['n1'], attrs: [{ name: 'axes', ints: [0] }] },
        { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['shape'], attrs: [{ name: 'axis', i: 0 }] },
        { op: 'Reshape', name: 'view', inputs: ['x', 'shape'], outputs: ['v'] },
        { op: 'Relu', inputs: ['v'], outputs: ['y'] },
      ],
      initializers: [ints('minus1', [-1])],
    });
    const m = await open(bytes);
    // Unnamed nodes are named after their output tensor.
    expect(m.graph.nodes.map((n) => `${n.op}:${n.name}`)).toEqual(['input:x', 'flatten:view', 'activation:y']);
    const a = analyzeGraph(m.graph);
    expect(a.layers.find((l) => l.id === 'view')!.outputShape).toEqual([12]);
  });

  it('maps Clip, activations, pools, pads, resizes and constant arithmetic', async () => {
    const bytes = buildOnnx({
      opset: 13,
      inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
      outputs: ['out'],
      nodes: [
        { op: 'Sub', name: 'sub', inputs: ['x', 'mean'], outputs: ['a'] },
        { op: 'Div', name: 'div', inputs: ['a', 'std'], outputs: ['b'] },
        { op: 'Clip', name: 'relu6', inputs: ['b', 'zero', 'six'], outputs: ['c'] },
        { op: 'Clip', name: 'relu', inputs: ['c', 'zero', ''], outputs: ['c2'] },
        { op: 'Clip', name: 'clip', inputs: ['c2', 'm1', 'one'], outputs: ['c3'] },
        { op: 'HardSigmoid', name: 'hs', inputs: ['c3'], outputs: ['d'] },
        { op: 'Mul', name: 'swish', inputs: ['c3', 'd'], outputs: ['e'] },
        { op: 'Pad', name: 'pad', inputs: ['e', 'pads'], outputs: ['p'] },
        {
          op: 'MaxPool',
          name: 'maxpool',
          inputs: ['p'],
          outputs: ['q'],
          attrs: [
            { name: 'kernel_shape', ints: [3, 3] },
            { name: 'strides', ints: [2, 2] },
            { name: 'ceil_mode', i: 1 },
          ],
        },
        {
          op: 'AveragePool',
          name: 'avgpool',
          inputs: ['q'],
          outputs: ['r'],
          attrs: [
            { name: 'kernel_shape', ints: [2, 2] },
            { name: 'pads', ints: [1, 1, 1, 1] },
            { name: 'count_include_pad', i: 1 },
            { name: 'auto_pad', s: 'NOTSET' },
          ],
        },
        {
          op: 'Resize',
          name: 'up',
          inputs: ['r', '', 'scales'],
          outputs: ['u'],
          attrs: [{ name: 'mode', s: 'nearest' }],
        },
        { op: 'Concat', name: 'cat', inputs: ['u', 'u'], outputs: ['k'], attrs: [{ name: 'axis', i: 1 }] },
        { op: 'Softmax', name: 'soft', inputs: ['k'], outputs: ['sm'], attrs: [{ name: 'axis', i: 1 }] },
        { op: 'GlobalAveragePool', name: 'gap', inputs: ['sm'], outputs: ['g'] },
        { op: 'Squeeze', name: 'squeeze', inputs: ['g', 'axes'], outputs: ['out'] },
      ],
      initializers: [
        init('mean', [1, 3, 1, 1], [1, 2, 3]),
        init('std', [3, 1, 1], [2, 4, 8]),
        init('zero', [], [0]),
        init('six', [], [6]),
        init('m1', [], [-1]),
        init('one', [], [1]),
        ints('pads', [0, 0, 1, 2, 0, 0, 3, 4]),
        init('scales', [4], [1, 1, 2, 2]),
        ints('axes', [2, 3]),
      ],
    });
    const m = await open(bytes);
    const n = (name: string) => nodeNamed(m.graph.nodes, name);
    expect(n('sub')).toMatchObject({ op: 'scale', scale: [1, 1, 1], offset: [-1, -2, -3] });
    expect(n('div')).toMatchObject({ op: 'scale', scale: [0.5, 0.25, 0.125], offset: [0, 0, 0] });
    expect(n('relu6')).toMatchObject({ op: 'activation', fn: 'relu6' });
    expect(n('relu')).toMatchObject({ op: 'activation', fn: 'relu' });
    expect(n('clip')).toMatchObject({ op: 'activation', fn: 'clip', min: -1, max: 1 });
    expect(n('hs')).toMatchObject({ fn: 'hard_sigmoid' });
    expect(n('swish')).toMatchObject({ op: 'multiply', inputs: ['clip', 'hs'] });
    expect(n('pad')).toMatchObject({ op: 'zeropad', pad: [1, 3, 2, 4] });
    expect(n('maxpool')).toMatchObject({
      op: 'maxpool',
      pool: [3, 3],
      strides: [2, 2],
      padding: 'valid',
      ceilMode: true,
    });
    expect(n('avgpool')).toMatchObject({ op: 'avgpool', padding: [1, 1, 1, 1], countIncludePad: true });
    expect(n('up')).toMatchObject({ op: 'upsample', size: [2, 2], interpolation: 'nearest' });
    expect(n('cat')).toMatchObject({ op: 'concat', inputs: ['up', 'up'] });
    expect(n('soft')).toMatchObject({ fn: 'softmax' });
    expect(n('gap')).toMatchObject({ op: 'gap', keepDims: true });
    expect(n('squeeze')).toMatchObject({ op: 'flatten' });
    const a = analyzeGraph(m.graph);
    const shape = (id: string) => a.layers.find((l) => l.id === id)!.outputShape;
    expect(shape('pad')).toEqual([12, 14, 3]);
    expect(shape('maxpool')).toEqual([6, 7, 3]); // ceil((12 − 3) / 2) + 1, ceil((14 − 3) / 2) + 1
    expect(shape('avgpool')).toEqual([7, 8, 3]);
    expect(shape('cat')).toEqual([14, 16, 6]);
    expect(shape('squeeze')).toEqual([6]);
    // And it runs.
    const runner = new IRRunner(m.graph, m.weights);
    const input = tf.tidy(() => tf.tensor4d(seeded(8 * 8 * 3, 5), [1, 8, 8, 3]).mul(4));
    try {
      const got = await runAll(runner, input, new Set(['squeeze']));
      const sum = [...got.get('squeeze')!].reduce((s, v) => s + v, 0);
      expect(sum).toBeCloseTo(1, 4); // the mean of a channel softmax sums to 1 over channels
    } finally {
      input.dispose();
      runner.dispose();
    }
  });

  it('Resize to fixed sizes is a resize layer; non-half-pixel linear modes warn', async () => {
    const bytes = model(
      [
        {
          op: 'Resize',
          name: 'rs',
          inputs: ['x', '', '', 'sizes'],
          outputs: ['y'],
          attrs: [
            { name: 'mode', s: 'linear' },
            { name: 'coordinate_transformation_mode', s: 'align_corners' },
          ],
        },
      ],
      { initializers: [ints('sizes', [1, 3, 6, 10])] },
    );
    const m = await open(bytes);
    expect(nodeNamed(m.graph.nodes, 'rs')).toMatchObject({
      op: 'resize',
      height: 6,
      width: 10,
      interpolation: 'bilinear',
    });
    expect(m.warnings.join(' ')).toMatch(/align_corners linear resizing runs with half-pixel centres/);
  });

  it('opset 9 Clip attributes, SAME_LOWER pads, LeakyRelu/PRelu and a residual Add', async () => {
    const bytes = buildOnnx({
      opset: 9,
      inputs: [{ name: 'x', dims: [1, 2, 5, 5] }],
      outputs: ['z'],
      nodes: [
        {
          op: 'Conv',
          name: 'c',
          inputs: ['x', 'W'],
          outputs: ['a'],
          attrs: [
            { name: 'auto_pad', s: 'SAME_LOWER' },
            { name: 'kernel_shape', ints: [2, 2] },
          ],
        },
        {
          op: 'Clip',
          name: 'r6',
          inputs: ['a'],
          outputs: ['b'],
          attrs: [
            { name: 'min', f: 0 },
            { name: 'max', f: 6 },
          ],
        },
        { op: 'LeakyRelu', name: 'lr', inputs: ['b'], outputs: ['l'], attrs: [{ name: 'alpha', f: 0.25 }] },
        { op: 'PRelu', name: 'pr', inputs: ['l', 'slope'], outputs: ['p'] },
        { op: 'Add', name: 'res', inputs: ['p', 'x'], outputs: ['z'] },
      ],
      initializers: [init('W', [2, 2, 2, 2], range(16)), init('slope', [2, 1, 1], [0.1, 0.2])],
    });
    const m = await open(bytes);
    const n = (name: string) => nodeNamed(m.graph.nodes, name);
    expect(n('c')).toMatchObject({ padding: [1, 0, 1, 0] });
    expect(n('r6')).toMatchObject({ fn: 'relu6' });
    expect(n('lr')).toMatchObject({ fn: 'leaky_relu', alpha: 0.25 });
    expect(n('pr')).toMatchObject({ fn: 'prelu' });
    expect(m.weights.get('pr')![0]).toMatchObject({ shape: [1, 1, 2] });
    expect(n('res')).toMatchObject({ op: 'add', inputs: ['pr', 'x'] });
  });

  it('duplicate ONNX node names fall back to output tensor names; outputs are deduplicated', async () => {
    const bytes = buildOnnx({
      inputs: [{ name: 'x', dims: [1, 1, 2, 2] }],
      outputs: ['b', 'b'],
      nodes: [
        { op: 'Relu', name: 'same', inputs: ['x'], outputs: ['a'] },
        { op: 'Sigmoid', name: 'same', inputs: ['a'], outputs: ['b'] },
      ],
    });
    const m = await open(bytes);
    expect(m.graph.nodes.map((n) => n.name)).toEqual(['x', 'a', 'b']);
    expect(m.graph.outputs).toEqual(['b']);
  });
});

describe('external data', () => {
  const spec = (): ModelSpec => ({
    inputs: [{ name: 'x', dims: [1, 1, 3, 3] }],
    outputs: ['y'],
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'W'], outputs: ['y'], attrs: [{ name: 'kernel_shape', ints: [2, 2] }] },
    ],
    initializers: [{ name: 'W', dims: [1, 1, 2, 2], values: [1, 2, 3, 4], external: 'x.onnx.data' }],
  });

  it('reads weights from the .onnx.data file next to the model', async () => {
    const m = await openOnnx([
      { path: 'sub/x.onnx', bytes: buildOnnx(spec()) },
      { path: 'sub/x.onnx.data', bytes: f32bytes([1, 2, 3, 4]) },
    ]);
    expect([...m.weights.get('conv')![0].data]).toEqual([1, 2, 3, 4]);
    expect(m.mainFile).toBe('sub/x.onnx');
  });

  it('a missing external file is named in the message', async () => {
    const e = await openError(buildOnnx(spec()), 'x.onnx');
    expect(e.message).toMatch(/external file "x\.onnx\.data".*missing/);
    expect(e.file).toBe('x.onnx.data');
  });

  it('a short external file is reported, not read past its end', async () => {
    const e = await openError(buildOnnx(spec()), 'x.onnx', [{ path: 'x.onnx.data', bytes: f32bytes([1, 2]) }]);
    expect(e.message).toMatch(/beyond the end of "x\.onnx\.data"/);
  });
});

describe('the decoder', () => {
  it('is static protobufjs code: no eval or new Function (the CSP forbids them)', () => {
    const src = readFileSync(
      fileURLToPath(new URL('../../renderer/src/formats/onnx-proto.js', import.meta.url)),
      'utf8',
    );
    expect(src).toMatch(/from 'protobufjs\/minimal\.js'/);
    expect(src).not.toMatch(/new Function|\beval\(/);
    expect(src).toContain('ModelProto');
  });
});

describe('bad input', () => {
  const real = new Uint8Array(readFileSync(`${FIXTURES}onnx-ccoltong-lenet-batch10.onnx`));

  it('match looks at content: real files yes, truncated / random / other formats no', () => {
    expect(onnxFormat.match([{ path: 'a.onnx', bytes: real }])).toBe(true);
    expect(onnxFormat.match([{ path: 'lenet.bin', bytes: real }])).toBe(true);
    // A truncated .onnx is claimed (it starts like one) so that open can say what is wrong with it.
    expect(onnxFormat.match([{ path: 'a.onnx', bytes: real.slice(0, real.length / 2) }])).toBe(true);
    expect(onnxFormat.match([{ path: 'a.bin', bytes: real.slice(0, real.length / 2) }])).toBe(false);
    const random = new Uint8Array(seeded(4096, 9).buffer);
    expect(onnxFormat.match([{ path: 'a.onnx', bytes: random }])).toBe(false);
    expect(
      onnxFormat.match([{ path: 'model.json', bytes: new TextEncoder().encode('{"format":"layers-model"}') }]),
    ).toBe(false);
    expect(
      onnxFormat.match([{ path: 'a.png', bytes: Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0, 0) }]),
    ).toBe(false);
  });

  it('a truncated protobuf', async () => {
    const e = await openError(real.slice(0, 100_000), 'lenet.onnx');
    expect(e.message).toMatch(/not a readable ONNX model: the protobuf is truncated or corrupt/);
  });

  it('random bytes', async () => {
    const random = new Uint8Array(seeded(4096, 9).buffer);
    random[0] = 0x08;
    const e = await openError(random, 'noise.onnx');
    expect(e.message).toMatch(/not a readable ONNX model/);
  });

  it('an unsupported op names the op type and the node', async () => {
    const e = await openError(model([{ op: 'LSTM', name: 'rnn_1', inputs: ['x'], outputs: ['y'] }]), 'rnn.onnx');
    expect(e.message).toBe('rnn.onnx: operator "LSTM" of node "rnn_1" is not supported');
  });

  it('a custom-domain op', async () => {
    const e = await openError(
      model([{ op: 'MyConv', name: 'mine', domain: 'com.example', inputs: ['x'], outputs: ['y'] }]),
    );
    expect(e.message).toMatch(/"com\.example::MyConv" of node "mine" is not supported/);
  });

  it('a cycle is reported, not followed forever', async () => {
    const e = await openError(
      model([
        { op: 'Add', name: 'a', inputs: ['x', 'd'], outputs: ['c'] },
        { op: 'Relu', name: 'b', inputs: ['c'], outputs: ['d'] },
      ]),
    );
    expect(e.message).toMatch(/cycle/);
  });

  it('a dangling input', async () => {
    const e = await openError(model([{ op: 'Add', name: 'a', inputs: ['x', 'ghost'], outputs: ['y'] }]));
    expect(e.message).toMatch(
      /node "a" \(Add\) reads tensor "ghost", which no node, initializer or graph input provides/,
    );
  });

  it('no image input', async () => {
    const e = await openError(
      buildOnnx({
        inputs: [{ name: 'tokens', dims: [1, 16] }],
        outputs: ['y'],
        nodes: [{ op: 'Relu', name: 'r', inputs: ['tokens'], outputs: ['y'] }],
      }),
    );
    expect(e.message).toMatch(/no image input \(a rank-4 tensor\); its inputs are "tokens" \(rank 2\)/);
  });

  it('a reshape that mixes channels and space is refused with the shapes', async () => {
    const e = await openError(
      model([{ op: 'Reshape', name: 'shuffle', inputs: ['x', 's'], outputs: ['y'] }], {
        initializers: [ints('s', [1, 3, 2, 8])],
      }),
    );
    expect(e.message).toMatch(/node "shuffle" \(Reshape\).*\[1, 3, 4, 4\] to \[1, 3, 2, 8\]/);
  });
});
