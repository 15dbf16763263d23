/**
 * The three.js objects of one model: an item per drawn layer or collapsed block (one DataArrayTexture + one
 * InstancedMesh when its frame has arrived; a vector layer: one R8 strip texture + one bar-chart mesh), all
 * outlines in one LineSegments, all graph edges in another, every skip / concatenation connector in one ribbon
 * mesh and every collapsed block's wiring diagram in one more LineSegments; the what-if editor's marks (a frame
 * around each changed layer) are one more, drawn only while there are marks. Built without a renderer, so it is
 * testable without WebGL; every GPU resource goes through a GpuLedger and is freed by `dispose()`.
 *
 * Frames of every layer are kept (CPU side, as they arrived) so that opening or closing a block re-uploads
 * only what becomes visible; only drawn items hold textures (≤ 1 byte per drawn activation value).
 */
import {
  BufferAttribute,
  BufferGeometry,
  Color,
  DataArrayTexture,
  DataTexture,
  DoubleSide,
  Float32BufferAttribute,
  GLSL3,
  Group,
  InstancedBufferAttribute,
  InstancedMesh,
  LineBasicMaterial,
  LineSegments,
  LinearFilter,
  Matrix4,
  Mesh,
  NearestFilter,
  PlaneGeometry,
  RedFormat,
  ShaderMaterial,
  UnsignedByteType,
  Vector2,
  Vector3,
  type Texture,
} from 'three';
import type { LayerFrame } from '../../../../common/engine-protocol';
import type { LayerMark } from '../../analysis/edit';
import {
  colorMapFor,
  effectiveNormalize,
  frameRange,
  vectorBytes,
  type ColorMapChoice,
  type ColorMapName,
} from './colormaps';
import { diagramSegments, ribbonArrays } from './connectors';
import {
  blockShape,
  detailTiles,
  progressiveOrder,
  tileChannels,
  tileZ,
  type BlockLayout,
  type SceneLayout,
} from './layout';
import { GpuLedger } from './ledger';
import { TILE_FRAGMENT, TILE_VERTEX } from './shaders';
import { packChannels, planArrayTexture, type ArrayTexturePlan, type TextureLimits } from './textures';
import { srgb, type SceneColors } from './theme';

export type Normalize = 'channel' | 'layer';

/** What the model view needs from the scene. */
export interface ModelViewContext {
  luts: Record<ColorMapName, Texture>;
  limits: TextureLimits;
  colors: SceneColors;
  colorMap: ColorMapChoice;
  normalize: Normalize;
}

/** One layer's drawn tiles and the resources behind them. */
export interface LayerMesh {
  block: BlockLayout;
  frame: LayerFrame;
  plan: ArrayTexturePlan;
  /** A layer's maps (DataArrayTexture), or a vector's values (an R8 DataTexture, one texel per value). */
  texture: DataArrayTexture | DataTexture;
  /** True for a vector layer's bar-chart strip. */
  strip: boolean;
  /** A strip's layer-wide value range (the bytes are quantized over it). */
  stripRange?: { min: number; max: number };
  geometry: PlaneGeometry;
  material: ShaderMaterial;
  mesh: InstancedMesh;
  map: ColorMapName;
  /** Instance k draws tile order[k]; any prefix is spread over the whole stack. */
  order: Int32Array;
}

/** Checks a frame against its block; returns its [H, W, C]. Throws a message naming the layer and the problem. */
export function validateFrame(frame: LayerFrame): [number, number, number] {
  const where = `frame of layer "${frame.layerId}"`;
  if (!Array.isArray(frame.shape) || frame.shape.length !== 3)
    throw new Error(`${where}: shape must be [H, W, C], got ${JSON.stringify(frame.shape)}`);
  const [h, w, c] = frame.shape;
  for (const v of frame.shape)
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`${where}: shape ${JSON.stringify(frame.shape)} has a dimension that is not a positive integer`);
  if (!(frame.data instanceof Uint8Array)) throw new Error(`${where}: data must be a Uint8Array`);
  if (frame.data.length !== h * w * c)
    throw new Error(`${where}: ${frame.data.length} bytes for shape ${h}×${w}×${c} (expected ${h * w * c})`);
  if (frame.min?.length !== c || frame.max?.length !== c) {
    throw new Error(
      `${where}: min/max need one entry per channel (${c}), got ${frame.min?.length} and ${frame.max?.length}`,
    );
  }
  return [h, w, c];
}

