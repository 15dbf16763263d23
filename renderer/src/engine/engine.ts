/**
 * The inference engine's facade: one forward pass per image that streams every layer's quantized activations in
 * layer order, exact channel values on demand, unit inspection and gradients. Backend selection lives in
 * backends.ts, the loaded models in model-registry.ts, frame extraction in gpu-extract.ts / cpu-extract.ts.
 * Runs unchanged in a Web Worker (worker.ts + server.ts) and in Node (node.ts), for tests and the bench. Never
 * touches the DOM; everything environment-specific is in EnginePlatform.
 *
 * Concurrency: operations that use tfjs (building a model, a pass, a channel read, a backend switch)
 * run one at a time through `exclusive`; reading model files does not wait for them. A pass checks
 * its AbortSignal between layers.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ContextLostError } from './gpu-extract';
import { InputError, MAX_IMAGE_PIXELS, checkImageBytes, checkPixelCount } from '../../../common/image-header';
import type { EnginePlatform } from './platform';
import { prepareInput, type PreparedInput, type RgbaImage } from './preprocess';
import type {
  BackendName,
  ImageInput,
  LayerFrame,
  ModelEntry,
  ModelSummary,
  PassStats,
  PassTimings,
  Prediction,
  Preprocess,
  ResizePolicy,
  EffectiveField,
  GradCam,
  UnitInspection,
  UnitRef,
  UserModelFiles,
} from '../../../common/engine-protocol';
import { frameShape } from './quantize';
import { extractOnCpu, releaseCpuExtraction } from './cpu-extract';
import { deriveStats, type ChannelStats } from './known-stats';
import { assertTfjsVersion } from './tfjs-private';
import { FramePool } from './frame-pool';
import { peerPass, type PeerMethod, type PeerResult } from './peer-passes';
import { CancelledError, type LayerOutput } from './runner';
import { inspectUnit, type InspectContext } from './unit-inspect';
import { DifferentiableRunner, effectiveField, gradCam } from './gradients';
import { topK } from './prediction';
import { catalogEntries } from './catalog';
import { BackendSelector, type BackendState } from './backends';
import { ModelRegistry, irParts, type LoadedModel, type ProgressFn } from './model-registry';

export { CancelledError } from './runner';
export { InputError } from '../../../common/image-header';
export { ContextLostError } from './gpu-extract';
export type { BackendState } from './backends';
export type { ProgressFn, ProgressPhase } from './model-registry';

export interface EngineOptions {
  platform: EnginePlatform;
  /** Run one pass on zeros when a model loads on webgl (shader compilation before the user asks). Default true. */
  warmUp?: boolean;
  /** Models kept loaded at once (least recently used goes first). Default 4 (compare mode runs 2–4). */
  maxModels?: number;
  /**
   * The user-model bytes handed to `loadUserModel` are the engine's own (a worker gets a structured-clone
   * copy), so formats may rearrange them instead of copying (ModelFile.consumable). Default false: a caller
   * in the same thread (the CLI, tests) may use its bytes again.
   */
  ownsUserFiles?: boolean;
}

/** Where an analyze's output goes (server.ts posts it; tests and the bench collect it). */
export interface AnalyzeSink {
  /** Optional: 'decode' before the image is decoded, 'infer' when the forward pass starts. */
  progress?(phase: 'decode' | 'infer', loaded: number, total: number, detail?: string): void;
  image(msg: {
    name: string;
    width: number;
    height: number;
    preview: { width: number; height: number; data: Uint8ClampedArray };
  }): void;
  frame(frame: LayerFrame): void;
}

export interface AnalyzeRequest {
  modelId: string;
  image: ImageInput;
  resize?: ResizePolicy;
  /** Largest H or W per channel in frames (average-pooled down); 0 = full resolution. */
  maxSide?: number;
  /** The user's input conventions (replace the model's own; its input size and channel count stay). */
  preprocess?: Partial<Preprocess>;
}

export interface AnalyzeResult {
  timings: PassTimings;
  backend: BackendName;
  stats: PassStats;
  /** Top-5 of the model's output when its last layer is a class vector. */
  prediction?: Prediction;
}

