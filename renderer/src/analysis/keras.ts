/**
 * Reads a tfjs layers-model `model.json` (a Keras model topology plus a weights manifest) into the shared layer
 * graph, so user models and the bundled pretrained models get the same arithmetic as the zoo.
 * Supports Model / Functional / Sequential topologies in Keras 2 `inbound_nodes` form (and Keras 3's
 * `keras_history` form as far as it resolves), with the layer classes of CNNs; any other class becomes an
 * 'unknown' node whose weights are still counted from the manifest.
 */
import type { Pair } from '../../../common/analysis-types';
import { AnalysisError } from './analyze';
import type { GraphNode, ModelGraph, PaddingMode, WeightSpec } from './graph';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses the text of a model.json, naming the file when it is not JSON. */
export function parseModelJson(text: string, fileName: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AnalysisError(`${fileName}: not valid JSON (${(e as Error).message})`, fileName);
  }
}

/** True for a tfjs graph-model JSON (a TensorFlow GraphDef of ops rather than Keras layers). */
export function isGraphModelJson(json: unknown): boolean {
  if (!isObj(json)) return false;
  const mt = json.modelTopology;
  return json.format === 'graph-model' || (isObj(mt) && Array.isArray(mt.node));
}

/** Extracts the Keras model config ({class_name, config}) from a tfjs model.json or a bare Keras JSON. */
function modelConfig(json: unknown, file: string): Json {
  if (!isObj(json))
    throw new AnalysisError(
      `${file}: expected a JSON object with "modelTopology", got ${Array.isArray(json) ? 'an array' : typeof json}`,
      file,
    );
  if (isGraphModelJson(json)) {
    throw new AnalysisError(
      `${file}: this is a tfjs graph model (TensorFlow ops); only layers models (Keras topology) can be analysed`,
      file,
    );
  }
  let topo: unknown = json.modelTopology ?? (json.class_name ? json : undefined);
  if (!isObj(topo)) throw new AnalysisError(`${file}: no "modelTopology" — not a tfjs layers model`, file);
  if (isObj(topo.model_config)) topo = topo.model_config;
  if (!isObj(topo) || typeof topo.class_name !== 'string' || topo.config === undefined) {
    throw new AnalysisError(`${file}: "modelTopology" has no model config (class_name + config)`, file);
  }
  return topo;
}

const num = (v: unknown, what: string, where: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new Error(`${where}: ${what} is not a number (${JSON.stringify(v)})`);
  return v;
};

const pairOf = (v: unknown, what: string, where: string, dflt?: Pair): Pair => {
  if (v === undefined || v === null) {
    if (dflt) return [...dflt];
    throw new Error(`${where}: missing ${what}`);
  }
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [num(v[0], what, where), num(v[1], what, where)];
  if (Array.isArray(v) && v.length === 1) return [num(v[0], what, where), num(v[0], what, where)];
  throw new Error(`${where}: ${what} must be a number or a pair, got ${JSON.stringify(v)}`);
};

/** ZeroPadding2D / Cropping2D amounts: n, [h, w] or [[t, b], [l, r]] → [t, b, l, r]. */
const fourOf = (v: unknown, what: string, where: string): [number, number, number, number] => {
  if (typeof v === 'number') return [v, v, v, v];
  if (Array.isArray(v) && v.length === 2) {
    const [a, b] = v;
    if (typeof a === 'number' && typeof b === 'number') return [a, a, b, b];
    if (Array.isArray(a) && Array.isArray(b)) {
      const [t, bo] = pairOf(a, what, where);
      const [l, r] = pairOf(b, what, where);
      return [t, bo, l, r];
    }
  }
  throw new Error(`${where}: ${what} has an unexpected form ${JSON.stringify(v)}`);
};

const paddingOf = (v: unknown, where: string): PaddingMode => {
  const p = typeof v === 'string' ? v.toLowerCase() : v;
  if (p === 'valid' || p === 'same') return p;
  throw new Error(`${where}: padding ${JSON.stringify(v)} is not supported (only 'valid' and 'same')`);
};

/** Keras activation names → the IR's names (ACTIVATION_FNS); Keras 3 spells some differently. */
const ACTIVATION_ALIASES: Record<string, string> = {
  silu: 'swish',
  hard_silu: 'hard_swish',
  leaky_relu: 'leaky_relu',
  relu6: 'relu6',
};

const activationOf = (v: unknown): string | undefined => {
  let name: string | undefined;
  if (typeof v === 'string') name = v;
  else if (isObj(v) && typeof v.class_name === 'string') name = v.class_name;
  if (name === undefined) return undefined;
  const last = name.split('>').pop()!.split('.').pop()!;
  const fn = ACTIVATION_ALIASES[last] ?? last;
  return fn === 'linear' ? undefined : fn;
};

/** Options that change how a layer config reads. */
export interface KerasReadOptions {
  /** Keras 3 semantics (hard_sigmoid = relu6(x + 3) / 6, LeakyReLU negative_slope); default: detected per layer. */
  keras3?: boolean;
  /** Receives notes on configs read with an assumption. */
  warnings?: string[];
}

/** A number or a list of numbers from a config entry. */
const numList = (v: unknown, what: string, where: string): number[] => {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return (v.flat(4) as unknown[]).map((x) => num(x, what, where));
  throw new Error(`${where}: ${what} must be a number or a list of numbers, got ${JSON.stringify(v)}`);
};

