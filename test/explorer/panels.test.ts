import { beforeEach, describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import StatusBar from '../../renderer/src/explorer/components/StatusBar.vue';
import LayerScrubber from '../../renderer/src/explorer/components/LayerScrubber.vue';
import ArithmeticPanel from '../../renderer/src/explorer/components/ArithmeticPanel.vue';
import { FakeEngine, fakeBridge, settle } from './fake-engine';

async function loadedStore() {
  const store = useSessionStore();
  await store.connect(fakeBridge(new FakeEngine()));
  store.addImages([{ name: 'cat.png', bytes: new ArrayBuffer(4) }]);
  await store.selectModel('tiny');
  await settle();
  return store;
}

describe('panels', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('status line names the model, the backend and why, the last pass and layers received', async () => {
    await loadedStore();
    const w = mount(StatusBar);
    const text = w.get('[data-testid="status"]').text();
    expect(text).toContain('Tiny CNN');
    // The backend in plain words; the engine's reason is the detail on hover.
    expect(text).toContain('Running on the CPU (WebAssembly)');
    expect(w.get('[data-testid="backend"]').attributes('title')).toContain('forced by the test');
    expect(text).toContain('last pass 6 ms');
    expect(text).toContain('layers 2/2');
  });

  it('layer list has one item per layer, grouped by stage, with the focused one marked', async () => {
    const store = await loadedStore();
    const w = mount(LayerScrubber);
    const items = w.findAll('[data-testid="layer-list"] li[data-layer-id]');
    expect(items.map((i) => i.attributes('data-layer-id'))).toEqual(['conv1', 'pool1']);
    expect(w.findAll('.stage').map((s) => s.text())).toEqual(['8×8', '4×4']);
    expect(items[0].attributes('aria-current')).toBe('true');
    await items[1].trigger('click');
    expect(store.focusedLayer?.id).toBe('pool1');
    expect(w.findAll('li[data-layer-id]')[1].attributes('aria-current')).toBe('true');
    expect(items[0].text()).toContain('8×8×4');
    expect(items[0].text()).toContain('112');
  });

  it('arithmetic panel shows the parameter count and the lecture formula with numbers filled in', async () => {
    await loadedStore();
    const w = mount(ArithmeticPanel, { props: { layerId: 'conv1' } });
    const text = w.text();
    // 3·3·3·4 weights + 4 biases = 112.
    expect(text).toContain('112');
    expect(text).toContain('108 weights + 4 biases');
    expect(text).toMatch(/K·K·C_in·C_out/);
    expect(text).toContain('3·3·3·4');
    expect(text).toMatch(/receptive field\s*3×3/);
  });
});
