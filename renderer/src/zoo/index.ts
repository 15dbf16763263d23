/**
 * The architecture zoo: the lecture's CNNs written once as declarative layer graphs (graph.ts).
 * The analysis reads these graphs directly; engine/build-zoo.ts turns the same graphs into tfjs-layers models
 * with seeded, untrained weights.
 */
import type { Pair } from '../analysis/types';
import type { Preprocess } from '../engine/protocol';
import { alexnet } from './architectures/alexnet';
import { densenet121 } from './architectures/densenet121';
import { googlenet } from './architectures/googlenet';
import { inceptionv3 } from './architectures/inceptionv3';
import { mobilenetv2 } from './architectures/mobilenetv2';
import { resnet50 } from './architectures/resnet50';
import { vgg16 } from './architectures/vgg16';
import type { ModelGraph } from './graph';

export type { ModelGraph, GraphNode, WeightSpec, Op, PaddingMode } from './graph';
export { KERAS_CLASS } from './graph';
export { GraphBuilder } from './builder';

/** Ids of the built-in architectures (all with 1000-class ImageNet heads). */
export const ZOO_IDS = [
  'alexnet',
  'vgg16',
  'googlenet',
  'resnet50',
  'densenet121',
  'mobilenetv2',
  'inceptionv3',
] as const;

export type ZooId = (typeof ZOO_IDS)[number];

/** One architecture of the zoo, as the model list shows it. */
export interface ZooEntry {
  id: ZooId;
  name: string;
  /** The paper, with year. */
  paper: string;
  /** One honest line: which definition, and that the weights are untrained. */
  description: string;
  /** The input the architecture is defined for, [H, W]. */
  inputSize: Pair;
  defaultPreprocess: Preprocess;
}

const UNTRAINED = 'architecture only — seeded He-initialised, untrained weights';

/** Keras "caffe" mode (VGG, ResNet): BGR, minus the ImageNet channel means in BGR order, no scaling. */
const caffe = (size: Pair): Preprocess => ({
  inputSize: size,
  resize: 'center-crop',
  channelOrder: 'bgr',
  scale: 255,
  offset: 0,
  mean: [103.939, 116.779, 123.68],
  std: [1, 1, 1],
});
/** Keras "torch" mode and torchvision: RGB in 0..1, ImageNet mean / std. */
const torch = (size: Pair): Preprocess => ({
  inputSize: size,
  resize: 'center-crop',
  channelOrder: 'rgb',
  scale: 1,
  offset: 0,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
});
/** Keras "tf" mode (MobileNet, Inception): RGB scaled to −1..1. */
const tfMode = (size: Pair): Preprocess => ({
  inputSize: size,
  resize: 'center-crop',
  channelOrder: 'rgb',
  scale: 2,
  offset: -1,
  mean: [0, 0, 0],
  std: [1, 1, 1],
});

interface ZooDef extends ZooEntry {
  build: (input: Pair) => ModelGraph;
}

const DEFS: Record<ZooId, ZooDef> = {
  alexnet: {
    id: 'alexnet',
    name: 'AlexNet',
    paper:
      'Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional Neural Networks", NeurIPS 2012',
    description: `Single-tower AlexNet as in torchvision (64-192-384-256-256 filters, no LRN, 61.1 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: torch([224, 224]),
    build: alexnet,
  },
  vgg16: {
    id: 'vgg16',
    name: 'VGG-16',
    paper: 'Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015',
    description: `VGG-16 as in Keras Applications (138.4 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: caffe([224, 224]),
    build: vgg16,
  },
  googlenet: {
    id: 'googlenet',
    name: 'GoogLeNet',
    paper: 'Szegedy et al., "Going Deeper with Convolutions", CVPR 2015',
    description: `GoogLeNet as in torchvision (BatchNorm, no auxiliary heads, 3×3 in the "5×5" branch, 6.6 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: torch([224, 224]),
    build: googlenet,
  },
  resnet50: {
    id: 'resnet50',
    name: 'ResNet-50',
    paper: 'He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016',
    description: `ResNet-50 v1 as in Keras Applications (stride in the first 1×1 conv, 25.6 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: caffe([224, 224]),
    build: resnet50,
  },
  densenet121: {
    id: 'densenet121',
    name: 'DenseNet-121',
    paper: 'Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional Networks", CVPR 2017',
    description: `DenseNet-121 as in Keras Applications (growth rate 32, 8.1 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: torch([224, 224]),
    build: densenet121,
  },
  mobilenetv2: {
    id: 'mobilenetv2',
    name: 'MobileNetV2',
    paper: 'Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018',
    description: `MobileNetV2 (alpha 1.0) as in Keras Applications (3.5 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: tfMode([224, 224]),
    build: (input) => mobilenetv2(input),
  },
  inceptionv3: {
    id: 'inceptionv3',
    name: 'Inception-v3',
    paper: 'Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016',
    description: `Inception-v3 as in Keras Applications (23.9 M params); ${UNTRAINED}`,
    inputSize: [299, 299],
    defaultPreprocess: tfMode([299, 299]),
    build: inceptionv3,
  },
};

/** True when `id` names a zoo architecture. */
export function isZooId(id: string): id is ZooId {
  return (ZOO_IDS as readonly string[]).includes(id);
}

/** The zoo's model list (a fresh copy each call). */
export function zooEntries(): ZooEntry[] {
  return ZOO_IDS.map((id) => {
    const { build: _build, ...entry } = DEFS[id];
    return { ...entry, inputSize: [...entry.inputSize], defaultPreprocess: { ...entry.defaultPreprocess } };
  });
}

/**
 * The layer graph of a zoo architecture, for its default input or `opts.input` ([H, W]).
 * Throws for an unknown id or a non-positive input size. Whether the input is large enough is checked by the
 * analysis, which names the first layer whose output would be empty.
 */
export function getZooGraph(id: string, opts: { input?: Pair } = {}): ModelGraph {
  if (!isZooId(id)) throw new Error(`Unknown zoo model "${id}" (known: ${ZOO_IDS.join(', ')})`);
  const def = DEFS[id];
  const input = opts.input ?? def.inputSize;
  if (!input.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`zoo ${id}: input size must be two positive integers, got ${input.join('×')}`);
  }
  return def.build([input[0], input[1]]);
}
