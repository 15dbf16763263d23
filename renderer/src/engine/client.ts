/**
 * The UI's side of the engine protocol over any PortLike (a MessagePort to the worker, or a Worker).
 * Pure TypeScript: no DOM beyond the port. Requests get ids; replies are routed back by id.
 * `analyze` returns an AnalyzeRun with callbacks, a `done` promise and async iteration; a newer
 * analyze supersedes older ones (their frames are dropped at once and they end as cancelled) unless
 * it is started with `keepOthers` (compare mode).
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
  PortLike,
  ResizePolicy,
  UserModelFiles,
} from './protocol';

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

export type ProgressReply = Extract<EngineReply, { type: 'progress' }>;
export type ImageReply = Extract<EngineReply, { type: 'image' }>;
export type ReadyReply = Extract<EngineReply, { type: 'ready' }>;

export interface AnalyzeOutcome {
  timings: PassTimings;
  backend: BackendName;
  stats?: PassStats;
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
      case 'done':
        this.finish({ type: 'done', outcome: { timings: reply.timings, backend: reply.backend, stats: reply.stats } });
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

/** The UI's handle on the engine. */
export class EngineClient {
  private nextId = 1;
  private readonly handlers = new Map<number, Handler>();
  private readonly runs = new Map<number, AnalyzeRun>();
  private readonly backendListeners = new Set<(b: { backend: BackendName; reason: string }) => void>();
  private readonly errorListeners = new Set<(e: EngineError) => void>();
  private readonly onMessage = (ev: MessageEvent) => this.route(ev.data as EngineReply);

  constructor(private readonly port: PortLike) {
    port.addEventListener('message', this.onMessage);
    port.start?.();
  }

  private send(req: EngineRequest, transfer: Transferable[] = []): void {
    this.port.postMessage(req, transfer);
  }

  private route(reply: EngineReply): void {
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
      if (run.receive(reply)) this.runs.delete(id);
      return;
    }
    this.handlers.get(id)?.(reply);
  }

  /** Sends a request and resolves with the reply `accept` picks; errors and cancellation reject. */
  private request<T>(
    build: (id: number) => EngineRequest,
    accept: (r: EngineReply) => T | undefined,
    opts: LoadOptions = {},
    transfer: Transferable[] = [],
  ): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        this.handlers.delete(id);
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
      this.send(build(id), transfer);
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
    );
  }

  /** Loads a user's tfjs model from its files (transferred: the buffers are detached afterwards). */
  loadUserModel(model: UserModelFiles, opts: LoadOptions & { transfer?: boolean } = {}): Promise<ModelSummary> {
    const transfer = opts.transfer ? model.files.map((f) => f.bytes) : [];
    return this.request(
      (id) => ({ type: 'loadUserModel', id, model }),
      (r) => (r.type === 'modelLoaded' ? r.summary : undefined),
      opts,
      transfer,
    );
  }

  /** Runs an image through a model; frames stream to the returned run. */
  analyze(opts: AnalyzeOptions): AnalyzeRun {
    if (!opts.keepOthers) {
      for (const run of this.runs.values()) run.superseded = true;
    }
    const id = this.nextId++;
    const run = new AnalyzeRun(id, (target) => this.cancel(target));
    this.runs.set(id, run);
    this.send({
      type: 'analyze',
      id,
      modelId: opts.modelId,
      image: opts.image,
      ...(opts.resize ? { resize: opts.resize } : {}),
      ...(opts.maxSide !== undefined ? { maxSide: opts.maxSide } : {}),
      ...(opts.keepOthers ? { keepOthers: true } : {}),
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

  /** Plain single-output inference on the model's last analysed input; resolves with its time in ms (bench). */
  predict(modelId: string): Promise<number> {
    return this.request(
      (id) => ({ type: 'predict', id, modelId }),
      (r) => (r.type === 'done' ? r.timings.totalMs : undefined),
    );
  }

  /** Cancels a request by id (an analyze, a load). */
  cancel(target: number): void {
    this.send({ type: 'cancel', id: this.nextId++, target });
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

  /** Errors not tied to a request (a malformed message). */
  onError(cb: (e: EngineError) => void): () => void {
    this.errorListeners.add(cb);
    return () => this.errorListeners.delete(cb);
  }

  /** Stops listening on the port (does not close it). */
  dispose(): void {
    this.port.removeEventListener('message', this.onMessage);
    this.handlers.clear();
    this.runs.clear();
  }
}
