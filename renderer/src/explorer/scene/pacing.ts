/**
 * When the scene may draw while an engine pass streams frames in.
 *
 * On a GPU a draw costs the CPU almost nothing, and the scene draws at most once per animation frame, uploading
 * every frame that arrived since the last one. A software rasteriser (SwiftShader, llvmpipe, WARP: what a machine
 * without a usable GPU gets) draws on the CPU, on the same cores the engine's Worker computes the pass on: one draw
 * of MobileNetV2's 161 layers takes SwiftShader about 100 ms, and drawing at every animation frame while frames
 * stream kept its GPU thread busy for the whole pass and made the pass itself twice as slow. So, on a software
 * rasteriser only, draws that nothing but arriving frames asked for are paced: the first frame of a burst is drawn
 * at once where it fills an empty layer (a new model), the last layer's frame is drawn at once, and in between a
 * draw waits until the GPU has been idle for (1 / duty − 1) times as long as the last draw took (measured with a
 * fence: submit → signalled), so that drawing takes at most `duty` of the time while a pass runs. A camera move, an
 * option or a focus change is never paced.
 *
 * (The time to the next animation frame is no measure of it: Chromium runs the next animation frame while the GPU
 * process is still drawing the last one, so InceptionV3's pass drew every ~120 ms and kept SwiftShader busy
 * throughout.)
 */

/** GL renderer strings of software rasterisers (UNMASKED_RENDERER_WEBGL, or RENDERER without the extension). */
export function isSoftwareRenderer(name: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software|basic render|\bwarp\b/i.test(name);
}

/** How often the scene looks at the last draw's fence (ms); a draw waiting on one never retries sooner. */
export const FENCE_POLL_MS = 8;

/**
 * The longest a new photo's maps wait for its pass to finish before the first paced draw shows the layers that have
 * arrived (ms): a pass that took longer last time (InceptionV3's) still shows its progress after this.
 */
export const HOLD_CAP_MS = 400;
/** A held burst waits this much longer than the last one took, for a pass that runs a little slower this time. */
const HOLD_MARGIN = 1.5;
/**
 * And at least this long (ms; once a pass has been measured): a short pass (MobileNetV2's, ~50 ms) that a busy machine
 * slows two- or threefold is still shown once, at its end, rather than part-way — the composite that shows its
 * progress costs SwiftShader 50–120 ms on the cores the rest of the pass needs. A quarter of a second is still
 * well within what reads as an immediate response.
 */
export const HOLD_MIN_MS = 250;

/** How long the page's last draw on a software rasteriser took (ms, fence-timed; 0: none yet, or a GPU). */
let softwareDrawMs = 0;

/**
 * What drawing costs this page where a scene draws with a software rasteriser (0 elsewhere): the page's other views
 * (the layer list, the status line) redraw less often by it while frames stream, since each of their redraws costs
 * the same software composite and swap.
 */
export function softwareDrawCost(): number {
  return softwareDrawMs;
}

/** Until when (performance.now() ms) a new photo's pass is held on a software rasteriser (see hold; −∞: none). */
let heldUntil = -Infinity;
/** When the page's hold began, where it began at the pass's request (holdNewPass; null: none, or at its image). */
let heldFrom: number | null = null;
/** How long the page's last held pass took, from its start to its last layer drawn (ms; 0: none measured yet). */
let lastHeldPassMs = 0;
/** What waits for the hold's end (whenSoftwareHoldEnds), each with its deadline's timer. */
const afterHold = new Map<() => void, ReturnType<typeof setTimeout>>();

/** How long a new pass is held, given how long the last held one took (0: none measured yet, nothing held). */
function holdFor(lastMs: number): number {
  return lastMs > 0 ? Math.min(HOLD_CAP_MS, Math.max(HOLD_MIN_MS, lastMs * HOLD_MARGIN)) : 0;
}

/** The hold is over (its pass's last layer was drawn): what waited for it runs now. */
function releaseHold(): void {
  heldUntil = -Infinity;
  heldFrom = null;
  const waiting = [...afterHold];
  afterHold.clear();
  for (const [fn, timer] of waiting) {
    clearTimeout(timer);
    fn();
  }
}

/**
 * Until when the scene holds a new photo's pass back from the screen (performance.now() ms; −Infinity where it does
 * not): the page's other views wait as long for their first redraw of that pass, so that a short pass is shown
 * once, complete, by one composite, not by one for the scene and others for the list and the status line.
 */
export function softwareHoldEnd(): number {
  return heldUntil;
}

/**
 * A new pass over maps already on screen is requested at `now` (a new photo, a new resize or preprocessing). Where
 * the page's scene draws in software and has measured a held pass, the hold begins here, at the request, rather
 * than when the scene gets the pass's input image: the views that change at once when a pass starts (the strip's
 * highlighted photo, the status line's "running…", buttons a pass disables) wait for it too (whenSoftwareHoldEnds),
 * so that nothing is composited between the request and the pass's one complete draw. Elsewhere nothing is held.
 */
export function holdNewPass(now: number): void {
  if (softwareDrawMs <= 0 || lastHeldPassMs <= 0) return;
  heldFrom = now;
  heldUntil = now + holdFor(lastHeldPassMs);
}

/**
 * Runs `fn` when the page's software hold ends: its pass's last layer drawn, or its deadline passed, whichever comes
 * first; at once where nothing is held. A later hold does not keep it waiting longer.
 */
