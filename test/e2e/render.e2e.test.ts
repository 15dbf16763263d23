/**
 * The 3D scene on real WebGL2 (Chromium, SwiftShader): the scene alone on a page built from
 * scripts/bench-render-page.ts, fed frames shaped like MobileNetV2's layers. Checks real pixels
 * against the colour LUT, draw calls per visible layer, render-on-demand, picking, double-click focus,
 * mouse orbit, the pacing of a new photo on a software rasteriser, and that renderer.info.memory returns to its
 * baseline when models are replaced.
 */
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../common/engine-protocol';
import type { FeatureScene, SceneStats } from '../../renderer/src/explorer/scene';
import { COLOR_MAPS } from '../../renderer/src/explorer/scene/colormaps';
import { benchSummary, buildRenderPage, openRenderPage } from '../../scripts/bench-render';

type Win = Window & { __scene?: FeatureScene; __focusRequests?: string[] };

let dir = '';
let page: Page;
let close: () => Promise<void> = async () => {};
const errors: string[] = [];
const mobilenet = benchSummary('mobilenetv2');

/** A one-layer model: a 32×32 map with two channels, for exact pixel checks. */
function tinySummary(): ModelSummary {
  const s = benchSummary('mobilenetv2');
  const layer = {
    ...s.analysis.layers.find((l) => l.kind === 'conv')!,
    id: 'probe',
    name: 'probe',
    outputShape: [32, 32, 2],
    inputs: [],
  };
  return { ...s, id: 'tiny', analysis: { ...s.analysis, input: [32, 32, 3], layers: [layer] }, frameOrder: ['probe'] };
}

beforeAll(async () => {
  dir = await buildRenderPage();
  const opened = await openRenderPage(dir, { width: 960, height: 600 });
  page = opened.page;
  close = opened.close;
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
});

