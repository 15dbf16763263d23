/**
 * The pretrained weight files "Find weights on this computer…" found (Electron: main searched torchvision's
 * and Keras' caches when asked and remembers them by path). The model picker lists them under "On this
 * computer", so a file found once is one click away in every later run; choosing one opens it as a model.
 * The browser build has none (a page cannot look into folders; it takes the same files by drop).
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { FoundWeights } from '../../../../common/ipc-contract';
import type { HostBridge } from '../../bridge/types';
import { useSessionStore } from './session';

export const useFoundWeightsStore = defineStore('found-weights', () => {
  const entries = ref<FoundWeights[]>([]);
  /** The id being opened, if any. */
  const opening = ref<number | null>(null);

  /** The remembered list, without searching (at start-up). Errors leave the list as it was. */
  async function refresh(bridge: HostBridge): Promise<void> {
    if (!bridge.foundWeights) return;
    try {
      entries.value = await bridge.foundWeights();
    } catch {
      // Reading the remembered list is a convenience; Find weights… reports errors when asked.
    }
  }

  /** Searches the caches now (only ever on the user's request); rejects with main's message. */
  async function search(bridge: HostBridge): Promise<FoundWeights[]> {
    if (!bridge.findWeights) return entries.value;
    entries.value = await bridge.findWeights();
    return entries.value;
  }

  /**
   * Opens found file `id` as a model. Returns null when it loaded, else the message to show (the file is gone,
   * or main could not read it); a file that is gone leaves the list.
   */
  async function open(bridge: HostBridge, id: number): Promise<string | null> {
    const entry = entries.value.find((e) => e.id === id);
    if (!bridge.openFoundWeights || !entry) return `There is no found weight file ${id} (the list changed).`;
    opening.value = id;
    try {
      const result = await bridge.openFoundWeights(id);
      if (result.kind === 'missing') {
        entries.value = entries.value.filter((e) => e.id !== id);
        return result.message;
      }
      if (result.kind === 'model') await useSessionStore().loadUserModel(result.model);
      return null;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return message.includes(entry.name) ? message : `${entry.name}: ${message}`;
    } finally {
      opening.value = null;
    }
  }

  return { entries, opening, refresh, search, open };
});
