import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  DataArrayTexture,
  DataTexture,
  InstancedMesh,
  LineSegments,
  Mesh,
  RedFormat,
  ShaderMaterial,
  UnsignedByteType,
  type BufferGeometry,
  type Material,
  type Texture,
} from 'three';
import { describe, expect, it } from 'vitest';
import { analyzeModelJson } from '../../renderer/src/analysis';
import type { LayerFrame, ModelSummary } from '../../common/engine-protocol';
import { toySummary } from './toy-summary';
import { computeLayout } from '../../renderer/src/explorer/scene/layout';
import { GpuLedger } from '../../renderer/src/explorer/scene/ledger';
import { ModelView, validateFrame, type ModelViewContext } from '../../renderer/src/explorer/scene/model-view';
import { channelCell, packChannels, planArrayTexture } from '../../renderer/src/explorer/scene/textures';
import { THEMES } from '../../renderer/src/explorer/scene/theme';

/** A chain of conv layers after the input. */
function summary(input: [number, number, number], layers: [string, number[]][]): ModelSummary {
  return toySummary(
    input,
    layers.map(([id, shape], i) => [id, shape, 'conv', [i ? layers[i - 1][0] : 'in']]),
  );
}

function frame(layerId: string, [h, w, c]: [number, number, number], signed = false): LayerFrame {
  const data = new Uint8Array(h * w * c);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) & 255;
  const min = new Float32Array(c).map((_, k) => (signed ? -1 - k : 0));
  const max = new Float32Array(c).map((_, k) => 1 + k);
  return { layerId, index: 0, shape: [h, w, c], fullShape: [h, w, c], min, max, data };
}

function context(): ModelViewContext {
  const lut = (): DataTexture => new DataTexture(new Uint8Array(1024), 256, 1);
  return {
    luts: { viridis: lut(), diverging: lut() },
    limits: { maxLayers: 2048, maxSize: 4096 },
    colors: THEMES.dark,
    colorMap: 'auto',
    normalize: 'channel',
  };
}

/** Every GPU resource reachable from a group: geometries, materials and their textures, instanced meshes. */
function resources(view: ModelView): { items: Set<{ addEventListener: (t: 'dispose', f: () => void) => void }> } {
  const items = new Set<BufferGeometry | Material | Texture | InstancedMesh>();
  view.group.traverse((o) => {
    const m = o as Partial<InstancedMesh>;
    if (m.geometry) items.add(m.geometry);
    if (m.material)
      for (const mat of Array.isArray(m.material) ? m.material : [m.material]) {
        items.add(mat);
        const u = (mat as ShaderMaterial).uniforms;
        if (u?.uMaps) items.add(u.uMaps.value as Texture);
      }
    if (o instanceof InstancedMesh) items.add(o);
  });
  return { items: items as never };
}

