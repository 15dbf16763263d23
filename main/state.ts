/**
 * What the app remembers between runs: the main window's bounds and the recent files, as JSON in
 * `app.getPath('userData')`. The file is validated on read; a corrupt or tampered file is ignored (with a
 * log line naming it), never fatal, and each section is validated on its own so one bad field does not
 * cost the rest.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as v from 'valibot';
import type { FoundWeights, RecentEntry } from '../common/ipc-contract';
import { PathSchema } from './schemas';

/** File name inside userData. */
export const STATE_FILE = 'explorer-state.json';
/** Most recent entries kept. */
export const MAX_RECENT = 10;
/** Smallest window we restore. */
export const MIN_WINDOW = { width: 640, height: 480 } as const;
/** Size of a first-run window (clamped to the display). */
export const DEFAULT_WINDOW = { width: 1280, height: 820 } as const;

/** Saved window geometry (the normal bounds, even when maximized). */
export interface WindowBounds {
  x: number;
  y: number;
  width: number;
  height: number;
  maximized: boolean;
}

/** Everything persisted. */
export interface PersistedState {
  version: 1;
  bounds: WindowBounds | null;
  recent: RecentEntry[];
  /** Weight files "Find weights on this computer…" found (paths only, never copies); kept until gone. */
  found: FoundWeights[];
}

/** Most found weight files remembered. */
export const MAX_FOUND = 200;

const Finite = v.pipe(v.number(), v.finite(), v.integer());

const BoundsSchema = v.object({
  x: Finite,
  y: Finite,
  width: v.pipe(Finite, v.minValue(1), v.maxValue(100_000)),
  height: v.pipe(Finite, v.minValue(1), v.maxValue(100_000)),
  maximized: v.optional(v.boolean(), false),
});

const RecentSchema = v.object({
  id: v.pipe(Finite, v.minValue(1)),
  kind: v.picklist(['image', 'model']),
  name: v.pipe(v.string(), v.maxLength(1000)),
  path: PathSchema,
  openedAt: v.pipe(v.number(), v.finite()),
});

const FoundSchema = v.object({
  id: v.pipe(Finite, v.minValue(1)),
  name: v.pipe(v.string(), v.maxLength(1000)),
  path: PathSchema,
  size: v.pipe(Finite, v.minValue(0)),
  library: v.picklist(['torchvision', 'keras']),
  architecture: v.nullable(v.pipe(v.string(), v.maxLength(200))),
  label: v.pipe(v.string(), v.maxLength(1000)),
});

/**
 * Parses the state file's text. Never throws: unreadable JSON or a wrong top-level shape gives the
 * defaults; a bad `bounds` or a bad recent entry is dropped on its own. Each problem is logged with the file.
 */
