/**
 * One forward pass that yields every layer's output, in layer order, as it is computed.
 *
 * For a tfjs LayersModel this walks the model's own graph (the same topological walk tfjs-layers'
 * executor does for `predict` on a multi-output `tf.model`): each node's layer is applied to concrete
 * tensors, and after each layer the caller gets its output before the next layer runs. That is what
 * lets the first feature maps reach the UI before the last layer is computed, and lets a newer request
 * cancel the pass between layers. The plan (sorted nodes, consumer counts) is built once per model.
 * Tensors are disposed as soon as their last consumer ran and the caller has seen them.
 *
 * A GraphModel (tfjs-converter) has no per-node hook: `executeAsync(input, nodeNames)` computes every
 * node in one call, then outputs are handed over in graph order.
 */
import * as tf from '@tensorflow/tfjs';
import { inboundNodes } from './tfjs-private';

/** The parts of tfjs-layers' SymbolicTensor and Node the walk needs (public fields, not in tf's typings). */
interface SymTensor {
  id: number;
  shape: (number | null)[];
  dtype: string;
  sourceLayer: tf.layers.Layer;
}
interface LayerNode {
  inputTensors: SymTensor[];
  outputTensors: SymTensor[];
}

/**
 * How a layer's per-channel min, max and zero count follow exactly from its inputs' (known-stats.ts), so that
 * extraction needs no min/max pass over its values: a copy ('same': Dropout, Identity), zero padding ('pad'), a
 * channel concatenation ('concat'). `inputs` are the frame indices of the layer's inputs, in order.
 */
export interface StatsRule {
  kind: 'same' | 'pad' | 'concat';
  inputs: number[];
}

/** One layer's output during a pass. The tensor stays valid until the callback's promise settles. */
export interface LayerOutput {
  layerId: string;
  /** Index in frameOrder. */
  index: number;
  tensor: tf.Tensor;
  /** Where this layer's stats follow from its inputs' (IR runner). */
  rule?: StatsRule;
  /** Whether a later layer's rule reads this layer's stats (keep them for the pass). */
  feedsRule?: boolean;
}

export type OnLayer = (out: LayerOutput) => void | Promise<void>;

/** Thrown between layers when the pass was cancelled. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

/** What both runners offer the engine. */
export interface Runner {
  readonly kind: 'layers' | 'graph' | 'ir';
  /** Layer ids in the order frames are produced. */
  readonly frameOrder: string[];
  /** Output shape (with batch axis) per frame layer, as the model declares it (nulls for unknown). */
  readonly outputShapes: Map<string, (number | null)[]>;
  /**
   * Runs the whole model on `input` ([1, H, W, C]); calls onLayer for each frame layer in order.
   * `checkpoint` runs between layers (cancellation: it throws CancelledError). All intermediate
   * tensors are disposed before this resolves or rejects; `input` is not.
   */
  run(input: tf.Tensor, onLayer: OnLayer | null, checkpoint?: () => Promise<void>): Promise<void>;
  /** Computes one layer's output (only the nodes it depends on); the caller disposes the result. */
  runTo(input: tf.Tensor, layerId: string): Promise<tf.Tensor>;
  /** The single-output prediction (bench: plain inference). */
  predict(input: tf.Tensor): tf.Tensor;
  dispose(): void;
}

interface Step {
  layer: tf.layers.Layer;
  inputs: SymTensor[];
  outputs: SymTensor[];
  /** Frame index when this step's first output is a frame. */
  frame: number | null;
}

const isInputLayer = (l: tf.layers.Layer) => l.getClassName() === 'InputLayer';

/** Walks a tfjs LayersModel node by node (see the module comment). */
export class LayersRunner implements Runner {
  readonly kind = 'layers';
  readonly frameOrder: string[] = [];
  readonly outputShapes = new Map<string, (number | null)[]>();
  private readonly steps: Step[] = [];
  private readonly inputIds: number[];
  private readonly producer = new Map<number, Step>();

