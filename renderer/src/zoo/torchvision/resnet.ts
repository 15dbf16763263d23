import type { Pair } from '../../../../common/analysis-types';
import { TorchGraphBuilder, type TorchvisionGraph } from './builder';

const EPS = 1e-5;

/** Blocks per stage and the block type of each torchvision ResNet. */
export const RESNET_DEPTHS = {
  resnet18: { blocks: [2, 2, 2, 2], bottleneck: false },
  resnet34: { blocks: [3, 4, 6, 3], bottleneck: false },
  resnet50: { blocks: [3, 4, 6, 3], bottleneck: true },
  resnet101: { blocks: [3, 4, 23, 3], bottleneck: true },
} as const;

export type TvResnetId = keyof typeof RESNET_DEPTHS;

/**
 * `torchvision.models.resnet18/34/50/101`: ResNet v1.5 — in a bottleneck block the stride sits in the 3×3 conv
 * (conv2), not in the first 1×1 as in the paper and Keras; convs have no biases, every BatchNorm2d has eps 1e-5;
 * the shortcut of a block that changes size is `downsample` = 1×1 conv (stride) + BN. Node names are the module
 * paths (`layer2.0.conv2`, `layer2.0.downsample.0`); the ReLU module that torchvision reuses within a block
 * appears once per use (`relu1`, `relu2`, and `relu` after the addition).
 */
export function tvResnet(id: TvResnetId, [h, w]: Pair, classes = 1000): TorchvisionGraph {
  const { blocks, bottleneck } = RESNET_DEPTHS[id];
  const expansion = bottleneck ? 4 : 1;
  const b = new TorchGraphBuilder(id);
  const convBn = (name: string, x: string, n: string, filters: number, k: number, stride: number): string => {
    const y = b.conv(`${name}.conv${n}`, x, filters, k, { stride, padding: (k - 1) / 2, bias: false });
    return b.bn(`${name}.bn${n}`, y, EPS);
  };
  const block = (name: string, x: string, planes: number, stride: number): string => {
    let shortcut = x;
    if (stride !== 1 || b.channels(x) !== planes * expansion) {
      shortcut = b.conv(`${name}.downsample.0`, x, planes * expansion, 1, { stride, bias: false });
      shortcut = b.bn(`${name}.downsample.1`, shortcut, EPS);
    }
    let y: string;
    if (bottleneck) {
      y = b.act(`${name}.relu1`, convBn(name, x, '1', planes, 1, 1), 'relu');
      y = b.act(`${name}.relu2`, convBn(name, y, '2', planes, 3, stride), 'relu');
      y = convBn(name, y, '3', planes * 4, 1, 1);
    } else {
      y = b.act(`${name}.relu1`, convBn(name, x, '1', planes, 3, stride), 'relu');
      y = convBn(name, y, '2', planes, 3, 1);
    }
    return b.act(`${name}.relu`, b.add(`${name}.add`, [y, shortcut]), 'relu');
  };

  let x = b.input('input', h, w);
  x = b.conv('conv1', x, 64, 7, { stride: 2, padding: 3, bias: false });
  x = b.bn('bn1', x, EPS);
  x = b.act('relu', x, 'relu');
  x = b.maxpool('maxpool', x, 3, 2, 1);
  blocks.forEach((n, stage) => {
    const planes = 64 << stage;
    for (let i = 0; i < n; i++) x = block(`layer${stage + 1}.${i}`, x, planes, i === 0 && stage > 0 ? 2 : 1);
  });
  x = b.adaptiveAvgPool('avgpool', x, [1, 1]);
  x = b.linear('fc', x, classes);
  return b.build(x, 'fc');
}
