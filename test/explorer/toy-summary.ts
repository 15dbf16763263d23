/** A small analysed model for scene tests, without running the analysis: [id, outputShape, kind, inputs]. */
import { emptyTotals } from '../../renderer/src/analysis';
import type { LayerAnalysis, LayerKind } from '../../common/analysis-types';
import type { ModelSummary } from '../../common/engine-protocol';

export type ToyLayer = [id: string, outputShape: number[], kind: LayerKind, inputs: string[]];

export function toySummary(
  input: [number, number, number],
  layers: ToyLayer[],
  opts: { frameOrder?: string[]; paramsPerLayer?: number } = {},
): ModelSummary {
  const p = opts.paramsPerLayer ?? 0;
  const params = { weights: p ? p - 1 : 0, biases: p ? 1 : 0, trainable: p, nonTrainable: 0, total: p };
  const layer = (id: string, outputShape: number[], kind: LayerKind, inputs: string[]): LayerAnalysis => ({
    id,
    name: id,
    kind,
    className: kind === 'input' ? 'InputLayer' : kind,
    inputs,
    outputShape,
    params: kind === 'input' ? { weights: 0, biases: 0, trainable: 0, nonTrainable: 0, total: 0 } : params,
    macs: 0,
    receptiveField: null,
    stage: null,
  });
  return {
    id: 'toy',
    name: 'toy',
    source: 'zoo',
    description: 'test',
    trained: false,
    preprocess: {
      inputSize: [input[0], input[1]],
      resize: 'stretch',
      channelOrder: 'rgb',
      scale: 1,
      offset: 0,
      mean: [0, 0, 0],
      std: [1, 1, 1],
    },
    analysis: {
      input,
      layers: [
        layer('in', input, 'input', []),
        ...layers.map(([id, shape, kind, inputs]) => layer(id, shape, kind, inputs)),
      ],
      stages: [],
      totals: emptyTotals(),
      warnings: [],
    },
    frameOrder: opts.frameOrder ?? layers.map(([id]) => id),
  };
}
