/**
 * The inference engine: backend selection with fallback, a small LRU of loaded models, one forward
 * pass per image that streams every layer's quantized activations in layer order, exact channel
 * values on demand. Runs unchanged in a Web Worker (worker.ts + server.ts) and in Node (node.ts), for
 * tests and the bench. Never touches the DOM; everything environment-specific is in EnginePlatform.
 *
 * Concurrency: operations that use tfjs (building a model, a pass, a channel read, a backend switch)
 * run one at a time through `exclusive`; reading model files does not wait for them. A pass checks
 * its AbortSignal between layers.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { analyzeGraph, emptyTotals } from '../analysis/analyze';
import { analyzeModelJson } from '../analysis';
import type { LayerAnalysis, ModelAnalysis } from '../../../common/analysis-types';
import { getZooGraph, isZooId } from '../zoo';
import { seededWeights } from './seeded-weights';
import { BUNDLED, ZOO_SEED, catalogEntries } from './catalog';
import { ContextLostError, GpuExtractor, gpuExtractionSupported } from './gpu-extract';
import { InputError, MAX_IMAGE_PIXELS, checkImageBytes, checkPixelCount } from '../../../common/image-header';
import { buildArtifacts, parseModelJsonFile, resolveInside, type ModelJsonInfo } from './model-files';
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
import { assertTfjsVersion, parallelCompile, registeredVariables, setCompileOnly } from './tfjs-private';
import { FramePool } from './frame-pool';
import { peerPass, type PeerMethod, type PeerResult } from './peer-passes';
import { CancelledError, GraphRunner, type LayerOutput, type Runner } from './runner';
import { IRRunner } from './ir-runner';
import { inspectUnit, type InspectContext } from './unit-inspect';
import { clipValueOf } from './channel-health';
import { DifferentiableRunner, effectiveField, gradCam } from './gradients';
import type { ModelGraph, TensorData } from '../analysis/graph';
import { topK } from './prediction';
import { openModelFiles, type ModelFile, type OpenedModel } from '../formats';
import { checkGraphTopology, checkedAnalysis, findGraphModelJson, inFolder, inFolderAsync } from './model-checks';

export { CancelledError } from './runner';
export { InputError } from '../../../common/image-header';

export { ContextLostError } from './gpu-extract';

export type ProgressPhase = 'fetch' | 'build' | 'compile' | 'decode' | 'infer';
export type ProgressFn = (phase: ProgressPhase, loaded: number, total: number, detail?: string) => void;

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

export interface BackendState {
  backend: BackendName;
  reason: string;
}

/** What a loaded model can be rebuilt from after a backend switch (weights stay in JS memory). */
type ModelSource =
  | {
      /** A tfjs graph model (TensorFlow ops): tfjs-converter's executor. */
      kind: 'artifacts';
      format: 'graph';
      artifacts: tf.io.ModelArtifacts;
      info: ModelJsonInfo;
      file: string;
    }
  | { kind: 'zoo'; id: string }
  /** A user model opened by a format module into the IR; `analysis` was computed before anything was built. */
  | {
      kind: 'ir';
      opened: OpenedModel;
      file: string;
      analysis: ModelAnalysis;
      /** Build each layer's tensors when a pass first reaches it (bundled models: checked by the tests, trusted). */
      lazy?: boolean;
    };

interface LoadedModel {
  entry: ModelEntry;
  summary: ModelSummary;
  source: ModelSource;
  runner: Runner;
  /** The input of the last pass (kept in JS memory: cheap, and it survives backend switches). */
  lastInput: PreparedInput | null;
  /** The last layer read for `channel` requests, NHWC floats: hovering a channel costs no recompute. */
  channelCache: { layerId: string; values: Float32Array; shape: [number, number, number] } | null;
  /** The differentiable twin of an IR runner, built on the first effective-field / Grad-CAM request. */
  gradients: DifferentiableRunner | null;
}

/** A model's weights by layer name: the opened file's store, or the zoo's seeded weights drawn on demand. */
type WeightLookup = { get(layer: string): TensorData[] | undefined };

/** Frees what a loaded model holds in tfjs (the runner, the gradient twin). */
function disposeModel(m: LoadedModel): void {
  m.gradients?.dispose();
  m.gradients = null;
  m.runner.dispose();
}

const now = () => performance.now();

/** Decoded images up to this many pixels are kept for the next request (64 MB of RGBA at most). */
const DECODE_CACHE_PIXELS = 16_000_000;

