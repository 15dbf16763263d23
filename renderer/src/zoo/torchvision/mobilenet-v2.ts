import type { Pair } from '../../../../common/analysis-types';
import { TorchGraphBuilder, type TorchvisionGraph } from './builder';

const EPS = 1e-5;
/** Expansion t, output channels c, repeats n, first stride s (torchvision's inverted_residual_setting). */
const SETTING = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
] as const;

/**
 * `torchvision.models.mobilenet_v2` (width 1.0): Conv2dNormActivation blocks (conv without bias, BN eps 1e-5,
 * ReLU6) with symmetric padding (PyTorch's, not TF's 'same'), inverted residuals (1×1 expand unless t = 1,
 * depthwise 3×3, linear 1×1 projection + BN, an addition when stride 1 keeps the width), a 1×1 conv to 1280,
 * global average pooling, dropout 0.2 and `classifier.1`. Node names are the module paths
 * (`features.2.conv.1.0` = block 2's depthwise conv).
 */
export function tvMobilenetV2([h, w]: Pair, classes = 1000): TorchvisionGraph {
  const b = new TorchGraphBuilder('mobilenet_v2');
  const cna = (name: string, x: string, filters: number, k: number, stride = 1, groups = 1): string => {
    const y = b.conv(`${name}.0`, x, filters, k, { stride, padding: (k - 1) / 2, groups, bias: false });
    return b.act(`${name}.2`, b.bn(`${name}.1`, y, EPS), 'relu6');
  };
  let x = b.input('input', h, w);
  x = cna('features.0', x, 32, 3, 2);
  let i = 1;
  for (const [t, c, n, s] of SETTING) {
    for (let r = 0; r < n; r++) {
      const name = `features.${i++}`;
      const stride = r === 0 ? s : 1;
      const inp = b.channels(x);
      const hidden = inp * t;
      let y = x;
      let j = 0;
      if (t !== 1) y = cna(`${name}.conv.${j++}`, y, hidden, 1);
      y = cna(`${name}.conv.${j++}`, y, hidden, 3, stride, hidden);
      y = b.conv(`${name}.conv.${j++}`, y, c, 1, { bias: false });
      y = b.bn(`${name}.conv.${j++}`, y, EPS);
      x = stride === 1 && inp === c ? b.add(`${name}.add`, [x, y]) : y;
    }
  }
  x = cna(`features.${i}`, x, 1280, 1);
  x = b.adaptiveAvgPool('avgpool', x, [1, 1]);
  x = b.dropout('classifier.0', x, 0.2);
  x = b.linear('classifier.1', x, classes);
  return b.build(x, 'classifier.1');
}
