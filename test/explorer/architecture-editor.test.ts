import { beforeEach, describe, expect, it, vi } from 'vitest';
import { mount, flushPromises } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import ArchitectureEditor from '../../renderer/src/explorer/components/ArchitectureEditor.vue';
import { useArchitectureEditStore } from '../../renderer/src/explorer/stores/architecture-edit';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import { parseEditFile } from '../../renderer/src/analysis/edit-file';
import type { UserModelFiles } from '../../common/engine-protocol';

const saved: { blob: Blob; name: string }[] = [];
vi.mock('../../renderer/src/explorer/compare/export-files', () => ({
  downloadBlob: (blob: Blob, name: string) => saved.push({ blob, name }),
}));

const text = (files: UserModelFiles) => new TextDecoder().decode(new Uint8Array(files.files[0].bytes));

async function setField(w: ReturnType<typeof mount>, layer: string, field: string, value: string) {
  await w.get('[data-testid="edit-layer"]').setValue(layer);
  // setValue fires input and change, as a user's edit and Enter do.
  await w.get(`input[data-field="${field}"]`).setValue(value);
}

describe('ArchitectureEditor', () => {
  beforeEach(() => {
    setActivePinia(createPinia());
    saved.length = 0;
  });

  it('starts unchanged; vgg16-gap shows fc1 going from 102,764,544 to 2,101,248 parameters', async () => {
    const w = mount(ArchitectureEditor, { props: { initialBase: 'vgg16' } });
    expect(w.get('[data-testid="edit-diff"]').text()).toContain('No change yet');
    expect(w.get('[data-testid="edit-totals"]').text()).toContain('138,357,544 → 138,357,544');
    await w.get('[data-preset="vgg16-gap"]').trigger('click');
    expect(w.get('[data-testid="preset-explanation"]').text()).toContain('global average pooling');
    const fc1 = w.get('tr[data-layer="fc1"]').text();
    expect(fc1).toContain('102,764,544 → 2,101,248');
    // 2,101,248 − 102,764,544 = −100,663,296, saved.
    expect(fc1).toContain('−100,663,296');
    expect(w.get('tr[data-layer="flatten"]').classes()).toContain('removed');
    expect(w.get('[data-testid="edit-totals"]').text()).toContain('138,357,544 → 37,694,248');
    const edits = useArchitectureEditStore();
    expect([...edits.changedLayers].sort()).toEqual(['avg_pool', 'fc1']);
    expect(edits.open).toBe(true);
    w.unmount();
    expect(edits.open).toBe(false);
  });

  it('flags the first layer that breaks, with its formula, and will not run it', async () => {
    const w = mount(ArchitectureEditor, { props: { initialBase: 'vgg16' } });
    await setField(w, 'block5_pool', 'kernel', '15');
    const alert = w.get('[data-testid="edit-break"]').text();
    expect(alert).toContain('block5_pool');
    expect(alert).toContain('below 1×1');
    // ⌊(14 − 15)/2⌋ + 1 = 0.
    expect(alert).toContain('(14 + 2·0 − 15)/2 + 1 = 0.5, floored to 0');
    expect(w.get('[data-testid="edit-run"]').attributes('disabled')).toBeDefined();
    expect(useArchitectureEditStore().brokenLayer).toBe('block5_pool');
    // Undo the field: the network is whole again.
    await w.get('button[aria-label="Undo kernel"]').trigger('click');
    expect(w.find('[data-testid="edit-break"]').exists()).toBe(false);
  });

  it('a value no layer can have is refused with the layer and the field named; the last result stays', async () => {
    const w = mount(ArchitectureEditor, { props: { initialBase: 'vgg16' } });
    await setField(w, 'block1_conv1', 'filters', '32');
    // block1_conv2 now sees 32 channels: 9·32·64 + 64 = 18,496 instead of 36,928.
    expect(w.get('tr[data-layer="block1_conv2"]').text()).toContain('36,928 → 18,496');
    await setField(w, 'block1_conv1', 'kernel', '0');
    expect(w.get('[data-testid="edit-error"]').text()).toContain(
      'layer "block1_conv1": kernel must be a whole number from 1 to 1024',
    );
    expect(w.get('tr[data-layer="block1_conv2"]').text()).toContain('36,928 → 18,496');
    expect(w.find('button[aria-label="Undo kernel"]').exists()).toBe(false);
  });

  it('knob sliders re-run the arithmetic: DenseNet growth rate 12 ends with 389 channels', async () => {
    const w = mount(ArchitectureEditor, { props: { initialBase: 'densenet121' } });
    await w.get('input[data-knob="growthRate"]').setValue('12');
    // By hand: 64 + 6·12 = 136 → 68 → 212 → 106 → 394 → 197 → 197 + 16·12 = 389 channels into the classifier.
    expect(w.get('tr[data-layer="predictions"]').text()).toContain('1,025,000 → 390,000');
    expect(w.get('tr[data-layer="conv5_block16_concat"]').text()).toContain('7×7×1024 → 7×7×389');
    // Nearly every layer changes; the first and last 60 rows are drawn, the ones between counted.
    expect(w.get('[data-testid="edit-more"]').text()).toMatch(/… \d+ more changed layers/);
    expect(w.findAll('tbody tr[data-layer]')).toHaveLength(120);
  });

  it('Save writes an edit file, Run it opens it as a model, Compare emits it with its base', async () => {
    const session = useSessionStore();
    const loaded: UserModelFiles[] = [];
    session.loadUserModel = async (m: UserModelFiles) => {
      loaded.push(m);
    };
    const w = mount(ArchitectureEditor, { props: { initialBase: 'vgg16' } });
    await w.get('[data-preset="5x5-vs-3x3"]').trigger('click');
    await w.get('[data-testid="edit-save"]').trigger('click');
    expect(saved).toHaveLength(1);
    expect(saved[0].name).toBe('vgg16-edited.json');
    expect(parseEditFile(await saved[0].blob.text(), saved[0].name)).toEqual({
      base: 'vgg16',
      preset: '5x5-vs-3x3',
      edits: [],
    });
    await w.get('[data-testid="edit-run"]').trigger('click');
    await flushPromises();
    expect(loaded).toHaveLength(1);
    expect(parseEditFile(text(loaded[0]), loaded[0].name).preset).toBe('5x5-vs-3x3');
    // A further change turns the preset into plain knobs and edits.
    await setField(w, 'fc1', 'units', '1024');
    await w.get('[data-testid="edit-compare"]').trigger('click');
    const ev = w.emitted('compare')?.[0]?.[0] as { base: string; files: UserModelFiles };
    expect(ev.base).toBe('vgg16');
    expect(parseEditFile(text(ev.files), ev.files.name)).toEqual({
      base: 'vgg16',
      knobs: { convsStage3: 2 },
      edits: [
        { layer: 'block3_conv2', field: 'kernel', value: 5 },
        { layer: 'fc1', field: 'units', value: 1024 },
      ],
    });
  });

  it('a preset of another network switches to it', async () => {
    const w = mount(ArchitectureEditor, { props: { initialBase: 'vgg16' } });
    await w.get('[data-preset="densenet-k12"]').trigger('click');
    expect((w.get('[data-testid="edit-base"]').element as HTMLSelectElement).value).toBe('densenet121');
    expect(w.get('tr[data-layer="predictions"]').text()).toContain('1,025,000 → 390,000');
  });
});
