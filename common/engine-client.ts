/**
 * The UI's side of the engine protocol over any PortLike (a MessagePort to the worker, or a Worker).
 * Pure TypeScript: no DOM beyond the port. Requests get ids; replies are routed back by id.
 * `analyze` returns an AnalyzeRun with callbacks, a `done` promise and async iteration; a newer
 * analyze supersedes older ones (their frames are dropped at once and they end as cancelled) unless
 * it is started with `keepOthers` (compare mode).
 *
 * A watchdog keeps the engine from freezing the UI: while a request is outstanding the client pings the
 * engine four times a second; the engine answers from its message loop, which it cannot do while a tfjs op
 * spins synchronously. No reply for a few seconds, or a request past its deadline, and the client declares
 * the engine dead: every request in flight rejects with {@link EngineDead} and `onDead` listeners are told
 * what was running, so the UI can restart the engine (bridge.restartEngine) and restore its state.
 * Every reply is checked against protocol-schema.ts before it is routed; a malformed one is reported.
 */
import type {
  BackendName,
  EngineReply,
  EngineRequest,
  ImageInput,
  LayerFrame,
  ModelEntry,
  ModelSummary,
  PassStats,
  PassTimings,
  Prediction,
  Preprocess,
  PortLike,
  ResizePolicy,
  EffectiveField,
  GradCam,
  UnitInspection,
  UserModelFiles,
} from './engine-protocol';
import { MAX_RECYCLED_BUFFERS, parseReply } from './engine-protocol-schema';

/** An error reply, as an Error: the message names the file and the problem; `file` is that file. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly requestId: number | null,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** A request that ended because it was cancelled (by `cancel`, a newer analyze, or a model load). */
export class EngineCancelled extends Error {
  constructor(readonly requestId: number) {
    super(`request ${requestId} was cancelled`);
    this.name = 'EngineCancelled';
  }
}

/** The engine stopped answering (or overran a deadline); every request in flight rejects with this. */
export class EngineDead extends Error {
  constructor(
    /** 'unresponsive': no reply to pings; 'deadline': a request ran past its time limit. */
    readonly kind: 'unresponsive' | 'deadline',
    /** What was running, as words: "loading cats/model.json", "analyzing cat.png with mobilenetv2". */
    readonly during: string,
    /** The request that was running (its model and file), for the UI to mark what caused it. */
    readonly culprit: RequestInfo | null,
  ) {
    super(
      kind === 'deadline'
        ? `The engine took too long while ${during}`
        : `The engine stopped responding while ${during}`,
    );
    this.name = 'EngineDead';
  }
}

/** What an outstanding request is about, for messages and for deciding what caused a hang. */
export interface RequestInfo {
  type: EngineRequest['type'];
  /** "loading cats/model.json" */
  during: string;
  modelId?: string;
  /** The file the request reads (a user model's model.json, an image). */
  file?: string;
}

/** Timings of the watchdog, ms. */
export interface WatchdogOptions {
  /** How often to ping while a request is outstanding. */
  pingMs?: number;
  /** Silence after which the engine is declared dead (wasm, cpu). */
  pongTimeoutMs?: number;
  /**
   * The same on WebGL, where shader compilation legitimately blocks the worker's thread for seconds on
   * the first pass (DESIGN.md: 6.6 s for MobileNetV2 on a fresh browser).
   */
  webglPongTimeoutMs?: number;
  /** Deadline of an analyze pass (cpu gets 3×). */
  analyzeMs?: number;
  /** Deadline of a model load: base plus a rate per MB of the files sent. */
  loadBaseMs?: number;
  loadMsPerMB?: number;
  /** Deadline of anything else (hello, channel, setBackend, …). */
  otherMs?: number;
  /**
   * Silence allowed on top of the ping timeout while `hello` is outstanding: a fresh worker evaluates the
   * tfjs bundle and compiles the backend (wasm, WebGL) before its message loop runs at all.
   */
  startupSilenceMs?: number;
  /**
   * Slowest plausible speed of a synchronous forward pass, multiply-accumulates per ms, by backend. A pass
   * runs as one synchronous call on wasm and cpu: after its `infer` progress the engine may be silent for
   * MACs / rate ms on top of the ping timeout (VGG16 on wasm: 15.5 G / 5e5 = 31 s). Loads get the same for
   * their build and warm-up, estimating MACs as 25 per weight byte (MobileNetV2: 86 MACs per parameter).
   */
  macsPerMs?: Record<BackendName, number>;
}

