import { describe, expect, it } from 'vitest';
import { AnalysisError, analyzeGraph } from '../../renderer/src/analysis';
import type { GraphNode, ModelGraph } from '../../renderer/src/analysis/graph';

const withConv = (conv: Partial<GraphNode>): ModelGraph => ({
  name: 'hostile',
  source: 'hostile.json',
  outputs: ['c'],
  nodes: [
    { op: 'input', name: 'in', inputs: [], shape: [32, 32, 3] },
    {
      op: 'conv',
      name: 'c',
      inputs: ['in'],
      kernel: [3, 3],
      strides: [1, 1],
      padding: 'same',
      dilation: [1, 1],
      useBias: true,
      filters: 8,
      ...conv,
    } as GraphNode,
  ],
});

describe('sizes no real layer has are refused with the file, the layer and the value', () => {
  it.each([
    ['negative filters', { filters: -8 }, /layer "c" has filters -8/],
    ['zero filters', { filters: 0 }, /filters 0/],
    ['fractional kernel', { kernel: [2.5, 3] }, /kernel \[2.5,3\]/],
    ['zero stride', { strides: [0, 1] }, /strides \[0,1\]/],
    ['negative explicit padding', { padding: [-1, 0, 0, 0] }, /padding \[-1,0,0,0\]/],
    ['a billion filters', { filters: 1e9 }, /filters 1000000000/],
  ])('%s', (_what, conv, message) => {
    expect(() => analyzeGraph(withConv(conv as Partial<GraphNode>))).toThrow(AnalysisError);
    expect(() => analyzeGraph(withConv(conv as Partial<GraphNode>))).toThrow(message);
    expect(() => analyzeGraph(withConv(conv as Partial<GraphNode>))).toThrow(/^hostile\.json: /);
  });

  it('a 1e9×1e9 input is refused, not counted', () => {
    const g = withConv({});
    expect(() => analyzeGraph(g, { input: [1e9, 1e9] })).toThrow(/larger than any image/);
  });

  it('explicit padding and ceil mode follow the PyTorch formula (I + P_b + P_a − K)/S + 1', () => {
    const g: ModelGraph = {
      name: 'pt',
      outputs: ['p'],
      nodes: [
        { op: 'input', name: 'in', inputs: [], shape: [112, 112, 64] },
        { op: 'maxpool', name: 'p', inputs: ['in'], pool: [3, 3], strides: [2, 2], padding: [1, 1, 1, 1] },
      ],
    };
    // torchvision ResNet's stem pool: floor((112 + 2 − 3)/2) + 1 = 56, padded one pixel on every side.
    const l = analyzeGraph(g).layers[1];
    expect(l.outputShape).toEqual([56, 56, 64]);
    expect(l.geometry?.pad).toEqual([1, 1, 1, 1]);
    expect(l.geometry?.padding).toBe('explicit');
    // GoogLeNet's ceil_mode pool: ceil((112 − 3)/2) + 1 = 56 (floor would give 55).
    const c = analyzeGraph({
      ...g,
      nodes: [g.nodes[0], { ...(g.nodes[1] as GraphNode), padding: 'valid', ceilMode: true } as GraphNode],
    }).layers[1];
    expect(c.outputShape).toEqual([56, 56, 64]);
  });
});
