/**
 * Where torchvision and Keras keep the pretrained weights they downloaded, and the one line that fills each
 * cache (shown by "Find weights on this computer…" and in the README). Pure data for the UI; main's
 * weights-finder.ts is what actually looks in these folders, only when asked.
 */

/** The folders searched, as a user would type them. */
export const CACHE_FOLDERS = [
  '~/.cache/torch/hub/checkpoints/ (or $TORCH_HOME/hub/checkpoints/)',
  '~/.keras/models/ (or $KERAS_HOME/models/)',
] as const;

/** Fills torchvision's cache with the lecture's architectures' ImageNet weights (needs internet, once). */
export const TORCHVISION_FILL_COMMAND =
  `python -c "import torchvision.models as m; [getattr(m, n)(weights='DEFAULT') for n in ` +
  `['alexnet','vgg16','googlenet','resnet50','densenet121','mobilenet_v2','inception_v3']]"`;

/** Fills Keras' cache with the Keras Applications weights the app opens (needs internet, once). */
export const KERAS_FILL_COMMAND =
  `python -c "import keras; a = keras.applications; ` +
  `[f() for f in (a.VGG16, a.ResNet50, a.DenseNet121, a.InceptionV3, a.MobileNetV2)]"`;

/** 97,781,420 bytes → "93.3 MB" (binary megabytes, as file managers on Linux and Windows show them). */
export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${n} B`;
}