const now = () => performance.now();

/** Decoded images up to this many pixels are kept for the next request (64 MB of RGBA at most). */
const DECODE_CACHE_PIXELS = 16_000_000;

/** Yields to the event loop so cancel messages are seen (Node: setImmediate; worker: a MessageChannel ping, not the 4 ms-clamped setTimeout). */
export function makeYield(): () => Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => void };
  if (typeof g.setImmediate === 'function') return () => new Promise((r) => g.setImmediate!(r));
  if (typeof MessageChannel !== 'undefined') {
    const ch = new MessageChannel();
    const waiting: (() => void)[] = [];
    ch.port1.onmessage = () => waiting.shift()?.();
    return () =>
      new Promise((r) => {
        waiting.push(r);
        ch.port2.postMessage(0);
      });
  }
  return () => new Promise((r) => setTimeout(r, 0));
}

/** A cheap fingerprint of image bytes (FNV-1a over a strided sample) for the decode cache. */
function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  const step = Math.max(1, Math.floor(bytes.length / 65536));
  for (let i = 0; i < bytes.length; i += step) h = Math.imul(h ^ bytes[i], 0x01000193);
  return `${bytes.length}:${(h >>> 0).toString(16)}`;
}

export class Engine {
  readonly platform: EnginePlatform;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly yieldToLoop = makeYield();
  private lastDecoded: { key: string; image: RgbaImage } | null = null;
  /** Frame buffers the UI handed back (`recycle`), reused for the next frames of the same size. */
  private readonly framePool = new FramePool();
  private readonly backends: BackendSelector;
  private readonly models: ModelRegistry;

  constructor(opts: EngineOptions) {
    this.platform = opts.platform;
    assertTfjsVersion();
    tf.enableProdMode();
    const exclusive = <T>(fn: () => Promise<T>) => this.exclusive(fn);
    this.backends = new BackendSelector(opts.platform, {
      exclusive,
      rebuild: () => this.models.rebuild(),
      takeBuffer: (n) => this.framePool.take(n),
    });
    this.models = new ModelRegistry({
      platform: opts.platform,
      backends: this.backends,
      exclusive,
      warmUp: opts.warmUp ?? true,
      maxModels: Math.max(1, opts.maxModels ?? 4),
      ownsUserFiles: opts.ownsUserFiles ?? false,
    });
  }

  /** Runs `fn` after every earlier exclusive operation has finished (tfjs work is never interleaved). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The tfjs version the engine runs. */
  get tfjsVersion(): string {
    return tf.version.tfjs;
  }

  /** The current backend, or null before `hello`. */
  get backend(): BackendState | null {
    return this.backends.current;
  }

  /** Subscribes to backend changes (fallbacks, setBackend); returns the unsubscribe function. */
  onBackendChange(cb: (s: BackendState) => void): () => void {
    return this.backends.onChange(cb);
  }

  /**
   * Sets where bundled models live and picks a backend from `prefer` (default: the platform's order,
   * webgl → wasm → cpu). Software WebGL (SwiftShader) is only used when asked for explicitly.
   */
  async hello(
    resourcesBase: string,
    prefer?: BackendName[],
  ): Promise<BackendState & { models: ModelEntry[]; tfjsVersion: string }> {
    this.models.setResourcesBase(resourcesBase);
    const state = await this.exclusive(async () => {
      const current = this.backends.current;
      if (current && !(prefer && prefer.length && current.backend !== prefer[0])) return current;
      return this.backends.switchTo(prefer ?? this.platform.backends, !!prefer);
    });
    return { ...state, models: this.listModels(), tfjsVersion: tf.version.tfjs };
  }

  /** Every model the engine can load by id (bundled, zoo) plus the user models loaded now. */
  listModels(): ModelEntry[] {
    return [...catalogEntries(), ...this.models.userEntries()];
  }