describe('array texture sizing', () => {
  it('stores one byte per value, one channel per layer when the GPU allows', () => {
    const plan = planArrayTexture(35, 35, 288, { maxLayers: 2048, maxSize: 4096 });
    expect(plan).toEqual({ width: 35, height: 35, depth: 288, gx: 1, gy: 1, bytes: 35 * 35 * 288 });
    const data = new Uint8Array(35 * 35 * 288);
    expect(packChannels(data, 35, 35, 288, plan)).toBe(data); // no copy
  });

  it('packs channels into cells when there are more channels than array layers, and every byte lands in its cell', () => {
    const [h, w, c] = [3, 5, 2048];
    const limits = { maxLayers: 256, maxSize: 64 };
    const plan = planArrayTexture(h, w, c, limits);
    expect(plan.depth).toBeLessThanOrEqual(256);
    expect(plan.width).toBeLessThanOrEqual(64);
    expect(plan.height).toBeLessThanOrEqual(64);
    expect(plan.gx * plan.gy * plan.depth).toBeGreaterThanOrEqual(c);
    expect(plan.bytes / (h * w * c)).toBeLessThanOrEqual(1 + (plan.gx * plan.gy) / c);
    const data = new Uint8Array(h * w * c);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 255;
    const packed = packChannels(data, h, w, c, plan);
    for (let ch = 0; ch < c; ch += 97) {
      const cell = channelCell(ch, plan, h, w);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          expect(packed[cell.layer * plan.width * plan.height + (cell.y + y) * plan.width + cell.x + x]).toBe(
            data[ch * h * w + y * w + x],
          );
        }
    }
  });

  it('refuses maps larger than the GPU allows, naming the size', () => {
    expect(() => planArrayTexture(5000, 10, 3, { maxLayers: 256, maxSize: 4096 })).toThrow(/5000×10.*4096/);
    expect(() => planArrayTexture(0, 10, 3, { maxLayers: 256, maxSize: 4096 })).toThrow(/height/);
  });

  it('holds all of InceptionV3 in at most one byte per activation value (plus the last layer’s padding on a 256-layer GPU)', () => {
    const file = resolve(__dirname, '../../resources/models/inceptionv3/model.json');
    const analysis = analyzeModelJson(JSON.parse(readFileSync(file, 'utf8')), file);
    for (const limits of [
      { maxLayers: 2048, maxSize: 8192 },
      { maxLayers: 256, maxSize: 4096 },
    ]) {
      let values = 0;
      let bytes = 0;
      for (const l of analysis.layers) {
        if (l.outputShape.length !== 3) continue;
        const [h, w, c] = l.outputShape;
        values += h * w * c;
        bytes += planArrayTexture(h, w, c, limits).bytes;
      }
      expect(values).toBeGreaterThan(20e6);
      if (limits.maxLayers === 2048) expect(bytes).toBe(values);
      else expect(bytes / values).toBeLessThan(1.001);
    }
  });
});

describe('GPU ledger', () => {
  it('disposes each tracked item once and counts bytes per kind', () => {
    const ledger = new GpuLedger();
    const disposed: string[] = [];
    const item = (n: string) => ({ dispose: () => disposed.push(n) });
    const a = ledger.track(item('a'), 'texture', 100);
    ledger.track(item('b'), 'geometry');
    ledger.track(item('c'), 'texture', 20);
    expect(ledger.count('texture')).toBe(2);
    expect(ledger.bytes).toBe(120);
    ledger.release(a);
    expect(disposed).toEqual(['a']);
    expect(() => ledger.release(a)).toThrow(/not tracked/);
    const d = ledger.track(item('d'), 'material');
    expect(() => ledger.track(d, 'material')).toThrow(/twice/);
    expect(ledger.releaseAll()).toBe(3);
    expect(disposed).toEqual(['a', 'b', 'c', 'd']);
    expect(ledger.disposed).toBe(4);
    expect(ledger.count()).toBe(0);
    expect(ledger.bytes).toBe(0);
  });
});

