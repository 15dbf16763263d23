/**
 * The side panel's unit tools wired to the session store and the protocol: pinning a unit of a conv layer asks the
 * engine for `inspectUnit` and shows its kernel; "Step through" opens the step-through with those numbers;
 * "Effective field" asks for `effectiveField` and overlays its map with the theoretical box; Grad-CAM asks for the
 * chosen class and layer. A pool unit has no kernel, and says so. The engine is scripted (replies are checked by the
 * client's schema like real ones); the tiny model's conv1 is 3×3 'same' with stride 1 on an 8×8 input, so unit
 * (2, 3) sees rows 1…3 and columns 2…4 — the box the test expects, by hand.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import LayerPanel from '../../renderer/src/explorer/components/LayerPanel.vue';
import type { EngineReply, EngineRequest } from '../../common/engine-protocol';
import { FakeEngine, fakeBridge, settle } from './fake-engine';

/** conv1's kernel for channel 1 over 3 input channels: slice s is all (s + 1) · 0.1; the patch is all 1. */
function inspection(req: Extract<EngineRequest, { type: 'inspectUnit' }>) {
  const slice = (s: number) => new Float32Array(9).fill((s + 1) * 0.1);
  const values = new Float32Array(27).fill(1);
  const products = Float32Array.from({ length: 27 }, (_, i) => (Math.floor(i / 9) + 1) * 0.1);
  const sum = 0.9 + 1.8 + 2.7; // Σ products by hand
  return {
    layer: req.layer,
    op: 'conv' as const,
    channel: req.channel,
    y: req.y ?? 0,
    x: req.x ?? 0,
    kernelSize: [3, 3] as [number, number],
    strides: [1, 1] as [number, number],
    dilation: [1, 1] as [number, number],
    pad: [1, 1, 1, 1] as [number, number, number, number],
    kernels: [0, 1, 2].map((s) => ({ inputChannel: s, weights: slice(s), norm: 3 * (s + 1) * 0.1 })),
    rgb: null,
    bias: 0,
    patch: {
      layer: 'input',
      rows: 3,
      cols: 3,
      channels: [0, 1, 2],
      top: 1,
      left: 2,
      step: [1, 1] as [number, number],
      values,
      cells: new Uint8Array(9),
      products,
    },
    stages: [{ layer: req.layer, kind: 'sum' as const, label: `Σ = ${sum.toFixed(2)}`, value: sum, engine: sum }],
    value: sum,
  };
}

/** The scripted engine plus the unit requests. */
class UnitEngine extends FakeEngine {
  private send(r: EngineReply): void {
    // The same route FakeEngine replies by: asynchronously, as over a real port.
    (this as unknown as { reply(r: EngineReply): void }).reply(r);
  }
  postMessage(message: unknown): void {
    const req = message as EngineRequest;
    if (req.type === 'inspectUnit') {
      this.requests.push(req);
      this.send({ type: 'unitInspection', id: req.id, result: inspection(req) });
    } else if (req.type === 'effectiveField') {
      this.requests.push(req);
      const map = new Float32Array(64);
      for (let i = 1; i <= 3; i++) for (let j = 2; j <= 4; j++) map[i * 8 + j] = 1;
      map[2 * 8 + 3] = 5;
      this.send({
        type: 'effectiveField',
        id: req.id,
        result: {
          layer: req.layer,
          channel: req.channel,
          y: req.y ?? 0,
          x: req.x ?? 0,
          height: 8,
          width: 8,
          map,
          max: 5,
          mass: 13,
          box: { top: 1, left: 2, bottom: 3, right: 4, clipped: { top: 1, left: 2, bottom: 3, right: 4 } },
          insideBox: 1,
          share95: 8 / 9,
          pixels95: 8,
        },
      });
    } else if (req.type === 'gradCam') {
      this.requests.push(req);
      this.send({
        type: 'gradCam',
        id: req.id,
        result: {
          layer: req.layer ?? 'conv1',
          classIndex: req.classIndex ?? 0,
          score: 1,
          logit: false,
          layerHeight: 8,
          layerWidth: 8,
          layerMap: new Float32Array(64).fill(1),
          weights: new Float32Array(4),
          height: 8,
          width: 8,
          map: new Float32Array(64).fill(1),
          max: 1,
        },
      });
    } else super.postMessage(message);
  }
}

