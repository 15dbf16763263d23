import type { Pair } from '../../../../common/analysis-types';
import { GraphBuilder } from '../builder';
import type { ModelGraph } from '../../analysis/graph';

/**
 * AlexNet, single-tower as in torchvision (`torchvision.models.alexnet`, after Krizhevsky's
 * "One weird trick" 2014): 64-192-384-256-256 filters, no LRN, 61,100,840 parameters with the 1000-class head.
 * torchvision's AdaptiveAvgPool2d((6, 6)) is left out: it is the identity at the 224×224 input this model is
 * defined for; at other inputs the flatten (and so fc6) grows or shrinks with the input, as in Keras.
 */
export function alexnet([h, w]: Pair): ModelGraph {
  const b = new GraphBuilder('alexnet');
  const relu = { activation: 'relu' } as const;
  const same = { padding: 'same', activation: 'relu' } as const;
  let x = b.input('input_1', [h, w, 3]);
  // torchvision pads conv1 by 2 on every side; 'same' would pad 224 asymmetrically (output 56, not 55).
  x = b.zeropad('conv1_pad', x, 2);
  x = b.conv('conv1', x, 64, 11, { strides: 4, ...relu });
  x = b.maxpool('pool1', x, 3, 2);
  x = b.conv('conv2', x, 192, 5, same);
  x = b.maxpool('pool2', x, 3, 2);
  x = b.conv('conv3', x, 384, 3, same);
  x = b.conv('conv4', x, 256, 3, same);
  x = b.conv('conv5', x, 256, 3, same);
  x = b.maxpool('pool5', x, 3, 2);
  x = b.flatten('flatten', x);
  x = b.dropout('fc6_dropout', x, 0.5);
  x = b.dense('fc6', x, 4096, relu);
  x = b.dropout('fc7_dropout', x, 0.5);
  x = b.dense('fc7', x, 4096, relu);
  x = b.dense('predictions', x, 1000, { activation: 'softmax' });
  return b.build([x]);
}