/** Yields to the event loop so cancel messages are seen (Node: setImmediate; worker: a MessageChannel ping, not the 4 ms-clamped setTimeout). */
function makeYield(): () => Promise<void> {
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

const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A cheap fingerprint of image bytes (FNV-1a over a strided sample) for the decode cache. */
function fingerprint(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  const step = Math.max(1, Math.floor(bytes.length / 65536));
  for (let i = 0; i < bytes.length; i += step) h = Math.imul(h ^ bytes[i], 0x01000193);
  return `${bytes.length}:${(h >>> 0).toString(16)}`;
}

export class Engine {
  readonly platform: EnginePlatform;
  private readonly warmUp: boolean;
  private readonly ownsUserFiles: boolean;
  private readonly maxModels: number;
  private resourcesBase = '';
  private state: BackendState | null = null;
  private readonly models = new Map<string, LoadedModel>();
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly backendListeners = new Set<(s: BackendState) => void>();
  private readonly yieldToLoop = makeYield();
  private lastDecoded: { key: string; image: RgbaImage } | null = null;
  private contextLost = false;
  private gpu: GpuExtractor | null = null;
  /** The webgl backend's context, once chosen (watched for loss). */
  private gl: WebGL2RenderingContext | null = null;
  /** Frame buffers the UI handed back (`recycle`), reused for the next frames of the same size. */
  private readonly framePool = new FramePool();

  constructor(opts: EngineOptions) {
    this.platform = opts.platform;
    this.warmUp = opts.warmUp ?? true;
    this.ownsUserFiles = opts.ownsUserFiles ?? false;
    this.maxModels = Math.max(1, opts.maxModels ?? 4);
    assertTfjsVersion();
    tf.enableProdMode();
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
    return this.state;
  }

  /** Subscribes to backend changes (fallbacks, setBackend); returns the unsubscribe function. */
  onBackendChange(cb: (s: BackendState) => void): () => void {
    this.backendListeners.add(cb);
    return () => this.backendListeners.delete(cb);
  }

  /**
   * Sets where bundled models live and picks a backend from `prefer` (default: the platform's order,
   * webgl → wasm → cpu). Software WebGL (SwiftShader) is only used when asked for explicitly.
   */
  async hello(
    resourcesBase: string,
    prefer?: BackendName[],
  ): Promise<BackendState & { models: ModelEntry[]; tfjsVersion: string }> {
    this.resourcesBase = resourcesBase.endsWith('/') || resourcesBase === '' ? resourcesBase : `${resourcesBase}/`;
    const state = await this.exclusive(async () => {
      if (!this.state || (prefer && prefer.length && this.state.backend !== prefer[0])) {
        await this.switchBackend(prefer ?? this.platform.backends, !!prefer);
      }
      return this.state!;
    });
    return { ...state, models: this.listModels(), tfjsVersion: tf.version.tfjs };
  }

  /** Every model the engine can load by id (bundled, zoo) plus the user models loaded now. */
  listModels(): ModelEntry[] {
    const user = [...this.models.values()].filter((m) => m.entry.source === 'user').map((m) => m.entry);
    return [...catalogEntries(), ...user];
  }

  /** Switches to `backend` (explicit: software WebGL allowed). Loaded models are rebuilt on it. */
  setBackend(backend: BackendName): Promise<BackendState> {
    return this.exclusive(async () => {
      await this.switchBackend([backend, ...this.platform.backends.filter((b) => b !== backend)], true);
      return this.state!;
    });
  }

  private async switchBackend(prefer: BackendName[], explicit: boolean, note = ''): Promise<void> {
    const failures: string[] = [];
    for (const name of prefer) {
      if (!this.platform.backends.includes(name)) {
        failures.push(`${name}: not available in ${this.platform.name === 'node' ? 'Node' : 'this browser'}`);
        continue;
      }
      if (name === 'webgl' && this.contextLost && explicit) this.contextLost = false;
      if (name === 'webgl' && this.contextLost) {
        failures.push('webgl: the WebGL context was lost');
        continue;
      }
      const detail = await this.tryBackend(name, explicit).catch((e) => ({ error: errorMessage(e) }));
      if ('error' in detail) {
        failures.push(`${name}: ${detail.error}`);
        continue;
      }
      const reason = (failures.length ? `${detail.ok}; not ${failures.join('; not ')}` : detail.ok) + note;
      const changed = this.state?.backend !== name;
      this.state = { backend: name, reason };
      if (changed) await this.rebuildModels();
      for (const cb of this.backendListeners) cb(this.state);
      return;
    }
    throw new Error(`no tfjs backend could be started (${failures.join('; ')})`);
  }

  private async tryBackend(name: BackendName, explicit: boolean): Promise<{ ok: string } | { error: string }> {
    await this.platform.beforeBackend?.(name);
    if (name === 'webgl') {
      // tfjs refuses software WebGL by default (failIfMajorPerformanceCaveat); allow it only on request:
      // SwiftShader runs these models 12–28× slower than wasm.
      tf.env().set('SOFTWARE_WEBGL_ENABLED', explicit);
    }
    const ok = await tf.setBackend(name);
    if (!ok)
      return {
        error: name === 'webgl' && !explicit ? 'no hardware-accelerated WebGL context' : 'could not be initialised',
      };
    await tf.ready();
    if (name === 'webgl') {
      const gpu = gpuExtractionSupported();
      if (!gpu.ok) return { error: gpu.reason };
      if (gpu.software && !explicit) return { error: `software rendering (${gpu.renderer}) is slower than wasm` };
      if (this.gl !== gpu.gl) this.watchContext(gpu.gl);
      this.gl = gpu.gl;
      this.gpu?.dispose();
      this.gpu = null;
      return { ok: `webgl: WebGL2 on ${gpu.renderer}` };
    }
    if (name === 'wasm') {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      return { ok: `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : 'single thread'})` };
    }
    return { ok: 'cpu (plain JavaScript kernels)' };
  }

  /** True when the webgl backend's context is lost (synchronously, before the event arrives). */
  private webglLost(): boolean {
    return this.gl?.isContextLost() ?? false;
  }

  private watchContext(gl: WebGL2RenderingContext): void {
    const canvas = gl.canvas as EventTarget;
    canvas.addEventListener('webglcontextlost', () => {
      this.contextLost = true;
      // No pass in flight: fall back now; a pass in flight notices at its next layer and reruns.
      void this.exclusive(async () => {
        if (this.state?.backend === 'webgl') await this.fallbackFromWebgl();
      });
    });
  }

  private async fallbackFromWebgl(): Promise<void> {
    this.gpu = null; // its GL objects died with the context
    await this.switchBackend(
      this.platform.backends.filter((b) => b !== 'webgl'),
      false,
      ' — the WebGL context was lost, fell back',
    );
  }

  /** Test hook: loses the WebGL context (WEBGL_lose_context). */
  simulateContextLoss(): boolean {
    if (this.state?.backend !== 'webgl') return false;
    const gl = gpuExtractionSupported();
    if (!gl.ok) return false;
    const ext = gl.gl.getExtension('WEBGL_lose_context');
    ext?.loseContext();
    return !!ext;
  }

  // ---------------------------------------------------------------- models

  /** Loads a bundled or zoo model by id (no-op when loaded); progress as bytes and shards. */
  loadModel(modelId: string, onProgress?: ProgressFn, signal?: AbortSignal): Promise<ModelSummary> {
    return this.ensureLoaded(modelId, onProgress, signal).then((m) => m.summary);
  }

  private async ensureLoaded(modelId: string, onProgress?: ProgressFn, signal?: AbortSignal): Promise<LoadedModel> {
    const have = this.models.get(modelId);
    if (have) {
      this.touch(modelId);
      return have;
    }
    const pending = this.loading.get(modelId);
    if (pending) return pending;
    const p = this.loadCatalogModel(modelId, onProgress ?? (() => {}), signal).finally(() =>
      this.loading.delete(modelId),
    );
    this.loading.set(modelId, p);
    return p;
  }

  private async loadCatalogModel(modelId: string, progress: ProgressFn, signal?: AbortSignal): Promise<LoadedModel> {
    await this.ensureBackend();
    const bundled = BUNDLED.find((b) => b.entry.id === modelId);
    if (bundled) {
      const base = `${this.resourcesBase}models/${bundled.folder}/`;
      progress('fetch', 0, 0, 'model.json');
      const jsonBytes = await this.platform.readResource(`${base}model.json`, { signal });
      const info = parseModelJsonFile(new TextDecoder().decode(jsonBytes), 'model.json');
      const shards = await this.readShards(base, info, progress, signal);
      // The bundled models go through the format registry and the IR runner like every user model: one builder
      // turns every IR into tfjs, and it opens and runs faster than tfjs-layers' loader (bench --open).
      const files: ModelFile[] = [
        { path: 'model.json', bytes: new Uint8Array(jsonBytes) },
        ...[...shards].map(([path, bytes]) => ({ path, bytes: new Uint8Array(bytes) })),
      ];
      const opened = await inFolderAsync(bundled.folder, () => openModelFiles(files, bundled.folder));
      if (signal?.aborted) throw new CancelledError();
      const input = bundled.entry.preprocess.inputSize;
      const analysis = inFolder(bundled.folder, () => checkedAnalysis(opened, input));
      const file = `${bundled.folder}/model.json`;
      return this.register(bundled.entry, { kind: 'ir', opened, file, analysis, lazy: true }, progress, signal);
    }
    if (isZooId(modelId)) {
      const entry = catalogEntries().find((e) => e.id === modelId)!;
      return this.register(entry, { kind: 'zoo', id: modelId }, progress, signal);
    }
    if (modelId.startsWith('user:'))
      throw new Error(`model '${modelId}' is not loaded (it was unloaded or never opened); open it again`);
    throw new Error(
      `unknown model '${modelId}' (known: ${catalogEntries()
        .map((e) => e.id)
        .join(', ')})`,
    );
  }

  private async readShards(
    base: string,
    info: ModelJsonInfo,
    progress: ProgressFn,
    signal?: AbortSignal,
  ): Promise<Map<string, ArrayBuffer>> {
    const shards = new Map<string, ArrayBuffer>();
    const paths = info.resolvedPaths.flat();
    let done = 0;
    for (const [i, p] of paths.entries()) {
      if (signal?.aborted) throw new CancelledError();
      const detail = `${p} (${i + 1}/${paths.length})`;
      const buf = await this.platform.readResource(base + p, {
        signal,
        onBytes: (n) => progress('fetch', done + n, info.totalBytes, detail),
      });
      done += buf.byteLength;
      shards.set(p, buf);
      progress('fetch', done, info.totalBytes, detail);
    }
    return shards;
  }

  /**
   * Loads a user's model from its files (a single file or a folder's files), whatever the format: the registry
   * decides by content and opens it into the IR, the project's own graph code checks the topology (cycles,
   * dangling inputs, absurd sizes) before a single tensor is built, and the IR runner executes it. tfjs graph
   * models (TensorFlow ops) keep tfjs-converter's executor after a topology check of their own. Id `user:<name>`.
   */
  async loadUserModel(files: UserModelFiles, onProgress?: ProgressFn, signal?: AbortSignal): Promise<ModelSummary> {
    const progress = onProgress ?? (() => {});
    await this.ensureBackend();
    const byPath = new Map<string, ArrayBuffer>();
    for (const f of files.files) {
      const p = resolveInside('', f.path.replace(/\\/g, '/'));
      if (p !== null) byPath.set(p, f.bytes);
    }
    const graphJson = findGraphModelJson(byPath);
    if (graphJson) return this.loadGraphModelFiles(files.name, byPath, graphJson, progress, signal);

    const modelFiles: ModelFile[] = [...byPath].map(([path, bytes]) => ({
      path,
      bytes: new Uint8Array(bytes),
      ...(this.ownsUserFiles ? { consumable: true } : {}),
    }));
    const total = modelFiles.reduce((a, f) => a + f.bytes.byteLength, 0);
    progress('fetch', total, total, `${modelFiles.length} file(s)`);
    progress('build', 0, 1, files.name);
    const opened = await inFolderAsync(files.name, () => openModelFiles(modelFiles, files.name));
    if (signal?.aborted) throw new CancelledError();
    const hint = opened.preprocess;
    const preprocess: Preprocess = { ...DEFAULT_USER_PREPROCESS, ...(hint?.preprocess ?? {}) };
    const declared = opened.graph.nodes.find((n) => n.op === 'input');
    const shape = declared?.op === 'input' ? declared.shape : null;
    const input: [number, number] = [shape?.[0] ?? preprocess.inputSize[0], shape?.[1] ?? preprocess.inputSize[1]];
    const analysis = inFolder(files.name, () => checkedAnalysis(opened, input));
    const id = `user:${files.name}`;
    const entry: ModelEntry = {
      id,
      name: files.name,
      source: 'user',
      description: opened.description,
      // Seeded weights (an architecture edit's "Run it") get the UI's "untrained weights" badge.
      trained: opened.trained ?? true,
      preprocess: { ...preprocess, inputSize: input },
      preprocessSource: hint?.source ?? DEFAULT_USER_PREPROCESS_SOURCE,
      format: opened.format,
      ...(opened.labels ? { labels: opened.labels } : {}),
    };
    const source: ModelSource = { kind: 'ir', opened, file: opened.mainFile, analysis };
    const old = this.models.get(id);
    const loaded = await this.register(entry, source, progress, signal, true);
    if (old && old !== loaded) disposeModel(old);
    return loaded.summary;
  }

  /** A tfjs graph model (model.json with TensorFlow ops + shards), after checking its node graph. */
  private async loadGraphModelFiles(
    name: string,
    byPath: Map<string, ArrayBuffer>,
    jsonPath: string,
    progress: ProgressFn,
    signal?: AbortSignal,
  ): Promise<ModelSummary> {
    const jsonName = jsonPath.split('/').pop()!;
    const info = inFolder(name, () => parseModelJsonFile(new TextDecoder().decode(byPath.get(jsonPath)!), jsonPath));
    inFolder(name, () => checkGraphTopology(info.json, jsonName));
    const total = info.resolvedPaths.flat().reduce((a, p) => a + (byPath.get(p)?.byteLength ?? 0), 0);
    progress('fetch', total, total, `${info.resolvedPaths.flat().length} weight file(s)`);
    const artifacts = inFolder(name, () => buildArtifacts(info, byPath, jsonName));
    if (signal?.aborted) throw new CancelledError();
    const id = `user:${name}`;
    const entry: ModelEntry = {
      id,
      name,
      source: 'user',
      description: `Your tfjs graph model (${jsonPath}, ${info.totalBytes} bytes of weights)`,
      trained: true,
      preprocess: userPreprocess(info.json),
      preprocessSource: DEFAULT_USER_PREPROCESS_SOURCE,
      format: 'tfjs-graph',
    };
    const source: ModelSource = { kind: 'artifacts', format: 'graph', artifacts, info, file: jsonPath };
    const old = this.models.get(id);
    const loaded = await this.register(entry, source, progress, signal, true);
    if (old && old !== loaded) disposeModel(old);
    return loaded.summary;
  }

  /** Builds the runner (on the current backend), warms it up, analyses the graph, adds it to the LRU. */
  private register(
    entry: ModelEntry,
    source: ModelSource,
    progress: ProgressFn,
    signal?: AbortSignal,
    replace = false,
  ): Promise<LoadedModel> {
    return this.exclusive(async () => {
      if (signal?.aborted) throw new CancelledError();
      progress('build', 0, 1, entry.name);
      // tfjs leaks what it built when a load fails half way (variables of the layers built so far,
      // decoded weights): a scope and the list of variables let a failed load leave nothing behind.
      const scope = beginLoadScope();
      let runner: Runner;
      try {
        runner = await this.buildRunner(source);
      } catch (e) {
        scope.fail();
        throw e;
      }
      let loaded: LoadedModel | undefined;
      try {
        const input = inputSizeOf(runner, entry.preprocess);
        entry = {
          ...entry,
          preprocess: {
            ...entry.preprocess,
            inputSize: [input[0], input[1]],
            channels: input[2] === 1 ? 1 : entry.preprocess.channels,
          },
        };
        if (signal?.aborted) throw new CancelledError();
        progress('build', 1, 1, entry.name);
        // A warm-up pass pays off only on webgl (shader compilation); wasm and cpu have nothing to compile, and
        // a pass on zeros would only delay the first frame. Graph models need one pass to find their frame nodes.
        if ((this.warmUp && this.state?.backend === 'webgl') || runner instanceof GraphRunner) {
          progress('compile', 0, 1, entry.name);
          await this.warm(runner, input);
          progress('compile', 1, 1, entry.name);
        }
        const summary: ModelSummary = {
          ...entry,
          analysis: analysisFor(source, runner, [input[0], input[1]]),
          frameOrder: [...runner.frameOrder],
          ...clipsOf(runner),
        };
        loaded = { entry, summary, source, runner, lastInput: null, channelCache: null, gradients: null };
      } catch (e) {
        runner.dispose();
        scope.fail();
        throw e;
      }
      scope.succeed(runner);
      if (!replace && this.models.has(entry.id)) {
        runner.dispose();
        return this.models.get(entry.id)!;
      }
      this.models.delete(entry.id);
      this.models.set(entry.id, loaded);
      this.evict(entry.id);
      return loaded;
    });
  }

  private async buildRunner(source: ModelSource): Promise<Runner> {
    if (source.kind === 'zoo') {
      // The zoo goes through the same IR runner as every user model, with seeded He-normal weights, drawn lazily:
      // each layer's when the first pass reaches it, so the first maps come at once (and regenerated on a backend
      // switch rather than kept in JS memory: VGG-16's are 553 MB).
      const graph = getZooGraph(source.id);
      const shapes = new Map(analyzeGraph(graph).layers.map((l) => [l.id, l.outputShape]));
      return new IRRunner(graph, seededWeights(graph, { seed: ZOO_SEED }), { shapes, lazy: true });
    }
    if (source.kind === 'ir') {
      const shapes = new Map(source.analysis.layers.map((l) => [l.id, l.outputShape]));
      try {
        return new IRRunner(source.opened.graph, source.opened.weights, { shapes, lazy: source.lazy === true });
      } catch (e) {
        throw new InputError(
          errorMessage(e).startsWith(source.file) ? errorMessage(e) : `${source.file}: ${errorMessage(e)}`,
          source.file,
        );
      }
    }
    const { artifacts, file, info } = source;
    const handler: tf.io.IOHandler = { load: async () => artifacts };
    let model: tf.GraphModel;
    try {
      model = await tf.loadGraphModel(handler);
    } catch (e) {
      throw new InputError(`${file}: tfjs could not build the graph model: ${errorMessage(e)}`, file);
    }
    const topo = info.json.modelTopology as { node?: { name: string; op: string; input?: string[] }[] };
    try {
      return new GraphRunner(model, topo.node ?? []);
    } catch (e) {
      model.dispose();
      throw new InputError(`${file}: ${errorMessage(e)}`, file);
    }
  }

  /** One pass on zeros: compiles shaders (webgl: in parallel first) and lets GraphRunner find its frame nodes. */
  private async warm(runner: Runner, input: [number, number, number]): Promise<void> {
    const x = tf.zeros([1, ...input]);
    try {
      if (runner instanceof GraphRunner) {
        try {
          await runner.init(x);
        } catch (e) {
          throw new InputError(`the graph model could not run: ${errorMessage(e)}`);
        }
      }
      if (this.state?.backend === 'webgl' && runner instanceof IRRunner) {
        // Lazy runners build now: under compile-only mode the tensors a build derives would keep no values.
        runner.buildAll();
        await this.compileInParallel(runner, x);
      }
      await runner.run(x, null);
      if (this.state?.backend === 'webgl') {
        // The extraction shaders compile on first use too.
        const gpu = this.gpuExtractor();
        if (gpu) await gpu.warmUp();
      }
    } catch (e) {
      if (runner instanceof IRRunner && !(e instanceof InputError)) {
        throw new InputError(`the model could not run on a ${input.join('×')} input: ${errorMessage(e)}`);
      }
      throw e;
    } finally {
      x.dispose();
    }
  }

  /** tfjs's parallel shader compilation (KHR_parallel_shader_compile): compile every program, then wait. */
  private async compileInParallel(runner: Runner, x: tf.Tensor): Promise<void> {
    const backend = parallelCompile();
    if (!backend) return;
    setCompileOnly(true);
    try {
      await runner.run(x, null);
    } catch {
      // Some op needed real data; the plain warm-up pass compiles the rest.
    } finally {
      setCompileOnly(false);
    }
    await backend.checkCompileCompletionAsync();
    backend.getUniformLocations();
  }

  private touch(id: string): void {
    const m = this.models.get(id);
    if (!m) return;
    this.models.delete(id);
    this.models.set(id, m);
  }

  private evict(keep: string): void {
    for (const [id, m] of this.models) {
      if (this.models.size <= this.maxModels) break;
      if (id === keep) continue;
      this.models.delete(id);
      disposeModel(m);
    }
  }

  /** Ids of the loaded models, least recently used first. */
  loadedModelIds(): string[] {
    return [...this.models.keys()];
  }

  /** Disposes one loaded model. */
  unloadModel(modelId: string): Promise<boolean> {
    return this.exclusive(async () => {
      const m = this.models.get(modelId);
      if (!m) return false;
      this.models.delete(modelId);
      disposeModel(m);
      return true;
    });
  }

  private async rebuildModels(): Promise<void> {
    for (const m of this.models.values()) {
      try {
        disposeModel(m);
      } catch {
        // Disposing on a lost context may fail; the memory went with the context.
      }
      m.runner = await this.buildRunner(m.source);
      if (m.runner instanceof GraphRunner)
        await m.runner.init(tf.zeros([1, ...inputSizeOf(m.runner, m.entry.preprocess)]));
      m.channelCache = null;
    }
  }

  private async ensureBackend(): Promise<void> {
    if (!this.state)
      await this.exclusive(async () => (this.state ? undefined : this.switchBackend(this.platform.backends, false)));
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
    return this.ensureLoaded(req.modelId, undefined, signal).then(() =>
      this.exclusive(async () => {
        if (signal?.aborted) throw new CancelledError();
        const model = this.models.get(req.modelId);
        if (!model) {
          // Evicted while this pass waited behind more than maxModels others (the lock is held: no reload here).
          throw new Error(
            `model '${req.modelId}' was unloaded while the pass waited (more than ${this.maxModels} models in use); try again`,
          );
        }
        this.touch(req.modelId);
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
            const lost = e instanceof ContextLostError || (this.state?.backend === 'webgl' && this.webglLost());
            if (!lost || attempt > 0) throw e;
            this.contextLost = true;
            await this.fallbackFromWebgl();
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
    const backend = this.state!.backend;
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
    const gpu = backend === 'webgl' ? this.gpuExtractor() : null;
    let extractMs = 0;
    let lastYield = now();
    const lost = () => backend === 'webgl' && (this.contextLost || this.webglLost());
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
    const onLayer = async (out: LayerOutput) => {
      // The last layer's float vector is the prediction (read once: a few thousand values at most).
      if (out.index === last && out.tensor.rank === 2 && out.tensor.shape[0] === 1 && out.tensor.size <= 100_000) {
        prediction = topK((await out.tensor.data()) as Float32Array, out.layerId, model.entry.labels) ?? undefined;
      }
      const a = now();
      if (gpu) await gpu.push(out, maxSide, emit);
      else emit(await extractOnCpu(out, maxSide, this.framePool));
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

  private gpuExtractor(): GpuExtractor | null {
    if (this.state?.backend !== 'webgl') return null;
    if (!this.gpu) {
      const s = gpuExtractionSupported();
      if (!s.ok) return null;
      this.gpu = new GpuExtractor(s.gl, (n) => this.framePool.take(n));
    }
    return this.gpu;
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
    const m = await this.ensureLoaded(modelId);
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

  /** The graph, runner and weight lookup of an IR model, or an InputError saying why the model has none. */
  private irParts(m: LoadedModel): InspectContext {
    if (!(m.runner instanceof IRRunner) || m.source.kind === 'artifacts') {
      throw new InputError(
        `${m.entry.name}: unit inspection and gradients need a model the engine builds layer by layer; a tfjs graph model (TensorFlow ops) runs in tfjs-converter's executor`,
        m.source.kind === 'artifacts' ? m.source.file : undefined,
      );
    }
    const graph: ModelGraph = m.runner.graph;
    let weights: WeightLookup;
    if (m.source.kind === 'ir') weights = m.source.opened.weights;
    else {
      // The zoo's weights are drawn per layer (seeded-weights.ts) and not kept (VGG-16's are 553 MB): draw the
      // asked layer again, the same bytes the runner drew. The last one is kept (stepping through one layer's units).
      const draw = seededWeights(graph, { seed: ZOO_SEED });
      const byName = new Map(graph.nodes.map((n) => [n.name, n]));
      let last: { layer: string; data: TensorData[] } | null = null;
      weights = {
        get(layer) {
          if (last?.layer === layer) return last.data;
          const n = byName.get(layer);
          if (!n) return undefined;
          last = { layer, data: draw(n) };
          return last.data;
        },
      };
    }
    return { graph, runner: m.runner, weights };
  }

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
      const ctx = this.irParts(m);
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
      for (const m of this.models.values()) disposeModel(m);
      this.models.clear();
      this.gpu?.dispose();
      this.gpu = null;
      this.framePool.clear();
      releaseCpuExtraction();
    });
  }
}

/** The clip value of every layer of an IR model that has one (channel health's "saturated"). */
function clipsOf(runner: Runner): { clips?: Record<string, number> } {
  if (!(runner instanceof IRRunner)) return {};
  const clips: Record<string, number> = {};
  for (const n of runner.graph.nodes) {
    const c = clipValueOf(n);
    if (c !== null) clips[n.name] = c;
  }
  return Object.keys(clips).length ? { clips } : {};
}

/** See `register`: a tfjs scope around a model load, ended so that a failure leaves no tensor behind. */
function beginLoadScope(): { fail(): void; succeed(runner: Runner): void } {
  const eng = tf.engine();
  const vars = registeredVariables;
  const before = new Set(Object.keys(vars()));
  eng.startScope('load-model');
  return {
    fail() {
      eng.endScope();
      for (const [name, v] of Object.entries(vars())) if (!before.has(name)) v.dispose();
    },
    succeed(runner) {
      // Layers models keep their weights in variables (never disposed by a scope); graph models in plain tensors.
      eng.endScope(runner instanceof GraphRunner ? Object.values(runner.model.weights).flat() : undefined);
    },
  };
}

/** [H, W, C] of the model input: the model's declared size, or the preprocess size where it is open. */
function inputSizeOf(runner: Runner, pre: Preprocess): [number, number, number] {
  const shape =
    runner instanceof IRRunner
      ? [1, ...runner.inputShape]
      : ((runner as GraphRunner).model.inputs[0].shape ?? [null, null, null, 3]);
  if (shape.length !== 4) {
    throw new InputError(
      `the model's input has shape [${shape.map((d) => d ?? '?').join(', ')}]; an image input [batch, height, width, channels] is needed`,
    );
  }
  const c = shape[3] == null || shape[3] < 0 ? 3 : shape[3];
  if (c !== 1 && c !== 3) throw new InputError(`the model's input has ${c} channels; images give 1 (grey) or 3 (RGB)`);
  const dim = (d: number | null, fallback: number) => (d == null || d < 0 ? fallback : d);
  return [dim(shape[1], pre.inputSize[0]), dim(shape[2], pre.inputSize[1]), c];
}

/** The preprocessing of a user model: [0, 1] RGB, center-crop, unless model.json's userDefinedMetadata.preprocess says otherwise. */
function userPreprocess(json: Record<string, unknown>): Preprocess {
  const base: Preprocess = {
    inputSize: [224, 224],
    resize: 'center-crop',
    channelOrder: 'rgb',
    scale: 1,
    offset: 0,
    mean: [0, 0, 0],
    std: [1, 1, 1],
  };
  const meta = json.userDefinedMetadata as { preprocess?: Partial<Preprocess> } | undefined;
  const p = meta?.preprocess;
  if (!p || typeof p !== 'object') return base;
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const triple = (v: unknown, d: [number, number, number]): [number, number, number] =>
    Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number') ? [v[0], v[1], v[2]] : d;
  return {
    ...base,
    resize: p.resize === 'stretch' || p.resize === 'letterbox' || p.resize === 'center-crop' ? p.resize : base.resize,
    channelOrder: p.channelOrder === 'bgr' ? 'bgr' : 'rgb',
    scale: num(p.scale, 1),
    offset: num(p.offset, 0),
    mean: triple(p.mean, base.mean),
    std: triple(p.std, base.std),
  };
}

/**
 * The analysed layer graph: the zoo's own graph, or the Keras topology of a model.json, analysed by
 * the shared analysis (analysis/). Where that cannot analyse the model (unusual layers or ops) a
 * minimal analysis from the runner's output shapes keeps the UI working, with the reason
 * as a warning.
 */
function analysisFor(source: ModelSource, runner: Runner, input: [number, number]): ModelAnalysis {
  let analysis: ModelAnalysis;
  try {
    if (source.kind === 'zoo') analysis = analyzeGraph(getZooGraph(source.id, { input }));
    else if (source.kind === 'ir') analysis = source.analysis;
    // Layers models are read from their Keras topology, graph models from their TensorFlow ops.
    else analysis = analyzeModelJson(source.info.json, source.file, { input });
  } catch (e) {
    return fallbackAnalysis(runner, input, errorMessage(e));
  }
  const ids = new Set(analysis.layers.map((l) => l.id));
  const missing = runner.frameOrder.filter((id) => !ids.has(id));
  if (missing.length) {
    analysis = {
      ...analysis,
      warnings: [
        ...analysis.warnings,
        `${missing.length} layer(s) have frames but no analysis: ${missing.slice(0, 5).join(', ')}`,
      ],
    };
  }
  return analysis;
}

function fallbackAnalysis(runner: Runner, input: [number, number], why: string): ModelAnalysis {
  const zero = { weights: 0, biases: 0, trainable: 0, nonTrainable: 0, total: 0 };
  const layers: LayerAnalysis[] = runner.frameOrder.map((id, i) => ({
    id,
    name: id,
    kind: 'unknown',
    className: 'unknown',
    inputs: i === 0 ? [] : [runner.frameOrder[i - 1]],
    outputShape: (runner.outputShapes.get(id) ?? []).slice(1).map((d) => d ?? 0),
    params: zero,
    macs: 0,
    receptiveField: null,
    stage: null,
  }));
  return {
    input: [input[0], input[1], 3],
    layers,
    stages: [],
    totals: emptyTotals(),
    warnings: [`no layer arithmetic: ${why}`],
  };
}

/** The conventions of a user model that states none: the most common Keras/PyTorch-export habit, said as such. */
const DEFAULT_USER_PREPROCESS: Preprocess = {
  inputSize: [224, 224],
  resize: 'center-crop',
  channelOrder: 'rgb',
  scale: 1,
  offset: 0,
  mean: [0, 0, 0],
  std: [1, 1, 1],
};
const DEFAULT_USER_PREPROCESS_SOURCE = 'stated default: RGB in [0, 1], center-crop (the model says nothing)';

/** The model's conventions with the user's choice on top; the input size and channel count are the model's. */
function withOverride(pre: Preprocess, override: Partial<Preprocess> | undefined): Preprocess {
  if (!override) return pre;
  const merged: Preprocess = { ...pre, ...override, inputSize: pre.inputSize };
  if (pre.channels !== undefined) merged.channels = pre.channels;
  return merged;
}
