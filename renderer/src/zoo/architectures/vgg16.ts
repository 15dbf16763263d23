import type { Pair } from '../../../../common/analysis-types';
import { GraphBuilder } from '../builder';
import type { ModelGraph } from '../../analysis/graph';

/** Architecture knobs of VGG-16 (the what-if editor's sliders); the defaults are the published network. */
export interface Vgg16Options {
  /** 3×3 convs in each of the five stages; default [2, 2, 3, 3, 3] (VGG-11: [1, 1, 2, 2, 2], VGG-19: [2, 2, 4, 4, 4]). */
  convsPerStage?: number[];
  /**
   * Global average pooling instead of Flatten before fc1 (Lin et al., "Network in Network", 2014): fc1 sees 512
   * values instead of 7·7·512 = 25,088, which takes its weights from 102,764,544 to 2,101,248.
   */
  globalPool?: boolean;
}

const WIDTHS = [64, 128, 256, 512, 512];
const CONVS = [2, 2, 3, 3, 3];

/** VGG-16 as `keras.applications.VGG16(include_top=True)`: 13 3×3 'same' convs, 5 max-pools, fc1/fc2/predictions. */
export function vgg16([h, w]: Pair, opts: Vgg16Options = {}): ModelGraph {
  const b = new GraphBuilder('vgg16');
  let x = b.input('input_1', [h, w, 3]);
  const convs = opts.convsPerStage ?? CONVS;
  WIDTHS.forEach((filters, i) => {
    for (let j = 1; j <= convs[i]; j++) {
      x = b.conv(`block${i + 1}_conv${j}`, x, filters, 3, { padding: 'same', activation: 'relu' });
    }
    x = b.maxpool(`block${i + 1}_pool`, x, 2, 2);
  });
  x = opts.globalPool ? b.gap('avg_pool', x) : b.flatten('flatten', x);
  x = b.dense('fc1', x, 4096, { activation: 'relu' });
  x = b.dense('fc2', x, 4096, { activation: 'relu' });
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}
