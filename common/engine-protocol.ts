/**
 * The one protocol between the UI and the engine (DESIGN.md "Data that crosses the port").
 * Requests carry an `id`; replies to a request carry the same `id`. A newer `analyze` cancels an older one.
 * This module is pure types and small guards (part of the common/ layer): it imports nothing environment-specific.
 */
import type { Footprint, ModelAnalysis, Pair } from './analysis-types';

export type BackendName = 'webgl' | 'wasm' | 'cpu';

export type ResizePolicy = 'center-crop' | 'letterbox' | 'stretch';

/** How an image becomes the model's input tensor, declared with the model. */
export interface Preprocess {
  inputSize: [number, number];
  resize: ResizePolicy;
  channelOrder: 'rgb' | 'bgr';
  /** value = (pixel / 255 * scale + offset - mean[c]) / std[c]; pixel in 0..255. */
  scale: number;
  offset: number;
  mean: [number, number, number];
  std: [number, number, number];
  /** Input channels: 3 (default) or 1 (grey: luminance 0.299 R + 0.587 G + 0.114 B, then mean[0] / std[0]). */
  channels?: 1 | 3;
  /**
   * With 'center-crop': the centre crop's shorter side as a fraction of the image's shorter side, in (0, 1]
   * (torchvision's Resize(256) + CenterCrop(224) = 0.875); absent = the largest crop of the input's aspect.
   */
  cropFraction?: number;
}

export type ModelSource = 'bundled' | 'zoo' | 'user';

/** An entry of the model list. */
export interface ModelEntry {
  id: string;
  name: string;
  source: ModelSource;
  /** One honest line: what the weights are and where they come from. */
  description: string;
  /** False for seeded random weights (the UI shows an "untrained weights" badge). */
  trained: boolean;
  preprocess: Preprocess;
  /** Names of the output vector's entries (class labels), when known. */
  labels?: string[];
  /** Where `preprocess` comes from, one line ("Teachable Machine convention", "stated default: [0, 1]", "your choice"). */
  preprocessSource?: string;
  /** Registry id of the file format a user model was opened from ('keras-h5', 'onnx', …). */
  format?: string;
}

/** One class of the prediction. */
export interface PredictionEntry {
  index: number;
  /** The model's class name, or "class 6" when the model carries none. */
  label: string;
  probability: number;
}

/** The top classes of a classification head, from the float output of the last layer. */
export interface Prediction {
  layerId: string;
  top: PredictionEntry[];
  /** True when the head outputs raw logits and the engine applied a softmax to show probabilities. */
  softmaxApplied: boolean;
  /** Number of classes in the output vector. */
  classes: number;
}

/** A model as the UI sees it: its entry plus the analysed layer graph. */
export interface ModelSummary extends ModelEntry {
  analysis: ModelAnalysis;
  /** Layer ids in the order frames are streamed (every layer that has a spatial or vector output). */
  frameOrder: string[];
  /**
   * The clip value of each layer whose output has one (ReLU6 → 6, ReLU(max_value), clip): channels pinned there
   * count as saturated in the channel health (engine/channel-health.ts `clipValueOf`). Absent layers have none.
   */
  clips?: Record<string, number>;
  /**
   * The layer graph of a model run from its IR (a user's model file, an architecture edit), settings only — weight
   * specs are names and shapes, never values — so the what-if editor can edit that model's own layers. The renderer's
   * analysis/graph.ts ModelGraph; outlined here (common/ imports no renderer code) and checked by the editor.
   */
  graph?: SummaryGraph;
}

/** The outline of a layer graph as it crosses the port (analysis/graph.ts ModelGraph is one). */
export interface SummaryGraph {
  name: string;
  nodes: { name: string; op: string; inputs: string[] }[];
  outputs: string[];
}

/**
 * One layer's activations, each channel quantized to 8 bits with its own range, channel-major
 * (C × H × W) so it uploads straight into one DataArrayTexture. `data` is transferred, not copied.
 * value ≈ min[c] + (byte / 255) * (max[c] - min[c]).
 * `shape` is what was sent ([H, W, C] possibly pooled down for an overview); `fullShape` the layer's real output.
 */