afterAll(async () => {
  await close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Creates a scene on a fresh 960×600 canvas, loaded with `summary` and a synthetic frame per layer. */
async function load(summary: ModelSummary): Promise<SceneStats> {
  return page.evaluate((s) => {
    const w = window as Win;
    w.__scene?.dispose();
    document.body.innerHTML = '';
    const b = window.__renderBench!;
    const canvas = b.makeCanvas(960, 600);
    const { scene } = b.loadScene(canvas, s, 'light');
    w.__focusRequests = [];
    scene.onFocusRequest = (id) => w.__focusRequests!.push(id);
    w.__scene = scene;
    scene.renderNow();
    return scene.stats();
  }, summary);
}

const stats = (): Promise<SceneStats> => page.evaluate(() => (window as Win).__scene!.stats());

/** Waits until the scene has no frame scheduled and no glide or damping running (frames are slow here). */
async function waitIdle(): Promise<void> {
  await page.waitForFunction(() => (window as Win).__scene!.idle(), null, { timeout: 60_000, polling: 100 });
}

describe('scene on WebGL2', () => {
  it('draws every layer of MobileNetV2 with one draw call each plus a constant, and nothing while idle', async () => {
    const s = await load(mobilenet);
    expect(s.layers).toBe(mobilenet.frameOrder.length);
    expect(s.visibleLayers).toBe(s.layers); // the overview shows them all
    expect(s.drawCalls).toBeGreaterThanOrEqual(s.visibleLayers);
    expect(s.drawCalls).toBeLessThanOrEqual(s.visibleLayers + 5);
    expect(s.layerTextureBytes).toBe(s.activationValues); // one byte per value
    expect(s.programs).toBeLessThanOrEqual(4); // every layer shares one tile program
    expect(s.labels).toBeGreaterThan(0);
    expect(s.renderer).toMatch(/SwiftShader|ANGLE|\w/);
    // Focus a late layer: the camera glides there and the far blocks are culled.
    await page.evaluate(() => (window as Win).__scene!.setFocus('block_16_project', { animate: true }));
    await waitIdle();
    const focused = await stats();
    expect(focused.visibleLayers).toBeLessThan(s.visibleLayers);
    expect(focused.drawCalls).toBeLessThanOrEqual(focused.visibleLayers + 5);
    // Idle: no frame is drawn while nothing changes.
    const before = focused.framesRendered;
    await page.waitForTimeout(800);
    expect((await stats()).framesRendered).toBe(before);
    const label = await page.evaluate(
      () => document.querySelector('.fme-scene-label[data-layer-id="block_16_project"]')?.textContent ?? '',
    );
    expect(label).toContain('block_16_project');
    expect(errors).toEqual([]);
  });

  it('a new photo over the maps on screen: a software rasteriser paces it from the first frame, its last layer at once', async () => {
    await load(mobilenet);
    const r = await page.evaluate(async (summary) => {
      const sc = (window as Win).__scene!;
      const b = window.__renderBench!;
      const software = /swiftshader|llvmpipe|softpipe|software|basic render|\bwarp\b/i.test(sc.stats().renderer);
      // The first draw's fence has signalled by now: pacing knows what a draw of this scene costs.
      await new Promise((res) => setTimeout(res, 400));
      const shapes = new Map(summary.analysis.layers.map((l) => [l.id, l.outputShape] as const));
      const frame = (id: string, i: number) => {
        const sh = shapes.get(id)!;
        return b.syntheticFrame(id, i, sh.length === 3 ? [sh[0], sh[1], sh[2]] : [1, 1, sh[0]], i % 3 === 0);
      };
      const order = summary.frameOrder;
      const r0 = sc.stats().framesRendered;
      // The new photo's first layer's frame, then (as the engine's image reply may come after it) its input image.
      sc.addFrame(frame(order[0], 0));
      const pendingAtFirst = sc.pendingFrames();
      const [ih, iw] = summary.analysis.input;
      sc.setInputImage({ width: iw, height: ih, data: new Uint8ClampedArray(ih * iw * 4).fill(200) });
      await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
      const drawnAfterFirst = sc.stats().framesRendered - r0;
      // The rest of the pass, then its last layer.
      for (let i = 1; i < order.length - 1; i++) sc.addFrame(frame(order[i], i));
      sc.addFrame(frame(order[order.length - 1], order.length - 1));
      const t0 = performance.now();
      while (sc.pendingFrames() > 0 && performance.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 5));
      return {
        software,
        pendingAtFirst,
        drawnAfterFirst,
        lastShownMs: performance.now() - t0,
        pendingAtEnd: sc.pendingFrames(),
        drawn: sc.stats().framesRendered - r0,
      };
    }, mobilenet);
    if (r.software) {
      // The old maps stay up: the first frame waits (queued, not drawn) for a paced draw.
      expect(r.pendingAtFirst).toBe(1);
      expect(r.drawnAfterFirst).toBe(0);
    } else {
      expect(r.pendingAtFirst).toBe(0); // a GPU draws it at once
    }
    // The last layer's frame is drawn at once: within a few animation frames, not after the pacing interval.
    expect(r.pendingAtEnd).toBe(0);
    expect(r.drawn).toBeGreaterThanOrEqual(1);
    expect(r.drawn).toBeLessThanOrEqual(2);
    expect(errors).toEqual([]);
  });

  it("a new photo's pass whose last layer a draw asked for otherwise shows still ends there: the next is held as long as it took", async () => {
    await load(mobilenet);
    const r = await page.evaluate(async (summary) => {
      const sc = (window as Win).__scene!;
      const b = window.__renderBench!;
      const software = /swiftshader|llvmpipe|softpipe|software|basic render|\bwarp\b/i.test(sc.stats().renderer);
      await new Promise((res) => setTimeout(res, 400)); // the first draw's fence has signalled: its cost is known
      const shapes = new Map(summary.analysis.layers.map((l) => [l.id, l.outputShape] as const));
      const [ih, iw] = summary.analysis.input;
      const photo = (v: number) =>
        sc.setInputImage({ width: iw, height: ih, data: new Uint8ClampedArray(ih * iw * 4).fill(v) });
      /** A whole pass's frames; `then` runs in the same task as its last one. */
      const pass = async (then: () => void) => {
        summary.frameOrder.forEach((id, i) => {
          const sh = shapes.get(id)!;
          sc.addFrame(b.syntheticFrame(id, i, sh.length === 3 ? [sh[0], sh[1], sh[2]] : [1, 1, sh[0]], i % 2 === 0));
        });
        then();
        const t0 = performance.now();
        while (sc.pendingFrames() > 0 && performance.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 5));
        await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
      };
      // A photo's pass whose last frame comes with the prediction (as the engine's reply to the pass follows its
      // last frame): the prediction's draw shows the last layer.
      // Its clock starts after the photo is set: the scene starts the pass's there, after the pixels are built,
      // checked and placed, so that this is a lower bound on how long the scene measured the pass to take.
      photo(90);
      const photoAt = performance.now();
      let lastAt = 0;
      await pass(() => {
        sc.setPrediction(null);
        lastAt = performance.now();
      });
      const t = performance.now();
      photo(160);
      const held = b.softwareHoldEnd() - t;
      await pass(() => {});
      return { software, held, tookAtLeast: lastAt - photoAt, heldAfterLast: b.softwareHoldEnd() > performance.now() };
    }, mobilenet);
    // That pass took at least from its photo to its last frame; the next is held 1.5 times as long (at most 400 ms).
    if (r.software) expect(r.held).toBeGreaterThanOrEqual(Math.min(400, 1.5 * r.tookAtLeast));
    else expect(r.held).toBe(-Infinity);
    expect(r.heldAfterLast).toBe(false); // its last layer drawn: nothing is held any more
    expect(errors).toEqual([]);
  });

  it('colours real pixels through the LUT: per channel, per layer, diverging', async () => {
    await load(tinySummary());
    const probe = (opts: Record<string, string>) =>
      page.evaluate((o) => {
        const sc = (window as Win).__scene!;
        const b = window.__renderBench!;
        // Channel 0: every byte 255 of range [0, 1] → value 1; channel 1 reaches 2 (it sets the layer range).
        const f = b.syntheticFrame('probe', 0, [32, 32, 2], false);
        f.data.fill(255);
        f.min.set([0, 0]);
        f.max.set([1, 2]);
        sc.addFrame(f);
        sc.setOptions(o as never);
        const lay = sc.layout()!.byId.get('probe')!;
        sc.setView({ position: [lay.x, lay.y, 60], target: [lay.x, lay.y, 0] });
        sc.renderNow();
        const canvas = document.querySelector('canvas')!;
        const gl = canvas.getContext('webgl2')!;
        const px = new Uint8Array(4);
        gl.readPixels(canvas.width >> 1, canvas.height >> 1, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
        const r = canvas.getBoundingClientRect();
        return { px: Array.from(px), pick: sc.pick(r.left + r.width / 2, r.top + r.height / 2) };
      }, opts);
    const lut = (name: 'viridis' | 'diverging', i: number) => Array.from(COLOR_MAPS[name].lut.slice(i * 4, i * 4 + 3));
    const close3 = (a: number[], b: number[]) =>
      a.slice(0, 3).forEach((v, k) => expect(Math.abs(v - b[k])).toBeLessThanOrEqual(3));

    const perChannel = await probe({ colorMap: 'viridis', normalize: 'channel' });
    close3(perChannel.px, lut('viridis', 255));
    expect(perChannel.pick).toEqual({ layerId: 'probe', channel: 0, y: 16, x: 16 });
    close3((await probe({ colorMap: 'viridis', normalize: 'layer' })).px, lut('viridis', 128)); // 1 of [0, 2]
    close3((await probe({ colorMap: 'diverging', normalize: 'layer' })).px, lut('diverging', 191)); // 0.5 + 0.5·1/2
    expect(errors).toEqual([]);
  });

  it('double-click asks the app to focus the layer under the pointer; dragging orbits and then settles', async () => {
    await load(tinySummary());
    await page.evaluate(() => {
      const sc = (window as Win).__scene!;
      const b = window.__renderBench!;
      sc.addFrame(b.syntheticFrame('probe', 0, [32, 32, 2], false));
      const lay = sc.layout()!.byId.get('probe')!;
      sc.setView({ position: [lay.x, lay.y, 60], target: [lay.x, lay.y, 0] });
    });
    const box = (await page.locator('canvas').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    await page.mouse.dblclick(cx, cy);
    expect(await page.evaluate(() => (window as Win).__focusRequests)).toEqual(['probe']);
    const before = await page.evaluate(() => (window as Win).__scene!.view());
    const framesBefore = (await stats()).framesRendered;
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx + 120, cy + 30, { steps: 6 });
    await page.mouse.up();
    await waitIdle(); // damping runs out, then the scene stops drawing
    const after = await page.evaluate(() => (window as Win).__scene!.view());
    expect(after.position).not.toEqual(before.position);
    const settled = (await stats()).framesRendered;
    expect(settled).toBeGreaterThan(framesBefore);
    await page.waitForTimeout(500);
    expect((await stats()).framesRendered).toBe(settled);

    // Keyboard on the focused canvas: Shift+arrows orbit and stay in the scene; plain arrows reach the app.
    await page.evaluate(() => {
      const w = window as Win & { __appKeys?: number };
      w.__appKeys = 0;
      window.addEventListener('keydown', (e) => {
        if (e.key.startsWith('Arrow')) w.__appKeys!++;
      });
    });
    await page.locator('canvas').focus();
    const beforeKey = await page.evaluate(() => (window as Win).__scene!.view());
    await page.keyboard.press('Shift+ArrowLeft');
    await waitIdle();
    const afterKey = await page.evaluate(() => (window as Win).__scene!.view());
    expect(afterKey.position).not.toEqual(beforeKey.position);
    expect(afterKey.target).toEqual(beforeKey.target); // orbiting keeps the target
    await page.keyboard.press('ArrowLeft');
    expect(await page.evaluate(() => (window as Win & { __appKeys?: number }).__appKeys)).toBe(1);
  });

  it('draws a receptive field in two extra draw calls and removes it again', async () => {
    await load(tinySummary());
    const calls = await page.evaluate(() => {
      const sc = (window as Win).__scene!;
      sc.addFrame(window.__renderBench!.syntheticFrame('probe', 0, [32, 32, 2], false));
      sc.resetView({ animate: false });
      sc.renderNow();
      const plain = sc.stats().drawCalls;
      sc.showReceptiveField({
        layerId: 'probe',
        y: 1,
        x: 1,
        regions: [],
        image: { top: -2, left: -2, bottom: 5, right: 5, inputH: 32, inputW: 32 },
      });
      sc.renderNow();
      const withField = sc.stats().drawCalls;
      sc.showReceptiveField(null);
      sc.renderNow();
      // A late frame of another model is ignored (with a console warning), not drawn.
      sc.addFrame(window.__renderBench!.syntheticFrame('not-in-this-model', 0, [2, 2, 2], false));
      sc.renderNow();
      return [plain, withField, sc.stats().drawCalls, sc.stats().layers];
    });
    expect(calls[1]).toBe(calls[0] + 2);
    expect(calls[2]).toBe(calls[0]);
    expect(calls[3]).toBe(1);
  });

  it('returns renderer.info.memory to its baseline when models are replaced and when disposed', async () => {
    const tiny = tinySummary();
    const counts = await page.evaluate(
      ([mob, small]) => {
        const w = window as Win;
        w.__scene?.dispose();
        document.body.innerHTML = '';
        const b = window.__renderBench!;
        const canvas = b.makeCanvas(960, 600);
        const sc = b.createFeatureScene(canvas, { theme: 'dark', colorMap: 'auto', normalize: 'channel' });
        w.__scene = sc;
        const feed = (s: typeof mob) => {
          sc.setModel(s);
          const byId = new Map(s.analysis.layers.map((l) => [l.id, l]));
          s.frameOrder.forEach((id, i) => {
            const sh = byId.get(id)!.outputShape;
            sc.addFrame(b.syntheticFrame(id, i, sh.length === 3 ? [sh[0], sh[1], sh[2]] : [1, 1, sh[0]], i % 2 === 0));
          });
          sc.resetView({ animate: false });
          sc.renderNow();
          const { textures, geometries } = sc.stats();
          return { textures, geometries };
        };
        const empty = sc.stats();
        const first = feed(mob);
        feed(small);
        const again = feed(mob);
        sc.setModel(small);
        sc.renderNow();
        const noFrames = sc.stats();
        sc.dispose();
        const disposed = sc.stats();
        w.__scene = undefined;
        return { empty, first, again, noFrames, disposed };
      },
      [mobilenet, tiny] as const,
    );
    expect(counts.empty.textures).toBe(0);
    expect(counts.first.textures).toBeGreaterThan(mobilenet.frameOrder.length);
    expect(counts.again).toEqual(counts.first);
    // The baseline: the scene's two colour LUTs (kept across models); of the model only its outlines and edges.
    expect(counts.noFrames.textures).toBe(2);
    expect(counts.noFrames.geometries).toBe(2);
    expect(counts.disposed.textures).toBe(0);
    expect(counts.disposed.geometries).toBe(0);
    expect(errors).toEqual([]);
  });
});
