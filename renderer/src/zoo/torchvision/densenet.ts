import type { Pair } from '../../../../common/analysis-types';
import { TorchGraphBuilder, type TorchvisionGraph } from './builder';

const EPS = 1e-5;
const GROWTH = 32;
const BLOCKS = [6, 12, 24, 16];

/**
 * `torchvision.models.densenet121`: growth rate 32, bottleneck width 4·32, blocks of 6/12/24/16 dense layers
 * (BN-ReLU-conv1×1-BN-ReLU-conv3×3, convs without biases, BN eps 1e-5), each layer's output concatenated onto
 * everything before it; transitions BN-ReLU-conv1×1 (half the channels)-AvgPool 2×2; then norm5, a functional
 * ReLU, global average pooling and the classifier. Node names are the module paths
 * (`features.denseblock1.denselayer1.conv1`); `…denselayer1.cat` is the running concatenation after that layer.
 * (The published checkpoint names some tensors `norm.1` / `conv.1`; formats/pytorch.ts renames them as
 * torchvision's loader does.)
 */
export function tvDensenet121([h, w]: Pair, classes = 1000): TorchvisionGraph {
  const b = new TorchGraphBuilder('densenet121');
  let x = b.input('input', h, w);
  x = b.conv('features.conv0', x, 64, 7, { stride: 2, padding: 3, bias: false });
  x = b.bn('features.norm0', x, EPS);
  x = b.act('features.relu0', x, 'relu');
  x = b.maxpool('features.pool0', x, 3, 2, 1);
  BLOCKS.forEach((n, i) => {
    for (let l = 1; l <= n; l++) {
      const p = `features.denseblock${i + 1}.denselayer${l}`;
      let y = b.act(`${p}.relu1`, b.bn(`${p}.norm1`, x, EPS), 'relu');
      y = b.conv(`${p}.conv1`, y, 4 * GROWTH, 1, { bias: false });
      y = b.act(`${p}.relu2`, b.bn(`${p}.norm2`, y, EPS), 'relu');
      y = b.conv(`${p}.conv2`, y, GROWTH, 3, { padding: 1, bias: false });
      x = b.concat(`${p}.cat`, [x, y]);
    }
    if (i < BLOCKS.length - 1) {
      const p = `features.transition${i + 1}`;
      let y = b.act(`${p}.relu`, b.bn(`${p}.norm`, x, EPS), 'relu');
      y = b.conv(`${p}.conv`, y, b.channels(x) / 2, 1, { bias: false });
      x = b.avgpool(`${p}.pool`, y, 2, 2);
    }
  });
  x = b.bn('features.norm5', x, EPS);
  x = b.act('relu', x, 'relu');
  x = b.adaptiveAvgPool('avgpool', x, [1, 1]);
  x = b.linear('classifier', x, classes);
  return b.build(x, 'classifier');
}