export interface LayerFrame {
  layerId: string;
  index: number;
  shape: [number, number, number];
  fullShape: number[];
  min: Float32Array;
  max: Float32Array;
  data: Uint8Array;
  /**
   * How many of the layer's full-resolution float values are exactly 0 (the channel health's sparsity), counted in
   * the extraction's min/max pass; absent for a pooled overview (any backend).
   */
  zeros?: number;
}

// ---------------------------------------------------------------- one unit, gradients (unit-inspect.ts, gradients.ts)

/** Which unit: a layer, an output channel and (for spatial outputs) a position. */
export interface UnitRef {
  layer: string;
  channel: number;
  /** Row and column of the unit; ignored for a dense layer over a vector. */
  y?: number;
  x?: number;
}

/** One input channel's kernel slice. */
export interface KernelSlice {
  /** The input channel it reads (index into the input layer's channels); -1 for a dense layer's whole vector. */
  inputChannel: number;
  /** rows × cols weights, row-major. */
  weights: Float32Array;
  /** L2 norm of the slice (for sorting). */
  norm: number;
}

/** The input patch a unit reads, with the products of its taps. */
export interface UnitPatch {
  /** The layer the patch is read from (the unit layer's input). */
  layer: string;
  rows: number;
  cols: number;
  /** Input channels, in slice order. */
  channels: number[];
  /**
   * Input coordinates of tap (0, 0) and the step between taps (the dilation); may start in the padding. For a
   * transposed conv (taps on no grid): the smallest row and column read, step [1, 1].
   */
  top: number;
  left: number;
  step: Pair;
  /** slices × rows × cols input values (0 in padding). */
  values: Float32Array;
  /**
   * rows × cols: CELL_INSIDE, CELL_PAD (the conv's own 'same' / explicit padding), CELL_ZEROPAD, or CELL_GAP (a
   * transposed conv's tap that no input cell reaches for this output).
   */
  cells: Uint8Array;
  /** Element-wise products kernel × input, same layout as `values`. */
  products: Float32Array;
  /** Transposed conv only: the input row and column each tap reads (rows × cols × 2, −1 −1 where it reads none). */
  taps?: Int32Array;
}

/**
 * A separable unit's second stage: the patch's slices are its depthwise channels; each one's sum (the depthwise
 * output at this position) times its 1×1 pointwise weight for the unit's channel.
 */
export interface PointwiseStage {
  /** Per depthwise channel (slice): Σ of its K×K products. */
  depthwise: Float32Array;
  /** Its pointwise weight for this unit's output channel. */
  weights: Float32Array;
  /** depthwise × weights; the 'sum' stage is their sum. */
  products: Float32Array;
}

/** One stage of the value's computation, in order; the last one is the unit's final value. */
export interface UnitStage {
  /** The graph node whose output this stage's value is. */
  layer: string;
  kind: 'sum' | 'bias' | 'activation' | 'bn' | 'scale';
  /** The step as a formula with the numbers, e.g. `relu6(7.31) = 6`. */
  label: string;
  /** This module's value, computed from the patch and the weights (float64 accumulation of float32 products). */
  value: number;
  /** The engine's value for this unit in that layer's output (null for intermediate stages a fused layer hides). */
  engine: number | null;
}

/** Everything the kernel view and the step-through show for one unit. */
export interface UnitInspection {
  layer: string;
  op: 'conv' | 'depthwise' | 'separable' | 'convtranspose' | 'dense';
  channel: number;
  y: number;
  x: number;
  kernelSize: Pair;
  strides: Pair;
  dilation: Pair;
  /** The padding the runner applies, resolved to pixels [top, bottom, left, right]. */
  pad: [number, number, number, number];
  kernels: KernelSlice[];
  /**
   * For a layer reading the 3-channel model input: the K×K×3 kernel as an RGBA image (row-major, 4 bytes a
   * pixel), each component mapped 128 + 127·w / max|w| (zero is mid-grey, the scale symmetric).
   */
  rgb: { width: number; height: number; data: Uint8ClampedArray } | null;
  bias: number;
  patch: UnitPatch;
  /** SeparableConv2D only: the pointwise stage over the depthwise sums. */
  pointwise?: PointwiseStage;
  stages: UnitStage[];
  /** The final value (the last stage's). */
  value: number;
}