export interface EngineClientOptions {
  /** False turns the watchdog off (scripted engines in tests that do not answer pings). */
  watchdog?: WatchdogOptions | false;
}

const WATCHDOG_DEFAULTS: Required<WatchdogOptions> = {
  // A stuck engine is found 2–2.5 s after it stopped (plus what a pass in flight may legitimately block);
  // a restart and reload fit in what is left of "back within 5 s".
  pingMs: 250,
  pongTimeoutMs: 2000,
  webglPongTimeoutMs: 15_000,
  analyzeMs: 60_000,
  loadBaseMs: 60_000,
  loadMsPerMB: 2000,
  otherMs: 120_000,
  startupSilenceMs: 10_000,
  // Measured on this 2-core machine: wasm runs MobileNetV2 (0.3 GMAC) in ~65 ms, about 4.5 GMAC/s; these
  // are ~10× below that.
  macsPerMs: { wasm: 5e5, cpu: 5e4, webgl: 1e6 },
};

/** MACs per weight byte assumed for a model whose analysis is not known yet (see macsPerMs). */
const MACS_PER_WEIGHT_BYTE = 25;

export type ProgressReply = Extract<EngineReply, { type: 'progress' }>;
export type ImageReply = Extract<EngineReply, { type: 'image' }>;
export type ReadyReply = Extract<EngineReply, { type: 'ready' }>;

export interface AnalyzeOutcome {
  timings: PassTimings;
  backend: BackendName;
  stats?: PassStats;
  /** Top-5 of the model's classification head, when its last layer is a class vector. */
  prediction?: Prediction;
}

export type AnalyzeEvent =
  | { type: 'progress'; progress: ProgressReply }
  | { type: 'image'; image: ImageReply }
  | { type: 'frame'; frame: LayerFrame }
  | { type: 'done'; outcome: AnalyzeOutcome };

export interface AnalyzeOptions {
  modelId: string;
  image: ImageInput;
  resize?: ResizePolicy;
  maxSide?: number;
  /** Queue behind the passes in flight instead of cancelling them (compare mode). */
  keepOthers?: boolean;
  /** The user's input conventions for this model (replace the model's own). */
  preprocess?: Partial<Preprocess>;
}

export interface LoadOptions {
  onProgress?: (p: ProgressReply) => void;
  /** Aborting sends a cancel for the load. */
  signal?: AbortSignal;
}

type Handler = (reply: EngineReply) => void;

/** One analyze request in flight. */
export class AnalyzeRun implements AsyncIterable<AnalyzeEvent> {
  /** Resolves when the last frame has arrived; rejects with EngineError or EngineCancelled. */
  readonly done: Promise<AnalyzeOutcome>;
  private resolveDone!: (o: AnalyzeOutcome) => void;
  private rejectDone!: (e: Error) => void;
  private readonly listeners: { [K in AnalyzeEvent['type']]: ((e: Extract<AnalyzeEvent, { type: K }>) => void)[] } = {
    progress: [],
    image: [],
    frame: [],
    done: [],
  };
  private readonly errorListeners: ((e: Error) => void)[] = [];
  private readonly buffered: AnalyzeEvent[] = [];
  private wake: (() => void) | null = null;
  private ended: Error | null | 'ok' = null;
  /** Superseded runs drop everything that still arrives for them. */
  superseded = false;

