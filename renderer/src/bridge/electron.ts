import type { PortLike } from '../engine/protocol';
import { PORT_MESSAGE, type EngineStatus, type ExplorerApi } from '../../../preload/contract';
import type { HostBridge } from './types';

declare global {
  interface Window {
    /** Exposed by preload/index.ts in the Electron build; absent in the browser build. */
    explorer?: ExplorerApi;
  }
}

/** True when the Electron preload ran (so {@link createElectronBridge} can be used). */
export function hasExplorer(target: Window = window): boolean {
  return typeof target.explorer === 'object' && target.explorer !== null;
}

/**
 * The Electron bridge: host services through `window.explorer` (the preload), and engine ports that main
 * creates (MessageChannelMain) and the preload forwards with `window.postMessage(PORT_MESSAGE, '*', [port])`.
 *
 * `connectEngine()` resolves with the newest port not yet handed out, asking main for one if there is
 * none; after an engine restart main sends a new port unasked, and the next `connectEngine()` resolves
 * with it. A status of `failed` rejects callers still waiting.
 */
export function createElectronBridge(target: Window = window): HostBridge {
  const api = target.explorer;
  if (!api) throw new Error('window.explorer is missing: the Electron preload (preload/index.ts) did not run');

  let fresh: MessagePort | null = null;
  let requested = false;
  const waiters: { resolve: (port: PortLike) => void; reject: (err: Error) => void }[] = [];

  target.addEventListener('message', (event: MessageEvent) => {
    // Only the preload posts on our own window; anything from a frame or another window is ignored.
    if (event.source !== target || event.data !== PORT_MESSAGE) return;
    const port = event.ports[0];
    if (!port) return;
    requested = false;
    port.start();
    const waiter = waiters.shift();
    if (waiter) {
      // Every caller waiting for this connection shares the port (one UI, one connection).
      waiter.resolve(port);
      for (const other of waiters.splice(0)) other.resolve(port);
      fresh = null;
    } else {
      fresh?.close();
      fresh = port;
    }
  });

  api.onEngineStatus((status: EngineStatus) => {
    if (status.state === 'failed') {
      for (const waiter of waiters.splice(0))
        waiter.reject(new Error(`The engine could not be started: ${status.reason}`));
      requested = false;
    }
  });

  return {
    kind: 'electron',
    resourcesBase: new URL('./', target.document.baseURI).href,
    connectEngine(): Promise<PortLike> {
      if (fresh) {
        const port = fresh;
        fresh = null;
        return Promise.resolve(port);
      }
      const promise = new Promise<PortLike>((resolve, reject) => waiters.push({ resolve, reject }));
      if (!requested && api.connectEngine) {
        requested = true;
        api.connectEngine().catch((err: unknown) => {
          requested = false;
          const error = err instanceof Error ? err : new Error(String(err));
          for (const waiter of waiters.splice(0)) waiter.reject(error);
        });
      }
      return promise;
    },
    onEngineStatus(cb: (status: EngineStatus) => void): () => void {
      const off = api.onEngineStatus(cb);
      // A listener that subscribes late still learns where the engine stands.
      api
        .engineStatus?.()
        .then(cb)
        .catch(() => {});
      return off;
    },
    openImages: () => api.openImageDialog(),
    openModel: () => api.openModelDialog(),
    recent: () => api.recentList(),
    openRecent: (id: number) => api.recentOpen(id),
    onMenu: (cb) => api.onMenu(cb),
    onOpenRecent: (cb: (id: number) => void) => api.onOpenRecent?.(cb) ?? (() => {}),
  };
}
