import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clampBounds, MAX_RECENT, parseState, STATE_FILE, StateStore, type WindowBounds } from '../../main/state';

let dir: string;
let logs: string[];
const log = (m: string) => logs.push(m);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fme-state-'));
  logs = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('parseState', () => {
  it('ignores a corrupt file, naming it', () => {
    const s = parseState('{"bounds": {"x": 1', '/u/explorer-state.json', log);
    expect(s).toEqual({ version: 1, bounds: null, recent: [], found: [] });
    expect(logs[0]).toMatch(/^\/u\/explorer-state.json: not valid JSON/);
  });

  it('ignores a file of the wrong shape', () => {
    expect(parseState('[1,2,3]', 'f.json', log).recent).toEqual([]);
    expect(parseState('null', 'f.json', log).bounds).toBeNull();
    expect(logs).toHaveLength(2);
  });

  it('keeps the good sections and drops the bad ones separately', () => {
    const text = JSON.stringify({
      bounds: { x: 10, y: 'twenty', width: 800, height: 600 },
      recent: [
        { id: 1, kind: 'image', name: 'cat.png', path: '/p/cat.png', openedAt: 5 },
        { id: 2, kind: 'script', name: 'x', path: '/x', openedAt: 5 },
        { id: 3, kind: 'model', name: 'm', path: '', openedAt: 5 },
        { id: 1, kind: 'image', name: 'dup.png', path: '/p/dup.png', openedAt: 5 },
        'garbage',
      ],
    });
    const s = parseState(text, 'f.json', log);
    expect(s.bounds).toBeNull();
    expect(s.recent).toEqual([{ id: 1, kind: 'image', name: 'cat.png', path: '/p/cat.png', openedAt: 5 }]);
    expect(logs.filter((l) => l.includes('recent entry'))).toHaveLength(3);
    expect(logs.some((l) => l.includes('window bounds'))).toBe(true);
  });

  it('reads valid bounds (maximized defaults to false)', () => {
    const s = parseState(JSON.stringify({ bounds: { x: -5, y: 20, width: 900, height: 700 } }), 'f.json', log);
    expect(s.bounds).toEqual({ x: -5, y: 20, width: 900, height: 700, maximized: false });
    expect(logs).toEqual([]);
  });
});

describe('clampBounds', () => {
  const primary = { x: 0, y: 0, width: 1920, height: 1040 };
  const right = { x: 1920, y: 0, width: 1280, height: 1000 };

  it('keeps bounds that are fully visible', () => {
    const b: WindowBounds = { x: 100, y: 50, width: 1200, height: 800, maximized: false };
    expect(clampBounds(b, [primary], primary)).toEqual(b);
  });

  it('keeps a window on a second display', () => {
    const b: WindowBounds = { x: 2000, y: 100, width: 1000, height: 700, maximized: true };
    expect(clampBounds(b, [primary, right], primary)).toEqual(b);
  });

  it('pulls a partly off-screen window back inside and shrinks an oversized one', () => {
    expect(clampBounds({ x: 1500, y: 900, width: 1000, height: 700, maximized: false }, [primary], primary)).toEqual({
      x: 920,
      y: 340,
      width: 1000,
      height: 700,
      maximized: false,
    });
    expect(clampBounds({ x: 10, y: 10, width: 5000, height: 3000, maximized: false }, [primary], primary)).toEqual({
      x: 0,
      y: 0,
      width: 1920,
      height: 1040,
      maximized: false,
    });
  });

  it('centres on the primary display when the saved display is gone', () => {
    const onUnplugged: WindowBounds = { x: 2200, y: 100, width: 1000, height: 700, maximized: false };
    const b = clampBounds(onUnplugged, [primary], primary);
    expect(b).toEqual({ x: 460, y: 170, width: 1000, height: 700, maximized: false });
  });

  it('centres when only a sliver of the title bar would be visible', () => {
    const b = clampBounds({ x: -1150, y: 10, width: 1200, height: 800, maximized: false }, [primary], primary);
    expect(b.x).toBe(360);
    expect(b.width).toBe(1200);
  });

  it('gives a first run a default-sized centred window, never larger than the display', () => {
    expect(clampBounds(null, [primary], primary)).toEqual({
      x: 320,
      y: 110,
      width: 1280,
      height: 820,
      maximized: false,
    });
    const small = { x: 0, y: 0, width: 1024, height: 700 };
    expect(clampBounds(null, [small], small)).toEqual({ x: 0, y: 0, width: 1024, height: 700, maximized: false });
  });
});

