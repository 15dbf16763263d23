/**
 * Channel health in the UI: the layer list shows a bar per received layer and the side panel a line, from the
 * frame's per-channel float ranges (dead: min = max = 0; saturated: min ≥ the layer's clip value from the summary)
 * and its zero count; the channel grid sorts dead first. The frame is built by hand so the expected numbers are
 * known: conv1 has 4 channels of 8 × 8 = 256 values, channel 1 dead, channel 3 pinned at 6 (ReLU6), 74 zeros.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import LayerScrubber from '../../renderer/src/explorer/components/LayerScrubber.vue';
import LayerPanel from '../../renderer/src/explorer/components/LayerPanel.vue';
import { healthOrder } from '../../renderer/src/engine/channel-health';
import type { LayerFrame } from '../../common/engine-protocol';
import { FakeEngine, fakeBridge, frameFor, settle } from './fake-engine';

async function withHealth() {
  const store = useSessionStore();
  await store.connect(fakeBridge(new FakeEngine()));
  store.addImages([{ name: 'cat.png', bytes: new ArrayBuffer(4) }]);
  await store.selectModel('tiny');
  await settle();
  store.summary = { ...store.summary!, clips: { conv1: 6 } };
  const f: LayerFrame = {
    ...frameFor('conv1', 0, [8, 8, 4]),
    min: Float32Array.of(-1, 0, 0, 6),
    max: Float32Array.of(2, 0, 3, 6),
    zeros: 74,
  };
  store.frames = new Map([...store.frames, ['conv1', f]]);
  store.framesVersion++;
  await settle();
  return store;
}

describe('channel health in the layer list and the panel', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('the store derives dead, saturated and sparsity from the frame', async () => {
    const store = await withHealth();
    const h = store.healthOf('conv1')!;
    expect([h.channels, h.dead, h.saturated, h.clip]).toEqual([4, 1, 1, 6]);
    expect(h.sparsity).toBeCloseTo(74 / 256, 12);
    expect([...h.state]).toEqual([0, 1, 0, 2]);
  });

  it('the layer list shows a bar with the numbers in words', async () => {
    await withHealth();
    const w = mount(LayerScrubber);
    const bar = w.get('li[data-layer-id="conv1"] [data-testid="health-bar"]');
    expect(bar.attributes('aria-label')).toBe('1 of 4 channels dead (25%) · 29% zeros · 1 saturated at 6 (25%)');
  });

  it('the panel has a health line and a "by health" sort', async () => {
    await withHealth();
    const w = mount(LayerPanel, { props: { colorMap: 'auto', normalize: 'channel' } });
    await settle();
    expect(w.get('[data-testid="channel-health"]').text()).toContain(
      '1 of 4 channels dead (all zero on this image) · 28.9 % of values zero · 1 saturated at 6',
    );
    const options = w
      .get('[data-testid="channel-sort"]')
      .findAll('option')
      .map((o) => o.attributes('value'));
    expect(options).toContain('health');
  });

  it('sort by health: dead first, then saturated, then the rest, each in channel order', () => {
    expect(healthOrder(Uint8Array.of(0, 1, 0, 2, 1, 0))).toEqual([1, 4, 3, 0, 2, 5]);
  });
});
