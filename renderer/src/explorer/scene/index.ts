/**
 * The 3D explorer's scene, framework-free: the Vue app mounts it on a canvas (through `useScene`) and drives it
 * with `setModel`, `addFrame`, `setFocus`, … (STYLE.md #11–#13).
 *
 * - The layout follows the model's graph (layout.ts): branches side by side, skip arcs, concatenation
 *   connectors, blocks that open and close (`toggleBlock`; stepping into a collapsed block opens it).
 * - One draw call per visible item: a layer's C×H×W bytes live in one R8 DataArrayTexture (one byte per value)
 *   and its tiles are one InstancedMesh; a vector layer is one bar-chart strip; all outlines, all edges, all
 *   connectors, all block diagrams, the image and the receptive field (fills, lines) add at most seven more.
 *   Per-item frustum culling; a far stack draws fewer of its tiles (see `progressiveOrder`).
 * - Render on demand: nothing is drawn while nothing changes; while frames stream, the first is uploaded at
 *   once and later ones are batched into the next animation frame (one upload batch and one render per frame).
 * - Explicit GPU ownership: each model's resources are tracked in a ledger and freed when it is replaced.
 * - The what-if editor (`setEdit`, edit-view.ts): while an edit is open the wall shows the edited network's shapes,
 *   its changed layers framed and labelled, the layer where it breaks in red; the model's frames stay drawn only
 *   where they still show what the edited network computes, and come back when the edit goes.
 */
import {
  Color,
  DataTexture,
  Frustum,
  LinearFilter,
  Matrix4,
  Raycaster,
  RGBAFormat,
  Scene,
  UnsignedByteType,
  Vector2,
  WebGLRenderer,
} from 'three';
import type { LayerFrame, ModelSummary, Prediction } from '../../../../common/engine-protocol';
import { blocksToOpen, computeLayout, type LayoutOptions, type SceneLayout } from './layout';
import { itemMarks, type SceneEdit } from './edit-view';
import { focusViewPose, overviewPose, type Pose, type V3 } from './camera';
import { CameraRig } from './camera-rig';
import { COLOR_MAPS, type ColorMapName } from './colormaps';
import { InputImagePlane, checkPixels, type ScenePixels } from './input-image';
import { handleSceneKey } from './keyboard';
import { LabelOverlay, labelCandidates, placeLabels, type LabelTheme } from './labels';
import { GpuLedger } from './ledger';
import { ModelView, validateFrame } from './model-view';
import { pickBlocks } from './picking';
import { FieldObjects, fieldArrays, linearRgb, type ReceptiveFieldView } from './rf';
import { THEMES, type SceneColors } from './theme';
import { recognizeBlocks, type BlockTree } from '../../analysis/blocks';
import type { LayerMark } from '../../analysis/edit';
import { FENCE_POLL_MS, RenderPacer, isSoftwareRenderer } from './pacing';

export { COLOR_MAPS, colorMapFor, colorMapGradient, effectiveNormalize, type ColorMap } from './colormaps';
export { computeLayout, blockDepth, tileChannels, type BlockLayout, type SceneLayout } from './layout';
export type { ReceptiveFieldView } from './rf';
export { itemMarks, sceneEditFor, type EditState, type SceneEdit } from './edit-view';
export { THEMES, type SceneColors } from './theme';

export interface SceneOptions {
  theme: 'light' | 'dark';
  colorMap: 'viridis' | 'diverging' | 'auto';
  normalize: 'channel' | 'layer';
  /** Most tiles drawn per layer (deeper layers show an evenly spaced subset); default 64. */
  maxTiles?: number;
  /**
   * Which blocks a new model opens with: 'open' (the default: every layer drawn), 'auto' (what the app uses:
   * the blocks of a model with more than `DEFAULT_LAYOUT.collapseAbove` drawn layers start collapsed, so the
   * whole network fits on screen as its stages) or 'collapsed' (every block closed but nested models).
   */
  blocks?: 'auto' | 'open' | 'collapsed';
}

/** A unit under the pointer: layer, channel, and unit coords in the layer's full-resolution grid. */
export interface PickResult {
  layerId: string;
  channel: number;
  y: number;
  x: number;
  /** Set when the item under the pointer is a collapsed block (it shows its output layer `layerId`). */
  blockId?: string;
}