async function loaded() {
  const engine = new UnitEngine();
  const store = useSessionStore();
  await store.connect(fakeBridge(engine));
  store.addImages([{ name: 'cat.png', bytes: new ArrayBuffer(4) }]);
  await store.selectModel('tiny');
  await settle();
  return { store, engine };
}

describe('unit tools in the side panel', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('without a pinned unit: a hint, no kernel', async () => {
    await loaded();
    const w = mount(LayerPanel, { props: { colorMap: 'auto', normalize: 'channel' } });
    await settle();
    expect(w.find('[data-testid="pin-hint"]').exists()).toBe(true);
    expect(w.find('[data-testid="kernel-view"]').exists()).toBe(false);
  });

  it('pin a conv unit → the kernel shows; Step through opens with the numbers; Effective field → overlay with box', async () => {
    const { store, engine } = await loaded();
    const w = mount(LayerPanel, { props: { colorMap: 'auto', normalize: 'channel' } });
    store.pinUnit({ layerId: 'conv1', channel: 1, y: 2, x: 3 });
    await settle();
    const asked = engine.requests.filter((r) => r.type === 'inspectUnit');
    expect(asked).toEqual([
      { type: 'inspectUnit', id: asked[0].id, modelId: 'tiny', layer: 'conv1', channel: 1, y: 2, x: 3 },
    ]);
    expect(w.get('[data-testid="pinned-unit"]').text()).toContain('conv1[2, 3] ch 1');
    expect(w.find('[data-testid="kernel-view"]').exists()).toBe(true);

    await w.get('[data-testid="step-through-button"]').trigger('click');
    expect(w.find('[data-testid="step-through"]').exists()).toBe(true);
    // Walk to the last step: the sum the engine computed, 5.40.
    for (let i = 0; i < 10 && !w.get('[data-testid="step-next"]').attributes('disabled'); i++)
      await w.get('[data-testid="step-next"]').trigger('click');
    expect(w.get('[data-testid="step-through"]').text()).toContain('5.4');

    await w.get('[data-testid="effective-field-button"]').trigger('click');
    await settle();
    expect(
      engine.requests.some((r) => r.type === 'effectiveField' && r.layer === 'conv1' && r.y === 2 && r.x === 3),
    ).toBe(true);
    const overlay = w.get('[data-testid="effective-field"]');
    const box = overlay.get('[data-testid="heat-box"] rect');
    expect([box.attributes('x'), box.attributes('y'), box.attributes('width'), box.attributes('height')]).toEqual([
      '2',
      '1',
      '3',
      '3',
    ]);
    expect(overlay.get('[data-testid="heat-share"]').text()).toContain('8 px');
    expect(overlay.text()).toContain('Effective field of conv1 #1 (2, 3)');
  });

  it('a pool unit has no kernel (said in words) but does have an effective field', async () => {
    const { store, engine } = await loaded();
    const w = mount(LayerPanel, { props: { colorMap: 'auto', normalize: 'channel' } });
    store.pinUnit({ layerId: 'pool1', channel: 0, y: 1, x: 1 });
    await settle();
    expect(engine.requests.some((r) => r.type === 'inspectUnit')).toBe(false);
    expect(w.get('[data-testid="no-kernel"]').text()).toContain('pool');
    expect(w.find('[data-testid="step-through-button"]').exists()).toBe(false);
    expect(w.find('[data-testid="effective-field-button"]').exists()).toBe(true);
  });

  it('Grad-CAM asks for the chosen layer and shows the overlay', async () => {
    const { engine } = await loaded();
    const w = mount(LayerPanel, { props: { colorMap: 'auto', normalize: 'channel' } });
    await settle();
    await w.get('[data-testid="cam-layer"]').setValue('conv1');
    await w.get('[data-testid="grad-cam-button"]').trigger('click');
    await settle();
    const req = engine.requests.find((r) => r.type === 'gradCam');
    expect(req).toMatchObject({ type: 'gradCam', modelId: 'tiny', layer: 'conv1' });
    expect(req && 'classIndex' in req).toBe(false); // the top prediction: the engine's default
    expect(w.get('[data-testid="grad-cam"]').text()).toContain('Grad-CAM: class 0 on conv1 (8×8)');
  });
});
