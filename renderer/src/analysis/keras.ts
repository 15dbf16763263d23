/**
 * Reads a tfjs layers-model `model.json` (a Keras model topology plus a weights manifest) into the shared layer
 * graph, so user models and the bundled pretrained models get the same arithmetic as the zoo.
 * Supports Model / Functional / Sequential topologies in Keras 2 `inbound_nodes` form (and Keras 3's
 * `keras_history` form as far as it resolves), with the layer classes of CNNs; any other class becomes an
 * 'unknown' node whose weights are still counted from the manifest.
 */
import type { Pair } from './types';
import { AnalysisError } from './analyze';
import type { GraphNode, ModelGraph, PaddingMode, WeightSpec } from '../zoo/graph';

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

const activationOf = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v === 'linear' ? undefined : v;
  if (isObj(v) && typeof v.class_name === 'string') return v.class_name;
  return undefined;
};

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
function layerToNode(layer: Json, inputs: string[], file: string): GraphNode {
  const cls = String(layer.class_name);
  const cfg = isObj(layer.config) ? layer.config : {};
  const name = String(layer.name ?? cfg.name);
  const where = `${file}: layer "${name}" (${cls})`;
  const base = { name, inputs, className: cls, ...(cfg.trainable === false ? { trainable: false } : {}) };
  if (cfg.data_format === 'channels_first')
    throw new Error(`${where}: data_format channels_first is not supported (NHWC only)`);
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
        throw new Error(`${where}: expected an image input [batch, H, W, C], got ${JSON.stringify(s)}`);
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
    case 'Activation':
      return { ...base, op: 'activation', fn: activationOf(cfg.activation) ?? 'linear' };
    case 'ReLU': {
      const max = cfg.max_value;
      const slope = cfg.negative_slope;
      const fn =
        typeof slope === 'number' && slope !== 0
          ? 'leaky_relu'
          : max === 6
            ? 'relu6'
            : typeof max === 'number'
              ? `relu(max ${max})`
              : 'relu';
      return { ...base, op: 'activation', fn };
    }
    case 'LeakyReLU':
    case 'PReLU':
    case 'ELU':
    case 'Softmax':
    case 'ThresholdedReLU':
      // PReLU has weights (its slopes); they come from the manifest like any other layer's.
      return { ...base, op: 'activation', fn: cls.toLowerCase() };
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
    case 'Flatten':
      return { ...base, op: 'flatten' };
    case 'Dropout':
    case 'SpatialDropout2D':
    case 'GaussianDropout':
    case 'AlphaDropout':
      return { ...base, op: 'dropout', rate: typeof cfg.rate === 'number' ? cfg.rate : 0 };
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
  const cls = topo.class_name as string;
  const warnings: string[] = [];
  let rawLayers: Json[];
  let outputs: string[] = [];
  let modelName = fileName;
  const cfg = topo.config;
  const fail = (msg: string): never => {
    throw new AnalysisError(`${fileName}: ${msg}`, fileName);
  };

  if (cls === 'Sequential') {
    const list = Array.isArray(cfg)
      ? cfg
      : isObj(cfg) && Array.isArray(cfg.layers)
        ? cfg.layers
        : fail('Sequential model without a "layers" list');
    if (isObj(cfg) && typeof cfg.name === 'string') modelName = cfg.name;
    rawLayers = (list as unknown[]).filter(isObj);
    // Sequential models chain their layers; the input comes from the first layer's batch_input_shape.
    const chained: Json[] = [];
    let prev: string | null = null;
    rawLayers.forEach((l, i) => {
      const lc = isObj(l.config) ? l.config : {};
      const name = String(l.name ?? lc.name ?? `layer_${i}`);
      if (l.class_name === 'InputLayer') {
        chained.push({ ...l, name, inbound_nodes: [] });
        prev = name;
        return;
      }
      if (prev === null) {
        const shape =
          lc.batch_input_shape ??
          lc.batch_shape ??
          (Array.isArray(lc.input_shape) ? [null, ...lc.input_shape] : undefined);
        if (!shape) fail(`the first layer "${name}" of the Sequential model declares no input shape`);
        chained.push({
          class_name: 'InputLayer',
          name: 'input',
          config: { batch_input_shape: shape, name: 'input' },
          inbound_nodes: [],
        });
        prev = 'input';
      }
      chained.push({ ...l, name, inbound_nodes: [[[prev, 0, 0, {}]]] });
      prev = name;
    });
    rawLayers = chained;
    outputs = prev ? [prev] : [];
  } else if (cls === 'Model' || cls === 'Functional') {
    if (!isObj(cfg) || !Array.isArray(cfg.layers)) return fail(`${cls} config without a "layers" list`);
    if (typeof cfg.name === 'string') modelName = cfg.name;
    rawLayers = cfg.layers.filter(isObj);
    const outs = cfg.output_layers;
    if (Array.isArray(outs)) {
      // Keras 2: [[name, 0, 0], ...]; a single output may be written flat: [name, 0, 0].
      outputs = (typeof outs[0] === 'string' ? [outs] : outs).map((o) => (Array.isArray(o) ? String(o[0]) : String(o)));
    }
  } else {
    return fail(`model class "${cls}" is not supported (expected Model, Functional or Sequential)`);
  }

  const names = rawLayers.map((l) => String(l.name ?? (isObj(l.config) ? l.config.name : '')));
  const weights = assignWeights(modelJson as Json, names);
  const nodes: GraphNode[] = [];
  for (const l of rawLayers) {
    const name = String(l.name ?? (isObj(l.config) ? l.config.name : ''));
    if (!name) fail('a layer has no name');
    let node: GraphNode;
    try {
      const inputs = inboundNames(l, `${fileName}: layer "${name}"`, warnings);
      node = layerToNode({ ...l, name }, inputs, fileName);
    } catch (e) {
      if (e instanceof AnalysisError) throw e;
      throw new AnalysisError(
        (e as Error).message.startsWith(fileName) ? (e as Error).message : `${fileName}: ${(e as Error).message}`,
        fileName,
        name,
      );
    }
    const w = weights.byLayer.get(name);
    if (weights.present) node.weights = w ?? [];
    nodes.push(node);
  }
  if (!nodes.some((n) => n.op === 'input')) fail('the model has no InputLayer');
  if (outputs.length === 0 && nodes.length) outputs = [nodes[nodes.length - 1].name];
  const graph: ModelGraph = { name: modelName, nodes, outputs, source: fileName };
  if (weights.unmatched.length) graph.unmatchedWeights = weights.unmatched;
  if (warnings.length) graph.parseWarnings = warnings;
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