  /** Switches to `backend` (explicit: software WebGL allowed). Loaded models are rebuilt on it. */
  setBackend(backend: BackendName): Promise<BackendState> {
    return this.exclusive(() =>
      this.backends.switchTo([backend, ...this.platform.backends.filter((b) => b !== backend)], true),
    );
  }

  /** Test hook: loses the WebGL context (WEBGL_lose_context). */
  simulateContextLoss(): boolean {
    return this.backends.simulateContextLoss();
  }

  // ---------------------------------------------------------------- models

  /** Loads a bundled or zoo model by id (no-op when loaded); progress as bytes and shards. */
  loadModel(modelId: string, onProgress?: ProgressFn, signal?: AbortSignal): Promise<ModelSummary> {
    return this.models.ensureLoaded(modelId, onProgress, signal).then((m) => m.summary);
  }

  /**
   * Loads a user's model from its files (a single file or a folder's files), whatever the format: the registry
   * decides by content and opens it into the IR, the project's own graph code checks the topology (cycles,
   * dangling inputs, absurd sizes) before a single tensor is built, and the IR runner executes it. tfjs graph
   * models (TensorFlow ops) keep tfjs-converter's executor after a topology check of their own. Id `user:<name>`.
   */
  loadUserModel(files: UserModelFiles, onProgress?: ProgressFn, signal?: AbortSignal): Promise<ModelSummary> {
    return this.models.loadUserModel(files, onProgress, signal);
  }

  /** Ids of the loaded models, least recently used first. */
  loadedModelIds(): string[] {
    return this.models.loadedIds();
  }

  /** Disposes one loaded model. */
  unloadModel(modelId: string): Promise<boolean> {
    return this.models.unload(modelId);
  }

  // ---------------------------------------------------------------- images and passes

  private async decode(image: ImageInput): Promise<RgbaImage> {
    if (image.kind === 'rgba') {
      const { width, height, data, name } = image;
      if (!(width > 0 && height > 0) || data.length !== width * height * 4) {
        throw new InputError(
          `${name}: RGBA data of ${data.length} bytes does not match ${width}×${height} pixels`,
          name,
        );
      }
      checkPixelCount(name, width, height);
      return { width, height, data };
    }
    const bytes = new Uint8Array(image.bytes);
    const key = `${image.name}:${fingerprint(bytes)}`;
    if (this.lastDecoded?.key === key) return this.lastDecoded.image;
    const header = checkImageBytes(image.name, bytes, this.platform.name === 'browser');
    const img = await this.platform.decodeImage(image.name, bytes, header, image.mime);
    if (img.width * img.height > MAX_IMAGE_PIXELS) checkPixelCount(image.name, img.width, img.height);
    // Kept for the next pass on the same image (compare mode, another model) unless it is big.
    this.lastDecoded = img.width * img.height <= DECODE_CACHE_PIXELS ? { key, image: img } : null;
    return img;
  }

  /**
   * Runs one image through a model: `image` to the sink first, then one frame per layer in layer
   * order as each is ready. Rejects with CancelledError when `signal` aborts (between layers).
   */
  analyze(req: AnalyzeRequest, sink: AnalyzeSink, signal?: AbortSignal): Promise<AnalyzeResult> {
    const t0 = now();
    return this.models.ensureLoaded(req.modelId, undefined, signal).then(() =>
      this.exclusive(async () => {
        if (signal?.aborted) throw new CancelledError();
        const model = this.models.get(req.modelId);
        if (!model) {
          // Evicted while this pass waited behind more than maxModels others (the lock is held: no reload here).
          throw new Error(
            `model '${req.modelId}' was unloaded while the pass waited (more than ${this.models.maxModels} models in use); try again`,
          );
        }
        this.models.touch(req.modelId);
        sink.progress?.('decode', 0, 1, req.image.name);
        const img = await this.decode(req.image);
        const pre = withOverride(model.entry.preprocess, req.preprocess);
        const prepared = prepareInput(img, pre, req.resize ?? pre.resize);
        const name = req.image.name;
        sink.image({
          name,
          width: img.width,
          height: img.height,
          preview: { width: prepared.width, height: prepared.height, data: prepared.preview },
        });
        const decodeMs = now() - t0;
        sink.progress?.('infer', 0, model.runner.frameOrder.length, model.entry.name);
        for (let attempt = 0; ; attempt++) {
          try {
            return await this.pass(model, prepared, req.maxSide ?? 0, sink, signal, t0, decodeMs);
          } catch (e) {
            // Any failure on a context that is gone (tfjs throws its own errors then) means: fall back, run again.
            const lost = e instanceof ContextLostError || (this.backends.onWebgl && this.backends.contextIsLost());
            if (!lost || attempt > 0) throw e;
            await this.backends.fallbackFromWebgl();
          }
        }
      }),
    );
  }

