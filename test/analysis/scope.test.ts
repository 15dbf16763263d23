import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import type { ModelGraph } from '../../renderer/src/analysis/graph';

describe('nested models', () => {
  it("keep each layer's nested-model names in order, for the layer list to group by", () => {
    const g: ModelGraph = {
      name: 'tm',
      outputs: ['dense'],
      nodes: [
        { op: 'input', name: 'in', inputs: [], shape: [8, 8, 3] },
        {
          op: 'conv',
          name: 'conv',
          inputs: ['in'],
          kernel: [3, 3],
          strides: [1, 1],
          padding: 'same',
          dilation: [1, 1],
          useBias: true,
          filters: 4,
          scope: ['sequential_1', 'model1'],
        },
        { op: 'gap', name: 'gap', inputs: ['conv'], scope: ['sequential_1', 'model1'] },
        { op: 'dense', name: 'dense', inputs: ['gap'], units: 2, useBias: true, scope: ['sequential_3'] },
      ],
    };
    const a = analyzeGraph(g);
    expect(a.layers.map((l) => [l.id, l.scope])).toEqual([
      ['in', undefined],
      ['conv', ['sequential_1', 'model1']],
      ['gap', ['sequential_1', 'model1']],
      ['dense', ['sequential_3']],
    ]);
  });
});