  constructor(readonly model: tf.LayersModel) {
    const inputs = model.inputs as unknown as SymTensor[];
    if (inputs.length !== 1)
      throw new Error(`the model has ${inputs.length} inputs; only single-image models are supported`);
    this.inputIds = inputs.map((t) => t.id);
    const candidate: Step[] = [];
    for (const layer of model.layers) {
      if (isInputLayer(layer)) continue;
      const nodes = inboundNodes<LayerNode>(layer);
      nodes.forEach((node, k) => {
        candidate.push({ layer, inputs: node.inputTensors, outputs: node.outputTensors, frame: k === 0 ? 0 : null });
      });
    }
    for (const s of candidate) for (const o of s.outputs) this.producer.set(o.id, s);
    // Topological order by depth-first search from every step (model.layers is sorted already, but a
    // nested or shared layer can break that assumption cheaply).
    const state = new Map<Step, 1 | 2>();
    const visit = (s: Step) => {
      const st = state.get(s);
      if (st === 2) return;
      if (st === 1) throw new Error(`the model graph has a cycle at layer '${s.layer.name}'`);
      state.set(s, 1);
      for (const t of s.inputs) {
        const p = this.producer.get(t.id);
        if (p) visit(p);
        else if (!this.inputIds.includes(t.id)) {
          throw new Error(`layer '${s.layer.name}' reads a tensor that no layer of this model produces`);
        }
      }
      state.set(s, 2);
      this.steps.push(s);
    };
    candidate.forEach(visit);
    for (const s of this.steps) {
      if (s.frame === null) continue;
      s.frame = this.frameOrder.length;
      this.frameOrder.push(s.layer.name);
      this.outputShapes.set(s.layer.name, s.outputs[0].shape);
    }
  }

  /** Steps needed for `targets` (all when null), in order, with each tensor's consumer count. */
  private plan(targets: Set<number> | null): { steps: Step[]; consumers: Map<number, number> } {
    let steps = this.steps;
    if (targets) {
      const need = new Set<Step>();
      const stack = [...targets].map((id) => this.producer.get(id)).filter((s): s is Step => !!s);
      while (stack.length) {
        const s = stack.pop()!;
        if (need.has(s)) continue;
        need.add(s);
        for (const t of s.inputs) {
          const p = this.producer.get(t.id);
          if (p) stack.push(p);
        }
      }
      steps = this.steps.filter((s) => need.has(s));
    }
    const consumers = new Map<number, number>();
    for (const s of steps) for (const t of s.inputs) consumers.set(t.id, (consumers.get(t.id) ?? 0) + 1);
    return { steps, consumers };
  }

  async run(input: tf.Tensor, onLayer: OnLayer | null, checkpoint?: () => Promise<void>): Promise<void> {
    const { steps, consumers } = this.plan(null);
    const live = new LiveTensors(input);
    live.set(this.inputIds[0], input);
    try {
      for (const step of steps) {
        if (checkpoint) await checkpoint();
        const outs = this.apply(step, live);
        for (const t of step.inputs) {
          const n = consumers.get(t.id)! - 1;
          consumers.set(t.id, n);
          if (n === 0) live.release(t.id);
        }
        step.outputs.forEach((o, i) => live.set(o.id, outs[i]));
        if (step.frame !== null && onLayer) {
          await onLayer({ layerId: step.layer.name, index: step.frame, tensor: outs[0] });
        }
        // Outputs nobody reads (the model's outputs, dead ends) go as soon as the caller has seen them.
        for (const o of step.outputs) if (!consumers.get(o.id)) live.release(o.id);
      }
    } finally {
      live.releaseAll();
    }
  }

  async runTo(input: tf.Tensor, layerId: string): Promise<tf.Tensor> {
    const target = this.steps.find((s) => s.frame !== null && s.layer.name === layerId);
    if (!target) throw new Error(`no layer '${layerId}' in this model`);
    const targetId = target.outputs[0].id;
    const { steps, consumers } = this.plan(new Set([targetId]));
    const live = new LiveTensors(input);
    live.set(this.inputIds[0], input);
    try {
      for (const step of steps) {
        const outs = this.apply(step, live);
        for (const t of step.inputs) {
          const n = consumers.get(t.id)! - 1;
          consumers.set(t.id, n);
          if (n === 0) live.release(t.id);
        }
        step.outputs.forEach((o, i) => live.set(o.id, outs[i]));
      }
      const result = live.get(targetId);
      return result === input ? input.clone() : live.take(targetId);
    } finally {
      live.releaseAll();
    }
  }

  private apply(step: Step, live: LiveTensors): tf.Tensor[] {
    const args = step.inputs.map((t) => live.get(t.id));
    // tidy: whatever the layer allocates besides its outputs is freed at once.
    return tf.tidy(() => {
      const out = step.layer.apply(args) as tf.Tensor | tf.Tensor[];
      return Array.isArray(out) ? out : [out];
    });
  }

