/**
 * The model registry: the loaded-model cache (a small LRU), loading bundled, zoo and user models (reading their
 * files, checking their topology, building a runner on the current backend, warming it up), the analysis of a
 * loaded model, eviction, and rebuilding every model after a backend switch. Building happens inside the
 * engine's lock; reading files does not wait for it.
 */
import * as tf from '@tensorflow/tfjs';
import { analyzeGraph, emptyTotals } from '../analysis/analyze';
import { analyzeModelJson } from '../analysis';
import type { LayerAnalysis, ModelAnalysis } from '../../../common/analysis-types';
import { getZooGraph, isZooId } from '../zoo';
import { seededWeights } from './seeded-weights';
import { BUNDLED, ZOO_SEED, catalogEntries } from './catalog';
import { InputError } from '../../../common/image-header';
import { buildArtifacts, parseModelJsonFile, resolveInside, type ModelJsonInfo } from './model-files';
import type { EnginePlatform } from './platform';
import type { PreparedInput } from './preprocess';
import type { ModelEntry, ModelSummary, Preprocess, UserModelFiles } from '../../../common/engine-protocol';
import { registeredVariables, parallelCompile, setCompileOnly } from './tfjs-private';
import { CancelledError, GraphRunner, type Runner } from './runner';
import { IRRunner } from './ir-runner';
import type { InspectContext } from './unit-inspect';
import { clipValueOf } from './channel-health';
import type { DifferentiableRunner } from './gradients';
import type { ModelGraph, TensorData } from '../analysis/graph';
import { OpenCancelledError, openModelFiles, type ModelFile, type OpenedModel } from '../formats';
import { graphForFile } from '../analysis/edit-graph';
import { checkGraphTopology, checkedAnalysis, findGraphModelJson, inFolder, inFolderAsync } from './model-checks';
import { errorMessage, type BackendSelector, type Exclusive } from './backends';

export type ProgressPhase = 'fetch' | 'build' | 'compile' | 'decode' | 'infer';
export type ProgressFn = (phase: ProgressPhase, loaded: number, total: number, detail?: string) => void;

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

export interface LoadedModel {
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

export interface RegistryOptions {
  platform: EnginePlatform;
  backends: BackendSelector;
  exclusive: Exclusive;
  /** See EngineOptions. */
  warmUp: boolean;
  maxModels: number;
  ownsUserFiles: boolean;
}

export class ModelRegistry {
  private resourcesBase = '';
  private readonly models = new Map<string, LoadedModel>();
  private readonly loading = new Map<string, Promise<LoadedModel>>();
  private readonly platform: EnginePlatform;
  private readonly backends: BackendSelector;
  private readonly exclusive: Exclusive;

  constructor(private readonly opts: RegistryOptions) {
    this.platform = opts.platform;
    this.backends = opts.backends;
    this.exclusive = opts.exclusive;
  }

  /** Models kept loaded at once. */
  get maxModels(): number {
    return this.opts.maxModels;
  }

  /** Sets where bundled models live (a URL or folder; '' = relative). */
  setResourcesBase(base: string): void {
    this.resourcesBase = base.endsWith('/') || base === '' ? base : `${base}/`;
  }

  /** A loaded model, or undefined. */
  get(modelId: string): LoadedModel | undefined {
    return this.models.get(modelId);
  }

  /** The entries of the user models loaded now. */
  userEntries(): ModelEntry[] {
    return [...this.models.values()].filter((m) => m.entry.source === 'user').map((m) => m.entry);
  }

  /** Loads a bundled or zoo model by id (returns the loaded one, marked as just used, when it is loaded). */
  async ensureLoaded(modelId: string, onProgress?: ProgressFn, signal?: AbortSignal): Promise<LoadedModel> {
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
    await this.backends.ensure();
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
    await this.backends.ensure();
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
      ...(this.opts.ownsUserFiles ? { consumable: true } : {}),
    }));
    const total = modelFiles.reduce((a, f) => a + f.bytes.byteLength, 0);
    progress('fetch', total, total, `${modelFiles.length} file(s)`);
    progress('build', 0, 1, files.name);
    // Cancel reaches the format's open, which checks the signal between tensors (a 528 MB checkpoint takes seconds).
    const opened = await inFolderAsync(files.name, () => openModelFiles(modelFiles, files.name, { signal })).catch(
      (e: unknown) => {
        throw e instanceof OpenCancelledError ? new CancelledError() : e;
      },
    );
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
        if ((this.opts.warmUp && this.backends.onWebgl) || runner instanceof GraphRunner) {
          progress('compile', 0, 1, entry.name);
          await this.warm(runner, input);
          progress('compile', 1, 1, entry.name);
        }
        const summary: ModelSummary = {
          ...entry,
          analysis: analysisFor(source, runner, [input[0], input[1]]),
          frameOrder: [...runner.frameOrder],
          ...clipsOf(runner),
          // The model's own layer graph (settings only, no weights), for the what-if editor.
          ...(source.kind === 'ir' ? { graph: graphForFile(source.opened.graph) } : {}),
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
      if (this.backends.onWebgl && runner instanceof IRRunner) {
        // Lazy runners build now: under compile-only mode the tensors a build derives would keep no values.
        runner.buildAll();
        await this.compileInParallel(runner, x);
      }
      await runner.run(x, null);
      if (this.backends.onWebgl) {
        // The extraction shaders compile on first use too.
        const gpu = this.backends.gpuExtractor();
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

  /** Marks a model as just used. */
  touch(id: string): void {
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
  loadedIds(): string[] {
    return [...this.models.keys()];
  }

  /** Disposes one loaded model. */
  unload(modelId: string): Promise<boolean> {
    return this.exclusive(async () => {
      const m = this.models.get(modelId);
      if (!m) return false;
      this.models.delete(modelId);
      disposeModel(m);
      return true;
    });
  }

  /** Rebuilds every loaded model on the current backend (after a switch; inside the lock). */
  async rebuild(): Promise<void> {
    for (const m of this.models.values()) {
      try {
        disposeModel(m);
      } catch {
        // Disposing on a lost context may fail; the memory went with the context.
      }
      m.runner = await this.buildRunner(m.source);
      if (m.runner instanceof GraphRunner) {
        const x = tf.zeros([1, ...inputSizeOf(m.runner, m.entry.preprocess)]);
        try {
          await m.runner.init(x);
        } finally {
          x.dispose();
        }
      }
      m.channelCache = null;
    }
  }

  /** Disposes every model. Call inside the lock. */
  disposeAll(): void {
    for (const m of this.models.values()) disposeModel(m);
    this.models.clear();
  }
}

/** The graph, runner and weight lookup of an IR model, or an InputError saying why the model has none. */
export function irParts(m: LoadedModel): InspectContext {
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
  const base: Preprocess = { ...DEFAULT_USER_PREPROCESS };
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
