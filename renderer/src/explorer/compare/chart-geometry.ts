/**
 * The comparison charts as geometry: series (parameters per layer, cumulative parameters, receptive field —
 * each against depth), shared axes with readable ticks, and SVG path strings. Pure; CompareChart.vue draws it.
 */
import type { ModelAnalysis } from '../../../../common/analysis-types';
import { formatCount } from '../format';
import { isWeighted } from './alignment';

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies, one per pane (≤ 4). */
export const SERIES_COLORS = ['#0072b2', '#e69f00', '#009e73', '#cc79a7'] as const;

/** The colour of the i-th model of a comparison. */
export function seriesColor(i: number): string {
  return SERIES_COLORS[i % SERIES_COLORS.length];
}

/** Colours of a chart. Explicit values, not CSS variables, so the SVG rasterises to PNG exactly as shown. */
export interface ChartColors {
  background: string;
  text: string;
  muted: string;
  grid: string;
}

/** Chart colours for the light and dark themes (theme.css's panel, text, muted and border colours). */
export const CHART_COLORS: Record<'light' | 'dark', ChartColors> = {
  light: { background: '#ffffff', text: '#1b1f24', muted: '#5b6472', grid: '#e3e6eb' },
  dark: { background: '#181c22', text: '#e6e9ee', muted: '#98a2b3', grid: '#2d333d' },
};

/** What a chart plots against depth. */
export type ChartMetric = 'params' | 'cumulative' | 'rf';

/** Titles and axis names of each metric, and whether its y axis is logarithmic. */
export const CHART_METRICS: Record<ChartMetric, { title: string; yLabel: string; log: boolean }> = {
  params: { title: 'Parameters per layer', yLabel: 'parameters (log scale)', log: true },
  cumulative: { title: 'Cumulative parameters', yLabel: 'parameters', log: false },
  rf: { title: 'Receptive field', yLabel: 'receptive field (px)', log: false },
};

/** One point of a model's line. */
export interface SeriesPoint {
  /** Depth: the ordinal of the weighted layer, 1-based, in graph order. */
  x: number;
  y: number;
  layerId: string;
}

/** One model's line. */
export interface Series {
  key: string;
  label: string;
  color: string;
  points: SeriesPoint[];
}

/**
 * One model's points for a metric, one per layer with weights (x = its ordinal, so the last x is the model's
 * depth as the table counts it):
 * - params: that layer's parameters;
 * - cumulative: parameters of every layer up to it and its trailing BN / activations (the last point is the total);
 * - rf: the larger side of its receptive field, while it has one (dense layers have none and are left out).
 */
export function metricPoints(analysis: ModelAnalysis, metric: ChartMetric): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  let ordinal = 0;
  let running = 0;
  for (const layer of analysis.layers) {
    running += layer.params.total;
    if (!isWeighted(layer)) {
      if (metric === 'cumulative' && points.length) points[points.length - 1].y = running;
      continue;
    }
    ordinal++;
    if (metric === 'params') points.push({ x: ordinal, y: layer.params.total, layerId: layer.id });
    else if (metric === 'cumulative') points.push({ x: ordinal, y: running, layerId: layer.id });
    else if (layer.receptiveField) {
      points.push({ x: ordinal, y: Math.max(...layer.receptiveField.size), layerId: layer.id });
    }
  }
  return points;
}

/** An axis tick: value, pixel position, label. */
export interface Tick {
  value: number;
  /** Pixel position along the axis. */
  pos: number;
  label: string;
}

/** "Nice" linear ticks (steps of 1, 2 or 5 × 10^k) covering [min, max] with about `count` intervals. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw - 1e-12) ?? 10 * mag;
  const first = Math.floor(min / step + 1e-9) * step;
  const last = Math.ceil(max / step - 1e-9) * step;
  const out: number[] = [];
  // Rounding to the step's precision keeps 0.1 + 0.2 from showing up as 0.30000000000000004.
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  for (let v = first; v <= last + step / 2; v += step) out.push(Number(v.toFixed(digits)));
  return out;
}

/** Powers of ten covering [min, max] (min > 0), at least two. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-12)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, min))));
  const out: number[] = [];
  for (let e = lo; e <= hi; e++) out.push(10 ** e);
  return out;
}

/** A chart's size in pixels and the margins around its plot area. */
export interface ChartBox {
  width: number;
  height: number;
  margin: { top: number; right: number; bottom: number; left: number };
}

