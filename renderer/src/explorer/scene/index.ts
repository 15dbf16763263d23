/**
 * The 3D explorer's scene, framework-free: the Vue app mounts it on a canvas and drives it with
 * `setModel`, `addFrame`, `setFocus`, … (STYLE.md #11–#13).
 *
 * - One draw call per visible layer: a layer's C×H×W bytes live in one R8 DataArrayTexture (one byte per
 *   value) and its tiles are one InstancedMesh; all outlines, all edges, the image and the receptive
 *   field (fills, lines) add at most five more. Per-layer frustum culling through each mesh's bounding
 *   sphere; a far stack draws fewer of its tiles (spread over its whole depth, see `progressiveOrder`).
 * - Render on demand: nothing is drawn while nothing changes; camera damping and focus glides render
 *   frame by frame only until they settle.
 * - Explicit GPU ownership: each model's resources are tracked in a ledger and freed when it is replaced.
 */
import {
  Color,
  DataTexture,
  Frustum,
  LinearFilter,
  Matrix4,
  Mesh,
  MeshBasicMaterial,
  PerspectiveCamera,
  PlaneGeometry,
  Raycaster,
  RGBAFormat,
  SRGBColorSpace,
  Scene,
  Spherical,
  UnsignedByteType,
  Vector2,
  Vector3,
  WebGLRenderer,
} from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { LayerFrame, ModelSummary } from '../../engine/protocol';
import { clipPlanes, easeInOutCubic, focusPose, glideMs, lerpPose, overviewPose, type Pose, type V3 } from './camera';
import { COLOR_MAPS, type ColorMapName } from './colormaps';
import { LabelOverlay, placeLabels, type LabelCandidate } from './labels';
import { computeLayout, type LayoutOptions, type SceneLayout } from './layout';
import { GpuLedger } from './ledger';
import { ModelView } from './model-view';
import { pickBlocks } from './picking';
import { FieldObjects, fieldArrays, linearRgb, type ReceptiveFieldView } from './rf';
import { THEMES, type SceneColors } from './theme';

export { COLOR_MAPS, colorMapFor, colorMapGradient, type ColorMap } from './colormaps';
export { computeLayout, blockDepth, tileChannels, type BlockLayout, type SceneLayout } from './layout';
export type { ReceptiveFieldView } from './rf';
export { THEMES, type SceneColors } from './theme';

export interface SceneOptions {
  theme: 'light' | 'dark';
  colorMap: 'viridis' | 'diverging' | 'auto';
  normalize: 'channel' | 'layer';
  /** Most tiles drawn per layer (deeper layers show an evenly spaced subset); default 64. */
  maxTiles?: number;
}

/** A unit under the pointer: layer, channel, and unit coords in the layer's full-resolution grid. */
export interface PickResult {
  layerId: string;
  channel: number;
  y: number;
  x: number;
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
  /** Blocks laid out (frame order), with or without frames. */
  blocks: number;
  /** Bytes of the layers' array textures alone, and the activation values they hold. */
  layerTextureBytes: number;
  activationValues: number;
  /** Linked shader programs. */
  programs: number;
  /** Labels currently shown. */
  labels: number;
  /** Tiles (instances) drawn in the last frame, after the level of detail. */
  instances: number;
}

export interface FeatureScene {
  /** Lays out one block per layer of `summary.frameOrder`, disposing the previous model's GPU objects. */
  setModel(summary: ModelSummary): void;
  /** The model's input image, standing first on the path. */
  setInputImage(img: { width: number; height: number; data: Uint8ClampedArray }): void;
  /**
   * Uploads a layer's frame (one texture, one instanced mesh); replaces an earlier frame of that layer.
   * Throws for a malformed frame (message names the layer); a frame of a layer the model does not have
   * (a late frame of the previous model) is ignored with a console warning.
   */
  addFrame(frame: LayerFrame): void;
  /** Drops every layer's tiles, keeping the layout. */
  clearFrames(): void;
  /** Highlights a layer and glides the camera to it (null: no highlight, camera stays). */
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
  /** Frees everything; the canvas's WebGL context is released. */
  dispose(): void;
}

const FOV = 35;

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

