import type { PortLike } from '../engine/protocol';
import type {
  EngineStatus,
  MenuCommand,
  ModelFilesPayload,
  OpenedFile,
  RecentEntry,
  RecentOpenResult,
} from '../../../preload/contract';
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

  function startWorker(): Worker {
    const w = new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    w.addEventListener('error', (e) => {
      statusListeners.forEach((cb) =>
        cb({ state: 'failed', reason: `engine worker error: ${e.message || 'unknown'}` }),
      );
    });
    return w;
  }

  return {
    kind: 'web',
    resourcesBase: new URL('./', document.baseURI).href,
    async connectEngine() {
      worker ??= startWorker();
      const channel = new MessageChannel();
      worker.postMessage({ type: 'connect' }, [channel.port2]);
      channel.port1.start();
      return channel.port1 as PortLike;
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
