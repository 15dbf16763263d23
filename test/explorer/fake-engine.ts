/**
 * A scripted engine for store and component tests: it speaks the real protocol (EngineRequest in,
 * EngineReply out) over a PortLike, with a two-layer model and frames it builds itself, so the UI's
 * handling of streaming, errors and cancellation can be checked without tfjs.
 */
import type {
  EngineReply,
  EngineRequest,
  LayerFrame,
  ModelEntry,
  ModelSummary,
  PortLike,
} from '../../common/engine-protocol';
import { analyzeGraph } from '../../renderer/src/analysis';
import { GraphBuilder } from '../../renderer/src/zoo/builder';
import type { HostBridge } from '../../renderer/src/bridge/types';

const preprocess = {
  inputSize: [8, 8] as [number, number],
  resize: 'center-crop' as const,
  channelOrder: 'rgb' as const,
  scale: 1,
  offset: 0,
  mean: [0, 0, 0] as [number, number, number],
  std: [1, 1, 1] as [number, number, number],
};

export const TINY: ModelEntry = {
  id: 'tiny',
  name: 'Tiny CNN',
  source: 'zoo',
  description: 'two layers',
  trained: false,
  preprocess,
};

export function tinySummary(): ModelSummary {
  const g = new GraphBuilder('tiny');
  const x = g.input('input', [8, 8, 3]);
  const c = g.conv('conv1', x, 4, 3, { padding: 'same' });
  g.maxpool('pool1', c, 2, 2);
  const analysis = analyzeGraph(g.build(['pool1']));
  return { ...TINY, analysis, frameOrder: ['conv1', 'pool1'] };
}

export function frameFor(layerId: string, index: number, shape: [number, number, number], seed = 1): LayerFrame {
  const [h, w, c] = shape;
  const data = new Uint8Array(h * w * c);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + seed * 11) % 256;
  return {
    layerId,
    index,
    shape,
    fullShape: shape,
    min: new Float32Array(c).fill(-1),
    max: new Float32Array(c).fill(2),
    data,
  };
}

/** Behaviour knobs a test can flip. */
export interface FakeEngineOptions {
  /** Image names whose analysis fails with a decode error. */
  badImages?: Set<string>;
  /** Model ids whose load fails. */
  badModels?: Set<string>;
  /** Model ids whose load never finishes (until cancelled). */
  slowModels?: Set<string>;
  /** Stops answering anything, pings included (a hung engine); a test flips it. */
  hung?: boolean;
  /** Memory reported with each pong. */
  heapBytes?: number;
}

export class FakeEngine implements PortLike {
  readonly requests: EngineRequest[] = [];
  private listeners = new Set<(ev: MessageEvent) => void>();
  constructor(private readonly opts: FakeEngineOptions = {}) {}

  addEventListener(_t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.add(l);
  }
  removeEventListener(_t: 'message', l: (ev: MessageEvent) => void): void {
    this.listeners.delete(l);
  }
  start(): void {}

  private reply(r: EngineReply): void {
    // Replies arrive asynchronously, as over a real port.
    setTimeout(() => this.listeners.forEach((l) => l({ data: r } as MessageEvent)), 0);
  }

  postMessage(message: unknown): void {
    const req = message as EngineRequest;
    this.requests.push(req);
    if (this.opts.hung) return;
    switch (req.type) {
      case 'hello':
        this.reply({
          type: 'ready',
          id: req.id,
          backend: 'wasm',
          reason: 'forced by the test',
          models: [TINY],
          tfjsVersion: 'test',
        });
        break;
      case 'loadModel':
        if (this.opts.slowModels?.has(req.modelId)) {
          this.reply({ type: 'progress', id: req.id, phase: 'fetch', loaded: 1e6, total: 4e6, detail: 'shard 1/4' });
          break;
        }
        if (this.opts.badModels?.has(req.modelId))
          this.reply({
            type: 'error',
            id: req.id,
            message: `${req.modelId}/model.json: missing shard`,
            file: 'model.json',
          });
        else this.reply({ type: 'modelLoaded', id: req.id, summary: tinySummary() });
        break;
      case 'analyze': {
        const name = req.image.name;
        if (this.opts.badImages?.has(name)) {
          this.reply({ type: 'error', id: req.id, message: `${name}: not a decodable image`, file: name });
          break;
        }
        const seed = name.length;
        this.reply({
          type: 'image',
          id: req.id,
          name,
          width: 8,
          height: 8,
          preview: { width: 8, height: 8, data: new Uint8ClampedArray(256) },
        });
        this.reply({ type: 'frame', id: req.id, frame: frameFor('conv1', 0, [8, 8, 4], seed) });
        this.reply({ type: 'frame', id: req.id, frame: frameFor('pool1', 1, [4, 4, 4], seed) });
        this.reply({
          type: 'done',
          id: req.id,
          backend: 'wasm',
          timings: { decodeMs: 1, forwardMs: 2, extractMs: 3, totalMs: 6, firstFrameMs: 2 },
        });
        break;
      }
      case 'channel':
        this.reply({
          type: 'channel',
          id: req.id,
          layerId: req.layerId,
          channel: req.channel,
          shape: [8, 8],
          values: new Float32Array(64).fill(0.5),
        });
        break;
      case 'cancel':
        this.reply({ type: 'cancelled', id: req.target });
        break;
      case 'ping':
        if (!this.opts.hung)
          this.reply({
            type: 'pong',
            id: req.id,
            ...(this.opts.heapBytes !== undefined ? { heapBytes: this.opts.heapBytes } : {}),
          });
        break;
      default:
        break;
    }
  }
}

export function fakeBridge(engine: FakeEngine): HostBridge {
  return {
    kind: 'web',
    resourcesBase: 'http://localhost/',
    connectEngine: async () => engine,
    onEngineStatus: () => () => {},
    openImages: async () => null,
    openModel: async () => null,
    recent: async () => [],
    openRecent: async () => ({ kind: 'missing', message: 'none' }),
    onMenu: () => () => {},
  };
}

/** Resolves after pending timers and microtasks have run (replies are posted with setTimeout 0). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0));
}