/** Room at the top for the title (y ≈ 16) and a legend row (y ≈ 32). */
export const DEFAULT_BOX: ChartBox = { width: 360, height: 230, margin: { top: 44, right: 12, bottom: 36, left: 56 } };

/** A line laid out in pixels. */
export interface PlottedSeries extends Series {
  /** SVG path data ('M x y L x y …'), empty for no points. */
  path: string;
  /** The points in pixels. */
  pixels: { px: number; py: number; x: number; y: number; layerId: string }[];
}

/** Everything needed to draw one chart. */
export interface ChartGeometry {
  metric: ChartMetric;
  title: string;
  xLabel: string;
  yLabel: string;
  box: ChartBox;
  /** Plot area in pixels. */
  plot: { left: number; top: number; right: number; bottom: number };
  xTicks: Tick[];
  yTicks: Tick[];
  series: PlottedSeries[];
  /** False when no model has a point (nothing to draw). */
  hasData: boolean;
}

/**
 * Lays out one chart for several models on shared axes: x from 0 to the deepest model's depth, y over every
 * model's values (log scale for per-layer parameters, whose range spans 1 K to 100 M in VGG-16 alone).
 * Layers without parameters (log scale) are left out of the line rather than drawn at an invented floor.
 */
export function layoutChart(
  series: readonly Series[],
  metric: ChartMetric,
  box: ChartBox = DEFAULT_BOX,
): ChartGeometry {
  const spec = CHART_METRICS[metric];
  const plot = {
    left: box.margin.left,
    top: box.margin.top,
    right: box.width - box.margin.right,
    bottom: box.height - box.margin.bottom,
  };
  const usable = series.map((s) => ({ ...s, points: spec.log ? s.points.filter((p) => p.y > 0) : s.points }));
  const all = usable.flatMap((s) => s.points);
  const hasData = all.length > 0;
  const xMax = Math.max(1, ...all.map((p) => p.x));
  const xTickValues = niceTicks(0, xMax, 6);
  const xHi = xTickValues[xTickValues.length - 1];
  const yMinData = hasData ? Math.min(...all.map((p) => p.y)) : 0;
  const yMaxData = hasData ? Math.max(...all.map((p) => p.y)) : 1;
  const yTickValues = spec.log
    ? logTicks(Math.max(1, yMinData), Math.max(10, yMaxData))
    : niceTicks(0, Math.max(1, yMaxData), 5);
  const yLo = yTickValues[0];
  const yHi = yTickValues[yTickValues.length - 1];
  const sx = (x: number) => plot.left + (x / xHi) * (plot.right - plot.left);
  const sy = spec.log
    ? (y: number) =>
        plot.bottom -
        ((Math.log10(y) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * (plot.bottom - plot.top)
    : (y: number) => plot.bottom - ((y - yLo) / (yHi - yLo || 1)) * (plot.bottom - plot.top);
  const r = (v: number) => Math.round(v * 100) / 100;
  return {
    metric,
    title: spec.title,
    xLabel: 'depth (layers with weights)',
    yLabel: spec.yLabel,
    box,
    plot,
    xTicks: xTickValues.map((v) => ({ value: v, pos: r(sx(v)), label: String(v) })),
    yTicks: yTickValues.map((v) => ({ value: v, pos: r(sy(v)), label: formatCount(v) })),
    series: usable.map((s) => {
      const pixels = s.points.map((p) => ({ ...p, px: r(sx(p.x)), py: r(sy(p.y)) }));
      return { ...s, pixels, path: pixels.map((p, i) => `${i ? 'L' : 'M'}${p.px} ${p.py}`).join(' ') };
    }),
    hasData,
  };
}
