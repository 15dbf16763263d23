/**
 * Turns a zoo layer graph (renderer/src/zoo) into a tfjs-layers model with tfjs's seeded He-normal initialisers.
 * The engine does not use it: it runs every model, the zoo included, through the IR runner (ir-runner.ts) with
 * `seededWeightStore` (seeded-weights.ts). This builder stays as the tests' independent reference — tfjs-layers'
 * own implementation of each Keras layer — against which the IR runner is checked (test/engine/ir-runner.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { getZooGraph, type GraphNode, type ModelGraph } from '../zoo';
import type { Padding, PaddingMode } from '../analysis/graph';
import type { Pair } from '../../../common/analysis-types';

/** Options of `buildZooModel`. */
export interface BuildZooOptions {
  /** Input [H, W]; defaults to the architecture's own input size. */
  input?: Pair;
  /** Base seed of the He-normal initialisers (each weighted layer adds its index); default 42. */
  seed?: number;
}

const pad4 = (p: [number, number, number, number]): [[number, number], [number, number]] => [
  [p[0], p[1]],
  [p[2], p[3]],
];

type ActivationIdentifier = Parameters<typeof tf.layers.activation>[0]['activation'];

const ACTIVATIONS: readonly ActivationIdentifier[] = [
  'linear',
  'relu',
  'relu6',
  'softmax',
  'sigmoid',
  'tanh',
  'elu',
  'selu',
  'softplus',
  'softsign',
  'swish',
  'mish',
];

/** The graph's activation name as a tfjs activation identifier (they share Keras's names). */
function activationId(fn: string | undefined, where: string): ActivationIdentifier {
  const id = fn ?? 'linear';
  const found = ACTIVATIONS.find((a) => a === id);
  if (!found) throw new Error(`${where}: activation "${id}" has no tfjs equivalent`);
  return found;
}

/** tfjs-layers knows only Keras's padding modes; explicit pads run through the IR runner instead. */
function modeOf(p: Padding, where: string): PaddingMode {
  if (typeof p === 'string') return p;
  throw new Error(`${where}: explicit padding ${JSON.stringify(p)} has no tfjs-layers equivalent`);
}

/** One graph node → one tfjs layer (not yet applied). `seed` is only used by layers with weights. */
function makeLayer(node: GraphNode, seed: number, where: string): tf.layers.Layer {
  const name = node.name;
  const init = () => tf.initializers.heNormal({ seed });
  switch (node.op) {
    case 'conv':
      if (node.groups && node.groups > 1)
        throw new Error(`${where}: grouped convolutions have no tfjs-layers equivalent`);
      return tf.layers.conv2d({
        name,
        filters: node.filters,
        kernelSize: node.kernel,
        strides: node.strides,
        padding: modeOf(node.padding, where),
        dilationRate: node.dilation,
        useBias: node.useBias,
        activation: activationId(node.activation, where),
        kernelInitializer: init(),
      });
    case 'depthwise':
      return tf.layers.depthwiseConv2d({
        name,
        kernelSize: node.kernel,
        depthMultiplier: node.depthMultiplier,
        strides: node.strides,
        padding: modeOf(node.padding, where),
        dilationRate: node.dilation,
        useBias: node.useBias,
        activation: activationId(node.activation, where),
        depthwiseInitializer: init(),
      });
    case 'separable':
      return tf.layers.separableConv2d({
        name,
        filters: node.filters,
        kernelSize: node.kernel,
        depthMultiplier: node.depthMultiplier,
        strides: node.strides,
        padding: modeOf(node.padding, where),
        dilationRate: node.dilation,
        useBias: node.useBias,
        activation: activationId(node.activation, where),
        depthwiseInitializer: init(),
        pointwiseInitializer: tf.initializers.heNormal({ seed: seed + 1_000_000 }),
      });
    case 'dense':
      return tf.layers.dense({
        name,
        units: node.units,
        useBias: node.useBias,
        activation: activationId(node.activation, where),
        kernelInitializer: init(),
      });
    case 'maxpool':
      return tf.layers.maxPooling2d({
        name,
        poolSize: node.pool,
        strides: node.strides,
        padding: modeOf(node.padding, where),
      });
    case 'avgpool':
      return tf.layers.averagePooling2d({
        name,
        poolSize: node.pool,
        strides: node.strides,
        padding: modeOf(node.padding, where),
      });
    case 'gap':
      if (node.keepDims) throw new Error(`${where}: keepDims global pooling is not built`);
      return tf.layers.globalAveragePooling2d({ name });
    case 'gmp':
      if (node.keepDims) throw new Error(`${where}: keepDims global pooling is not built`);
      return tf.layers.globalMaxPooling2d({ name });
    case 'bn':
      return tf.layers.batchNormalization({
        name,
        axis: -1,
        epsilon: node.epsilon,
        momentum: node.momentum,
        center: node.center,
        scale: node.scale,
      });
    case 'activation':
      // Keras's ReLU(max_value=6) layer; tfjs has the same layer.
      if (node.fn === 'relu6' && node.className === 'ReLU') return tf.layers.reLU({ name, maxValue: 6 });
      return tf.layers.activation({ name, activation: activationId(node.fn, where) });
    case 'concat':
      return tf.layers.concatenate({ name, axis: -1 });
    case 'add':
      return tf.layers.add({ name });
    case 'multiply':
      return tf.layers.multiply({ name });
    case 'flatten':
      return tf.layers.flatten({ name });
    case 'dropout':
      return tf.layers.dropout({ name, rate: node.rate });
    case 'zeropad':
      return tf.layers.zeroPadding2d({ name, padding: pad4(node.pad) });
    case 'crop':
      return tf.layers.cropping2D({ name, cropping: pad4(node.crop) });
    case 'reshape':
      return tf.layers.reshape({ name, targetShape: node.targetShape });
    default:
      throw new Error(`${where}: layer "${name}" (${node.op}) cannot be built as a tfjs-layers layer`);
  }
}