const finite = (v: number): number => (Number.isFinite(v) ? v : 0);

/** The 12 edges of a box as 24 vertices, written into `out` from vertex `at`. */
function boxEdges(
  out: Float32Array,
  at: number,
  [x0, x1, y0, y1, z0, z1]: [number, number, number, number, number, number],
): void {
  const c: [number, number, number][] = [
    [x0, y0, z1],
    [x1, y0, z1],
    [x1, y1, z1],
    [x0, y1, z1],
    [x0, y0, z0],
    [x1, y0, z0],
    [x1, y1, z0],
    [x0, y1, z0],
  ];
  const pairs = [0, 1, 1, 2, 2, 3, 3, 0, 4, 5, 5, 6, 6, 7, 7, 4, 0, 4, 1, 5, 2, 6, 3, 7];
  pairs.forEach((k, j) => out.set(c[k], (at + j) * 3));
}

export class ModelView {
  readonly group = new Group();
  readonly ledger = new GpuLedger();
  private layout: SceneLayout;
  private readonly layers = new Map<string, LayerMesh>();
  private outlines: LineSegments;
  private edges: LineSegments;
  private ribbons: Mesh;
  private diagrams: LineSegments;
  private marks: LineSegments;
  private outlineMaterial: LineBasicMaterial;
  private edgeMaterial: LineBasicMaterial;
  private ribbonMaterial: LineBasicMaterial;
  private diagramMaterial: LineBasicMaterial;
  /** The latest frame of every layer, drawn or not (a layer inside a collapsed block is drawn when it opens). */
  private readonly frames = new Map<string, LayerFrame>();
  /** Connectors drawn (main arcs and diagram arcs). */
  private connectorCount = 0;
  private focusId: string | null = null;
  /** Items the editor marks (changed, or where the edit breaks), by item id. */
  private markOf: ReadonlyMap<string, LayerMark> = new Map();
  /** Layers whose frames are kept but not drawn (the editor: they no longer show the edited network). */
  private stale: ReadonlySet<string> | 'all' = new Set();
  private ctx: ModelViewContext;
  private disposed = false;

  constructor(layout: SceneLayout, ctx: ModelViewContext) {
    this.layout = layout;
    this.ctx = ctx;
    this.group.name = 'model';
    this.outlineMaterial = this.ledger.track(
      new LineBasicMaterial({ vertexColors: true, toneMapped: false }),
      'material',
    );
    this.edgeMaterial = this.ledger.track(
      new LineBasicMaterial({
        vertexColors: true,
        transparent: true,
        opacity: 0.7,
        toneMapped: false,
        depthWrite: false,
      }),
      'material',
    );
    // A LineBasicMaterial on a Mesh draws triangles with the same 'basic' shader the outlines use: the ribbons
    // add a draw call but no shader program.
    this.ribbonMaterial = this.ledger.track(
      new LineBasicMaterial({ vertexColors: true, toneMapped: false }),
      'material',
    );
    this.diagramMaterial = this.ledger.track(
      new LineBasicMaterial({ vertexColors: true, toneMapped: false }),
      'material',
    );
    this.outlines = this.buildOutlines();
    this.edges = this.buildEdges();
    this.ribbons = this.buildRibbons();
    this.diagrams = this.buildDiagrams();
    this.marks = this.buildMarks();
    this.group.add(this.outlines, this.edges, this.ribbons, this.diagrams, this.marks);
  }

  get currentLayout(): SceneLayout {
    return this.layout;
  }

  /**
   * The frame's full-resolution output shape when it disagrees with the block laid out for it (the
   * analysis could not infer the shape), else null. The scene then lays the model out again.
   */
  shapeMismatch(frame: LayerFrame): number[] | null {
    const block = this.layout.byId.get(frame.layerId);
    if (!block) return null;
    const reported = frame.fullShape?.length ? frame.fullShape : frame.shape;
    const full = blockShape(reported);
    const same = full[0] === block.shape[0] && full[1] === block.shape[1] && full[2] === block.shape[2];
    return same ? null : [...reported];
  }

