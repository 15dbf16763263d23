/**
 * The architecture zoo: the lecture's CNNs written once as declarative layer graphs (graph.ts).
 * The analysis reads these graphs directly; the engine runs the same graphs through its one IR runner
 * (engine/ir-runner.ts) with seeded, untrained weights (engine/seeded-weights.ts).
 */
import type { Pair } from '../../../common/analysis-types';
import type { Preprocess } from '../../../common/engine-protocol';
import { alexnet } from './architectures/alexnet';
import { densenet121 } from './architectures/densenet121';
import { googlenet } from './architectures/googlenet';
import { inceptionv3 } from './architectures/inceptionv3';
import { mobilenetv2 } from './architectures/mobilenetv2';
import { resnet50 } from './architectures/resnet50';
import { vgg16 } from './architectures/vgg16';
import type { ModelGraph } from '../analysis/graph';

export type { ModelGraph, GraphNode, WeightSpec, Op, PaddingMode } from '../analysis/graph';
export { KERAS_CLASS } from '../analysis/graph';
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

/**
 * An architecture-level setting of a zoo model (the what-if editor's sliders, `summary --knob`): a number between
 * `min` and `max` on a grid of `step` from `min`; booleans are 0 / 1. `defaultValue` gives the published network.
 */
export interface ZooKnob {
  /** The name in edit files and on the command line: `growthRate`, `convsStage3`, `globalPool`. */
  id: string;
  label: string;
  /** One line: what it changes and the published value. */
  description: string;
  defaultValue: number;
  min: number;
  max: number;
  step: number;
  /** True for a 0 / 1 switch (a checkbox in the UI). */
  boolean?: boolean;
}

/** Knob values by knob id; missing ones take their defaults. */
export type KnobValues = Record<string, number>;

interface ZooDef extends ZooEntry {
  knobs: ZooKnob[];
  build: (input: Pair, knobs: Required<KnobValues>) => ModelGraph;
}

const knob = (
  id: string,
  label: string,
  description: string,
  defaultValue: number,
  min: number,
  max: number,
  step: number,
): ZooKnob => ({ id, label, description, defaultValue, min, max, step });
const toggle = (id: string, label: string, description: string): ZooKnob => ({
  ...knob(id, label, description, 0, 0, 1, 1),
  boolean: true,
});
const VGG_CONVS = [2, 2, 3, 3, 3];
const googlenetBranch = (id: string, what: string, zero: string): ZooKnob =>
  knob(id, `${what} ×`, `multiplier of every Inception module's ${what} filters${zero}; published 1`, 1, 0, 2, 0.25);

