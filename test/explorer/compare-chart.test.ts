import { describe, expect, it } from 'vitest';
import { analyzeGraph } from '../../renderer/src/analysis';
import { getZooGraph } from '../../renderer/src/zoo';
import {
  DEFAULT_BOX,
  layoutChart,
  logTicks,
  metricPoints,
  niceTicks,
  seriesColor,
  type Series,
} from '../../renderer/src/explorer/compare/chart-geometry';

const vgg = analyzeGraph(getZooGraph('vgg16'));
const resnet = analyzeGraph(getZooGraph('resnet50'));
const series = (metric: 'params' | 'cumulative' | 'rf'): Series[] =>
  [vgg, resnet].map((a, i) => ({
    key: String(i),
    label: String(i),
    color: seriesColor(i),
    points: metricPoints(a, metric),
  }));

describe('chart series', () => {
  it('has one point per layer with weights, x running to the model depth', () => {
    const p = metricPoints(vgg, 'params');
    expect(p).toHaveLength(16);
    expect(p.map((q) => q.x)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(p[0]).toMatchObject({ layerId: 'block1_conv1', y: 3 * 3 * 3 * 64 + 64 });
    expect(p[13]).toMatchObject({ layerId: 'fc1', y: 25088 * 4096 + 4096 });
    expect(metricPoints(resnet, 'params')).toHaveLength(resnet.totals.depth);
  });

  it('accumulates parameters (BN included) so the last point is the total', () => {
    for (const a of [vgg, resnet]) {
      const c = metricPoints(a, 'cumulative');
      expect(c[c.length - 1].y).toBe(a.totals.params);
      for (let i = 1; i < c.length; i++) expect(c[i].y).toBeGreaterThanOrEqual(c[i - 1].y);
    }
    // ResNet's first point covers the stem conv and its BN (the BN's 256 parameters follow the conv).
    expect(metricPoints(resnet, 'cumulative')[0].y).toBe(7 * 7 * 3 * 64 + 64 + 4 * 64);
  });

  it('follows the receptive field while it exists: growing, and absent for dense layers', () => {
    const rf = metricPoints(vgg, 'rf');
    expect(rf).toHaveLength(13);
    expect(rf[0].y).toBe(3);
    expect(rf[1].y).toBe(5);
    for (let i = 1; i < rf.length; i++) expect(rf[i].y).toBeGreaterThan(rf[i - 1].y);
  });
});

describe('ticks', () => {
  it('picks 1-2-5 steps covering the range', () => {
    expect(niceTicks(0, 54, 6)).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(niceTicks(0, 16, 6)).toEqual([0, 5, 10, 15, 20]);
    expect(niceTicks(0, 0.3, 3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0, 138_357_544, 5)).toEqual([0, 5e7, 1e8, 1.5e8]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it('uses whole decades on a log axis', () => {
    expect(logTicks(1792, 102_764_544)).toEqual([1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9]);
    expect(logTicks(10, 10)).toEqual([10, 100]);
  });
});

describe('chart layout on shared axes', () => {
  it('puts both models on one x axis up to the deeper one and one y axis over both', () => {
    const g = layoutChart(series('cumulative'), 'cumulative');
    expect(g.hasData).toBe(true);
    expect(g.xTicks.at(-1)!.value).toBeGreaterThanOrEqual(54);
    expect(g.yTicks.at(-1)!.value).toBeGreaterThanOrEqual(138_357_544);
    expect(g.xTicks[0].pos).toBe(g.plot.left);
    expect(g.xTicks.at(-1)!.pos).toBe(g.plot.right);
    expect(g.yTicks[0].pos).toBe(g.plot.bottom);
    // VGG's last point is its total; ResNet's (smaller) total sits lower (larger y in pixels).
    const [v, r] = g.series;
    expect(v.pixels.at(-1)!.py).toBeLessThan(r.pixels.at(-1)!.py);
    expect(v.path.startsWith('M')).toBe(true);
    expect(v.path.split('L')).toHaveLength(16);
    for (const p of [...v.pixels, ...r.pixels]) {
      expect(p.px).toBeGreaterThanOrEqual(g.plot.left);
      expect(p.px).toBeLessThanOrEqual(g.plot.right);
      expect(p.py).toBeGreaterThanOrEqual(g.plot.top);
      expect(p.py).toBeLessThanOrEqual(g.plot.bottom);
    }
  });

  it('maps values logarithmically for parameters per layer', () => {
    const g = layoutChart(series('params'), 'params');
    const tick = (v: number) => g.yTicks.find((t) => t.value === v)!.pos;
    // Equal ratios, equal distances.
    expect(tick(1e4) - tick(1e5)).toBeCloseTo(tick(1e5) - tick(1e6), 1);
    const fc1 = g.series[0].pixels.find((p) => p.layerId === 'fc1')!;
    const frac =
      (Math.log10(fc1.y) - Math.log10(g.yTicks[0].value)) /
      (Math.log10(g.yTicks.at(-1)!.value) - Math.log10(g.yTicks[0].value));
    expect(fc1.py).toBeCloseTo(g.plot.bottom - frac * (g.plot.bottom - g.plot.top), 1);
    expect(g.yTicks.map((t) => t.label)).toContain('1.0M');
  });

  it('leaves zero-parameter layers off a log axis and says when there is nothing to draw', () => {
    const s: Series[] = [
      {
        key: 'a',
        label: 'a',
        color: '#000',
        points: [
          { x: 1, y: 0, layerId: 'z' },
          { x: 2, y: 100, layerId: 'w' },
        ],
      },
    ];
    expect(layoutChart(s, 'params').series[0].pixels.map((p) => p.layerId)).toEqual(['w']);
    const empty = layoutChart([], 'rf', DEFAULT_BOX);
    expect(empty.hasData).toBe(false);
    expect(empty.series).toEqual([]);
  });
});