  /**
   * Keeps a layer's frame and uploads it when the layer is drawn now (returns its mesh), else returns null (a
   * layer inside a collapsed block: uploaded when the block opens). Throws for a frame that does not fit.
   */
  addFrame(frame: LayerFrame): LayerMesh | null {
    if (this.disposed) throw new Error('ModelView: addFrame after dispose');
    const block = this.layout.byId.get(frame.layerId);
    const known = block ?? this.layout.itemOf.get(frame.layerId);
    if (!known)
      throw new Error(`frame of layer "${frame.layerId}": the current model has no such layer in its frame order`);
    const [h, w, c] = validateFrame(frame);
    this.frames.set(frame.layerId, frame);
    if (!block || this.isStale(frame.layerId)) return null;
    if (c !== block.shape[2]) {
      throw new Error(`frame of layer "${frame.layerId}": ${c} channels, but the layer has ${block.shape[2]}`);
    }
    if (block.vector) return this.addStrip(block, frame);
    const plan = planArrayTexture(h, w, c, this.ctx.limits);
    const data = packChannels(frame.data, h, w, c, plan);

    let lm = this.layers.get(frame.layerId);
    if (
      lm &&
      (lm.strip ||
        lm.plan.width !== plan.width ||
        lm.plan.height !== plan.height ||
        lm.plan.depth !== plan.depth ||
        lm.plan.gx !== plan.gx)
    ) {
      this.removeLayer(frame.layerId);
      lm = undefined;
    }
    if (lm) {
      // Same size: re-upload into the texture that is already there (texSubImage, no new allocation).
      lm.texture.image.data = data;
      lm.texture.needsUpdate = true;
      lm.frame = frame;
      lm.plan = plan;
    } else {
      lm = this.createLayer(block, frame, plan, data);
      this.layers.set(frame.layerId, lm);
      this.group.add(lm.mesh);
      this.paintOutline(block);
    }
    this.updateTiles(lm);
    this.updateMaterial(lm);
    return lm;
  }

  /** A vector layer: its N values as one byte each in an R8 texture, drawn as a bar chart on one strip. */
  private addStrip(block: BlockLayout, frame: LayerFrame): LayerMesh {
    const { bytes, min, max } = vectorBytes(frame);
    const n = bytes.length;
    const texW = Math.min(n, this.ctx.limits.maxSize);
    const texH = Math.ceil(n / texW);
    const data =
      texW * texH === n
        ? bytes
        : (() => {
            const padded = new Uint8Array(texW * texH);
            padded.set(bytes);
            return padded;
          })();
    const plan: ArrayTexturePlan = { width: texW, height: texH, depth: 1, gx: 1, gy: 1, bytes: texW * texH };
    let lm = this.layers.get(frame.layerId);
    if (lm && (!lm.strip || lm.plan.width !== texW || lm.plan.height !== texH)) {
      this.removeLayer(frame.layerId);
      lm = undefined;
    }
    if (lm) {
      lm.texture.image.data = data;
      lm.texture.needsUpdate = true;
      lm.frame = frame;
    } else {
      const texture = new DataTexture(data, texW, texH, RedFormat, UnsignedByteType);
      texture.magFilter = NearestFilter;
      texture.minFilter = NearestFilter;
      texture.generateMipmaps = false;
      texture.unpackAlignment = 1;
      texture.needsUpdate = true;
      texture.name = `values:${block.id}`;
      this.ledger.track(texture, 'texture', plan.bytes);
      const geometry = this.ledger.track(new PlaneGeometry(block.width, block.height), 'geometry');
      const material = this.tileMaterial(`strip:${block.id}`, {
        maps: null,
        grid: [1, 1],
        perChannel: 0,
        strip: 1,
        values: texture,
        texWidth: texW,
      });
      const mesh = this.ledger.track(new InstancedMesh(geometry, material, 1), 'object');
      mesh.name = block.id;
      mesh.userData.layerId = block.id;
      lm = {
        block,
        frame,
        plan,
        texture,
        strip: true,
        geometry,
        material,
        mesh,
        map: 'viridis',
        order: progressiveOrder(1),
      };
      this.layers.set(frame.layerId, lm);
      this.group.add(mesh);
      this.paintOutline(block);
    }
    lm.plan = plan;
    lm.stripRange = { min, max };
    const attr = new Float32Array([n, min, max]);
    const old = lm.geometry.getAttribute('aTile') as InstancedBufferAttribute | undefined;
    if (old) {
      (old.array as Float32Array).set(attr);
      old.needsUpdate = true;
    } else lm.geometry.setAttribute('aTile', new InstancedBufferAttribute(attr, 3));
    lm.mesh.setMatrixAt(0, new Matrix4());
    lm.mesh.instanceMatrix.needsUpdate = true;
    lm.mesh.position.set(block.x, block.y, 0);
    lm.mesh.updateMatrix();
    lm.mesh.matrixAutoUpdate = false;
    lm.mesh.count = 1;
    lm.mesh.boundingSphere = null;
    lm.mesh.computeBoundingSphere();
    this.updateMaterial(lm);
    return lm;
  }

