/**
 * Seeded, untrained weights for any layer graph: He-normal kernels (He et al., ICCV 2015: N(0, 2 / fan_in)),
 * zero biases, and BatchNorm at Keras's initial state (gamma 1, beta 0, moving mean 0, moving variance 1).
 *
 * Why not tfjs's initialisers: `tf.initializers.heNormal` draws through a JavaScript truncated normal that spends
 * ~5 s on VGG-16's 138 M weights; this fills typed arrays with a xoshiro128** stream and a Ziggurat normal sampler
 * (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000) at a few nanoseconds per value.
 *
 * Determinism: each tensor's stream is seeded from (seed, layer name, tensor index) alone, so a layer's weights do
 * not change when other layers are added or reordered, and the same seed always gives the same bytes.
 */
import { analyzeGraph } from '../analysis';
import type { GraphNode, ModelGraph, TensorData, WeightStore } from '../analysis/graph';

/** The seed used when none is given (the zoo's historical default). */
export const DEFAULT_SEED = 42;

/** Options of `seededWeightStore`. */
export interface SeededWeightOptions {
  /** Base seed; default 42. */
  seed?: number;
  /** Input [H, W] when the graph's own input size is open or should be overridden (only channels matter). */
  input?: [number, number];
}

// ---- PRNG: xoshiro128** (Blackman & Vigna), seeded through splitmix32 ----

