/** Hand-written oracle graphs of the editor's tests: the edited architectures written out as definitions. */
import type { ModelGraph, PaddingMode } from '../../renderer/src/analysis/graph';
import { GraphBuilder } from '../../renderer/src/zoo';

/**
 * VGG-16 written out: `convs` per stage, `kernels[stage][conv]` (default 3), global average pooling instead of
 * flatten with `gap`, and `paddings[stage][conv]` (default 'same').
 */
export function vggByHand(
  convs: number[],
  kernels: number[][],
  gap: boolean,
  paddings: PaddingMode[][] = [],
): ModelGraph {
  const b = new GraphBuilder('vgg16');
  let x = b.input('input_1', [224, 224, 3]);
  [64, 128, 256, 512, 512].forEach((f, i) => {
    for (let j = 0; j < convs[i]; j++) {
      const padding = paddings[i]?.[j] ?? 'same';
      x = b.conv(`block${i + 1}_conv${j + 1}`, x, f, kernels[i]?.[j] ?? 3, { padding, activation: 'relu' });
    }
    x = b.maxpool(`block${i + 1}_pool`, x, 2, 2);
  });
  x = gap ? b.gap('avg_pool', x) : b.flatten('flatten', x);
  x = b.dense('fc1', x, 4096, { activation: 'relu' });
  x = b.dense('fc2', x, 4096, { activation: 'relu' });
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}