export function parseState(text: string, file: string, log: (message: string) => void): PersistedState {
  const state: PersistedState = { version: 1, bounds: null, recent: [], found: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    log(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)}); starting with defaults`);
    return state;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    log(`${file}: expected a JSON object; starting with defaults`);
    return state;
  }
  const record = raw as Record<string, unknown>;
  if (record.bounds !== undefined && record.bounds !== null) {
    const bounds = v.safeParse(BoundsSchema, record.bounds);
    if (bounds.success) state.bounds = bounds.output;
    else log(`${file}: ignoring saved window bounds (${v.summarize(bounds.issues).replace(/\n/g, '; ')})`);
  }
  if (record.recent !== undefined) {
    if (!Array.isArray(record.recent)) {
      log(`${file}: "recent" is not a list; ignoring it`);
    } else {
      const seen = new Set<number>();
      for (const [i, item] of record.recent.entries()) {
        const entry = v.safeParse(RecentSchema, item);
        if (!entry.success) {
          log(`${file}: ignoring recent entry ${i} (${v.summarize(entry.issues).replace(/\n/g, '; ')})`);
        } else if (!seen.has(entry.output.id)) {
          seen.add(entry.output.id);
          state.recent.push(entry.output);
        }
      }
      state.recent.splice(MAX_RECENT);
    }
  }
  if (record.found !== undefined) {
    if (!Array.isArray(record.found)) {
      log(`${file}: "found" is not a list; ignoring it`);
    } else {
      const seen = new Set<number>();
      for (const [i, item] of record.found.entries()) {
        const entry = v.safeParse(FoundSchema, item);
        if (!entry.success) {
          log(`${file}: ignoring found weights entry ${i} (${v.summarize(entry.issues).replace(/\n/g, '; ')})`);
        } else if (!seen.has(entry.output.id)) {
          seen.add(entry.output.id);
          state.found.push(entry.output);
        }
      }
      state.found.splice(MAX_FOUND);
    }
  }
  return state;
}

/** A display's usable area, as `screen.getAllDisplays()[i].workArea`. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

function overlap(a: Rect, b: Rect): { width: number; height: number } {
  return {
    width: Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)),
    height: Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)),
  };
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(Math.max(value, lo), Math.max(lo, hi));
}

/**
 * Bounds that are visible: the saved ones moved and shrunk into the work area of the display they mostly
 * sit on, provided their title bar still overlaps some display by a useful amount; otherwise (a monitor
 * unplugged) the saved size, or on a first run the default size, centred on the primary display.
 */
export function clampBounds(saved: WindowBounds | null, workAreas: readonly Rect[], primary: Rect): WindowBounds {
  const fitIn = (area: Rect, b: { x: number; y: number; width: number; height: number }, maximized: boolean) => {
    const width = clamp(b.width, Math.min(MIN_WINDOW.width, area.width), area.width);
    const height = clamp(b.height, Math.min(MIN_WINDOW.height, area.height), area.height);
    return {
      x: Math.round(clamp(b.x, area.x, area.x + area.width - width)),
      y: Math.round(clamp(b.y, area.y, area.y + area.height - height)),
      width: Math.round(width),
      height: Math.round(height),
      maximized,
    };
  };
  if (saved) {
    // The strip a user grabs to move the window: it must be reachable on some display.
    const titleBar: Rect = { x: saved.x, y: saved.y, width: saved.width, height: 32 };
    let best: Rect | null = null;
    let bestArea = 0;
    for (const area of workAreas) {
      const bar = overlap(titleBar, area);
      if (bar.width < 100 || bar.height < 16) continue;
      const whole = overlap(saved, area);
      const size = whole.width * whole.height;
      if (size > bestArea) {
        best = area;
        bestArea = size;
      }
    }
    if (best) return fitIn(best, saved, saved.maximized);
  }
  // Keep the size the user chose (if any), centred where it can be seen.
  const width = Math.min(saved?.width ?? DEFAULT_WINDOW.width, primary.width);
  const height = Math.min(saved?.height ?? DEFAULT_WINDOW.height, primary.height);
  return fitIn(
    primary,
    {
      x: primary.x + (primary.width - width) / 2,
      y: primary.y + (primary.height - height) / 2,
      width,
      height,
    },
    saved?.maximized ?? false,
  );
}

/**
 * The persisted state of one app instance. Reads once at start, writes atomically (temp file + rename)
 * after a short delay or on `flush()` (call it on quit).
 */
export class StateStore {
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  private constructor(
    readonly file: string,
    private state: PersistedState,
    private readonly log: (message: string) => void,
    private readonly saveDelayMs: number,
  ) {}

  /** Loads `dir/explorer-state.json`; a missing file is a first run, a bad one is logged and ignored. */
  static load(dir: string, options: { log?: (message: string) => void; saveDelayMs?: number } = {}): StateStore {
    const log = options.log ?? ((m: string) => console.warn(`[state] ${m}`));
    const file = join(dir, STATE_FILE);
    let state: PersistedState = { version: 1, bounds: null, recent: [], found: [] };
    let text: string | null = null;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        log(`${file}: cannot be read (${(err as Error).message}); starting with defaults`);
      }
    }
    if (text !== null) state = parseState(text, file, log);
    return new StateStore(file, state, log, options.saveDelayMs ?? 500);
  }

  /** Saved bounds, if any (not yet clamped to the displays; see clampBounds). */
  get bounds(): WindowBounds | null {
    return this.state.bounds;
  }

  /** Remembers the window's bounds. */
  setBounds(bounds: WindowBounds): void {
    this.state.bounds = { ...bounds };
    this.scheduleSave();
  }

  /** Recent entries, newest first. */
  recentList(): RecentEntry[] {
    return this.state.recent.map((r) => ({ ...r }));
  }

  /** The entry with this id, if it is still in the list. */
  getRecent(id: number): RecentEntry | undefined {
    const found = this.state.recent.find((r) => r.id === id);
    return found ? { ...found } : undefined;
  }

  /** Puts `path` at the top of the list (moving it if already there) and returns its entry. */
  addRecent(kind: RecentEntry['kind'], name: string, path: string, now = Date.now()): RecentEntry {
    const existing = this.state.recent.find((r) => r.kind === kind && r.path === path);
    const id = existing?.id ?? this.state.recent.reduce((max, r) => Math.max(max, r.id), 0) + 1;
    const entry: RecentEntry = { id, kind, name, path, openedAt: now };
    this.state.recent = [entry, ...this.state.recent.filter((r) => r.id !== id)].slice(0, MAX_RECENT);
    this.changed();
    return { ...entry };
  }

  /** Drops an entry (its file is gone). */
  removeRecent(id: number): void {
    const before = this.state.recent.length;
    this.state.recent = this.state.recent.filter((r) => r.id !== id);
    if (this.state.recent.length !== before) this.changed();
  }

  /** Empties the list. */
  clearRecent(): void {
    if (this.state.recent.length === 0) return;
    this.state.recent = [];
    this.changed();
  }

  /** The remembered weight files, in the order they were found. */
  foundList(): FoundWeights[] {
    return this.state.found.map((f) => ({ ...f }));
  }

  /** The found weight file with this id, if still remembered. */
  getFound(id: number): FoundWeights | undefined {
    const found = this.state.found.find((f) => f.id === id);
    return found ? { ...found } : undefined;
  }

  /**
   * Remembers the files of a search: a path already known keeps its id (its details are refreshed), new ones
   * get the next ids; earlier entries the search did not meet stay (their folder may be elsewhere) until
   * opening one finds it gone.
   */
  addFound(files: readonly Omit<FoundWeights, 'id'>[]): FoundWeights[] {
    let next = this.state.found.reduce((max, f) => Math.max(max, f.id), 0) + 1;
    const byPath = new Map(this.state.found.map((f) => [f.path, f]));
    for (const file of files) {
      const known = byPath.get(file.path);
      byPath.set(file.path, { ...file, id: known?.id ?? next++ });
    }
    this.state.found = [...byPath.values()].slice(0, MAX_FOUND);
    this.scheduleSave();
    return this.foundList();
  }

  /** Forgets a found file (it is gone). */
  removeFound(id: number): void {
    const before = this.state.found.length;
    this.state.found = this.state.found.filter((f) => f.id !== id);
    if (this.state.found.length !== before) this.scheduleSave();
  }

  /** Called after every change of the recent list (the menu rebuilds its Recent submenu). */
  onRecentChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Writes now (atomically). Errors are logged, not thrown: losing the recent list must not crash the app. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const tmp = `${this.file}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(tmp, JSON.stringify(this.state, null, 2), 'utf8');
      renameSync(tmp, this.file);
    } catch (err) {
      this.log(`${this.file}: cannot be written (${(err as Error).message})`);
    }
  }

  private changed(): void {
    this.scheduleSave();
    for (const cb of this.listeners) cb();
  }

  private scheduleSave(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.saveDelayMs);
  }
}