/**
 * Folds Keras Normalization ((x − mean) / max(√var, 1e-7), or its inverse) into y = x·scale + offset per channel.
 */
export function foldNormalization(
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  invert = false,
): { scale: number[]; offset: number[] } {
  const scale: number[] = [];
  const offset: number[] = [];
  for (let i = 0; i < mean.length; i++) {
    const sd = Math.max(Math.sqrt(variance[i]), 1e-7);
    if (invert) {
      scale.push(sd);
      offset.push(mean[i]);
    } else {
      scale.push(1 / sd);
      offset.push(-mean[i] / sd);
    }
  }
  return { scale, offset };
}

/** The input layer names of one Keras layer entry, from Keras 2 or Keras 3 `inbound_nodes`. */
function inboundNames(layer: Json, where: string, warnings: string[]): string[] {
  const nodes = layer.inbound_nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) return [];
  if (nodes.length > 1)
    warnings.push(
      `layer "${String(layer.name)}" is applied ${nodes.length} times (shared layer); only its first use is shown`,
    );
  const first = nodes[0];
  if (Array.isArray(first)) {
    // Keras 2: [[name, nodeIndex, tensorIndex, kwargs], ...]
    return first.map((e) => {
      if (!Array.isArray(e) || typeof e[0] !== 'string')
        throw new Error(`${where}: malformed inbound node ${JSON.stringify(e)}`);
      return e[0];
    });
  }
  // Keras 3: {args: [...], kwargs: {...}} with {class_name: '__keras_tensor__', config: {keras_history: [name, n, t]}} inside.
  const found: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (isObj(v)) {
      const cfg = v.config;
      if (
        v.class_name === '__keras_tensor__' &&
        isObj(cfg) &&
        Array.isArray(cfg.keras_history) &&
        typeof cfg.keras_history[0] === 'string'
      ) {
        found.push(cfg.keras_history[0]);
      } else Object.values(v).forEach(walk);
    }
  };
  walk(first);
  return found;
}

/** The weight manifest's entries, grouped by the layer they belong to (longest layer-name prefix wins). */
function assignWeights(
  json: Json,
  layerNames: string[],
): { byLayer: Map<string, WeightSpec[]>; unmatched: WeightSpec[]; present: boolean } {
  const byLayer = new Map<string, WeightSpec[]>();
  const unmatched: WeightSpec[] = [];
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) return { byLayer, unmatched, present: false };
  const names = new Set(layerNames);
  for (const group of manifest) {
    if (!isObj(group) || !Array.isArray(group.weights)) continue;
    for (const w of group.weights) {
      if (!isObj(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)) continue;
      const spec: WeightSpec = { name: w.name, shape: w.shape.map((d) => Number(d)) };
      // Weight names are "<layer>/<variable>", sometimes behind a model-name scope, and layer names may contain
      // "/" themselves (DenseNet's "conv1/conv"): try every prefix, outermost scope first, longest first.
      const seg = w.name.split('/');
      let owner: string | undefined;
      for (let start = 0; start < seg.length - 1 && !owner; start++) {
        for (let end = seg.length - 1; end > start; end--) {
          const candidate = seg.slice(start, end).join('/');
          if (names.has(candidate)) {
            owner = candidate;
            break;
          }
        }
      }
      if (owner) {
        const list = byLayer.get(owner) ?? [];
        list.push(spec);
        byLayer.set(owner, list);
      } else unmatched.push(spec);
    }
  }
  return { byLayer, unmatched, present: true };
}

