import type { Pair } from '../../../../common/analysis-types';
import { GraphBuilder } from '../builder';
import type { ModelGraph } from '../../analysis/graph';
import type { PaddingMode } from '../../analysis/graph';

/** Architecture knobs of Inception-v3 (the what-if editor's sliders); the defaults are the published network. */
export interface Inceptionv3Options {
  /** Multiplier of every conv's filters (all branches), rounded to whole filters (at least 1); default 1. */
  width?: number;
}

/**
 * Inception-v3 as `keras.applications.InceptionV3(include_top=True)`: every conv is conv (no bias) + BN
 * (scale=False) + ReLU; 23,851,784 parameters at 299×299. Unnamed layers get Keras 2's automatic names
 * (conv2d_1, batch_normalization_1, activation_1, …), the names the bundled pretrained InceptionV3 carries,
 * so the two graphs line up layer by layer up to `mixed10`.
 */
export function inceptionv3([h, w]: Pair, opts: Inceptionv3Options = {}): ModelGraph {
  const b = new GraphBuilder('inceptionv3');
  const width = opts.width ?? 1;
  const counters = new Map<string, number>();
  const auto = (prefix: string): string => {
    const n = (counters.get(prefix) ?? 0) + 1;
    counters.set(prefix, n);
    return `${prefix}_${n}`;
  };

  const convBn = (
    x: string,
    filters: number,
    rows: number,
    cols: number,
    strides = 1,
    padding: PaddingMode = 'same',
  ) => {
    const f = width === 1 ? filters : Math.max(1, Math.round(filters * width));
    let y = b.conv(auto('conv2d'), x, f, [rows, cols], { strides, padding, useBias: false });
    y = b.bn(auto('batch_normalization'), y, { scale: false, epsilon: 1e-3 });
    return b.act(auto('activation'), y, 'relu');
  };
  const avgSame = (x: string) => b.avgpool(auto('average_pooling2d'), x, 3, 1, 'same');
  const maxValid = (x: string) => b.maxpool(auto('max_pooling2d'), x, 3, 2, 'valid');

  let x = b.input('input_1', [h, w, 3]);
  x = convBn(x, 32, 3, 3, 2, 'valid');
  x = convBn(x, 32, 3, 3, 1, 'valid');
  x = convBn(x, 64, 3, 3);
  x = maxValid(x);
  x = convBn(x, 80, 1, 1, 1, 'valid');
  x = convBn(x, 192, 3, 3, 1, 'valid');
  x = maxValid(x);

  // mixed0..2: 35×35
  [32, 64, 64].forEach((poolFilters, i) => {
    const b1 = convBn(x, 64, 1, 1);
    let b5 = convBn(x, 48, 1, 1);
    b5 = convBn(b5, 64, 5, 5);
    let b3 = convBn(x, 64, 1, 1);
    b3 = convBn(b3, 96, 3, 3);
    b3 = convBn(b3, 96, 3, 3);
    let bp = avgSame(x);
    bp = convBn(bp, poolFilters, 1, 1);
    x = b.concat(`mixed${i}`, [b1, b5, b3, bp]);
  });

  // mixed3: 35 → 17
  {
    const b3 = convBn(x, 384, 3, 3, 2, 'valid');
    let bd = convBn(x, 64, 1, 1);
    bd = convBn(bd, 96, 3, 3);
    bd = convBn(bd, 96, 3, 3, 2, 'valid');
    const bp = maxValid(x);
    x = b.concat('mixed3', [b3, bd, bp]);
  }

  // mixed4..7: 17×17 with factorised 7×7 convs
  [128, 160, 160, 192].forEach((c, i) => {
    const b1 = convBn(x, 192, 1, 1);
    let b7 = convBn(x, c, 1, 1);
    b7 = convBn(b7, c, 1, 7);
    b7 = convBn(b7, 192, 7, 1);
    let bd = convBn(x, c, 1, 1);
    bd = convBn(bd, c, 7, 1);
    bd = convBn(bd, c, 1, 7);
    bd = convBn(bd, c, 7, 1);
    bd = convBn(bd, 192, 1, 7);
    let bp = avgSame(x);
    bp = convBn(bp, 192, 1, 1);
    x = b.concat(`mixed${4 + i}`, [b1, b7, bd, bp]);
  });

  // mixed8: 17 → 8
  {
    let b3 = convBn(x, 192, 1, 1);
    b3 = convBn(b3, 320, 3, 3, 2, 'valid');
    let b7 = convBn(x, 192, 1, 1);
    b7 = convBn(b7, 192, 1, 7);
    b7 = convBn(b7, 192, 7, 1);
    b7 = convBn(b7, 192, 3, 3, 2, 'valid');
    const bp = maxValid(x);
    x = b.concat('mixed8', [b3, b7, bp]);
  }

  // mixed9, mixed10: 8×8 with split 1×3 / 3×1 branches
  for (let i = 0; i < 2; i++) {
    const b1 = convBn(x, 320, 1, 1);
    const b3 = convBn(x, 384, 1, 1);
    const b3a = convBn(b3, 384, 1, 3);
    const b3b = convBn(b3, 384, 3, 1);
    const b3cat = b.concat(`mixed9_${i}`, [b3a, b3b]);
    let bd = convBn(x, 448, 1, 1);
    bd = convBn(bd, 384, 3, 3);
    const bda = convBn(bd, 384, 1, 3);
    const bdb = convBn(bd, 384, 3, 1);
    const bdcat = b.concat(auto('concatenate'), [bda, bdb]);
    let bp = avgSame(x);
    bp = convBn(bp, 192, 1, 1);
    x = b.concat(`mixed${9 + i}`, [b1, b3cat, bdcat, bp]);
  }

  x = b.gap('avg_pool', x);
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}
