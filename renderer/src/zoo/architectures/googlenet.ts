import type { Pair } from '../../../../common/analysis-types';
import { GraphBuilder } from '../builder';
import type { ModelGraph } from '../../analysis/graph';

/**
 * Architecture knobs of GoogLeNet (the what-if editor's sliders): multipliers of every Inception module's branch
 * widths, rounded to whole filters (at least 1). The defaults (all 1) are the published network. A reduction
 * multiplier of 0 removes that 1×1 reduction: the 3×3 then reads the module's whole input.
 */
export interface GooglenetOptions {
  width1x1?: number;
  reduce3x3?: number;
  width3x3?: number;
  reduce5x5?: number;
  width5x5?: number;
  poolProj?: number;
}

/**
 * GoogLeNet (Inception v1) as torchvision defines it (`torchvision.models.googlenet(aux_logits=False)`):
 * every conv is conv (no bias) + BatchNorm (eps 0.001) + ReLU, the auxiliary heads are left out, and — a known
 * difference from the paper that torchvision keeps for its pretrained weights — the "5×5" branch uses a 3×3
 * kernel. 6,624,904 parameters without BN statistics (the PyTorch count), 6,639,464 with them (Keras count).
 * torchvision's ceil_mode max-pools are written as TF 'same' pools: identical outputs at 224×224 (the pooled
 * maps follow ReLUs, and both put the extra window at the bottom/right).
 */
export function googlenet([h, w]: Pair, opts: GooglenetOptions = {}): ModelGraph {
  const b = new GraphBuilder('googlenet');
  const scale = (c: number, m = 1): number => (m === 1 ? c : Math.max(1, Math.round(c * m)));

  const convBn = (name: string, x: string, filters: number, kernel: number, stride = 1): string => {
    const padding = kernel > 1 && stride === 1 ? 'same' : 'valid';
    let y = b.conv(`${name}_conv`, x, filters, kernel, { strides: stride, padding, useBias: false });
    y = b.bn(`${name}_bn`, y, { epsilon: 1e-3 });
    return b.act(`${name}_relu`, y, 'relu');
  };
  const inception = (
    name: string,
    x: string,
    c1: number,
    c3r: number,
    c3: number,
    c5r: number,
    c5: number,
    pp: number,
  ) => {
    const b1 = convBn(`${name}_1x1`, x, scale(c1, opts.width1x1), 1);
    let b2 = opts.reduce3x3 === 0 ? x : convBn(`${name}_3x3_reduce`, x, scale(c3r, opts.reduce3x3), 1);
    b2 = convBn(`${name}_3x3`, b2, scale(c3, opts.width3x3), 3);
    // torchvision's branch3 ("5×5" in the paper) really is a 3×3 conv; the name says what it is.
    let b3 = opts.reduce5x5 === 0 ? x : convBn(`${name}_b3_reduce`, x, scale(c5r, opts.reduce5x5), 1);
    b3 = convBn(`${name}_b3_3x3`, b3, scale(c5, opts.width5x5), 3);
    let b4 = b.maxpool(`${name}_pool`, x, 3, 1, 'same');
    b4 = convBn(`${name}_pool_proj`, b4, scale(pp, opts.poolProj), 1);
    return b.concat(name, [b1, b2, b3, b4]);
  };

  let x = b.input('input_1', [h, w, 3]);
  x = b.zeropad('conv1_pad', x, 3);
  x = convBn('conv1', x, 64, 7, 2);
  x = b.maxpool('pool1', x, 3, 2, 'same');
  x = convBn('conv2', x, 64, 1);
  x = convBn('conv3', x, 192, 3);
  x = b.maxpool('pool2', x, 3, 2, 'same');
  x = inception('inception3a', x, 64, 96, 128, 16, 32, 32);
  x = inception('inception3b', x, 128, 128, 192, 32, 96, 64);
  x = b.maxpool('pool3', x, 3, 2, 'same');
  x = inception('inception4a', x, 192, 96, 208, 16, 48, 64);
  x = inception('inception4b', x, 160, 112, 224, 24, 64, 64);
  x = inception('inception4c', x, 128, 128, 256, 24, 64, 64);
  x = inception('inception4d', x, 112, 144, 288, 32, 64, 64);
  x = inception('inception4e', x, 256, 160, 320, 32, 128, 128);
  x = b.maxpool('pool4', x, 2, 2, 'same');
  x = inception('inception5a', x, 256, 160, 320, 32, 128, 128);
  x = inception('inception5b', x, 384, 192, 384, 48, 128, 128);
  x = b.gap('avg_pool', x);
  x = b.dropout('dropout', x, 0.2);
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}
