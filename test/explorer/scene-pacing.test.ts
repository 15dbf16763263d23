import { beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import StatusBar from '../../renderer/src/explorer/components/StatusBar.vue';
import LayerScrubber from '../../renderer/src/explorer/components/LayerScrubber.vue';
import LayerPanel from '../../renderer/src/explorer/components/LayerPanel.vue';
import { FakeEngine, fakeBridge, frameFor, settle } from './fake-engine';
import {
  HOLD_CAP_MS,
  HOLD_MIN_MS,
  RenderPacer,
  holdNewPass,
  isSoftwareRenderer,
  resetSoftwareDrawCost,
  softwareDrawCost,
  softwareHoldEnd,
  whenSoftwareHoldEnds,
} from '../../renderer/src/explorer/scene/pacing';
import ImageStrip from '../../renderer/src/explorer/components/ImageStrip.vue';
import { FRAMES_REDRAW_MS, redrawInterval } from '../../renderer/src/explorer/use-streamed-frames';

describe('render pacing while frames stream', () => {
  it('knows the software rasterisers by their GL renderer strings', () => {
    // Strings as Chromium, Mesa and Windows report them.
    for (const soft of [
      'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
      'Google SwiftShader',
      'llvmpipe (LLVM 15.0.6, 256 bits)',
      'Mesa softpipe',
      'ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)',
    ])
      expect(isSoftwareRenderer(soft), soft).toBe(true);
    for (const gpu of [
      'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 (0x00002504) Direct3D11 vs_5_0 ps_5_0, D3D11)',
      'ANGLE (Apple, ANGLE Metal Renderer: Apple M2, Unspecified Version)',
      'Mesa Intel(R) UHD Graphics 620 (KBL GT2)',
      'AMD Radeon Pro 5500M OpenGL Engine',
    ])
      expect(isSoftwareRenderer(gpu), gpu).toBe(false);
  });

  it('never delays a draw on a GPU', () => {
    const p = new RenderPacer({ software: false });
    p.submitted(0);
    expect(p.wait(1, false)).toBe(0);
    p.completed(200);
    expect(p.wait(201, false)).toBe(0);
  });

  it('on a software rasteriser, keeps frame-only draws to the duty share of the time', () => {
    const p = new RenderPacer({ software: true, duty: 0.25 });
    // The first frame of a burst: at once.
    expect(p.wait(0, false)).toBe(0);
    p.submitted(0);
    // Drawing: wait (polling) until it completes; its GPU time is not known yet.
    expect(p.wait(10, false)).toBeGreaterThan(0);
    p.completed(100); // 100 ms of GPU time
    expect(p.gpuMs).toBe(100);
    // 100 ms drawn of every 400 ms: the next frame-only draw at 400.
    expect(p.wait(150, false)).toBe(250);
    expect(p.wait(400, false)).toBe(0);
    // The last layer's frame is drawn at once whatever the budget says.
    expect(p.wait(150, true)).toBe(0);
  });

  it('a draw still in flight holds the next one back for at least the budget of the last', () => {
    const p = new RenderPacer({ software: true, duty: 0.5 });
    p.submitted(0);
    p.completed(60);
    p.submitted(120);
    // In flight since 120, the last took 60: not before 120 + 60 / 0.5 = 240.
    expect(p.wait(130, false)).toBe(110);
    expect(p.wait(300, false)).toBeGreaterThan(0); // still not complete: keep waiting
  });

  it("a new photo's frames over maps on screen wait like the rest, from the first; a GPU never waits", () => {
    const p = new RenderPacer({ software: true, duty: 0.25 });
    p.hold(0); // nothing shown yet, its cost unknown: no wait
    expect(p.wait(0, false)).toBe(0);
    p.submitted(0);
    p.completed(120); // showing a draw took 120 ms
    // Long after, a new photo's first frame arrives over the old maps: it waits 4 × 120 ms from then.
    p.hold(5000);
    expect(p.wait(5000, false)).toBe(480);
    expect(p.wait(5300, false)).toBe(180);
    expect(p.wait(5300, true)).toBe(0); // the pass's last layer: at once
    const gpu = new RenderPacer({ software: false });
    gpu.submitted(0);
    gpu.completed(120);
    gpu.hold(5000);
    expect(gpu.wait(5000, false)).toBe(0);
  });

  it("a new photo's pass waits as long as the last one took (half as long again, within bounds), so a short pass is drawn once", () => {
    const p = new RenderPacer({ software: true, duty: 0.25 });
    p.submitted(0);
    p.completed(20); // a cheap draw: the idle share alone would allow one 80 ms into a pass
    // The first photo's pass (no pass measured yet): its image at 1000, its last layer drawn at 1160.
    p.hold(1000, { burst: true });
    expect(p.wait(1010, false)).toBe(70);
    expect(p.wait(1160, true)).toBe(0);
    p.submitted(1160);
    p.completed(1180);
    // The next photo: nothing of it is drawn until 1.5 × 160 = 240 ms after its image (at least HOLD_MIN_MS), past
    // its expected end...
    p.hold(5000, { burst: true });
    expect(p.wait(5010, false)).toBe(HOLD_MIN_MS - 10);
    expect(p.wait(5150, false)).toBe(HOLD_MIN_MS - 150);
    // ...and a re-hold part-way (a frame over an old map, nothing pending) restarts only the idle share (4 × 20 ms),
    // not the pass-long hold.
    p.hold(5150);
    expect(p.wait(5150, false)).toBe(HOLD_MIN_MS - 150);
    expect(p.wait(5230, false)).toBe(HOLD_MIN_MS - 230);
    expect(p.wait(5170, true)).toBe(0); // its last layer: at once, and that pass took 170 ms
    p.submitted(5170);
    p.completed(5190);
    p.hold(9000, { burst: true });
    expect(p.wait(9000, false)).toBe(255); // 1.5 × 170
    // A long pass (InceptionV3's) still shows its progress after HOLD_CAP_MS.
    expect(p.wait(9000 + 100, true)).toBe(0);
    p.hold(10_000, { burst: true });
    expect(p.wait(10_000, false)).toBe(HOLD_MIN_MS); // 1.5 × 100 is less: a quick pass a busy machine slows is held too
    p.hold(20_000, { burst: true });
    expect(p.wait(30_000, true)).toBe(0); // a 10 s pass
    p.hold(40_000, { burst: true });
    expect(p.wait(40_000, false)).toBe(HOLD_CAP_MS);
    const gpu = new RenderPacer({ software: false });
    gpu.hold(0, { burst: true });
    gpu.wait(100, true);
    gpu.hold(200, { burst: true });
    expect(gpu.wait(200, false)).toBe(0);
  });

  it("tells the page's other views what a software draw costs; a GPU's draws say nothing", () => {
    resetSoftwareDrawCost();
    const gpu = new RenderPacer({ software: false });
    gpu.submitted(0);
    gpu.completed(50);
    expect(softwareDrawCost()).toBe(0);
    const p = new RenderPacer({ software: true });
    p.submitted(0);
    p.completed(120);
    expect(softwareDrawCost()).toBe(120);
    // The list and status line then redraw at most every 4 × 120 ms, whatever the animation frames say.
    expect(redrawInterval(Math.max(16.7, softwareDrawCost()))).toBe(480);
    resetSoftwareDrawCost();
  });

  it('refuses a duty outside (0, 1]', () => {
    expect(() => new RenderPacer({ software: true, duty: 0 })).toThrow(/duty/);
    expect(() => new RenderPacer({ software: true, duty: 1.5 })).toThrow(/duty/);
  });
});

/** The tiny model's session on a photo, its pool1 layer focused in a mounted layer panel. */
/** A session on the fake engine's tiny model, with cat.png's pass done. */
async function tinyOnCat() {
  const store = useSessionStore();
  await store.connect(fakeBridge(new FakeEngine()));
  store.addImages([{ name: 'cat.png', bytes: new ArrayBuffer(4) }]);
  await store.selectModel('tiny');
  await settle();
  return store;
}

async function panelOnPool1() {
  const store = await tinyOnCat();
  store.focusLayer('pool1');
  const panel = mount(LayerPanel, { props: { colorMap: 'auto', normalize: 'channel' } });
  await nextTick();
  return { store, panel };
}

describe('the layer list and status line while a new photo streams', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    resetSoftwareDrawCost(); // jsdom has no scene: the animation frames alone pace the list
  });

  it('redraw ten times a second where frames are quick, less where showing one is slow', () => {
    expect(redrawInterval(16.7)).toBe(100); // 60 Hz: every 100 ms
    expect(redrawInterval(60)).toBe(240); // a 60 ms composite: one frame in four
    expect(redrawInterval(170)).toBe(500); // capped: the list still moves twice a second
  });

  it('rows keep their last frame until the new one arrives; the count follows the new pass', async () => {
    const store = await tinyOnCat();
    const list = mount(LayerScrubber);
    const status = mount(StatusBar);
    const pending = () => list.findAll('li.pending').map((li) => li.attributes('data-layer-id'));
    expect(pending()).toEqual([]);
    expect(status.text()).toContain('layers 2/2');

    // The next photo's pass: its first frame replaces the session's frames (the store keeps old ones for the scene
    // only until then).
    const conv1 = frameFor('conv1', 0, [8, 8, 4], 2);
    conv1.max = new Float32Array(4).fill(0); // all four channels dead on this photo: the row's bar must change
    conv1.min = new Float32Array(4).fill(0);
    store.frames = new Map([['conv1', conv1]]);
    store.framesVersion++;
    await nextTick();
    // Not at once: at most every FRAMES_REDRAW_MS.
    expect(status.text()).toContain('layers 2/2');
    await new Promise((r) => setTimeout(r, FRAMES_REDRAW_MS + 50));
    await nextTick();
    expect(status.text()).toContain('layers 1/2');
    // pool1 still shows the last photo's frame (no row flips back to pending), conv1 its new one.
    expect(pending()).toEqual([]);
    expect(list.get('li[data-layer-id="conv1"] [data-testid="health-bar"]').attributes('aria-label')).toMatch(
      /^4 of 4 channels dead/,
    );

    // The pass's last layer is shown on the next animation frame, not after the interval.
    store.frames = new Map([...store.frames, ['pool1', frameFor('pool1', 1, [4, 4, 4], 2)]]);
    store.framesVersion++;
    await nextTick(); // the watcher asks for the animation frame
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    await nextTick();
    expect(status.text()).toContain('layers 2/2');
  });

  it('wait for their first redraw of a new photo as long as a software-drawn scene holds its pass', async () => {
    const store = await tinyOnCat();
    const status = mount(StatusBar);
    expect(status.text()).toContain('layers 2/2');
    // The list has shown this photo's complete pass (its last layer: on the next animation frame).
    store.framesVersion++;
    await nextTick();
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    // The scene (software) measured its last photo's pass at 240 ms: it holds the next one for 1.5 × that.
    const pacer = new RenderPacer({ software: true });
    const t = Math.floor(performance.now()); // whole ms: the sums below are exact
    pacer.hold(t - 1000, { burst: true });
    pacer.wait(t - 760, true);
    pacer.hold(t, { burst: true });
    expect(softwareHoldEnd()).toBe(t + 360);
    store.frames = new Map([['conv1', frameFor('conv1', 0, [8, 8, 4], 2)]]);
    store.framesVersion++;
    await nextTick();
    // Past the list's own interval (100 ms here), but not past the scene's hold: still the last photo's count.
    await new Promise((r) => setTimeout(r, FRAMES_REDRAW_MS + 80));
    await nextTick();
    expect(status.text()).toContain('layers 2/2');
    await new Promise((r) => setTimeout(r, 360 - FRAMES_REDRAW_MS - 80 + 60));
    await nextTick();
    expect(status.text()).toContain('layers 1/2');
    // The pass's last layer ends the hold: nothing is held back from the next model or photo.
    pacer.wait(performance.now(), true);
    expect(softwareHoldEnd()).toBe(-Infinity);
  });

  it("the focused layer's panel keeps its last frame while a new pass streams, not a placeholder", async () => {
    const { store, panel } = await panelOnPool1();
    const grid = () => panel.find('[data-testid="layer-panel"] .channel-grid');
    const waiting = () => panel.text().includes("Waiting for this layer's feature maps");
    expect(grid().exists()).toBe(true);
    const gridEl = grid().element;

    // A new photo's pass: conv1 has arrived, pool1 not yet.
    store.passState = 'running';
    store.frames = new Map([['conv1', frameFor('conv1', 0, [8, 8, 4], 9)]]);
    store.framesVersion++;
    await nextTick();
    expect(waiting()).toBe(false);
    expect(grid().element).toBe(gridEl); // the same grid, not torn down and rebuilt
    expect(panel.get('[data-testid="channel-health"]').text()).toContain('of 4 channels dead');

    // pool1's new frame replaces the kept one.
    const newPool = frameFor('pool1', 1, [4, 4, 4], 9);
    newPool.max = new Float32Array(4).fill(0);
    newPool.min = new Float32Array(4).fill(0);
    store.frames = new Map([...store.frames, ['pool1', newPool]]);
    store.framesVersion++;
    await nextTick();
    expect(panel.get('[data-testid="channel-health"]').text()).toContain('4 of 4 channels dead');

    // A pass that ended without the layer (failed): nothing stale is shown as if it were this photo's.
    store.frames = new Map([['conv1', frameFor('conv1', 0, [8, 8, 4], 9)]]);
    store.passState = 'error';
    store.framesVersion++;
    await nextTick();
    expect(waiting()).toBe(true);
  });

  it("the focused layer's panel shows a held pass's new frame when the software-drawn scene does", async () => {
    const { store, panel } = await panelOnPool1();
    const health = () => panel.get('[data-testid="channel-health"]').text();
    expect(health()).not.toContain('4 of 4 channels dead');
    // The scene holds the new photo's pass for HOLD_MIN_MS (its last took 100 ms: 1.5 × that is less).
    const pacer = new RenderPacer({ software: true });
    const t = Math.floor(performance.now()); // whole ms: the sums below are exact
    pacer.hold(t - 500, { burst: true });
    pacer.wait(t - 400, true);
    pacer.hold(t, { burst: true });
    store.passState = 'running';
    const newPool = frameFor('pool1', 1, [4, 4, 4], 9);
    newPool.max = new Float32Array(4).fill(0);
    newPool.min = new Float32Array(4).fill(0);
    store.frames = new Map([['pool1', newPool]]);
    store.framesVersion++;
    await nextTick();
    expect(health()).not.toContain('4 of 4 channels dead'); // still the last photo's, as the scene
    await new Promise((r) => setTimeout(r, 150));
    await nextTick();
    expect(health()).not.toContain('4 of 4 channels dead');
    await new Promise((r) => setTimeout(r, HOLD_MIN_MS - 150 + 60));
    await nextTick();
    expect(health()).toContain('4 of 4 channels dead');
    pacer.wait(performance.now(), true);
  });

  it("a new pass's request starts the page's hold where a software scene measured one; what waits for it runs at its end", () => {
    resetSoftwareDrawCost();
    const t = Math.floor(performance.now()); // whole ms: the sums below are exact
    holdNewPass(t); // nothing drawn yet: nothing held
    expect(softwareHoldEnd()).toBe(-Infinity);
    const p = new RenderPacer({ software: true });
    p.submitted(t - 2000);
    p.completed(t - 1950); // a 50 ms draw
    holdNewPass(t); // no held pass measured yet: still nothing
    expect(softwareHoldEnd()).toBe(-Infinity);
    p.hold(t - 1000, { burst: true });
    p.finished(t - 800); // that photo's pass: 200 ms to its last layer
    const ran: string[] = [];
    whenSoftwareHoldEnds(() => ran.push('unheld')); // nothing held: at once
    expect(ran).toEqual(['unheld']);

    // The next photo's request at t: held from there for 1.5 × 200 ms, and the scene's burst (its image, later)
    // keeps that start and end.
    holdNewPass(t);
    expect(softwareHoldEnd()).toBe(t + 300);
    const fn = () => ran.push('held');
    whenSoftwareHoldEnds(fn);
    whenSoftwareHoldEnds(fn); // once per function
    p.hold(t + 20, { burst: true });
    expect(softwareHoldEnd()).toBe(t + 300);
    expect(p.wait(t + 20, false)).toBe(280);
    expect(ran).toEqual(['unheld']);
    // Its last layer drawn at t + 100 (by a draw something else asked for): the hold ends, the waiting runs, and the
    // pass took 100 ms from its request.
    p.finished(t + 100);
    expect(ran).toEqual(['unheld', 'held']);
    expect(softwareHoldEnd()).toBe(-Infinity);
    holdNewPass(t + 1000);
    expect(softwareHoldEnd()).toBe(t + 1000 + HOLD_MIN_MS); // 1.5 × 100 ms is less
    p.finished(t + 1100);

    // A GPU: nothing is held, whatever was measured before.
    resetSoftwareDrawCost();
    const gpu = new RenderPacer({ software: false });
    gpu.submitted(0);
    gpu.completed(50);
    gpu.hold(100, { burst: true });
    gpu.finished(300);
    holdNewPass(t);
    expect(softwareHoldEnd()).toBe(-Infinity);
  });

  it('what waits for a hold runs at its deadline where its last layer is never drawn', async () => {
    resetSoftwareDrawCost();
    const p = new RenderPacer({ software: true });
    p.submitted(0);
    p.completed(50);
    p.hold(1000, { burst: true });
    p.finished(1040); // 40 ms: the next is held HOLD_MIN_MS
    let ran = 0;
    holdNewPass(performance.now());
    whenSoftwareHoldEnds(() => ran++);
    await new Promise((r) => setTimeout(r, HOLD_MIN_MS - 50));
    expect(ran).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(ran).toBe(1);
    resetSoftwareDrawCost();
  });

  it("a deadline timer that fires early (as Node's can, off the loop's cached clock) waits out the rest of the hold", () => {
    resetSoftwareDrawCost();
    const p = new RenderPacer({ software: true });
    p.submitted(0);
    p.completed(50);
    p.hold(1000, { burst: true });
    p.finished(1040); // the next is held HOLD_MIN_MS
    // The timers whenSoftwareHoldEnds arms, each fired here by hand when the test says.
    const armed: { fn: () => void; ms: number }[] = [];
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
      armed.push({ fn, ms });
      return 0;
    }) as unknown as typeof setTimeout);
    const clock = vi.spyOn(performance, 'now');
    try {
      clock.mockReturnValue(5000);
      holdNewPass(5000);
      const end = softwareHoldEnd();
      expect(end).toBe(5000 + HOLD_MIN_MS);
      let ran = 0;
      whenSoftwareHoldEnds(() => ran++);
      expect(armed.map((a) => a.ms)).toEqual([HOLD_MIN_MS + 1]);
      // It fires 3 ms before the deadline by performance.now(): the hold still lasts, so it waits again.
      clock.mockReturnValue(end - 3);
      armed[0].fn();
      expect(ran).toBe(0);
      expect(armed.map((a) => a.ms)).toEqual([HOLD_MIN_MS + 1, 4]);
      // Then past it: it runs, once.
      clock.mockReturnValue(end + 1);
      armed[1].fn();
      expect(ran).toBe(1);
      expect(armed).toHaveLength(2);
    } finally {
      spy.mockRestore();
      clock.mockRestore();
      resetSoftwareDrawCost();
    }
  });

  it("a new photo's request changes the status line and the strip's highlight with its pass, not at once, on a software scene", async () => {
    const store = await tinyOnCat();
    const status = mount(StatusBar);
    const strip = mount(ImageStrip);
    const thumbs = () => strip.findAll('[data-testid="thumb"]');
    await settle(20);
    expect(status.text()).toContain('last pass 6 ms');
    const activeName = () =>
      thumbs()
        .find((t) => t.classes('active'))
        ?.attributes('title');
    expect(activeName()).toBe('cat.png');

    // A GPU (or nothing drawn in software): the request shows at once.
    resetSoftwareDrawCost();
    store.addImages([{ name: 'dog.png', bytes: new ArrayBuffer(4) }]);
    await nextTick();
    expect(status.text()).toContain('running…');
    await settle(20);
    expect(status.text()).toContain('last pass 6 ms');
    expect(activeName()).toBe('dog.png');

    // A software scene that measured its last held pass at 200 ms: the next photo's request is held with its pass.
    const p = new RenderPacer({ software: true });
    p.submitted(0);
    p.completed(50);
    p.hold(performance.now() - 1000, { burst: true });
    p.finished(performance.now() - 800);
    store.selectImage(store.images[0].id);
    await nextTick();
    expect(status.text()).toContain('last pass 6 ms');
    expect(status.text()).not.toContain('running');
    expect(activeName()).toBe('dog.png');
    await settle(); // the pass streams in and ends; the scene has not drawn it yet
    expect(store.passState).toBe('done');
    expect(activeName()).toBe('dog.png');
    // The scene draws the pass's last layer: the page shows its request and its end together.
    p.finished(performance.now());
    await nextTick();
    expect(activeName()).toBe('cat.png');
    expect(status.text()).toContain('last pass 6 ms');
    status.unmount();
    strip.unmount();
    resetSoftwareDrawCost();
  });
});