/** 32-bit FNV-1a of a string, for mixing a layer name into the seed. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** splitmix32 step: a well-mixed 32-bit value from a counter (used only to seed xoshiro's state). */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A xoshiro128** generator: `next()` gives a uniform uint32. */
class Xoshiro128 {
  /** The four state words (int32), shared with `fillNormal`'s inlined loop. */
  readonly state = new Int32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      this.state[i] = splitmix32(x);
      x = (x + 0x9e3779b9) >>> 0;
    }
    // An all-zero state would stay zero forever.
    if ((this.state[0] | this.state[1] | this.state[2] | this.state[3]) === 0) this.state[0] = 1;
  }

  next(): number {
    const s = this.state;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9);
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r >>> 0;
  }

  /** Uniform in (0, 1), never 0 (the Ziggurat's tail takes its log). */
  uniform(): number {
    return ((this.next() >>> 8) + 0.5) / 16777216;
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

// ---- Ziggurat tables (Marsaglia & Tsang's RNOR, 128 layers) ----

/** Layer i's box edge as a fraction of 2^31 (all below 2^31, so int32 compares suffice). */
const KN = new Int32Array(128);
const WN = new Float64Array(128);
const FN = new Float64Array(128);
/** The rightmost layer's edge: the tail begins here. */
const R = 3.442619855899;

(function buildTables() {
  const m1 = 2147483648;
  const vn = 9.91256303526217e-3;
  let dn = R;
  let tn = dn;
  const q = vn / Math.exp(-0.5 * dn * dn);
  KN[0] = Math.floor((dn / q) * m1);
  KN[1] = 0;
  WN[0] = q / m1;
  WN[127] = dn / m1;
  FN[0] = 1;
  FN[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    KN[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    FN[i] = Math.exp(-0.5 * dn * dn);
    WN[i] = dn / m1;
  }
})();

/** The slow path of the Ziggurat: the wedges and the tail (taken for ~1.2 % of draws). */
function normalSlow(rng: Xoshiro128, hz: number, iz: number): number {
  for (;;) {
    const x = hz * WN[iz];
    if (iz === 0) {
      let tx: number;
      let ty: number;
      do {
        tx = -Math.log(rng.uniform()) / R;
        ty = -Math.log(rng.uniform());
      } while (ty + ty < tx * tx);
      return hz > 0 ? R + tx : -R - tx;
    }
    if (FN[iz] + rng.uniform() * (FN[iz - 1] - FN[iz]) < Math.exp(-0.5 * x * x)) return x;
    hz = rng.next() | 0;
    iz = hz & 127;
    if ((hz ^ (hz >> 31)) < KN[iz]) return hz * WN[iz];
  }
}

/** Fills `out` with N(0, std²) draws from `rng`. The fast path (~98.8 %) inlines xoshiro128** on local state. */
function fillNormal(out: Float32Array, rng: Xoshiro128, std: number): void {
  const st = rng.state;
  let a = st[0] | 0;
  let b = st[1] | 0;
  let c = st[2] | 0;
  let d = st[3] | 0;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const m = Math.imul(b, 5);
    const hz = Math.imul((m << 7) | (m >>> 25), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    const iz = hz & 127;
    // hz ^ (hz >> 31) is |hz| (|hz| − 1 for negatives): an int32 compare, no float conversion on the hot path.
    if ((hz ^ (hz >> 31)) < KN[iz]) {
      out[i] = hz * WN[iz] * std;
    } else {
      st[0] = a;
      st[1] = b;
      st[2] = c;
      st[3] = d;
      out[i] = normalSlow(rng, hz, iz) * std;
      a = st[0] | 0;
      b = st[1] | 0;
      c = st[2] | 0;
      d = st[3] | 0;
    }
  }
  st[0] = a;
  st[1] = b;
  st[2] = c;
  st[3] = d;
}

/**
 * `n` standard-normal draws from the stream seeded with `seed` (exported for the sampler's own tests).
 */
export function seededNormals(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  fillNormal(out, new Xoshiro128(seed), 1);
  return out;
}

// ---- The store ----

const product = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** The seed of one tensor's stream: the base seed, the layer's name and the tensor's place in the layer. */
function tensorSeed(seed: number, layer: string, index: number): number {
  return splitmix32((splitmix32(seed >>> 0) ^ fnv1a(layer)) + index * 0x632be5ab);
}

/**
 * He-normal weights (std √(2 / fan_in)) for every weighted node of `graph`, in the canonical layouts
 * `WeightStore` documents. Fan-in is the number of inputs one output unit sums over, as He et al. define it:
 * kh·kw·C_in/groups for a conv, kh·kw for a depthwise kernel (each output sees one channel), C_in·multiplier for a
 * separable layer's pointwise kernel, kh·kw·C_in for a transposed conv, the input width for a dense layer.
 * Biases are zero; BatchNorm starts as Keras's does (gamma 1, beta 0, mean 0, variance 1); PReLU slopes are 0 (Keras's
 * default). Same seed → the same values; any layer's values depend only on the seed and its name.
 */
export function seededWeightStore(graph: ModelGraph, opts: SeededWeightOptions = {}): WeightStore {
  const forNode = seededWeights(graph, opts);
  const store: WeightStore = new Map();
  for (const node of graph.nodes) {
    const tensors = forNode(node);
    if (tensors.length) store.set(node.name, tensors);
  }
  return store;
}

/**
 * The same weights one node at a time, drawn when asked (the IR runner's lazy mode: a layer's weights are made
 * when a pass first reaches it). `seededWeights(g)(node)` equals `seededWeightStore(g).get(node.name) ?? []`.
 */
export function seededWeights(graph: ModelGraph, opts: SeededWeightOptions = {}): (node: GraphNode) => TensorData[] {
  const seed = opts.seed ?? DEFAULT_SEED;
  const analysis = analyzeGraph(graph, opts.input ? { input: opts.input } : {});
  const shapeOf = new Map(analysis.layers.map((l) => [l.id, l.outputShape]));
  return (node) => {
    const inShape = shapeOf.get(node.inputs[0] ?? '');
    return inShape ? weightsFor(node, inShape, seed) : [];
  };
}

function weightsFor(node: GraphNode, inShape: number[], seed: number): TensorData[] {
  const cin = inShape[inShape.length - 1];
  const name = node.name;
  let index = 0;
  const he = (suffix: string, shape: number[], fanIn: number): TensorData => {
    const data = new Float32Array(product(shape));
    fillNormal(data, new Xoshiro128(tensorSeed(seed, name, index++)), Math.sqrt(2 / fanIn));
    return { name: `${name}/${suffix}`, shape, data };
  };
  const filled = (suffix: string, shape: number[], value: number): TensorData => {
    index++;
    return { name: `${name}/${suffix}`, shape, data: new Float32Array(product(shape)).fill(value) };
  };
  const out: TensorData[] = [];
  switch (node.op) {
    case 'conv': {
      const groups = node.groups ?? 1;
      const [kh, kw] = node.kernel;
      out.push(he('kernel', [kh, kw, cin / groups, node.filters], kh * kw * (cin / groups)));
      if (node.useBias) out.push(filled('bias', [node.filters], 0));
      break;
    }
    case 'depthwise': {
      const [kh, kw] = node.kernel;
      out.push(he('depthwise_kernel', [kh, kw, cin, node.depthMultiplier], kh * kw));
      if (node.useBias) out.push(filled('bias', [cin * node.depthMultiplier], 0));
      break;
    }
    case 'separable': {
      const [kh, kw] = node.kernel;
      const mid = cin * node.depthMultiplier;
      out.push(he('depthwise_kernel', [kh, kw, cin, node.depthMultiplier], kh * kw));
      out.push(he('pointwise_kernel', [1, 1, mid, node.filters], mid));
      if (node.useBias) out.push(filled('bias', [node.filters], 0));
      break;
    }
    case 'convtranspose': {
      const [kh, kw] = node.kernel;
      out.push(he('kernel', [kh, kw, node.filters, cin], kh * kw * cin));
      if (node.useBias) out.push(filled('bias', [node.filters], 0));
      break;
    }
    case 'dense':
      out.push(he('kernel', [cin, node.units], cin));
      if (node.useBias) out.push(filled('bias', [node.units], 0));
      break;
    case 'bn':
      if (node.scale) out.push(filled('gamma', [cin], 1));
      if (node.center) out.push(filled('beta', [cin], 0));
      out.push(filled('moving_mean', [cin], 0));
      out.push(filled('moving_variance', [cin], 1));
      break;
    case 'activation':
      if (node.fn === 'prelu') out.push(filled('alpha', node.weights?.[0]?.shape ?? inShape, 0));
      break;
  }
  return out;
}