  /**
   * The tile shader's material for one layer: its maps as an array texture (grid of channel tiles), or a vector
   * layer's values as a strip texture; everything else is shared.
   */
  private tileMaterial(
    name: string,
    o: {
      maps: DataArrayTexture | null;
      grid: [number, number];
      perChannel: 0 | 1;
      strip: 0 | 1;
      values: DataTexture | null;
      texWidth: number;
    },
  ): ShaderMaterial {
    const material = this.ledger.track(
      new ShaderMaterial({
        glslVersion: GLSL3,
        vertexShader: TILE_VERTEX,
        fragmentShader: TILE_FRAGMENT,
        side: DoubleSide,
        polygonOffset: true, // tiles sit on the outline's front face: let the lines win
        polygonOffsetFactor: 1,
        polygonOffsetUnits: 1,
        uniforms: {
          uMaps: { value: o.maps },
          uLut: { value: this.ctx.luts.viridis },
          uGrid: { value: new Vector2(o.grid[0], o.grid[1]) },
          uInset: { value: new Vector2() },
          uLayerRange: { value: new Vector2() },
          uPerChannel: { value: o.perChannel },
          uDiverging: { value: 0 },
          uEdgeColor: { value: new Vector3(...srgb(this.ctx.colors.background)) },
          uStrip: { value: o.strip },
          uValues: { value: o.values },
          uTexWidth: { value: o.texWidth },
        },
      }),
      'material',
    );
    material.name = name;
    return material;
  }

  private createLayer(block: BlockLayout, frame: LayerFrame, plan: ArrayTexturePlan, data: Uint8Array): LayerMesh {
    const texture = new DataArrayTexture(data, plan.width, plan.height, plan.depth);
    texture.format = RedFormat;
    texture.type = UnsignedByteType;
    texture.magFilter = NearestFilter; // units stay crisp squares up close
    texture.minFilter = LinearFilter; // no mipmaps: they would cost a third more bytes
    texture.generateMipmaps = false;
    texture.unpackAlignment = 1; // rows of odd widths (149, 35, …) are not 4-byte aligned
    texture.needsUpdate = true;
    texture.name = `maps:${block.id}`;
    this.ledger.track(texture, 'texture', plan.bytes);

    const geometry = this.ledger.track(new PlaneGeometry(block.width, block.height), 'geometry');
    const material = this.tileMaterial(`tiles:${block.id}`, {
      maps: texture,
      grid: [plan.gx, plan.gy],
      perChannel: 1,
      strip: 0,
      values: null,
      texWidth: 1,
    });
    const mesh = this.ledger.track(new InstancedMesh(geometry, material, block.tiles), 'object');
    mesh.name = block.id;
    mesh.userData.layerId = block.id;
    return {
      block,
      frame,
      plan,
      texture,
      strip: false,
      geometry,
      material,
      mesh,
      map: 'viridis',
      order: progressiveOrder(block.tiles),
    };
  }

