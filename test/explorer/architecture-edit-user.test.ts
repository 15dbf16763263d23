/**
 * "Edit architecture" on a model opened from a file: the editor offers the model on screen (its own graph, as the
 * engine sends it with the summary), lists that model's layers, says knobs are for the built-in architectures, and
 * its edits give the hand-computed numbers, marks for the scene and an edit file that carries the graph.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import ArchitectureEditor from '../../renderer/src/explorer/components/ArchitectureEditor.vue';
import { useArchitectureEditStore } from '../../renderer/src/explorer/stores/architecture-edit';
import { useSessionStore } from '../../renderer/src/explorer/stores/session';
import { analyzeGraph } from '../../renderer/src/analysis';
import { parseEditFile } from '../../renderer/src/analysis/edit-file';
import { openModelFiles } from '../../renderer/src/formats';
import type { ModelSummary, UserModelFiles } from '../../common/engine-protocol';

const FILE = 'onnx-ccoltong-lenet-batch10.onnx';

async function lenetSummary(): Promise<ModelSummary> {
  const bytes = new Uint8Array(readFileSync(resolve(__dirname, '../fixtures/models', FILE)));
  const { graph } = await openModelFiles([{ path: FILE, bytes }], FILE);
  const analysis = analyzeGraph(graph);
  return {
    id: `user:${FILE}`,
    name: FILE,
    source: 'user',
    description: 'LeNet',
    trained: true,
    format: 'onnx',
    preprocess: {} as never,
    analysis,
    frameOrder: analysis.layers.filter((l) => l.kind !== 'input').map((l) => l.id),
    graph,
  };
}

describe('ArchitectureEditor on a user model', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('lists the model’s own layers and edits them; knobs are for the built-in architectures', async () => {
    const session = useSessionStore();
    session.summary = await lenetSummary();
    const loaded: UserModelFiles[] = [];
    session.loadUserModel = async (m: UserModelFiles) => {
      loaded.push(m);
    };
    const w = mount(ArchitectureEditor);
    const base = w.get('[data-testid="edit-base"]').element as HTMLSelectElement;
    expect(base.selectedOptions[0].textContent).toBe(`${FILE} (on screen)`);
    // Its convs, pools and dense layers, in graph order (ONNX node names).
    const layers = w.findAll('[data-testid="edit-layer"] option').map((o) => o.text());
    expect(layers).toEqual(['11', '13', '14', '16', '19', '21', '23']);
    expect(w.find('[data-testid="edit-knobs-zoo-only"]').text()).toContain('built-in architectures only');
    expect(w.findAll('input[data-knob]')).toHaveLength(0);

    await w.get('[data-testid="edit-layer"]').setValue('11');
    await w.get('input[data-field="kernel"]').setValue('3');
    // 5·5·1·6 + 6 = 156 → 3·3·1·6 + 6 = 60; (28 + 2·2 − 3)/1 + 1 = 30.
    const row = w.get('tr[data-layer="11"]').text();
    expect(row).toContain('156 → 60');
    expect(row).toContain('28×28×6 → 30×30×6');
    const store = useArchitectureEditStore();
    expect(store.base).toBe(`user:${FILE}`);
    expect(store.frames).toBe('original');
    expect(store.changedLayers.has('11')).toBe(true);
    expect(store.marks.get('11')?.text).toBe('k 5→3 · 28×28×6→30×30×6 · −96 params');

    await w.get('[data-testid="edit-run"]').trigger('click');
    await flushPromises();
    expect(loaded).toHaveLength(1);
    expect(loaded[0].name).toBe(`${FILE}-edited.json`);
    const spec = parseEditFile(new TextDecoder().decode(new Uint8Array(loaded[0].files[0].bytes)), loaded[0].name);
    expect(spec.base).toBe(FILE);
    expect(spec.graph?.nodes.map((n) => n.name)).toEqual(session.summary.graph!.nodes.map((n) => n.name));
    expect(spec.edits).toEqual([{ layer: '11', field: 'kernel', value: 3 }]);
    w.unmount();
    expect(store.open).toBe(false);
    expect(store.marks.size).toBe(0);
  });
});
