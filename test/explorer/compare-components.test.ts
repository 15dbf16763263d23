import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { markRaw, reactive } from 'vue';
import { analyzeGraph } from '../../renderer/src/analysis';
import { getZooGraph } from '../../renderer/src/zoo';
import CompareTable from '../../renderer/src/explorer/compare/CompareTable.vue';
import CompareChart from '../../renderer/src/explorer/compare/CompareChart.vue';
import ComparePane from '../../renderer/src/explorer/compare/ComparePane.vue';
import { buildComparisonTable } from '../../renderer/src/explorer/compare/table';
import {
  CHART_COLORS,
  layoutChart,
  metricPoints,
  seriesColor,
} from '../../renderer/src/explorer/compare/chart-geometry';
import { layoutModel } from '../../renderer/src/explorer/compare/alignment';
import type { ComparePane as PaneModel } from '../../renderer/src/explorer/stores/compare';
import type { ModelSummary } from '../../common/engine-protocol';

const vgg = analyzeGraph(getZooGraph('vgg16'));
const resnet = analyzeGraph(getZooGraph('resnet50'));
const table = buildComparisonTable([
  {
    key: 'vgg16',
    modelId: 'vgg16',
    name: 'VGG-16',
    source: 'zoo',
    trained: false,
    analysis: vgg,
    lastPassMs: 1234.5,
    backend: 'wasm',
  },
  {
    key: 'resnet50',
    modelId: 'resnet50',
    name: 'ResNet-50',
    source: 'zoo',
    trained: false,
    analysis: resnet,
    lastPassMs: null,
    backend: null,
  },
]);

describe('CompareTable', () => {
  const w = mount(CompareTable, { props: { table, colors: { vgg16: seriesColor(0), resnet50: seriesColor(1) } } });
  const cell = (model: string, col: string) =>
    w.find(`[data-testid="compare-table"] tr[data-model-id="${model}"] [data-col="${col}"]`);

  it('has a row per model with exact integers in data-value', () => {
    expect(w.findAll('[data-testid="compare-table"] tbody tr').map((r) => r.attributes('data-model-id'))).toEqual([
      'vgg16',
      'resnet50',
    ]);
    expect(cell('vgg16', 'params').attributes('data-value')).toBe('138357544');
    expect(cell('vgg16', 'params').text()).toBe('138,357,544');
    expect(cell('resnet50', 'params').attributes('data-value')).toBe('25636712');
    expect(cell('resnet50', 'depth').attributes('data-value')).toBe('54');
    expect(cell('resnet50', 'path-depth').attributes('data-value')).toBe('50');
    expect(cell('vgg16', 'macs').attributes('data-value')).toBe(String(vgg.totals.macs));
    expect(cell('vgg16', 'dense-params').text()).toContain('(89.4%)');
    expect(cell('vgg16', 'final-rf').text()).toBe('212×212');
    expect(cell('vgg16', 'pass-ms').text()).toBe('1235 ms');
    expect(cell('resnet50', 'pass-ms').text()).toBe('—');
  });

  it('has a stage table whose per-model params add up to the totals', () => {
    const rows = w.findAll('[data-testid="compare-stage-table"] tbody tr');
    expect(rows.map((r) => r.attributes('data-stage'))).toEqual(['1/1', '1/2', '1/4', '1/8', '1/16', '1/32', 'head']);
    for (const [id, total] of [
      ['vgg16', 138_357_544],
      ['resnet50', 25_636_712],
    ] as const) {
      const sum = w
        .findAll(`[data-testid="compare-stage-table"] td[data-model-id="${id}"][data-col="stage-params"]`)
        .reduce((s, c) => s + Number(c.attributes('data-value')), 0);
      expect(sum).toBe(total);
    }
  });
});