  /**
   * Instance matrices (tile depth) and the per-instance (channel, min, max) of a layer. Instances follow
   * `progressiveOrder`, so drawing only the first k (level of detail) still spans the whole stack.
   */
  private updateTiles(lm: LayerMesh): void {
    const { block, frame, mesh, geometry } = lm;
    const channels = tileChannels(frame.shape[2], block.tiles);
    const n = channels.length;
    if (n !== block.tiles || mesh.instanceMatrix.count < n) {
      throw new Error(`layer "${block.id}": ${n} tiles do not match the mesh's ${mesh.instanceMatrix.count} instances`);
    }
    if (lm.order.length !== n) lm.order = progressiveOrder(n);
    const m = new Matrix4();
    const attr = new Float32Array(n * 3);
    for (let k = 0; k < n; k++) {
      const i = lm.order[k];
      m.makeTranslation(0, 0, tileZ(i, n, block.depth));
      mesh.setMatrixAt(k, m);
      const c = channels[i];
      attr[k * 3] = c;
      attr[k * 3 + 1] = finite(frame.min[c]);
      attr[k * 3 + 2] = finite(frame.max[c]);
    }
    mesh.instanceMatrix.needsUpdate = true;
    const old = geometry.getAttribute('aTile') as InstancedBufferAttribute | undefined;
    if (old && old.count === n) {
      (old.array as Float32Array).set(attr);
      old.needsUpdate = true;
    } else geometry.setAttribute('aTile', new InstancedBufferAttribute(attr, 3));
    mesh.position.set(block.x, block.y, 0);
    mesh.updateMatrix();
    mesh.matrixAutoUpdate = false;
    // The culling sphere covers every tile, whatever the level of detail draws later.
    mesh.count = n;
    mesh.boundingSphere = null;
    mesh.computeBoundingSphere();
  }

  /**
   * Level of detail: each layer draws about one tile per `spacingPx` pixels of its stack's depth on
   * screen (`focalPx` = pixels per unit at distance 1). Returns the instances drawn in total.
   */
  applyDetail(eye: readonly [number, number, number], focalPx: number, spacingPx = 3): number {
    let total = 0;
    for (const lm of this.layers.values()) {
      const b = lm.block;
      const dist = Math.max(1e-3, Math.hypot(eye[0] - b.x, eye[1] - b.y, eye[2] + b.depth / 2));
      const count = detailTiles(b.tiles, (b.depth * focalPx) / dist, spacingPx);
      if (lm.mesh.count !== count) lm.mesh.count = count;
      total += count;
    }
    return total;
  }

  /** Tile indices a layer draws now (the prefix of its progressive order). */
  drawnTiles(id: string): Int32Array | undefined {
    const lm = this.layers.get(id);
    return lm ? lm.order.subarray(0, lm.mesh.count) : undefined;
  }

  /** Colour map, normalisation and layer range uniforms of one layer (a vector is always normalised per layer). */
  private updateMaterial(lm: LayerMesh): void {
    const u = lm.material.uniforms;
    const map = colorMapFor(lm.frame, this.ctx.colorMap);
    lm.map = map;
    u.uLut.value = this.ctx.luts[map];
    u.uDiverging.value = map === 'diverging' ? 1 : 0;
    (u.uEdgeColor.value as Vector3).set(...srgb(this.ctx.colors.background));
    if (lm.strip) return;
    const [h, w] = lm.frame.shape;
    const range = frameRange(lm.frame);
    u.uPerChannel.value = effectiveNormalize(lm.frame.shape, this.ctx.normalize).normalize === 'channel' ? 1 : 0;
    (u.uLayerRange.value as Vector2).set(range.min, range.max);
    (u.uGrid.value as Vector2).set(lm.plan.gx, lm.plan.gy);
    (u.uInset.value as Vector2).set(0.5 / w, 0.5 / h);
  }

  /** New colour map / normalisation / colours: updates uniforms and line colours, no re-upload. */
  setContext(ctx: Partial<ModelViewContext>): void {
    this.ctx = { ...this.ctx, ...ctx };
    for (const lm of this.layers.values()) this.updateMaterial(lm);
    if (ctx.colors) {
      for (const b of this.layout.blocks) this.paintOutline(b);
      for (const obj of [this.edges, this.ribbons, this.diagrams, this.marks]) {
        this.group.remove(obj);
        this.ledger.release(obj.geometry);
      }
      this.edges = this.buildEdges();
      this.ribbons = this.buildRibbons();
      this.diagrams = this.buildDiagrams();
      this.marks = this.buildMarks();
      this.group.add(this.edges, this.ribbons, this.diagrams, this.marks);
    }
  }