  constructor(
    readonly id: number,
    private readonly sendCancel: (id: number) => void,
  ) {
    this.done = new Promise<AnalyzeOutcome>((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.done.catch(() => {}); // callers that only use callbacks must not see unhandled rejections
  }

  onProgress(cb: (p: ProgressReply) => void): this {
    this.listeners.progress.push((e) => cb(e.progress));
    return this;
  }
  onImage(cb: (img: ImageReply) => void): this {
    this.listeners.image.push((e) => cb(e.image));
    return this;
  }
  onFrame(cb: (frame: LayerFrame) => void): this {
    this.listeners.frame.push((e) => cb(e.frame));
    return this;
  }
  onDone(cb: (o: AnalyzeOutcome) => void): this {
    this.listeners.done.push((e) => cb(e.outcome));
    return this;
  }
  /** Errors and cancellation (EngineCancelled). */
  onError(cb: (e: Error) => void): this {
    this.errorListeners.push(cb);
    return this;
  }

  /** Asks the engine to stop this pass; it ends with EngineCancelled. */
  cancel(): void {
    if (this.ended) return;
    this.sendCancel(this.id);
  }

  /** @internal ends the run with `e` (the engine died, or sent a malformed reply for it). */
  abort(e: Error): void {
    this.fail(e);
  }

  /** @internal routes one reply of this request. */
  receive(reply: EngineReply): boolean {
    let ev: AnalyzeEvent | null = null;
    switch (reply.type) {
      case 'progress':
        ev = { type: 'progress', progress: reply };
        break;
      case 'image':
        if (!this.superseded) ev = { type: 'image', image: reply };
        break;
      case 'frame':
        if (!this.superseded) ev = { type: 'frame', frame: reply.frame };
        break;
      case 'frames':
        if (!this.superseded) for (const frame of reply.frames) this.dispatch({ type: 'frame', frame });
        break;
      case 'done':
        this.finish({
          type: 'done',
          outcome: {
            timings: reply.timings,
            backend: reply.backend,
            stats: reply.stats,
            ...(reply.prediction ? { prediction: reply.prediction } : {}),
          },
        });
        return true;
      case 'cancelled':
        this.fail(new EngineCancelled(this.id));
        return true;
      case 'error':
        this.fail(new EngineError(reply.message, reply.id, reply.file));
        return true;
    }
    if (ev) this.dispatch(ev);
    return false;
  }

  private dispatch(ev: AnalyzeEvent): void {
    for (const cb of this.listeners[ev.type] as ((e: AnalyzeEvent) => void)[]) cb(ev);
    this.buffered.push(ev);
    this.wake?.();
  }

  private finish(ev: Extract<AnalyzeEvent, { type: 'done' }>): void {
    if (this.superseded) return this.fail(new EngineCancelled(this.id));
    this.dispatch(ev);
    this.ended = 'ok';
    this.resolveDone(ev.outcome);
    this.wake?.();
  }

  private fail(e: Error): void {
    if (this.ended) return;
    this.ended = e;
    for (const cb of this.errorListeners) cb(e);
    this.rejectDone(e);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<AnalyzeEvent> {
    for (;;) {
      while (this.buffered.length) yield this.buffered.shift()!;
      if (this.ended === 'ok') return;
      if (this.ended) throw this.ended;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
  }
}

interface Outstanding {
  info: RequestInfo;
  deadline: number;
  /** Bytes of the model being loaded (from the request, or the fetch progress). */
  bytes: number;
  /** Silence allowed on top of the ping timeout: the synchronous stretch the engine announced it is entering. */
  extraSilenceMs: number;
  /** Rejects the request (the engine died, or its reply was malformed). */
  fail(e: Error): void;
}

/** The UI's handle on the engine. */
export class EngineClient {
  private nextId = 1;
  private readonly handlers = new Map<number, Handler>();
  private readonly runs = new Map<number, AnalyzeRun>();
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly backendListeners = new Set<(b: { backend: BackendName; reason: string }) => void>();
  private readonly errorListeners = new Set<(e: EngineError) => void>();
  private readonly deadListeners = new Set<(e: EngineDead) => void>();
  private readonly onMessage = (ev: MessageEvent) => this.route(ev.data);
  private readonly watchdog: Required<WatchdogOptions> | null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private lastTick = 0;
  private backendNow: BackendName | null = null;
  /** MACs of each model loaded through this client (its summary), for the silence a pass may need. */
  private readonly modelMacs = new Map<string, number>();
  private deadError: EngineDead | null = null;
  private heap: number | null = null;

  constructor(
    private readonly port: PortLike,
    opts: EngineClientOptions = {},
  ) {
    this.watchdog = opts.watchdog === false ? null : { ...WATCHDOG_DEFAULTS, ...opts.watchdog };
    port.addEventListener('message', this.onMessage);
    port.start?.();
  }

  /** Memory the engine's thread held at its last pong (JS heap + wasm memory), or null when not reported. */
  get heapBytes(): number | null {
    return this.heap;
  }

  /** The EngineDead that ended this client, or null while the engine is alive. */
  get dead(): EngineDead | null {
    return this.deadError;
  }

  private send(req: EngineRequest, transfer: Transferable[] = []): void {
    this.port.postMessage(req, transfer);
  }

  private route(data: unknown): void {
    if (this.deadError) return;
    const checked = parseReply(data);
    if (!checked.ok) {
      // Still a sign of life; but the reply cannot be used. The request it belongs to fails with the problem.
      this.lastHeard = Date.now();
      const e = new EngineError(checked.problem, checked.id);
      if (checked.id !== null) this.outstanding.get(checked.id)?.fail(e);
      for (const cb of this.errorListeners) cb(e);
      return;
    }
    const reply = checked.value;
    this.lastHeard = Date.now();
    if (reply.type === 'pong') {
      if (reply.heapBytes !== undefined) this.heap = reply.heapBytes;
      return;
    }
    if (reply.type === 'modelLoaded') this.modelMacs.set(reply.summary.id, reply.summary.analysis.totals?.macs ?? 0);
    if (reply.type === 'progress') this.expectSilence(reply);
    if (reply.type === 'ready' || reply.type === 'backend') this.backendNow = reply.backend;
    if (reply.type === 'backend' && reply.id === undefined) {
      for (const cb of this.backendListeners) cb({ backend: reply.backend, reason: reply.reason });
      return;
    }
    if (reply.type === 'error' && reply.id === null) {
      const e = new EngineError(reply.message, null, reply.file);
      for (const cb of this.errorListeners) cb(e);
      return;
    }
    const id = (reply as { id?: number }).id;
    if (id === undefined) return;
    const run = this.runs.get(id);
    if (run) {
      if (run.receive(reply)) {
        this.runs.delete(id);
        this.settled(id);
      }
      return;
    }
    this.handlers.get(id)?.(reply);
  }

  /**
   * A progress reply says what the engine does next; before a forward pass (`infer`, a load's `build` and
   * `compile`) it may be silent for as long as that synchronous call takes.
   */
  private expectSilence(p: ProgressReply): void {
    const o = this.outstanding.get(p.id);
    if (!o || !this.watchdog) return;
    if (p.phase === 'fetch' && p.total > o.bytes) o.bytes = p.total;
    const rate = this.watchdog.macsPerMs[this.backendNow ?? 'wasm'];
    if (p.phase === 'infer') o.extraSilenceMs = (this.modelMacs.get(o.info.modelId ?? '') ?? 0) / rate;
    else if (p.phase === 'build' || p.phase === 'compile') o.extraSilenceMs = (o.bytes * MACS_PER_WEIGHT_BYTE) / rate;
    else o.extraSilenceMs = 0;
  }

  /** Registers a request with the watchdog; its deadline starts now. */
  private watch(id: number, info: RequestInfo, deadlineMs: number, fail: (e: Error) => void, bytes = 0): void {
    if (!this.watchdog) return;
    if (this.outstanding.size === 0) this.lastHeard = Date.now(); // silence while idle does not count
    // hello starts a backend; setBackend starts one and rebuilds every model: both block the thread a while.
    const starts = info.type === 'hello' || info.type === 'setBackend';
    const extraSilenceMs = starts ? this.watchdog.startupSilenceMs : 0;
    this.outstanding.set(id, { info, deadline: Date.now() + deadlineMs, fail, bytes, extraSilenceMs });
    if (!this.timer) {
      this.lastTick = Date.now();
      this.timer = setInterval(() => this.tick(), this.watchdog.pingMs);
      // A ping at once: a fresh heap reading for every burst of work, however short.
      this.send({ type: 'ping', id: this.nextId++ });
    }
  }

  private settled(id: number): void {
    this.outstanding.delete(id);
    if (this.outstanding.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private tick(): void {
    const w = this.watchdog!;
    const now = Date.now();
    // A tick far later than scheduled means this thread was stalled itself (a long task, GC, the machine
    // asleep, or an engine served in this same thread, as in tests): the engine's answers may be queued
    // behind this very callback. Give it a fresh window instead of blaming it.
    const late = now - this.lastTick > w.pingMs + w.pongTimeoutMs / 2;
    this.lastTick = now;
    if (late) {
      this.lastHeard = now;
      return;
    }
    let extra = 0;
    for (const o of this.outstanding.values()) extra = Math.max(extra, o.extraSilenceMs);
    const silence = (this.backendNow === 'webgl' ? w.webglPongTimeoutMs : w.pongTimeoutMs) + extra;
    // The oldest outstanding request is the one the engine is most likely stuck in.
    const first = this.outstanding.values().next().value;
    if (first && now - this.lastHeard > silence) return this.die('unresponsive', first.info);
    for (const o of this.outstanding.values()) if (now > o.deadline) return this.die('deadline', o.info);
    this.send({ type: 'ping', id: this.nextId++ });
  }

  /** Declares the engine dead: every request in flight rejects, `onDead` listeners hear it once. */
  private die(cause: 'unresponsive' | 'deadline', info: RequestInfo): void {
    if (this.deadError) return;
    const e = (this.deadError = new EngineDead(cause, info.during, info));
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const pending = [...this.outstanding.values()];
    this.outstanding.clear();
    for (const o of pending) o.fail(e);
    for (const run of this.runs.values()) run.abort(e);
    this.runs.clear();
    this.handlers.clear();
    for (const cb of this.deadListeners) cb(e);
  }

  private deadlineFor(type: EngineRequest['type'], bytes = 0): number {
    const w = this.watchdog ?? WATCHDOG_DEFAULTS;
    if (type === 'analyze') return this.backendNow === 'cpu' ? 3 * w.analyzeMs : w.analyzeMs;
    if (type === 'loadModel' || type === 'loadUserModel') return w.loadBaseMs + (bytes / 1e6) * w.loadMsPerMB;
    return w.otherMs;
  }

  /** Sends a request and resolves with the reply `accept` picks; errors and cancellation reject. */
  private request<T>(
    build: (id: number) => EngineRequest,
    accept: (r: EngineReply) => T | undefined,
    opts: LoadOptions = {},
    transfer: Transferable[] = [],
    info?: Omit<RequestInfo, 'type'> & { bytes?: number },
  ): Promise<T> {
    const id = this.nextId++;
    const req = build(id);
    return new Promise<T>((resolve, reject) => {
      if (this.deadError) return reject(this.deadError);
      const cleanup = () => {
        this.handlers.delete(id);
        this.settled(id);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => this.cancel(id);
      opts.signal?.addEventListener('abort', onAbort);
      this.handlers.set(id, (reply) => {
        if (reply.type === 'progress') return opts.onProgress?.(reply);
        if (reply.type === 'error') {
          cleanup();
          return reject(new EngineError(reply.message, id, reply.file));
        }
        if (reply.type === 'cancelled') {
          cleanup();
          return reject(new EngineCancelled(id));
        }
        const v = accept(reply);
        if (v !== undefined) {
          cleanup();
          resolve(v);
        }
      });
      const { bytes, ...rest } = info ?? { during: describeRequest(req) };
      this.watch(
        id,
        { type: req.type, ...rest },
        this.deadlineFor(req.type, bytes),
        (e) => {
          cleanup();
          reject(e);
        },
        bytes,
      );
      this.send(req, transfer);
      if (opts.signal?.aborted) onAbort();
    });
  }

  /** Starts the engine's backend; `prefer` forces an order (tests: ['wasm']). */
  hello(resourcesBase: string, prefer?: BackendName[]): Promise<ReadyReply> {
    return this.request(
      (id) => ({ type: 'hello', id, resourcesBase, ...(prefer ? { prefer } : {}) }),
      (r) => (r.type === 'ready' ? r : undefined),
    );
  }

  listModels(): Promise<ModelEntry[]> {
    return this.request(
      (id) => ({ type: 'listModels', id }),
      (r) => (r.type === 'models' ? r.models : undefined),
    );
  }

  /** Loads a bundled or zoo model; progress as `fetch` bytes, then `build`, `compile`. */
  loadModel(modelId: string, opts: LoadOptions = {}): Promise<ModelSummary> {
    return this.request(
      (id) => ({ type: 'loadModel', id, modelId }),
      (r) => (r.type === 'modelLoaded' ? r.summary : undefined),
      opts,
      [],
      { during: `loading ${modelId}`, modelId },
    );
  }

  /** Loads a user's tfjs model from its files (transferred: the buffers are detached afterwards). */
  loadUserModel(model: UserModelFiles, opts: LoadOptions & { transfer?: boolean } = {}): Promise<ModelSummary> {
    const transfer = opts.transfer ? model.files.map((f) => f.bytes) : [];
    const bytes = model.files.reduce((n, f) => n + f.bytes.byteLength, 0);
    const json = model.files.find((f) => /(^|\/)model\.json$/.test(f.path)) ?? model.files[0];
    const file = json ? `${model.name}/${json.path}` : model.name;
    return this.request(
      (id) => ({ type: 'loadUserModel', id, model }),
      (r) => (r.type === 'modelLoaded' ? r.summary : undefined),
      opts,
      transfer,
      { during: `loading ${file}`, modelId: `user:${model.name}`, file: json?.path, bytes },
    );
  }

  /** Runs an image through a model; frames stream to the returned run. */
  analyze(opts: AnalyzeOptions): AnalyzeRun {
    if (!opts.keepOthers) {
      for (const run of this.runs.values()) run.superseded = true;
    }
    const id = this.nextId++;
    const run = new AnalyzeRun(id, (target) => this.cancel(target));
    if (this.deadError) {
      run.abort(this.deadError);
      return run;
    }
    this.runs.set(id, run);
    this.watch(
      id,
      {
        type: 'analyze',
        during: `analyzing ${opts.image.name} with ${opts.modelId}`,
        modelId: opts.modelId,
        file: opts.image.name,
      },
      this.deadlineFor('analyze'),
      (e) => {
        this.runs.delete(id);
        run.abort(e);
      },
    );
    this.send({
      type: 'analyze',
      id,
      modelId: opts.modelId,
      image: opts.image,
      ...(opts.resize ? { resize: opts.resize } : {}),
      ...(opts.maxSide !== undefined ? { maxSide: opts.maxSide } : {}),
      ...(opts.keepOthers ? { keepOthers: true } : {}),
      ...(opts.preprocess && Object.keys(opts.preprocess).length ? { preprocess: opts.preprocess } : {}),
    });
    return run;
  }

  /** Exact float values of one channel of one layer (for the model's last analysed image). */
  channel(
    modelId: string,
    layerId: string,
    channel: number,
  ): Promise<{ shape: [number, number]; values: Float32Array }> {
    return this.request(
      (id) => ({ type: 'channel', id, modelId, layerId, channel }),
      (r) => (r.type === 'channel' ? { shape: r.shape, values: r.values } : undefined),
    );
  }

  /**
   * A gradient runs as one synchronous stretch in the engine (forward and backward, about 3 passes): the engine
   * may be silent that long on top of the ping timeout, as during an analyze's forward pass.
   */
  private allowPasses(modelId: string, passes: number): void {
    if (!this.watchdog) return;
    const o = [...this.outstanding.values()].pop();
    const rate = this.watchdog.macsPerMs[this.backendNow ?? 'wasm'];
    if (o) o.extraSilenceMs = (passes * (this.modelMacs.get(modelId) ?? 0)) / rate;
  }

  /** One unit taken apart (kernel, patch, products, stages) on the model's last analysed image. */
  inspectUnit(
    modelId: string,
    unit: { layer: string; channel: number; y?: number; x?: number },
    opts: LoadOptions = {},
  ): Promise<UnitInspection> {
    const p = this.request(
      (id) => ({ type: 'inspectUnit', id, modelId, ...unit }),
      (r) => (r.type === 'unitInspection' ? r.result : undefined),
      opts,
      [],
      { during: `inspecting unit ${unit.channel} of ${unit.layer}`, modelId },
    );
    this.allowPasses(modelId, 1);
    return p;
  }

  /** The effective receptive field (input gradient) of one unit on the model's last analysed image. */
  effectiveField(
    modelId: string,
    unit: { layer: string; channel: number; y?: number; x?: number },
    opts: LoadOptions = {},
  ): Promise<EffectiveField> {
    const p = this.request(
      (id) => ({ type: 'effectiveField', id, modelId, ...unit }),
      (r) => (r.type === 'effectiveField' ? r.result : undefined),
      opts,
      [],
      { during: `computing the effective field of ${unit.layer}`, modelId },
    );
    this.allowPasses(modelId, 3);
    return p;
  }

  /** Grad-CAM on the model's last analysed image (class: the top prediction, layer: the last spatial one). */
  gradCam(
    modelId: string,
    which: { classIndex?: number; layer?: string } = {},
    opts: LoadOptions = {},
  ): Promise<GradCam> {
    const p = this.request(
      (id) => ({
        type: 'gradCam',
        id,
        modelId,
        ...(which.classIndex !== undefined ? { classIndex: which.classIndex } : {}),
        ...(which.layer !== undefined ? { layer: which.layer } : {}),
      }),
      (r) => (r.type === 'gradCam' ? r.result : undefined),
      opts,
      [],
      { during: `computing Grad-CAM${which.layer ? ` on ${which.layer}` : ''}`, modelId },
    );
    this.allowPasses(modelId, 3);
    return p;
  }

  /** Plain single-output inference on the model's last analysed input; resolves with its time in ms (bench). */
  predict(modelId: string): Promise<number> {
    return this.request(
      (id) => ({ type: 'predict', id, modelId }),
      (r) => (r.type === 'done' ? r.timings.totalMs : undefined),
    );
  }

  /**
   * Hands drawn frames' buffers back to the engine for reuse (transferred: the frames' `data` is empty afterwards,
   * so call it only for frames nothing shows or reads any more). Frames whose buffer is already gone are skipped.
   */
  recycle(frames: Iterable<LayerFrame>): void {
    if (this.deadError) return;
    const buffers = new Set<ArrayBuffer>();
    for (const f of frames) {
      const b = f.data.buffer;
      // Only whole, unshared buffers (a view into a larger buffer would hand back bytes that are not its own).
      if (b instanceof ArrayBuffer && b.byteLength > 0 && f.data.byteOffset === 0 && f.data.byteLength === b.byteLength)
        buffers.add(b);
    }
    if (!buffers.size) return;
    const list = [...buffers].slice(0, MAX_RECYCLED_BUFFERS);
    this.send({ type: 'recycle', id: this.nextId++, buffers: list }, list);
  }

  /** Cancels a request by id (an analyze, a load). */
  cancel(target: number): void {
    if (this.deadError) return;
    this.send({ type: 'cancel', id: this.nextId++, target });
  }

  /** Test hook: the engine busy-loops `ms` (engines started with `test: true` only); resolves when it is done. */
  debugSpin(ms: number): Promise<void> {
    return this.request(
      (id) => ({ type: 'debugSpin', id, ms }),
      (r) => (r.type === 'done' ? (true as const) : undefined),
    ).then(() => undefined);
  }

  /** Test hook: the engine's thread exits (engines started with `test: true` only); never answered. */
  debugExit(): void {
    if (this.deadError) return;
    this.send({ type: 'debugExit', id: this.nextId++ });
  }

  /** Switches the backend (e.g. 'webgl' for a correctness check); loaded models are rebuilt. */
  setBackend(backend: BackendName): Promise<{ backend: BackendName; reason: string }> {
    return this.request(
      (id) => ({ type: 'setBackend', id, backend }),
      (r) => (r.type === 'backend' ? { backend: r.backend, reason: r.reason } : undefined),
    );
  }

  /** Test hook: loses the WebGL context; the engine falls back and says so via onBackend. */
  simulateContextLoss(): Promise<{ backend: BackendName; reason: string }> {
    return this.request(
      (id) => ({ type: 'simulateContextLoss', id }),
      (r) => (r.type === 'backend' ? { backend: r.backend, reason: r.reason } : undefined),
    );
  }

  /** Backend changes the engine announces (fallbacks, switches). */
  onBackend(cb: (b: { backend: BackendName; reason: string }) => void): () => void {
    this.backendListeners.add(cb);
    return () => this.backendListeners.delete(cb);
  }

  /** The engine stopped answering or overran a deadline (once per client; see {@link EngineDead}). */
  onDead(cb: (e: EngineDead) => void): () => void {
    this.deadListeners.add(cb);
    return () => this.deadListeners.delete(cb);
  }

  /** Errors not tied to a request (a malformed message). */
  onError(cb: (e: EngineError) => void): () => void {
    this.errorListeners.add(cb);
    return () => this.errorListeners.delete(cb);
  }

  /** Stops listening on the port (does not close it). */
  dispose(): void {
    this.port.removeEventListener('message', this.onMessage);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.outstanding.clear();
    this.handlers.clear();
    this.runs.clear();
    this.deadListeners.clear();
  }
}

/** Words for what a request does, for the watchdog's message. */
function describeRequest(req: EngineRequest): string {
  switch (req.type) {
    case 'hello':
      return 'starting';
    case 'channel':
      return `reading channel ${req.channel} of ${req.layerId}`;
    case 'setBackend':
      return `switching to ${req.backend}`;
    case 'predict':
      return `running ${req.modelId}`;
    case 'debugSpin':
      return 'running a test that spins';
    default:
      return `answering ${req.type}`;
  }
}