const DEFS: Record<ZooId, ZooDef> = {
  alexnet: {
    id: 'alexnet',
    name: 'AlexNet',
    paper:
      'Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep Convolutional Neural Networks", NeurIPS 2012',
    description: `Single-tower AlexNet as in torchvision (64-192-384-256-256 filters, no LRN, 61.1 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: torch([224, 224]),
    knobs: [],
    build: (input) => alexnet(input),
  },
  vgg16: {
    id: 'vgg16',
    name: 'VGG-16',
    paper: 'Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015',
    description: `VGG-16 as in Keras Applications (138.4 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: caffe([224, 224]),
    knobs: [
      ...VGG_CONVS.map((n, i) =>
        knob(`convsStage${i + 1}`, `convs in stage ${i + 1}`, `3×3 convs in block${i + 1}; VGG-16: ${n}`, n, 1, 6, 1),
      ),
      toggle(
        'globalPool',
        'global average pooling',
        'global average pooling instead of Flatten before fc1; VGG-16: off',
      ),
    ],
    build: (input, k) =>
      vgg16(input, {
        convsPerStage: VGG_CONVS.map((_, i) => k[`convsStage${i + 1}`]),
        globalPool: k.globalPool === 1,
      }),
  },
  googlenet: {
    id: 'googlenet',
    name: 'GoogLeNet',
    paper: 'Szegedy et al., "Going Deeper with Convolutions", CVPR 2015',
    description: `GoogLeNet as in torchvision (BatchNorm, no auxiliary heads, 3×3 in the "5×5" branch, 6.6 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: torch([224, 224]),
    knobs: [
      googlenetBranch('width1x1', '1×1 branch', ''),
      googlenetBranch('reduce3x3', '3×3 reduction', ' (0 removes the 1×1 reduction before the 3×3)'),
      googlenetBranch('width3x3', '3×3 branch', ''),
      googlenetBranch('reduce5x5', '"5×5" reduction', ' (0 removes the 1×1 reduction before the "5×5" branch)'),
      googlenetBranch('width5x5', '"5×5" branch', ''),
      googlenetBranch('poolProj', 'pool projection', ''),
    ],
    build: (input, k) => googlenet(input, k),
  },
  resnet50: {
    id: 'resnet50',
    name: 'ResNet-50',
    paper: 'He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016',
    description: `ResNet-50 v1 as in Keras Applications (stride in the first 1×1 conv, 25.6 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: caffe([224, 224]),
    knobs: [
      knob(
        'bottleneckWidth',
        'bottleneck width',
        'filters of the 1×1 and 3×3 convs inside conv2 blocks (doubling per stage); ResNet-50: 64, Wide ResNet-50-2: 128',
        64,
        8,
        256,
        8,
      ),
      toggle(
        'basicBlocks',
        'two 3×3 convs',
        'two 3×3 convs at the block output width instead of the 1×1–3×3–1×1 bottleneck; ResNet-50: off',
      ),
    ],
    build: (input, k) => resnet50(input, { bottleneckWidth: k.bottleneckWidth, basicBlocks: k.basicBlocks === 1 }),
  },
  densenet121: {
    id: 'densenet121',
    name: 'DenseNet-121',
    paper: 'Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional Networks", CVPR 2017',
    description: `DenseNet-121 as in Keras Applications (growth rate 32, 8.1 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: torch([224, 224]),
    knobs: [
      knob('growthRate', 'growth rate k', 'channels each conv block adds; DenseNet-121: 32', 32, 4, 64, 4),
      knob(
        'compression',
        'compression θ',
        'share of channels a transition keeps; DenseNet-121: 0.5',
        0.5,
        0.1,
        1,
        0.05,
      ),
    ],
    build: (input, k) => densenet121(input, { growthRate: k.growthRate, compression: k.compression }),
  },
  mobilenetv2: {
    id: 'mobilenetv2',
    name: 'MobileNetV2',
    paper: 'Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018',
    description: `MobileNetV2 (alpha 1.0) as in Keras Applications (3.5 M params); ${UNTRAINED}`,
    inputSize: [224, 224],
    defaultPreprocess: tfMode([224, 224]),
    knobs: [
      knob(
        'alpha',
        'width multiplier α',
        'block output channels × α (multiples of 8); MobileNetV2: 1.0',
        1,
        0.25,
        1.5,
        0.05,
      ),
      knob(
        'expansion',
        'expansion t',
        'expansion factor of inverted residual blocks 1–16; MobileNetV2: 6',
        6,
        1,
        10,
        1,
      ),
    ],
    build: (input, k) => mobilenetv2(input, { alpha: k.alpha, expansion: k.expansion }),
  },
  inceptionv3: {
    id: 'inceptionv3',
    name: 'Inception-v3',
    paper: 'Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016',
    description: `Inception-v3 as in Keras Applications (23.9 M params); ${UNTRAINED}`,
    inputSize: [299, 299],
    defaultPreprocess: tfMode([299, 299]),
    knobs: [
      knob('width', 'width ×', "multiplier of every conv's filters (all branches); Inception-v3: 1", 1, 0.25, 2, 0.25),
    ],
    build: (input, k) => inceptionv3(input, { width: k.width }),
  },
};

/** True when `id` names a zoo architecture. */
export function isZooId(id: string): id is ZooId {
  return (ZOO_IDS as readonly string[]).includes(id);
}

/** The zoo's model list (a fresh copy each call). */
export function zooEntries(): ZooEntry[] {
  return ZOO_IDS.map((id) => {
    const { build: _build, knobs: _knobs, ...entry } = DEFS[id];
    return { ...entry, inputSize: [...entry.inputSize], defaultPreprocess: { ...entry.defaultPreprocess } };
  });
}

/** The architecture knobs of a zoo model (a fresh copy; empty for AlexNet). Throws for an unknown id. */
export function zooKnobs(id: string): ZooKnob[] {
  if (!isZooId(id)) throw new Error(`Unknown zoo model "${id}" (known: ${ZOO_IDS.join(', ')})`);
  return DEFS[id].knobs.map((k) => ({ ...k }));
}

/** Step grids are decimal (0.05, 0.25): compare on that grid without binary rounding noise. */
const onGrid = (v: number, k: ZooKnob): boolean => {
  const n = (v - k.min) / k.step;
  return Math.abs(n - Math.round(n)) < 1e-9;
};

/**
 * Knob values checked against a model's knobs and completed with defaults. Throws naming the knob for an unknown
 * knob, a non-number, a value outside [min, max] or off its step grid.
 */
export function resolveKnobs(id: ZooId, knobs: KnobValues = {}): Required<KnobValues> {
  const defs = DEFS[id].knobs;
  const out: Record<string, number> = {};
  for (const k of defs) out[k.id] = k.defaultValue;
  for (const [name, v] of Object.entries(knobs)) {
    const k = defs.find((d) => d.id === name);
    if (!k) {
      const known = defs.length ? defs.map((d) => d.id).join(', ') : 'none';
      throw new Error(`${id} has no knob "${name}" (its knobs: ${known})`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`${id} knob "${name}" must be a number, got ${JSON.stringify(v)}`);
    }
    if (v < k.min - 1e-12 || v > k.max + 1e-12 || !onGrid(v, k)) {
      throw new Error(
        `${id} knob "${name}" = ${v} is out of range: ${k.boolean ? '0 or 1' : `${k.min} … ${k.max} in steps of ${k.step}`}`,
      );
    }
    out[name] = v;
  }
  return out;
}

/**
 * The layer graph of a zoo architecture, for its default input or `opts.input` ([H, W]), with `opts.knobs` set
 * (see zooKnobs; defaults give the published network, node for node). Throws for an unknown id, a bad knob or a
 * non-positive input size. Whether the input is large enough is checked by the analysis, which names the first
 * layer whose output would be empty.
 */
export function getZooGraph(id: string, opts: { input?: Pair; knobs?: KnobValues } = {}): ModelGraph {
  if (!isZooId(id)) throw new Error(`Unknown zoo model "${id}" (known: ${ZOO_IDS.join(', ')})`);
  const def = DEFS[id];
  const input = opts.input ?? def.inputSize;
  if (!input.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(`zoo ${id}: input size must be two positive integers, got ${input.join('×')}`);
  }
  return def.build([input[0], input[1]], resolveKnobs(id, opts.knobs));
}
