import type { Pair } from '../../../../common/analysis-types';
import { GraphBuilder } from '../builder';
import type { ModelGraph } from '../../analysis/graph';

const BN_EPS = 1.001e-5;

/** Architecture knobs of DenseNet-121 (the what-if editor's sliders); the defaults are the published network. */
export interface Densenet121Options {
  /** Growth rate k: channels each conv block adds to its dense block's concatenation; default 32 (paper: 12 … 48). */
  growthRate?: number;
  /** Transition compression θ: a transition keeps ⌊θ·C⌋ of its C channels; default 0.5 (DenseNet-BC). */
  compression?: number;
}

/**
 * DenseNet-121 as `keras.applications.DenseNet121(include_top=True)` (Keras 3 layer names): dense blocks of
 * 6/12/24/16 BN-ReLU-1×1-BN-ReLU-3×3 conv blocks, growth rate 32, transitions halving channels; 8,062,504 parameters.
 */
export function densenet121([h, w]: Pair, opts: Densenet121Options = {}): ModelGraph {
  const b = new GraphBuilder('densenet121');
  const growth = opts.growthRate ?? 32;
  const theta = opts.compression ?? 0.5;

  const convBlock = (x: string, name: string): string => {
    let y = b.bn(`${name}_0_bn`, x, { epsilon: BN_EPS });
    y = b.act(`${name}_0_relu`, y, 'relu');
    y = b.conv(`${name}_1_conv`, y, 4 * growth, 1, { useBias: false });
    y = b.bn(`${name}_1_bn`, y, { epsilon: BN_EPS });
    y = b.act(`${name}_1_relu`, y, 'relu');
    y = b.conv(`${name}_2_conv`, y, growth, 3, { padding: 'same', useBias: false });
    return b.concat(`${name}_concat`, [x, y]);
  };
  const denseBlock = (x: string, blocks: number, name: string): string => {
    for (let i = 1; i <= blocks; i++) x = convBlock(x, `${name}_block${i}`);
    return x;
  };
  const transition = (x: string, name: string): string => {
    const filters = Math.floor(b.channelsOf(x) * theta);
    let y = b.bn(`${name}_bn`, x, { epsilon: BN_EPS });
    y = b.act(`${name}_relu`, y, 'relu');
    y = b.conv(`${name}_conv`, y, filters, 1, { useBias: false });
    return b.avgpool(`${name}_pool`, y, 2, 2);
  };

  let x = b.input('input_1', [h, w, 3]);
  x = b.zeropad('zero_padding2d', x, 3);
  x = b.conv('conv1_conv', x, 64, 7, { strides: 2, useBias: false });
  x = b.bn('conv1_bn', x, { epsilon: BN_EPS });
  x = b.act('conv1_relu', x, 'relu');
  x = b.zeropad('zero_padding2d_1', x, 1);
  x = b.maxpool('pool1', x, 3, 2);
  x = denseBlock(x, 6, 'conv2');
  x = transition(x, 'pool2');
  x = denseBlock(x, 12, 'conv3');
  x = transition(x, 'pool3');
  x = denseBlock(x, 24, 'conv4');
  x = transition(x, 'pool4');
  x = denseBlock(x, 16, 'conv5');
  x = b.bn('bn', x, { epsilon: BN_EPS });
  x = b.act('relu', x, 'relu');
  x = b.gap('avg_pool', x);
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}
