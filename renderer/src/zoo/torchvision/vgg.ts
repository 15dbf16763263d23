import type { Pair } from '../../../../common/analysis-types';
import { TorchGraphBuilder, type TorchvisionGraph } from './builder';

/** torchvision's configuration "D" (VGG-16): filters per conv, 'M' a 2×2 max pool. */
const CFG_D = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'] as const;

/**
 * `torchvision.models.vgg16` / `vgg16_bn`: 3×3 convs with padding 1 and biases (with `batchNorm`, each followed by
 * BatchNorm2d, eps 1e-5), 2×2 max pools, AdaptiveAvgPool2d(7, 7), and the classifier Linear(25088, 4096) / ReLU /
 * Dropout twice plus the last Linear. Node names are the module paths (`features.0`, `classifier.6`): the
 * `features` indices count every conv, BN, ReLU and pool, as in torchvision's `make_layers`.
 */
export function tvVgg16([h, w]: Pair, classes = 1000, batchNorm = false): TorchvisionGraph {
  const b = new TorchGraphBuilder(batchNorm ? 'vgg16_bn' : 'vgg16');
  let x = b.input('input', h, w);
  let i = 0;
  for (const v of CFG_D) {
    if (v === 'M') {
      x = b.maxpool(`features.${i++}`, x, 2, 2);
      continue;
    }
    x = b.conv(`features.${i++}`, x, v, 3, { padding: 1 });
    if (batchNorm) x = b.bn(`features.${i++}`, x, 1e-5);
    x = b.act(`features.${i++}`, x, 'relu');
  }
  const pooled = b.adaptiveAvgPool('avgpool', x, [7, 7]);
  x = b.flatten('flatten', pooled);
  x = b.linear('classifier.0', x, 4096, pooled);
  x = b.act('classifier.1', x, 'relu');
  x = b.dropout('classifier.2', x, 0.5);
  x = b.linear('classifier.3', x, 4096);
  x = b.act('classifier.4', x, 'relu');
  x = b.dropout('classifier.5', x, 0.5);
  x = b.linear('classifier.6', x, classes);
  return b.build(x, 'classifier.6');
}