export function whenSoftwareHoldEnds(fn: () => void): void {
  const left = heldUntil - performance.now();
  if (left <= 0) {
    fn();
    return;
  }
  if (afterHold.has(fn)) return;
  armAfterHold(fn, heldUntil);
}

/**
 * `fn`'s timer for the hold's `deadline` (performance.now() ms). Just past it, so that whatever `fn` asks of
 * softwareHoldEnd sees the hold over; and where a timer fires before the deadline by performance.now() (Node's run
 * off the event loop's cached, whole-millisecond clock), it waits out the rest rather than run `fn` while the hold
 * still lasts, and so leave it waiting for nothing. A later hold does not move the deadline.
 */
function armAfterHold(fn: () => void, deadline: number): void {
  afterHold.set(
    fn,
    setTimeout(
      () => {
        if (!afterHold.has(fn)) return;
        if (performance.now() <= deadline) return armAfterHold(fn, deadline);
        afterHold.delete(fn);
        fn();
      },
      deadline - performance.now() + 1,
    ),
  );
}

/** Forgets the page's software draw cost and hold (tests). */
export function resetSoftwareDrawCost(): void {
  softwareDrawMs = 0;
  lastHeldPassMs = 0;
  for (const timer of afterHold.values()) clearTimeout(timer);
  afterHold.clear();
  heldUntil = -Infinity;
  heldFrom = null;
}

export interface PaceOptions {
  /** Whether draws run on the CPU (isSoftwareRenderer). Without it, frames never wait. */
  software: boolean;
  /** Largest share of the time that frame-only draws may take while frames stream (0 < duty ≤ 1). */
  duty?: number;
}

export class RenderPacer {
  readonly software: boolean;
  private readonly duty: number;
  /** When the last draw was submitted (ms, the caller's clock) and how long the GPU took for it. */
  private lastSubmit = -Infinity;
  private lastGpuMs = 0;
  /** A draw whose completion has not been seen yet. */
  private inFlight = false;
  /** When the burst held last began (ms), until its last layer is drawn; how long the last held burst took. */
  private burstStart: number | null = null;
  private lastBurstMs = 0;
  /** A held burst's first draw waits until then (ms). */
  private holdUntil = -Infinity;

  constructor(opts: PaceOptions) {
    const duty = opts.duty ?? 0.25;
    if (!(duty > 0 && duty <= 1)) throw new Error(`RenderPacer: duty must be in (0, 1], got ${duty}`);
    this.software = opts.software;
    this.duty = duty;
  }

  /**
   * Milliseconds a draw that only new frames asked for should wait (0: draw now). `final`: the batch holds the last
   * layer's frame, so the pass is complete and is shown at once.
   */
  wait(now: number, final: boolean): number {
    if (!this.software) return 0;
    if (final) {
      this.finished(now);
      return 0;
    }
    const held = Math.max(0, this.holdUntil - now);
    if (this.inFlight) {
      // Still drawing the last one: wait at least for it, and then the idle share (known once it completes).
      return Math.max(FENCE_POLL_MS, held, this.lastGpuMs * (1 / this.duty) - (now - this.lastSubmit));
    }
    return Math.max(held, this.lastSubmit + this.lastGpuMs / this.duty - now);
  }

  /**
   * Frames that only replace maps already on screen (a new photo through the same model) arrive from `now`, with
   * nothing drawn for them yet. On a software rasteriser their first draw waits the idle share too, as if one had
   * just been shown. `burst`: a new photo's pass begins here (the scene got its input image): its first draw also
   * waits as long as the last such pass took to its last layer (with a margin, at least HOLD_MIN_MS and at most
   * HOLD_CAP_MS). The previous photo's maps stay up meanwhile, and a short pass is drawn once, complete, instead of
   * once part-way (which cost SwiftShader a whole-scene draw in the middle of the pass, on the cores the pass runs
   * on) and again at its last layer. Where the page began holding the pass at its request (holdNewPass), the burst keeps that start and end.
   */
  hold(now: number, opts: { burst?: boolean } = {}): void {
    if (!this.software) return;
    if (!this.inFlight) this.lastSubmit = Math.max(this.lastSubmit, now);
    if (!opts.burst) return;
    if (heldFrom !== null && heldUntil > now) {
      // The page has held this pass since its request (holdNewPass): the same start, the same end.
      this.burstStart = heldFrom;
      this.holdUntil = heldUntil;
    } else {
      this.burstStart = now;
      this.holdUntil = heldUntil = now + holdFor(this.lastBurstMs);
      heldFrom = null;
    }
  }

  /**
   * The pass's last layer is drawn at `now` (by wait(now, true), or by a draw that something else asked for): a held
   * burst took until now, and the page's hold ends.
   */
  finished(now: number): void {
    if (!this.software) return;
    if (this.burstStart !== null) lastHeldPassMs = this.lastBurstMs = now - this.burstStart;
    this.burstStart = null;
    this.holdUntil = -Infinity;
    releaseHold();
  }

  /** A draw was submitted at `now`. */
  submitted(now: number): void {
    this.lastSubmit = now;
    this.inFlight = true;
  }

  /** The GPU finished the draw submitted last, at `now` (the fence was seen signalled then). */
  completed(now: number): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    this.lastGpuMs = Math.max(0, now - this.lastSubmit);
    if (this.software) softwareDrawMs = this.lastGpuMs;
  }

  /** How long the last completed draw took the GPU (ms; 0 before one completed). */
  get gpuMs(): number {
    return this.lastGpuMs;
  }
}
