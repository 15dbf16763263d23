import { describe, expect, it } from 'vitest';
import { AnalysisError, analyzeGraph, countWeights, resolvePadding } from '../../renderer/src/analysis';
import { GraphBuilder, getZooGraph, type ModelGraph } from '../../renderer/src/zoo';

const layerOf = (g: ModelGraph, id: string) => {
  const l = analyzeGraph(g).layers.find((x) => x.id === id);
  if (!l) throw new Error(`no layer ${id}`);
  return l;
};

describe('per-layer arithmetic', () => {
  it('conv: K·K·C_in·C_out weights + C_out biases, H·W·K·K·C_in·C_out MACs', () => {
    const b = new GraphBuilder('t');
    const x = b.input('in', [56, 56, 128]);
    const y = b.conv('c', x, 64, 3, { padding: 'same' });
    const l = layerOf(b.build([y]), 'c');
    expect(l.params).toEqual({
      weights: 3 * 3 * 128 * 64,
      biases: 64,
      trainable: 73_792,
      nonTrainable: 0,
      total: 73_792,
    });
    expect(l.params.weights).toBe(73_728);
    expect(l.outputShape).toEqual([56, 56, 64]);
    expect(l.macs).toBe(56 * 56 * 73_728);
    expect(l.geometry).toEqual({
      kernel: [3, 3],
      stride: [1, 1],
      pad: [1, 1, 1, 1],
      padding: 'same',
      dilation: [1, 1],
      groups: 1,
      filters: 64,
    });
  });

  it('conv without bias, strided, non-square, dilated and grouped', () => {
    const b = new GraphBuilder('t');
    const x = b.input('in', [17, 17, 64]);
    const a = b.conv('a', x, 32, [1, 7], { padding: 'same', useBias: false });
    const s = b.conv('s', x, 16, 3, { strides: 2 });
    const d = b.conv('d', x, 8, 3, { dilation: 2 });
    const g = b.conv('g', x, 32, 3, { groups: 4, padding: 'same' });
    const graph = b.build([a, s, d, g]);
    const an = analyzeGraph(graph);
    const by = (id: string) => an.layers.find((l) => l.id === id)!;
    expect(by('a').params.total).toBe(1 * 7 * 64 * 32);
    expect(by('a').outputShape).toEqual([17, 17, 32]);
    expect(by('a').geometry?.pad).toEqual([0, 0, 3, 3]);
    expect(by('s').outputShape).toEqual([8, 8, 16]); // (17 − 3)/2 + 1 = 8
    expect(by('d').outputShape).toEqual([13, 13, 8]); // effective kernel 2·(3 − 1) + 1 = 5 → 17 − 5 + 1
    expect(by('g').params.weights).toBe(3 * 3 * (64 / 4) * 32);
    expect(by('g').macs).toBe(17 * 17 * 3 * 3 * 16 * 32);
  });

  it('depthwise, separable, dense and batch norm', () => {
    const b = new GraphBuilder('t');
    const x = b.input('in', [14, 14, 96]);
    const dw = b.depthwise('dw', x, 3, { padding: 'same', useBias: false, depthMultiplier: 2 });
    const bn = b.bn('bn', dw);
    const bnNoScale = b.bn('bn2', dw, { scale: false });
    const g = b.gap('gap', bn);
    const fc = b.dense('fc', g, 10);
    const graph = b.build([fc, bnNoScale]);
    graph.nodes.push({
      name: 'sep',
      op: 'separable',
      inputs: ['in'],
      filters: 40,
      depthMultiplier: 1,
      kernel: [3, 3],
      strides: [1, 1],
      padding: 'valid',
      dilation: [1, 1],
      useBias: true,
    });
    const an = analyzeGraph(graph);
    const by = (id: string) => an.layers.find((l) => l.id === id)!;
    expect(by('dw').params.total).toBe(3 * 3 * 96 * 2);
    expect(by('dw').outputShape).toEqual([14, 14, 192]);
    expect(by('dw').macs).toBe(14 * 14 * 9 * 96 * 2);
    expect(by('dw').geometry?.groups).toBe(96);
    // BN: gamma, beta trainable; moving mean, variance non-trainable (Keras convention).
    expect(by('bn').params).toEqual({ weights: 192, biases: 192, trainable: 384, nonTrainable: 384, total: 768 });
    expect(by('bn2').params.total).toBe(3 * 192);
    expect(by('gap').outputShape).toEqual([192]);
    expect(by('fc').params.total).toBe(192 * 10 + 10);
    expect(by('fc').receptiveField).toBeNull();
    expect(by('sep').params).toMatchObject({ weights: 9 * 96 + 96 * 40, biases: 40 });
    expect(by('sep').outputShape).toEqual([12, 12, 40]);
    expect(by('sep').macs).toBe(12 * 12 * (9 * 96 + 96 * 40));
  });

  it('resolves TF "same" padding for the actual input', () => {
    expect(resolvePadding(224, 3, 1, 1, 'same')).toEqual({ out: 224, before: 1, after: 1 });
    expect(resolvePadding(224, 3, 2, 1, 'same')).toEqual({ out: 112, before: 0, after: 1 });
    expect(resolvePadding(225, 3, 2, 1, 'same')).toEqual({ out: 113, before: 1, after: 1 });
    expect(resolvePadding(224, 7, 2, 1, 'same')).toEqual({ out: 112, before: 2, after: 3 });
    expect(resolvePadding(14, 2, 2, 1, 'same')).toEqual({ out: 7, before: 0, after: 0 });
    expect(resolvePadding(10, 3, 1, 2, 'same')).toEqual({ out: 10, before: 2, after: 2 });
    expect(resolvePadding(227, 11, 4, 1, 'valid')).toEqual({ out: 55, before: 0, after: 0 });
  });

  it('classifies manifest weights by variable name', () => {
    expect(
      countWeights([
        { name: 'c/kernel', shape: [3, 3, 3, 8] },
        { name: 'c/bias', shape: [8] },
        { name: 'bn/gamma', shape: [8] },
        { name: 'bn/beta', shape: [8] },
        { name: 'bn/moving_mean', shape: [8] },
        { name: 'bn/moving_variance', shape: [8] },
      ]),
    ).toEqual({ weights: 216 + 8, biases: 16, trainable: 240, nonTrainable: 16, total: 256 });
  });
});

