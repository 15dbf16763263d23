/**
 * Effective receptive field per Compare pane. The pane: a click on its scene pins the unit under the pointer (the
 * scene's pick is scripted: happy-dom has no WebGL), shows its theoretical field over the input and in the scene,
 * and "Effective field" asks for it; a drag is no click, the same unit again releases it. The store: a pin and its
 * effective field belong to one pane and go to the engine under that pane's model only; "pin the same place
 * everywhere" pins every pane at the same point of the image, and then computes every pane's field.
 * By hand: VGG-16's block1_conv2 is two 3×3 stride-1 'same' convs, a 5×5 field centred on the unit, so unit
 * (10, 20) sees rows 8…12 and columns 18…22.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { markRaw, reactive, ref } from 'vue';
import { analyzeGraph, unitFootprint } from '../../renderer/src/analysis';
import { getZooGraph } from '../../renderer/src/zoo';
import ComparePane from '../../renderer/src/explorer/compare/ComparePane.vue';
import { layoutModel } from '../../renderer/src/explorer/compare/alignment';
import {
  useCompareStore,
  type CompareEngine,
  type ComparePane as PaneModel,
} from '../../renderer/src/explorer/stores/compare';
import type { HostBridge } from '../../renderer/src/bridge/types';
import type { AnalyzeRun } from '../../common/engine-client';
import type { EffectiveField, ModelSummary } from '../../common/engine-protocol';
import type { PickResult } from '../../renderer/src/explorer/scene';

/** The scene the pane gets: its pick answers what the test says is under the pointer. */
const fakeScene = {
  under: null as PickResult | null,
  pick: vi.fn(() => fakeScene.under),
  showReceptiveField: vi.fn(),
  toggleBlock: vi.fn(),
  view: () => null,
};
vi.mock('../../renderer/src/explorer/scene/use-scene', () => ({
  useScene: () => ({ scene: ref(fakeScene), error: ref(null) }),
}));

const analyses = { vgg16: analyzeGraph(getZooGraph('vgg16')), resnet50: analyzeGraph(getZooGraph('resnet50')) };
const summaryOf = (id: keyof typeof analyses): ModelSummary => ({
  id,
  name: id,
  source: 'zoo',
  description: id,
  trained: false,
  preprocess: {} as ModelSummary['preprocess'],
  analysis: analyses[id],
  frameOrder: analyses[id].layers.map((l) => l.id),
});

function pane(): PaneModel {
  const s = summaryOf('vgg16');
  return reactive({
    key: 'vgg16',
    modelId: 'vgg16',
    name: 'VGG-16',
    source: 'zoo',
    summary: markRaw(s),
    layout: markRaw(layoutModel({ key: 'vgg16', analysis: s.analysis, frameOrder: s.frameOrder })),
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
    cam: null,
    prediction: null,
    pinned: null,
    field: null,
  }) as PaneModel;
}

const unit = { layerId: 'block1_conv2', channel: 3, y: 10, x: 20 };

function field(u: { layer: string; channel: number; y?: number; x?: number }): EffectiveField {
  const map = new Float32Array(224 * 224);
  map[10 * 224 + 20] = 2;
  map[9 * 224 + 20] = 1;
  return {
    layer: u.layer,
    channel: u.channel,
    y: u.y ?? 0,
    x: u.x ?? 0,
    height: 224,
    width: 224,
    map,
    max: 2,
    mass: 3,
    box: { top: 8, left: 18, bottom: 12, right: 22, clipped: { top: 8, left: 18, bottom: 12, right: 22 } },
    insideBox: 1,
    share95: 2 / 25,
    pixels95: 2,
  };
}

beforeEach(() => {
  fakeScene.under = null;
  vi.clearAllMocks();
});