describe('StateStore', () => {
  it('starts empty when there is no file, without complaint', () => {
    const store = StateStore.load(dir, { log });
    expect(store.bounds).toBeNull();
    expect(store.recentList()).toEqual([]);
    expect(logs).toEqual([]);
  });

  it('survives a corrupt file and overwrites it with good JSON', () => {
    writeFileSync(join(dir, STATE_FILE), '\u0000\u0001 not json');
    const store = StateStore.load(dir, { log });
    expect(store.recentList()).toEqual([]);
    expect(logs[0]).toContain(STATE_FILE);
    store.addRecent('image', 'cat.png', '/p/cat.png', 1000);
    store.flush();
    expect(JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')).recent[0].path).toBe('/p/cat.png');
    expect(existsSync(join(dir, `${STATE_FILE}.tmp`))).toBe(false);
  });

  it('round-trips bounds and recent entries between runs', () => {
    const a = StateStore.load(dir, { log });
    a.setBounds({ x: 10, y: 20, width: 1000, height: 700, maximized: true });
    const cat = a.addRecent('image', 'cat.png', '/p/cat.png', 1);
    const model = a.addRecent('model', 'mobilenet', '/m/model.json', 2);
    a.flush();
    const b = StateStore.load(dir, { log });
    expect(b.bounds).toEqual({ x: 10, y: 20, width: 1000, height: 700, maximized: true });
    expect(b.recentList()).toEqual([model, cat]);
    expect(b.getRecent(cat.id)).toEqual(cat);
  });

  it('moves a reopened file to the top, keeps its id, caps the list and notifies', () => {
    const store = StateStore.load(dir, { log });
    const changed = vi.fn();
    store.onRecentChange(changed);
    const first = store.addRecent('image', 'a.png', '/p/a.png', 1);
    for (let i = 0; i < MAX_RECENT + 3; i++) store.addRecent('image', `${i}.png`, `/p/${i}.png`, 10 + i);
    expect(store.recentList()).toHaveLength(MAX_RECENT);
    expect(store.getRecent(first.id)).toBeUndefined();
    const again = store.addRecent('image', '5.png', '/p/5.png', 99);
    expect(store.recentList()[0]).toEqual(again);
    expect(store.recentList().filter((r) => r.path === '/p/5.png')).toHaveLength(1);
    expect(new Set(store.recentList().map((r) => r.id)).size).toBe(MAX_RECENT);
    store.removeRecent(again.id);
    expect(store.getRecent(again.id)).toBeUndefined();
    store.clearRecent();
    expect(store.recentList()).toEqual([]);
    expect(changed).toHaveBeenCalledTimes(1 + MAX_RECENT + 3 + 1 + 1 + 1);
  });

  it('saves on its own after a short delay', () => {
    vi.useFakeTimers();
    try {
      const store = StateStore.load(dir, { log, saveDelayMs: 200 });
      store.addRecent('image', 'a.png', '/p/a.png', 1);
      expect(existsSync(join(dir, STATE_FILE))).toBe(false);
      vi.advanceTimersByTime(200);
      expect(existsSync(join(dir, STATE_FILE))).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('logs, not throws, when the file cannot be written', () => {
    const store = StateStore.load(join(dir, STATE_FILE, 'impossible'), { log });
    writeFileSync(join(dir, STATE_FILE), 'a file where a folder should be');
    store.addRecent('image', 'a.png', '/p/a.png', 1);
    expect(() => store.flush()).not.toThrow();
    expect(logs.some((l) => l.includes('cannot be written'))).toBe(true);
  });
});
