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
  ResizePolicy,
  UserModelFiles,
} from '../../engine/protocol';
import { EngineClient, EngineError, type LoadOptions } from '../../engine/client';
import { checkImageBytes } from '../../engine/image-header';
import { errorText, imageObjectUrl, isCancelled } from './shared';
import type { OpenedFile } from '../../../../preload/contract';

/** An image the user opened this session (the strip lets them switch back). */
export interface SessionImage {
  id: number;
  name: string;
  bytes: ArrayBuffer;
  /** Object URL for the thumbnail; revoked when the image leaves the session. */
  url: string;
}

export interface Notice {
  kind: 'error' | 'info';
  message: string;
}

export type EngineState = 'connecting' | 'ready' | 'restarting' | 'failed';

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
    phase?: string;
    loaded: number;
    total: number;
    detail?: string;
  } | null>(null);

  const images = shallowRef<SessionImage[]>([]);
  const activeImageId = ref<number | null>(null);
  const inputPreview = shallowRef<{ width: number; height: number; data: Uint8ClampedArray } | null>(null);
  const imageSize = ref<[number, number] | null>(null);

  const frames = shallowRef(new Map<string, LayerFrame>());
  const framesVersion = ref(0);
  const passState = ref<'idle' | 'running' | 'done' | 'error'>('idle');
  const timings = ref<PassTimings | null>(null);
  const passBackend = ref<BackendName | null>(null);

  const focusIndex = ref(0);
  const notice = ref<Notice | null>(null);
  const resize = ref<ResizePolicy | null>(null);

  let client: EngineClient | null = null;
  let bridgeRef: HostBridge | null = null;
  let nextImageId = 1;
  let activePass: { cancel(): void } | null = null;
  /** The last image whose pass completed: what the scene shows. */
  let lastGoodImageId: number | null = null;

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

  async function connect(bridge: HostBridge): Promise<void> {
    bridgeRef = bridge;
    engineState.value = 'connecting';
    bridge.onEngineStatus((status) => {
      if (status.state === 'restarting') {
        engineState.value = 'restarting';
        notice.value = { kind: 'info', message: `The engine stopped (${status.reason}); restarting…` };
        void reconnect();
      } else if (status.state === 'failed') {
        engineState.value = 'failed';
        showError(`The engine could not start: ${status.reason}`);
      }
    });
    await reconnect();
  }

  /** (Re)connects to the engine; after a restart, reloads the model and reruns the image so nothing is lost. */
  async function reconnect(): Promise<void> {
    if (!bridgeRef) return;
    const port = await bridgeRef.connectEngine();
    client?.dispose();
    client = new EngineClient(port);
    client.onBackend((b) => {
      backend.value = b.backend;
      backendReason.value = b.reason;
    });
    const prefer = preferredBackends();
    const ready = await client.hello(bridgeRef.resourcesBase, prefer);
    backend.value = ready.backend;
    backendReason.value = ready.reason;
    tfjsVersion.value = ready.tfjsVersion;
    models.value = ready.models;
    engineState.value = 'ready';
    if (notice.value?.kind === 'info') notice.value = null;
    if (modelId.value) await selectModel(modelId.value);
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
  async function load(label: string, start: (opts: LoadOptions) => Promise<ModelSummary>): Promise<void> {
    if (!client) return;
    loadAbort?.abort();
    const abort = (loadAbort = new AbortController());
    modelLoading.value = { modelId: label, loaded: 0, total: 0 };
    try {
      const s = await start({
        signal: abort.signal,
        onProgress: (p) =>
          (modelLoading.value = { modelId: label, phase: p.phase, loaded: p.loaded, total: p.total, detail: p.detail }),
      });
      if (!models.value.some((m) => m.id === s.id)) models.value = [...models.value, s];
      applySummary(s);
      await analyze();
    } catch (e) {
      if (!isCancelled(e)) showError(errorText(e));
    } finally {
      if (loadAbort === abort) {
        loadAbort = null;
        modelLoading.value = null;
      }
    }
  }

  function selectModel(id: string): Promise<void> {
    return load(id, (opts) => client!.loadModel(id, opts));
  }

  function loadUserModel(model: UserModelFiles): Promise<void> {
    return load(model.name, (opts) => client!.loadUserModel(model, opts));
  }

  /** Stops the model load in flight; the model on screen stays. */
  function cancelLoad(): void {
    loadAbort?.abort();
  }

  function applySummary(s: ModelSummary): void {
    summary.value = s;
    modelId.value = s.id;
    focusIndex.value = 0;
    resize.value ??= null;
    frames.value = new Map();
    framesVersion.value++;
  }

  /**
   * Adds images to the session strip and shows the first of them. Files that are clearly not usable
   * (empty, truncated, over the pixel limit) are refused here with a message, before they reach the strip;
   * decoding happens in the engine, which checks again.
   */
  function addImages(files: OpenedFile[]): void {
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
      return { id: nextImageId++, name: f.name, bytes: f.bytes, url: imageObjectUrl(f.name, f.bytes) };
    });
    if (!added.length) return;
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
    let first = true;
    passState.value = 'running';
    const pass = client
      .analyze({ modelId: s.id, image, resize: resize.value ?? s.preprocess.resize, maxSide: 0 })
      .onImage((info) => {
        inputPreview.value = info.preview;
        imageSize.value = [info.width, info.height];
      })
      .onFrame((frame) => {
        if (first) {
          // Keep the old frames until the first new one arrives, so the scene never flashes empty.
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
      passState.value = 'done';
      lastGoodImageId = img.id;
    } catch (e) {
      if (activePass !== pass) return;
      if (isCancelled(e)) return;
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

  async function channelValues(layerId: string, channel: number) {
    if (!client || !summary.value) return null;
    return client.channel(summary.value.id, layerId, channel);
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
    focusIndex,
    focusedLayer,
    layers,
    frameLayers,
    notice,
    resize,
    currentModel,
    connect,
    selectModel,
    loadUserModel,
    cancelLoad,
    addImages,
    removeImage,
    selectImage,
    analyze,
    focusStep,
    focusLayer,
    setResize,
    channelValues,
    showError,
  };
  return store;
});
