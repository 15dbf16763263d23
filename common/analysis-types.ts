/**
 * The layer graph and its arithmetic: the types shared by the analysis, the zoo, the engine and the UI
 * (part of the pure common/ layer, as the engine protocol carries them). Pure data, no tfjs. Fields may
 * be added; none renamed or removed without updating every user.
 */

/** What a layer does, coarsely; the UI colours and groups by it. */
export type LayerKind =
  | 'input'
  | 'conv'
  | 'depthwise'
  | 'separable'
  | 'dense'
  | 'pool'
  | 'globalpool'
  | 'concat'
  | 'add'
  | 'multiply'
  | 'norm'
  | 'activation'
  | 'dropout'
  | 'flatten'
  | 'reshape'
  | 'padding'
  | 'crop'
  | 'resize'
  | 'unknown';

/** A value per spatial axis: [height, width]. */
export type Pair = [number, number];

/** Receptive field of one axis pair (Araujo et al., Distill 2019): r = size, j = jump, start = centre of the first unit's field in input pixels. */
export interface RF {
  size: Pair;
  jump: Pair;
  start: Pair;
}

/** Receptive field of a layer's units. Where branches disagree the largest is reported; every path's value stays in `paths`. */
export interface ReceptiveField extends RF {
  paths?: RF[];
}

export interface ParamCount {
  /** Kernel / weight-matrix entries (incl. depthwise and pointwise kernels, BN gamma). */
  weights: number;
  /** Bias entries (incl. BN beta). */
  biases: number;
  trainable: number;
  /** Keras counts BN moving mean/variance as non-trainable parameters; PyTorch does not. */
  nonTrainable: number;
  total: number;
}

export interface ConvGeometry {
  kernel: Pair;
  stride: Pair;
  /** Explicit padding [top, bottom, left, right] in pixels, resolved from 'same'/'valid' for the actual input. */
  pad: [number, number, number, number];
  padding: 'valid' | 'same' | 'explicit';
  dilation: Pair;
  groups: number;
  filters: number;
}

/** One layer of a model, with everything the analysis knows about it. */
export interface LayerAnalysis {
  /** Unique within the model; equals the Keras layer name for Keras models. */
  id: string;
  name: string;
  kind: LayerKind;
  /** The source class (Keras class_name, or the zoo op). */
  className: string;
  /** Ids of the layers feeding this one. */
  inputs: string[];
  /** [H, W, C] for spatial outputs, [N] for vectors. */
  outputShape: number[];
  params: ParamCount;
  /** Multiply-accumulates for one image (1 MAC = 1 multiply + 1 add; "FLOPs" ≈ 2 × MACs). */
  macs: number;
  geometry?: ConvGeometry;
  /** Null once the output is no longer spatial (after flatten / global pooling / dense). */
  receptiveField: ReceptiveField | null;
  /** Index into ModelAnalysis.stages, by spatial resolution; null for non-spatial layers. */
  stage: number | null;
  /** Activation fused into the layer (Keras `activation` attribute), if any. */
  activation?: string;
  /**
   * True when the model file saved the layer as frozen (`trainable: false`, e.g. a fine-tuned backbone).
   * Its parameters still count as trainable in `params` (the architecture's view); Keras's summary of that file
   * would list them as non-trainable.
   */
  frozen?: boolean;
  /** The nested models the layer sits in, outermost first (a Teachable Machine export); absent at the top level. */
  scope?: string[];
}

export interface Stage {
  index: number;
  /** Spatial size shared by the stage's layers. */
  resolution: Pair;
  layerIds: string[];
  params: number;
  macs: number;
}

export interface ModelAnalysis {
  /** The model's name (zoo id or the file's model name). */
  name?: string;
  input: [number, number, number];
  layers: LayerAnalysis[];
  stages: Stage[];
  totals: {
    params: number;
    trainable: number;
    nonTrainable: number;
    /** The PyTorch convention: parameters without BN moving statistics. */
    paramsWithoutBnStats: number;
    macs: number;
    denseParams: number;
    convParams: number;
    /** Layers with weights (conv, depthwise, separable, dense). */
    depth: number;
    /** Parameters in layers the file saved as frozen (see LayerAnalysis.frozen); 0 for the zoo. */
    frozenParams?: number;
  };
  /** Problems met while analysing (unknown layers, unresolved shapes); never fatal. */
  warnings: string[];
}

/** A unit's field in input pixel indices (inclusive), and the part of it inside the image (null if none). */
export interface Footprint {
  top: number;
  left: number;
  bottom: number;
  right: number;
  clipped: { top: number; left: number; bottom: number; right: number } | null;
}

/** An inclusive box of unit indices in a layer's output. */
export interface IndexBox {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}
