import type { Pair } from '../../analysis/types';
import { GraphBuilder } from '../builder';
import type { ModelGraph } from '../graph';

/** VGG-16 as `keras.applications.VGG16(include_top=True)`: 13 3×3 'same' convs, 5 max-pools, fc1/fc2/predictions. */
export function vgg16([h, w]: Pair): ModelGraph {
  const b = new GraphBuilder('vgg16');
  let x = b.input('input_1', [h, w, 3]);
  const blocks: [number, number][] = [
    [64, 2],
    [128, 2],
    [256, 3],
    [512, 3],
    [512, 3],
  ];
  blocks.forEach(([filters, convs], i) => {
    for (let j = 1; j <= convs; j++) {
      x = b.conv(`block${i + 1}_conv${j}`, x, filters, 3, { padding: 'same', activation: 'relu' });
    }
    x = b.maxpool(`block${i + 1}_pool`, x, 2, 2);
  });
  x = b.flatten('flatten', x);
  x = b.dense('fc1', x, 4096, { activation: 'relu' });
  x = b.dense('fc2', x, 4096, { activation: 'relu' });
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}
