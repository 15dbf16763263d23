import type { Pair } from '../../../../common/analysis-types';
import { TorchGraphBuilder, type TorchvisionGraph } from './builder';
import { transformInput } from './transform-input';

/**
 * `torchvision.models.googlenet` as it runs its ImageNet weights: `transform_input=True` (torchvision sets it for
 * them: the ImageNet-normalised input is mapped back to the [−1, 1] scaling the original weights were trained
 * on), every conv a BasicConv2d (conv without bias + BatchNorm2d eps 0.001 + ReLU), ceil_mode max pools, and —
 * a known difference from the paper that torchvision keeps for its weights (pytorch/vision#906) — a 3×3 conv in
 * the "5×5" branch3. The auxiliary classifiers (`aux1`, `aux2`) only run in training; the graph leaves them out.
 * Node names are the module paths (`inception3a.branch2.1.conv`).
 */
export function tvGooglenet([h, w]: Pair, classes = 1000, withTransform = true): TorchvisionGraph {
  const b = new TorchGraphBuilder('googlenet');
  const basic = (name: string, x: string, filters: number, k: number, stride = 1, padding = 0): string => {
    const y = b.conv(`${name}.conv`, x, filters, k, { stride, padding, bias: false });
    return b.act(`${name}.relu`, b.bn(`${name}.bn`, y, 1e-3), 'relu');
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
    const b1 = basic(`${name}.branch1`, x, c1, 1);
    const b2 = basic(`${name}.branch2.1`, basic(`${name}.branch2.0`, x, c3r, 1), c3, 3, 1, 1);
    const b3 = basic(`${name}.branch3.1`, basic(`${name}.branch3.0`, x, c5r, 1), c5, 3, 1, 1);
    const b4 = basic(`${name}.branch4.1`, b.maxpool(`${name}.branch4.0`, x, 3, 1, 1, true), pp, 1);
    return b.concat(name, [b1, b2, b3, b4]);
  };

  let x = b.input('input', h, w);
  if (withTransform) x = transformInput(b, x);
  x = basic('conv1', x, 64, 7, 2, 3);
  x = b.maxpool('maxpool1', x, 3, 2, 0, true);
  x = basic('conv2', x, 64, 1);
  x = basic('conv3', x, 192, 3, 1, 1);
  x = b.maxpool('maxpool2', x, 3, 2, 0, true);
  x = inception('inception3a', x, 64, 96, 128, 16, 32, 32);
  x = inception('inception3b', x, 128, 128, 192, 32, 96, 64);
  x = b.maxpool('maxpool3', x, 3, 2, 0, true);
  x = inception('inception4a', x, 192, 96, 208, 16, 48, 64);
  x = inception('inception4b', x, 160, 112, 224, 24, 64, 64);
  x = inception('inception4c', x, 128, 128, 256, 24, 64, 64);
  x = inception('inception4d', x, 112, 144, 288, 32, 64, 64);
  x = inception('inception4e', x, 256, 160, 320, 32, 128, 128);
  x = b.maxpool('maxpool4', x, 2, 2, 0, true);
  x = inception('inception5a', x, 256, 160, 320, 32, 128, 128);
  x = inception('inception5b', x, 384, 192, 384, 48, 128, 128);
  x = b.adaptiveAvgPool('avgpool', x, [1, 1]);
  x = b.dropout('dropout', x, 0.2);
  x = b.linear('fc', x, classes);
  return b.build(x, 'fc');
}
