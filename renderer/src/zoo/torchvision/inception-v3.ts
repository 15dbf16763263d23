import type { Pair } from '../../../../common/analysis-types';
import { TorchGraphBuilder, type TorchvisionGraph } from './builder';
import { transformInput } from './transform-input';

/**
 * `torchvision.models.inception_v3` as it runs its ImageNet weights: `transform_input=True` (set by torchvision for
 * them), BasicConv2d everywhere (conv without bias + BatchNorm2d eps 0.001 + ReLU), PyTorch's symmetric padding,
 * the branch pools as `F.avg_pool2d(3, 1, padding=1)` — which counts the zero padding in its divisor
 * (count_include_pad) — and Mixed_5b … Mixed_7c, global average pooling, dropout and `fc`. The auxiliary head
 * (`AuxLogits`) only runs in training and is left out. Node names are the module paths
 * (`Mixed_6b.branch7x7_2.conv`); `Mixed_5b.branch_pool_avg` is the functional pool before `branch_pool`.
 */
export function tvInceptionV3([h, w]: Pair, classes = 1000, withTransform = true): TorchvisionGraph {
  const b = new TorchGraphBuilder('inception_v3');
  const basic = (
    name: string,
    x: string,
    filters: number,
    k: number | Pair,
    stride = 1,
    padding: number | Pair = 0,
  ) => {
    const y = b.conv(`${name}.conv`, x, filters, k, { stride, padding, bias: false });
    return b.act(`${name}.relu`, b.bn(`${name}.bn`, y, 1e-3), 'relu');
  };
  const pool = (m: string, x: string, c: number) =>
    basic(`${m}.branch_pool`, b.avgpool(`${m}.branch_pool_avg`, x, 3, 1, 1, true), c, 1);

  const A = (m: string, x: string, poolFeatures: number) => {
    const b1 = basic(`${m}.branch1x1`, x, 64, 1);
    const b5 = basic(`${m}.branch5x5_2`, basic(`${m}.branch5x5_1`, x, 48, 1), 64, 5, 1, 2);
    let b3 = basic(`${m}.branch3x3dbl_1`, x, 64, 1);
    b3 = basic(`${m}.branch3x3dbl_2`, b3, 96, 3, 1, 1);
    b3 = basic(`${m}.branch3x3dbl_3`, b3, 96, 3, 1, 1);
    return b.concat(m, [b1, b5, b3, pool(m, x, poolFeatures)]);
  };
  const B = (m: string, x: string) => {
    const b3 = basic(`${m}.branch3x3`, x, 384, 3, 2);
    let bd = basic(`${m}.branch3x3dbl_1`, x, 64, 1);
    bd = basic(`${m}.branch3x3dbl_2`, bd, 96, 3, 1, 1);
    bd = basic(`${m}.branch3x3dbl_3`, bd, 96, 3, 2);
    return b.concat(m, [b3, bd, b.maxpool(`${m}.branch_pool`, x, 3, 2)]);
  };
  const C = (m: string, x: string, c7: number) => {
    const b1 = basic(`${m}.branch1x1`, x, 192, 1);
    let b7 = basic(`${m}.branch7x7_1`, x, c7, 1);
    b7 = basic(`${m}.branch7x7_2`, b7, c7, [1, 7], 1, [0, 3]);
    b7 = basic(`${m}.branch7x7_3`, b7, 192, [7, 1], 1, [3, 0]);
    let bd = basic(`${m}.branch7x7dbl_1`, x, c7, 1);
    bd = basic(`${m}.branch7x7dbl_2`, bd, c7, [7, 1], 1, [3, 0]);
    bd = basic(`${m}.branch7x7dbl_3`, bd, c7, [1, 7], 1, [0, 3]);
    bd = basic(`${m}.branch7x7dbl_4`, bd, c7, [7, 1], 1, [3, 0]);
    bd = basic(`${m}.branch7x7dbl_5`, bd, 192, [1, 7], 1, [0, 3]);
    return b.concat(m, [b1, b7, bd, pool(m, x, 192)]);
  };
  const D = (m: string, x: string) => {
    const b3 = basic(`${m}.branch3x3_2`, basic(`${m}.branch3x3_1`, x, 192, 1), 320, 3, 2);
    let b7 = basic(`${m}.branch7x7x3_1`, x, 192, 1);
    b7 = basic(`${m}.branch7x7x3_2`, b7, 192, [1, 7], 1, [0, 3]);
    b7 = basic(`${m}.branch7x7x3_3`, b7, 192, [7, 1], 1, [3, 0]);
    b7 = basic(`${m}.branch7x7x3_4`, b7, 192, 3, 2);
    return b.concat(m, [b3, b7, b.maxpool(`${m}.branch_pool`, x, 3, 2)]);
  };
  const E = (m: string, x: string) => {
    const b1 = basic(`${m}.branch1x1`, x, 320, 1);
    const b3 = basic(`${m}.branch3x3_1`, x, 384, 1);
    const b3cat = b.concat(`${m}.branch3x3`, [
      basic(`${m}.branch3x3_2a`, b3, 384, [1, 3], 1, [0, 1]),
      basic(`${m}.branch3x3_2b`, b3, 384, [3, 1], 1, [1, 0]),
    ]);
    let bd = basic(`${m}.branch3x3dbl_1`, x, 448, 1);
    bd = basic(`${m}.branch3x3dbl_2`, bd, 384, 3, 1, 1);
    const bdcat = b.concat(`${m}.branch3x3dbl`, [
      basic(`${m}.branch3x3dbl_3a`, bd, 384, [1, 3], 1, [0, 1]),
      basic(`${m}.branch3x3dbl_3b`, bd, 384, [3, 1], 1, [1, 0]),
    ]);
    return b.concat(m, [b1, b3cat, bdcat, pool(m, x, 192)]);
  };

  let x = b.input('input', h, w);
  if (withTransform) x = transformInput(b, x);
  x = basic('Conv2d_1a_3x3', x, 32, 3, 2);
  x = basic('Conv2d_2a_3x3', x, 32, 3);
  x = basic('Conv2d_2b_3x3', x, 64, 3, 1, 1);
  x = b.maxpool('maxpool1', x, 3, 2);
  x = basic('Conv2d_3b_1x1', x, 80, 1);
  x = basic('Conv2d_4a_3x3', x, 192, 3);
  x = b.maxpool('maxpool2', x, 3, 2);
  x = A('Mixed_5b', x, 32);
  x = A('Mixed_5c', x, 64);
  x = A('Mixed_5d', x, 64);
  x = B('Mixed_6a', x);
  x = C('Mixed_6b', x, 128);
  x = C('Mixed_6c', x, 160);
  x = C('Mixed_6d', x, 160);
  x = C('Mixed_6e', x, 192);
  x = D('Mixed_7a', x);
  x = E('Mixed_7b', x);
  x = E('Mixed_7c', x);
  x = b.adaptiveAvgPool('avgpool', x, [1, 1]);
  x = b.dropout('dropout', x, 0.5);
  x = b.linear('fc', x, classes);
  return b.build(x, 'fc');
}