/** Creates the scene on `canvas` (WebGL2). Throws a readable error when WebGL2 is unavailable. */
export function createFeatureScene(canvas: HTMLCanvasElement, opts: SceneOptions): FeatureScene {
  checkOptions(opts, 'createFeatureScene');
  let options: SceneOptions = { maxTiles: 64, ...opts };
  let colors: SceneColors = THEMES[options.theme];

  let renderer: WebGLRenderer;
  try {
    renderer = new WebGLRenderer({ canvas, antialias: true, powerPreference: 'high-performance' });
  } catch (e) {
    throw new Error(
      `The 3D view needs WebGL2, which is not available here (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const gl = renderer.getContext() as WebGL2RenderingContext;
  const limits = {
    maxLayers: gl.getParameter(gl.MAX_ARRAY_TEXTURE_LAYERS) as number,
    maxSize: renderer.capabilities.maxTextureSize,
  };
  const rendererName = (() => {
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  })();

  const scene = new Scene();
  scene.background = new Color(colors.background);
  const camera = new PerspectiveCamera(FOV, 1, 0.1, 1e5);
  camera.position.set(0, 0, 500);
  const controls = new OrbitControls(camera, canvas);
  controls.enableDamping = true;
  controls.dampingFactor = 0.15;
  controls.screenSpacePanning = true;
  controls.zoomToCursor = true;
  controls.rotateSpeed = 0.8;

  const shared = new GpuLedger();
  const luts: Record<ColorMapName, DataTexture> = {
    viridis: shared.track(lutTexture('viridis'), 'texture', 256 * 4),
    diverging: shared.track(lutTexture('diverging'), 'texture', 256 * 4),
  };
  const labels = new LabelOverlay(canvas, {
    text: colors.text,
    muted: colors.muted,
    halo: colors.background,
    accent: colors.focus,
  });

  let summary: ModelSummary | null = null;
  let model: ModelView | null = null;
  const shapeOverrides = new Map<string, number[]>();
  let image: { mesh: Mesh; geometry: PlaneGeometry; material: MeshBasicMaterial; texture: DataTexture } | null = null;
  let imageData: { width: number; height: number; data: Uint8ClampedArray } | null = null;
  let field: FieldObjects | null = null;
  let fieldView: ReceptiveFieldView | null = null;
  let anim: { from: Pose; to: Pose; start: number; duration: number } | null = null;
  let raf = 0;
  let framesRendered = 0;
  let disposed = false;
  let contextLost = false;
  let lastLabelCount = 0;
  let finalStats: SceneStats | null = null;
  const reducedMotion = typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;

  const layoutOptions = (): Partial<LayoutOptions> => ({ maxTiles: options.maxTiles });

  function invalidate(): void {
    if (disposed || raf) return;
    raf = requestAnimationFrame(frame);
  }

  function applyPose(p: Pose): void {
    camera.position.set(...p.position);
    controls.target.set(...p.target);
    camera.lookAt(controls.target);
  }

  function currentPose(): Pose {
    return { position: camera.position.toArray() as V3, target: controls.target.toArray() as V3 };
  }

  function glideTo(to: Pose, animate: boolean): void {
    const lay = model?.currentLayout;
    if (!animate || reducedMotion || !lay) {
      anim = null;
      applyPose(to);
    } else {
      const from = currentPose();
      const size = Math.hypot(lay.bounds.max[0] - lay.bounds.min[0], lay.bounds.max[1] - lay.bounds.min[1]);
      anim = { from, to, start: performance.now(), duration: glideMs(from, to, size) };
    }
    controls.update();
    invalidate();
  }

  function frame(now: number): void {
    raf = 0;
    if (disposed) return;
    let moving = false;
    if (anim) {
      const t = (now - anim.start) / anim.duration;
      applyPose(lerpPose(anim.from, anim.to, easeInOutCubic(t)));
      if (t < 1) moving = true;
      else anim = null;
    }
    if (controls.update()) moving = true;
    draw();
    if (moving) invalidate();
  }

  function draw(): void {
    if (contextLost) return;
    const lay = model?.currentLayout;
    if (lay) {
      const { near, far } = clipPlanes(camera.position.toArray() as V3, lay.bounds, lay.rowGap + lay.depthUnit * 12);
      camera.near = near;
      camera.far = far;
      camera.updateProjectionMatrix();
    }
    if (model) {
      camera.updateMatrixWorld();
      model.applyDetail(camera.position.toArray() as V3, focalPx());
    }
    renderer.render(scene, camera);
    framesRendered++;
    updateLabels();
  }

  /** Pixels per world unit at distance 1 (CSS px). */
  function focalPx(): number {
    return canvas.clientHeight / 2 / Math.tan((camera.fov * Math.PI) / 360);
  }

  const tmp = new Vector3();
  function updateLabels(): void {
    const lay = model?.currentLayout;
    if (!lay) return;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    const focal = focalPx();
    camera.updateMatrixWorld();
    const anchors = new Map<string, { x: number; y: number }>();
    const candidates: LabelCandidate[] = [];
    const states = new Map<string, 'focus' | 'ghost' | 'normal'>();
    const focus = model?.focus ?? null;
    for (const b of lay.blocks) {
      tmp.set(b.x, b.y + b.height / 2, 0).applyMatrix4(camera.matrixWorldInverse);
      const depth = -tmp.z;
      if (depth <= camera.near) continue;
      const sizePx = (Math.max(b.height, b.width) * focal) / depth;
      tmp.applyMatrix4(camera.projectionMatrix);
      const x = (tmp.x * 0.5 + 0.5) * w;
      const y = (-tmp.y * 0.5 + 0.5) * h - 3;
      anchors.set(b.id, { x, y });
      states.set(b.id, b.id === focus ? 'focus' : model?.layer(b.id) ? 'normal' : 'ghost');
      if (sizePx < 18 && b.id !== focus) continue;
      const size = labels.sizeOf(b.id);
      if (!size) continue;
      candidates.push({ id: b.id, x, y, ...size, priority: b.id === focus ? Infinity : sizePx });
    }
    const shown = placeLabels(candidates, w, h);
    lastLabelCount = shown.size;
    labels.show(anchors, shown, states);
  }

  function countVisible(): number {
    if (!model) return 0;
    const frustum = new Frustum().setFromProjectionMatrix(
      new Matrix4().multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse),
    );
    let n = 0;
    for (const m of model.meshes()) if (frustum.intersectsObject(m)) n++;
    return n;
  }

  function placeImage(): void {
    const lay = model?.currentLayout;
    if (image) {
      scene.remove(image.mesh);
      shared.release(image.geometry);
      shared.release(image.material);
      shared.release(image.texture);
      image = null;
    }
    if (!lay || !imageData) return;
    const { width, height, data } = imageData;
    const texture = new DataTexture(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width,
      height,
      RGBAFormat,
      UnsignedByteType,
    );
    texture.colorSpace = SRGBColorSpace;
    texture.magFilter = LinearFilter;
    texture.minFilter = LinearFilter;
    texture.generateMipmaps = false;
    texture.needsUpdate = true;
    shared.track(texture, 'texture', width * height * 4);
    const geometry = shared.track(new PlaneGeometry(lay.image.width, lay.image.height), 'geometry');
    // Row 0 of the pixels is the top of the picture; the plane's v runs upwards.
    const uv = geometry.getAttribute('uv');
    for (let i = 0; i < uv.count; i++) uv.setY(i, 1 - uv.getY(i));
    const material = shared.track(new MeshBasicMaterial({ map: texture, toneMapped: false }), 'material');
    const mesh = new Mesh(geometry, material);
    mesh.name = 'input-image';
    mesh.position.set(lay.image.x, lay.image.y, 0);
    scene.add(mesh);
    image = { mesh, geometry, material, texture };
  }

  function rebuildField(): void {
    if (field) {
      field.dispose();
      field = null;
    }
    const lay = model?.currentLayout;
    if (!fieldView || !lay) return;
    const arrays = fieldArrays(lay, fieldView, { field: linearRgb(colors.field), padding: linearRgb(colors.padding) });
    if (!arrays) return;
    field = new FieldObjects(arrays);
    scene.add(field.group);
  }

  function setModel(s: ModelSummary): void {
    if (disposed) throw new Error('FeatureScene: setModel after dispose');
    if (!s || !s.analysis || !Array.isArray(s.analysis.layers) || !Array.isArray(s.frameOrder)) {
      throw new Error(`setModel: model "${s?.id ?? '?'}" has no analysis layers or frame order`);
    }
    model?.dispose();
    model = null;
    fieldView = null;
    rebuildField();
    shapeOverrides.clear();
    summary = s;
    const lay = computeLayout(s, layoutOptions());
    for (const w of lay.warnings) console.warn(`Feature scene (${s.id}): ${w}`);
    model = new ModelView(lay, { luts, limits, colors, colorMap: options.colorMap, normalize: options.normalize });
    scene.add(model.group);
    labels.setBlocks(lay.blocks);
    placeImage();
    // Zooming out stops well past the overview, so the model cannot be lost in the void.
    const o = overviewPose(lay, camera.fov, camera.aspect);
    controls.maxDistance = 4 * Math.hypot(...o.position.map((v, i) => v - o.target[i]));
    controls.minDistance = 0.5;
    resetView({ animate: false });
  }

  function addFrame(frame: LayerFrame): void {
    if (disposed) throw new Error('FeatureScene: addFrame after dispose');
    if (!model || !summary)
      throw new Error(`addFrame: frame of layer "${frame.layerId}" arrived before any model was set`);
    if (!model.currentLayout.byId.has(frame.layerId)) {
      // A late frame of the previous model (streams race model switches): say so, draw nothing.
      console.warn(
        `Feature scene: frame of layer "${frame.layerId}" ignored: model "${summary.id}" has no such layer in its frame order`,
      );
      return;
    }
    const mismatch = model.shapeMismatch(frame);
    if (mismatch) {
      // The analysis did not know this layer's shape: lay the model out again with the frame's.
      shapeOverrides.set(frame.layerId, mismatch);
      const lay = computeLayout(summary, layoutOptions(), shapeOverrides);
      model.applyLayout(lay);
      labels.setBlocks(lay.blocks);
      placeImage();
      rebuildField();
    }
    model.addFrame(frame);
    invalidate();
  }

  function resetView(o?: { animate?: boolean }): void {
    const lay = model?.currentLayout;
    if (!lay) return;
    glideTo(overviewPose(lay, camera.fov, camera.aspect), o?.animate ?? true);
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
    return hit ? { layerId: hit.layerId, channel: hit.channel, y: hit.y, x: hit.x } : null;
  }

  function resize(): void {
    if (disposed) return;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (w <= 0 || h <= 0) return;
    renderer.setPixelRatio(Math.min(2, globalThis.devicePixelRatio || 1));
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
    labels.fit();
    invalidate();
  }

  // Keyboard, when the canvas has focus: Shift+arrows orbit, Alt+arrows pan, +/− zoom, 0 overview,
  // F frames the focused layer. Handled keys do not bubble, so the app's own arrow keys (next / previous
  // layer) keep working when no modifier is held.
  const spherical = new Spherical();
  function onKeyDown(e: KeyboardEvent): void {
    const arrows: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, 1],
      ArrowDown: [0, -1],
    };
    const dir = arrows[e.key];
    const offset = new Vector3().subVectors(camera.position, controls.target);
    if (dir && e.shiftKey) {
      spherical.setFromVector3(offset);
      spherical.theta -= dir[0] * (Math.PI / 36);
      spherical.phi = Math.min(Math.PI - 0.05, Math.max(0.05, spherical.phi - dir[1] * (Math.PI / 36)));
      offset.setFromSpherical(spherical);
      camera.position.copy(controls.target).add(offset);
    } else if (dir && e.altKey) {
      const step = offset.length() * 0.05;
      const right = new Vector3().setFromMatrixColumn(camera.matrix, 0).multiplyScalar(dir[0] * step);
      const up = new Vector3().setFromMatrixColumn(camera.matrix, 1).multiplyScalar(dir[1] * step);
      camera.position.add(right).add(up);
      controls.target.add(right).add(up);
    } else if (e.key === '+' || e.key === '=') controls.dollyIn(1.25);
    else if (e.key === '-' || e.key === '_') controls.dollyOut(1.25);
    else if (e.key === '0') resetView();
    else if ((e.key === 'f' || e.key === 'F') && model?.focus) setFocus(model.focus);
    else return;
    e.preventDefault();
    e.stopPropagation();
    anim = null;
    controls.update();
    invalidate();
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
  }
  function onContextRestored(): void {
    contextLost = false;
    invalidate();
  }

  const onControlsChange = (): void => invalidate();
  const onControlsStart = (): void => {
    anim = null; // the user takes over from a glide
  };
  controls.addEventListener('change', onControlsChange);
  controls.addEventListener('start', onControlsStart);
  canvas.addEventListener('keydown', onKeyDown);
  canvas.addEventListener('dblclick', onDoubleClick);
  canvas.addEventListener('webglcontextlost', onContextLost);
  canvas.addEventListener('webglcontextrestored', onContextRestored);

  function setFocus(layerId: string | null, o?: { animate?: boolean }): void {
    if (!model) return;
    model.setFocus(layerId);
    const block = layerId ? model.currentLayout.byId.get(layerId) : undefined;
    if (block) glideTo(focusPose(block, camera.fov, camera.aspect), o?.animate ?? true);
    else invalidate();
  }

  function stats(): SceneStats {
    if (finalStats) return finalStats;
    const info = renderer.info;
    return {
      drawCalls: info.render.calls,
      triangles: info.render.triangles,
      textures: info.memory.textures,
      geometries: info.memory.geometries,
      textureBytes: shared.bytes + (model?.textureBytes ?? 0),
      framesRendered,
      visibleLayers: countVisible(),
      layers: model?.layerCount ?? 0,
      renderer: rendererName,
      blocks: model?.currentLayout.blocks.length ?? 0,
      layerTextureBytes: model?.textureBytes ?? 0,
      activationValues: model?.values ?? 0,
      programs: info.programs?.length ?? 0,
      labels: lastLabelCount,
      instances: model?.instances ?? 0,
    };
  }

  const api: FeatureScene = {
    setModel,
    setInputImage(img) {
      if (disposed) throw new Error('FeatureScene: setInputImage after dispose');
      if (!img || !(img.width > 0) || !(img.height > 0) || img.data?.length !== img.width * img.height * 4) {
        throw new Error(
          `setInputImage: expected ${img?.width}×${img?.height} RGBA pixels (${(img?.width ?? 0) * (img?.height ?? 0) * 4} bytes), got ${img?.data?.length}`,
        );
      }
      imageData = img;
      placeImage();
      invalidate();
    },
    addFrame,
    clearFrames() {
      model?.clearFrames();
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
        labels.setTheme({ text: colors.text, muted: colors.muted, halo: colors.background, accent: colors.focus });
        rebuildField();
      }
      if (tilesChanged && model && summary) {
        const lay = computeLayout(summary, layoutOptions(), shapeOverrides);
        model.applyLayout(lay);
        labels.setBlocks(lay.blocks);
        rebuildField();
      }
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
      controls.update();
      draw();
    },
    stats,
    layout: () => model?.currentLayout ?? null,
    view: currentPose,
    idle: () => raf === 0 && anim === null,
    setView(pose) {
      anim = null;
      applyPose(pose);
      controls.update();
      invalidate();
    },
    dispose() {
      if (disposed) return;
      if (raf) cancelAnimationFrame(raf);
      raf = 0;
      controls.removeEventListener('change', onControlsChange);
      controls.removeEventListener('start', onControlsStart);
      canvas.removeEventListener('keydown', onKeyDown);
      canvas.removeEventListener('dblclick', onDoubleClick);
      canvas.removeEventListener('webglcontextlost', onContextLost);
      canvas.removeEventListener('webglcontextrestored', onContextRestored);
      controls.dispose();
      field?.dispose();
      field = null;
      model?.dispose();
      model = null;
      if (image) scene.remove(image.mesh);
      image = null;
      shared.releaseAll();
      labels.dispose();
      renderer.renderLists.dispose();
      finalStats = { ...stats(), visibleLayers: 0 };
      disposed = true;
      renderer.dispose();
      // Browsers cap live WebGL contexts; a disposed scene gives its context back now, not at GC.
      renderer.forceContextLoss();
    },
  };

  resize();
  return api;
}