export interface SceneStats {
  /** Draw calls of the last rendered frame. */
  drawCalls: number;
  triangles: number;
  /** Textures and geometries on the GPU (renderer.info.memory). */
  textures: number;
  geometries: number;
  /** Bytes of every texture the scene owns (layer maps, colour LUTs, input image). */
  textureBytes: number;
  framesRendered: number;
  /** Layers with tiles inside the camera's frustum. */
  visibleLayers: number;
  /** Layers with tiles (frames received). */
  layers: number;
  /** GL renderer string (WEBGL_debug_renderer_info when available). */
  renderer: string;
  /** Items laid out (layers and collapsed blocks), with or without frames. */
  items: number;
  /** Blocks recognised in the model (Inception modules, residual blocks, …; all depths). */
  blocks: number;
  /** Collapsed blocks drawn inside the camera's frustum. */
  visibleBlocks: number;
  /** Skip and concatenation connectors drawn (incl. those in collapsed blocks' diagrams). */
  arcs: number;
  /** Milliseconds of the last layout (block recognition included on a new model). */
  layoutMs: number;
  /** Bytes of the layers' array textures alone, and the activation values they hold. */
  layerTextureBytes: number;
  activationValues: number;
  /** Linked shader programs. */
  programs: number;
  /** Labels currently shown. */
  labels: number;
  /** The same, under the name the benchmark reports. */
  labelsShown: number;
  /** Tiles (instances) drawn in the last frame, after the level of detail. */
  instances: number;
}

export interface FeatureScene {
  /** Lays out one block per layer of `summary.frameOrder`, disposing the previous model's GPU objects. */
  setModel(summary: ModelSummary): void;
  /** The model's input image, standing first on the path. */
  setInputImage(img: ScenePixels): void;
  /**
   * Uploads a layer's frame (one texture, one instanced mesh); replaces an earlier frame of that layer.
   * Throws for a malformed frame (message names the layer); a frame of a layer the model does not have
   * (a late frame of the previous model) is ignored with a console warning.
   */
  addFrame(frame: LayerFrame): void;
  /** Drops every layer's tiles, keeping the layout. */
  clearFrames(): void;
  /**
   * Highlights a layer and glides the camera to it with its neighbours in view (and the input image when a
   * receptive field is shown). A layer inside a collapsed block opens that block first. Null: no highlight.
   */
  setFocus(layerId: string | null, opts?: { animate?: boolean }): void;
  setOptions(opts: Partial<SceneOptions>): void;
  showReceptiveField(field: ReceptiveFieldView | null): void;
  /** The unit under a client-space point, or null. */
  pick(clientX: number, clientY: number): PickResult | null;
  /** The whole model in view (glides unless `animate: false`). */
  resetView(opts?: { animate?: boolean }): void;
  /** Follows the canvas's CSS size (call from a ResizeObserver). */
  resize(): void;
  /** Requests one render on the next animation frame. */
  invalidate(): void;
  /** Renders now, synchronously (tests, screenshots). */
  renderNow(): void;
  stats(): SceneStats;
  /** The current layout (null before setModel). */
  layout(): SceneLayout | null;
  /** Camera position and orbit target. */
  view(): Pose;
  /** True when no frame is scheduled and no glide or damping is running (tests, benchmarks). */
  idle(): boolean;
  /** Moves the camera (benchmarks, tests, restoring a view). */
  setView(pose: Pose): void;
  /** Called when a layer block is double-clicked. */
  onFocusRequest?: (layerId: string) => void;
  /** Opens a collapsed block in place, or closes an open one (relayout, camera stays). */
  toggleBlock(blockId: string): void;
  /** Opens (true) or closes (false) a block. */
  setBlockOpen(blockId: string, open: boolean): void;
  /** The recognised blocks of the current model and the ids of the open ones. */
  blocks(): { tree: BlockTree; expanded: string[] } | null;
  /** The output layer's prediction, shown on its label (top classes with probability); null hides it. */
  setPrediction(prediction: Prediction | null): void;
  /** Ids of the labels shown now (tests, e2e). */
  shownLabels(): string[];
  /** Frames received but not uploaded yet (they go up with the next animation frame). */
  pendingFrames(): number;
  /**
   * The what-if editor's view (edit-view.ts `sceneEditFor`): the edited network laid out with its marks, the model's
   * frames drawn only where `edit.stale` allows; null returns to the model as it is. A new model clears it.
   */
  setEdit(edit: SceneEdit | null): void;
  /** The marks drawn now, by item id (tests, e2e). */
  editMarks(): ReadonlyMap<string, LayerMark>;
  /** Frees everything; the canvas's WebGL context is released. */
  dispose(): void;
}

