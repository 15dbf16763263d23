/**
 * The engine's side of the protocol: answers EngineRequests arriving on one port with EngineReplies.
 * Any number of ports may be served by one Engine (state is shared). Frame buffers are transferred,
 * not copied. A newer `analyze` on a port cancels that port's passes in flight (unless `keepOthers`),
 * and so does a model load ("a new image or model cancels the pass in flight").
 */
import { CancelledError, makeYield, type AnalyzeSink, type Engine } from './engine';
import { InputError } from '../../../common/image-header';
import type { EngineReply, EngineRequest, LayerFrame, PortLike } from '../../../common/engine-protocol';
import { parseRequest } from '../../../common/engine-protocol-schema';

/** Each buffer once (a transfer list naming one twice throws a DataCloneError). */
function uniqueBuffers(buffers: ArrayBufferLike[]): Transferable[] {
  return [...new Set(buffers)] as Transferable[];
}

/** Options of {@link serveEngine}. */
export interface ServeOptions {
  /**
   * Accept the test-only requests (`debugSpin`, `debugExit`). Off in the product: only a test harness
   * (the e2e page with `?test=1`, the host tests) turns it on.
   */
  test?: boolean;
  /** Ends the engine's thread (`debugExit`): the worker closes itself, a worker thread exits. */
  exit?: () => void;
  /** Memory the thread holds, reported with each pong (the UI recycles an engine that grew too large). */
  heapBytes?: () => number | undefined;
}