/** One Keras layer entry → a graph node (or null for a pure no-op like a second InputLayer we merge away). */
export function layerToNode(layer: Json, inputs: string[], file: string, opts: KerasReadOptions = {}): GraphNode {
  const cls = String(layer.class_name);
  const keras3 = opts.keras3 ?? typeof layer.module === 'string';
  const cfg = isObj(layer.config) ? layer.config : {};
  const name = String(layer.name ?? cfg.name);
  const where = `${file}: layer "${name}" (${cls})`;
  const base = { name, inputs, className: cls, ...(cfg.trainable === false ? { trainable: false } : {}) };
  if (cfg.data_format === 'channels_first')
    throw new Error(`${where}: data_format channels_first is not supported (NHWC only)`);
  const fused = activationOf(cfg.activation);
  if (cls !== 'Activation' && (fused === 'leaky_relu' || (fused === 'hard_sigmoid' && keras3)))
    opts.warnings?.push(
      `layer "${name}": its built-in ${fused} activation has parameters the engine does not take from the layer ` +
        `(${fused === 'leaky_relu' ? 'slope 0.2' : 'Keras 3: relu6(x + 3) / 6'}); its values may differ slightly`,
    );
  const convLike = () => ({
    kernel: pairOf(cfg.kernel_size, 'kernel_size', where),
    strides: pairOf(cfg.strides, 'strides', where, [1, 1]),
    padding: paddingOf(cfg.padding ?? 'valid', where),
    dilation: pairOf(cfg.dilation_rate, 'dilation_rate', where, [1, 1]),
    useBias: cfg.use_bias !== false,
    ...(activationOf(cfg.activation) ? { activation: activationOf(cfg.activation) } : {}),
  });
  switch (cls) {
    case 'InputLayer': {
      const s = (cfg.batch_input_shape ??
        cfg.batch_shape ??
        (Array.isArray(cfg.input_shape) ? [null, ...cfg.input_shape] : undefined)) as unknown;
      if (!Array.isArray(s) || s.length !== 4) {
        const dims = Array.isArray(s)
          ? `[${s
              .slice(1)
              .map((d) => d ?? 'None')
              .join(', ')}]`
          : JSON.stringify(s);
        throw new Error(
          `${where}: the model has no H×W×C image input — its input has shape ${dims} ` +
            '(a vector or sequence model?); feature maps need an image model',
        );
      }
      const dim = (v: unknown) => (typeof v === 'number' ? v : null);
      const c = dim(s[3]);
      if (c === null) throw new Error(`${where}: the channel count of the input is not fixed`);
      return { ...base, op: 'input', inputs: [], shape: [dim(s[1]), dim(s[2]), c] };
    }
    case 'Conv2D':
    case 'Convolution2D':
      return {
        ...base,
        op: 'conv',
        filters: num(cfg.filters, 'filters', where),
        ...convLike(),
        ...(typeof cfg.groups === 'number' && cfg.groups > 1 ? { groups: cfg.groups } : {}),
      };
    case 'DepthwiseConv2D':
      return {
        ...base,
        op: 'depthwise',
        depthMultiplier: typeof cfg.depth_multiplier === 'number' ? cfg.depth_multiplier : 1,
        ...convLike(),
      };
    case 'SeparableConv2D':
    case 'SeparableConvolution2D':
      return {
        ...base,
        op: 'separable',
        filters: num(cfg.filters, 'filters', where),
        depthMultiplier: typeof cfg.depth_multiplier === 'number' ? cfg.depth_multiplier : 1,
        ...convLike(),
      };
    case 'Dense': {
      const act = activationOf(cfg.activation);
      return {
        ...base,
        op: 'dense',
        units: num(cfg.units, 'units', where),
        useBias: cfg.use_bias !== false,
        ...(act ? { activation: act } : {}),
      };
    }
    case 'BatchNormalization': {
      const axis = cfg.axis;
      const ax = Array.isArray(axis) ? axis[0] : axis;
      if (ax !== undefined && ax !== -1 && ax !== 3)
        throw new Error(
          `${where}: normalises axis ${JSON.stringify(axis)}; only the channel axis (-1 / 3) is supported`,
        );
      return {
        ...base,
        op: 'bn',
        center: cfg.center !== false,
        scale: cfg.scale !== false,
        epsilon: typeof cfg.epsilon === 'number' ? cfg.epsilon : 1e-3,
        momentum: typeof cfg.momentum === 'number' ? cfg.momentum : 0.99,
      };
    }
    case 'Activation': {
      const fn = activationOf(cfg.activation) ?? 'linear';
      // Keras 3's hard_sigmoid is relu6(x + 3) / 6; Keras 2's (and tfjs') is clip(0.2·x + 0.5, 0, 1).
      if (fn === 'hard_sigmoid' && keras3) return { ...base, op: 'activation', fn, alpha: 1 / 6, beta: 0.5 };
      // keras.activations.leaky_relu (and tf.nn.leaky_relu) default to a slope of 0.2.
      if (fn === 'leaky_relu') return { ...base, op: 'activation', fn, alpha: 0.2 };
      return { ...base, op: 'activation', fn };
    }
    case 'ReLU': {
      const max = typeof cfg.max_value === 'number' ? cfg.max_value : undefined;
      const slope = typeof cfg.negative_slope === 'number' ? cfg.negative_slope : 0;
      if (typeof cfg.threshold === 'number' && cfg.threshold !== 0)
        throw new Error(`${where}: ReLU with threshold ${cfg.threshold} is not supported (only threshold 0)`);
      if (max === 6 && slope === 0) return { ...base, op: 'activation', fn: 'relu6' };
      return {
        ...base,
        op: 'activation',
        fn: 'relu',
        ...(slope ? { alpha: slope } : {}),
        ...(max !== undefined ? { max } : {}),
      };
    }
    case 'LeakyReLU': {
      const a = cfg.negative_slope ?? cfg.alpha;
      return { ...base, op: 'activation', fn: 'leaky_relu', alpha: typeof a === 'number' ? a : 0.3 };
    }
    case 'ELU':
      return { ...base, op: 'activation', fn: 'elu', alpha: typeof cfg.alpha === 'number' ? cfg.alpha : 1 };
    case 'PReLU':
      // The slopes are weights (shape set by shared_axes); they come from the weight file like any other layer's.
      return { ...base, op: 'activation', fn: 'prelu' };
    case 'Softmax': {
      const axis = Array.isArray(cfg.axis) ? cfg.axis[0] : cfg.axis;
      // tfjs writes axis 1 by default: the last axis of the vector it usually follows.
      if (axis === 1 || axis === 3)
        opts.warnings?.push(`layer "${name}": softmax over axis ${axis} is taken as the last axis (the channels)`);
      else if (axis !== undefined && axis !== -1)
        throw new Error(`${where}: softmax over axis ${JSON.stringify(cfg.axis)}; only the last axis is supported`);
      return { ...base, op: 'activation', fn: 'softmax' };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D':
    case 'MaxPool2D':
    case 'AvgPool2D': {
      const pool = pairOf(cfg.pool_size, 'pool_size', where, [2, 2]);
      return {
        ...base,
        op: cls.startsWith('Max') ? 'maxpool' : 'avgpool',
        pool,
        strides: pairOf(cfg.strides, 'strides', where, pool),
        padding: paddingOf(cfg.padding ?? 'valid', where),
      };
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
    case 'GlobalAvgPool2D':
    case 'GlobalMaxPool2D':
      return { ...base, op: cls.includes('Max') ? 'gmp' : 'gap', ...(cfg.keepdims === true ? { keepDims: true } : {}) };
    case 'Concatenate': {
      const axis = cfg.axis ?? -1;
      if (axis !== -1 && axis !== 3)
        throw new Error(
          `${where}: concatenates along axis ${JSON.stringify(axis)}; only the channel axis (-1 / 3) is supported`,
        );
      return { ...base, op: 'concat' };
    }
    case 'Add':
      return { ...base, op: 'add' };
    case 'Multiply':
      return { ...base, op: 'multiply' };
    case 'Average':
      return { ...base, op: 'average' };
    case 'Subtract':
      return { ...base, op: 'subtract' };
    case 'Maximum':
      return { ...base, op: 'maximum' };
    case 'Minimum':
      return { ...base, op: 'minimum' };
    case 'Flatten':
      return { ...base, op: 'flatten' };
    case 'Dropout':
    case 'SpatialDropout1D':
    case 'SpatialDropout2D':
    case 'GaussianDropout':
    case 'AlphaDropout':
      return { ...base, op: 'dropout', rate: typeof cfg.rate === 'number' ? cfg.rate : 0 };
    case 'GaussianNoise':
    case 'ActivityRegularization':
    case 'RandomFlip':
    case 'RandomRotation':
    case 'RandomZoom':
    case 'RandomContrast':
    case 'RandomTranslation':
    case 'RandomBrightness':
    case 'RandomHeight':
    case 'RandomWidth':
    case 'RandomSaturation':
    case 'RandomHue':
    case 'RandomColorJitter':
    case 'RandomGrayscale':
    case 'RandomSharpness':
    case 'RandomShear':
    case 'RandomPerspective':
    case 'RandomErasing':
    case 'RandomGaussianBlur':
    case 'RandomPosterization':
    case 'RandomInvert':
    case 'RandomElasticTransform':
    case 'AutoContrast':
      // Training-time noise and augmentation: the identity at inference.
      return { ...base, op: 'identity' };
    case 'Conv2DTranspose':
    case 'Convolution2DTranspose': {
      const op = cfg.output_padding;
      return {
        ...base,
        op: 'convtranspose',
        filters: num(cfg.filters, 'filters', where),
        ...convLike(),
        ...(op !== null && op !== undefined ? { outputPadding: pairOf(op, 'output_padding', where) } : {}),
      };
    }
    case 'UpSampling2D': {
      const interp = cfg.interpolation ?? 'nearest';
      if (interp !== 'nearest' && interp !== 'bilinear')
        throw new Error(`${where}: interpolation ${JSON.stringify(interp)} is not supported (nearest or bilinear)`);
      return { ...base, op: 'upsample', size: pairOf(cfg.size, 'size', where, [2, 2]), interpolation: interp };
    }
    case 'Resizing':
    case 'RandomCrop': {
      // RandomCrop at inference resizes to its target size (Keras smart_resize: a centre crop to the aspect ratio
      // first; for square inputs and targets that is a plain resize).
      const interp = cls === 'RandomCrop' ? 'bilinear' : (cfg.interpolation ?? 'bilinear');
      if (interp !== 'nearest' && interp !== 'bilinear')
        throw new Error(`${where}: interpolation ${JSON.stringify(interp)} is not supported (nearest or bilinear)`);
      if (cfg.crop_to_aspect_ratio === true || cfg.pad_to_aspect_ratio === true)
        throw new Error(`${where}: crop_to_aspect_ratio / pad_to_aspect_ratio is not supported`);
      return {
        ...base,
        op: 'resize',
        height: num(cfg.height, 'height', where),
        width: num(cfg.width, 'width', where),
        interpolation: interp,
      };
    }
    case 'Rescaling': {
      const scale = numList(cfg.scale ?? 1, 'scale', where);
      const offset = numList(cfg.offset ?? 0, 'offset', where);
      return { ...base, op: 'scale', scale, offset };
    }
    case 'Normalization': {
      const axis = Array.isArray(cfg.axis) ? (cfg.axis.length === 1 ? cfg.axis[0] : cfg.axis) : (cfg.axis ?? -1);
      if (axis !== -1 && axis !== 3)
        throw new Error(
          `${where}: normalises over axis ${JSON.stringify(cfg.axis)}; only the channel axis (-1) is supported`,
        );
      // With mean and variance in the config it is complete here; otherwise the format fills it from its weights.
      if (cfg.mean !== undefined && cfg.mean !== null && cfg.variance !== undefined && cfg.variance !== null) {
        const f = foldNormalization(
          numList(cfg.mean, 'mean', where),
          numList(cfg.variance, 'variance', where),
          cfg.invert === true,
        );
        return { ...base, op: 'scale', ...f };
      }
      return { ...base, op: 'scale', scale: [1], offset: [0] };
    }
    case 'ZeroPadding2D':
      return { ...base, op: 'zeropad', pad: fourOf(cfg.padding ?? 1, 'padding', where) };
    case 'Cropping2D':
      return { ...base, op: 'crop', crop: fourOf(cfg.cropping ?? 0, 'cropping', where) };
    case 'Reshape': {
      const t = cfg.target_shape;
      if (!Array.isArray(t)) throw new Error(`${where}: missing target_shape`);
      return { ...base, op: 'reshape', targetShape: t.map((v) => num(v, 'target_shape', where)) };
    }
    default:
      return { ...base, op: 'unknown', className: cls };
  }
}

/**
 * Turns a tfjs layers-model JSON (parsed `model.json`) into a ModelGraph. Weights listed in `weightsManifest`
 * are attached to their layers so the analysis counts what the files hold. Throws AnalysisError naming
 * `fileName` when the JSON is not a layers model or a layer's config is malformed.
 */
export function graphFromKerasTopology(modelJson: unknown, fileName: string): ModelGraph {
  const topo = modelConfig(modelJson, fileName);
  // Nested models (Teachable Machine) are flattened; unknown classes stay 'unknown' nodes for the analysis.
  const flat = flattenKerasModel(topo, fileName, { strict: false });
  const graph = flat.graph;
  const names = graph.nodes.map((n) => n.name);
  const weights = assignWeights(modelJson as Json, names);
  if (weights.present) for (const n of graph.nodes) n.weights = weights.byLayer.get(n.name) ?? [];
  if (weights.unmatched.length) graph.unmatchedWeights = weights.unmatched;
  if (!graph.parseWarnings?.length) delete graph.parseWarnings;
  return graph;
}

/** Sum of the values a weights manifest lists (what the weight files hold). */
export function manifestValueCount(modelJson: unknown): number {
  if (!isObj(modelJson) || !Array.isArray(modelJson.weightsManifest)) return 0;
  let n = 0;
  for (const g of modelJson.weightsManifest) {
    if (!isObj(g) || !Array.isArray(g.weights)) continue;
    for (const w of g.weights)
      if (isObj(w) && Array.isArray(w.shape)) n += w.shape.reduce((a: number, d) => a * Number(d), 1);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Full Keras models (HDF5, .keras, tfjs layers): nested models flattened into one graph, strict about classes.

/** One variable a Keras layer creates, in creation order (the order Keras saves them in). */
export interface KerasVariable {
  name: string;
  role: 'weight' | 'bias' | 'stat';
  /** Created trainable (kernels, biases, gamma, beta) rather than not (moving statistics, counts). */
  trainable: boolean;
}

/** The variables a layer of this class and config creates, in Keras' order; [] for layers without weights. */
export function kerasVariables(cls: string, cfg: Json): KerasVariable[] {
  const w = (name: string): KerasVariable => ({ name, role: 'weight', trainable: true });
  const b = (name: string): KerasVariable => ({ name, role: 'bias', trainable: true });
  const s = (name: string): KerasVariable => ({ name, role: 'stat', trainable: false });
  const bias = cfg.use_bias !== false ? [b('bias')] : [];
  switch (cls) {
    case 'Conv2D':
    case 'Convolution2D':
    case 'Conv2DTranspose':
    case 'Convolution2DTranspose':
    case 'Dense':
      return [w('kernel'), ...bias];
    case 'DepthwiseConv2D':
      return [w('depthwise_kernel'), ...bias];
    case 'SeparableConv2D':
    case 'SeparableConvolution2D':
      return [w('depthwise_kernel'), w('pointwise_kernel'), ...bias];
    case 'BatchNormalization':
      return [
        ...(cfg.scale !== false ? [w('gamma')] : []),
        ...(cfg.center !== false ? [b('beta')] : []),
        s('moving_mean'),
        s('moving_variance'),
      ];
    case 'PReLU':
      return [w('alpha')];
    case 'Normalization':
      return cfg.mean !== undefined && cfg.mean !== null ? [] : [s('mean'), s('variance'), s('count')];
    default:
      return [];
  }
}

/** Classes of nested models. */
const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

/** The Python class a config class name stands for (Keras' weights-file paths use it): tf.keras 'Model' is a Functional. */
const pythonClass = (cls: string): string => (cls === 'Model' ? 'Functional' : cls);

/** Keras' `naming.to_snake_case`, which names the entries of a `.keras` weights file. */
export function kerasSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** One non-model layer of a flattened Keras model. */
export interface KerasFlatLayer {
  node: GraphNode;
  /** The layer's name in the file. */
  kerasName: string;
  className: string;
  config: Json;
  /** Enclosing model names, outermost first ([] at the top level). */
  scope: string[];
  /** The layer's group in a Keras 3 `.keras` weights file ('layers/sequential/layers/conv2d'), and alternatives. */
  v3Paths: string[];
  /** False when the layer or a model around it is frozen. */
  trainable: boolean;
  variables: KerasVariable[];
}

/** A top-level entry of the model (a layer or a nested model), for weight files grouped per top-level layer. */
export interface KerasTreeEntry {
  kerasName: string;
  className: string;
  trainable: boolean;
  layer?: KerasFlatLayer;
  children?: KerasTreeEntry[];
}

/** A Keras model flattened into one graph. */
export interface KerasFlatModel {
  graph: ModelGraph;
  layers: KerasFlatLayer[];
  /** The top-level layers and models in file order (nested models with their children). */
  tree: KerasTreeEntry[];
}

/** One variable of a flattened layer, in a weight-file order. */
export interface KerasVariableRef {
  layer: KerasFlatLayer;
  variable: KerasVariable;
}

/**
 * The order legacy (HDF5 / `save_weights`) Keras writes the weights of one top-level entry in: its trainable
 * weights, then its non-trainable ones, each gathered depth-first (Keras 2 `_legacy_weights`, Keras 3 the same),
 * a frozen model or layer contributing everything to the second list.
 */
export function legacyWeightOrder(entry: KerasTreeEntry): KerasVariableRef[] {
  const split = (e: KerasTreeEntry, frozen: boolean): [KerasVariableRef[], KerasVariableRef[]] => {
    const off = frozen || !e.trainable;
    if (e.layer) {
      const refs = e.layer.variables.map((variable) => ({ layer: e.layer!, variable }));
      if (off) return [[], refs];
      return [refs.filter((r) => r.variable.trainable), refs.filter((r) => !r.variable.trainable)];
    }
    const t: KerasVariableRef[] = [];
    const n: KerasVariableRef[] = [];
    for (const c of e.children ?? []) {
      const [ct, cn] = split(c, off);
      if (off) n.push(...ct, ...cn);
      else {
        t.push(...ct);
        n.push(...cn);
      }
    }
    return [t, n];
  };
  const [t, n] = split(entry, false);
  return [...t, ...n];
}

/** A child's names in a `.keras` weights file: saving_lib's counter, and the checkpoint-dict variant's. */
interface ChildNames {
  snake: string;
  checkpoint: string;
}

interface Pending {
  id: string;
  flat?: KerasFlatLayer;
  inputs: string[];
}

/** Names of the `[name, node, tensor]` entries of `input_layers` / `output_layers` (a single one may be flat). */
function endpointNames(v: unknown): string[] {
  if (!Array.isArray(v) || v.length === 0) return [];
  if (typeof v[0] === 'string') return [v[0]];
  return v.map((o) => (Array.isArray(o) ? String(o[0]) : isObj(o) ? String(o.name ?? '') : String(o)));
}

/** Options of flattenKerasModel. */
export interface FlattenOptions extends KerasReadOptions {
  /**
   * Throw on layer classes that are not understood (Lambda, custom layers) instead of keeping 'unknown' nodes:
   * a format opening a model to run it must refuse what it cannot run.
   */
  strict?: boolean;
}

/**
 * Flattens a Keras model config (`{class_name, config}` of a Sequential / Functional / Model, as in HDF5
 * `model_config`, `.keras` `config.json` or tfjs `modelTopology`) into one ModelGraph: nested models (to any
 * depth) are expanded in place, their layers carrying `scope`; names stay the Keras names unless two clash,
 * then they get their scope as a prefix ('model1/conv1'). Nodes come out in topological order; a cycle or an
 * input that is no layer throws AnalysisError naming the layers. No weights are attached here.
 */
export function flattenKerasModel(topo: unknown, fileName: string, opts: FlattenOptions = {}): KerasFlatModel {
  const fail = (msg: string, layer?: string): never => {
    throw new AnalysisError(`${fileName}: ${msg}`, fileName, layer);
  };
  if (!isObj(topo) || typeof topo.class_name !== 'string') return fail('the model config has no class_name');
  const rootCls = topo.class_name;
  if (!MODEL_CLASSES.has(rootCls))
    return fail(`model class "${rootCls}" is not supported (expected Model, Functional or Sequential)`);
  const keras3 = opts.keras3 ?? typeof topo.module === 'string';
  const warnings: string[] = [];
  const pending: Pending[] = [];
  const aliases = new Map<string, string>();
  const flats: KerasFlatLayer[] = [];
  const byId = new Map<string, Pending>();
  const rootCfg = topo.config;
  const rootName = isObj(rootCfg) && typeof rootCfg.name === 'string' ? rootCfg.name : fileName;

  const nameOf = (l: Json, i: number): string =>
    String(l.name ?? (isObj(l.config) ? l.config.name : undefined) ?? `layer_${i}`);

  const inputShapeOf = (l: Json): unknown => {
    const lc = isObj(l.config) ? l.config : {};
    const bc = isObj(l.build_config) ? l.build_config : {};
    return (
      lc.batch_input_shape ??
      lc.batch_shape ??
      (Array.isArray(lc.input_shape) ? [null, ...lc.input_shape] : undefined) ??
      bc.input_shape
    );
  };

  const add = (
    l: Json,
    name: string,
    id: string,
    inputs: string[],
    scope: string[],
    v3Paths: string[],
    trainable: boolean,
  ): void => {
    if (byId.has(id) || aliases.has(id)) fail(`two layers are named "${id}"`, name);
    const cls = String(l.class_name);
    const cfg = isObj(l.config) ? l.config : {};
    if (cls === 'Lambda' || cls === 'TFOpLambda' || cls === 'SlicingOpLambda') {
      if (opts.strict)
        fail(
          `layer "${name}" is a ${cls} layer: a Lambda layer runs Python code the file does not contain, so it cannot ` +
            'be rebuilt here; replace it with built-in Keras layers (Rescaling, Resizing, …) and save the model again',
          name,
        );
    }
    let node: GraphNode;
    try {
      node = layerToNode({ ...l, name }, [], fileName, { keras3, warnings });
    } catch (e) {
      const m = (e as Error).message;
      return fail(m.startsWith(fileName) ? m.slice(fileName.length + 2) : m, name);
    }
    if (node.op === 'unknown' && opts.strict && cls !== 'Lambda') {
      fail(
        `layer "${name}" has class ${cls}, which Feature Map Explorer does not know (a custom layer or one it does ` +
          "not support): running it would need the layer's code, which the file does not contain; rebuild the model " +
          'with built-in layers',
        name,
      );
    }
    if (!trainable) node.trainable = false;
    if (scope.length) node.scope = [...scope];
    const flat: KerasFlatLayer = {
      node,
      kerasName: name,
      className: cls,
      config: cfg,
      scope: [...scope],
      v3Paths,
      trainable,
      variables: kerasVariables(cls, cfg),
    };
    const p: Pending = { id, flat, inputs };
    pending.push(p);
    byId.set(id, p);
    flats.push(flat);
  };

  /**
   * v3 paths of one child: 'layers/<snake class>[_n]', tf.keras 2.13–2.15's '_layer_checkpoint_dependencies/…'
   * (a dict listing every layer with weights twice, so its counters advance twice), and the layer's own name
   * (the experimental format of TF 2.10–2.12).
   */
  const childPaths = (parents: string[], names: ChildNames, name: string): string[] => {
    const out: string[] = [];
    for (const p of parents) {
      out.push(`${p}layers/${names.snake}`, `${p}_layer_checkpoint_dependencies/${names.checkpoint}`);
      if (name !== names.snake) out.push(`${p}layers/${name}`, `${p}${name}`);
    }
    return out;
  };

  /** Whether a layer config (a model: any layer inside) creates weights. */
  const hasWeights = (l: Json): boolean => {
    const c = String(l.class_name);
    const lc = isObj(l.config) ? l.config : {};
    if (MODEL_CLASSES.has(c)) {
      const inner = Array.isArray(lc) ? lc : Array.isArray(lc.layers) ? lc.layers : [];
      return (inner as unknown[]).some((x) => isObj(x) && hasWeights(x));
    }
    return kerasVariables(c, lc).length > 0;
  };

  /** Processes one model; returns its output id and fills `tree`. */
  const model = (
    cls: string,
    cfg: unknown,
    scope: string[],
    v3Parents: string[],
    incoming: string[] | null,
    trainable: boolean,
    tree: KerasTreeEntry[],
    depth: number,
  ): string => {
    if (depth > 16) fail('models are nested more than 16 deep');
    const prefix = scope.length ? `${scope.join('/')}/` : '';
    const where = scope.length ? `the nested model "${scope[scope.length - 1]}"` : 'the model';
    const list = Array.isArray(cfg)
      ? cfg
      : isObj(cfg) && Array.isArray(cfg.layers)
        ? cfg.layers
        : fail(`${cls} config of ${where} has no "layers" list`);
    const layers = (list as unknown[]).filter(isObj);
    const counters = new Map<string, number>();
    const checkpointCounters = new Map<string, number>();
    const next = (m: Map<string, number>, base: string): string => {
      const n = m.get(base);
      m.set(base, n === undefined ? 0 : n + 1);
      return n === undefined ? base : `${base}_${n + 1}`;
    };
    const snakeOf = (l: Json): ChildNames => {
      const base = kerasSnakeCase(pythonClass(String(l.class_name)));
      const names = { snake: next(counters, base), checkpoint: next(checkpointCounters, base) };
      if (hasWeights(l)) next(checkpointCounters, base);
      return names;
    };
    const child = (
      l: Json,
      name: string,
      id: string,
      inputs: string[],
      snake: ChildNames,
      layerTrainable: boolean,
    ): string => {
      const lcls = String(l.class_name);
      const lcfg = isObj(l.config) ? l.config : {};
      if (MODEL_CLASSES.has(lcls)) {
        const entry: KerasTreeEntry = { kerasName: name, className: lcls, trainable: layerTrainable, children: [] };
        tree.push(entry);
        const out = model(
          lcls,
          lcfg,
          [...scope, name],
          childPaths(v3Parents, snake, name).map((p) => `${p}/`),
          inputs.length ? inputs : null,
          trainable && layerTrainable,
          entry.children!,
          depth + 1,
        );
        if (byId.has(id) || aliases.has(id)) fail(`two layers are named "${id}"`, name);
        aliases.set(id, out);
        return id;
      }
      add(l, name, id, inputs, scope, childPaths(v3Parents, snake, name), trainable && layerTrainable);
      const flat = flats[flats.length - 1];
      tree.push({ kerasName: name, className: lcls, trainable: layerTrainable, layer: flat });
      return id;
    };

    if (cls === 'Sequential') {
      let prev: string | null = incoming ? incoming[0] : null;
      let first = true;
      for (const [i, l] of layers.entries()) {
        const name = nameOf(l, i);
        const id = prefix + name;
        const lcfg = isObj(l.config) ? l.config : {};
        const layerTrainable = lcfg.trainable !== false;
        if (l.class_name === 'InputLayer') {
          // Sequential models leave their InputLayer out of `layers` (and out of the weights file's names).
          if (prev === null) {
            add(l, name, id, [], scope, [], trainable);
            tree.push({ kerasName: name, className: 'InputLayer', trainable: true, layer: flats[flats.length - 1] });
            prev = id;
          } else aliases.set(id, prev);
          first = false;
          continue;
        }
        if (prev === null && first && !MODEL_CLASSES.has(String(l.class_name))) {
          // The layer's own batch_input_shape, else what the Sequential was built with (tf.keras / Keras 3).
          const built = isObj(cfg) ? cfg.build_input_shape : undefined;
          const shape = inputShapeOf(l) ?? (Array.isArray(built) ? built : undefined);
          if (!shape)
            fail(
              `the first layer "${name}" of the Sequential model${scope.length ? ` "${scope[scope.length - 1]}"` : ''} ` +
                'declares no input shape (no InputLayer, no batch_input_shape): the input size is unknown',
              name,
            );
          const inName = `${prefix}input`;
          add(
            { class_name: 'InputLayer', name: 'input', config: { batch_input_shape: shape, name: 'input' } },
            'input',
            inName,
            [],
            scope,
            [],
            true,
          );
          tree.push({ kerasName: 'input', className: 'InputLayer', trainable: true, layer: flats[flats.length - 1] });
          prev = inName;
        }
        first = false;
        prev = child(l, name, id, prev === null ? [] : [prev], snakeOf(l), layerTrainable);
      }
      if (prev === null) fail(`${where} has no layers`);
      return prev!;
    }

    // Functional / Model.
    const c = isObj(cfg) ? cfg : {};
    const inputNames = endpointNames(c.input_layers);
    let inputIndex = 0;
    for (const [i, l] of layers.entries()) {
      const name = nameOf(l, i);
      const id = prefix + name;
      const lcfg = isObj(l.config) ? l.config : {};
      const snake = snakeOf(l);
      if (l.class_name === 'InputLayer') {
        if (incoming) {
          const k = inputNames.indexOf(name);
          const src = incoming[k >= 0 ? k : inputIndex];
          inputIndex++;
          if (src === undefined) fail(`${where} has more inputs than it is called with`, name);
          aliases.set(id, src);
        } else {
          add(l, name, id, [], scope, [], trainable);
          tree.push({ kerasName: name, className: 'InputLayer', trainable: true, layer: flats[flats.length - 1] });
        }
        continue;
      }
      const inbound = inboundNames(l, `${fileName}: layer "${name}"`, warnings).map((n) => prefix + n);
      child(l, name, id, inbound, snake, lcfg.trainable !== false);
    }
    const outs = endpointNames(c.output_layers);
    if (outs.length > 1)
      warnings.push(`${where} has ${outs.length} outputs; only the first ("${outs[0]}") is followed`);
    if (outs.length === 0) {
      const last = layers.length
        ? nameOf(layers[layers.length - 1], layers.length - 1)
        : fail(`${where} has no layers`);
      return prefix + last;
    }
    return prefix + outs[0];
  };

  const tree: KerasTreeEntry[] = [];
  const out = model(rootCls, rootCfg, [], [''], null, true, tree, 0);

  // Resolve aliases (nested model → its output, an inner InputLayer → what feeds it); a loop is a cycle.
  const resolve = (id: string): string => {
    let cur = id;
    const seen = new Set<string>();
    while (aliases.has(cur)) {
      if (seen.has(cur)) fail(`the layers form a cycle through "${cur}" (the inbound_nodes loop back)`, cur);
      seen.add(cur);
      cur = aliases.get(cur)!;
    }
    return cur;
  };
  for (const p of pending) {
    p.inputs = p.inputs.map(resolve);
    for (const i of p.inputs) {
      if (!byId.has(i)) {
        fail(
          `layer "${p.flat!.kerasName}" takes input "${i.split('/').pop()}", which is not a layer of the model`,
          p.flat!.kerasName,
        );
      }
    }
  }
  const outputId = resolve(out);

  // Topological order (iterative DFS), reporting a cycle by its layers.
  const state = new Map<string, 1 | 2>();
  const order: Pending[] = [];
  for (const start of pending) {
    if (state.get(start.id) === 2) continue;
    const stack: [Pending, number][] = [[start, 0]];
    state.set(start.id, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [p, k] = top;
      if (k < p.inputs.length) {
        top[1]++;
        const c = byId.get(p.inputs[k])!;
        const st = state.get(c.id);
        if (st === 1) {
          const loop = stack.map(([q]) => q.flat!.kerasName);
          const from = loop.indexOf(c.flat!.kerasName);
          const names = [...loop.slice(from), c.flat!.kerasName].reverse().map((n) => `"${n}"`);
          fail(`the layers form a cycle: ${names.join(' → ')} (the inbound_nodes loop back)`, c.flat!.kerasName);
        }
        if (st === undefined) {
          state.set(c.id, 1);
          stack.push([c, 0]);
        }
      } else {
        state.set(p.id, 2);
        order.push(p);
        stack.pop();
      }
    }
  }

  // Display names: the Keras name where unique, else the scoped id; then make sure every one is unique.
  const counts = new Map<string, number>();
  for (const p of order) counts.set(p.flat!.kerasName, (counts.get(p.flat!.kerasName) ?? 0) + 1);
  const display = new Map<string, string>();
  const used = new Set<string>();
  for (const p of order) {
    let n = counts.get(p.flat!.kerasName)! > 1 ? p.id : p.flat!.kerasName;
    if (used.has(n)) {
      let k = 2;
      while (used.has(`${n}_${k}`)) k++;
      n = `${n}_${k}`;
    }
    used.add(n);
    display.set(p.id, n);
  }
  const nodes = order.map((p) => {
    const node = p.flat!.node;
    node.name = display.get(p.id)!;
    node.inputs = p.inputs.map((i) => display.get(i)!);
    return node;
  });
  const inputs = nodes.filter((n) => n.op === 'input');
  if (inputs.length === 0) fail('the model has no InputLayer');
  const graph: ModelGraph = { name: rootName, nodes, outputs: [display.get(outputId)!], source: fileName };
  if (warnings.length) graph.parseWarnings = warnings;
  return { graph, layers: order.map((p) => p.flat!), tree };
}
