/**
 * A Compare pane's Grad-CAM control: the CAM button asks for the map (and, pressed again, hides it) and the pane
 * overlays the map it holds, captioned with the class name from the model's labels.
 */
import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { markRaw, reactive } from 'vue';
import { analyzeGraph } from '../../renderer/src/analysis';
import { getZooGraph } from '../../renderer/src/zoo';
import ComparePane from '../../renderer/src/explorer/compare/ComparePane.vue';
import { layoutModel } from '../../renderer/src/explorer/compare/alignment';
import type { ComparePane as PaneModel } from '../../renderer/src/explorer/stores/compare';
import type { GradCam, ModelSummary } from '../../common/engine-protocol';

const analysis = analyzeGraph(getZooGraph('alexnet'));
const summary = {
  id: 'alexnet',
  name: 'AlexNet',
  source: 'zoo',
  description: 'AlexNet',
  trained: false,
  preprocess: {} as ModelSummary['preprocess'],
  analysis,
  frameOrder: analysis.layers.map((l) => l.id),
  labels: ['zero', 'one', 'two'],
} as ModelSummary;

function pane(cam: GradCam | null): PaneModel {
  return reactive({
    key: 'alexnet',
    modelId: 'alexnet',
    name: 'AlexNet',
    source: 'zoo',
    summary: markRaw(summary),
    layout: markRaw(layoutModel({ key: 'alexnet', analysis })),
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
    cam,
  }) as PaneModel;
}

const cam: GradCam = {
  layer: 'conv5',
  classIndex: 2,
  score: 1,
  logit: true,
  layerHeight: 2,
  layerWidth: 2,
  layerMap: Float32Array.of(0, 1, 0, 0),
  weights: new Float32Array(4),
  height: 4,
  width: 4,
  map: new Float32Array(16).fill(0.5),
  max: 0.5,
};

describe('ComparePane Grad-CAM', () => {
  it('the CAM button asks for the map; with one, the pane shows it and the button hides it', async () => {
    const p = pane(null);
    const w = mount(ComparePane, { props: { pane: p, color: '#123456', canRemove: false } });
    expect(w.find('[data-testid="compare-cam"]').exists()).toBe(false);
    await w.get('[data-testid="compare-grad-cam"]').trigger('click');
    expect(w.emitted('gradCam')).toEqual([[true]]);
    p.cam = markRaw(cam);
    await w.vm.$nextTick();
    const overlay = w.get('[data-testid="compare-cam"]');
    expect(overlay.text()).toContain('Grad-CAM: two on conv5');
    expect(w.get('[data-testid="compare-grad-cam"]').attributes('aria-pressed')).toBe('true');
    await w.get('[data-testid="compare-grad-cam"]').trigger('click');
    expect(w.emitted('gradCam')).toEqual([[true], [false]]);
  });

  it('the button waits for the pass', () => {
    const p = pane(null);
    p.state = 'running';
    const w = mount(ComparePane, { props: { pane: p, color: '#123456', canRemove: false } });
    expect(w.get('[data-testid="compare-grad-cam"]').attributes('disabled')).toBeDefined();
  });
});