/** A unit: layer, channel and (for spatial layers) position. */
export interface GradientUnit {
  layer: string;
  channel: number;
  y?: number;
  x?: number;
}

/** The effective receptive field of one unit. */
export interface EffectiveField {
  layer: string;
  channel: number;
  y: number;
  x: number;
  /** The model input's size: `map` is height × width, row-major. */
  height: number;
  width: number;
  /** Σ over input channels of |∂ unit / ∂ pixel|. */
  map: Float32Array;
  max: number;
  /** Σ of the map (the gradient mass). */
  mass: number;
  /** The theoretical receptive field (inclusive input pixels, may reach into padding); null for non-spatial layers. */
  box: Footprint | null;
  /** Share of the gradient mass on pixels inside the theoretical box (1 up to rounding). */
  insideBox: number;
  /**
   * The smallest set of pixels, taken in order of descending gradient, that holds 95 % of the mass, as a share of
   * the theoretical box's area inside the image (the pixels the unit can see at all). 1 = the gradient is spread
   * over the whole field; Luo et al.'s trained networks give a small Gaussian-like centre. Null when the mass is 0.
   */
  share95: number | null;
  /** The number of pixels in that set. */
  pixels95: number;
}

/** A Grad-CAM map for one class on one layer. */
export interface GradCam {
  layer: string;
  classIndex: number;
  /** The class score that was differentiated (the pre-softmax logit where the model has one). */
  score: number;
  /** Whether `score` is the logit (true) or the model's output (false, no softmax to undo). */
  logit: boolean;
  /** The layer's size and the CAM on it: ReLU(Σ_k w_k A_k), row-major. */
  layerHeight: number;
  layerWidth: number;
  layerMap: Float32Array;
  /** w_k: the spatial mean of ∂ score / ∂ A_k, per channel. */
  weights: Float32Array;
  /** The CAM resized bilinearly (half-pixel centres) to the model input, height × width. */
  height: number;
  width: number;
  map: Float32Array;
  max: number;
}

/** Image bytes as read from a file, or already decoded RGBA pixels (Node, tests, CLI). */
export type ImageInput =
  | { kind: 'encoded'; name: string; bytes: ArrayBuffer; mime?: string }
  | { kind: 'rgba'; name: string; width: number; height: number; data: Uint8ClampedArray };

/** A user's model: `model.json` plus its weight shards, by file name relative to the model's folder. */
export interface UserModelFiles {
  name: string;
  files: { path: string; bytes: ArrayBuffer }[];
}

export type EngineRequest =
  | { type: 'hello'; id: number; resourcesBase: string; prefer?: BackendName[] }
  | { type: 'listModels'; id: number }
  | { type: 'loadModel'; id: number; modelId: string }
  | { type: 'loadUserModel'; id: number; model: UserModelFiles }
  | {
      type: 'analyze';
      id: number;
      modelId: string;
      image: ImageInput;
      resize?: ResizePolicy;
      /** Largest H or W sent per channel; larger maps are average-pooled down. 0 = full resolution. */
      maxSide?: number;
      /**
       * False (default): this pass cancels the passes this port has in flight or queued.
       * True: it is queued behind them instead (compare mode runs 2–4 models on one image).
       */
      keepOthers?: boolean;
      /** The user's input conventions for this model (replace the model's own); remembered by the UI per file. */
      preprocess?: Partial<Preprocess>;
    }
  | { type: 'channel'; id: number; modelId: string; layerId: string; channel: number }
  /**
   * One unit taken apart (kernel, patch, products, stages) on the model's last analysed image; answered by
   * `unitInspection`. Like the three below it is cancelled by a newer `analyze` (its image is no longer on screen).
   */
  | { type: 'inspectUnit'; id: number; modelId: string; layer: string; channel: number; y?: number; x?: number }
  /** The effective receptive field (input gradient) of one unit on the last analysed image; answered in kind. */
  | { type: 'effectiveField'; id: number; modelId: string; layer: string; channel: number; y?: number; x?: number }
  /** Grad-CAM on the last analysed image: class default the top prediction, layer default the last spatial one. */
  | { type: 'gradCam'; id: number; modelId: string; classIndex?: number; layer?: string }
  | { type: 'cancel'; id: number; target: number }
  /**
   * Frame buffers the UI has drawn and dropped, transferred back (the `data.buffer` of earlier frames): the engine
   * writes later frames of the same size into them instead of allocating. Never answered.
   */
  | { type: 'recycle'; id: number; buffers: ArrayBuffer[] }
  | { type: 'setBackend'; id: number; backend: BackendName }
  /** Plain single-output inference on the model's last analysed input (the bench's baseline); answered by `done`. */
  | { type: 'predict'; id: number; modelId: string }
  /** Test hook: loses the WebGL context on purpose (WEBGL_lose_context) to exercise the fallback. */
  | { type: 'simulateContextLoss'; id: number }
  /** Heartbeat: answered by `pong` from the engine's message loop (a worker spinning inside tfjs cannot). */
  | { type: 'ping'; id: number }
  /** Test hook (engines started with `test: true` only): busy-loops `ms` milliseconds, as a hung tfjs op would. */
  | { type: 'debugSpin'; id: number; ms: number }
  /** Test hook (engines started with `test: true` only): the engine's thread exits, as a crashed worker would. */
  | { type: 'debugExit'; id: number };

