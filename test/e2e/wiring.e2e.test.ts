/**
 * The wiring on real WebGL2 (Chromium, SwiftShader): the scene alone on the render-bench page, GoogLeNet,
 * ResNet-50 and DenseNet-121 laid out from their zoo graphs with synthetic frames. Screenshots are checked for
 * the connectors' own colours where the layout says they run (residual skip arcs, DenseNet's concatenation
 * connectors, a collapsed Inception module's wiring diagram), and the whole model's connectors cost one draw call.
 * Kept short: SwiftShader renders on the CPU.
 */
import { rmSync } from 'node:fs';
import { PNG } from 'pngjs';
import { PerspectiveCamera, Vector3 } from 'three';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../common/engine-protocol';
import type { FeatureScene } from '../../renderer/src/explorer/scene';
import { fitBox, OVERVIEW_DIRECTION, type Pose } from '../../renderer/src/explorer/scene/camera';
import { computeLayout, type SceneLayout } from '../../renderer/src/explorer/scene/layout';
import { THEMES } from '../../renderer/src/explorer/scene/theme';
import { benchSummary, buildRenderPage, openRenderPage } from '../../scripts/bench-render';

type Win = Window & { __scene?: FeatureScene };
const W = 960;
const H = 600;

let dir = '';
let page: Page;
let close: () => Promise<void> = async () => {};
const errors: string[] = [];

