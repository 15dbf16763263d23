/**
 * The models the engine offers without any file from the user: the two bundled pretrained models
 * (converted from nsfwjs at install time into resources/models/) and the zoo architectures.
 */
import type { ModelEntry, Preprocess } from '../../../common/engine-protocol';
import { zooEntries } from '../zoo';

/** nsfwjs' five classes, in the order of its output vector (nsfwjs/dist/esm/nsfw_classes.js). */
export const NSFWJS_CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];

/**
 * nsfwjs' own preprocessing (dist/esm/core.js `infer`): `img.toFloat().div(255)`, then
 * `tf.image.resizeBilinear(x, [size, size], alignCorners = true)` when the image is not already that
 * size, i.e. a stretch to the square input with values in [0, 1], RGB.
 */
const nsfwjsPreprocess = (size: number): Preprocess => ({
  inputSize: [size, size],
  resize: 'stretch',
  channelOrder: 'rgb',
  scale: 1,
  offset: 0,
  mean: [0, 0, 0],
  std: [1, 1, 1],
});

/** A bundled pretrained model: its entry and the folder under `${resourcesBase}models/`. */
export interface BundledModel {
  entry: ModelEntry;
  folder: string;
}

export const BUNDLED: BundledModel[] = [
  {
    folder: 'mobilenetv2',
    entry: {
      id: 'mobilenetv2-pretrained',
      name: 'MobileNetV2 (pretrained)',
      source: 'bundled',
      description:
        'ImageNet-trained MobileNetV2 backbone; the head was fine-tuned to a 5-class content classifier (nsfwjs). ' +
        'Weights are uint8-quantized.',
      trained: true,
      preprocess: nsfwjsPreprocess(224),
      labels: NSFWJS_CLASSES,
    },
  },
  {
    folder: 'inceptionv3',
    entry: {
      id: 'inceptionv3-pretrained',
      name: 'InceptionV3 (pretrained)',
      source: 'bundled',
      description:
        'ImageNet-trained InceptionV3 backbone; the head was fine-tuned to a 5-class content classifier (nsfwjs).',
      trained: true,
      preprocess: nsfwjsPreprocess(299),
      labels: NSFWJS_CLASSES,
    },
  },
];

/** The zoo's architectures as model-list entries (untrained weights). */
export function zooModelEntries(): ModelEntry[] {
  return zooEntries().map((z) => ({
    id: z.id,
    name: z.name,
    source: 'zoo',
    description: z.description,
    trained: false,
    preprocess: { ...z.defaultPreprocess, inputSize: [z.inputSize[0], z.inputSize[1]] },
  }));
}

/** Every built-in model: bundled first, then the zoo. */
export function catalogEntries(): ModelEntry[] {
  return [...BUNDLED.map((b) => b.entry), ...zooModelEntries()];
}

/** The seed of a zoo model's weights: fixed, so the same architecture always shows the same maps. */
export const ZOO_SEED = 1;
