import { describe, expect, it } from 'vitest';
import type { BlockLayout, SceneLayout } from '../../renderer/src/explorer/scene/layout';
import { tileChannels, tileZ } from '../../renderer/src/explorer/scene/layout';
import { pickBlock, pickBlocks, rayBox, unitAt } from '../../renderer/src/explorer/scene/picking';
import {
  fieldArrays,
  intersectRect,
  pixelBoxRect,
  subtractRect,
  unitBoxRect,
  type ReceptiveFieldView,
} from '../../renderer/src/explorer/scene/rf';

function block(over: Partial<BlockLayout> = {}): BlockLayout {
  const shape = over.shape ?? [10, 20, 8];
  return {
    id: 'b',
    index: 0,
    name: 'b',
    kind: 'conv',
    className: 'Conv2D',
    outputShape: [...shape],
    shape,
    params: 0,
    width: shape[1],
    height: shape[0],
    depth: 14,
    x: 100,
    y: -50,
    row: 0,
    direction: 1,
    column: 0,
    lane: 0,
    scale: 1,
    vector: false,
    stageStart: false,
    layers: [over.id ?? 'b'],
    tiles: Math.min(64, shape[2]),
    ...over,
  };
}

describe('ray arithmetic', () => {
  it('enters a box at the right distance and misses behind or beside it', () => {
    expect(rayBox([0, 0, 10], [0, 0, -1], [-1, -1, -2], [1, 1, 0])).toBeCloseTo(10);
    expect(rayBox([0, 0, 10], [0, 0, 1], [-1, -1, -2], [1, 1, 0])).toBeNull();
    expect(rayBox([5, 0, 10], [0, 0, -1], [-1, -1, -2], [1, 1, 0])).toBeNull();
    expect(rayBox([0, 0, -1], [0, 0, -1], [-1, -1, -2], [1, 1, 0])).toBe(0); // starts inside
  });

  it('maps face coordinates to units of the full-resolution grid', () => {
    const b = block({ shape: [10, 20, 8] });
    expect(unitAt(0, 0, b)).toEqual({ y: 0, x: 0 });
    expect(unitAt(19.99, 9.99, b)).toEqual({ y: 9, x: 19 });
    expect(unitAt(20, 10, b)).toEqual({ y: 9, x: 19 }); // the far edge belongs to the last unit
    expect(unitAt(5.5, 2.5, b)).toEqual({ y: 2, x: 5 });
  });
});

