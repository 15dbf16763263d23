import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { ModelAnalysis } from '../../../../common/analysis-types';
import type { LayerMark } from '../../analysis/edit';

export type EditFrames = 'original' | 'edited' | 'none';

/** What the editor publishes after each change. */
export interface EditPublication {
  /** The zoo id, or the user model's id, being edited. */
  base: string;
  /**
   * What the frames of the model on screen show: 'original' — the network being edited (they stand for its unchanged
   * layers), 'edited' — this very edit, run ("Run it"), 'none' — another network.
   */
  frames: EditFrames;
  changed: readonly string[];
  broken: string | null;
  /** The edited network's analysis (null when the edit breaks it) and the original's. */
  analysis: ModelAnalysis | null;
  baseAnalysis: ModelAnalysis;
  /** Per layer: what the scene writes under its label (analysis/edit.ts `layerMarks`). */
  marks: ReadonlyMap<string, LayerMark>;
}

/**
 * What the what-if editor (ArchitectureEditor.vue) tells the rest of the UI: which layers the current edit changes
 * and where it breaks, the edited network's analysis and the marks of each changed layer, so the 3D scene can draw
 * the edited network and mark them. Layer names are the edited network's; they are also the names the edited model
 * has once "Run it" has loaded it. Analyses are kept raw (never deep-reactive: DenseNet's has 429 layers).
 */
export const useArchitectureEditStore = defineStore('architecture-edit', () => {
  /** True while the editor is open. */
  const open = ref(false);
  /** The zoo id (`vgg16`) or user model id being edited, or null when no edit is active. */
  const base = ref<string | null>(null);
  const frames = ref<EditFrames>('none');
  /** Layers that are new or whose shape, params, MACs or receptive field changed. Replaced, never mutated. */
  const changedLayers = shallowRef<ReadonlySet<string>>(new Set());
  /** The first layer that breaks, when the edit breaks the network. */
  const brokenLayer = ref<string | null>(null);
  const analysis = shallowRef<ModelAnalysis | null>(null);
  const baseAnalysis = shallowRef<ModelAnalysis | null>(null);
  const marks = shallowRef<ReadonlyMap<string, LayerMark>>(new Map());

  function publish(next: EditPublication): void {
    base.value = next.base;
    frames.value = next.frames;
    changedLayers.value = new Set(next.changed);
    brokenLayer.value = next.broken;
    analysis.value = next.analysis ? markRaw(next.analysis) : null;
    baseAnalysis.value = markRaw(next.baseAnalysis);
    marks.value = next.marks;
  }

  function clear(): void {
    base.value = null;
    frames.value = 'none';
    changedLayers.value = new Set();
    brokenLayer.value = null;
    analysis.value = null;
    baseAnalysis.value = null;
    marks.value = new Map();
  }

  return { open, base, frames, changedLayers, brokenLayer, analysis, baseAnalysis, marks, publish, clear };
});
