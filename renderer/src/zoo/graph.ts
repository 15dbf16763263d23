/**
 * The declarative layer graph: one format for the zoo's architectures and for parsed model files.
 * The analysis reads it directly (shapes, params, MACs, receptive fields); the engine turns the
 * same nodes into tfjs-layers models (engine/build-zoo.ts). Pure data, no tfjs.
 */
import type { Pair } from '../analysis/types';

/** Padding as Keras names it: 'valid' = none, 'same' = TF's rule (output = ceil(I / S), extra pixel at the bottom/right). */
export type PaddingMode = 'valid' | 'same';

/** A weight tensor as a weight manifest lists it (tfjs `weightsManifest[].weights[]`). */
export interface WeightSpec {
  name: string;
  shape: number[];
  /** What the tensor is, when the reader knows (graph models); otherwise guessed from the Keras variable name. */
  role?: 'weight' | 'bias' | 'stat';
}

interface NodeBase {
  /** Unique in the graph; the Keras layer name. */
  name: string;
  /** Names of the nodes feeding this one, in order. */
  inputs: string[];
  /** Source class name (Keras `class_name`); defaults to the Keras class of the op. */
  className?: string;
  /** Weight tensors found for this layer in a weight manifest; when present they are what gets counted. */
  weights?: WeightSpec[];
  /** False when the file saved the layer as frozen (`trainable: false`). */
  trainable?: boolean;
}

/** The image input. Null dims mean "any size" (must be fixed before analysis). */
export interface InputNode extends NodeBase {
  op: 'input';
  shape: [number | null, number | null, number];
}

interface ConvLike {
  kernel: Pair;
  strides: Pair;
  padding: PaddingMode;
  dilation: Pair;
  useBias: boolean;
  /** Fused activation (Keras `activation`), omitted or 'linear' when none. */
  activation?: string;
}

/** Conv2D: `filters` kernels of K_h×K_w×(C_in / groups). */
export interface ConvNode extends NodeBase, ConvLike {
  op: 'conv';
  filters: number;
  groups?: number;
}

/** DepthwiseConv2D: one K_h×K_w kernel per input channel (times the depth multiplier). */
export interface DepthwiseNode extends NodeBase, ConvLike {
  op: 'depthwise';
  depthMultiplier: number;
}

/** SeparableConv2D: a depthwise conv followed by a 1×1 pointwise conv, one layer. */
export interface SeparableNode extends NodeBase, ConvLike {
  op: 'separable';
  filters: number;
  depthMultiplier: number;
}

export interface DenseNode extends NodeBase {
  op: 'dense';
  units: number;
  useBias: boolean;
  activation?: string;
}

export interface PoolNode extends NodeBase {
  op: 'maxpool' | 'avgpool';
  pool: Pair;
  strides: Pair;
  padding: PaddingMode;
}

export interface GlobalPoolNode extends NodeBase {
  op: 'gap' | 'gmp';
  keepDims?: boolean;
}

export interface BatchNormNode extends NodeBase {
  op: 'bn';
  /** Has beta (a bias). */
  center: boolean;
  /** Has gamma (a scale); Keras InceptionV3 uses scale=false. */
  scale: boolean;
  epsilon: number;
  momentum: number;
}

/** A standalone activation: 'relu', 'relu6' (Keras ReLU(max_value=6)), 'softmax', 'sigmoid', … */
export interface ActivationNode extends NodeBase {
  op: 'activation';
  fn: string;
}

/** Channel concatenation, element-wise sum, element-wise product. */
export interface MergeNode extends NodeBase {
  op: 'concat' | 'add' | 'multiply';
}

export interface FlattenNode extends NodeBase {
  op: 'flatten';
}

export interface DropoutNode extends NodeBase {
  op: 'dropout';
  rate: number;
}

/** ZeroPadding2D, [top, bottom, left, right]. */
export interface ZeroPadNode extends NodeBase {
  op: 'zeropad';
  pad: [number, number, number, number];
}

/** Cropping2D, [top, bottom, left, right]. */
export interface CropNode extends NodeBase {
  op: 'crop';
  crop: [number, number, number, number];
}

export interface ReshapeNode extends NodeBase {
  op: 'reshape';
  /** Without the batch axis; one entry may be -1. */
  targetShape: number[];
}

/** A layer the analysis does not understand: its weights are still counted from the manifest. */
export interface UnknownNode extends NodeBase {
  op: 'unknown';
  className: string;
}

export type GraphNode =
  | InputNode
  | ConvNode
  | DepthwiseNode
  | SeparableNode
  | DenseNode
  | PoolNode
  | GlobalPoolNode
  | BatchNormNode
  | ActivationNode
  | MergeNode
  | FlattenNode
  | DropoutNode
  | ZeroPadNode
  | CropNode
  | ReshapeNode
  | UnknownNode;

export type Op = GraphNode['op'];

/** A whole model: nodes in topological order (every input before its consumers). */
export interface ModelGraph {
  name: string;
  nodes: GraphNode[];
  /** Names of the output nodes. */
  outputs: string[];
  /** The file it was read from, for messages; absent for zoo graphs. */
  source?: string;
  /** Weight-manifest entries that matched no layer (counted in no layer; reported as a warning). */
  unmatchedWeights?: WeightSpec[];
  /** Problems met while reading the file (shared layers, …); the analysis reports them as warnings. */
  parseWarnings?: string[];
  /**
   * True when node configs are themselves derived from the weights (graph models): the weights are counted
   * without comparing them to a config count.
   */
  weightsDefineParams?: boolean;
}

/** The Keras class each op corresponds to (used for tables and for the engine builder). */
export const KERAS_CLASS: Record<Op, string> = {
  input: 'InputLayer',
  conv: 'Conv2D',
  depthwise: 'DepthwiseConv2D',
  separable: 'SeparableConv2D',
  dense: 'Dense',
  maxpool: 'MaxPooling2D',
  avgpool: 'AveragePooling2D',
  gap: 'GlobalAveragePooling2D',
  gmp: 'GlobalMaxPooling2D',
  bn: 'BatchNormalization',
  activation: 'Activation',
  concat: 'Concatenate',
  add: 'Add',
  multiply: 'Multiply',
  flatten: 'Flatten',
  dropout: 'Dropout',
  zeropad: 'ZeroPadding2D',
  crop: 'Cropping2D',
  reshape: 'Reshape',
  unknown: 'Unknown',
};