describe('ComparePane: pin a unit, its theoretical and effective field', () => {
  it('a click pins the unit under the pointer; the pane shows its 5×5 field and asks for the effective field', async () => {
    const p = pane();
    const w = mount(ComparePane, { props: { pane: p, color: '#123456', canRemove: false } });
    const canvas = w.get('[data-testid="compare-scene"]');
    fakeScene.under = { ...unit };
    await canvas.trigger('pointerdown', { clientX: 50, clientY: 60 });
    await canvas.trigger('click', { clientX: 51, clientY: 60 });
    expect(fakeScene.pick).toHaveBeenCalledWith(51, 60);
    expect(w.emitted('pin')).toEqual([[unit]]);

    p.pinned = { ...unit };
    await w.vm.$nextTick();
    const view = fakeScene.showReceptiveField.mock.calls.at(-1)![0];
    expect(view.image).toMatchObject({ top: 8, bottom: 12, left: 18, right: 22, inputH: 224, inputW: 224 });
    // The cone on the earlier layers: block1_conv1's units 9…11 × 19…21 (its own 3×3 fields fit in rows 8…12).
    expect(view.regions).toContainEqual({ layerId: 'block1_conv1', y0: 9, y1: 11, x0: 19, x1: 21 });
    const box = w.get('[data-testid="compare-unit"] [data-testid="heat-box"] rect.field');
    expect([box.attributes('x'), box.attributes('y'), box.attributes('width'), box.attributes('height')]).toEqual([
      '18',
      '8',
      '5',
      '5',
    ]);
    expect(w.get('[data-testid="compare-unit"]').text()).toContain('block1_conv2[10, 20] ch 3 · field 5×5');
    // No map yet: no share text, no heat canvas.
    expect(w.find('[data-testid="compare-unit"] [data-testid="heat-share"]').exists()).toBe(false);
    expect(w.find('[data-testid="compare-unit"] canvas').exists()).toBe(false);

    await w.get('[data-testid="compare-efr"]').trigger('click');
    expect(w.emitted('effectiveField')).toEqual([[]]);
    p.field = markRaw(field({ layer: unit.layerId, channel: 3, y: 10, x: 20 }));
    await w.vm.$nextTick();
    const overlay = w.get('[data-testid="compare-unit"]');
    expect(overlay.text()).toContain('Effective field of block1_conv2[10, 20] ch 3');
    expect(overlay.get('[data-testid="heat-share"]').text()).toBe(
      '95 % of the gradient lies on 2 px: 8.0 % of the theoretical field (5×5).',
    );
    expect(overlay.find('canvas').exists()).toBe(true);
  });

  it('a drag is no click; the pinned unit again, or ×, releases it; a collapsed block opens instead', async () => {
    const p = pane();
    p.pinned = { ...unit };
    const w = mount(ComparePane, { props: { pane: p, color: '#123456', canRemove: false } });
    const canvas = w.get('[data-testid="compare-scene"]');
    fakeScene.under = { layerId: 'block2_conv1', channel: 0, y: 1, x: 1 };
    await canvas.trigger('pointerdown', { clientX: 10, clientY: 10 });
    await canvas.trigger('click', { clientX: 40, clientY: 10 });
    expect(w.emitted('pin')).toBeUndefined();
    fakeScene.under = { ...unit };
    await canvas.trigger('click', { clientX: 5, clientY: 5 });
    expect(w.emitted('pin')).toEqual([[null]]);
    await w.get('[aria-label="Release the pinned unit"]').trigger('click');
    expect(w.emitted('pin')).toEqual([[null], [null]]);
    fakeScene.under = { layerId: 'block3_conv3', channel: 0, y: 0, x: 0, blockId: 'block3' };
    await canvas.trigger('click', { clientX: 5, clientY: 5 });
    expect(fakeScene.toggleBlock).toHaveBeenCalledWith('block3');
    expect(w.emitted('pin')).toHaveLength(2);
  });
});

