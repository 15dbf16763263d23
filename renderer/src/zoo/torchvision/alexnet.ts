import type { Pair } from '../../../../common/analysis-types';
import { TorchGraphBuilder, type TorchvisionGraph } from './builder';

/**
 * `torchvision.models.alexnet`: the single-tower AlexNet of Krizhevsky's "One weird trick" paper (64-192-384-256-256
 * filters, no LRN), AdaptiveAvgPool2d(6, 6), then dropout / Linear(9216, 4096) / ReLU twice and the classifier.
 * Node names are the module paths (`features.0`, `classifier.6`).
 */
export function tvAlexnet([h, w]: Pair, classes = 1000): TorchvisionGraph {
  const b = new TorchGraphBuilder('alexnet');
  let x = b.input('input', h, w);
  x = b.conv('features.0', x, 64, 11, { stride: 4, padding: 2 });
  x = b.act('features.1', x, 'relu');
  x = b.maxpool('features.2', x, 3, 2);
  x = b.conv('features.3', x, 192, 5, { padding: 2 });
  x = b.act('features.4', x, 'relu');
  x = b.maxpool('features.5', x, 3, 2);
  x = b.conv('features.6', x, 384, 3, { padding: 1 });
  x = b.act('features.7', x, 'relu');
  x = b.conv('features.8', x, 256, 3, { padding: 1 });
  x = b.act('features.9', x, 'relu');
  x = b.conv('features.10', x, 256, 3, { padding: 1 });
  x = b.act('features.11', x, 'relu');
  x = b.maxpool('features.12', x, 3, 2);
  const pooled = b.adaptiveAvgPool('avgpool', x, [6, 6]);
  x = b.flatten('flatten', pooled);
  x = b.dropout('classifier.0', x, 0.5);
  x = b.linear('classifier.1', x, 4096, pooled);
  x = b.act('classifier.2', x, 'relu');
  x = b.dropout('classifier.3', x, 0.5);
  x = b.linear('classifier.4', x, 4096);
  x = b.act('classifier.5', x, 'relu');
  x = b.linear('classifier.6', x, classes);
  return b.build(x, 'classifier.6');
}