  /**
   * Marks items (by item id) with a frame around their box: the editor's changed layers, and the layer where the
   * edit breaks in the `broken` colour. All marks are one LineSegments; none drawn when empty.
   */
  setMarks(marks: ReadonlyMap<string, LayerMark>): void {
    this.markOf = marks;
    this.group.remove(this.marks);
    this.ledger.release(this.marks.geometry);
    this.marks = this.buildMarks();
    this.group.add(this.marks);
  }

  /** The items marked now, with their marks (those of `setMarks` that the layout draws). */
  marked(): Map<string, LayerMark> {
    return new Map([...this.markOf].filter(([id]) => this.layout.byId.has(id)));
  }

  /**
   * Layers whose frames are kept but not drawn ('all': every layer): the editor's stale layers. Drawn ones are
   * dropped now; a later `applyLayout` draws the kept frames of layers no longer stale.
   */
  setStale(stale: ReadonlySet<string> | 'all'): void {
    this.stale = stale;
    for (const id of [...this.layers.keys()]) if (this.isStale(id)) this.removeLayer(id);
  }

  private isStale(id: string): boolean {
    return this.stale === 'all' || this.stale.has(id);
  }

  /** Keeps a frame of a layer the current layout does not draw (the original's, while the editor shows another). */
  keep(frame: LayerFrame): void {
    validateFrame(frame);
    this.frames.set(frame.layerId, frame);
  }

  setFocus(id: string | null): void {
    const prev = this.focusId;
    this.focusId = id && this.layout.byId.has(id) ? id : null;
    for (const bid of [prev, this.focusId]) {
      const b = bid ? this.layout.byId.get(bid) : undefined;
      if (b) this.paintOutline(b);
    }
  }

  get focus(): string | null {
    return this.focusId;
  }

  /** Drops one layer's tiles and frees its texture, geometry and material. */
  removeLayer(id: string): void {
    const lm = this.layers.get(id);
    if (!lm) return;
    this.group.remove(lm.mesh);
    this.ledger.release(lm.mesh);
    this.ledger.release(lm.material);
    this.ledger.release(lm.geometry);
    this.ledger.release(lm.texture);
    this.layers.delete(id);
    this.paintOutline(lm.block);
  }

  /** Drops every layer's tiles (the outlines stay). */
  clearFrames(): void {
    for (const id of [...this.layers.keys()]) this.removeLayer(id);
  }

  /** Forgets every kept frame and drops the tiles (a new pass begins). */
  forgetFrames(): void {
    this.frames.clear();
    this.clearFrames();
  }

  /**
   * Moves everything to a new layout of the same model (after a frame revealed a shape the analysis
   * did not know). Layers whose tile count changed are rebuilt from their frames.
   */
  applyLayout(layout: SceneLayout): void {
    // Items drawn the same way in the new layout (same maps, same size) keep their texture and mesh and only
    // move: opening or closing a block re-uploads only what appears.
    const keep = new Map<string, LayerMesh>();
    for (const [id, lm] of this.layers) {
      const b = layout.byId.get(id);
      const same =
        b &&
        !this.isStale(id) &&
        b.vector === lm.block.vector &&
        b.tiles === lm.block.tiles &&
        b.width === lm.block.width &&
        b.height === lm.block.height &&
        b.depth === lm.block.depth &&
        b.shape.every((v, i) => v === lm.block.shape[i]);
      if (same) keep.set(id, lm);
    }
    for (const id of [...this.layers.keys()]) if (!keep.has(id)) this.removeLayer(id);
    this.layout = layout;
    for (const obj of [this.outlines, this.edges, this.ribbons, this.diagrams, this.marks]) {
      this.group.remove(obj);
      this.ledger.release(obj.geometry);
    }
    this.outlines = this.buildOutlines();
    this.edges = this.buildEdges();
    this.ribbons = this.buildRibbons();
    this.diagrams = this.buildDiagrams();
    this.marks = this.buildMarks();
    this.group.add(this.outlines, this.edges, this.ribbons, this.diagrams, this.marks);
    for (const [id, lm] of keep) {
      const b = layout.byId.get(id)!;
      lm.block = b;
      lm.mesh.position.set(b.x, b.y, 0);
      lm.mesh.updateMatrix();
      lm.mesh.boundingSphere = null;
      lm.mesh.computeBoundingSphere();
      this.paintOutline(b);
    }
    // A kept frame that does not fit its layer here (an edited shape) waits: the layer is drawn as its outline.
    for (const f of this.frames.values())
      if (
        !keep.has(f.layerId) &&
        (layout.itemOf.has(f.layerId) || layout.byId.has(f.layerId)) &&
        !this.shapeMismatch(f)
      )
        this.addFrame(f);
  }

