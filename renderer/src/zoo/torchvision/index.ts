/**
 * torchvision's ImageNet classifiers the app builds from a `.pth` state dict: for each, the graph (with the
 * state-dict tensors every node owns, see builder.ts), the input torchvision's weights expect, and the keys a
 * published checkpoint carries that inference does not use.
 */
import type { Pair } from '../../../../common/analysis-types';
import { tvAlexnet } from './alexnet';
import type { TorchvisionGraph } from './builder';
import { tvDensenet121 } from './densenet';
import { tvGooglenet } from './googlenet';
import { tvInceptionV3 } from './inception-v3';
import { tvMobilenetV2 } from './mobilenet-v2';
import { tvResnet } from './resnet';
import { tvVgg16 } from './vgg';

export type { TorchLayer, TorchParam, TorchvisionGraph } from './builder';

/** The torchvision builder names (`torchvision.models.<id>`). */
export const TORCHVISION_IDS = [
  'alexnet',
  'vgg16',
  'vgg16_bn',
  'googlenet',
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'densenet121',
  'mobilenet_v2',
  'inception_v3',
] as const;

export type TorchvisionId = (typeof TORCHVISION_IDS)[number];

/** One torchvision architecture. */
export interface TorchvisionArch {
  id: TorchvisionId;
  /** As the lecture writes it: "ResNet-50". */
  name: string;
  /** Centre-crop size torchvision's ImageNet transforms produce, [H, W]. */
  inputSize: Pair;
  /** Shorter side the image is resized to before the crop (torchvision's `resize_size`). */
  resizeSize: number;
  /** Key prefixes of modules that only run in training (auxiliary heads): present in the files, not used. */
  trainingOnly: string[];
  /** One line on how torchvision runs its weights, when it is not just the graph (transform_input). */
  note?: string;
  /**
   * The graph for an input size and class count. Throws when the architecture cannot take that size as a
   * fixed graph (AlexNet / VGG's adaptive pool).
   */
  build(input: Pair, classes: number): TorchvisionGraph;
}

const TRANSFORM =
  'transform_input=True as torchvision sets it for the ImageNet weights (the normalised input is mapped back to [−1, 1] first)';

/** Every architecture, in TORCHVISION_IDS order. */
export const TORCHVISION_ARCHS: readonly TorchvisionArch[] = [
  { id: 'alexnet', name: 'AlexNet', inputSize: [224, 224], resizeSize: 256, trainingOnly: [], build: tvAlexnet },
  {
    id: 'vgg16',
    name: 'VGG-16',
    inputSize: [224, 224],
    resizeSize: 256,
    trainingOnly: [],
    build: (i, c) => tvVgg16(i, c, false),
  },
  {
    id: 'vgg16_bn',
    name: 'VGG-16 (BN)',
    inputSize: [224, 224],
    resizeSize: 256,
    trainingOnly: [],
    build: (i, c) => tvVgg16(i, c, true),
  },
  {
    id: 'googlenet',
    name: 'GoogLeNet',
    inputSize: [224, 224],
    resizeSize: 256,
    trainingOnly: ['aux1.', 'aux2.'],
    note: TRANSFORM,
    build: (i, c) => tvGooglenet(i, c, true),
  },
  ...(['resnet18', 'resnet34', 'resnet50', 'resnet101'] as const).map((id): TorchvisionArch => ({
    id,
    name: `ResNet-${id.slice(6)}`,
    inputSize: [224, 224],
    resizeSize: 256,
    trainingOnly: [],
    build: (i, c) => tvResnet(id, i, c),
  })),
  {
    id: 'densenet121',
    name: 'DenseNet-121',
    inputSize: [224, 224],
    resizeSize: 256,
    trainingOnly: [],
    build: tvDensenet121,
  },
  {
    id: 'mobilenet_v2',
    name: 'MobileNetV2',
    inputSize: [224, 224],
    resizeSize: 256,
    trainingOnly: [],
    build: tvMobilenetV2,
  },
  {
    id: 'inception_v3',
    name: 'Inception-v3',
    inputSize: [299, 299],
    resizeSize: 342,
    trainingOnly: ['AuxLogits.'],
    note: TRANSFORM,
    build: (i, c) => tvInceptionV3(i, c, true),
  },
];

/** The architecture with this torchvision name. */
export function torchvisionArch(id: string): TorchvisionArch {
  const a = TORCHVISION_ARCHS.find((x) => x.id === id);
  if (!a) throw new Error(`unknown torchvision architecture "${id}" (known: ${TORCHVISION_IDS.join(', ')})`);
  return a;
}