describe('picking tiles', () => {
  it('a ray straight at the front face hits channel 0 at the unit under it', () => {
    const b = block();
    const left = b.x - b.width / 2;
    const top = b.y + b.height / 2;
    const hit = pickBlock([left + 7.5, top - 3.5, 50], [0, 0, -1], b);
    expect(hit).toMatchObject({ layerId: 'b', channel: 0, y: 3, x: 7, tile: 0 });
    expect(hit!.distance).toBeCloseTo(50);
  });

  it('a ray entering through the side hits the first tile plane it crosses, with that tile’s channel', () => {
    const b = block({ shape: [10, 20, 8], depth: 14 });
    const right = b.x + b.width / 2;
    const top = b.y + b.height / 2;
    // Start right of the block between tiles 2 and 3, travel left and slightly back.
    const z0 = (tileZ(2, 8, 14) + tileZ(3, 8, 14)) / 2;
    const dir: [number, number, number] = [-1, 0, -0.1];
    const hit = pickBlock([right + 1, top - 4.5, z0], dir, b)!;
    expect(hit.tile).toBe(3);
    expect(hit.channel).toBe(tileChannels(8, 8)[3]);
    const t = (tileZ(3, 8, 14) - z0) / dir[2];
    expect(hit.x).toBe(Math.floor(right + 1 - t - (b.x - b.width / 2)));
    expect(hit.y).toBe(4);
  });

  it('reports the channel a subsampled deep stack actually draws', () => {
    const b = block({ shape: [4, 4, 2048], tiles: 64, depth: 40 });
    const left = b.x - b.width / 2;
    const top = b.y + b.height / 2;
    const z = tileZ(63, 64, 40);
    // A ray from behind the block hits the last tile first: channel 2047.
    const hit = pickBlock([left + 1.5, top - 1.5, z - 30], [0, 0, 1], b)!;
    expect(hit.channel).toBe(2047);
    expect(hit).toMatchObject({ y: 1, x: 1 });
  });

  it('picks the nearest of several blocks and nothing in empty space', () => {
    const shallow = block({ id: 'shallow', x: 0, y: 0, depth: 5 });
    const deep = block({ id: 'deep', x: 0, y: 0, depth: 50 });
    // Seen from behind, the deeper block's last tile comes first.
    expect(pickBlocks([0, 0, -100], [0, 0, 1], [{ block: shallow }, { block: deep }])!.layerId).toBe('deep');
    expect(pickBlocks([0, 0, -100], [0, 0, 1], [{ block: shallow }, { block: deep }])!.distance).toBeCloseTo(50);
    const beside = block({ id: 'beside', x: 500 });
    expect(pickBlocks([0, 0, 100], [0, 0, -1], [{ block: beside }, { block: shallow }])!.layerId).toBe('shallow');
    expect(pickBlocks([0, 1000, 100], [0, 0, -1], [{ block: beside }, { block: shallow }])).toBeNull();
    // A ray parallel to the tiles crosses none of them.
    expect(pickBlocks([-50, 0, -1], [1, 0, 0], [{ block: shallow }])).toBeNull();
  });
});

describe('picking what is drawn', () => {
  it('skips tiles the level of detail does not draw', () => {
    const b = block({ shape: [10, 20, 8], depth: 14 });
    const right = b.x + b.width / 2;
    const top = b.y + b.height / 2;
    const z0 = (tileZ(2, 8, 14) + tileZ(3, 8, 14)) / 2;
    const dir: [number, number, number] = [-1, 0, -0.1];
    // Only the front and back tiles drawn: the side ray passes tile 3's plane and meets the back tile.
    const hit = pickBlocks([right + 1, top - 4.5, z0], dir, [{ block: b, tiles: [0, 7] }]);
    expect(hit?.tile ?? null).toBe(null); // it leaves the block through the left side before reaching tile 7
    const steep: [number, number, number] = [-0.1, 0, -1];
    const back = pickBlocks([right - 0.5, top - 4.5, z0], steep, [{ block: b, tiles: [0, 7] }])!;
    expect(back.tile).toBe(7);
    expect(back.channel).toBe(7);
    expect(pickBlocks([right - 0.5, top - 4.5, z0], steep, [{ block: b }])!.tile).toBe(3);
  });
});