  /** The latest frame of a layer, drawn or not. */
  frameOf(id: string): LayerFrame | undefined {
    return this.frames.get(id);
  }

  /** Whether any layer has a frame (the maps of a photo are up, or on their way). */
  get hasFrames(): boolean {
    return this.frames.size > 0;
  }

  /** Skip and concatenation connectors drawn (main-scene arcs plus those inside collapsed blocks' diagrams). */
  get connectors(): number {
    return this.connectorCount;
  }

  layer(id: string): LayerMesh | undefined {
    return this.layers.get(id);
  }

  /** Blocks whose frames have arrived, with the tiles they draw now (pickable). */
  drawnBlocks(): { block: BlockLayout; tiles: Int32Array }[] {
    return [...this.layers.values()].map((l) => ({ block: l.block, tiles: l.order.subarray(0, l.mesh.count) }));
  }

  /** Instances drawn now, over all layers. */
  get instances(): number {
    let n = 0;
    for (const l of this.layers.values()) n += l.mesh.count;
    return n;
  }

  /** Layer meshes (for visibility counting). */
  meshes(): InstancedMesh[] {
    return [...this.layers.values()].map((l) => l.mesh);
  }

  /** Bytes of the layers' array textures. */
  get textureBytes(): number {
    let n = 0;
    for (const l of this.layers.values()) n += l.plan.bytes;
    return n;
  }

  /** Activation values held (H·W·C of the frames as sent). */
  get values(): number {
    let n = 0;
    for (const l of this.layers.values()) n += l.frame.data.length;
    return n;
  }

  get layerCount(): number {
    return this.layers.size;
  }

  /** Every block's box as 12 edges; vertex colours say ghost / arrived / focused. */
  private buildOutlines(): LineSegments {
    const blocks = this.layout.blocks;
    const pos = new Float32Array(blocks.length * 24 * 3);
    blocks.forEach((b, i) =>
      boxEdges(pos, i * 24, [
        b.x - b.width / 2,
        b.x + b.width / 2,
        b.y - b.height / 2,
        b.y + b.height / 2,
        -b.depth,
        0,
      ]),
    );
    const geometry = this.ledger.track(new BufferGeometry(), 'geometry');
    geometry.setAttribute('position', new Float32BufferAttribute(pos, 3));
    geometry.setAttribute('color', new Float32BufferAttribute(new Float32Array(pos.length), 3));
    const lines = new LineSegments(geometry, this.outlineMaterial);
    lines.name = 'outlines';
    lines.frustumCulled = false;
    this.outlines = lines;
    for (const b of blocks) this.paintOutline(b, false);
    (geometry.getAttribute('color') as Float32BufferAttribute).needsUpdate = true;
    return lines;
  }

  /** Recolours one block's outline in place (only its 24 vertices are re-uploaded). */
  private paintOutline(b: BlockLayout, upload = true): void {
    const attr = this.outlines.geometry.getAttribute('color') as Float32BufferAttribute;
    const colors = this.ctx.colors;
    const hex =
      b.id === this.focusId
        ? colors.focus
        : b.group
          ? colors.group
          : this.layers.has(b.id)
            ? colors.outline
            : colors.ghost;
    const col = new Color(hex);
    const arr = attr.array as Float32Array;
    for (let j = 0; j < 24; j++) arr.set([col.r, col.g, col.b], (b.index * 24 + j) * 3);
    if (upload) {
      attr.addUpdateRange(b.index * 72, 72);
      attr.needsUpdate = true;
    }
  }

