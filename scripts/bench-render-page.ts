/**
 * The page of the render benchmark (scripts/bench-render.ts builds it with vite into a temp folder):
 * the 3D scene alone on a canvas, fed synthetic frames shaped like a real model's layers. Frame bytes
 * are structured patterns, not real activations: rendering cost depends on shapes, not on values.
 */
import { createFeatureScene, type FeatureScene } from '../renderer/src/explorer/scene';
import { softwareHoldEnd } from '../renderer/src/explorer/scene/pacing';
import type { LayerFrame, ModelSummary } from '../common/engine-protocol';

/** What the benchmark measures for one model (one JSON line per model with --json). */
export interface RenderBenchResult {
  model: string;
  layers: number;
  visibleLayers: number;
  drawCalls: number;
  textureBytes: number;
  layerTextureBytes: number;
  activationValues: number;
  /** Tiles drawn at the overview after the level of detail (instances over all layers). */
  instances: number;
  idleFramesRendered: number;
  frameMsMedian: number;
  frameMsP95: number;
  rafMsMedian: number;
  uploadMs: number;
  texturesAfterDispose: number;
  geometriesAfterDispose: number;
  renderer: string;
  data: string;
  /** Blocks recognised in the model (Inception modules, residual blocks, dense layers, …; all depths). */
  blocks: number;
  /** Collapsed blocks inside the view at the overview (the app's default: large models open collapsed). */
  visibleBlocks: number;
  /** Skip and concatenation connectors drawn (incl. those in collapsed blocks' diagrams), in one draw call. */
  arcs: number;
  /** Labels shown at the overview (never overlapping). */
  labelsShown: number;
  /** Milliseconds to lay the model out (block recognition included), measured in the page. */
  layoutMs: number;
  /** Items drawn (layers and collapsed blocks). */
  items: number;
}

export interface RenderBenchOptions {
  width: number;
  height: number;
  orbitFrames: number;
  idleMs: number;
  theme: 'light' | 'dark';
}

/** Deterministic, structured bytes for one layer: stripes and blobs per channel, signed or not. */
export function syntheticFrame(
  layerId: string,
  index: number,
  shape: [number, number, number],
  signed: boolean,
): LayerFrame {
  const [h, w, c] = shape;
  const data = new Uint8Array(h * w * c);
  const min = new Float32Array(c);
  const max = new Float32Array(c);
  let seed = (index + 1) * 2654435761;
  const rand = (): number => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const rowWave = new Float32Array(h);
  const colWave = new Float32Array(w);
  for (let ch = 0; ch < c; ch++) {
    const fy = 0.05 + rand() * 0.6;
    const fx = 0.05 + rand() * 0.6;
    const py = rand() * 6.28;
    const px = rand() * 6.28;
    for (let y = 0; y < h; y++) rowWave[y] = Math.sin(y * fy + py);
    for (let x = 0; x < w; x++) colWave[x] = Math.cos(x * fx + px);
    const base = ch * h * w;
    for (let y = 0; y < h; y++) {
      const r = rowWave[y];
      const o = base + y * w;
      for (let x = 0; x < w; x++) data[o + x] = (127.5 + 127.4 * r * colWave[x]) | 0;
    }
    const scale = 0.5 + rand() * 4;
    min[ch] = signed ? -scale : 0;
    max[ch] = scale;
  }
  return { layerId, index, shape: [h, w, c], fullShape: [h, w, c], min, max, data };
}

function frameShape(outputShape: number[]): [number, number, number] {
  if (outputShape.length === 3) return [outputShape[0], outputShape[1], outputShape[2]];
  return [1, 1, outputShape.reduce((a, b) => a * b, 1)];
}

const nextFrame = (): Promise<number> => new Promise((r) => requestAnimationFrame(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))] ?? 0;
}

function makeCanvas(width: number, height: number): HTMLCanvasElement {
  const host = document.createElement('div');
  host.style.cssText = `position:relative;width:${width}px;height:${height}px`;
  const canvas = document.createElement('canvas');
  canvas.style.cssText = 'display:block;width:100%;height:100%';
  canvas.tabIndex = 0;
  host.appendChild(canvas);
  document.body.appendChild(host);
  return canvas;
}

/**
 * Builds a scene for `summary` with a synthetic frame for every layer and an input image. `blocks` as the
 * scene's option: 'open' (default here: every layer drawn, as the scene tests expect) or 'auto' (the app's view:
 * a large model opens with its blocks collapsed).
 */
