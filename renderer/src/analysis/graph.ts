/**
 * The declarative layer graph: one format for the zoo's architectures and for parsed model files.
 * The analysis reads it directly (shapes, params, MACs, receptive fields); the engine executes the
 * same nodes with tfjs ops (engine/ir-runner.ts). Pure data, no tfjs.
 */
import type { Pair } from '../../../common/analysis-types';

/** Padding as Keras names it: 'valid' = none, 'same' = TF's rule (output = ceil(I / S), extra pixel at the bottom/right). */
export type PaddingMode = 'valid' | 'same';

/**
 * Padding of a conv or pool: a Keras mode, or explicit pixels [top, bottom, left, right] as ONNX / PyTorch
 * give them (zeros for convs, ignored cells for pools).
 */
export type Padding = PaddingMode | [number, number, number, number];

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
  /**
   * The nested models this layer sits in, outermost first (a Teachable Machine export: ['sequential_1',
   * 'model1']); absent at the top level. The UI groups layers under these names.
   */
  scope?: string[];
}

/** The image input. Null dims mean "any size" (must be fixed before analysis). */
export interface InputNode extends NodeBase {
  op: 'input';
  shape: [number | null, number | null, number];
}

interface ConvLike {
  kernel: Pair;
  strides: Pair;
  padding: Padding;
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

/**
 * Conv2DTranspose / ONNX ConvTranspose: output = (I − 1)·S + dilated K − pad_before − pad_after + outputPadding
 * ('same': I·S, 'valid': (I − 1)·S + dilated K). Weights: kernel [kh, kw, filters, C_in] (tf.conv2dTranspose layout).
 */
export interface ConvTransposeNode extends NodeBase, ConvLike {
  op: 'convtranspose';
  filters: number;
  /** Extra rows/cols added at the bottom/right (ONNX output_padding, Keras output_padding). */
  outputPadding?: Pair;
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
  padding: Padding;
  /** Output size rounds up (PyTorch / ONNX ceil_mode); windows that start in the padding are dropped as PyTorch does. */
  ceilMode?: boolean;
  /** Average pooling counts padded cells in the divisor (ONNX count_include_pad = 1); default false. */
  countIncludePad?: boolean;
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

/**
 * A standalone activation. `fn` is one of ACTIVATION_FNS: 'relu', 'relu6' (Keras ReLU(max_value=6)),
 * 'leaky_relu' (alpha), 'elu' (alpha), 'selu', 'sigmoid', 'hard_sigmoid' (y = clip(alpha·x + beta, 0, 1);
 * Keras: 0.2 / 0.5, ONNX default 0.2 / 0.5), 'hard_swish' (x·relu6(x + 3)/6), 'swish', 'softmax' (last axis),
 * 'tanh', 'softplus', 'softsign', 'gelu', 'mish', 'exponential', 'linear', 'clip' (min / max),
 * 'prelu' (learned slopes: weights [alpha] broadcastable to the input without its batch axis).
 * Keras ReLU(max_value, negative_slope, threshold) maps to 'relu' with max / alpha set.
 */
export interface ActivationNode extends NodeBase {
  op: 'activation';
  fn: string;
  alpha?: number;
  beta?: number;
  min?: number;
  max?: number;
}

/** The activation functions the engine runs (ActivationNode.fn and the fused `activation` of convs and dense layers). */
export const ACTIVATION_FNS = [
  'linear',
  'relu',
  'relu6',
  'leaky_relu',
  'elu',
  'selu',
  'sigmoid',
  'hard_sigmoid',
  'hard_swish',
  'swish',
  'softmax',
  'tanh',
  'softplus',
  'softsign',
  'gelu',
  'mish',
  'exponential',
  'clip',
  'prelu',
] as const;

/**
 * Channel concatenation (last axis) and element-wise merges of equal shapes: sum, product, mean, a − b,
 * maximum, minimum.
 */
export interface MergeNode extends NodeBase {
  op: 'concat' | 'add' | 'multiply' | 'average' | 'subtract' | 'maximum' | 'minimum';
}

/**
 * A fixed per-channel affine map y = x·scale[c] + offset[c] (one entry = all channels): Keras Rescaling,
 * a folded Keras Normalization ((x − mean)/√var), ONNX Mul/Add/Sub/Div by constants. `weights` (if any) are
 * only counted; the values are here.
 */
export interface ScaleNode extends NodeBase {
  op: 'scale';
  scale: number[];
  offset: number[];
}

/** UpSampling2D / ONNX Resize or Upsample by integer factors. */
export interface UpsampleNode extends NodeBase {
  op: 'upsample';
  size: Pair;
  interpolation: 'nearest' | 'bilinear';
}

/** Keras Resizing / ONNX Resize to a fixed size. */
export interface ResizeNode extends NodeBase {
  op: 'resize';
  height: number;
  width: number;
  interpolation: 'nearest' | 'bilinear';
}

/** A layer that passes its input through at inference: Random* augmentation layers, ONNX Identity, GaussianNoise. */
export interface IdentityNode extends NodeBase {
  op: 'identity';
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
  | ConvTransposeNode
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
  | ScaleNode
  | UpsampleNode
  | ResizeNode
  | IdentityNode
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
  convtranspose: 'Conv2DTranspose',
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
  average: 'Average',
  subtract: 'Subtract',
  maximum: 'Maximum',
  minimum: 'Minimum',
  flatten: 'Flatten',
  dropout: 'Dropout',
  zeropad: 'ZeroPadding2D',
  crop: 'Cropping2D',
  reshape: 'Reshape',
  scale: 'Rescaling',
  upsample: 'UpSampling2D',
  resize: 'Resizing',
  identity: 'Identity',
  unknown: 'Unknown',
};

/** One weight tensor's values, float32, in the layout the op documents. */
export interface TensorData {
  name: string;
  shape: number[];
  data: Float32Array;
}

/**
 * A model's weights by node name, each list in the op's canonical (Keras) order and layout:
 * - conv: kernel [kh, kw, C_in / groups, filters], bias [filters] when useBias
 * - depthwise: kernel [kh, kw, C_in, multiplier], bias [C_in · multiplier]
 * - separable: depthwise [kh, kw, C_in, multiplier], pointwise [1, 1, C_in · multiplier, filters], bias
 * - convtranspose: kernel [kh, kw, filters, C_in], bias [filters]
 * - dense: kernel [in, units], bias [units]
 * - bn: gamma (when scale), beta (when center), moving mean, moving variance — each [C]
 * - activation 'prelu': alpha, broadcastable to the input's shape without the batch axis
 * Other ops take no weights (a ScaleNode's values are in the node).
 */
export type WeightStore = Map<string, TensorData[]>;
