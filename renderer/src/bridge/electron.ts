import type { PortLike } from '../../../common/engine-protocol';
import { PORT_MESSAGE, type EngineStatus, type ExplorerApi, type PagePortMessage } from '../../../common/ipc-contract';
import type { HostBridge } from './types';

declare global {
  interface Window {
    /** Exposed by preload/index.ts in the Electron build; absent in the browser build. */
    explorer?: ExplorerApi;
  }
}

/**
 * A host service (dialog, Recent, engine connection) that main refused or that failed there. The message
 * is `"<service> failed: <main's message>"`, and main's messages start with the file they are about, so
 * the user learns which file and why; `fileName` is that file's base name when there is one.
 */
export class HostServiceError extends Error {
  override readonly name = 'HostServiceError';
  constructor(
    /** What the user asked for, e.g. "Open Model". */
    readonly service: string,
    /** Main's own message, without Electron's "Error invoking remote method …" wrapping. */
    readonly detail: string,
    /** Base name of the file the message is about, if it names one. */
    readonly fileName: string | null,
  ) {
    super(`${service} failed: ${detail}`);
  }
}

/**
 * Turns a rejection of `ipcRenderer.invoke` into a {@link HostServiceError}. Electron wraps main's error as
 * "Error invoking remote method 'dialog:open-model': Error: /home/u/m/model.json: …"; the wrapping says
 * nothing to a user, so it is dropped.
 */
export function hostError(service: string, err: unknown): HostServiceError {
  if (err instanceof HostServiceError) return err;
  const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : String(err);
  const detail =
    raw
      .replace(/^Error invoking remote method '[^']*':\s*/, '')
      .replace(/^(?:[A-Za-z]*Error|IpcRejection):\s*/, '')
      .trim() || 'unknown error';
  // Main's file messages start with the path: "/dir/model.json: weight file …" (or C:\dir\x.onnx: …).
  const path = /^((?:[a-zA-Z]:)?[^:\n]*[\\/][^:\n]*?):\s/.exec(detail)?.[1] ?? null;
  const fileName = path ? (path.split(/[\\/]/).pop() ?? null) : null;
  return new HostServiceError(service, detail, fileName || null);
}

async function call<T>(service: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw hostError(service, err);
  }
}

function isPagePortMessage(data: unknown): data is PagePortMessage {
  const d = data as Partial<PagePortMessage> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    d.type === PORT_MESSAGE &&
    typeof d.clientId === 'number' &&
    typeof d.engine === 'number'
  );
}

type MessageListener = (ev: MessageEvent) => void;

/**
 * One engine client's end of the connection: a stable PortLike whose MessagePort main replaces after each
 * engine restart. Listeners stay attached across the swap. Once it has no message listener left (the
 * EngineClient was disposed) or `close()` is called, it is released: its port is closed and main is told
 * to send it no more.
 */
class ClientPort implements PortLike {
  private port: MessagePort | null = null;
  /** The engine the current port leads to (main's number); 0 before the first port. */
  engine = 0;
  private readonly listeners = new Set<MessageListener>();
  private releaseCheck = false;
  released = false;
  private readonly forward = (ev: MessageEvent) => {
    for (const l of [...this.listeners]) l(ev);
  };

  constructor(
    readonly clientId: number,
    private readonly onRelease: (client: ClientPort) => void,
  ) {}

  /** Takes the port main sent for this client (to engine `engine`), closing the one it replaces. */
  attach(port: MessagePort, engine: number): void {
    this.engine = engine;
    const old = this.port;
    if (old) {
      old.removeEventListener('message', this.forward);
      old.close();
    }
    this.port = port;
    port.addEventListener('message', this.forward);
    port.start();
  }

  postMessage(message: unknown, transfer: Transferable[] = []): void {
    if (this.released) throw new Error(`engine client ${this.clientId} is closed`);
    this.port?.postMessage(message, transfer);
  }

  addEventListener(_type: 'message', listener: MessageListener): void {
    this.listeners.add(listener);
  }

  removeEventListener(_type: 'message', listener: MessageListener): void {
    this.listeners.delete(listener);
    if (this.listeners.size > 0 || this.releaseCheck) return;
    // Checked a moment later, so code that swaps its listener (remove, then add) keeps the connection.
    this.releaseCheck = true;
    queueMicrotask(() => {
      this.releaseCheck = false;
      if (this.listeners.size === 0) this.close();
    });
  }

