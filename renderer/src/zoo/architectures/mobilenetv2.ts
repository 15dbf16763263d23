import type { Pair } from '../../../../common/analysis-types';
import { GraphBuilder } from '../builder';
import type { ModelGraph } from '../../analysis/graph';

/** keras_applications' `_make_divisible`: round to the nearest multiple of `divisor`, never below 90 %. */
function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor(v + divisor / 2) - (Math.floor(v + divisor / 2) % divisor));
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** keras_applications' `correct_pad`: the ZeroPadding2D before a stride-2 3×3 conv, [top, bottom, left, right]. */
function correctPad([h, w]: Pair, kernel: number): [number, number, number, number] {
  const c = Math.floor(kernel / 2);
  const adjust: Pair = [1 - (h % 2), 1 - (w % 2)];
  return [c - adjust[0], c, c - adjust[1], c];
}

/** Architecture knobs of MobileNetV2 (the what-if editor's sliders); the defaults are the published network. */
export interface Mobilenetv2Options {
  /**
   * Width multiplier α (Keras `alpha`): every block's output channels ×α, rounded to a multiple of 8; the last
   * 1×1 conv keeps 1280 unless α > 1. Default 1.0 (Keras ships 0.35, 0.5, 0.75, 1.0, 1.3, 1.4).
   */
  alpha?: number;
  /** Expansion factor t of the inverted residual blocks 1–16 (block 0 keeps t = 1, as in the paper); default 6. */
  expansion?: number;
}

/**
 * MobileNetV2 (alpha 1.0) as `keras.applications.MobileNetV2(include_top=True)` in the keras_applications
 * formulation with explicit `*_pad` layers (the one the bundled pretrained model was saved from, so the two
 * share layer names): 3,538,984 parameters at 224×224.
 */
export function mobilenetv2([h, w]: Pair, opts: Mobilenetv2Options = {}): ModelGraph {
  const alpha = opts.alpha ?? 1.0;
  const expansionFactor = opts.expansion ?? 6;
  const b = new GraphBuilder('mobilenetv2');
  const bnOpts = { epsilon: 1e-3, momentum: 0.999 };
  let size: Pair = [h, w];
  /** Spatial size after a correct_pad ZeroPadding2D and a 3×3 stride-2 'valid' conv. */
  const stride2 = (s: Pair): Pair => {
    const p = correctPad(s, 3);
    return [Math.floor((s[0] + p[0] + p[1] - 3) / 2) + 1, Math.floor((s[1] + p[2] + p[3] - 3) / 2) + 1];
  };

  const block = (input: string, expansion: number, stride: number, filters: number, id: number): string => {
    const inChannels = b.channelsOf(input);
    const pointwise = makeDivisible(Math.trunc(filters * alpha), 8);
    let prefix = `block_${id}_`;
    let x = input;
    if (id) {
      x = b.conv(`${prefix}expand`, x, expansion * inChannels, 1, { padding: 'same', useBias: false });
      x = b.bn(`${prefix}expand_BN`, x, bnOpts);
      x = b.act(`${prefix}expand_relu`, x, 'relu6');
    } else {
      prefix = 'expanded_conv_';
    }
    if (stride === 2) {
      x = b.zeropad(`${prefix}pad`, x, correctPad(size, 3));
      size = stride2(size);
    }
    x = b.depthwise(`${prefix}depthwise`, x, 3, {
      strides: stride,
      useBias: false,
      padding: stride === 1 ? 'same' : 'valid',
    });
    x = b.bn(`${prefix}depthwise_BN`, x, bnOpts);
    x = b.act(`${prefix}depthwise_relu`, x, 'relu6');
    x = b.conv(`${prefix}project`, x, pointwise, 1, { padding: 'same', useBias: false });
    x = b.bn(`${prefix}project_BN`, x, bnOpts);
    if (inChannels === pointwise && stride === 1) return b.add(`${prefix}add`, [input, x]);
    return x;
  };

  let x = b.input('input_1', [h, w, 3]);
  x = b.zeropad('Conv1_pad', x, correctPad(size, 3));
  size = stride2(size);
  x = b.conv('Conv1', x, makeDivisible(32 * alpha, 8), 3, { strides: 2, useBias: false });
  x = b.bn('bn_Conv1', x, bnOpts);
  x = b.act('Conv1_relu', x, 'relu6');
  const settings: [number, number, number][] = [
    // [filters, stride, expansion] per block, block ids 0..16
    [16, 1, 1],
    [24, 2, 6],
    [24, 1, 6],
    [32, 2, 6],
    [32, 1, 6],
    [32, 1, 6],
    [64, 2, 6],
    [64, 1, 6],
    [64, 1, 6],
    [64, 1, 6],
    [96, 1, 6],
    [96, 1, 6],
    [96, 1, 6],
    [160, 2, 6],
    [160, 1, 6],
    [160, 1, 6],
    [320, 1, 6],
  ];
  settings.forEach(([filters, stride, expansion], id) => {
    x = block(x, expansion === 6 ? expansionFactor : expansion, stride, filters, id);
  });
  const last = alpha > 1 ? makeDivisible(1280 * alpha, 8) : 1280;
  x = b.conv('Conv_1', x, last, 1, { useBias: false });
  x = b.bn('Conv_1_bn', x, bnOpts);
  x = b.act('out_relu', x, 'relu6');
  x = b.gap('global_average_pooling2d', x);
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}
