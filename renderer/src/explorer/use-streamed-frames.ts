/**
 * The session's frames for views that need not follow every arriving layer (the layer list, the status line).
 *
 * Frames stream in far faster than a list needs redrawing: the copy returned here is refreshed at most every
 * FRAMES_REDRAW_MS, on an animation frame, not once per arriving layer (the 3D scene still shows each layer as it
 * arrives); the frame that completes the pass is shown on the next animation frame. A new photo's pass through the
 * same model waits the interval for its first redraw too, and as long as a software-drawn scene holds that pass
 * back (the views keep the last photo's frames meanwhile). All
 * views of one session refresh on the same animation frame (one shared ticker), so a refresh costs the page one
 * layout, one paint and one composite, not one per view. Where showing a frame is slow (a software
 * compositor: the next animation frame comes 50–170 ms after a redraw under SwiftShader, on the cores the engine
 * computes on; or a scene on the page draws in software and its fence says what a draw costs), the interval grows
 * to REDRAW_FRAMES times that, up to MAX_REDRAW_MS.
 *
 * With `keepPrevious`, while a new pass of the same model streams, a layer keeps its previous frame until the new
 * one arrives — as the scene keeps its tiles — so the list's rows do not all flip back to "pending" and remount
 * their health bars at every photo; a new model (a new summary) starts from its own frames.
 */
import { effectScope, onBeforeUnmount, shallowRef, watch, type EffectScope, type ShallowRef } from 'vue';
import type { LayerFrame } from '../../../common/engine-protocol';
import type { useSessionStore } from './stores/session';
import { softwareDrawCost, softwareHoldEnd } from './scene/pacing';

type SessionStore = ReturnType<typeof useSessionStore>;

export const FRAMES_REDRAW_MS = 100;
export const MAX_REDRAW_MS = 500;
/** A redraw may take at most about one animation frame in this many while frames stream. */
export const REDRAW_FRAMES = 4;

/** The next interval between redraws, given how long the frame after the last redraw took to come (ms). */
export function redrawInterval(frameMs: number): number {
  return Math.min(MAX_REDRAW_MS, Math.max(FRAMES_REDRAW_MS, REDRAW_FRAMES * frameMs));
}

interface Ticker {
  /** Bumped on the animation frame where the views redraw. */
  tick: ShallowRef<number>;
  users: number;
  scope: EffectScope;
  stopTimers(): void;
}

const tickers = new WeakMap<SessionStore, Ticker>();

function acquire(store: SessionStore): Ticker {
  let t = tickers.get(store);
  if (t) {
    t.users++;
    return t;
  }
  const tick = shallowRef(0);
  const scope = effectScope(true);
  let timer: ReturnType<typeof setTimeout> | 0 = 0;
  let raf = 0;
  let shownAt = 0;
  let interval = FRAMES_REDRAW_MS;
  /** The session's frame map and model at the last redraw: a new map for the same model is a new photo's pass. */
  let shownMap: ReadonlyMap<string, LayerFrame> | null = null;
  let shownSummary: unknown = null;
  const show = () => {
    raf = requestAnimationFrame((at) => {
      raf = 0;
      shownAt = performance.now();
      shownMap = store.frames;
      shownSummary = store.summary;
      tick.value++;
      // How long showing it took: the time to the next animation frame.
      // On a software rasteriser the animation frame comes before the composite is done: the scene's fence-timed
      // draw is the better measure of what one redraw costs.
      requestAnimationFrame((next) => (interval = redrawInterval(Math.max(next - at, softwareDrawCost()))));
    });
  };
  scope.run(() => {
    watch(
      () => store.framesVersion,
      () => {
        if (raf) return;
        // The pass's last layer: shown on the next animation frame, with the scene's last draw.
        const total = store.summary?.frameOrder.length ?? 0;
        if (total && store.frames.size >= total) {
          if (timer) clearTimeout(timer);
          timer = 0;
          show();
          return;
        }
        if (timer) return;
        // A new photo's first frames over the last photo's (the views keep those meanwhile): the first redraw waits
        // the interval too, and as long as a software-drawn scene holds the pass back (pacing.ts), so a short pass
        // redraws the page once, complete, not also at its first layer.
        const newPhoto = () => store.frames !== shownMap && store.summary === shownSummary && !!shownMap?.size;
        if (newPhoto()) shownAt = Math.max(shownAt, performance.now());
        const fire = () => {
          // The scene may have started holding this pass after the timer was set (its input image came later).
          const held = newPhoto() ? softwareHoldEnd() - performance.now() : 0;
          if (held > 0) {
            timer = setTimeout(fire, held);
            return;
          }
          timer = 0;
          show();
        };
        timer = setTimeout(fire, Math.max(0, shownAt + interval - performance.now()));
      },
    );
  });
  t = {
    tick,
    users: 1,
    scope,
    stopTimers() {
      if (timer) clearTimeout(timer);
      cancelAnimationFrame(raf);
    },
  };
  tickers.set(store, t);
  return t;
}

function release(store: SessionStore, t: Ticker): void {
  if (--t.users > 0) return;
  t.stopTimers();
  t.scope.stop();
  tickers.delete(store);
}

export function useStreamedFrames(
  store: SessionStore,
  opts: { keepPrevious?: boolean } = {},
): ShallowRef<ReadonlyMap<string, LayerFrame>> {
  const shown = shallowRef<ReadonlyMap<string, LayerFrame>>(new Map(store.frames));
  let shownFor = store.summary;
  const ticker = acquire(store);
  watch(ticker.tick, () => {
    const next = opts.keepPrevious && store.summary === shownFor ? new Map(shown.value) : new Map<string, LayerFrame>();
    for (const [id, f] of store.frames) next.set(id, f);
    shownFor = store.summary;
    shown.value = next;
  });
  onBeforeUnmount(() => release(store, ticker));
  return shown;
}
