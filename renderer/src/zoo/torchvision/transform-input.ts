import type { TorchGraphBuilder } from './builder';

/**
 * GoogLeNet's and Inception-v3's `transform_input`, which torchvision turns on for their ImageNet weights:
 * x_c · (std_c / 0.5) + (mean_c − 0.5) / 0.5 per channel — the ImageNet-normalised input mapped to the [−1, 1]
 * scaling those weights were trained with. One fixed per-channel affine node.
 */
export function transformInput(b: TorchGraphBuilder, x: string): string {
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  return b.scale(
    'transform_input',
    x,
    std.map((s) => s / 0.5),
    mean.map((m) => (m - 0.5) / 0.5),
    'transform_input',
  );
}