  private async pass(
    model: LoadedModel,
    prepared: PreparedInput,
    maxSide: number,
    sink: AnalyzeSink,
    signal: AbortSignal | undefined,
    t0: number,
    decodeMs: number,
  ): Promise<AnalyzeResult> {
    const backend = this.backends.current!.backend;
    const input = tf.tensor4d(prepared.values, [1, prepared.height, prepared.width, prepared.channels]);
    const stats: PassStats = { frames: 0, bytesSent: 0, values: 0 };
    let firstFrameMs = -1;
    const tPass = now();
    let peakBytes = 0;
    const emit = (frame: LayerFrame) => {
      if (firstFrameMs < 0) firstFrameMs = now() - tPass;
      peakBytes = Math.max(peakBytes, tf.memory().numBytes);
      stats.frames++;
      stats.bytesSent += frame.data.byteLength;
      stats.values += frame.fullShape.reduce((a, b) => a * b, 1);
      sink.frame(frame);
    };
    const gpu = backend === 'webgl' ? this.backends.gpuExtractor() : null;
    let extractMs = 0;
    let lastYield = now();
    const lost = () => backend === 'webgl' && this.backends.webglGone();
    const checkpoint = async () => {
      if (lost()) throw new ContextLostError();
      if (signal?.aborted) throw new CancelledError();
      // Yield every few ms so a cancel (a newer image) gets through without slowing the pass down.
      if (now() - lastYield > 8) {
        await this.yieldToLoop();
        lastYield = now();
        if (signal?.aborted) throw new CancelledError();
      }
    };
    const last = model.runner.frameOrder.length - 1;
    let prediction: Prediction | undefined;
    // The stats of frames that later layers' rules read (known-stats.ts), by frame index, for this pass.
    const known: ChannelStats[] = [];
    const onLayer = async (out: LayerOutput) => {
      // The last layer's float vector is the prediction (read once: a few thousand values at most).
      if (out.index === last && out.tensor.rank === 2 && out.tensor.shape[0] === 1 && out.tensor.size <= 100_000) {
        prediction = topK((await out.tensor.data()) as Float32Array, out.layerId, model.entry.labels) ?? undefined;
      }
      const a = now();
      if (gpu) await gpu.push(out, maxSide, emit);
      else {
        const range = out.rule ? deriveStats(out.rule, frameShape(out.tensor.shape), known) : null;
        const f = await extractOnCpu(out, maxSide, this.framePool, range ?? undefined);
        if (range && f.zeros !== undefined) stats.knownRanges = (stats.knownRanges ?? 0) + 1;
        // A full-resolution frame's own (its min/max and zeros go to the UI, which may transfer them away).
        if (out.feedsRule && f.zeros !== undefined)
          known[out.index] = { shape: f.shape, min: f.min.slice(), max: f.max.slice(), zeros: f.zeros };
        emit(f);
      }
      extractMs += now() - a;
    };
    try {
      gpu?.begin(emit);
      await model.runner.run(input, onLayer, checkpoint);
      const tForward = now();
      if (gpu)
        await gpu.finish(() => (lost() ? new ContextLostError() : signal?.aborted ? new CancelledError() : null));
      extractMs += now() - tForward;
      if (lost()) throw new ContextLostError();
    } catch (e) {
      gpu?.abort();
      throw e;
    } finally {
      input.dispose();
    }
    model.lastInput = prepared;
    model.channelCache = null;
    const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    Object.assign(stats, { peakBytes, numTensors: mem.numTensors, numBytes: mem.numBytes });
    if (mem.numBytesInGPU !== undefined) stats.gpuBytes = mem.numBytesInGPU;
    const totalMs = now() - t0;
    const passMs = now() - tPass;
    return {
      backend,
      stats,
      timings: { decodeMs, forwardMs: passMs - extractMs, extractMs, totalMs, firstFrameMs: Math.max(0, firstFrameMs) },
      ...(prediction ? { prediction } : {}),
    };
  }

