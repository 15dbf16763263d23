/**
 * A builder for torchvision's architectures in the layer-graph IR. Each method appends one node named after
 * the torchvision module it stands for (`layer1.0.conv1`, `features.denseblock1.denselayer1.norm1`), so the
 * layer list reads like `print(model)`, and records the state-dict tensors that module owns in PyTorch's own
 * layout (Conv2d weight [O, I/groups, kh, kw], Linear weight [out, in], BatchNorm2d weight / bias /
 * running_mean / running_var). That record is both what a `.pth` file is recognised by (keys *and* shapes)
 * and the recipe to convert its tensors into the IR's canonical layout (formats/pytorch.ts).
 *
 * Sizes follow PyTorch's rules (symmetric explicit padding, floor or ceil_mode pooling), tracked per node so
 * the first Linear after a flatten knows the (C, H, W) it flattens.
 */
import type { Pair } from '../../../../common/analysis-types';
import type { GraphNode, ModelGraph, WeightSpec } from '../../analysis/graph';

/** One state-dict tensor a module owns: its key and its shape in PyTorch's layout. */
export interface TorchParam {
  key: string;
  shape: number[];
  role: 'weight' | 'bias' | 'stat';
}

/**
 * How a node's IR weights come from the state dict: the tensors in the IR's order (see WeightStore) and the
 * layout change each needs.
 */
export interface TorchLayer {
  node: string;
  kind: 'conv' | 'depthwise' | 'linear' | 'bn';
  params: TorchParam[];
  /** Linear after torch.flatten of a (C, H, W) map: the IR flattens (H, W, C), so the input rows are permuted. */
  flattenedFrom?: [number, number, number];
}

/** A torchvision architecture built for one input size, with the state dict it expects. */
export interface TorchvisionGraph {
  graph: ModelGraph;
  layers: TorchLayer[];
  /** The classifier's node (its out features are the file's class count). */
  head: string;
}

/** Spatial size of a conv / pool output along one axis, as PyTorch computes it. */
export function outSize(i: number, k: number, s: number, p: number, d = 1, ceil = false): number {
  const span = i + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // ceil_mode: the last window must start inside the input or its left padding.
  if (ceil && (o - 1) * s >= i + p) o--;
  return o;
}

type Shape = [number, number, number] | [number];

/** Options of a Conv2d as torchvision writes them. */
export interface TorchConvOpts {
  stride?: number | Pair;
  padding?: number | Pair;
  groups?: number;
  bias?: boolean;
}

