/**
 * `useScene`: mounts a FeatureScene on a canvas for a Vue component (the main view and each Compare pane), keeps
 * it in step with a source of model, frames, image, focus and options, and disposes it on unmount. The scene
 * object is never made reactive (STYLE.md #13): it lives in a `shallowRef` behind `markRaw`.
 */
import { markRaw, onBeforeUnmount, onMounted, ref, shallowRef, watch, type Ref, type ShallowRef } from 'vue';
import type { LayerFrame, ModelSummary, Prediction } from '../../../../common/engine-protocol';
import { createFeatureScene, type FeatureScene, type SceneOptions } from './index';
import type { ScenePixels } from './input-image';

/** What a scene shows, as getters (read inside watchers, so they track the store or props they read). */
export interface SceneSource {
  summary: () => ModelSummary | null;
  /** The current pass's frames by layer; a new Map means a new pass. */
  frames: () => ReadonlyMap<string, LayerFrame>;
  /** Bumped when frames are added to the same Map. */
  framesVersion: () => number;
  preview: () => ScenePixels | null;
  /** The focused layer's id, or null. */
  focus: () => string | null;
  options: () => SceneOptions;
  prediction?: () => Prediction | null;
}

export interface UseSceneHooks {
  /** After a new model is set (the main view drops its hover and pinned unit here). */
  onModel?: (summary: ModelSummary) => void;
  /** Double-click on a layer. */
  onFocusRequest?: (layerId: string) => void;
  /** Focus the focused layer (without a glide) whenever a model is set, not only when the focus changes. */
  focusOnModel?: boolean;
}

export interface UseScene {
  scene: ShallowRef<FeatureScene | null>;
  /** A readable message when the 3D view cannot start (no WebGL2). */
  error: Ref<string>;
  /** Sends frames not sent yet (a new Map resets what was sent). */
  syncFrames: () => void;
}

export function useScene(
  canvas: Ref<HTMLCanvasElement | null>,
  source: SceneSource,
  hooks: UseSceneHooks = {},
): UseScene {
  const scene = shallowRef<FeatureScene | null>(null);
  const error = ref('');
  let resizeObserver: ResizeObserver | null = null;
  let sent = new Set<string>();
  let sentMap: ReadonlyMap<string, LayerFrame> | null = null;

  function syncFrames(): void {
    const sc = scene.value;
    if (!sc) return;
    const frames = source.frames();
    if (frames !== sentMap) {
      // A new pass: its frames replace the old ones layer by layer (addFrame replaces), so nothing flashes.
      sentMap = frames;
      sent = new Set();
    }
    for (const [id, frame] of frames) {
      if (sent.has(id)) continue;
      sent.add(id);
      sc.addFrame(frame);
    }
  }

  function loadModel(s: ModelSummary): void {
    const sc = scene.value;
    if (!sc) return;
    sc.setModel(s);
    sentMap = null;
    hooks.onModel?.(s);
    const img = source.preview();
    if (img) sc.setInputImage(img);
    syncFrames();
    sc.setPrediction(source.prediction?.() ?? null);
    if (hooks.focusOnModel) sc.setFocus(source.focus(), { animate: false });
  }

  onMounted(() => {
    if (!canvas.value) return;
    try {
      const sc = createFeatureScene(canvas.value, source.options());
      if (hooks.onFocusRequest) sc.onFocusRequest = hooks.onFocusRequest;
      scene.value = markRaw(sc);
    } catch (e) {
      error.value = `3D view unavailable: ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
    resizeObserver = new ResizeObserver(() => scene.value?.resize());
    resizeObserver.observe(canvas.value);
    const s = source.summary();
    if (s) loadModel(s);
  });

  onBeforeUnmount(() => {
    resizeObserver?.disconnect();
    resizeObserver = null;
    scene.value?.dispose();
    scene.value = null;
  });

  watch(source.summary, (s) => {
    if (s) loadModel(s);
  });
  watch(source.frames, syncFrames);
  watch(source.framesVersion, syncFrames);
  watch(source.preview, (img) => {
    if (img) scene.value?.setInputImage(img);
  });
  watch(source.focus, (id) => scene.value?.setFocus(id, { animate: true }));
  watch(
    () => {
      const o = source.options();
      return [o.theme, o.colorMap, o.normalize, o.maxTiles] as const;
    },
    ([theme, colorMap, normalize, maxTiles]) =>
      scene.value?.setOptions({ theme, colorMap, normalize, ...(maxTiles ? { maxTiles } : {}) }),
  );
  if (source.prediction) watch(source.prediction, (p) => scene.value?.setPrediction(p));

  return { scene, error, syncFrames };
}
