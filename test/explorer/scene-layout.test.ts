import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PerspectiveCamera, Vector3 } from 'three';
import { describe, expect, it } from 'vitest';
import { analyzeModelJson } from '../../renderer/src/analysis';
import type { ModelSummary } from '../../common/engine-protocol';
import { toySummary, type ToyLayer } from './toy-summary';
import {
  clipPlanes,
  easeInOutCubic,
  fitDistance,
  focusPose,
  overviewPose,
} from '../../renderer/src/explorer/scene/camera';
import {
  blockDepth,
  blockShape,
  breakRows,
  computeLayout,
  detailTiles,
  progressiveOrder,
  tileChannels,
  tileCount,
  tileZ,
  type SceneLayout,
} from '../../renderer/src/explorer/scene/layout';

/** A small analysed model: [id, outputShape, kind, inputs]; every layer but the input has 11 parameters. */
function summary(input: [number, number, number], layers: ToyLayer[], frameOrder?: string[]): ModelSummary {
  return toySummary(input, layers, { frameOrder, paramsPerLayer: 11 });
}

function bundled(model: string): ModelSummary {
  const file = resolve(__dirname, '../../resources/models', model, 'model.json');
  const analysis = analyzeModelJson(JSON.parse(readFileSync(file, 'utf8')), file);
  const frameOrder = analysis.layers
    .filter((l) => l.kind !== 'input' && (l.outputShape.length === 3 || l.outputShape.length === 1))
    .map((l) => l.id);
  return { ...summary([1, 1, 1], []), id: model, analysis, frameOrder };
}

function rectsOverlap(layout: SceneLayout): string | null {
  const r = [
    {
      id: 'image',
      x0: layout.image.x - layout.image.width / 2,
      x1: layout.image.x + layout.image.width / 2,
      y0: layout.image.y - layout.image.height / 2,
      y1: layout.image.y + layout.image.height / 2,
    },
    ...layout.blocks.map((b) => ({
      id: b.id,
      x0: b.x - b.width / 2,
      x1: b.x + b.width / 2,
      y0: b.y - b.height / 2,
      y1: b.y + b.height / 2,
    })),
  ];
  for (let i = 0; i < r.length; i++)
    for (let j = i + 1; j < r.length; j++) {
      const a = r[i];
      const b = r[j];
      if (a.x0 < b.x1 - 1e-6 && b.x0 < a.x1 - 1e-6 && a.y0 < b.y1 - 1e-6 && b.y0 < a.y1 - 1e-6)
        return `${a.id} overlaps ${b.id}`;
    }
  return null;
}

describe('block proportions', () => {
  it('depth grows like log2(1 + C): 3 and 2048 channels are both readable', () => {
    const unit = 4;
    expect(blockDepth(3, unit)).toBeCloseTo(2 * unit);
    expect(blockDepth(2048, unit)).toBeCloseTo(unit * Math.log2(2049));
    const ratio = blockDepth(2048, unit) / blockDepth(3, unit);
    expect(ratio).toBeGreaterThan(4);
    expect(ratio).toBeLessThan(6);
    for (let c = 1; c < 4096; c *= 2) expect(blockDepth(c * 2, unit)).toBeGreaterThan(blockDepth(c, unit));
  });

  it('draws vectors as 1×1×N and treats unknown dimensions as 1', () => {
    expect(blockShape([7, 5, 3])).toEqual([7, 5, 3]);
    expect(blockShape([1000])).toEqual([1, 1, 1000]);
    expect(blockShape([4, 10])).toEqual([1, 4, 10]);
    expect(blockShape([-1, Number.NaN, 8])).toEqual([1, 1, 8]);
    expect(blockShape([1, 7, 5, 3])).toEqual([7, 5, 3]); // with a batch axis of one
  });

  it('tiles show every channel up to the cap, then an evenly spaced subset from first to last', () => {
    expect(Array.from(tileChannels(5, tileCount(5, 64)))).toEqual([0, 1, 2, 3, 4]);
    const deep = tileChannels(2048, tileCount(2048, 64));
    expect(deep.length).toBe(64);
    expect(deep[0]).toBe(0);
    expect(deep[63]).toBe(2047);
    for (let i = 1; i < deep.length; i++) {
      expect(deep[i]).toBeGreaterThan(deep[i - 1]);
      expect(deep[i] - deep[i - 1]).toBeGreaterThanOrEqual(32);
      expect(deep[i] - deep[i - 1]).toBeLessThanOrEqual(33);
    }
    expect(tileZ(0, 64, 50)).toBe(0);
    expect(tileZ(63, 64, 50)).toBeCloseTo(-50);
    expect(tileZ(0, 1, 50)).toBe(0);
  });
});