/** Timings of one pass, ms. */
export interface PassTimings {
  decodeMs: number;
  forwardMs: number;
  extractMs: number;
  totalMs: number;
  firstFrameMs: number;
}

/** What one pass sent: frame bytes and the activation values they stand for (full resolution). */
export interface PassStats {
  frames: number;
  bytesSent: number;
  values: number;
  /** Most bytes tfjs held in tensors during the pass (weights included), sampled at each frame. */
  peakBytes?: number;
  /** tfjs's tensor count and bytes after the pass (tests check they return to baseline). */
  numTensors?: number;
  numBytes?: number;
  /** WebGL only: bytes tfjs holds in GPU textures after the pass. */
  gpuBytes?: number;
  /**
   * wasm and cpu: frames whose min, max and zero count were known exactly from their inputs' (zero padding,
   * concatenation, dropout: known-stats.ts), so the SIMD kernel quantized them without its min/max pass.
   */
  knownRanges?: number;
}

export type EngineReply =
  | { type: 'ready'; id: number; backend: BackendName; reason: string; models: ModelEntry[]; tfjsVersion: string }
  /** Unsolicited when the backend changes (e.g. a lost WebGL context); with `id` when answering setBackend. */
  | { type: 'backend'; backend: BackendName; reason: string; id?: number }
  | { type: 'models'; id: number; models: ModelEntry[] }
  | {
      type: 'progress';
      id: number;
      phase: 'fetch' | 'build' | 'compile' | 'decode' | 'infer';
      loaded: number;
      total: number;
      detail?: string;
    }
  | { type: 'modelLoaded'; id: number; summary: ModelSummary }
  | {
      type: 'image';
      id: number;
      name: string;
      width: number;
      height: number;
      /** the model input as RGBA, inputSize */ preview: { width: number; height: number; data: Uint8ClampedArray };
    }
  | { type: 'frame'; id: number; frame: LayerFrame }
  /** Several layers' frames in stream order (what a pass computed between two turns of the engine's event loop). */
  | { type: 'frames'; id: number; frames: LayerFrame[] }
  | {
      type: 'done';
      id: number;
      timings: PassTimings;
      backend: BackendName;
      stats?: PassStats;
      /** Top-5 of a classification head (analyze only); absent when the last layer is not a class vector. */
      prediction?: Prediction;
    }
  | { type: 'channel'; id: number; layerId: string; channel: number; shape: [number, number]; values: Float32Array }
  | { type: 'unitInspection'; id: number; result: UnitInspection }
  | { type: 'effectiveField'; id: number; result: EffectiveField }
  | { type: 'gradCam'; id: number; result: GradCam }
  | { type: 'cancelled'; id: number }
  /** The answer to `ping`; `heapBytes`: memory the engine's thread holds (JS heap + wasm memory), when known. */
  | { type: 'pong'; id: number; heapBytes?: number }
  | { type: 'error'; id: number | null; message: string; file?: string };

/** The minimal port both a MessagePort and a Worker satisfy. */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
  start?(): void;
}
