import { defineStore } from 'pinia';
import { computed, shallowRef } from 'vue';
import type { Preprocess } from '../../../../common/engine-protocol';
import { numericFieldError } from '../preprocess-presets';

/** The user's input conventions for one model: only the fields they may change (size and channels are the model's). */
export type PreprocessOverride = Partial<
  Pick<Preprocess, 'resize' | 'channelOrder' | 'scale' | 'offset' | 'mean' | 'std'>
>;

/** The one localStorage key the store writes. */
export const MODEL_SETTINGS_KEY = 'fme.model-settings';
/** Models remembered at most; the least recently set go first. */
export const MAX_MODEL_SETTINGS = 200;
/** Longer ids are not remembered (a user model's id may carry a path; this bounds what is stored). */
const MAX_ID_LENGTH = 1024;

const RESIZES: readonly string[] = ['center-crop', 'letterbox', 'stretch'];
const ORDERS: readonly string[] = ['rgb', 'bgr'];

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function tripleOf(x: unknown, field: 'mean' | 'std'): [number, number, number] | null {
  if (!Array.isArray(x) || x.length !== 3) return null;
  if (!x.every((v) => typeof v === 'number' && numericFieldError(field, v) === null)) return null;
  return [x[0], x[1], x[2]];
}

/**
 * A valid override built from untrusted data (storage, or a caller), or null when any field it carries is wrong:
 * a half-kept choice (a mean without its std) would be one the user never made. Unknown keys are dropped;
 * `inputSize` and `channels` are the model's and never overridden.
 */
export function sanitizeOverride(x: unknown): PreprocessOverride | null {
  if (!isRecord(x)) return null;
  const out: PreprocessOverride = {};
  const has = (k: string) => Object.prototype.hasOwnProperty.call(x, k) && x[k] !== undefined;
  if (has('resize')) {
    if (typeof x.resize !== 'string' || !RESIZES.includes(x.resize)) return null;
    out.resize = x.resize as Preprocess['resize'];
  }
  if (has('channelOrder')) {
    if (typeof x.channelOrder !== 'string' || !ORDERS.includes(x.channelOrder)) return null;
    out.channelOrder = x.channelOrder as Preprocess['channelOrder'];
  }
  for (const k of ['scale', 'offset'] as const) {
    if (!has(k)) continue;
    const v = x[k];
    if (typeof v !== 'number' || numericFieldError(k, v) !== null) return null;
    out[k] = v;
  }
  for (const k of ['mean', 'std'] as const) {
    if (!has(k)) continue;
    const t = tripleOf(x[k], k);
    if (!t) return null;
    out[k] = t;
  }
  return out;
}

const validId = (id: unknown): id is string => typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH;

/** Reads the stored settings; anything corrupt, of the wrong shape or hostile is skipped, never thrown. */
export function parseModelSettings(text: string | null): Map<string, PreprocessOverride> {
  const out = new Map<string, PreprocessOverride>();
  if (!text) return out;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return out;
  }
  if (!isRecord(doc) || doc.version !== 1 || !Array.isArray(doc.entries)) return out;
  // Stored oldest first; only the last MAX_MODEL_SETTINGS count.
  for (const e of doc.entries.slice(-MAX_MODEL_SETTINGS)) {
    if (!isRecord(e) || !validId(e.id)) continue;
    const o = sanitizeOverride(e.preprocess);
    if (!o || Object.keys(o).length === 0) continue;
    out.delete(e.id);
    out.set(e.id, o);
  }
  return out;
}

/** The text stored for these settings (oldest first). */
export function serializeModelSettings(entries: ReadonlyMap<string, PreprocessOverride>): string {
  return JSON.stringify({ version: 1, entries: [...entries].map(([id, preprocess]) => ({ id, preprocess })) });
}

const copy = (o: PreprocessOverride): PreprocessOverride => ({
  ...o,
  ...(o.mean ? { mean: [...o.mean] as [number, number, number] } : {}),
  ...(o.std ? { std: [...o.std] as [number, number, number] } : {}),
});

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    // Access itself throws where storage is disabled (opaque origins, some privacy settings).
    return null;
  }
}

/**
 * The user's input-convention choice per model file (key: the model's id), remembered across sessions in
 * localStorage under one key. Without storage (or when it is full) the choices last for the session only.
 */
export const useModelSettingsStore = defineStore('model-settings', () => {
  // A Map in insertion order = least recently set first; replaced on every change so watchers see it.
  const entries = shallowRef<Map<string, PreprocessOverride>>(parseModelSettings(readStored()));

  function readStored(): string | null {
    try {
      return storage()?.getItem(MODEL_SETTINGS_KEY) ?? null;
    } catch {
      return null;
    }
  }

  function commit(next: Map<string, PreprocessOverride>): void {
    while (next.size > MAX_MODEL_SETTINGS) next.delete(next.keys().next().value as string);
    entries.value = next;
    try {
      storage()?.setItem(MODEL_SETTINGS_KEY, serializeModelSettings(next));
    } catch {
      // Quota exceeded or storage disabled: keep the choice in memory.
    }
  }

  /** The user's conventions for this model, or undefined when they use the model's own. A copy. */
  function overrideFor(modelId: string): Partial<Preprocess> | undefined {
    const o = entries.value.get(modelId);
    return o ? copy(o) : undefined;
  }

  /**
   * Replaces the user's conventions for this model (an empty object clears them). Returns false, and changes
   * nothing, for an invalid id or value.
   */
  function setOverride(modelId: string, p: Partial<Preprocess>): boolean {
    if (!validId(modelId)) return false;
    const o = sanitizeOverride(p);
    if (!o) return false;
    const next = new Map(entries.value);
    next.delete(modelId);
    if (Object.keys(o).length > 0) next.set(modelId, o);
    commit(next);
    return true;
  }

  /** Merges a change (what InputConventions emits) into this model's conventions. */
  function updateOverride(modelId: string, patch: Partial<Preprocess>): boolean {
    return setOverride(modelId, { ...entries.value.get(modelId), ...patch });
  }

  /** Forgets the user's conventions for this model: it goes back to its own. */
  function clear(modelId: string): void {
    if (!entries.value.has(modelId)) return;
    const next = new Map(entries.value);
    next.delete(modelId);
    commit(next);
  }

  /** Model ids with a remembered choice, least recently set first. */
  const modelIds = computed(() => [...entries.value.keys()]);

  return { modelIds, overrideFor, setOverride, updateOverride, clear };
});