beforeAll(async () => {
  dir = await buildRenderPage();
  const opened = await openRenderPage(dir, { width: W, height: H });
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

/** Loads a model the way the app shows it (large models collapsed), opening `open` blocks; returns its layout. */
async function load(summary: ModelSummary, open: string[] = []): Promise<SceneLayout> {
  return page.evaluate(
    ([s, ids]) => {
      const w = window as Win;
      w.__scene?.dispose();
      document.body.innerHTML = '';
      const b = window.__renderBench!;
      const canvas = b.makeCanvas(960, 600);
      const { scene } = b.loadScene(canvas, s, 'light', 'auto');
      for (const id of ids) scene.setBlockOpen(id, true);
      w.__scene = scene;
      scene.renderNow();
      const lay = scene.layout()!;
      // Maps and Sets do not survive structured cloning as such: send what the test reads.
      return JSON.parse(
        JSON.stringify({
          ...lay,
          byId: [],
          itemOf: [],
          tree: { blocks: lay.tree.blocks },
          expanded: [...lay.expanded],
        }),
      ) as never;
    },
    [summary, open] as const,
  );
}

/** Points the camera at a box (world units) and returns the screenshot and the camera that took it. */
async function shoot(min: number[], max: number[]): Promise<{ png: PNG; camera: PerspectiveCamera }> {
  const pose: Pose = fitBox(min, max, OVERVIEW_DIRECTION, 35, W / H, 1.3);
  await page.evaluate((p) => {
    const sc = (window as Win).__scene!;
    sc.setView(p);
    sc.renderNow();
  }, pose);
  const png = PNG.sync.read(await page.screenshot({ clip: { x: 0, y: 0, width: W, height: H } }));
  const camera = new PerspectiveCamera(35, W / H, 0.1, 1e7);
  camera.position.set(...pose.position);
  camera.lookAt(new Vector3(...pose.target));
  camera.updateMatrixWorld();
  return { png, camera };
}

const hex = (h: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as never;

/** Share of `points` with a pixel of colour `rgb` (within `tol` per channel) within `radius` px. */
function coverage(
  png: PNG,
  camera: PerspectiveCamera,
  points: number[][],
  rgb: number[],
  radius = 3,
  tol = 40,
): number {
  let hit = 0;
  let seen = 0;
  for (const p of points) {
    const v = new Vector3(p[0], p[1], p[2] ?? 0).project(camera);
    const x = Math.round((v.x * 0.5 + 0.5) * W);
    const y = Math.round((-v.y * 0.5 + 0.5) * H);
    if (x < radius || y < radius || x >= W - radius || y >= H - radius) continue;
    seen++;
    let found = false;
    for (let dy = -radius; dy <= radius && !found; dy++)
      for (let dx = -radius; dx <= radius && !found; dx++) {
        const i = ((y + dy) * W + (x + dx)) * 4;
        const d = [0, 1, 2].map((k) => Math.abs(png.data[i + k] - rgb[k]));
        if (d.every((e) => e <= tol)) found = true;
      }
    if (found) hit++;
  }
  return seen ? hit / seen : 0;
}

function boxOf(points: number[][], pad: number): { min: number[]; max: number[] } {
  const min = [Infinity, Infinity, -pad];
  const max = [-Infinity, -Infinity, 1];
  for (const p of points) {
    min[0] = Math.min(min[0], p[0] - pad);
    min[1] = Math.min(min[1], p[1] - pad);
    max[0] = Math.max(max[0], p[0] + pad);
    max[1] = Math.max(max[1], p[1] + pad);
  }
  return { min, max };
}

describe('wiring on WebGL2', () => {
  it('ResNet-50: the skip arcs are drawn where the layout runs them, all in one draw call', async () => {
    const layout = await load(benchSummary('resnet50'));
    const skips = layout.arcs.filter((a) => a.kind === 'skip');
    expect(skips.length).toBeGreaterThanOrEqual(14);
    const stats = await page.evaluate(() => (window as Win).__scene!.stats());
    expect(stats.arcs).toBeGreaterThanOrEqual(skips.length);
    expect(stats.drawCalls).toBeLessThanOrEqual(stats.visibleLayers + stats.visibleBlocks + 7);
    // Three consecutive skips in view: their centre lines carry the skip colour.
    const pts = skips.slice(3, 6).flatMap((a) => a.points);
    const { min, max } = boxOf(pts, layout.gap * 4);
    const { png, camera } = await shoot(min, max);
    expect(coverage(png, camera, pts, hex(THEMES.light.skip))).toBeGreaterThan(0.8);
    // And not everywhere: away from the arcs (the middle of a block's maps), no skip colour.
    const block = layout.blocks[skips[4].to];
    const inside = [[block.x, block.y - block.height / 4, 0]];
    expect(coverage(png, camera, inside, hex(THEMES.light.skip), 1, 20)).toBe(0);
    // Opening a block and closing it again leaves the GPU as it was.
    const memory = await page.evaluate((id) => {
      // At the overview, so every item is in view (textures of culled items are never uploaded).
      const sc = (window as Win).__scene!;
      sc.resetView({ animate: false });
      sc.renderNow();
      const before = sc.stats();
      sc.setBlockOpen(id, true);
      sc.resetView({ animate: false });
      sc.renderNow();
      const open = sc.stats();
      sc.setBlockOpen(id, false);
      sc.resetView({ animate: false });
      sc.renderNow();
      const after = sc.stats();
      return { before, open, after };
    }, layout.blocks[skips[4].to].group!.id);
    expect(memory.open.items).toBeGreaterThan(memory.before.items);
    expect(memory.open.textures).toBeGreaterThan(memory.before.textures);
    expect(memory.after.textures).toBe(memory.before.textures);
    expect(memory.after.geometries).toBe(memory.before.geometries);
    expect(memory.after.layerTextureBytes).toBe(memory.before.layerTextureBytes);
    expect(errors).toEqual([]);
  });

  it('DenseNet-121: an open dense block shows each dense layer’s concatenation connectors', async () => {
    const s = benchSummary('densenet121');
    // The block ids, from the same recognition the scene runs (no need to load the model twice in the page).
    const rank = new Map(s.analysis.layers.map((l, i) => [l.id, i]));
    const block1 = computeLayout(s)
      .tree.blocks.filter((b) => b.kind === 'dense-block')
      .sort((a, b) => rank.get(a.output)! - rank.get(b.output)!)[0];
    const layout = await load(s, [block1.id]);
    const concat = layout.arcs.filter((a) => a.kind === 'concat' && a.block === block1.id);
    expect(concat.length).toBe(15);
    const pts = concat.flatMap((a) => a.points);
    const { min, max } = boxOf(pts, layout.gap * 3);
    const { png, camera } = await shoot(min, max);
    expect(coverage(png, camera, pts, hex(THEMES.light.concat))).toBeGreaterThan(0.7);
    expect(errors).toEqual([]);
  });

  it('GoogLeNet: a collapsed Inception module draws its four-branch diagram; opened, its branches stand in four lanes', async () => {
    const s = benchSummary('googlenet');
    const layout = await load(s);
    const item = layout.blocks.find((b) => b.group?.kind === 'inception')!;
    const d = item.group!.diagram;
    expect(new Set(d.rects.map((r) => ((r[1] + r[3]) / 2).toFixed(3))).size).toBe(4);
    const { png, camera } = await shoot([d.box[0], item.y - item.height / 2, -1], [d.box[2], d.box[3], 1]);
    // The diagram's inner edges (lines between the boxes) in the block colour.
    const mids = d.lines.map((l) => [(l[0] + l[2]) / 2, (l[1] + l[3]) / 2, 0.2]);
    expect(coverage(png, camera, mids, hex(THEMES.light.group), 2, 60)).toBeGreaterThan(0.6);
    const open = await load(s, [item.group!.id]);
    const lanes = new Set(open.blocks.filter((b) => b.id.startsWith(item.id + '_')).map((b) => b.lane));
    expect(lanes.size).toBe(4);

    // Stepping into a collapsed module opens it; stepping out closes it again; the one the user opened stays.
    const steps = await page.evaluate(() => {
      const sc = (window as Win).__scene!;
      const isOpen = (id: string) => sc.blocks()!.expanded.includes(id);
      sc.setFocus('inception4a_3x3_conv', { animate: false });
      const entered = isOpen('inception:inception4a') && !!sc.layout()!.byId.get('inception4a_3x3_conv');
      sc.setFocus('pool4', { animate: false });
      return { entered, left: !isOpen('inception:inception4a'), kept: isOpen('inception:inception3a') };
    });
    expect(steps).toEqual({ entered: true, left: true, kept: true });

    // While a pass streams: the first frame goes up at once, the rest wait for one draw that uploads them together.
    // On a GPU that draw is the next animation frame; here (SwiftShader, a software rasteriser) it may also wait for
    // the last draw's GPU time to be repaid (scene/pacing.ts), but it is still one draw for the whole batch.
    const batch = await page.evaluate(async () => {
      const sc = (window as Win).__scene!;
      const b = window.__renderBench!;
      const items = sc
        .layout()!
        .blocks.filter((x) => !x.vector)
        .slice(0, 12);
      sc.clearFrames();
      sc.renderNow();
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const r0 = sc.stats().framesRendered;
      items.forEach((it, i) => sc.addFrame(b.syntheticFrame(it.id, i, it.shape, false)));
      const pending = sc.pendingFrames();
      const t0 = performance.now();
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      while (sc.pendingFrames() > 0 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
      const st = sc.stats();
      return {
        pending,
        after: sc.pendingFrames(),
        rendered: st.framesRendered - r0,
        layers: st.layers,
        n: items.length,
      };
    });
    expect(batch.pending).toBe(batch.n - 1);
    expect(batch.after).toBe(0);
    expect(batch.layers).toBe(batch.n);
    expect(batch.rendered).toBe(1);
    expect(errors).toEqual([]);
  });
});