function checkOptions(opts: Partial<SceneOptions>, where: string): void {
  if (opts.theme !== undefined && opts.theme !== 'light' && opts.theme !== 'dark')
    throw new Error(`${where}: theme must be 'light' or 'dark', got ${String(opts.theme)}`);
  if (opts.colorMap !== undefined && !['viridis', 'diverging', 'auto'].includes(opts.colorMap)) {
    throw new Error(`${where}: colorMap must be 'viridis', 'diverging' or 'auto', got ${String(opts.colorMap)}`);
  }
  if (opts.normalize !== undefined && opts.normalize !== 'channel' && opts.normalize !== 'layer') {
    throw new Error(`${where}: normalize must be 'channel' or 'layer', got ${String(opts.normalize)}`);
  }
  if (opts.maxTiles !== undefined && !(Number.isInteger(opts.maxTiles) && opts.maxTiles >= 1)) {
    throw new Error(`${where}: maxTiles must be a positive integer, got ${String(opts.maxTiles)}`);
  }
  if (opts.blocks !== undefined && !['auto', 'open', 'collapsed'].includes(opts.blocks)) {
    throw new Error(`${where}: blocks must be 'auto', 'open' or 'collapsed', got ${String(opts.blocks)}`);
  }
}

function lutTexture(name: ColorMapName): DataTexture {
  const tex = new DataTexture(COLOR_MAPS[name].lut, 256, 1, RGBAFormat, UnsignedByteType);
  tex.magFilter = LinearFilter;
  tex.minFilter = LinearFilter;
  tex.generateMipmaps = false;
  tex.name = `lut:${name}`;
  tex.needsUpdate = true;
  return tex;
}