describe('CompareChart', () => {
  const series = [vgg, resnet].map((a, i) => ({
    key: String(i),
    label: ['VGG-16', 'ResNet-50'][i],
    color: seriesColor(i),
    points: metricPoints(a, 'cumulative'),
  }));
  const geometry = layoutChart(series, 'cumulative');
  const w = mount(CompareChart, {
    props: { geometry, colors: CHART_COLORS.light, labels: { 0: 'VGG-16', 1: 'ResNet-50' } },
  });

  it('draws one path per model in its colour, with ticks and a legend, all in explicit colours', () => {
    const svg = w.find('[data-testid="compare-chart"]');
    expect(svg.attributes('data-metric')).toBe('cumulative');
    const paths = w.findAll('path[data-series]');
    expect(paths.map((p) => p.attributes('stroke'))).toEqual([seriesColor(0), seriesColor(1)]);
    expect(paths[0].attributes('d')).toBe(geometry.series[0].path);
    expect(w.findAll('circle')).toHaveLength(16 + 54);
    expect(w.text()).toContain('Cumulative parameters');
    expect(w.text()).toContain('ResNet-50');
    expect(w.text()).toContain('150.0M');
    expect(w.html()).not.toContain('var(--');
  });
});

describe('ComparePane', () => {
  const summary = {
    id: 'vgg16',
    name: 'VGG-16',
    source: 'zoo',
    description: 'VGG',
    trained: false,
    preprocess: {} as ModelSummary['preprocess'],
    analysis: vgg,
    frameOrder: vgg.layers.map((l) => l.id),
  } as ModelSummary;
  const pane = (over: Partial<PaneModel>): PaneModel =>
    reactive({
      key: 'vgg16',
      modelId: 'vgg16',
      name: 'VGG-16',
      source: 'zoo',
      summary: markRaw(summary),
      layout: markRaw(layoutModel({ key: 'vgg16', analysis: vgg })),
      preview: null,
      frames: markRaw(new Map()),
      framesVersion: 0,
      state: 'done',
      loading: null,
      received: 0,
      timings: null,
      backend: null,
      error: null,
      focusIndex: 0,
      ...over,
    }) as PaneModel;

  it('shows a progress bar while its model works, and the focused layer with its stage when done', async () => {
    const p = pane({ state: 'running', received: 6 });
    const w = mount(ComparePane, { props: { pane: p, color: '#123456', canRemove: true } });
    expect(w.attributes('data-model-id')).toBe('vgg16');
    expect(w.attributes('data-state')).toBe('running');
    const bar = w.find('[data-testid="compare-progress"] progress');
    expect(Number(bar.attributes('value'))).toBeCloseTo(6 / vgg.layers.length, 6);
    expect(w.find('[data-testid="compare-progress"]').text()).toContain(`layer 6 of ${vgg.layers.length}`);
    p.state = 'done';
    p.focusIndex = 10; // input, 2 convs + pool, 2 convs + pool, 3 convs, then block3_pool
    await w.vm.$nextTick();
    expect(w.find('[data-testid="compare-progress"]').exists()).toBe(false);
    const focus = w.find('[data-testid="compare-focus"]').text();
    expect(focus).toContain('block3_pool');
    expect(focus).toContain('28×28×256');
    expect(focus).toContain('stage 1/8');
    // happy-dom has no WebGL: the pane says so instead of failing.
    expect(w.text()).toContain('3D view unavailable');
  });

  it('shows an indeterminate bar while loading without a size, and the error of a failed pass', async () => {
    const p = pane({ state: 'loading', summary: null, layout: null });
    const w = mount(ComparePane, { props: { pane: p, color: '#123456', canRemove: false } });
    expect(w.find('progress').attributes('value')).toBeUndefined();
    expect(w.text()).toContain('loading the model…');
    expect(w.find('[aria-label^="Remove"]').exists()).toBe(false);
    p.state = 'error';
    p.error = 'chelsea.png: the PNG data is corrupt';
    await w.vm.$nextTick();
    expect(w.find('[role="alert"]').text()).toBe('chelsea.png: the PNG data is corrupt');
  });

  it('asks to step and to be removed', async () => {
    const w = mount(ComparePane, { props: { pane: pane({}), color: '#123456', canRemove: true } });
    await w.find('[aria-label="Next layer"]').trigger('click');
    await w.find('[aria-label="Remove VGG-16 from the comparison"]').trigger('click');
    expect(w.emitted('step')).toEqual([[1]]);
    expect(w.emitted('remove')).toHaveLength(1);
  });
});
