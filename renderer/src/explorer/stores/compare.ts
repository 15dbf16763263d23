import { defineStore } from 'pinia';
import { computed, markRaw, reactive, ref, shallowRef } from 'vue';
import type { HostBridge } from '../../bridge/types';
import type {
  BackendName,
  LayerFrame,
  ModelEntry,
  ModelSummary,
  PassTimings,
  PortLike,
  UserModelFiles,
  EffectiveField,
  GradCam,
  Prediction,
} from '../../../../common/engine-protocol';
import { EngineClient, type LoadOptions } from '../../../../common/engine-client';
import type { OpenedFile } from '../../../../common/ipc-contract';
import { alignIndex, layoutModel, type LinkMode, type ModelLayout } from '../compare/alignment';
import { buildComparisonTable, type ComparisonTable } from '../compare/table';
import { MAX_MODELS, type SavedImageRef } from '../compare/saved-comparison';
import { samePlace, sameUnit, type PaneUnit } from '../compare/unit-pick';
import { errorText, imageObjectUrl, isCancelled } from './shared';
import { useModelSettingsStore } from './model-settings';

/** The parts of the engine client the comparison uses. */
export type CompareEngine = Pick<EngineClient, 'hello' | 'loadModel' | 'loadUserModel' | 'analyze' | 'dispose'> &
  Partial<Pick<EngineClient, 'gradCam' | 'effectiveField'>>;

/** The image every pane runs. `ref` says how a saved comparison finds it again. */
export interface CompareImage {
  name: string;
  bytes: ArrayBuffer;
  ref: SavedImageRef;
  /** Object URL for the thumbnail; revoked when replaced or closed. */
  url: string;
}

/** Where a pane's model is: loading, waiting its turn, running a pass, done, or failed. */
export type PaneState = 'loading' | 'queued' | 'running' | 'done' | 'error';

/**
 * One model of the comparison. Small fields are reactive; the summary and the frames are markRaw (never deep
 * reactive, STYLE.md #13) and `framesVersion` tells watchers that frames arrived.
 */
export interface ComparePane {
  /** Unique within the comparison: the model id. */
  key: string;
  modelId: string;
  name: string;
  source: ModelEntry['source'];
  /** For user models: the path or folder name they were opened from (saved with the comparison). */
  path?: string;
  summary: ModelSummary | null;
  layout: ModelLayout | null;
  /** The model's input as the engine prepared it (RGBA at the input size), for the scene's image plane. */
  preview: { width: number; height: number; data: Uint8ClampedArray } | null;
  frames: Map<string, LayerFrame>;
  framesVersion: number;
  state: PaneState;
  /** Loading progress (bytes) while state is 'loading'. */
  loading: { loaded: number; total: number; detail?: string } | null;
  /** Frames received in the current pass. */
  received: number;
  timings: PassTimings | null;
  backend: BackendName | null;
  error: string | null;
  /** Position in the summary's frame order that the pane shows. */
  focusIndex: number;
  /** Grad-CAM of the top prediction on this pane's image (last spatial layer), when asked for; cleared by a pass. */
  cam: GradCam | null;
  /** The unit pinned in this pane's scene (its receptive field is shown over the input), or null. */
  pinned: PaneUnit | null;
  /** The pinned unit's effective receptive field on this pane's image, when asked for; cleared by a pass or a pin. */
  field: EffectiveField | null;
  /** The last pass's prediction (top classes), null before it finishes or for a model without a class vector. */
  prediction: Prediction | null;
}

/** Largest side of the maps the panes receive: a pane is a quarter of the window, full resolution is not needed. */
export const PANE_MAX_SIDE = 56;

/**
 * The side-by-side comparison: 2–4 models on one image, over its own engine connection (so its passes never
 * cancel the main view's). Work is serialised: one model loads or runs at a time, in pane order, so the models
 * share the GPU without contending; results stream into each pane as they come. Adding a model loads and runs
 * only that model; the others keep their frames.
 */
