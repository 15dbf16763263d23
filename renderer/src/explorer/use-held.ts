/**
 * A value as the page shows it while a software-drawn scene holds a new pass back from the screen (pacing.ts).
 *
 * On a software rasteriser every composite costs the CPU a whole-window redraw (40–65 ms under SwiftShader) on the
 * cores the engine's pass runs on. A new photo's request changes a few things at once (the strip's highlighted
 * photo, the status line's "running…", a button that needs a finished pass): shown at once, they cost a composite
 * at the start of a pass that is itself drawn once, complete, at its end. Through `useHeld`, such a change made while
 * the hold lasts is shown when it ends, in the composite that shows the pass; any other change, and every change on
 * a GPU, is shown at once.
 */
import { onBeforeUnmount, shallowRef, watch, type Ref } from 'vue';
import { whenSoftwareHoldEnds } from './scene/pacing';

export function useHeld<T>(get: () => T): Readonly<Ref<T>> {
  const shown = shallowRef(get());
  let live = true;
  const catchUp = () => {
    if (live) shown.value = get();
  };
  // At once where nothing is held; else when the hold ends, with whatever the value is by then.
  watch(get, () => whenSoftwareHoldEnds(catchUp));
  onBeforeUnmount(() => (live = false));
  return shown;
}
