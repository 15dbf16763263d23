import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import {
  MAX_MODEL_SETTINGS,
  MODEL_SETTINGS_KEY,
  parseModelSettings,
  sanitizeOverride,
  useModelSettingsStore,
} from '../../renderer/src/explorer/stores/model-settings';

/** A new session: a fresh Pinia reading what the last one stored. */
const fresh = () => {
  setActivePinia(createPinia());
  return useModelSettingsStore();
};
const stored = () => JSON.parse(localStorage.getItem(MODEL_SETTINGS_KEY) ?? 'null');

describe('model settings store', () => {
  beforeEach(() => {
    localStorage.clear();
    vi.restoreAllMocks();
  });

  it('remembers a choice per model across sessions, through localStorage', () => {
    const a = fresh();
    expect(a.overrideFor('mobilenetv2')).toBeUndefined();
    expect(a.setOverride('mobilenetv2', { scale: 2, offset: -1, channelOrder: 'bgr' })).toBe(true);
    expect(a.setOverride('user:my-net', { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resize: 'letterbox' })).toBe(
      true,
    );
    expect(stored()).toEqual({
      version: 1,
      entries: [
        { id: 'mobilenetv2', preprocess: { scale: 2, offset: -1, channelOrder: 'bgr' } },
        { id: 'user:my-net', preprocess: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resize: 'letterbox' } },
      ],
    });

    const b = fresh();
    expect(b.overrideFor('mobilenetv2')).toEqual({ scale: 2, offset: -1, channelOrder: 'bgr' });
    expect(b.overrideFor('user:my-net')).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resize: 'letterbox' });
    expect(b.modelIds).toEqual(['mobilenetv2', 'user:my-net']);
  });

  it('replaces with setOverride, merges with updateOverride, and forgets with clear', () => {
    const s = fresh();
    s.setOverride('m', { scale: 2, offset: -1 });
    s.updateOverride('m', { channelOrder: 'bgr' });
    expect(s.overrideFor('m')).toEqual({ scale: 2, offset: -1, channelOrder: 'bgr' });
    s.setOverride('m', { resize: 'stretch' });
    expect(s.overrideFor('m')).toEqual({ resize: 'stretch' });
    s.clear('m');
    expect(s.overrideFor('m')).toBeUndefined();
    expect(fresh().overrideFor('m')).toBeUndefined();
    // An empty choice is no choice.
    s.setOverride('n', {});
    expect(s.modelIds).toEqual([]);
  });

  it('hands out copies: changing what it returned does not change what it remembers', () => {
    const s = fresh();
    s.setOverride('m', { mean: [1, 2, 3] });
    s.overrideFor('m')!.mean![0] = 99;
    expect(s.overrideFor('m')).toEqual({ mean: [1, 2, 3] });
  });

  it('keeps only the fields a user may change, and refuses invalid values and ids', () => {
    const s = fresh();
    expect(s.setOverride('m', { scale: 1, inputSize: [9, 9], channels: 1 })).toBe(true);
    expect(s.overrideFor('m')).toEqual({ scale: 1 });
    expect(s.setOverride('m', { scale: Number.NaN })).toBe(false);
    expect(s.setOverride('m', { std: [1, 0, 1] })).toBe(false);
    expect(s.setOverride('m', { resize: 'zoom' as never })).toBe(false);
    expect(s.setOverride('', { scale: 1 })).toBe(false);
    expect(s.setOverride('x'.repeat(2000), { scale: 1 })).toBe(false);
    expect(s.overrideFor('m')).toEqual({ scale: 1 });
  });

  it('keeps the most recently set models, up to the cap', () => {
    const s = fresh();
    for (let i = 0; i < MAX_MODEL_SETTINGS + 5; i++) s.setOverride(`m${i}`, { scale: i + 1 });
    s.setOverride('m10', { scale: 1 }); // used again: now the most recent
    expect(s.modelIds).toHaveLength(MAX_MODEL_SETTINGS);
    expect(s.overrideFor('m0')).toBeUndefined();
    expect(s.overrideFor('m4')).toBeUndefined();
    expect(s.overrideFor('m5')).toEqual({ scale: 6 });
    expect(s.modelIds.at(-1)).toBe('m10');
    expect(stored().entries).toHaveLength(MAX_MODEL_SETTINGS);
  });

  it('ignores corrupt JSON and values of the wrong shape, without throwing', () => {
    for (const text of [
      '{oops',
      'null',
      '42',
      '"text"',
      '[]',
      '{"version":2,"entries":[]}',
      '{"version":1,"entries":{}}',
      '{"version":1}',
    ]) {
      localStorage.setItem(MODEL_SETTINGS_KEY, text);
      const s = fresh();
      expect(s.modelIds, text).toEqual([]);
      // And it still works: the next choice replaces the corrupt value.
      s.setOverride('m', { scale: 1 });
      expect(fresh().overrideFor('m')).toEqual({ scale: 1 });
    }
  });

  it('skips the bad entries of a stored list and keeps the good ones', () => {
    localStorage.setItem(
      MODEL_SETTINGS_KEY,
      JSON.stringify({
        version: 1,
        entries: [
          { id: 'good', preprocess: { scale: 2, offset: -1 } },
          null,
          'junk',
          { id: 7, preprocess: { scale: 1 } },
          { id: 'no-pre' },
          { id: 'wrong-type', preprocess: { scale: '2' } },
          { id: 'nan', preprocess: { scale: null } },
          { id: 'short-mean', preprocess: { mean: [0.5, 0.5] } },
          { id: 'std0', preprocess: { std: [1, 0, 1] } },
          { id: 'order', preprocess: { channelOrder: 'grb' } },
          { id: 'half-good', preprocess: { scale: 2, resize: 'zoom' } },
          { id: 'extra', preprocess: { resize: 'letterbox', evil: '<script>', inputSize: [1, 1] } },
        ],
      }),
    );
    const s = fresh();
    expect(s.modelIds).toEqual(['good', 'extra']);
    expect(s.overrideFor('extra')).toEqual({ resize: 'letterbox' });
  });

  it('is not fooled by hostile keys', () => {
    localStorage.setItem(
      MODEL_SETTINGS_KEY,
      '{"version":1,"entries":[{"id":"__proto__","preprocess":{"scale":3}},' +
        '{"id":"m","preprocess":{"__proto__":{"scale":5},"constructor":{"prototype":{"x":1}}}}]}',
    );
    const s = fresh();
    expect(s.overrideFor('__proto__')).toEqual({ scale: 3 });
    expect(s.overrideFor('m')).toBeUndefined();
    expect(({} as Record<string, unknown>).scale).toBeUndefined();
    expect(s.overrideFor('toString')).toBeUndefined();
    expect(s.overrideFor('constructor')).toBeUndefined();
  });

  it('keeps working in memory when storage throws', () => {
    vi.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
      throw new DOMException('full', 'QuotaExceededError');
    });
    vi.spyOn(Storage.prototype, 'getItem').mockImplementation(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    const s = fresh();
    expect(s.setOverride('m', { scale: 2 })).toBe(true);
    expect(s.overrideFor('m')).toEqual({ scale: 2 });
  });
});

describe('settings validation helpers', () => {
  it('sanitizeOverride rejects non-objects and keeps valid fields', () => {
    expect(sanitizeOverride(null)).toBeNull();
    expect(sanitizeOverride([1])).toBeNull();
    expect(sanitizeOverride({ offset: Infinity })).toBeNull();
    expect(sanitizeOverride({ offset: -1, scale: 2, mean: [0, 0, 0], std: [1, 1, 1] })).toEqual({
      offset: -1,
      scale: 2,
      mean: [0, 0, 0],
      std: [1, 1, 1],
    });
  });

  it('parseModelSettings keeps the last entry of a repeated id as the most recent', () => {
    const m = parseModelSettings(
      JSON.stringify({
        version: 1,
        entries: [
          { id: 'a', preprocess: { scale: 1 } },
          { id: 'b', preprocess: { scale: 2 } },
          { id: 'a', preprocess: { scale: 3 } },
        ],
      }),
    );
    expect([...m]).toEqual([
      ['b', { scale: 2 }],
      ['a', { scale: 3 }],
    ]);
  });
});