describe('receptive-field geometry', () => {
  const layer = block({ id: 'late', shape: [10, 10, 8], x: 400, y: 0, depth: 10 });
  const early = block({ id: 'early', shape: [40, 40, 4], x: 200, y: 0, depth: 6, index: 1 });
  const layout: SceneLayout = {
    blocks: [layer, early],
    byId: new Map([
      ['late', layer],
      ['early', early],
    ]),
    image: { width: 80, height: 80, x: 0, y: 0 },
    depthUnit: 2,
    gap: 5,
    rowGap: 20,
    rows: 1,
    bounds: { min: [-40, -40, -10], max: [405, 40, 0] },
    edges: [],
    warnings: [],
    itemOf: new Map([
      ['late', layer],
      ['early', early],
    ]),
    arcs: [],
    tree: { blocks: [], byId: new Map(), blockOf: new Map(), roots: [], warnings: [] },
    expanded: new Set(),
    minSide: 8,
  };
  const colors = { field: [1, 0.5, 0] as [number, number, number], padding: [0.5, 0, 1] as [number, number, number] };

  it('maps inclusive unit and pixel boxes to rectangles', () => {
    expect(unitBoxRect(layer, 0, 0, 0, 0)).toEqual({ x0: 395, x1: 396, y0: 4, y1: 5 });
    expect(unitBoxRect(layer, 0, 9, 0, 9)).toEqual({ x0: 395, x1: 405, y0: -5, y1: 5 });
    // Pixels of an 160×160 input on an 80×80 slot: half a world unit each.
    expect(pixelBoxRect(layout.image, { top: 0, left: 0, bottom: 159, right: 159 }, 160, 160)).toEqual({
      x0: -40,
      x1: 40,
      y0: -40,
      y1: 40,
    });
    const r = { x0: -2, x1: 4, y0: -1, y1: 3 };
    const inner = intersectRect(r, { x0: 0, x1: 10, y0: 0, y1: 10 })!;
    expect(inner).toEqual({ x0: 0, x1: 4, y0: 0, y1: 3 });
    const parts = subtractRect(r, inner);
    const area = (q: { x0: number; x1: number; y0: number; y1: number }) => (q.x1 - q.x0) * (q.y1 - q.y0);
    expect(parts.reduce((s, q) => s + area(q), 0)).toBeCloseTo(area(r) - area(inner));
    expect(intersectRect(r, { x0: 10, x1: 20, y0: 10, y1: 20 })).toBeNull();
  });

  it('splits the field on the image into the part inside and the padding outside', () => {
    const view: ReceptiveFieldView = {
      layerId: 'late',
      y: 0,
      x: 0,
      regions: [{ layerId: 'early', y0: 0, y1: 3, x0: 0, x1: 3 }],
      image: { top: -3, left: -3, bottom: 12, right: 12, inputH: 80, inputW: 80 },
    };
    const a = fieldArrays(layout, view, colors)!;
    expect(a.warnings).toEqual([]);
    // Pixels −3…12 inclusive: 16 units from x = −43; rows −3…12 from y = 43 down to 27.
    expect(a.imageRect).toEqual({ x0: -43, x1: -27, y0: 27, y1: 43 });
    expect(a.insideRect).toEqual({ x0: -40, x1: -27, y0: 27, y1: 40 });
    // Fills: RGBA per vertex, 3 floats per position; padding-coloured triangles exist.
    expect(a.fill.colors.length / 4).toBe(a.fill.positions.length / 3);
    const paddingVertices = [];
    for (let i = 0; i < a.fill.colors.length; i += 4)
      if (a.fill.colors[i] === 0.5 && a.fill.colors[i + 2] === 1) paddingVertices.push(i);
    expect(paddingVertices.length).toBe(2 * 6); // the band above and the band left
    expect(a.lines.positions.every(Number.isFinite)).toBe(true);
    // The cone leaves the wall toward the viewer and comes back to it.
    let maxZ = 0;
    for (let i = 2; i < a.fill.positions.length; i += 3) maxZ = Math.max(maxZ, a.fill.positions[i]);
    expect(maxZ).toBeGreaterThan(10);
  });

  it('needs no padding colour when the field lies inside the image, and skips unknown layers with a warning', () => {
    const view: ReceptiveFieldView = {
      layerId: 'late',
      y: 5,
      x: 5,
      regions: [{ layerId: 'missing', y0: 0, y1: 1, x0: 0, x1: 1 }],
      image: { top: 10, left: 10, bottom: 20, right: 20, inputH: 80, inputW: 80 },
    };
    const a = fieldArrays(layout, view, colors)!;
    expect(a.insideRect).toEqual(a.imageRect);
    for (let i = 0; i < a.fill.colors.length; i += 4)
      expect([a.fill.colors[i], a.fill.colors[i + 2]]).not.toEqual([0.5, 1]);
    expect(a.warnings[0]).toMatch(/"missing"/);
    expect(fieldArrays(layout, { ...view, layerId: 'nope' }, colors)).toBeNull();
  });
});