  /**
   * Graph edges: from a block's right face to the next one's left face (across lanes where branches fork and
   * merge, down to the next row's start at a row break). Edges an arc already draws are left out.
   */
  private buildEdges(): LineSegments {
    const { blocks, image, arcs } = this.layout;
    const covered = new Set(arcs.filter((a) => !a.via.length).map((a) => `${a.from}>${a.to}`));
    const pts: number[] = [];
    const z = -0.5; // just behind the front tiles, so a link never covers a feature map
    for (const [s, t] of this.layout.edges) {
      if (covered.has(`${s}>${t}`)) continue;
      const a =
        s < 0 ? { x: image.x, y: image.y, w: image.width } : { x: blocks[s].x, y: blocks[s].y, w: blocks[s].width };
      const b = blocks[t];
      pts.push(a.x + a.w / 2, a.y, z, b.x - b.width / 2, b.y, z);
    }
    const geometry = this.ledger.track(new BufferGeometry(), 'geometry');
    geometry.setAttribute('position', new Float32BufferAttribute(new Float32Array(pts), 3));
    geometry.setAttribute('color', new Float32BufferAttribute(this.solid(pts.length / 3, this.ctx.colors.edge), 3));
    const lines = new LineSegments(geometry, this.edgeMaterial);
    lines.name = 'edges';
    lines.frustumCulled = false;
    return lines;
  }

  /** `n` vertex colours of one hex colour (every line material shares one vertex-colour program). */
  private solid(n: number, hex: string): Float32Array {
    const c = new Color(hex);
    const out = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) out.set([c.r, c.g, c.b], i * 3);
    return out;
  }

  /** Every skip arc and concatenation connector, in one mesh (one draw call). */
  private buildRibbons(): Mesh {
    const c = this.ctx.colors;
    const lin = (hex: string): [number, number, number] => {
      const col = new Color(hex);
      return [col.r, col.g, col.b];
    };
    const arrays = ribbonArrays(this.layout, { skip: lin(c.skip), concat: lin(c.concat) });
    this.connectorCount = arrays.count;
    const geometry = this.ledger.track(new BufferGeometry(), 'geometry');
    geometry.setAttribute('position', new Float32BufferAttribute(arrays.positions, 3));
    geometry.setAttribute('color', new Float32BufferAttribute(arrays.colors, 3));
    geometry.setIndex(new BufferAttribute(arrays.indices, 1));
    const mesh = new Mesh(geometry, this.ribbonMaterial);
    mesh.name = 'connectors';
    mesh.frustumCulled = false;
    mesh.visible = arrays.indices.length > 0;
    return mesh;
  }

  /** Every collapsed block's wiring diagram, in one LineSegments (one draw call). */
  private buildDiagrams(): LineSegments {
    const geometry = this.ledger.track(new BufferGeometry(), 'geometry');
    const pos = diagramSegments(this.layout.blocks);
    geometry.setAttribute('position', new Float32BufferAttribute(pos, 3));
    geometry.setAttribute('color', new Float32BufferAttribute(this.solid(pos.length / 3, this.ctx.colors.group), 3));
    const lines = new LineSegments(geometry, this.diagramMaterial);
    lines.name = 'diagrams';
    lines.frustumCulled = false;
    lines.visible = pos.length > 0;
    return lines;
  }

  /** Every marked item's frame: its box grown by a margin, in one LineSegments (one draw call, none when empty). */
  private buildMarks(): LineSegments {
    const items = [...this.marked()].map(([id, m]) => [this.layout.byId.get(id)!, m] as const);
    const pos = new Float32Array(items.length * 24 * 3);
    const col = new Float32Array(pos.length);
    const m = Math.max(0.5, this.layout.gap * 0.3);
    items.forEach(([b, mark], i) => {
      boxEdges(pos, i * 24, [
        b.x - b.width / 2 - m,
        b.x + b.width / 2 + m,
        b.y - b.height / 2 - m,
        b.y + b.height / 2 + m,
        -b.depth - m,
        m,
      ]);
      col.set(this.solid(24, mark.broken ? this.ctx.colors.broken : this.ctx.colors.changed), i * 72);
    });
    const geometry = this.ledger.track(new BufferGeometry(), 'geometry');
    geometry.setAttribute('position', new Float32BufferAttribute(pos, 3));
    geometry.setAttribute('color', new Float32BufferAttribute(col, 3));
    // The outlines' material: the marks add a draw call while shown, never a shader program.
    const lines = new LineSegments(geometry, this.outlineMaterial);
    lines.name = 'marks';
    lines.frustumCulled = false;
    lines.visible = items.length > 0;
    return lines;
  }

  /** Frees every GPU resource of the model. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.group.removeFromParent();
    this.group.clear();
    this.layers.clear();
    this.frames.clear();
    this.ledger.releaseAll();
  }
}
