import type { Pair } from '../../../../common/analysis-types';
import { GraphBuilder } from '../builder';
import type { ModelGraph } from '../../analysis/graph';

const BN_EPS = 1.001e-5;

/** Architecture knobs of ResNet-50 (the what-if editor's sliders); the defaults are the published network. */
export interface Resnet50Options {
  /**
   * Width of the bottleneck (the 1×1 and 3×3 convs inside each block) in the first stage, doubling per stage;
   * default 64. The block outputs stay 256/512/1024/2048 (torchvision's `width_per_group`: 128 is Wide ResNet-50-2).
   */
  bottleneckWidth?: number;
  /**
   * Two 3×3 convs at the block's output width instead of the 1×1–3×3–1×1 bottleneck (He et al. 2016, Fig. 5 left,
   * at the same output widths, so every shape downstream stays as it is).
   */
  basicBlocks?: boolean;
}

/**
 * ResNet-50 (v1) as `keras.applications.ResNet50(include_top=True)`: bottleneck blocks with the stride in the
 * first 1×1 conv (Keras; torchvision puts it in the 3×3), convs with biases, 25,636,712 parameters.
 */
export function resnet50([h, w]: Pair, opts: Resnet50Options = {}): ModelGraph {
  const b = new GraphBuilder('resnet50');
  const base = opts.bottleneckWidth ?? 64;

  const block = (
    input: string,
    filters: number,
    width: number,
    stride: number,
    name: string,
    convShortcut: boolean,
  ): string => {
    let shortcut = input;
    if (convShortcut) {
      shortcut = b.conv(`${name}_0_conv`, input, 4 * filters, 1, { strides: stride });
      shortcut = b.bn(`${name}_0_bn`, shortcut, { epsilon: BN_EPS });
    }
    let x: string;
    if (opts.basicBlocks) {
      x = b.conv(`${name}_1_conv`, input, 4 * filters, 3, { strides: stride, padding: 'same' });
      x = b.bn(`${name}_1_bn`, x, { epsilon: BN_EPS });
      x = b.act(`${name}_1_relu`, x, 'relu');
      x = b.conv(`${name}_2_conv`, x, 4 * filters, 3, { padding: 'same' });
      x = b.bn(`${name}_2_bn`, x, { epsilon: BN_EPS });
    } else {
      x = b.conv(`${name}_1_conv`, input, width, 1, { strides: stride });
      x = b.bn(`${name}_1_bn`, x, { epsilon: BN_EPS });
      x = b.act(`${name}_1_relu`, x, 'relu');
      x = b.conv(`${name}_2_conv`, x, width, 3, { padding: 'same' });
      x = b.bn(`${name}_2_bn`, x, { epsilon: BN_EPS });
      x = b.act(`${name}_2_relu`, x, 'relu');
      x = b.conv(`${name}_3_conv`, x, 4 * filters, 1);
      x = b.bn(`${name}_3_bn`, x, { epsilon: BN_EPS });
    }
    x = b.add(`${name}_add`, [shortcut, x]);
    return b.act(`${name}_out`, x, 'relu');
  };
  const stack = (input: string, stage: number, blocks: number, stride: number, name: string): string => {
    const filters = 64 << stage;
    const width = base << stage;
    let x = block(input, filters, width, stride, `${name}_block1`, true);
    for (let i = 2; i <= blocks; i++) x = block(x, filters, width, 1, `${name}_block${i}`, false);
    return x;
  };

  let x = b.input('input_1', [h, w, 3]);
  x = b.zeropad('conv1_pad', x, 3);
  x = b.conv('conv1_conv', x, 64, 7, { strides: 2 });
  x = b.bn('conv1_bn', x, { epsilon: BN_EPS });
  x = b.act('conv1_relu', x, 'relu');
  x = b.zeropad('pool1_pad', x, 1);
  x = b.maxpool('pool1_pool', x, 3, 2);
  x = stack(x, 0, 3, 1, 'conv2');
  x = stack(x, 1, 4, 2, 'conv3');
  x = stack(x, 2, 6, 2, 'conv4');
  x = stack(x, 3, 3, 2, 'conv5');
  x = b.gap('avg_pool', x);
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}
