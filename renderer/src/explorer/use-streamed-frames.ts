/**
 * The session's frames for views that need not follow every arriving layer (the layer list, the status line).
 *
 * Frames stream in far faster than a list needs redrawing: the copy returned here is refreshed at most every
 * FRAMES_REDRAW_MS, on an animation frame, not once per arriving layer (the 3D scene still shows each layer as it
 * arrives). With `keepPrevious`, while a new pass of the same model streams, a layer keeps its previous frame until
 * the new one arrives — as the scene keeps its tiles — so the list's rows do not all flip back to "pending" and
 * remount their health bars at every photo; a new model (a new summary) starts from its own frames.
 */
import { onBeforeUnmount, shallowRef, watch, type ShallowRef } from 'vue';
import type { LayerFrame } from '../../common/engine-protocol';
import type { useSessionStore } from './stores/session';

export const FRAMES_REDRAW_MS = 100;

export function useStreamedFrames(
  store: ReturnType<typeof useSessionStore>,
  opts: { keepPrevious?: boolean } = {},
): ShallowRef<ReadonlyMap<string, LayerFrame>> {
  const shown = shallowRef<ReadonlyMap<string, LayerFrame>>(new Map(store.frames));
  let shownFor = store.summary;
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
  let raf = 0;
  let shownAt = 0;

  function refresh(): void {
    shownAt = performance.now();
    const next = opts.keepPrevious && store.summary === shownFor ? new Map(shown.value) : new Map<string, LayerFrame>();
    for (const [id, f] of store.frames) next.set(id, f);
    shownFor = store.summary;
    shown.value = next;
  }

  watch(
    () => store.framesVersion,
    () => {
      if (timer || raf) return;
      timer = setTimeout(
        () => {
          timer = 0;
          raf = requestAnimationFrame(() => {
            raf = 0;
            refresh();
          });
        },
        Math.max(0, shownAt + FRAMES_REDRAW_MS - performance.now()),
      );
    },
  );
  onBeforeUnmount(() => {
    if (timer) clearTimeout(timer);
    cancelAnimationFrame(raf);
  });
  return shown;
}
