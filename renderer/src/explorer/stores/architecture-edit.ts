import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';

/**
 * What the what-if editor (ArchitectureEditor.vue) tells the rest of the UI: which layers the current edit changes
 * and where it breaks, so the 3D scene can mark them. Layer names are the edited network's; they are also the
 * names the edited model has once "Run it" has loaded it.
 */
export const useArchitectureEditStore = defineStore('architecture-edit', () => {
  /** True while the editor is open. */
  const open = ref(false);
  /** The zoo id being edited (`vgg16`), or null when no edit is active. */
  const base = ref<string | null>(null);
  /** Layers that are new or whose shape, params, MACs or receptive field changed. Replaced, never mutated. */
  const changedLayers = shallowRef<ReadonlySet<string>>(new Set());
  /** The first layer that breaks, when the edit breaks the network. */
  const brokenLayer = ref<string | null>(null);

  function publish(next: { base: string; changed: readonly string[]; broken: string | null }): void {
    base.value = next.base;
    changedLayers.value = new Set(next.changed);
    brokenLayer.value = next.broken;
  }

  function clear(): void {
    base.value = null;
    changedLayers.value = new Set();
    brokenLayer.value = null;
  }

  return { open, base, changedLayers, brokenLayer, publish, clear };
});