  /**
   * Plain single-output inference (the bench's baseline: what a classifier would run), on `prepared`
   * or else the model's last analysed input. Resolves with its time in ms, readback included.
   */
  predictOnce(modelId: string, prepared?: PreparedInput): Promise<number> {
    return this.exclusive(async () => {
      const m = this.models.get(modelId);
      if (!m) throw new Error(`model '${modelId}' is not loaded`);
      if (!prepared && !m.lastInput) throw new Error(`no image has been analysed with '${m.entry.name}' yet`);
      prepared ??= m.lastInput!;
      const t = now();
      const x = tf.tensor4d(prepared.values, [1, prepared.height, prepared.width, prepared.channels]);
      try {
        const y = m.runner.predict(x);
        await y.data();
        y.dispose();
      } finally {
        x.dispose();
      }
      return now() - t;
    });
  }

  /** The bench's peer comparison: one pass reading every layer the way another tool does (peer-passes.ts). */
  peerPass(modelId: string, prepared: PreparedInput, method: PeerMethod): Promise<PeerResult> {
    return this.exclusive(async () => {
      const m = this.models.get(modelId);
      if (!m) throw new Error(`model '${modelId}' is not loaded`);
      const x = tf.tensor4d(prepared.values, [1, prepared.height, prepared.width, prepared.channels]);
      try {
        return await peerPass(m.runner, x, method);
      } finally {
        x.dispose();
      }
    });
  }

  /** Decodes and prepares an image for a loaded model without running it (bench, CLI). */
  async prepare(modelId: string, image: ImageInput, resize?: ResizePolicy): Promise<PreparedInput> {
    const m = await this.models.ensureLoaded(modelId);
    const img = await this.decode(image);
    return prepareInput(img, m.entry.preprocess, resize ?? m.entry.preprocess.resize);
  }