  predict(input: tf.Tensor): tf.Tensor {
    const out = this.model.predict(input);
    if (Array.isArray(out)) {
      tf.dispose(out.slice(1));
      return out[0];
    }
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * The tensors alive during a pass, keyed by symbolic tensor id. A layer may return its input object
 * itself (identity layers), so a tensor is disposed only when no id refers to it any more.
 */
class LiveTensors {
  private readonly byId = new Map<number, tf.Tensor>();
  private readonly refs = new Map<tf.Tensor, number>();
  constructor(private readonly keep: tf.Tensor) {}

  set(id: number, t: tf.Tensor): void {
    this.byId.set(id, t);
    this.refs.set(t, (this.refs.get(t) ?? 0) + 1);
  }
  get(id: number): tf.Tensor {
    const t = this.byId.get(id);
    if (!t) throw new Error(`internal: tensor ${id} is not live`);
    return t;
  }
  /** Removes an id without disposing its tensor (the caller owns it now). */
  take(id: number): tf.Tensor {
    const t = this.get(id);
    this.byId.delete(id);
    const n = this.refs.get(t)! - 1;
    if (n === 0) this.refs.delete(t);
    else this.refs.set(t, n);
    // Another id still refers to it: the caller gets a clone so releaseAll cannot free its result.
    return n === 0 ? t : t.clone();
  }
  release(id: number): void {
    const t = this.byId.get(id);
    if (!t) return;
    this.byId.delete(id);
    const n = this.refs.get(t)! - 1;
    if (n > 0) {
      this.refs.set(t, n);
      return;
    }
    this.refs.delete(t);
    if (t !== this.keep) t.dispose();
  }
  releaseAll(): void {
    for (const id of [...this.byId.keys()]) this.release(id);
  }
}

/** Ops whose outputs are not activations worth a frame. */
const SKIP_OPS = new Set(['Const', 'Placeholder', 'PlaceholderWithDefault', 'NoOp', 'Shape', 'Size', 'Rank']);

interface GraphDefNode {
  name: string;
  op: string;
  input?: string[];
}

/**
 * Runs a tfjs GraphModel with every activation node as an output. The frame nodes are the nodes that
 * depend on the input image (weights and their preprocessing are not activations) and give a float32
 * tensor with batch 1; `init` finds them with one warm-up execution.
 */
export class GraphRunner implements Runner {
  readonly kind = 'graph';
  frameOrder: string[] = [];
  readonly outputShapes = new Map<string, (number | null)[]>();
  private readonly candidates: string[];
  private readonly inputName: string;

  constructor(
    readonly model: tf.GraphModel,
    nodes: GraphDefNode[],
  ) {
    if (model.inputs.length !== 1) {
      throw new Error(`the model has ${model.inputs.length} inputs; only single-image models are supported`);
    }
    this.inputName = model.inputs[0].name;
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const dependsOnInput = new Map<string, boolean>();
    const depends = (name: string, depth = 0): boolean => {
      const clean = name.replace(/^\^/, '').replace(/:\d+$/, '');
      const known = dependsOnInput.get(clean);
      if (known !== undefined) return known;
      const n = byName.get(clean);
      if (!n || depth > 10_000) return false;
      dependsOnInput.set(clean, false); // breaks cycles (control flow)
      const v = clean === this.inputName || (n.input ?? []).some((i) => !i.startsWith('^') && depends(i, depth + 1));
      dependsOnInput.set(clean, v);
      return v;
    };
    this.candidates = nodes.filter((n) => !SKIP_OPS.has(n.op) && depends(n.name)).map((n) => n.name);
  }

  /** Decides the frame nodes by executing once (also the warm-up). */
  async init(input: tf.Tensor): Promise<void> {
    const outs = await this.executeAll(input, this.candidates);
    try {
      this.frameOrder = [];
      outs.forEach((t, i) => {
        if (t.dtype === 'float32' && t.rank >= 1 && t.shape[0] === 1) {
          this.frameOrder.push(this.candidates[i]);
          this.outputShapes.set(this.candidates[i], t.shape);
        }
      });
    } finally {
      tf.dispose(outs);
    }
  }

  private async executeAll(input: tf.Tensor, names: string[]): Promise<tf.Tensor[]> {
    if (names.length === 0) return [];
    const out = await this.model.executeAsync({ [this.inputName]: input }, names);
    return Array.isArray(out) ? out : [out];
  }

  async run(input: tf.Tensor, onLayer: OnLayer | null, checkpoint?: () => Promise<void>): Promise<void> {
    const outs = await this.executeAll(input, this.frameOrder);
    try {
      for (let i = 0; i < outs.length; i++) {
        if (checkpoint) await checkpoint();
        if (onLayer) await onLayer({ layerId: this.frameOrder[i], index: i, tensor: outs[i] });
        outs[i].dispose();
      }
    } finally {
      tf.dispose(outs);
    }
  }

  async runTo(input: tf.Tensor, layerId: string): Promise<tf.Tensor> {
    if (!this.frameOrder.includes(layerId)) throw new Error(`no node '${layerId}' in this model`);
    const [t] = await this.executeAll(input, [layerId]);
    return t;
  }

  predict(input: tf.Tensor): tf.Tensor {
    const out = this.model.execute({ [this.inputName]: input });
    if (Array.isArray(out)) {
      tf.dispose(out.slice(1));
      return out[0];
    }
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}