/** The WebGL2 renderer on `canvas`, its texture limits and GL renderer string. Throws a readable error without WebGL2. */
function createRenderer(canvas: HTMLCanvasElement): {
  renderer: WebGLRenderer;
  limits: { maxLayers: number; maxSize: number };
  name: string;
} {
  let renderer: WebGLRenderer;
  try {
    // Multisampling multiplies a software rasteriser's work per pixel (its draws run on the CPU the engine uses).
    const software = isSoftwareRenderer(probeRendererName() ?? '');
    renderer = new WebGLRenderer({ canvas, antialias: !software, powerPreference: 'high-performance' });
  } catch (e) {
    throw new Error(
      `The 3D view needs WebGL2, which is not available here (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const gl = renderer.getContext() as WebGL2RenderingContext;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return {
    renderer,
    limits: {
      maxLayers: gl.getParameter(gl.MAX_ARRAY_TEXTURE_LAYERS) as number,
      maxSize: renderer.capabilities.maxTextureSize,
    },
    name: String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER)),
  };
}

let probedName: string | null | undefined;
/**
 * The GL renderer string a WebGL2 context gets here, read from a throwaway canvas whose context is released at once
 * (context attributes such as antialias cannot change once the scene's canvas has a context); null without WebGL2.
 */
function probeRendererName(): string | null {
  if (probedName !== undefined) return probedName; // once per page: every scene (Compare's panes) asks
  probedName = probeOnce();
  return probedName;
}
function probeOnce(): string | null {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return name;
  } catch {
    return null;
  }
}

/** The prediction as one label line: the top three classes with their probability. */
export function predictionLine(p: Prediction): string {
  return p.top
    .slice(0, 3)
    .map((t) => `${t.label} ${(t.probability * 100).toFixed(t.probability >= 0.995 ? 0 : 1)}%`)
    .join(' · ');
}

/**
 * Frames that arrive while a render is already scheduled wait for it: one upload batch and one render per
 * animation frame while a pass streams, and the first frame of a burst is uploaded at once.
 */
class FrameQueue {
  private readonly pending = new Map<string, LayerFrame>();
  get size(): number {
    return this.pending.size;
  }
  has(layerId: string): boolean {
    return this.pending.has(layerId);
  }
  push(frame: LayerFrame): void {
    this.pending.set(frame.layerId, frame); // a newer frame of the same layer replaces a waiting one
  }
  drain(apply: (f: LayerFrame) => void): void {
    if (!this.pending.size) return;
    const frames = [...this.pending.values()];
    this.pending.clear();
    for (const f of frames) apply(f);
  }
  clear(): void {
    this.pending.clear();
  }
}

/** Creates the scene on `canvas` (WebGL2). Throws a readable error when WebGL2 is unavailable. */
export function createFeatureScene(canvas: HTMLCanvasElement, opts: SceneOptions): FeatureScene {
  checkOptions(opts, 'createFeatureScene');
  let options: SceneOptions = { maxTiles: 64, blocks: 'open', ...opts };
  let colors: SceneColors = THEMES[options.theme];
  const { renderer, limits, name: rendererName } = createRenderer(canvas);
  const gl = renderer.getContext() as WebGL2RenderingContext;
  const pacer = new RenderPacer({ software: isSoftwareRenderer(rendererName) });
  /** The fence after the last draw (software rasterisers only: pacing.ts) and its poll timer. */
  let fence: WebGLSync | null = null;
  let fenceTimer = 0;
  /** A paced draw waiting (frames only asked for it), and whether anything but arriving frames asked for a draw. */
  let paceTimer = 0;
  let wanted = false;
  /** Frames were applied to the model (the first of a burst at once, or a queue flushed by stats()), not drawn yet. */
  let applied = false;
  /** A new input image is placed and waits for a paced draw (software rasterisers: it comes with its pass's frames). */
  let imageWaiting = false;

  const scene = new Scene();
  scene.background = new Color(colors.background);
  const rig = new CameraRig(canvas);
  const { camera, controls } = rig;

  const shared = new GpuLedger();
  const luts: Record<ColorMapName, DataTexture> = {
    viridis: shared.track(lutTexture('viridis'), 'texture', 256 * 4),
    diverging: shared.track(lutTexture('diverging'), 'texture', 256 * 4),
  };
  const labelTheme = (): LabelTheme => ({
    text: colors.text,
    muted: colors.muted,
    halo: colors.background,
    accent: colors.focus,
    changed: colors.changed,
    broken: colors.broken,
  });
  const labels = new LabelOverlay(canvas, labelTheme());
  const imagePlane = new InputImagePlane(scene, shared);
  const queue = new FrameQueue();

  let summary: ModelSummary | null = null;
  /** The editor's view over `summary`, and the layers `summary` streams frames of. */
  let edit: SceneEdit | null = null;
  let streamed = new Set<string>();
  let marks: ReadonlyMap<string, LayerMark> = new Map();
  let model: ModelView | null = null;
  let tree: BlockTree | null = null;
  let expanded: Set<string> | null = null;
  /** Blocks opened by stepping into them (closed again when the focus leaves them). */
  const autoOpened = new Set<string>();
  let prediction: Prediction | null = null;
  const shapeOverrides = new Map<string, number[]>();
  let imageData: ScenePixels | null = null;
  let field: FieldObjects | null = null;
  let fieldView: ReceptiveFieldView | null = null;
  let raf = 0;
  let framesRendered = 0;
  let disposed = false;
  let contextLost = false;
  let lastLabelCount = 0;
  let layoutMs = 0;
  let finalStats: SceneStats | null = null;

  // ---- layout -------------------------------------------------------------------------------------------

  function layoutFor(s: Pick<ModelSummary, 'id' | 'analysis' | 'frameOrder'>): SceneLayout {
    const t0 = performance.now();
    const o: Partial<LayoutOptions> & { expanded?: ReadonlySet<string>; tree?: BlockTree } = {
      maxTiles: options.maxTiles,
    };
    if (tree) o.tree = tree;
    if (expanded) o.expanded = expanded;
    else if (options.blocks === 'collapsed') o.collapseAbove = 0;
    else if (options.blocks !== 'auto') o.collapseAbove = Infinity;
    // Shapes learnt from frames are the model's own; the edited network's come from its analysis alone.
    const lay = computeLayout(s, o, edit ? undefined : shapeOverrides);
    tree = lay.tree;
    expanded = lay.expanded;
    layoutMs = performance.now() - t0;
    return lay;
  }

  /** The network drawn: the model, or the editor's version of it. */
  function shown(): Pick<ModelSummary, 'id' | 'analysis' | 'frameOrder'> | null {
    if (!summary) return null;
    return edit ? { id: summary.id, analysis: edit.analysis, frameOrder: edit.frameOrder } : summary;
  }

  /** Lays the current model out again (blocks opened or closed, a shape learnt, tiles changed, an edit). */
  function relayout(): void {
    const s = shown();
    if (!model || !s) return;
    const lay = layoutFor(s);
    model.applyLayout(lay);
    marks = edit ? itemMarks(lay, edit.marks) : new Map();
    model.setMarks(marks);
    labels.setBlocks(lay.blocks);
    labels.setMarks(marks);
    showPrediction();
    imagePlane.place(imageData, lay.image);
    rebuildField();
    invalidate();
  }

  function showPrediction(): void {
    const lay = model?.currentLayout;
    const item = prediction && lay ? lay.itemOf.get(prediction.layerId) : undefined;
    labels.setExtra(item?.id ?? null, prediction && item ? predictionLine(prediction) : null);
  }

  function setBlockOpen(blockId: string, open: boolean): void {
    if (!tree || !expanded || !tree.byId.has(blockId)) return;
    autoOpened.delete(blockId); // the user's choice now: a later step does not close it
    if (open === expanded.has(blockId)) return;
    if (open) expanded.add(blockId);
    else expanded.delete(blockId);
    relayout();
  }

  // ---- rendering ----------------------------------------------------------------------------------------

  function invalidate(): void {
    wanted = true;
    schedule();
  }

  /** A draw for arriving frames only: on a software rasteriser it may wait (pacing.ts). */
  function invalidateFrames(): void {
    schedule();
  }

  function schedule(): void {
    if (disposed || raf) return;
    raf = requestAnimationFrame(frame);
  }

  /** The last layer of the network drawn is among the waiting frames: the pass is complete. */
  function finalQueued(): boolean {
    const order = shown()?.frameOrder;
    return !!order?.length && queue.has(order[order.length - 1]);
  }

  function afterDraw(): void {
    if (!pacer.software || contextLost) return;
    if (fence) gl.deleteSync(fence);
    fence = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl.flush();
    pacer.submitted(performance.now());
    if (!fenceTimer) fenceTimer = window.setTimeout(pollFence, FENCE_POLL_MS);
  }

  function pollFence(): void {
    fenceTimer = 0;
    if (!fence || disposed) return;
    if (contextLost || gl.getSyncParameter(fence, gl.SYNC_STATUS) === gl.SIGNALED) {
      pacer.completed(performance.now());
      if (!contextLost) gl.deleteSync(fence);
      fence = null;
      return;
    }
    fenceTimer = window.setTimeout(pollFence, FENCE_POLL_MS);
  }

  function glideTo(to: Pose, animate: boolean): void {
    const lay = model?.currentLayout;
    const size = lay ? Math.hypot(lay.bounds.max[0] - lay.bounds.min[0], lay.bounds.max[1] - lay.bounds.min[1]) : 1;
    rig.glideTo(to, animate && !!lay, size);
    invalidate();
  }

  function frame(now: number): void {
    raf = 0;
    if (disposed) return;
    if (!wanted && !rig.gliding) {
      if (!queue.size && !applied && !imageWaiting) return; // a paced draw whose frames another draw has shown already
      const wait = queue.size || imageWaiting ? pacer.wait(performance.now(), finalQueued()) : 0;
      if (wait > 0) {
        if (!paceTimer)
          paceTimer = window.setTimeout(() => {
            paceTimer = 0;
            invalidateFrames();
          }, wait);
        return;
      }
    } else if (finalQueued()) pacer.finished(performance.now()); // the pass's last layer, in a draw asked for otherwise
    wanted = false;
    if (paceTimer) {
      clearTimeout(paceTimer);
      paceTimer = 0;
    }
    flushFrames();
    const moving = rig.step(now);
    draw();
    if (moving) invalidate();
  }

  function draw(): void {
    if (contextLost) return;
    const lay = model?.currentLayout;
    if (lay) rig.fitClip(lay.bounds, lay.rowGap + lay.depthUnit * 12);
    if (model) {
      camera.updateMatrixWorld();
      model.applyDetail(camera.position.toArray() as V3, focalPx());
    }
    renderer.render(scene, camera);
    applied = imageWaiting = false;
    afterDraw();
    framesRendered++;
    updateLabels();
  }

  /**
   * The canvas's CSS size, read once and again only at resize(): reading clientWidth/clientHeight at every draw
   * forced a layout while frames streamed in (the owner calls resize() from a ResizeObserver).
   */
  let cssSizeCache: { w: number; h: number } | null = null;
  function cssSize(): { w: number; h: number } {
    if (cssSizeCache) return cssSizeCache;
    const size = { w: canvas.clientWidth, h: canvas.clientHeight };
    if (size.w > 0 && size.h > 0) cssSizeCache = size;
    return size;
  }

  /** Pixels per world unit at distance 1 (CSS px). */
  function focalPx(): number {
    return rig.focalPx(cssSize().h);
  }

  function updateLabels(): void {
    const lay = model?.currentLayout;
    if (!lay) return;
    camera.updateMatrixWorld();
    const vp = new Matrix4().multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse);
    const focus = model?.focus ?? null;
    const { w, h } = cssSize();
    const { candidates, anchors } = labelCandidates(
      lay,
      {
        viewProjection: vp.elements,
        view: camera.matrixWorldInverse.elements,
        width: w,
        height: h,
        focalPx: focalPx(),
        near: camera.near,
      },
      (id) => labels.sizeOf(id),
      focus,
      new Set(marks.keys()),
    );
    const placed = placeLabels(candidates, w, h);
    const states = new Map<string, 'focus' | 'ghost' | 'normal'>();
    for (const id of placed) states.set(id, id === focus ? 'focus' : model?.layer(id) ? 'normal' : 'ghost');
    lastLabelCount = placed.size;
    labels.show(anchors, placed, states);
  }

  function frustum(): Frustum {
    camera.updateMatrixWorld();
    return new Frustum().setFromProjectionMatrix(
      new Matrix4().multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse),
    );
  }

  function countVisible(): { layers: number; blocks: number } {
    if (!model) return { layers: 0, blocks: 0 };
    const f = frustum();
    let layers = 0;
    for (const m of model.meshes()) if (f.intersectsObject(m)) layers++;
    let blocks = 0;
    for (const b of model.currentLayout.blocks) {
      if (!b.group) continue;
      const min = [b.x - b.width / 2, b.y - b.height / 2, -b.depth];
      const max = [b.x + b.width / 2, b.group.diagram.box[3], 0];
      const box = { min: { x: min[0], y: min[1], z: min[2] }, max: { x: max[0], y: max[1], z: max[2] } };
      if (f.intersectsBox(box as never)) blocks++;
    }
    return { layers, blocks };
  }

  function rebuildField(): void {
    if (field) {
      field.dispose();
      field = null;
    }
    const lay = model?.currentLayout;
    if (!fieldView || !lay) return;
    // A field on a layer inside a collapsed block is drawn on the block's item only when it is that layer.
    if (!lay.byId.has(fieldView.layerId)) return;
    const arrays = fieldArrays(lay, fieldView, { field: linearRgb(colors.field), padding: linearRgb(colors.padding) });
    if (!arrays) return;
    field = new FieldObjects(arrays);
    scene.add(field.group);
  }

  // ---- model and frames ---------------------------------------------------------------------------------

  function setModel(s: ModelSummary): void {
    if (disposed) throw new Error('FeatureScene: setModel after dispose');
    if (!s || !s.analysis || !Array.isArray(s.analysis.layers) || !Array.isArray(s.frameOrder)) {
      throw new Error(`setModel: model "${s?.id ?? '?'}" has no analysis layers or frame order`);
    }
    model?.dispose();
    model = null;
    queue.clear();
    fieldView = null;
    rebuildField();
    shapeOverrides.clear();
    tree = null;
    expanded = null;
    autoOpened.clear();
    prediction = null;
    summary = s;
    edit = null;
    marks = new Map();
    streamed = new Set(s.frameOrder);
    labels.setMarks(marks);
    const lay = layoutFor(s);
    for (const w of lay.warnings) console.warn(`Feature scene (${s.id}): ${w}`);
    for (const w of lay.tree.warnings) console.warn(`Feature scene (${s.id}): ${w}`);
    model = new ModelView(lay, { luts, limits, colors, colorMap: options.colorMap, normalize: options.normalize });
    scene.add(model.group);
    labels.setBlocks(lay.blocks);
    labels.setExtra(null, null);
    imagePlane.place(imageData, lay.image);
    // Zooming out stops well past the overview, so the model cannot be lost in the void.
    const o = overviewPose(lay, camera.fov, camera.aspect);
    controls.maxDistance = 4 * Math.hypot(...o.position.map((v, i) => v - o.target[i]));
    controls.minDistance = 0.5;
    resetView({ animate: false });
  }

  /** Uploads one frame now (after the checks of `addFrame`). */
  function applyFrame(f: LayerFrame): void {
    if (!model || !summary) return;
    const mismatch = model.shapeMismatch(f);
    if (mismatch && edit) {
      // The edited network's shape stands: the frame is the original's and waits until the edit goes.
      model.keep(f);
      return;
    }
    if (mismatch) {
      // The analysis did not know this layer's shape: lay the model out again with the frame's.
      shapeOverrides.set(f.layerId, mismatch);
      relayout();
    }
    model.addFrame(f);
  }

  /** A draw is scheduled or paced, or frames wait for one: what arrives now joins it. */
  function drawPending(): boolean {
    return !!raf || queue.size > 0 || !!paceTimer;
  }

  /** Applies the waiting frames to the model (drawn by the next draw: `applied`). */
  function flushFrames(): void {
    if (!queue.size) return;
    queue.drain(applyFrame);
    applied = true;
  }

  function addFrame(f: LayerFrame): void {
    if (disposed) throw new Error('FeatureScene: addFrame after dispose');
    if (!model || !summary) throw new Error(`addFrame: frame of layer "${f.layerId}" arrived before any model was set`);
    const lay = model.currentLayout;
    if (!lay.byId.has(f.layerId) && !lay.itemOf.has(f.layerId) && edit && streamed.has(f.layerId)) {
      // A layer of the model that the edited network drawn now does not have: kept for when the edit goes.
      model.keep(f);
      return;
    }
    if (!lay.byId.has(f.layerId) && !lay.itemOf.has(f.layerId)) {
      // A late frame of the previous model (streams race model switches): say so, draw nothing.
      console.warn(
        `Feature scene: frame of layer "${f.layerId}" ignored: model "${summary.id}" has no such layer in its frame order`,
      );
      return;
    }
    validateFrame(f); // a malformed frame throws here, naming the layer, not later inside a render
    if (drawPending()) queue.push(f);
    else if (pacer.software && model.frameOf(f.layerId)) {
      // A new photo's first frame over the last one's maps: paced like the rest (pacing.ts, hold).
      pacer.hold(performance.now());
      queue.push(f);
    } else {
      applyFrame(f);
      applied = true;
    }
    invalidateFrames();
  }

  function resetView(o?: { animate?: boolean }): void {
    const lay = model?.currentLayout;
    if (!lay) return;
    glideTo(overviewPose(lay, camera.fov, camera.aspect), o?.animate ?? true);
  }

  function setFocus(layerId: string | null, o?: { animate?: boolean }): void {
    if (!model) return;
    if (tree && expanded) {
      // Stepping into a collapsed block opens it; stepping out closes again the blocks a step opened (blocks the
      // user opened stay open).
      const around = new Set<string>();
      for (let id = layerId ? (tree.blockOf.get(layerId) ?? null) : null; id; id = tree.byId.get(id)?.parent ?? null)
        around.add(id);
      let changed = false;
      for (const id of [...autoOpened])
        if (!around.has(id)) {
          autoOpened.delete(id);
          if (expanded.delete(id)) changed = true;
        }
      for (const id of layerId ? blocksToOpen(tree, expanded, layerId) : []) {
        expanded.add(id);
        autoOpened.add(id);
        changed = true;
      }
      if (changed) relayout();
    }
    const lay = model.currentLayout;
    const item = layerId ? (lay.byId.get(layerId) ?? lay.itemOf.get(layerId)) : undefined;
    model.setFocus(item?.id ?? null);
    if (item)
      glideTo(
        focusViewPose(lay, item.index, camera.fov, camera.aspect, { withImage: !!fieldView }),
        o?.animate ?? true,
      );
    else invalidate();
  }

  function pick(clientX: number, clientY: number): PickResult | null {
    if (!model || disposed) return null;
    const rect = canvas.getBoundingClientRect();
    if (rect.width <= 0 || rect.height <= 0) return null;
    const ndc = new Vector2(
      ((clientX - rect.left) / rect.width) * 2 - 1,
      -((clientY - rect.top) / rect.height) * 2 + 1,
    );
    camera.updateMatrixWorld();
    const ray = new Raycaster();
    ray.setFromCamera(ndc, camera);
    const o = ray.ray.origin;
    const d = ray.ray.direction;
    const hit = pickBlocks([o.x, o.y, o.z], [d.x, d.y, d.z], model.drawnBlocks());
    if (!hit) return null;
    const group = model.currentLayout.byId.get(hit.layerId)?.group;
    return {
      layerId: hit.layerId,
      channel: hit.channel,
      y: hit.y,
      x: hit.x,
      ...(group ? { blockId: group.id } : {}),
    };
  }

  function resize(): void {
    if (disposed) return;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (w <= 0 || h <= 0) return;
    cssSizeCache = { w, h };
    renderer.setPixelRatio(Math.min(2, globalThis.devicePixelRatio || 1));
    renderer.setSize(w, h, false);
    rig.setAspect(w / h);
    labels.fit();
    invalidate();
  }

  // ---- input --------------------------------------------------------------------------------------------

  function onKeyDown(e: KeyboardEvent): void {
    handleSceneKey(e, {
      camera,
      controls,
      resetView: () => resetView(),
      refocus: () => {
        if (model?.focus) setFocus(model.focus);
      },
      moved: () => {
        rig.stopGlide();
        controls.update();
        invalidate();
      },
    });
  }

  function onDoubleClick(e: MouseEvent): void {
    const hit = pick(e.clientX, e.clientY);
    if (hit) {
      e.preventDefault();
      api.onFocusRequest?.(hit.layerId);
    }
  }

  function onContextLost(e: Event): void {
    e.preventDefault(); // lets the browser restore the context
    contextLost = true;
    fence = null; // gone with the context
    pacer.completed(performance.now());
  }
  function onContextRestored(): void {
    contextLost = false;
    invalidate();
  }

  const onControlsChange = (): void => invalidate();
  const onControlsStart = (): void => {
    rig.stopGlide(); // the user takes over from a glide
  };
  controls.addEventListener('change', onControlsChange);
  controls.addEventListener('start', onControlsStart);
  canvas.addEventListener('keydown', onKeyDown);
  canvas.addEventListener('dblclick', onDoubleClick);
  canvas.addEventListener('webglcontextlost', onContextLost);
  canvas.addEventListener('webglcontextrestored', onContextRestored);

  function stats(): SceneStats {
    if (finalStats) return finalStats;
    flushFrames();
    const info = renderer.info;
    const visible = countVisible();
    return {
      drawCalls: info.render.calls,
      triangles: info.render.triangles,
      textures: info.memory.textures,
      geometries: info.memory.geometries,
      textureBytes: shared.bytes + (model?.textureBytes ?? 0),
      framesRendered,
      visibleLayers: visible.layers,
      layers: model?.layerCount ?? 0,
      renderer: rendererName,
      items: model?.currentLayout.blocks.length ?? 0,
      blocks: tree?.blocks.length ?? 0,
      visibleBlocks: visible.blocks,
      arcs: model?.connectors ?? 0,
      layoutMs,
      layerTextureBytes: model?.textureBytes ?? 0,
      activationValues: model?.values ?? 0,
      programs: info.programs?.length ?? 0,
      labels: lastLabelCount,
      labelsShown: lastLabelCount,
      instances: model?.instances ?? 0,
    };
  }

  function setEdit(next: SceneEdit | null): void {
    if (disposed) throw new Error('FeatureScene: setEdit after dispose');
    if (!model || !summary || next === edit) return;
    const before = shown()!.analysis;
    edit = next;
    const after = shown()!.analysis;
    if (after !== before) {
      // Another network drawn: its blocks are recognised anew; blocks open before stay open where they exist.
      const open = expanded;
      tree = recognizeBlocks(after.layers);
      const t = tree;
      expanded = open ? new Set([...open].filter((id) => t.byId.has(id))) : null;
      autoOpened.clear();
    }
    model.setStale(edit?.stale ?? new Set());
    relayout();
  }

  const api: FeatureScene = {
    setModel,
    setEdit,
    editMarks: () => marks,
    setInputImage(img) {
      if (disposed) throw new Error('FeatureScene: setInputImage after dispose');
      const replacing = imageData !== null;
      imageData = checkPixels(img, 'setInputImage');
      imagePlane.place(imageData, model?.currentLayout.image ?? null);
      if (pacer.software && replacing) {
        // A new photo over the last one: on a software rasteriser it is drawn with its pass's frames (pacing.ts),
        // held as long as the last pass took where this model's maps are up (a new model's are drawn as they come).
        if (model?.hasFrames) pacer.hold(performance.now(), { burst: true });
        else if (!drawPending()) pacer.hold(performance.now());
        imageWaiting = true;
        invalidateFrames();
      } else invalidate();
    },
    addFrame,
    clearFrames() {
      queue.clear();
      model?.forgetFrames();
      invalidate();
    },
    setFocus,
    setOptions(o) {
      checkOptions(o, 'setOptions');
      const themeChanged = o.theme !== undefined && o.theme !== options.theme;
      const tilesChanged = o.maxTiles !== undefined && o.maxTiles !== options.maxTiles;
      options = { ...options, ...o };
      colors = THEMES[options.theme];
      if (themeChanged) {
        (scene.background as Color).set(colors.background);
        labels.setTheme(labelTheme());
        rebuildField();
      }
      if (tilesChanged) relayout();
      model?.setContext({ colors, colorMap: options.colorMap, normalize: options.normalize });
      invalidate();
    },
    showReceptiveField(view) {
      const same = JSON.stringify(view) === JSON.stringify(fieldView);
      if (same) return;
      fieldView = view;
      rebuildField();
      invalidate();
    },
    pick,
    resetView,
    resize,
    invalidate,
    renderNow() {
      if (disposed) return;
      flushFrames();
      controls.update();
      draw();
    },
    stats,
    layout: () => model?.currentLayout ?? null,
    view: () => rig.pose(),
    idle: () => raf === 0 && paceTimer === 0 && !rig.gliding && queue.size === 0,
    setView(pose) {
      rig.set(pose);
      invalidate();
    },
    toggleBlock(id) {
      if (expanded) setBlockOpen(id, !expanded.has(id));
    },
    setBlockOpen,
    blocks: () => (tree && expanded ? { tree, expanded: [...expanded] } : null),
    setPrediction(p) {
      prediction = p;
      showPrediction();
      invalidate();
    },
    shownLabels: () => labels.shownIds(),
    pendingFrames: () => queue.size,
    dispose() {
      if (disposed) return;
      if (raf) cancelAnimationFrame(raf);
      raf = 0;
      clearTimeout(paceTimer);
      clearTimeout(fenceTimer);
      paceTimer = fenceTimer = 0;
      if (fence && !contextLost) gl.deleteSync(fence);
      fence = null;
      queue.clear();
      controls.removeEventListener('change', onControlsChange);
      controls.removeEventListener('start', onControlsStart);
      canvas.removeEventListener('keydown', onKeyDown);
      canvas.removeEventListener('dblclick', onDoubleClick);
      canvas.removeEventListener('webglcontextlost', onContextLost);
      canvas.removeEventListener('webglcontextrestored', onContextRestored);
      rig.dispose();
      field?.dispose();
      field = null;
      model?.dispose();
      model = null;
      imagePlane.remove();
      shared.releaseAll();
      labels.dispose();
      renderer.renderLists.dispose();
      finalStats = { ...stats(), visibleLayers: 0, visibleBlocks: 0 };
      disposed = true;
      renderer.dispose();
      // Browsers cap live WebGL contexts; a disposed scene gives its context back now, not at GC.
      renderer.forceContextLoss();
    },
  };

  resize();
  return api;
}