  start(): void {
    this.port?.start();
  }

  close(): void {
    if (this.released) return;
    this.released = true;
    this.port?.removeEventListener('message', this.forward);
    this.port?.close();
    this.port = null;
    this.onRelease(this);
  }
}

/**
 * The Electron bridge: host services through `window.explorer` (the preload), and engine ports that main
 * creates (MessageChannelMain) and the preload forwards with
 * `window.postMessage({ type: PORT_MESSAGE, clientId }, '*', [port])`.
 *
 * Each `connectEngine()` is a new client with its own id and its own port (main makes one channel per
 * request: one end to the inference window, one here). It resolves with a PortLike that stays the
 * client's across engine restarts: main sends every live client a fresh port after a restart, and the
 * bridge puts it behind the right client by its id. A client is released when its last message listener
 * goes (EngineClient.dispose) or it is closed. A status of `failed` rejects clients still waiting.
 *
 * Every host service rejects with a {@link HostServiceError} naming the file and main's message.
 */
export function createElectronBridge(target: Window = window): HostBridge {
  const api = target.explorer;
  if (!api) throw new Error('window.explorer is missing: the Electron preload (preload/index.ts) did not run');

  let nextClientId = 1;
  const clients = new Map<number, ClientPort>();
  const waiting = new Map<number, { resolve: (port: PortLike) => void; reject: (err: Error) => void }>();

  const release = (client: ClientPort) => {
    clients.delete(client.clientId);
    waiting.delete(client.clientId);
    // Best effort: a window that is closing cannot answer, and main forgets its clients anyway.
    api.releaseEngine(client.clientId).catch(() => {});
  };

  target.addEventListener('message', (event: MessageEvent) => {
    // Only the preload posts on our own window; anything from a frame or another window is ignored.
    if (event.source !== target || !isPagePortMessage(event.data)) return;
    const port = event.ports[0];
    if (!port) return;
    const client = clients.get(event.data.clientId);
    if (!client) {
      // A client released while main was sending it a port: nobody will use it.
      port.close();
      return;
    }
    client.attach(port, event.data.engine);
    const waiter = waiting.get(client.clientId);
    if (waiter) {
      waiting.delete(client.clientId);
      waiter.resolve(client);
    }
  });

  api.onEngineStatus((status: EngineStatus) => {
    if (status.state !== 'failed') return;
    for (const [id, waiter] of [...waiting]) {
      waiter.reject(
        new HostServiceError('Connecting to the engine', `the engine could not be started: ${status.reason}`, null),
      );
      clients.get(id)?.close();
    }
  });

  return {
    kind: 'electron',
    resourcesBase: new URL('./', target.document.baseURI).href,
    connectEngine(): Promise<PortLike> {
      const clientId = nextClientId++;
      const client = new ClientPort(clientId, release);
      clients.set(clientId, client);
      const promise = new Promise<PortLike>((resolve, reject) => waiting.set(clientId, { resolve, reject }));
      api.connectEngine(clientId).catch((err: unknown) => {
        const waiter = waiting.get(clientId);
        clients.delete(clientId);
        waiting.delete(clientId);
        waiter?.reject(hostError('Connecting to the engine', err));
      });
      return promise;
    },
    async restartEngine(reason: string, port?: PortLike): Promise<void> {
      // The engine this port leads to: main restarts only if it is still the current one.
      const engine = port instanceof ClientPort && port.engine > 0 ? port.engine : undefined;
      await call('Restarting the engine', () =>
        api.restartEngine({ reason: reason.slice(0, 500), ...(engine ? { engine } : {}) }),
      );
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
    openImages: () => call('Open Image', () => api.openImageDialog()),
    openModel: () => call('Open Model', () => api.openModelDialog()),
    recent: () => call('Reading the Recent list', () => api.recentList()),
    openRecent: (id: number) => call('Open Recent', () => api.recentOpen(id)),
    ...(api.findWeights && api.foundWeights && api.openFoundWeights
      ? {
          findWeights: () => call('Finding weights on this computer', () => api.findWeights!()),
          foundWeights: () => call('Reading the found weights', () => api.foundWeights!()),
          openFoundWeights: (id: number) => call('Opening the found weights', () => api.openFoundWeights!(id)),
        }
      : {}),
    onMenu: (cb) => api.onMenu(cb),
    onOpenRecent: (cb: (id: number) => void) => api.onOpenRecent?.(cb) ?? (() => {}),
  };
}