export const useCompareStore = defineStore('compare', () => {
  const settings = useModelSettingsStore();
  const connected = ref(false);
  const backend = ref<BackendName | null>(null);
  const backendReason = ref('');
  const models = shallowRef<ModelEntry[]>([]);
  const panes = ref<ComparePane[]>([]);
  const image = shallowRef<CompareImage | null>(null);
  const linkMode = ref<LinkMode>('stage');
  const linkCamera = ref(true);
  /** A pin in one pane pins the same place (matching relative depth, same image point) in every pane. */
  const pinEverywhere = ref(false);
  /** The pane the user last stepped in; the others follow it. */
  const leaderKey = ref<string | null>(null);
  const notice = ref<{ kind: 'error' | 'info'; message: string } | null>(null);
  const busy = ref(false);

  let client: CompareEngine | null = null;
  /** The port this view opened (closed with the view); null when the caller passed its own client. */
  let ownPort: PortLike | null = null;
  const resourcesBase = ref('');
  /** Panes with a pass queued but not started (a new image then needs no second pass for them). */
  const passQueued = new Set<string>();
  /** The chain of queued work: each task starts when the previous one settled. */
  let queue: Promise<void> = Promise.resolve();
  /** Bumped by close(): tasks from an earlier session of the view stop at their next step. */
  let generation = 0;
  let pending = 0;
  let current: { key: string; cancel(): void } | null = null;

  const pane = (key: string) => panes.value.find((p) => p.key === key) ?? null;

  const table = computed<ComparisonTable>(() =>
    buildComparisonTable(
      panes.value
        .filter((p): p is ComparePane & { summary: ModelSummary } => !!p.summary)
        .map((p) => ({
          key: p.key,
          modelId: p.modelId,
          name: p.name,
          source: p.source,
          trained: p.summary.trained,
          analysis: p.summary.analysis,
          frameOrder: p.summary.frameOrder,
          lastPassMs: p.timings?.totalMs ?? null,
          backend: p.backend,
          prediction: p.prediction?.top ?? null,
        })),
    ),
  );

  /** Connects to the engine (a new port of its own) with the given client, or one over `bridge.connectEngine()`. */
  async function open(bridge: HostBridge, engine?: CompareEngine): Promise<void> {
    resourcesBase.value = bridge.resourcesBase;
    let c = engine;
    if (!c) {
      const port = (ownPort = await bridge.connectEngine());
      const own = new EngineClient(port);
      // A hang seen from this view restarts the engine too; the 'restarting' status then brings every
      // client back (ComparisonView calls reconnect, the session store restores the main view).
      own.onDead((e) => void bridge.restartEngine?.(e.message, port).catch(() => {}));
      c = own;
    }
    client = c;
    const ready = await c.hello(bridge.resourcesBase, preferredBackends());
    backend.value = ready.backend;
    backendReason.value = ready.reason;
    models.value = ready.models;
    connected.value = true;
  }

  /**
   * After an engine restart (Electron's supervisor starts a new one): a new port, then every pane's model is
   * loaded again and rerun on the image. A user model is gone with the old engine; its pane says so.
   */
  async function reconnect(bridge: HostBridge): Promise<void> {
    generation++;
    current = null;
    client?.dispose();
    (ownPort as { close?: () => void } | null)?.close?.();
    ownPort = null;
    client = null;
    connected.value = false;
    queue = Promise.resolve();
    passQueued.clear();
    pending = 0;
    busy.value = false;
    await open(bridge);
    for (const p of panes.value) {
      p.state = 'loading';
      passQueued.add(p.key);
      const key = p.key;
      void enqueue(async () => {
        const live = pane(key);
        if (!live || !client) return;
        try {
          const s = await client.loadModel(live.modelId);
          applySummary(live, s);
        } catch (e) {
          passQueued.delete(key);
          live.state = 'error';
          live.error = errorText(e);
          return;
        }
        await runPass(live);
      });
    }
  }

  /** Stops everything, forgets the panes and the image, and closes the engine connection. */
  function close(): void {
    generation++;
    current?.cancel();
    current = null;
    client?.dispose();
    client = null;
    // A MessagePort has close(); PortLike does not promise it (a Worker satisfies PortLike too).
    (ownPort as { close?: () => void } | null)?.close?.();
    ownPort = null;
    connected.value = false;
    panes.value = [];
    if (image.value) URL.revokeObjectURL(image.value.url);
    image.value = null;
    queue = Promise.resolve();
    passQueued.clear();
    pending = 0;
    busy.value = false;
    notice.value = null;
    leaderKey.value = null;
  }

  /** Runs `task` after everything queued before it; errors are the task's own business. */
  function enqueue(task: () => Promise<void>): Promise<void> {
    const gen = generation;
    pending++;
    busy.value = true;
    const run = queue
      .then(async () => {
        if (gen !== generation) return;
        await task();
      })
      .catch((e: unknown) => {
        // A task that throws must not stop the queue: later tasks still run.
        if (gen === generation) notice.value = { kind: 'error', message: errorText(e) };
      });
    queue = run.finally(() => {
      if (gen !== generation) return;
      pending--;
      busy.value = pending > 0;
    });
    return queue;
  }

  /** Resolves when all queued work has finished (tests and the save action wait on it). */
  function idle(): Promise<void> {
    return queue;
  }

  function newPane(entry: { id: string; name: string; source: ModelEntry['source'] }, path?: string): ComparePane {
    return reactive({
      key: entry.id,
      modelId: entry.id,
      name: entry.name,
      source: entry.source,
      ...(path ? { path } : {}),
      summary: null,
      layout: null,
      preview: null,
      frames: markRaw(new Map<string, LayerFrame>()),
      framesVersion: 0,
      state: 'loading' as PaneState,
      loading: null,
      received: 0,
      timings: null,
      backend: null,
      prediction: null,
      error: null,
      focusIndex: 0,
      cam: null,
      pinned: null,
      field: null,
    }) as ComparePane;
  }

  function applySummary(p: ComparePane, s: ModelSummary): void {
    p.summary = markRaw(s);
    p.layout = markRaw(layoutModel({ key: p.key, analysis: s.analysis, frameOrder: s.frameOrder }));
    p.name = s.name;
    p.focusIndex = 0;
  }

  /**
   * Adds a built-in or already-loaded model. No-op (with a notice) beyond four models or for a model already
   * compared. Resolves when its pass is done.
   */
  function addModel(id: string): Promise<void> {
    if (!client) return Promise.resolve();
    if (pane(id)) return Promise.resolve();
    if (panes.value.length >= MAX_MODELS) {
      notice.value = { kind: 'info', message: `A comparison holds up to ${MAX_MODELS} models; remove one first.` };
      return Promise.resolve();
    }
    const entry = models.value.find((m) => m.id === id);
    if (!entry) {
      notice.value = { kind: 'error', message: `Unknown model "${id}"` };
      return Promise.resolve();
    }
    const p = newPane(entry);
    panes.value.push(p);
    passQueued.add(p.key);
    return loadIntoPane(
      p,
      (c, opts) => c.loadModel(id, opts),
      (live, s) => {
        applySummary(live, s);
        return true;
      },
    );
  }

  /**
   * Queues a pane's model load with progress on the pane, then its pass. `accept` installs the summary
   * and returns false when the pane should not run (it was dropped); a failed load marks the pane.
   */
  function loadIntoPane(
    p: ComparePane,
    start: (c: CompareEngine, opts: LoadOptions) => Promise<ModelSummary>,
    accept: (live: ComparePane, s: ModelSummary) => boolean,
  ): Promise<void> {
    return enqueue(async () => {
      const live = pane(p.key);
      if (!live || !client) return;
      try {
        const s = await start(client, {
          onProgress: (pr) => (live.loading = { loaded: pr.loaded, total: pr.total, detail: pr.detail }),
        });
        if (!accept(live, s)) return;
      } catch (e) {
        passQueued.delete(live.key);
        live.state = 'error';
        live.error = errorText(e);
        return;
      } finally {
        live.loading = null;
      }
      await runPass(live);
    });
  }

  /** Adds the user's own model from its files; `path` is what a saved comparison records for it. */
  function addUserModel(files: UserModelFiles, path?: string): Promise<void> {
    if (!client) return Promise.resolve();
    if (panes.value.length >= MAX_MODELS) {
      notice.value = { kind: 'info', message: `A comparison holds up to ${MAX_MODELS} models; remove one first.` };
      return Promise.resolve();
    }
    const p = newPane({ id: `pending:${files.name}`, name: files.name, source: 'user' }, path ?? files.name);
    panes.value.push(p);
    passQueued.add(p.key);
    return loadIntoPane(
      p,
      (c, opts) => c.loadUserModel(files, opts),
      (live, s) => {
        if (panes.value.some((q) => q !== live && q.key === s.id)) {
          panes.value = panes.value.filter((q) => q !== live);
          notice.value = { kind: 'info', message: `${s.name} is already in the comparison.` };
          return false;
        }
        passQueued.delete(live.key);
        passQueued.add(s.id);
        live.key = s.id;
        live.modelId = s.id;
        applySummary(live, s);
        if (!models.value.some((m) => m.id === s.id)) models.value = [...models.value, s];
        return true;
      },
    );
  }

  /** Removes a pane; its pass is cancelled if it is the one running. */
  function removeModel(key: string): void {
    if (current?.key === key) current.cancel();
    passQueued.delete(key);
    panes.value = panes.value.filter((p) => p.key !== key);
    if (leaderKey.value === key) leaderKey.value = null;
  }

  /** Runs the comparison image through one pane's model (called from the queue). */
  async function runPass(p: ComparePane): Promise<void> {
    passQueued.delete(p.key);
    const img = image.value;
    const s = p.summary;
    if (!client || !s) return;
    if (!img) {
      p.state = 'done';
      return;
    }
    p.state = 'running';
    p.error = null;
    p.received = 0;
    p.cam = null; // computed on the previous image
    p.field = null;
    const incoming = markRaw(new Map<string, LayerFrame>());
    let first = true;
    const pass = client.analyze({
      modelId: s.id,
      image: { kind: 'encoded', name: img.name, bytes: img.bytes.slice(0) },
      maxSide: PANE_MAX_SIDE,
      // This store already runs one pass at a time; keepOthers stops the engine cancelling the main view's pass.
      keepOthers: true,
      // The user's remembered input conventions for this model, as in the main view.
      ...(settings.overrideFor(s.id) ? { preprocess: settings.overrideFor(s.id) } : {}),
    });
    pass.onImage((info) => {
      const live = pane(p.key);
      if (live) live.preview = markRaw(info.preview);
    });
    pass.onFrame((frame) => {
      const live = pane(p.key);
      if (!live) return;
      if (first) {
        // Old frames stay until the first new one arrives, so the pane never flashes empty.
        live.frames = incoming;
        first = false;
      }
      incoming.set(frame.layerId, frame);
      live.received = incoming.size;
      live.framesVersion++;
    });
    current = { key: p.key, cancel: () => pass.cancel() };
    try {
      const done = await pass.done;
      const live = pane(p.key);
      if (!live) return;
      live.timings = done.timings;
      live.backend = done.backend;
      live.prediction = done.prediction ? markRaw(done.prediction) : null;
      live.state = 'done';
    } catch (e) {
      const live = pane(p.key);
      if (!live) return;
      if (isCancelled(e)) {
        live.state = live.timings ? 'done' : 'queued';
        return;
      }
      live.state = 'error';
      live.error = errorText(e);
    } finally {
      if (current?.key === p.key) current = null;
    }
  }

  /**
   * Grad-CAM of a pane's top prediction on its last spatial layer, queued behind the passes (the engine answers on
   * the model's last analysed image: this pane's, since this store runs that model's passes). `false` hides it.
   */
  function gradCam(key: string, show = true): Promise<void> {
    const p = pane(key);
    if (!p) return Promise.resolve();
    if (!show) {
      p.cam = null;
      return Promise.resolve();
    }
    return enqueue(async () => {
      const live = pane(key);
      if (!client?.gradCam || !live?.summary || live.state !== 'done' || !image.value) return;
      const r = await client.gradCam(live.modelId);
      const now = pane(key);
      if (now) now.cam = markRaw(r);
    });
  }

  /**
   * Pins a unit in pane `key` (null releases it); with pinEverywhere, every other pane pins the same place in its
   * own model (or releases its pin where there is none). A new pin drops the old effective field.
   */
  function pinUnit(key: string, unit: PaneUnit | null): void {
    const src = pane(key);
    if (!src) return;
    const set = (p: ComparePane, u: PaneUnit | null) => {
      if (sameUnit(p.pinned, u)) return;
      p.pinned = u ? { ...u } : null;
      p.field = null;
    };
    set(src, unit);
    if (!pinEverywhere.value) return;
    for (const p of panes.value) {
      if (p === src) continue;
      const there =
        unit && src.summary && src.layout && p.summary && p.layout
          ? samePlace({ analysis: src.summary.analysis, layout: src.layout }, unit, {
              analysis: p.summary.analysis,
              layout: p.layout,
            })
          : null;
      set(p, there);
    }
  }

  /**
   * The effective receptive field of pane `key`'s pinned unit (with pinEverywhere: of every pane's pinned unit),
   * each on its own model through this store's engine connection, queued behind the passes like Grad-CAM.
   */
  function effectiveField(key: string): Promise<void> {
    const keys = pinEverywhere.value ? panes.value.filter((p) => p.pinned).map((p) => p.key) : [key];
    let last: Promise<void> = Promise.resolve();
    for (const k of keys) {
      last = enqueue(async () => {
        const live = pane(k);
        const u = live?.pinned ?? null;
        if (!client?.effectiveField || !live?.summary || !u || live.state !== 'done' || !image.value) return;
        const r = await client.effectiveField(live.modelId, { layer: u.layerId, channel: u.channel, y: u.y, x: u.x });
        // Dropped when the pane pinned another unit meanwhile.
        const now = pane(k);
        if (now && sameUnit(now.pinned, u)) now.field = markRaw(r);
      });
    }
    return last;
  }

  /** Sets the image and reruns every pane on it, one model at a time in pane order. */
  function setImage(file: OpenedFile, ref: SavedImageRef): Promise<void> {
    if (image.value) URL.revokeObjectURL(image.value.url);
    image.value = markRaw({
      name: file.name,
      bytes: file.bytes,
      ref,
      url: imageObjectUrl(file.name, file.bytes),
    });
    return rerunAll();
  }

  /** Cancels the pass in flight and queues a fresh pass for every loaded pane. */
  function rerunAll(): Promise<void> {
    current?.cancel();
    let last: Promise<void> = Promise.resolve();
    for (const p of panes.value) {
      if (!p.summary || passQueued.has(p.key)) continue;
      p.state = 'queued';
      passQueued.add(p.key);
      const key = p.key;
      last = enqueue(async () => {
        const live = pane(key);
        if (live) await runPass(live);
      });
    }
    return last;
  }

  /** Points pane `key` at stepping position `index` and, when stepping is linked, lines the others up with it. */
  function focus(key: string, index: number): void {
    const src = pane(key);
    if (!src?.layout) return;
    const i = Math.min(src.layout.order.length - 1, Math.max(0, index));
    src.focusIndex = i;
    leaderKey.value = key;
    if (linkMode.value === 'off') return;
    for (const p of panes.value) {
      if (p === src || !p.layout) continue;
      const j = alignIndex(src.layout, i, p.layout, linkMode.value);
      if (j !== null) p.focusIndex = j;
    }
  }

  /** Steps the leading pane (the last one stepped, else the first) by `delta` layers; the others follow. */
  function step(delta: number, key?: string): void {
    const lead =
      (key ? pane(key) : null) ?? (leaderKey.value ? pane(leaderKey.value) : null) ?? panes.value.find((p) => p.layout);
    if (lead) focus(lead.key, lead.focusIndex + delta);
  }

  /** Changes how panes follow each other and lines them up with the leader at once. */
  function setLinkMode(mode: LinkMode): void {
    linkMode.value = mode;
    const lead = (leaderKey.value ? pane(leaderKey.value) : null) ?? panes.value.find((p) => p.layout);
    if (lead && mode !== 'off') focus(lead.key, lead.focusIndex);
  }

  /** The layer id a pane shows, or null. */
  function focusedLayerId(p: ComparePane): string | null {
    return p.layout?.order[p.focusIndex] ?? null;
  }

  return {
    connected,
    backend,
    backendReason,
    models,
    panes,
    image,
    linkMode,
    linkCamera,
    pinEverywhere,
    leaderKey,
    notice,
    busy,
    table,
    open,
    reconnect,
    close,
    idle,
    addModel,
    addUserModel,
    removeModel,
    setImage,
    rerunAll,
    focus,
    step,
    setLinkMode,
    focusedLayerId,
    gradCam,
    pinUnit,
    effectiveField,
    resourcesBase,
  };
});

/** `?backend=wasm` (tests, benchmarks) forces a backend order, as in the main view. */
function preferredBackends(): BackendName[] | undefined {
  if (typeof location === 'undefined') return undefined;
  const b = new URLSearchParams(location.search).get('backend');
  const all: BackendName[] = ['webgl', 'wasm', 'cpu'];
  if (b && (all as string[]).includes(b)) return [b as BackendName, ...all.filter((x) => x !== b)];
  return undefined;
}
