import type { PortLike } from '../../../common/engine-protocol';
import type {
  EngineStatus,
  MenuCommand,
  ModelFilesPayload,
  OpenedFile,
  RecentEntry,
  RecentOpenResult,
} from '../../../common/ipc-contract';
import type { HostBridge } from './types';

/** Recent files live only for the page's lifetime in the browser build (no file paths to remember). */
interface RecentItem {
  entry: RecentEntry;
  files?: OpenedFile[];
  model?: ModelFilesPayload;
}

/** Opens the browser's file picker; resolves null when the user cancels. */
function pickFiles(accept: string, options: { multiple: boolean; directory?: boolean }): Promise<File[] | null> {
  return new Promise((resolvePick) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = accept;
    input.multiple = options.multiple;
    if (options.directory) input.webkitdirectory = true;
    input.addEventListener('change', () => resolvePick(input.files && input.files.length ? [...input.files] : null));
    input.addEventListener('cancel', () => resolvePick(null));
    input.click();
  });
}

/** The model's files by path relative to the folder that holds model.json. */
export async function modelFromFiles(files: File[]): Promise<ModelFilesPayload | null> {
  const rel = (f: File) => (f.webkitRelativePath || f.name).replace(/\\/g, '/');
  const json = files.find((f) => rel(f).endsWith('model.json')) ?? files.find((f) => f.name.endsWith('.json'));
  if (!json) return null;
  const base = rel(json).slice(0, rel(json).length - json.name.length);
  const inFolder = files.filter((f) => rel(f).startsWith(base));
  return {
    name: base ? base.replace(/\/$/, '').split('/').pop()! : json.name,
    files: await Promise.all(
      inFolder.map(async (f) => ({ path: rel(f).slice(base.length), bytes: await f.arrayBuffer() })),
    ),
  };
}

/**
 * The browser build's bridge: the UI starts the engine Worker itself and speaks the same protocol
 * to it over a MessageChannel (DESIGN.md); dialogs are the browser's file pickers.
 */
export function createWebBridge(): HostBridge {
  let worker: Worker | null = null;
  const statusListeners = new Set<(s: EngineStatus) => void>();
  const recentItems: RecentItem[] = [];
  let nextId = 1;

  const remember = (item: Omit<RecentItem, 'entry'>, kind: RecentEntry['kind'], name: string) => {
    recentItems.unshift({ ...item, entry: { id: nextId++, kind, name, path: name, openedAt: Date.now() } });
    recentItems.splice(10);
  };

  /**
   * `?test=1` on the page (the e2e tests) starts the engine with its test hooks (debugSpin, debugExit);
   * the product never sets it.
   */
  const testHooks = new URLSearchParams(location.search).get('test') === '1';

  function startWorker(): Worker {
    const w = new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    w.addEventListener('error', (e) => {
      if (w !== worker) return; // a worker already replaced may still report its end
      statusListeners.forEach((cb) =>
        cb({ state: 'failed', reason: `engine worker error: ${e.message || 'unknown'}` }),
      );
    });
    return w;
  }

  let restarts = 0;
  /**
   * A standby worker with the engine's bundle already evaluated (idle, no backend): a restart swaps it in
   * instead of waiting for a fresh worker to parse tfjs, which keeps recovery from a hang within 5 s.
   */
  let spare: Worker | null = null;
  let spareTimer: ReturnType<typeof setTimeout> | null = null;
  /** Starts the standby a while after the engine came up, so it does not compete with the first load. */
  const prepareSpare = (delayMs: number) => {
    if (spare || spareTimer) return;
    spareTimer = setTimeout(() => {
      spareTimer = null;
      spare ??= startWorker();
    }, delayMs);
  };
  /** Which worker each port handed out talks to (a restart asked for a replaced worker is a no-op). */
  const workerOf = new WeakMap<PortLike, Worker>();

  return {
    kind: 'web',
    resourcesBase: new URL('./', document.baseURI).href,
    async connectEngine() {
      worker ??= startWorker();
      prepareSpare(5000);
      const channel = new MessageChannel();
      worker.postMessage({ type: 'connect', ...(testHooks ? { test: true } : {}) }, [channel.port2]);
      channel.port1.start();
      workerOf.set(channel.port1, worker);
      return channel.port1 as PortLike;
    },
    async restartEngine(reason: string, port?: PortLike) {
      if (port && workerOf.get(port) !== worker) return; // that engine was replaced already
      // terminate() stops a worker even while it spins inside tfjs; its ports (and GPU context) go with it.
      worker?.terminate();
      // The new worker exists before anyone hears of the restart, so a listener that reconnects at once
      // (the compare view) gets a port to it.
      worker = spare ?? startWorker();
      spare = null;
      prepareSpare(3000);
      restarts++;
      statusListeners.forEach((cb) => cb({ state: 'restarting', reason, attempt: restarts }));
    },
    onEngineStatus(cb) {
      statusListeners.add(cb);
      return () => statusListeners.delete(cb);
    },
    async openImages() {
      const files = await pickFiles('image/*', { multiple: true });
      if (!files) return null;
      const opened = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await f.arrayBuffer() })));
      remember({ files: opened }, 'image', opened.map((f) => f.name).join(', '));
      return opened;
    },
    async openModel() {
      const files = await pickFiles('', { multiple: true, directory: true });
      if (!files) return null;
      const model = await modelFromFiles(files);
      if (model) remember({ model }, 'model', model.name);
      return model;
    },
    async recent() {
      return recentItems.map((r) => r.entry);
    },
    async openRecent(id: number): Promise<RecentOpenResult> {
      const item = recentItems.find((r) => r.entry.id === id);
      if (!item) return { kind: 'missing', message: `No recent entry ${id}` };
      if (item.model) return { kind: 'model', model: item.model };
      return { kind: 'image', files: item.files ?? [] };
    },
    onMenu(_cb: (command: MenuCommand) => void) {
      // The browser build has no native menus; the toolbar offers the same commands.
      return () => {};
    },
  };
}