describe('level of detail', () => {
  it('orders tiles so every prefix spans the stack from front to back', () => {
    for (const n of [1, 2, 3, 7, 64, 100]) {
      const order = progressiveOrder(n);
      expect([...order].sort((a, b) => a - b)).toEqual([...Array(n).keys()]); // a permutation
      if (n > 1) expect([order[0], order[1]]).toEqual([0, n - 1]);
      for (const k of [3, 5, 9, 17].filter((k) => k <= n)) {
        const prefix = [...order.slice(0, k)].sort((a, b) => a - b);
        let gap = 0;
        for (let i = 1; i < k; i++) gap = Math.max(gap, prefix[i] - prefix[i - 1]);
        expect(gap).toBeLessThanOrEqual(Math.ceil((2 * (n - 1)) / (k - 1)));
      }
    }
  });

  it('draws about one tile per few pixels of depth on screen, at least front and back', () => {
    expect(detailTiles(64, 0)).toBe(2);
    expect(detailTiles(64, 30, 3)).toBe(11);
    expect(detailTiles(64, 1000, 3)).toBe(64);
    expect(detailTiles(1, 0)).toBe(1);
    expect(detailTiles(2, 500)).toBe(2);
  });
});

describe('graph layout', () => {
  it('breaks rows at the limit and gives an oversized item a row of its own', () => {
    const items = [10, 10, 10, 50, 10].map((w) => ({ width: w, height: 5 }));
    expect(breakRows(items, 32, 1)).toEqual([[0, 1, 2], [3], [4]]);
    expect(breakRows(items, 31.9, 1)).toEqual([[0, 1], [2], [3], [4]]);
    expect(breakRows(items, 100, 1)).toEqual([[0, 1, 2, 3, 4]]);
  });

  it('lays InceptionV3 out (every block open) at real proportions, without overlaps, every row left to right', () => {
    const s = bundled('inceptionv3');
    const layout = computeLayout(s, { aspect: 1.6, collapseAbove: Infinity });
    expect(layout.warnings).toEqual([]);
    expect(layout.blocks.length).toBe(s.frameOrder.length);
    expect(layout.blocks.length).toBeGreaterThan(300);
    const byId = new Map(s.analysis.layers.map((l) => [l.id, l]));
    for (const b of layout.blocks) {
      const shape = blockShape(byId.get(b.id)!.outputShape);
      if (b.vector) continue;
      // Real proportions, enlarged uniformly (scale ≥ 1) only up to the minimum drawn side.
      expect(b.width / b.height).toBeCloseTo(shape[1] / shape[0]);
      expect(b.width).toBeCloseTo(shape[1] * b.scale);
      expect(b.scale).toBeGreaterThanOrEqual(1);
      if (b.scale > 1) expect(Math.max(b.width, b.height)).toBeCloseTo(layout.minSide);
      expect(b.depth).toBeCloseTo(blockDepth(shape[2], layout.depthUnit));
      expect(b.tiles).toBeLessThanOrEqual(64);
    }
    expect(rectsOverlap(layout)).toBeNull();
    // Data order: along a row, a later column stands to the right; rows go down.
    expect(layout.rows).toBeGreaterThan(1);
    for (const a of layout.blocks)
      for (const b of layout.blocks) {
        if (a.row === b.row && a.column < b.column) expect(b.x).toBeGreaterThan(a.x);
        if (b.row > a.row) expect(b.y).toBeLessThan(a.y);
      }
    // The input image stands first: top-left.
    expect(layout.image.width).toBe(299);
    expect(layout.image.x - layout.image.width / 2).toBeCloseTo(layout.bounds.min[0]);
    const w = layout.bounds.max[0] - layout.bounds.min[0];
    const h = layout.bounds.max[1] - layout.bounds.min[1];
    expect(w / h).toBeGreaterThan(1.6 / 1.6);
    expect(w / h).toBeLessThan(1.6 * 1.6);
  });

  it('connects blocks along the graph, looking through layers without frames, the first to the image', () => {
    const s = summary(
      [8, 8, 3],
      [
        ['a', [8, 8, 4], 'conv', ['in']],
        ['b', [4, 4, 4], 'pool', ['a']],
        ['flat', [64], 'flatten', ['b']],
        ['c', [10], 'dense', ['flat']],
        ['d', [4, 4, 4], 'add', ['a', 'b']],
      ],
      ['a', 'b', 'c', 'd', 'ghost'],
    );
    const layout = computeLayout(s);
    expect(layout.blocks.map((b) => b.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(layout.warnings).toHaveLength(1);
    expect(layout.warnings[0]).toContain('"ghost"');
    expect(layout.edges).toEqual(
      expect.arrayContaining([
        [-1, 0],
        [0, 1],
        [1, 2],
        [0, 3],
        [1, 3],
      ]),
    );
    expect(layout.edges).toHaveLength(5);
    expect(layout.byId.get('c')!.shape).toEqual([1, 1, 10]);
  });

  it('takes a frame’s shape over the analysis when told to', () => {
    const s = summary([8, 8, 3], [['a', [-1, -1, 4], 'conv', ['in']]]);
    expect(computeLayout(s).byId.get('a')!.shape).toEqual([1, 1, 4]);
    const fixed = computeLayout(s, {}, new Map([['a', [6, 5, 4]]]));
    expect(fixed.byId.get('a')!.shape).toEqual([6, 5, 4]);
    expect(fixed.byId.get('a')!.width).toBe(5);
  });
});

describe('camera', () => {
  it('the overview shows every block of the wall', () => {
    const layout = computeLayout(bundled('mobilenetv2'));
    const aspect = 16 / 9;
    const pose = overviewPose(layout, 35, aspect);
    const cam = new PerspectiveCamera(35, aspect, 0.1, 1e6);
    cam.position.set(...pose.position);
    cam.lookAt(new Vector3(...pose.target));
    cam.updateMatrixWorld();
    for (const b of layout.blocks)
      for (const [dx, dy, z] of [
        [-1, -1, 0],
        [1, 1, 0],
        [1, -1, -b.depth],
        [-1, 1, -b.depth],
      ]) {
        const p = new Vector3(b.x + (dx * b.width) / 2, b.y + (dy * b.height) / 2, z).project(cam);
        expect(Math.abs(p.x)).toBeLessThanOrEqual(1);
        expect(Math.abs(p.y)).toBeLessThanOrEqual(1);
      }
  });

  it('focus aims at the block centre from far enough to see it whole', () => {
    const block = { x: 10, y: -20, width: 8, height: 8, depth: 50 };
    const pose = focusPose(block, 35, 1.5);
    expect(pose.target).toEqual([10, -20, -25]);
    const d = Math.hypot(...pose.position.map((v, i) => v - pose.target[i]));
    expect(d).toBeGreaterThanOrEqual(fitDistance(0.5 * Math.hypot(8, 8, 50), 35, 1.5, 1));
    // A 1×1×5 block still gets a readable distance, not a camera inside the neighbours.
    const tiny = focusPose({ x: 0, y: 0, width: 1, height: 1, depth: 2 }, 35, 1.5);
    expect(Math.hypot(...tiny.position.map((v, i) => v - tiny.target[i]))).toBeGreaterThan(10);
  });

  it('clip planes hug the scene box and the glide eases in and out', () => {
    const bounds = { min: [0, -100, -50] as [number, number, number], max: [200, 0, 0] as [number, number, number] };
    const { near, far } = clipPlanes([100, -50, 300], bounds, 0);
    expect(near).toBeLessThanOrEqual(300);
    expect(near).toBeGreaterThan(100);
    expect(far).toBeGreaterThanOrEqual(Math.hypot(100, 50, 350));
    const inside = clipPlanes([100, -50, -10], bounds, 0);
    expect(inside.near).toBeLessThan(1);
    expect(easeInOutCubic(0)).toBe(0);
    expect(easeInOutCubic(1)).toBe(1);
    expect(easeInOutCubic(0.5)).toBeCloseTo(0.5);
    for (let t = 0.05; t <= 1; t += 0.05) expect(easeInOutCubic(t)).toBeGreaterThan(easeInOutCubic(t - 0.05));
  });
});
