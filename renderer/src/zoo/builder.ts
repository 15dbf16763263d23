/**
 * A small helper that keeps zoo definitions short: each method appends one node and returns its name,
 * so a definition reads like Keras functional code (`x = b.conv('conv1', x, 64, 3)`).
 */
import type { Pair } from '../../../common/analysis-types';
import type { GraphNode, ModelGraph, PaddingMode } from '../analysis/graph';

/** Options of conv-like nodes; defaults follow Keras (stride 1, 'valid', bias on, no activation). */
export interface ConvOpts {
  strides?: number | Pair;
  padding?: PaddingMode;
  dilation?: number | Pair;
  useBias?: boolean;
  activation?: string;
  groups?: number;
}

/** A number or a pair → a pair. */
export function pair(v: number | Pair): Pair {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/** Builds a ModelGraph node by node; node names must be unique. */
export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly names = new Set<string>();
  /** Output shape of each node as far as the builder tracks channels (needed by DenseNet/MobileNet widths). */
  private readonly channels = new Map<string, number>();

  constructor(private readonly modelName: string) {}

  private push(node: GraphNode, channels: number | undefined): string {
    if (this.names.has(node.name)) throw new Error(`zoo ${this.modelName}: duplicate layer name "${node.name}"`);
    for (const i of node.inputs) {
      if (!this.names.has(i)) throw new Error(`zoo ${this.modelName}: layer "${node.name}" uses unknown input "${i}"`);
    }
    this.names.add(node.name);
    this.nodes.push(node);
    if (channels !== undefined) this.channels.set(node.name, channels);
    return node.name;
  }

  /** Channels of a node's output (tracked for spatial nodes). */
  channelsOf(name: string): number {
    const c = this.channels.get(name);
    if (c === undefined) throw new Error(`zoo ${this.modelName}: channels of "${name}" are not tracked`);
    return c;
  }

  input(name: string, shape: [number, number, number]): string {
    return this.push({ name, op: 'input', inputs: [], shape }, shape[2]);
  }

  conv(name: string, x: string, filters: number, kernel: number | Pair, o: ConvOpts = {}): string {
    return this.push(
      {
        name,
        op: 'conv',
        inputs: [x],
        filters,
        kernel: pair(kernel),
        strides: pair(o.strides ?? 1),
        padding: o.padding ?? 'valid',
        dilation: pair(o.dilation ?? 1),
        useBias: o.useBias ?? true,
        ...(o.activation ? { activation: o.activation } : {}),
        ...(o.groups && o.groups !== 1 ? { groups: o.groups } : {}),
      },
      filters,
    );
  }

  depthwise(name: string, x: string, kernel: number | Pair, o: ConvOpts & { depthMultiplier?: number } = {}): string {
    const m = o.depthMultiplier ?? 1;
    return this.push(
      {
        name,
        op: 'depthwise',
        inputs: [x],
        depthMultiplier: m,
        kernel: pair(kernel),
        strides: pair(o.strides ?? 1),
        padding: o.padding ?? 'valid',
        dilation: pair(o.dilation ?? 1),
        useBias: o.useBias ?? true,
        ...(o.activation ? { activation: o.activation } : {}),
      },
      this.channelsOf(x) * m,
    );
  }

  dense(name: string, x: string, units: number, o: { useBias?: boolean; activation?: string } = {}): string {
    return this.push(
      {
        name,
        op: 'dense',
        inputs: [x],
        units,
        useBias: o.useBias ?? true,
        ...(o.activation ? { activation: o.activation } : {}),
      },
      undefined,
    );
  }

  maxpool(
    name: string,
    x: string,
    pool: number | Pair,
    strides?: number | Pair,
    padding: PaddingMode = 'valid',
  ): string {
    const p = pair(pool);
    return this.push(
      { name, op: 'maxpool', inputs: [x], pool: p, strides: pair(strides ?? p), padding },
      this.channelsOf(x),
    );
  }

  avgpool(
    name: string,
    x: string,
    pool: number | Pair,
    strides?: number | Pair,
    padding: PaddingMode = 'valid',
  ): string {
    const p = pair(pool);
    return this.push(
      { name, op: 'avgpool', inputs: [x], pool: p, strides: pair(strides ?? p), padding },
      this.channelsOf(x),
    );
  }

  gap(name: string, x: string): string {
    return this.push({ name, op: 'gap', inputs: [x] }, undefined);
  }

  bn(
    name: string,
    x: string,
    o: { epsilon?: number; momentum?: number; scale?: boolean; center?: boolean } = {},
  ): string {
    return this.push(
      {
        name,
        op: 'bn',
        inputs: [x],
        center: o.center ?? true,
        scale: o.scale ?? true,
        epsilon: o.epsilon ?? 1e-3,
        momentum: o.momentum ?? 0.99,
      },
      this.channels.get(x),
    );
  }

  /** An activation layer; 'relu6' is Keras's ReLU(max_value=6) layer, anything else an Activation layer. */
  act(name: string, x: string, fn: string): string {
    const node = { name, op: 'activation' as const, inputs: [x], fn, ...(fn === 'relu6' ? { className: 'ReLU' } : {}) };
    return this.push(node, this.channels.get(x));
  }

  concat(name: string, xs: string[]): string {
    const c = xs.every((x) => this.channels.has(x)) ? xs.reduce((s, x) => s + this.channelsOf(x), 0) : undefined;
    return this.push({ name, op: 'concat', inputs: xs }, c);
  }

  add(name: string, xs: string[]): string {
    return this.push({ name, op: 'add', inputs: xs }, this.channels.get(xs[0]));
  }

  flatten(name: string, x: string): string {
    return this.push({ name, op: 'flatten', inputs: [x] }, undefined);
  }

  dropout(name: string, x: string, rate: number): string {
    return this.push({ name, op: 'dropout', inputs: [x], rate }, this.channels.get(x));
  }

  /** ZeroPadding2D; `pad` as one number (all sides) or [top, bottom, left, right]. */
  zeropad(name: string, x: string, pad: number | [number, number, number, number]): string {
    const p: [number, number, number, number] = typeof pad === 'number' ? [pad, pad, pad, pad] : pad;
    return this.push({ name, op: 'zeropad', inputs: [x], pad: p }, this.channelsOf(x));
  }

  build(outputs: string[]): ModelGraph {
    for (const o of outputs) if (!this.names.has(o)) throw new Error(`zoo ${this.modelName}: unknown output "${o}"`);
    return { name: this.modelName, nodes: [...this.nodes], outputs };
  }
}