export function loadScene(
  canvas: HTMLCanvasElement,
  summary: ModelSummary,
  theme: 'light' | 'dark',
  blocks: 'auto' | 'open' | 'collapsed' = 'open',
): { scene: FeatureScene; uploadMs: number } {
  const scene = createFeatureScene(canvas, { theme, colorMap: 'auto', normalize: 'channel', blocks });
  scene.setModel(summary);
  const [ih, iw] = summary.analysis.input;
  const img = new Uint8ClampedArray(ih * iw * 4);
  for (let i = 0; i < ih * iw; i++) {
    img[i * 4] = (i % iw) & 255;
    img[i * 4 + 1] = Math.floor(i / iw) & 255;
    img[i * 4 + 2] = 128;
    img[i * 4 + 3] = 255;
  }
  scene.setInputImage({ width: iw, height: ih, data: img });
  const byId = new Map(summary.analysis.layers.map((l) => [l.id, l] as const));
  const t0 = performance.now();
  summary.frameOrder.forEach((id, index) => {
    const l = byId.get(id);
    if (!l) return;
    scene.addFrame(syntheticFrame(id, index, frameShape(l.outputShape), l.kind !== 'activation' && l.kind !== 'pool'));
  });
  scene.renderNow(); // the uploads happen at the first render
  return { scene, uploadMs: performance.now() - t0 };
}

/** The benchmark of one model, run in the page. */
async function run(summary: ModelSummary, opts: RenderBenchOptions): Promise<RenderBenchResult> {
  const canvas = makeCanvas(opts.width, opts.height);
  const { scene, uploadMs } = loadScene(canvas, summary, opts.theme, 'auto');
  scene.resetView({ animate: false });
  await nextFrame();
  await nextFrame();
  scene.renderNow();
  const settled = scene.stats();
  // The layout's cost, measured again on its own: a fresh layout of the same model (recognition included).
  const layoutMs = settled.layoutMs;

  // Idle: nothing changes, so nothing may be drawn.
  const before = scene.stats().framesRendered;
  await sleep(opts.idleMs);
  const idleFramesRendered = scene.stats().framesRendered - before;

  // Orbit a quarter turn around the overview's target. Each frame: move, render, and wait for the GPU
  // (a 1-pixel readPixels) so the time includes the drawing, not just the command submission.
  const gl = canvas.getContext('webgl2') as WebGL2RenderingContext;
  const px = new Uint8Array(4);
  const start = scene.view();
  const off = start.position.map((v, i) => v - start.target[i]);
  const radius = Math.hypot(off[0], off[2]);
  const angle0 = Math.atan2(off[0], off[2]);
  const poseAt = (k: number) => {
    const a = angle0 + (k / opts.orbitFrames) * (Math.PI / 2);
    return {
      target: start.target,
      position: [start.target[0] + radius * Math.sin(a), start.position[1], start.target[2] + radius * Math.cos(a)] as [
        number,
        number,
        number,
      ],
    };
  };
  const frameMs: number[] = [];
  let drawCalls = settled.drawCalls;
  let visibleLayers = settled.visibleLayers;
  for (let k = 1; k <= opts.orbitFrames; k++) {
    scene.setView(poseAt(k));
    const t0 = performance.now();
    scene.renderNow();
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
    frameMs.push(performance.now() - t0);
    const s = scene.stats();
    drawCalls = Math.max(drawCalls, s.drawCalls);
    visibleLayers = Math.max(visibleLayers, s.visibleLayers);
  }
  // The same orbit paced by requestAnimationFrame, as a user would see it.
  const rafMs: number[] = [];
  let last = await nextFrame();
  for (let k = 0; k < Math.min(30, opts.orbitFrames); k++) {
    scene.setView(poseAt(opts.orbitFrames - k));
    const now = await nextFrame();
    rafMs.push(now - last);
    last = now;
  }
  const finalStats = scene.stats();
  scene.dispose();
  const after = scene.stats();
  canvas.parentElement?.remove();
  return {
    model: summary.id,
    layers: finalStats.layers,
    visibleLayers,
    drawCalls,
    textureBytes: finalStats.textureBytes,
    layerTextureBytes: finalStats.layerTextureBytes,
    activationValues: finalStats.activationValues,
    instances: settled.instances,
    idleFramesRendered,
    frameMsMedian: quantile(frameMs, 0.5),
    frameMsP95: quantile(frameMs, 0.95),
    rafMsMedian: quantile(rafMs, 0.5),
    uploadMs,
    texturesAfterDispose: after.textures,
    geometriesAfterDispose: after.geometries,
    renderer: finalStats.renderer,
    data: 'synthetic frames (structured patterns) shaped like the model’s layers',
    blocks: settled.blocks,
    visibleBlocks: settled.visibleBlocks,
    arcs: settled.arcs,
    labelsShown: settled.labelsShown,
    layoutMs,
    items: settled.items,
  };
}

/** Entry points the benchmark and the e2e test call through page.evaluate. */
export interface RenderBenchApi {
  run: typeof run;
  makeCanvas: typeof makeCanvas;
  loadScene: typeof loadScene;
  syntheticFrame: typeof syntheticFrame;
  createFeatureScene: typeof createFeatureScene;
  /** Until when the page holds a new photo's pass on a software rasteriser (pacing.ts). */
  softwareHoldEnd: typeof softwareHoldEnd;
}

declare global {
  interface Window {
    __renderBench?: RenderBenchApi;
  }
}

window.__renderBench = { run, makeCanvas, loadScene, syntheticFrame, createFeatureScene, softwareHoldEnd };
document.documentElement.dataset.ready = '1';