describe('bad graphs and inputs', () => {
  it('names the first layer whose output would be empty when the input is too small', () => {
    expect(() => analyzeGraph(getZooGraph('vgg16', { input: [16, 16] }))).toThrow(AnalysisError);
    expect(() => analyzeGraph(getZooGraph('vgg16', { input: [16, 16] }))).toThrow(
      /input 16×16 is too small.*"block5_pool" \(MaxPooling2D\) would output 0×0 from its 1×1 input/,
    );
    expect(() => analyzeGraph(getZooGraph('alexnet', { input: [32, 32] }))).toThrow(/layer "pool5"/);
    expect(() => analyzeGraph(getZooGraph('inceptionv3', { input: [64, 64] }))).toThrow(/input 64×64 is too small/);
    // Keras's own minimum for InceptionV3 is 75×75: it must work.
    expect(analyzeGraph(getZooGraph('inceptionv3', { input: [75, 75] })).layers.at(-1)?.outputShape).toEqual([1000]);
    const caught = (() => {
      try {
        analyzeGraph(getZooGraph('densenet121', { input: [16, 16] }));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(caught).toBeInstanceOf(AnalysisError);
    expect((caught as AnalysisError).layer).toBe('pool4_pool');
    // ResNet50 pads before every strided layer: even a tiny input keeps every map at least 1×1.
    expect(
      analyzeGraph(getZooGraph('resnet50', { input: [8, 8] })).layers.find((l) => l.id === 'conv5_block3_out')
        ?.outputShape,
    ).toEqual([1, 1, 2048]);
  });

  it('rejects mismatched merges, unknown inputs, cycles and graphs without input', () => {
    const b = new GraphBuilder('m');
    const x = b.input('in', [8, 8, 3]);
    const a = b.conv('a', x, 4, 3);
    const c = b.conv('c', x, 4, 1);
    const bad = b.build([a, c]);
    bad.nodes.push({ name: 'sum', op: 'add', inputs: ['a', 'c'] });
    expect(() => analyzeGraph(bad)).toThrow(
      /layer "sum" \(Add\) needs equal shapes \(or 1 where they broadcast\), got 6×6×4 and 8×8×4/,
    );
    const cat: ModelGraph = {
      ...bad,
      nodes: [...bad.nodes.slice(0, -1), { name: 'cat', op: 'concat', inputs: ['a', 'c'] }],
    };
    expect(() => analyzeGraph(cat)).toThrow(/cannot concatenate 6×6×4 and 8×8×4/);
    const missing: ModelGraph = { name: 'x', outputs: ['a'], nodes: [{ ...bad.nodes[1], inputs: ['nowhere'] }] };
    expect(() => analyzeGraph(missing)).toThrow(/layer "a" takes input "nowhere", which is not a layer of the model/);
    const cyc: ModelGraph = {
      name: 'cyc',
      outputs: ['p'],
      nodes: [
        { name: 'in', op: 'input', inputs: [], shape: [4, 4, 1] },
        { name: 'p', op: 'add', inputs: ['in', 'q'] },
        { name: 'q', op: 'dropout', inputs: ['p'], rate: 0 },
      ],
    };
    expect(() => analyzeGraph(cyc)).toThrow(/cycle/);
    expect(() => analyzeGraph({ name: 'none', outputs: [], nodes: [] })).toThrow(/no input layer/);
    const flat: ModelGraph = {
      name: 'flat',
      outputs: ['c'],
      nodes: [
        { name: 'in', op: 'input', inputs: [], shape: [4, 4, 1] },
        { name: 'f', op: 'flatten', inputs: ['in'] },
        { name: 'c', op: 'maxpool', inputs: ['f'], pool: [2, 2], strides: [2, 2], padding: 'valid' },
      ],
    };
    expect(() => analyzeGraph(flat)).toThrow(/layer "c" \(MaxPooling2D\) needs an H×W×C input but gets 16/);
  });

  it('requires a fixed input size', () => {
    const g: ModelGraph = {
      name: 'open',
      outputs: ['in'],
      nodes: [{ name: 'in', op: 'input', inputs: [], shape: [null, null, 3] }],
    };
    expect(() => analyzeGraph(g)).toThrow(/input size is not fixed/);
    expect(analyzeGraph(g, { input: [32, 48] }).input).toEqual([32, 48, 3]);
  });

  it('orders nodes topologically even when given out of order', () => {
    const g = getZooGraph('resnet50');
    const shuffled: ModelGraph = { ...g, nodes: [...g.nodes].reverse() };
    const a = analyzeGraph(shuffled);
    expect(a.totals.params).toBe(25_636_712);
    const pos = new Map(a.layers.map((l, i) => [l.id, i]));
    for (const l of a.layers) for (const i of l.inputs) expect(pos.get(i)!).toBeLessThan(pos.get(l.id)!);
  });
});
