import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef } from 'vue';
import type { HostBridge } from '../../bridge/types';
import type {
  BackendName,
  ImageInput,
  LayerFrame,
  ModelEntry,
  ModelSummary,
  PassTimings,
  PortLike,
  Prediction,
  Preprocess,
  ResizePolicy,
  UserModelFiles,
  UnitInspection,
  EffectiveField,
  GradCam,
} from '../../../../common/engine-protocol';
import {
  EngineClient,
  EngineDead,
  EngineError,
  type LoadOptions,
  type RequestInfo,
} from '../../../../common/engine-client';
import { checkImageBytes } from '../../../../common/image-header';
import { errorText, imageBlob, isCancelled } from './shared';
import { useModelSettingsStore } from './model-settings';
import { withOverride } from '../preprocess-presets';
import { fetchSample } from '../samples';
import type { OpenedFile } from '../../../../common/ipc-contract';
import type { LayerAnalysis } from '../../../../common/analysis-types';
import { healthFromRange, type ChannelHealth } from '../../engine/channel-health';
import { holdNewPass } from '../scene/pacing';

/** An image the user opened this session (the strip lets them switch back). */
export interface SessionImage {
  id: number;
  name: string;
  bytes: ArrayBuffer;
  /** The bytes as a Blob (the strip's thumbnail is decoded from it) and its object URL, revoked when the image
   * leaves the session. */
  blob: Blob;
  url: string;
}

export interface Notice {
  kind: 'error' | 'info';
  message: string;
  /** 'restart': the banner offers "Restart engine" (the engine stopped, or could not start). */
  action?: 'restart';
}

/** A model that made the engine stop; it is not loaded again automatically. */
export interface CrashedModel {
  modelId: string;
  /** What the engine was doing: "loading cyclic/model.json". */
  during: string;
}

export type EngineState = 'connecting' | 'ready' | 'restarting' | 'failed';

/** What the app shows by itself at start-up, unless the user has chosen their own meanwhile. */
export interface StartupChoice {
  /** Model id loaded when the user has not picked one; the first listed model when absent from the list. */
  model: string;
  /** A bundled sample (resources/samples) shown when the user has not opened an image. */
  sample: string;
}

/** Layer kinds that carry learned weights (the analysis' "depth"): where a first look at a network starts. */
const WEIGHTED_KINDS: ReadonlySet<string> = new Set(['conv', 'depthwise', 'separable', 'dense']);

/**
 * The index in `layers` of the layer a model opens on: the first with weights (a conv, not the input's
 * zero-padding or a rescaling layer); the first with any parameters when none has weights; else 0.
 */
export function firstFocusIndex(layers: readonly LayerAnalysis[]): number {
  const weighted = layers.findIndex((l) => WEIGHTED_KINDS.has(l.kind) && l.params.weights > 0);
  if (weighted >= 0) return weighted;
  return Math.max(
    0,
    layers.findIndex((l) => l.params.total > 0),
  );
}

/** A unit of a layer's output: channel and (for spatial layers) row and column. */
export interface UnitPick {
  layerId: string;
  channel: number;
  y: number;
  x: number;
}

/** Memory (JS heap + wasm) past which the engine is recycled after a pass. */
export const ENGINE_HEAP_LIMIT = 1.5 * 2 ** 30;

/** Exposed for automation and debugging (tests read it; nothing in the app depends on it). */
declare global {
  interface Window {
    __fme?: { store: ReturnType<typeof useSessionStore> };
  }
}

/**
 * The explorer's state: engine connection, model, images, streamed frames and focus.
 * Large data (frames, summaries, image bytes) is held in shallowRefs: never deep-reactive (STYLE.md #13).
 */