describe('model view (three objects, no GL)', () => {
  const model = summary(
    [16, 16, 3],
    [
      ['conv', [16, 16, 8]],
      ['deep', [2, 2, 300]],
      ['head', [10]],
    ],
  );

  it('validates frames with messages that name the layer and the problem', () => {
    const good = frame('conv', [16, 16, 8]);
    expect(validateFrame(good)).toEqual([16, 16, 8]);
    expect(() => validateFrame({ ...good, data: new Uint8Array(5) })).toThrow(/layer "conv".*5 bytes.*expected 2048/);
    expect(() => validateFrame({ ...good, min: new Float32Array(3) })).toThrow(
      /layer "conv".*one entry per channel \(8\)/,
    );
    expect(() => validateFrame({ ...good, shape: [16, 16] as never })).toThrow(/layer "conv".*\[H, W, C\]/);
    const view = new ModelView(computeLayout(model), context());
    expect(() => view.addFrame(frame('nope', [1, 1, 1]))).toThrow(/layer "nope".*no such layer/);
    expect(() => view.addFrame(frame('conv', [16, 16, 4]))).toThrow(/4 channels.*8/);
  });

  it('draws a layer as one R8 array texture (no copy) and one instanced mesh, instance i sampling channel i', () => {
    const view = new ModelView(computeLayout(model), context());
    const f = frame('conv', [16, 16, 8], true);
    const lm = view.addFrame(f)!;
    expect(lm.texture).toBeInstanceOf(DataArrayTexture);
    expect(lm.texture.image).toMatchObject({ width: 16, height: 16, depth: 8 });
    expect(lm.texture.image.data).toBe(f.data);
    expect(lm.texture.format).toBe(RedFormat);
    expect(lm.texture.type).toBe(UnsignedByteType);
    expect(lm.texture.unpackAlignment).toBe(1);
    expect(lm.texture.generateMipmaps).toBe(false);
    expect(lm.mesh).toBeInstanceOf(InstancedMesh);
    expect(lm.mesh.count).toBe(8);
    const tile = lm.geometry.getAttribute('aTile');
    expect(tile.count).toBe(8);
    for (let k = 0; k < 8; k++) {
      const c = lm.order[k];
      expect([tile.getX(k), tile.getY(k), tile.getZ(k)]).toEqual([c, f.min[c], f.max[c]]);
    }
    // Tiles step back into depth, the first on the front face.
    const z = (k: number) => lm.mesh.instanceMatrix.array[k * 16 + 14];
    const zs = [...Array(8).keys()].map((k) => [lm.order[k], z(k)] as const).sort((a, b) => a[0] - b[0]);
    expect(zs[0][1]).toBe(0);
    expect(zs[7][1]).toBeCloseTo(-lm.block.depth);
    for (let i = 1; i < 8; i++) expect(zs[i][1]).toBeLessThan(zs[i - 1][1]);
    // Signed frame under 'auto': the diverging map; per-channel normalisation.
    expect(lm.map).toBe('diverging');
    expect(lm.material.uniforms.uDiverging.value).toBe(1);
    expect(lm.material.uniforms.uPerChannel.value).toBe(1);
    expect(view.textureBytes).toBe(16 * 16 * 8);
    expect(view.values).toBe(16 * 16 * 8);
    // One mesh per layer, plus the two line objects of the whole model (outlines, edges); a chain has no
    // connectors and no collapsed blocks, so the connector mesh and the diagram lines draw nothing.
    const drawables = view.group.children.filter(
      (o) => (o instanceof InstancedMesh || o instanceof LineSegments || o instanceof Mesh) && o.visible,
    );
    expect(drawables).toHaveLength(3);
  });

  it('keeps instances bounded for deep layers and draws vectors as 1×1×N', () => {
    const view = new ModelView(computeLayout(model, { maxTiles: 64 }), context());
    const deep = view.addFrame(frame('deep', [2, 2, 300]))!;
    expect(deep.mesh.count).toBe(64);
    expect((deep.texture as DataArrayTexture).image.depth).toBe(300); // every channel is still in the texture
    const tile = deep.geometry.getAttribute('aTile');
    const channels = [...Array(64).keys()].map((k) => tile.getX(k)).sort((a, b) => a - b);
    expect(channels[0]).toBe(0);
    expect(channels[63]).toBe(299);
    expect(new Set(channels).size).toBe(64);
    // A vector is one strip (a bar per value), its values one byte each over the layer's range.
    const hf = frame('head', [1, 1, 10]);
    const head = view.addFrame(hf)!;
    expect(head.block.shape).toEqual([1, 1, 10]);
    expect(head.block.vector).toBe(true);
    expect(head.strip).toBe(true);
    expect(head.mesh.count).toBe(1);
    expect(head.texture).toBeInstanceOf(DataTexture);
    expect(head.plan.bytes).toBe(10);
    // By hand: channel k holds byte (37k & 255) of the range [0, 1 + k].
    const values = [...Array(10).keys()].map((k) => (((k * 37) & 255) / 255) * (1 + k));
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const bytes = head.texture.image.data as Uint8Array;
    values.forEach((v, k) => expect(Math.abs(bytes[k] - ((v - lo) / (hi - lo)) * 255)).toBeLessThanOrEqual(0.5));
    expect(head.stripRange!.min).toBeCloseTo(lo, 5);
    expect(head.stripRange!.max).toBeCloseTo(hi, 5);
  });

  it('draws fewer tiles of a far stack, spread over its whole depth, and all of a near one', () => {
    const view = new ModelView(computeLayout(model, { maxTiles: 64 }), context());
    const lm = view.addFrame(frame('deep', [2, 2, 300]))!;
    const b = lm.block;
    const far = view.applyDetail([b.x, b.y, 1e6], 1000);
    expect(far).toBe(2);
    const drawn = [...view.drawnTiles('deep')!].sort((x, y) => x - y);
    expect(drawn).toEqual([0, 63]); // front and back
    expect(view.applyDetail([b.x, b.y, 20], 1000)).toBe(64);
    const mid = view.applyDetail([b.x, b.y, (b.depth * 1000) / 28.5 - b.depth / 2], 1000, 3); // 28.5 px of depth
    expect(mid).toBe(11);
    // The culling sphere still holds the whole stack.
    expect(lm.mesh.boundingSphere!.radius).toBeGreaterThanOrEqual(b.depth / 2);
  });

  it('switches colour map and normalisation by uniforms, without re-uploading', () => {
    const ctx = context();
    const view = new ModelView(computeLayout(model), ctx);
    const lm = view.addFrame(frame('conv', [16, 16, 8], false))!;
    const version = lm.texture.version;
    expect(lm.map).toBe('viridis');
    view.setContext({ colorMap: 'diverging', normalize: 'layer' });
    expect(lm.material.uniforms.uLut.value).toBe(ctx.luts.diverging);
    expect(lm.material.uniforms.uDiverging.value).toBe(1);
    expect(lm.material.uniforms.uPerChannel.value).toBe(0);
    expect(lm.material.uniforms.uLayerRange.value.toArray()).toEqual([0, 8]);
    expect(lm.texture.version).toBe(version);
  });

  it('re-uses a layer’s texture for a new frame of the same shape', () => {
    const view = new ModelView(computeLayout(model), context());
    const first = view.addFrame(frame('conv', [16, 16, 8]))!;
    const texture = first.texture;
    const version = texture.version;
    const next = frame('conv', [16, 16, 8]);
    const second = view.addFrame(next)!;
    expect(second.texture).toBe(texture);
    expect(texture.image.data).toBe(next.data);
    expect(texture.version).toBeGreaterThan(version);
    expect(view.ledger.count('texture')).toBe(1);
  });

  it('frees every texture, geometry, material and instanced mesh when the model goes', () => {
    const view = new ModelView(computeLayout(model), context());
    view.addFrame(frame('conv', [16, 16, 8]));
    view.addFrame(frame('deep', [2, 2, 300]));
    view.addFrame(frame('head', [1, 1, 10]));
    view.removeLayer('head');
    const { items } = resources(view);
    expect(items.size).toBeGreaterThanOrEqual(2 * 4 + 3);
    const seen = new Map<unknown, number>();
    for (const it of items) it.addEventListener('dispose', () => seen.set(it, (seen.get(it) ?? 0) + 1));
    expect(view.ledger.count()).toBe(items.size);
    view.dispose();
    for (const it of items) expect(seen.get(it)).toBe(1);
    expect(view.ledger.count()).toBe(0);
    expect(view.ledger.bytes).toBe(0);
    expect(view.group.children).toHaveLength(0);
    expect(() => view.addFrame(frame('conv', [16, 16, 8]))).toThrow(/after dispose/);
  });

  it('marks arrived and focused blocks in the outline colours', () => {
    const view = new ModelView(computeLayout(model), context());
    const lines = view.group.children.find((o) => o.name === 'outlines') as LineSegments;
    const colorOf = (index: number) =>
      Array.from(lines.geometry.getAttribute('color').array.slice(index * 72, index * 72 + 3));
    const ghost = colorOf(0);
    view.addFrame(frame('conv', [16, 16, 8]));
    const arrived = colorOf(0);
    expect(arrived).not.toEqual(ghost);
    view.setFocus('deep');
    expect(colorOf(1)).not.toEqual(ghost);
    expect(colorOf(1)).not.toEqual(arrived);
    view.setFocus(null);
    expect(colorOf(1)).toEqual(ghost);
  });

  it('moves frames to a new layout when a frame reveals a shape the analysis did not know', () => {
    const s = summary([16, 16, 3], [['open', [-1, -1, 4]]]);
    const view = new ModelView(computeLayout(s), context());
    const f = frame('open', [6, 5, 4]);
    expect(view.shapeMismatch(f)).toEqual([6, 5, 4]);
    view.addFrame(f);
    view.applyLayout(computeLayout(s, {}, new Map([['open', [6, 5, 4]]])));
    expect(view.shapeMismatch(f)).toBeNull();
    expect(view.layer('open')!.block.width).toBe(5);
    expect(view.ledger.count('texture')).toBe(1);
  });
});