  /**
   * Exact float values of one channel of one layer for the model's last analysed image. The layer is
   * recomputed from the kept input (only the nodes it depends on) rather than keeping every activation
   * of the last pass (87 MB for MobileNetV2 — too much with 4 models loaded); the last layer read is
   * kept, so moving between its channels is free.
   */
  channel(
    modelId: string,
    layerId: string,
    channel: number,
  ): Promise<{ shape: [number, number]; values: Float32Array }> {
    return this.exclusive(async () => {
      const m = this.models.get(modelId);
      if (!m) throw new Error(`model '${modelId}' is not loaded`);
      if (!m.lastInput) throw new Error(`no image has been analysed with '${m.entry.name}' yet`);
      if (!m.runner.frameOrder.includes(layerId)) throw new Error(`'${m.entry.name}' has no layer '${layerId}'`);
      if (m.channelCache?.layerId !== layerId) {
        const li = m.lastInput;
        const x = tf.tensor4d(li.values, [1, li.height, li.width, li.channels]);
        try {
          const y = await m.runner.runTo(x, layerId);
          const shape = frameShape(y.shape);
          const data = await y.data();
          y.dispose();
          m.channelCache = {
            layerId,
            values: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>),
            shape,
          };
        } finally {
          x.dispose();
        }
      }
      const { values, shape } = m.channelCache!;
      const [H, W, C] = shape;
      if (!Number.isInteger(channel) || channel < 0 || channel >= C) {
        throw new Error(`layer '${layerId}' has ${C} channels; channel ${channel} does not exist`);
      }
      const out = new Float32Array(H * W);
      for (let p = 0; p < H * W; p++) out[p] = values[p * C + channel];
      return { shape: [H, W], values: out };
    });
  }

  // ---------------------------------------------------------------- one unit, gradients

  /** Runs `fn` on a loaded model's last analysed input (a tensor disposed afterwards), exclusively. */
  private onLastInput<T>(
    modelId: string,
    signal: AbortSignal | undefined,
    fn: (m: LoadedModel, ctx: InspectContext, x: tf.Tensor) => Promise<T>,
  ): Promise<T> {
    return this.exclusive(async () => {
      if (signal?.aborted) throw new CancelledError();
      const m = this.models.get(modelId);
      if (!m) throw new Error(`model '${modelId}' is not loaded`);
      if (!m.lastInput) throw new Error(`no image has been analysed with '${m.entry.name}' yet`);
      const ctx = irParts(m);
      const li = m.lastInput;
      const x = tf.tensor4d(li.values, [1, li.height, li.width, li.channels]);
      try {
        const r = await fn(m, ctx, x);
        if (signal?.aborted) throw new CancelledError();
        return r;
      } finally {
        x.dispose();
      }
    });
  }

  private differentiable(m: LoadedModel, ctx: InspectContext): DifferentiableRunner {
    m.gradients ??= new DifferentiableRunner(ctx.graph, ctx.runner, ctx.weights);
    return m.gradients;
  }

  /**
   * One unit of a conv, depthwise or dense layer taken apart (kernel, patch, products, stages) on the model's
   * last analysed image; the final value is the engine's float value for that unit.
   */
  inspectUnit(modelId: string, ref: UnitRef, signal?: AbortSignal): Promise<UnitInspection> {
    return this.onLastInput(modelId, signal, (_m, ctx, x) => inspectUnit(ctx, x, ref));
  }

  /** The effective receptive field (input gradient) of one unit on the model's last analysed image. */
  effectiveField(modelId: string, ref: UnitRef, signal?: AbortSignal): Promise<EffectiveField> {
    return this.onLastInput(modelId, signal, (m, ctx, x) =>
      effectiveField(
        { graph: ctx.graph, runner: ctx.runner, diff: this.differentiable(m, ctx), analysis: m.summary.analysis },
        x,
        ref,
      ),
    );
  }

  /** Grad-CAM of a class (default: the top prediction) on a layer (default: the last spatial one), last image. */
  gradCam(modelId: string, opts: { classIndex?: number; layer?: string } = {}, signal?: AbortSignal): Promise<GradCam> {
    return this.onLastInput(modelId, signal, (m, ctx, x) =>
      gradCam(
        {
          graph: ctx.graph,
          runner: ctx.runner,
          diff: this.differentiable(m, ctx),
          analysis: m.summary.analysis,
          weights: ctx.weights,
        },
        x,
        opts,
      ),
    );
  }

  /**
   * Takes back frame buffers the UI has drawn and no longer needs (the `data` of earlier frames, transferred
   * back): the next passes write their frames into them instead of allocating. Never blocks on a pass.
   */
  recycle(buffers: readonly ArrayBuffer[]): void {
    this.framePool.put(buffers);
  }

  /** Bytes of frame buffers waiting to be reused (tests). */
  get recycledBytes(): number {
    return this.framePool.bytes;
  }

  /** The summary of a loaded model, or null. */
  summary(modelId: string): ModelSummary | null {
    return this.models.get(modelId)?.summary ?? null;
  }

  /** Disposes every model and GPU resource. */
  dispose(): Promise<void> {
    return this.exclusive(async () => {
      this.models.disposeAll();
      this.backends.dispose();
      this.framePool.clear();
      releaseCpuExtraction();
    });
  }
}

/** The model's conventions with the user's choice on top; the input size and channel count are the model's. */
function withOverride(pre: Preprocess, override: Partial<Preprocess> | undefined): Preprocess {
  if (!override) return pre;
  const merged: Preprocess = { ...pre, ...override, inputSize: pre.inputSize };
  if (pre.channels !== undefined) merged.channels = pre.channels;
  return merged;
}