export const useSessionStore = defineStore('session', () => {
  const engineState = ref<EngineState>('connecting');
  const backend = ref<BackendName | null>(null);
  const backendReason = ref('');
  const tfjsVersion = ref('');
  const models = shallowRef<ModelEntry[]>([]);
  const modelId = ref<string | null>(null);
  const summary = shallowRef<ModelSummary | null>(null);
  const modelLoading = ref<{
    modelId: string;
    /** The user's own files (opened, not built with seeded weights). */
    user?: boolean;
    phase?: string;
    loaded: number;
    total: number;
    detail?: string;
  } | null>(null);
  /** What became of the last load the user cancelled ("Opening big.pth cancelled"); cleared by the next load. */
  const loadNote = ref<string | null>(null);

  const images = shallowRef<SessionImage[]>([]);
  const activeImageId = ref<number | null>(null);
  const inputPreview = shallowRef<{ width: number; height: number; data: Uint8ClampedArray } | null>(null);
  const imageSize = ref<[number, number] | null>(null);

  const frames = shallowRef(new Map<string, LayerFrame>());
  /** The top-5 of the last finished pass, and the model it belongs to. */
  const prediction = shallowRef<Prediction | null>(null);
  const predictionModel = ref<string | null>(null);
  const settings = useModelSettingsStore();
  /** The model's input conventions with the user's remembered choice on top (what the next pass uses). */
  const conventions = computed<Preprocess | null>(() => {
    const s = summary.value;
    if (!s) return null;
    const chosen = withOverride(s.preprocess, settings.overrideFor(s.id));
    return resize.value ? { ...chosen, resize: resize.value } : chosen;
  });
  const conventionsOverridden = computed(() => !!summary.value && !!settings.overrideFor(summary.value.id));
  const framesVersion = ref(0);
  const passState = ref<'idle' | 'running' | 'done' | 'error'>('idle');
  const timings = ref<PassTimings | null>(null);
  const passBackend = ref<BackendName | null>(null);

  const focusIndex = ref(0);
  /**
   * The unit the user pinned in the 3D view (click a feature map): the side panel shows its kernel, the step-through
   * and its effective field. Cleared when another model is shown.
   */
  const pinnedUnit = shallowRef<UnitPick | null>(null);
  /** Bumped when a pass finishes: results computed on the previous image are stale from then on. */
  const passVersion = ref(0);
  const notice = ref<Notice | null>(null);
  const resize = ref<ResizePolicy | null>(null);
  /** Models that made the engine stop (the UI shows a "caused the engine to stop" badge). */
  const crashedModels = ref<CrashedModel[]>([]);
  /** How many times the engine was restarted this session. */
  const restarts = ref(0);
  /**
   * True once the user has chosen something themselves (an image, a model): from then on start-up choices
   * (the sample, the default model) never replace theirs, and the first-screen hint steps aside.
   */
  const userActed = ref(false);

  let client: EngineClient | null = null;
  let bridgeRef: HostBridge | null = null;
  let nextImageId = 1;
  let activePass: { cancel(): void } | null = null;
  /**
   * Frame maps replaced by a newer pass, oldest first. A map's buffers go back to the engine for reuse (protocol
   * `recycle`) one full pass after it left the screen, when no view can still be drawing or reading it.
   */
  const retiredFrames: Map<string, LayerFrame>[] = [];
  function retireFrames(old: Map<string, LayerFrame>): void {
    retiredFrames.push(old);
    while (retiredFrames.length > 1) {
      const live = new Set(frames.value.values());
      client?.recycle([...retiredFrames.shift()!.values()].filter((f) => !live.has(f)));
    }
  }
  /** The last image whose pass completed: what the scene shows. */
  let lastGoodImageId: number | null = null;
  /** The files of the user model on screen, so it can be loaded again into a restarted engine. */
  let userModelFiles: { id: string; files: UserModelFiles } | null = null;
  /** The files behind a user model id, while it is the one on screen (Compare opens them in a pane of its own). */
  function userFilesOf(id: string): UserModelFiles | null {
    return userModelFiles?.id === id ? userModelFiles.files : null;
  }
  /** "model|image" of passes that were running when the engine stopped (a second time marks the model). */
  const passStrikes = new Set<string>();
  let recovering: Promise<void> | null = null;
  let clientPort: PortLike | null = null;
  /** "model|image" of the pass after which the engine was last recycled for its memory. */
  let recycledFor: string | null = null;
  /** The first connection while it is under way: a model asked for meanwhile waits for it instead of being lost. */
  let connecting: Promise<void> | null = null;
  /** The user asked for a model (picked or opened one); start-up does not load its default over it. */
  let userChoseModel = false;
  /** What start-up shows, until it has been shown (an engine that failed to start shows it once restarted). */
  let startupChoice: StartupChoice | null = null;

  const layers = computed(() => summary.value?.analysis.layers ?? []);
  const frameLayers = computed(() => {
    const s = summary.value;
    if (!s) return [];
    const byId = new Map(s.analysis.layers.map((l) => [l.id, l]));
    return s.frameOrder.map((id) => byId.get(id)).filter((l): l is NonNullable<typeof l> => !!l);
  });
  const focusedLayer = computed(() => frameLayers.value[focusIndex.value] ?? null);
  const activeImage = computed(() => images.value.find((i) => i.id === activeImageId.value) ?? null);
  const currentModel = computed(() => models.value.find((m) => m.id === modelId.value) ?? null);

  /** Shows a problem in place; problems met together (a drop of several bad files) are listed together. */
  function showError(message: string): void {
    const shown = notice.value?.kind === 'error' ? notice.value.message.split('\n') : [];
    if (!shown.includes(message)) notice.value = { kind: 'error', message: [...shown, message].slice(-8).join('\n') };
  }

  /**
   * Start-up: connects to the engine, then shows `choice.sample` through `choice.model` — except what the user
   * chose while the app was starting. An image dropped or opened before the engine was ready, or while the
   * sample was still loading, is the one shown (the sample is not added over it); a model opened meanwhile is
   * loaded instead of the default. Rejects when the engine cannot be reached (the caller offers a restart).
   */
  async function start(bridge: HostBridge, choice: StartupChoice): Promise<void> {
    startupChoice = choice;
    await connect(bridge);
    await showStartupChoice();
  }

  /** The start-up sample and model, once: after the first connection, or after a restart if that failed. */
  async function showStartupChoice(): Promise<void> {
    const choice = startupChoice;
    if (!choice || !bridgeRef || !client) return;
    startupChoice = null;
    const bridge = bridgeRef;
    if (activeImageId.value === null) {
      try {
        const sample = await fetchSample(bridge.resourcesBase, choice.sample);
        // The user may have opened an image while the sample was on its way: theirs stays.
        if (activeImageId.value === null) addImagesAs([sample], false);
      } catch (e) {
        showError(`Could not open the sample ${choice.sample}: ${errorText(e)}`);
      }
    }
    if (userChoseModel || modelId.value || modelLoading.value) return;
    const preferred = models.value.find((m) => m.id === choice.model) ?? models.value[0];
    if (preferred) await loadById(preferred.id);
  }

  async function connect(bridge: HostBridge): Promise<void> {
    const done = connectFirst(bridge);
    connecting = done;
    try {
      await done;
    } finally {
      if (connecting === done) connecting = null;
    }
  }

  async function connectFirst(bridge: HostBridge): Promise<void> {
    bridgeRef = bridge;
    engineState.value = 'connecting';
    bridge.onEngineStatus((status) => {
      if (status.state === 'restarting') {
        // Main restarted the engine by itself (Electron: the inference window crashed), or our own restart.
        if (!recovering) void recover(null, `The engine stopped (${status.reason})`, false);
      } else if (status.state === 'failed') {
        engineState.value = 'failed';
        notice.value = { kind: 'error', message: `The engine could not start: ${status.reason}`, action: 'restart' };
      }
    });
    await reconnect();
  }

  /** Connects to the engine; a model on screen is loaded again and the image rerun, so nothing is lost. */
  async function reconnect(): Promise<void> {
    if (!bridgeRef) return;
    const port = await bridgeRef.connectEngine();
    client?.dispose();
    clientPort = port;
    const c = (client = new EngineClient(port));
    client.onBackend((b) => {
      backend.value = b.backend;
      backendReason.value = b.reason;
    });
    client.onDead((e) => {
      if (client === c) void recover(e, e.message, true);
    });
    const prefer = preferredBackends();
    const ready = await client.hello(bridgeRef.resourcesBase, prefer);
    backend.value = ready.backend;
    backendReason.value = ready.reason;
    tfjsVersion.value = ready.tfjsVersion;
    const user = userModelFiles;
    // A restarted engine knows only its own models: the user's stay in the list (and can be opened again).
    models.value = [...ready.models, ...userEntries().filter((m) => !ready.models.some((r) => r.id === m.id))];
    engineState.value = 'ready';
    if (notice.value?.kind === 'info') notice.value = null;
    const id = modelId.value;
    if (!id || crashedModels.value.some((m) => m.modelId === id)) return;
    if (user && user.id === id) await load(user.files.name, (opts) => client!.loadUserModel(user.files, opts), true);
    else await loadById(id);
  }

  /** The user-model entries already in the list (kept across a restart; the new engine has none). */
  function userEntries(): ModelEntry[] {
    return models.value.filter((m) => m.source === 'user');
  }

  /**
   * The engine stopped (the client's watchdog saw no answer, or main restarted it): restart it if asked,
   * reconnect, restore the model list, the model and the image, and say what happened. The model that was
   * loading when it stopped, or whose pass stopped it twice, is marked and not loaded again by itself.
   */
  function recover(dead: EngineDead | null, reason: string, restart: boolean, quiet = false): Promise<void> {
    if (recovering) {
      // The engine this recovery brought back stopped before the recovery ended (a second failure while the
      // model reloads or the image reruns): recover once more after it, or the app waits on a dead engine.
      if (dead && client?.dead === dead) void recovering.then(() => recover(dead, reason, restart, quiet));
      return recovering;
    }
    let settle!: () => void;
    // Set before the body runs: restartEngine announces 'restarting' synchronously, and that status must
    // find this recovery already under way (not start a second one).
    recovering = new Promise<void>((r) => (settle = r));
    void (async () => {
      engineState.value = 'restarting';
      restarts.value++;
      const culprit = dead?.culprit ? blame(dead.culprit) : null;
      const asked = !dead && restart;
      const what = quiet
        ? `The engine was restarted to free memory (${reason})`
        : dead
          ? `${dead.message}; it was restarted`
          : asked
            ? 'Restarting the engine'
            : `${reason}; it was restarted`;
      const marked = culprit
        ? ` ${culprit} is marked: it caused the engine to stop and is not reloaded automatically.`
        : '';
      // On request: an info line that goes once the engine is back. Otherwise the user learns what happened.
      notice.value = quiet
        ? { kind: 'info', message: `${what}.` }
        : asked
          ? { kind: 'info', message: `${what}…` }
          : { kind: 'error', message: `${what}.${marked}`, action: 'restart' };
      activePass = null;
      loadAbort?.abort();
      loadAbort = null;
      modelLoading.value = null;
      if (passState.value === 'running') passState.value = lastGoodImageId === null ? 'idle' : 'done';
      client?.dispose();
      client = null;
      try {
        if (restart && bridgeRef?.restartEngine)
          await bridgeRef.restartEngine(reason, dead ? (clientPort ?? undefined) : undefined);
        await reconnect();
        // The engine failed at start-up: what start-up would have shown comes now.
        if (startupChoice) await showStartupChoice();
        if (activeImageId.value !== null && !activePass && summary.value) await analyze();
      } catch (e) {
        engineState.value = 'failed';
        notice.value = { kind: 'error', message: `The engine did not come back: ${errorText(e)}`, action: 'restart' };
      }
    })().finally(() => {
      recovering = null;
      settle();
    });
    return recovering;
  }

  /** Decides which model made the engine stop (if any), marks it, and names it for the message. */
  function blame(info: RequestInfo): string | null {
    if (!info.modelId) return null;
    const loading = info.type === 'loadModel' || info.type === 'loadUserModel';
    if (!loading) {
      // A pass that stopped the engine once may have been bad luck (a killed worker); twice is the model.
      const key = `${info.modelId}|${info.file ?? ''}`;
      if (!passStrikes.has(key)) {
        passStrikes.add(key);
        return null;
      }
    }
    const id = info.modelId;
    if (!crashedModels.value.some((m) => m.modelId === id))
      crashedModels.value = [...crashedModels.value, { modelId: id, during: info.during }];
    if (modelId.value === id) {
      // Its own pass stopped the engine twice: leave it unloaded.
      summary.value = null;
      frames.value = new Map();
      framesVersion.value++;
    }
    const name = models.value.find((m) => m.id === id)?.name;
    return loading && info.type === 'loadUserModel' ? info.during.replace(/^loading /, '') : (name ?? id);
  }

  /**
   * After a pass: an engine whose memory grew past ENGINE_HEAP_LIMIT (a large input makes the wasm heap grow,
   * and it never shrinks) is restarted quietly, with the model and image restored, before it runs out.
   */
  function recycleIfLarge(): void {
    const heap = client?.heapBytes ?? null;
    if (heap === null || heap <= ENGINE_HEAP_LIMIT || recovering) return;
    // Once per model and image: if the restored pass grows it past the limit again, restarting cannot help.
    const key = `${modelId.value}|${activeImageId.value}`;
    if (recycledFor === key) return;
    recycledFor = key;
    void recover(null, `recycled: its memory grew to ${Math.round(heap / 2 ** 20)} MB`, true, true);
  }

  /** The "Restart engine" button: ends the engine (even a stuck one) and restores what was on screen. */
  function restartEngine(): Promise<void> {
    return recover(null, 'restart requested', true);
  }

  /** `?backend=wasm` (tests, benchmarks) forces a backend order; the default is webgl → wasm → cpu. */
  function preferredBackends(): BackendName[] | undefined {
    if (typeof location === 'undefined') return undefined;
    const b = new URLSearchParams(location.search).get('backend');
    const all: BackendName[] = ['webgl', 'wasm', 'cpu'];
    if (b && (all as string[]).includes(b)) return [b as BackendName, ...all.filter((x) => x !== b)];
    return undefined;
  }

  let loadAbort: AbortController | null = null;

  /**
   * Loads a model (bundled, zoo or the user's) with progress, then runs the current image through it.
   * A failed or cancelled load leaves the model that was loaded before loaded and on screen.
   */
  async function load(label: string, start: (opts: LoadOptions) => Promise<ModelSummary>, user = false): Promise<void> {
    // Asked for while the engine is still connecting (a model dropped on a starting app): wait for it.
    if (!client && connecting) await connecting.catch(() => undefined);
    if (!client) return;
    loadAbort?.abort();
    const abort = (loadAbort = new AbortController());
    const who = user ? { modelId: label, user } : { modelId: label };
    modelLoading.value = { ...who, loaded: 0, total: 0 };
    loadNote.value = null;
    try {
      const s = await start({
        signal: abort.signal,
        onProgress: (p) =>
          (modelLoading.value = { ...who, phase: p.phase, loaded: p.loaded, total: p.total, detail: p.detail }),
      });
      if (!models.value.some((m) => m.id === s.id)) models.value = [...models.value, s];
      applySummary(s);
      await analyze();
    } catch (e) {
      // EngineDead: recover() says what happened and restores the scene.
      if (!isCancelled(e) && !(e instanceof EngineDead)) showError(errorText(e));
      // Cancelled by the user (a newer load or a restart replaces loadAbort): say so, the model on screen stays.
      else if (isCancelled(e) && loadAbort === abort && abort.signal.aborted) {
        const name = models.value.find((m) => m.id === label)?.name ?? label;
        loadNote.value = `${user ? 'Opening' : 'Loading'} ${name} cancelled`;
      }
    } finally {
      if (loadAbort === abort) {
        loadAbort = null;
        modelLoading.value = null;
      }
    }
  }

  /** The user picks a bundled or zoo model. */
  function selectModel(id: string): Promise<void> {
    userActed.value = true;
    userChoseModel = true;
    return loadById(id);
  }

  /** Loads a bundled or zoo model by id (start-up's default, or the model restored after a restart). */
  function loadById(id: string): Promise<void> {
    return load(id, (opts) => client!.loadModel(id, opts));
  }

  function loadUserModel(model: UserModelFiles): Promise<void> {
    userActed.value = true;
    userChoseModel = true;
    return load(
      model.name,
      async (opts) => {
        const s = await client!.loadUserModel(model, opts);
        userModelFiles = { id: s.id, files: model };
        return s;
      },
      true,
    );
  }

  /** Stops the model load in flight; the model on screen stays. */
  function cancelLoad(): void {
    loadAbort?.abort();
  }

  function applySummary(s: ModelSummary): void {
    if (summary.value?.id !== s.id) pinnedUnit.value = null;
    summary.value = s;
    modelId.value = s.id;
    // A model opens on its first layer with weights, not on the input's zero-padding.
    focusIndex.value = firstFocusIndex(frameLayers.value);
    resize.value ??= null;
    frames.value = new Map();
    framesVersion.value++;
  }

  /**
   * Adds images the user opened, dropped or pasted to the session strip and shows the first of them. Files
   * that are clearly not usable (empty, truncated, over the pixel limit) are refused here with a message,
   * before they reach the strip; decoding happens in the engine, which checks again.
   */
  function addImages(files: OpenedFile[]): void {
    addImagesAs(files, true);
  }

  function addImagesAs(files: OpenedFile[], byUser: boolean): void {
    const usable = files.filter((f) => {
      try {
        checkImageBytes(f.name, new Uint8Array(f.bytes), true);
        return true;
      } catch (e) {
        showError(errorText(e));
        return false;
      }
    });
    const added = usable.map((f) => {
      const blob = imageBlob(f.name, f.bytes);
      return { id: nextImageId++, name: f.name, bytes: f.bytes, blob, url: URL.createObjectURL(blob) };
    });
    if (!added.length) return;
    if (byUser) userActed.value = true;
    images.value = [...images.value, ...added];
    void selectImage(added[0].id);
  }

  function removeImage(id: number): void {
    const img = images.value.find((i) => i.id === id);
    if (!img) return;
    URL.revokeObjectURL(img.url);
    images.value = images.value.filter((i) => i.id !== id);
    if (activeImageId.value === id) void selectImage(images.value[0]?.id ?? null);
  }

  /** An image the engine could not read leaves the strip; the selection returns to what the scene shows. */
  function dropUnreadableImage(id: number): void {
    const img = images.value.find((i) => i.id === id);
    if (img) URL.revokeObjectURL(img.url);
    images.value = images.value.filter((i) => i.id !== id);
    const back = images.value.some((i) => i.id === lastGoodImageId) ? lastGoodImageId : null;
    activeImageId.value = back;
    passState.value = back === null ? 'idle' : 'done';
  }

  async function selectImage(id: number | null): Promise<void> {
    activeImageId.value = id;
    await analyze();
  }

  /** Runs the active image through the current model; a newer call cancels the pass in flight. */
  async function analyze(): Promise<void> {
    const img = activeImage.value;
    const s = summary.value;
    if (!client || !img || !s) return;
    activePass?.cancel();
    const image: ImageInput = { kind: 'encoded', name: img.name, bytes: img.bytes.slice(0) };
    const incoming = new Map<string, LayerFrame>();
    let replaced: Map<string, LayerFrame> | null = null;
    let first = true;
    // Over this model's maps on screen: where the scene draws in software, the page holds what this pass changes
    // until it is drawn, complete (pacing.ts).
    if (frames.value.size) holdNewPass(performance.now());
    passState.value = 'running';
    const override = settings.overrideFor(s.id);
    const pass = client
      .analyze({
        modelId: s.id,
        image,
        resize: resize.value ?? override?.resize ?? s.preprocess.resize,
        maxSide: 0,
        ...(override ? { preprocess: override } : {}),
      })
      .onImage((info) => {
        inputPreview.value = info.preview;
        imageSize.value = [info.width, info.height];
      })
      .onFrame((frame) => {
        if (first) {
          // Keep the old frames until the first new one arrives, so the scene never flashes empty.
          replaced = frames.value;
          frames.value = incoming;
          first = false;
        }
        incoming.set(frame.layerId, frame);
        triggerRef(frames);
        framesVersion.value++;
      });
    activePass = pass;
    try {
      const done = await pass.done;
      if (activePass !== pass) return;
      timings.value = done.timings;
      passBackend.value = done.backend;
      prediction.value = done.prediction ?? null;
      predictionModel.value = s.id;
      passState.value = 'done';
      passVersion.value++;
      if (replaced) retireFrames(replaced);
      lastGoodImageId = img.id;
      recycleIfLarge();
    } catch (e) {
      if (activePass !== pass) return;
      if (isCancelled(e) || e instanceof EngineDead) return;
      passState.value = 'error';
      // The image failed: say why and keep the previous scene as it was.
      showError(errorText(e));
      if (e instanceof EngineError && e.file === img.name) dropUnreadableImage(img.id);
    }
  }

  function focusStep(delta: number): void {
    const n = frameLayers.value.length;
    if (!n) return;
    focusIndex.value = Math.min(n - 1, Math.max(0, focusIndex.value + delta));
  }

  function focusLayer(id: string): void {
    const i = frameLayers.value.findIndex((l) => l.id === id);
    if (i >= 0) focusIndex.value = i;
  }

  async function setResize(policy: ResizePolicy): Promise<void> {
    resize.value = policy;
    await analyze();
  }

  /** The user changed how the current model's input is prepared: remembered per model, then run again. */
  async function setConventions(patch: Partial<Preprocess>): Promise<void> {
    const s = summary.value;
    if (!s) return;
    const { resize: policy, ...rest } = patch;
    if (policy) resize.value = policy;
    if (Object.keys(rest).length) settings.updateOverride(s.id, rest);
    await analyze();
  }

  /** Back to the model's own conventions. */
  async function resetConventions(): Promise<void> {
    const s = summary.value;
    if (!s) return;
    settings.clear(s.id);
    resize.value = null;
    await analyze();
  }

  async function channelValues(layerId: string, channel: number) {
    if (!client || !summary.value) return null;
    return client.channel(summary.value.id, layerId, channel);
  }

  /**
   * A layer's channel health on the current image, from its frame's per-channel float min / max (exact for dead
   * and saturated channels) and its zero count (sparsity, where the engine counted it); null before its frame arrives.
   */
  function healthOf(layerId: string): ChannelHealth | null {
    const f = frames.value.get(layerId);
    return f ? healthOfFrame(layerId, f) : null;
  }
  /** The channel health of one frame of layer `layerId` (reads no frames: a list can follow its own copy). */
  function healthOfFrame(layerId: string, f: LayerFrame): ChannelHealth {
    const clip = summary.value?.clips?.[layerId] ?? null;
    // The same object for the same frame: computeds that read it then change only when their layer's frame does
    // (not at every frame of a streaming pass), and a large model's list does not recount every layer each time.
    const known = healthMemo.get(f);
    if (known && known.clip === clip) return known.health;
    const full = f.fullShape;
    const perChannel = full.length > 1 ? full.slice(0, -1).reduce((a, b) => a * b, 1) : 1;
    const health = healthFromRange(f.min, f.max, perChannel, {
      clip,
      ...(f.zeros !== undefined ? { zeros: f.zeros } : {}),
    });
    healthMemo.set(f, { clip, health });
    return health;
  }
  const healthMemo = new WeakMap<LayerFrame, { clip: number | null; health: ChannelHealth }>();

  /** Pins a unit (or releases it with null); the side panel inspects it. */
  function pinUnit(unit: UnitPick | null): void {
    pinnedUnit.value = unit;
  }

  /** The pinned-unit requests, on the current model's last analysed image (a newer image cancels them). */
  async function inspectUnit(unit: UnitPick): Promise<UnitInspection | null> {
    if (!client || !summary.value) return null;
    return client.inspectUnit(summary.value.id, { layer: unit.layerId, channel: unit.channel, y: unit.y, x: unit.x });
  }

  async function effectiveField(unit: UnitPick): Promise<EffectiveField | null> {
    if (!client || !summary.value) return null;
    return client.effectiveField(summary.value.id, {
      layer: unit.layerId,
      channel: unit.channel,
      y: unit.y,
      x: unit.x,
    });
  }

  async function gradCam(which: { classIndex?: number; layer?: string }): Promise<GradCam | null> {
    if (!client || !summary.value) return null;
    return client.gradCam(summary.value.id, which);
  }

  /**
   * Test hooks for the recovery tests (window.__fme.store): the engine spins or exits. Answered with an
   * error unless the engine was started with its test hooks (`?test=1` in the browser build).
   */
  function debugEngine(kind: 'spin' | 'exit', ms = 60_000): Promise<void> {
    if (!client) return Promise.reject(new Error('no engine'));
    if (kind === 'exit') {
      client.debugExit();
      return Promise.resolve();
    }
    return client.debugSpin(ms);
  }

  const store = {
    engineState,
    backend,
    backendReason,
    tfjsVersion,
    models,
    modelId,
    summary,
    modelLoading,
    loadNote,
    images,
    activeImageId,
    activeImage,
    inputPreview,
    imageSize,
    frames,
    framesVersion,
    passState,
    passBackend,
    timings,
    prediction: computed(() =>
      prediction.value && predictionModel.value === summary.value?.id ? prediction.value : null,
    ),
    conventions,
    conventionsOverridden,
    focusIndex,
    focusedLayer,
    pinnedUnit,
    passVersion,
    pinUnit,
    healthOf,
    healthOfFrame,
    inspectUnit,
    effectiveField,
    gradCam,
    layers,
    frameLayers,
    notice,
    resize,
    currentModel,
    crashedModels,
    restarts,
    userActed,
    start,
    connect,
    restartEngine,
    debugEngine,
    selectModel,
    loadUserModel,
    userFilesOf,
    cancelLoad,
    addImages,
    removeImage,
    selectImage,
    analyze,
    focusStep,
    focusLayer,
    setResize,
    setConventions,
    resetConventions,
    channelValues,
    showError,
  };
  return store;
});