const pairOf = (v: number | Pair): Pair => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Builds a torchvision graph node by node; see the module comment. */
export class TorchGraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly shapes = new Map<string, Shape>();
  readonly layers: TorchLayer[] = [];

  constructor(private readonly modelName: string) {}

  private push(node: GraphNode, shape: Shape, layer?: Omit<TorchLayer, 'node'>): string {
    if (this.shapes.has(node.name)) throw new Error(`torchvision ${this.modelName}: duplicate node "${node.name}"`);
    for (const i of node.inputs)
      if (!this.shapes.has(i)) throw new Error(`torchvision ${this.modelName}: "${node.name}" reads unknown "${i}"`);
    if (layer) {
      node.weights = layer.params.map((p): WeightSpec => ({
        name: p.key,
        shape: irShape(layer.kind, p),
        role: p.role,
      }));
      this.layers.push({ node: node.name, ...layer });
    }
    this.nodes.push(node);
    this.shapes.set(node.name, shape);
    return node.name;
  }

  /** [H, W, C] of a spatial node. */
  spatial(x: string): [number, number, number] {
    const s = this.shapes.get(x);
    if (!s || s.length !== 3) throw new Error(`torchvision ${this.modelName}: "${x}" is not an image tensor`);
    return s;
  }

  channels(x: string): number {
    return this.spatial(x)[2];
  }

  input(name: string, h: number, w: number): string {
    return this.push({ name, op: 'input', inputs: [], shape: [h, w, 3] }, [h, w, 3]);
  }

  /** nn.Conv2d(C_in, filters, kernel, stride, padding, groups, bias); a depthwise node when groups = C_in = filters. */
  conv(name: string, x: string, filters: number, kernel: number | Pair, o: TorchConvOpts = {}): string {
    const [h, w, c] = this.spatial(x);
    const k = pairOf(kernel);
    const s = pairOf(o.stride ?? 1);
    const p = pairOf(o.padding ?? 0);
    const groups = o.groups ?? 1;
    const bias = o.bias ?? true;
    const shape: Shape = [outSize(h, k[0], s[0], p[0]), outSize(w, k[1], s[1], p[1]), filters];
    const params: TorchParam[] = [{ key: `${name}.weight`, shape: [filters, c / groups, k[0], k[1]], role: 'weight' }];
    if (bias) params.push({ key: `${name}.bias`, shape: [filters], role: 'bias' });
    const common = {
      name,
      inputs: [x],
      kernel: k,
      strides: s,
      padding: [p[0], p[0], p[1], p[1]] as [number, number, number, number],
      dilation: [1, 1] as Pair,
      useBias: bias,
      className: 'Conv2d',
    };
    if (groups > 1 && groups === c && filters === c) {
      return this.push({ ...common, op: 'depthwise', depthMultiplier: 1 }, shape, { kind: 'depthwise', params });
    }
    const node: GraphNode = { ...common, op: 'conv', filters, ...(groups > 1 ? { groups } : {}) };
    return this.push(node, shape, { kind: 'conv', params });
  }

  /** nn.BatchNorm2d(C, eps): its own layer, with running_mean / running_var as statistics. */
  bn(name: string, x: string, eps: number): string {
    const c = this.channels(x);
    const params: TorchParam[] = [
      { key: `${name}.weight`, shape: [c], role: 'weight' },
      { key: `${name}.bias`, shape: [c], role: 'bias' },
      { key: `${name}.running_mean`, shape: [c], role: 'stat' },
      { key: `${name}.running_var`, shape: [c], role: 'stat' },
    ];
    const node: GraphNode = {
      name,
      op: 'bn',
      inputs: [x],
      center: true,
      scale: true,
      epsilon: eps,
      momentum: 0.9, // PyTorch's momentum 0.1 is Keras' 0.9; inference does not use it
      className: 'BatchNorm2d',
    };
    return this.push(node, this.spatial(x), { kind: 'bn', params });
  }

  /** nn.ReLU / nn.ReLU6. */
  act(name: string, x: string, fn: 'relu' | 'relu6'): string {
    const shape = this.shapes.get(x)!;
    return this.push({ name, op: 'activation', inputs: [x], fn, className: fn === 'relu' ? 'ReLU' : 'ReLU6' }, [
      ...shape,
    ] as Shape);
  }

  /** nn.MaxPool2d(kernel, stride, padding, ceil_mode). */
  maxpool(name: string, x: string, kernel: number, stride: number, padding = 0, ceil = false): string {
    return this.pool('maxpool', name, x, kernel, stride, padding, ceil, false);
  }

  /** nn.AvgPool2d / F.avg_pool2d (count_include_pad defaults to True in PyTorch). */
  avgpool(name: string, x: string, kernel: number, stride: number, padding = 0, countIncludePad = true): string {
    return this.pool('avgpool', name, x, kernel, stride, padding, false, countIncludePad);
  }

  private pool(
    op: 'maxpool' | 'avgpool',
    name: string,
    x: string,
    k: number,
    s: number,
    p: number,
    ceil: boolean,
    include: boolean,
  ): string {
    const [h, w, c] = this.spatial(x);
    const node: GraphNode = {
      name,
      op,
      inputs: [x],
      pool: [k, k],
      strides: [s, s],
      padding: [p, p, p, p],
      ...(ceil ? { ceilMode: true } : {}),
      ...(op === 'avgpool' && include && p > 0 ? { countIncludePad: true } : {}),
      className: op === 'maxpool' ? 'MaxPool2d' : 'AvgPool2d',
    };
    return this.push(node, [outSize(h, k, s, p, 1, ceil), outSize(w, k, s, p, 1, ceil), c]);
  }

  /**
   * nn.AdaptiveAvgPool2d(out). Where the map already has the target size it is the identity; where the size
   * is a whole multiple of the target it is exactly an average pool with kernel = stride = size / target
   * (every adaptive window is then that block). Other sizes are refused rather than approximated.
   */
  adaptiveAvgPool(name: string, x: string, out: Pair): string {
    const [h, w, c] = this.spatial(x);
    if (out[0] === 1 && out[1] === 1) {
      return this.push({ name, op: 'gap', inputs: [x], className: 'AdaptiveAvgPool2d' }, [c]);
    }
    if (h === out[0] && w === out[1]) {
      return this.push({ name, op: 'identity', inputs: [x], className: 'AdaptiveAvgPool2d' }, [h, w, c]);
    }
    if (h % out[0] === 0 && w % out[1] === 0) {
      const k: Pair = [h / out[0], w / out[1]];
      const node: GraphNode = {
        name,
        op: 'avgpool',
        inputs: [x],
        pool: k,
        strides: k,
        padding: 'valid',
        className: 'AdaptiveAvgPool2d',
      };
      return this.push(node, [out[0], out[1], c]);
    }
    throw new Error(
      `torchvision ${this.modelName}: AdaptiveAvgPool2d(${out.join(', ')}) of a ${h}×${w} map is not a fixed pool; ` +
        `use an input whose feature map is a multiple of ${out.join('×')}`,
    );
  }

  /** torch.flatten(x, 1). */
  flatten(name: string, x: string): string {
    const s = this.shapes.get(x)!;
    return this.push({ name, op: 'flatten', inputs: [x], className: 'Flatten' }, [s.reduce((a, b) => a * b, 1)]);
  }

  dropout(name: string, x: string, rate: number): string {
    const s = this.shapes.get(x)!;
    return this.push({ name, op: 'dropout', inputs: [x], rate, className: 'Dropout' }, [...s] as Shape);
  }

  /**
   * nn.Linear(in, units). `flattenedFrom` names the spatial node torch.flatten read, when this Linear reads
   * the flatten of an H×W×C map with H·W > 1 (its input rows are then in PyTorch's C, H, W order).
   */
  linear(name: string, x: string, units: number, flattenedFrom?: string): string {
    const s = this.shapes.get(x)!;
    if (s.length !== 1) throw new Error(`torchvision ${this.modelName}: Linear "${name}" needs a flat input`);
    const params: TorchParam[] = [
      { key: `${name}.weight`, shape: [units, s[0]], role: 'weight' },
      { key: `${name}.bias`, shape: [units], role: 'bias' },
    ];
    let from: [number, number, number] | undefined;
    if (flattenedFrom) {
      const [h, w, c] = this.spatial(flattenedFrom);
      if (h * w > 1) from = [c, h, w];
    }
    const node: GraphNode = { name, op: 'dense', inputs: [x], units, useBias: true, className: 'Linear' };
    return this.push(node, [units], { kind: 'linear', params, ...(from ? { flattenedFrom: from } : {}) });
  }

  concat(name: string, xs: string[]): string {
    const ss = xs.map((x) => this.spatial(x));
    const c = ss.reduce((a, s) => a + s[2], 0);
    return this.push({ name, op: 'concat', inputs: xs, className: 'cat' }, [ss[0][0], ss[0][1], c]);
  }

  add(name: string, xs: string[]): string {
    return this.push({ name, op: 'add', inputs: xs, className: 'add' }, [...this.spatial(xs[0])]);
  }

  /** A fixed per-channel affine map (GoogLeNet / Inception-v3 `transform_input`). */
  scale(name: string, x: string, scale: number[], offset: number[], className: string): string {
    return this.push({ name, op: 'scale', inputs: [x], scale, offset, className }, [...this.spatial(x)]);
  }

  build(output: string, head: string): TorchvisionGraph {
    return { graph: { name: this.modelName, nodes: [...this.nodes], outputs: [output] }, layers: this.layers, head };
  }
}

/** A tensor's shape in the IR's canonical layout (see WeightStore). */
export function irShape(kind: TorchLayer['kind'], p: TorchParam): number[] {
  if (p.shape.length === 4 && kind === 'conv') {
    const [o, i, kh, kw] = p.shape;
    return [kh, kw, i, o];
  }
  if (p.shape.length === 4 && kind === 'depthwise') {
    const [c, , kh, kw] = p.shape;
    return [kh, kw, c, 1];
  }
  if (p.shape.length === 2) return [p.shape[1], p.shape[0]];
  return [...p.shape];
}