describe('compare store: pins and effective fields per pane', () => {
  async function twoPanes() {
    setActivePinia(createPinia());
    const calls: { modelId: string; unit: { layer: string; channel: number; y?: number; x?: number } }[] = [];
    const engine: CompareEngine = {
      hello: async () => ({
        type: 'ready',
        id: 0,
        tfjsVersion: 'test',
        backend: 'wasm',
        reason: '',
        models: (['vgg16', 'resnet50'] as const).map((id) => summaryOf(id)),
      }),
      loadModel: async (id) => summaryOf(id as keyof typeof analyses),
      loadUserModel: async () => {
        throw new Error('not used');
      },
      analyze: () =>
        ({
          onImage: () => {},
          onFrame: () => {},
          cancel: () => {},
          done: Promise.resolve({
            timings: { decodeMs: 0, forwardMs: 0, extractMs: 0, totalMs: 0, firstFrameMs: 0 },
            backend: 'wasm',
          }),
        }) as unknown as AnalyzeRun,
      effectiveField: async (modelId, u) => {
        calls.push({ modelId, unit: u });
        return field(u);
      },
      dispose: () => {},
    };
    const store = useCompareStore();
    await store.open({ kind: 'web', resourcesBase: '/' } as unknown as HostBridge, engine);
    void store.setImage(
      { name: 'cat.png', bytes: new ArrayBuffer(4) },
      { kind: 'file', name: 'cat.png', path: 'cat.png' },
    );
    void store.addModel('vgg16');
    void store.addModel('resnet50');
    await store.idle();
    return { store, calls };
  }

  it('a pin and its effective field belong to one pane and are asked for with its model only', async () => {
    const { store, calls } = await twoPanes();
    const [vgg, resnet] = store.panes;
    expect([vgg.state, resnet.state]).toEqual(['done', 'done']);
    store.pinUnit('vgg16', unit);
    expect(vgg.pinned).toEqual(unit);
    expect(resnet.pinned).toBeNull();
    await store.effectiveField('vgg16');
    expect(calls).toEqual([{ modelId: 'vgg16', unit: { layer: 'block1_conv2', channel: 3, y: 10, x: 20 } }]);
    expect(vgg.field?.layer).toBe('block1_conv2');
    expect(resnet.field).toBeNull();
    // Another pin drops the field; a new image (a pass) drops it too.
    await store.effectiveField('vgg16');
    store.pinUnit('vgg16', { ...unit, x: 21 });
    expect(vgg.field).toBeNull();
    await store.effectiveField('vgg16');
    expect(vgg.field).not.toBeNull();
    await store.setImage(
      { name: 'dog.png', bytes: new ArrayBuffer(4) },
      { kind: 'file', name: 'dog.png', path: 'dog.png' },
    );
    expect(vgg.field).toBeNull();
    expect(vgg.pinned).toEqual({ ...unit, x: 21 });
  });

  it('“the same place everywhere”: every pane pins the unit centred on the same image point, and gets its field', async () => {
    const { store, calls } = await twoPanes();
    store.pinEverywhere = true;
    const [vgg, resnet] = store.panes;
    const src = { layerId: 'block3_conv2', channel: 200, y: 20, x: 41 };
    store.pinUnit('vgg16', src);
    const there = resnet.pinned!;
    expect(there).not.toBeNull();
    // The target unit's field is centred within half its jump of the source's centre (both models see 224 × 224).
    const centre = (a: typeof analyses.vgg16, u: typeof src) => {
      const f = unitFootprint(a, u.layerId, u.y, u.x);
      return [(f.top + f.bottom) / 2, (f.left + f.right) / 2];
    };
    const [sy, sx] = centre(analyses.vgg16, src);
    const [ty, tx] = centre(analyses.resnet50, there);
    const jump = analyses.resnet50.layers.find((l) => l.id === there.layerId)!.receptiveField!.jump;
    expect(Math.abs(ty - sy)).toBeLessThanOrEqual(jump[0] / 2);
    expect(Math.abs(tx - sx)).toBeLessThanOrEqual(jump[1] / 2);
    // Channel 200 exists in the ResNet layer only if it is that wide; else its last channel.
    const width = analyses.resnet50.layers.find((l) => l.id === there.layerId)!.outputShape[2];
    expect(there.channel).toBe(Math.min(200, width - 1));

    await store.effectiveField('vgg16');
    expect(calls.map((c) => [c.modelId, c.unit.layer])).toEqual([
      ['vgg16', 'block3_conv2'],
      ['resnet50', there.layerId],
    ]);
    expect(vgg.field?.layer).toBe('block3_conv2');
    expect(resnet.field?.layer).toBe(there.layerId);
    store.pinUnit('vgg16', null);
    expect([vgg.pinned, resnet.pinned]).toEqual([null, null]);
  });
});