/** Serves `engine` on `port` until the returned function is called. */
export function serveEngine(port: PortLike, engine: Engine, opts: ServeOptions = {}): () => void {
  const inflight = new Map<number, { controller: AbortController; kind: 'analyze' | 'load' }>();
  const post = (msg: EngineReply, transfer: Transferable[] = []) => port.postMessage(msg, transfer);
  const nextTurn = makeYield();
  const fail = (id: number | null, e: unknown) => {
    if (e instanceof CancelledError) {
      if (id !== null) post({ type: 'cancelled', id });
      return;
    }
    const message = e instanceof Error ? e.message : String(e);
    post({ type: 'error', id, message, ...(e instanceof InputError && e.file ? { file: e.file } : {}) });
  };
  const cancelPasses = () => {
    for (const [, f] of inflight) if (f.kind === 'analyze') f.controller.abort();
  };
  const track = (id: number, kind: 'analyze' | 'load') => {
    const controller = new AbortController();
    inflight.set(id, { controller, kind });
    return controller.signal;
  };
  const progress =
    (id: number) =>
    (phase: 'fetch' | 'build' | 'compile' | 'decode' | 'infer', loaded: number, total: number, detail?: string) =>
      post({ type: 'progress', id, phase, loaded, total, ...(detail ? { detail } : {}) });

  const handle = async (req: EngineRequest): Promise<void> => {
    switch (req.type) {
      case 'hello': {
        const r = await engine.hello(req.resourcesBase, req.prefer);
        post({
          type: 'ready',
          id: req.id,
          backend: r.backend,
          reason: r.reason,
          models: r.models,
          tfjsVersion: r.tfjsVersion,
        });
        return;
      }
      case 'listModels':
        post({ type: 'models', id: req.id, models: engine.listModels() });
        return;
      case 'loadModel':
      case 'loadUserModel': {
        cancelPasses();
        const signal = track(req.id, 'load');
        const summary =
          req.type === 'loadModel'
            ? await engine.loadModel(req.modelId, progress(req.id), signal)
            : await engine.loadUserModel(req.model, progress(req.id), signal);
        post({ type: 'modelLoaded', id: req.id, summary });
        return;
      }
      case 'analyze': {
        if (!req.keepOthers) cancelPasses();
        const signal = track(req.id, 'analyze');
        const frames = new FrameBatcher((batch) => {
          if (signal.aborted) return;
          const transfer = [...new Set(batch.flatMap((f) => [f.data.buffer, f.min.buffer, f.max.buffer]))];
          post(
            batch.length === 1
              ? { type: 'frame', id: req.id, frame: batch[0] }
              : { type: 'frames', id: req.id, frames: batch },
            transfer,
          );
        }, nextTurn);
        const sink: AnalyzeSink = {
          progress: (phase, loaded, total, detail) =>
            post({ type: 'progress', id: req.id, phase, loaded, total, ...(detail ? { detail } : {}) }),
          image: (img) => {
            const data = img.preview.data.slice();
            post(
              {
                type: 'image',
                id: req.id,
                name: img.name,
                width: img.width,
                height: img.height,
                preview: { ...img.preview, data },
              },
              [data.buffer],
            );
          },
          frame: (frame) => {
            if (signal.aborted) return; // a cancelled pass may still be emitting what the GPU had finished
            frames.push(frame);
          },
        };
        const r = await engine
          .analyze(
            {
              modelId: req.modelId,
              image: req.image,
              resize: req.resize,
              maxSide: req.maxSide,
              preprocess: req.preprocess,
            },
            sink,
            signal,
          )
          .finally(() => frames.flush());
        post({
          type: 'done',
          id: req.id,
          timings: r.timings,
          backend: r.backend,
          stats: r.stats,
          ...(r.prediction ? { prediction: r.prediction } : {}),
        });
        return;
      }
      case 'channel': {
        const r = await engine.channel(req.modelId, req.layerId, req.channel);
        post(
          { type: 'channel', id: req.id, layerId: req.layerId, channel: req.channel, shape: r.shape, values: r.values },
          [r.values.buffer],
        );
        return;
      }
      case 'inspectUnit':
      case 'effectiveField': {
        // Tracked as a pass: a newer analyze (a new image) cancels it, as it cancels that image's frames.
        const signal = track(req.id, 'analyze');
        const ref = { layer: req.layer, channel: req.channel, y: req.y, x: req.x };
        if (req.type === 'inspectUnit') {
          const result = await engine.inspectUnit(req.modelId, ref, signal);
          const p = result.patch;
          const transfer = [
            ...result.kernels.map((k) => k.weights.buffer),
            p.values.buffer,
            p.cells.buffer,
            p.products.buffer,
            ...(p.taps ? [p.taps.buffer] : []),
            ...(result.pointwise ? Object.values(result.pointwise).map((a) => a.buffer) : []),
            ...(result.rgb ? [result.rgb.data.buffer] : []),
          ];
          post({ type: 'unitInspection', id: req.id, result }, uniqueBuffers(transfer));
        } else {
          const result = await engine.effectiveField(req.modelId, ref, signal);
          post({ type: 'effectiveField', id: req.id, result }, [result.map.buffer]);
        }
        return;
      }
      case 'gradCam': {
        const signal = track(req.id, 'analyze');
        const result = await engine.gradCam(req.modelId, { classIndex: req.classIndex, layer: req.layer }, signal);
        post(
          { type: 'gradCam', id: req.id, result },
          uniqueBuffers([result.map.buffer, result.layerMap.buffer, result.weights.buffer]),
        );
        return;
      }
      case 'cancel':
        inflight.get(req.target)?.controller.abort();
        return;
      case 'recycle':
        engine.recycle(req.buffers);
        return;
      case 'setBackend': {
        const s = await engine.setBackend(req.backend);
        post({ type: 'backend', id: req.id, backend: s.backend, reason: s.reason });
        return;
      }
      case 'predict': {
        const ms = await engine.predictOnce(req.modelId);
        const timings = { decodeMs: 0, forwardMs: ms, extractMs: 0, totalMs: ms, firstFrameMs: 0 };
        post({ type: 'done', id: req.id, timings, backend: engine.backend!.backend });
        return;
      }
      case 'ping':
        // Answered in onMessage, before anything async; here only for exhaustiveness.
        post({ type: 'pong', id: req.id });
        return;
      case 'debugSpin': {
        if (!opts.test) throw new Error('debugSpin is a test hook; this engine was not started for tests');
        // Blocks this thread the way a tfjs op that never returns does: no message (ping) is answered.
        const until = Date.now() + req.ms;
        // The count is reported so the minifier cannot drop the loop as dead code (esbuild did).
        let spins = 0;
        while (Date.now() < until) spins++;
        post({
          type: 'done',
          id: req.id,
          timings: { decodeMs: 0, forwardMs: req.ms, extractMs: 0, totalMs: req.ms, firstFrameMs: 0 },
          backend: engine.backend?.backend ?? 'cpu',
          stats: { frames: 0, bytesSent: 0, values: spins },
        });
        return;
      }
      case 'debugExit':
        if (!opts.test || !opts.exit)
          throw new Error('debugExit is a test hook; this engine was not started for tests');
        opts.exit();
        return;
      case 'simulateContextLoss': {
        if (!engine.simulateContextLoss())
          throw new Error('the backend is not webgl (or WEBGL_lose_context is missing): no context to lose');
        const s = engine.backend!;
        post({ type: 'backend', id: req.id, backend: s.backend, reason: `${s.reason} (context loss requested)` });
        return;
      }
    }
  };

  const onMessage = (ev: MessageEvent) => {
    const checked = parseRequest(ev.data);
    if (!checked.ok) {
      post({ type: 'error', id: checked.id, message: checked.problem });
      return;
    }
    const req = checked.value;
    if (req.type === 'ping') {
      // The heartbeat is answered from the message loop itself: if this thread is stuck (a spinning tfjs
      // op, an endless loop) no pong goes out, and that silence is what the client detects.
      const heapBytes = opts.heapBytes?.();
      post({ type: 'pong', id: req.id, ...(heapBytes !== undefined ? { heapBytes: Math.round(heapBytes) } : {}) });
      return;
    }
    handle(req)
      .catch((e) => fail(req.id, e))
      .finally(() => inflight.delete(req.id));
  };
  const unsubscribe = engine.onBackendChange((s) => post({ type: 'backend', backend: s.backend, reason: s.reason }));
  port.addEventListener('message', onMessage);
  port.start?.();
  return () => {
    unsubscribe();
    port.removeEventListener('message', onMessage);
    for (const f of inflight.values()) f.controller.abort();
  };
}

/**
 * Frames of one pass on their way to the UI: the first goes at once (the first feature maps as soon as they exist),
 * the rest wait for the pass to yield to the event loop (every ~8 ms, engine.ts) and go in one message. A message per
 * layer cost the UI's main thread a task, a structured clone and a reactive update each — 161 per MobileNetV2 pass,
 * on the cores the engine computes on.
 */
export class FrameBatcher {
  private pending: LayerFrame[] = [];
  private scheduled = false;
  private sentFirst = false;

  constructor(
    private readonly send: (frames: LayerFrame[]) => void,
    /** Resolves on a later turn of the event loop (a macrotask: not before the pass yields). */
    private readonly later: () => Promise<void>,
  ) {}

  push(frame: LayerFrame): void {
    if (!this.sentFirst) {
      this.sentFirst = true;
      this.send([frame]);
      return;
    }
    this.pending.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    void this.later().then(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Sends what waits now (the pass ended, or the loop turned). */
  flush(): void {
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    this.send(batch);
  }
}