/**
 * Builds a tfjs LayersModel from a layer graph (any graph without unknown layers). Each weighted layer gets
 * He-normal weights seeded with `seed + index`, so two builds with the same seed are identical.
 */
export function buildGraphModel(graph: ModelGraph, opts: { input?: Pair; seed?: number } = {}): tf.LayersModel {
  const seed = opts.seed ?? 42;
  const where = graph.source ?? `zoo ${graph.name}`;
  const tensors = new Map<string, tf.SymbolicTensor>();
  const inputs: tf.SymbolicTensor[] = [];
  let weighted = 0;
  for (const node of graph.nodes) {
    if (node.op === 'input') {
      const h = opts.input?.[0] ?? node.shape[0];
      const w = opts.input?.[1] ?? node.shape[1];
      const t = tf.input({ name: node.name, shape: [h, w, node.shape[2]] });
      tensors.set(node.name, t);
      inputs.push(t);
      continue;
    }
    const hasWeights = node.op === 'conv' || node.op === 'depthwise' || node.op === 'separable' || node.op === 'dense';
    const layer = makeLayer(node, seed + (hasWeights ? weighted++ : 0), where);
    const ins = node.inputs.map((i) => {
      const t = tensors.get(i);
      if (!t)
        throw new Error(`${where}: layer "${node.name}" needs "${i}", which is not built yet (graph out of order)`);
      return t;
    });
    const out = layer.apply(ins.length === 1 ? ins[0] : ins);
    tensors.set(node.name, out as tf.SymbolicTensor);
  }
  const outputs = graph.outputs.map((o) => tensors.get(o) as tf.SymbolicTensor);
  return tf.model({ name: graph.name, inputs, outputs });
}

/**
 * The zoo architecture `id` as a tfjs LayersModel with seeded, untrained He-normal weights; layer names match
 * `getZooGraph(id)`. Throws for an unknown id. Large architectures allocate all their weights (VGG-16: 138 M
 * floats, 553 MB), so build those with a backend that has the memory.
 */
export function buildZooModel(id: string, opts: BuildZooOptions = {}): tf.LayersModel {
  const graph = getZooGraph(id, opts.input ? { input: opts.input } : {});
  return buildGraphModel(graph, { seed: opts.seed });
}
