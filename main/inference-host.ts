/**
 * Supervision of the hidden inference window (STYLE.md #7; Electron's "worker process" pattern): the
 * window runs the engine's Web Worker; main waits for its ready handshake, then gives each engine client
 * one end of a fresh MessageChannelMain and the inference window the other. A client is one
 * `connectEngine()` of a renderer's bridge (the main view, each Compare session, …), named by the
 * renderer's own client id; the port main sends it carries that id, so the bridge hands it to the right
 * client. If the window's process dies, hangs or reports a fatal error, it is replaced (with backoff, up
 * to a limit), every live client gets a new port, and each UI hears about each step through `engine:status`.
 */
import { MessageChannelMain, type BrowserWindow, type MessagePortMain } from 'electron';
import { InferenceChannel, Push, type EnginePortMessage, type EngineStatus } from '../common/ipc-contract';
import { createHardenedWindow } from './windows';

/** A UI window's webContents, as far as the host needs it. */
export interface UiClient {
  readonly id: number;
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
  postMessage(channel: string, message: unknown, transfer?: MessagePortMain[]): void;
}

/** Most engine clients one renderer may hold at once (each is a port into the engine worker). */
export const MAX_CLIENTS_PER_RENDERER = 32;

/** One renderer and the ids of its engine clients. */
interface UiEntry {
  contents: UiClient;
  clientIds: Set<number>;
}

/** Options of {@link InferenceHost}. */
export interface InferenceHostOptions {
  /** out/preload/inference.cjs */
  preload: string;
  /** app://explorer/inference.html (or the dev server's). */
  url: string;
  trustedOrigins: readonly string[];
  devTools?: boolean;
  /** Restarts allowed before giving up (counted since the engine last stayed up for `stableMs`). Default 3. */
  maxRestarts?: number;
  /** Delay before restart number `attempt` (1-based). Default 500 ms doubling, at most 8 s. */
  backoffMs?: (attempt: number) => number;
  /** A window that has not said ready by then is treated as hung. Default 60 s (tfjs setup can be slow). */
  readyTimeoutMs?: number;
  /** Once the engine has been ready this long, the restart count starts over. Default 60 s. */
  stableMs?: number;
  log?: (message: string) => void;
}

type HostState = 'idle' | 'starting' | 'ready' | 'waiting' | 'failed' | 'stopped';

/** Supervises the hidden inference window and wires UI windows to its engine. */
export class InferenceHost {
  private win: BrowserWindow | null = null;
  /** Bumped whenever a window is retired, so late events from an old window are ignored. */
  private generation = 0;
  /** Number of the current (or next) inference window: tags its ports so a stale restart request can be told apart. */
  private engineId = 0;
  private state: HostState = 'idle';
  private status: EngineStatus = { state: 'starting' };
  private restarts = 0;
  /** Renderers by webContents id, with their live engine clients. */
  private readonly uis = new Map<number, UiEntry>();
  /** `${webContentsId}:${clientId}` of clients waiting for a port (asked while the engine was not ready). */
  private readonly pending = new Set<string>();
  private readyTimer: ReturnType<typeof setTimeout> | null = null;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private stableTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly log: (message: string) => void;
  private readonly maxRestarts: number;
  private readonly backoffMs: (attempt: number) => number;
  private readonly readyTimeoutMs: number;
  private readonly stableMs: number;

  constructor(private readonly options: InferenceHostOptions) {
    this.log = options.log ?? ((m) => console.warn(`[inference] ${m}`));
    this.maxRestarts = options.maxRestarts ?? 3;
    this.backoffMs = options.backoffMs ?? ((attempt) => Math.min(500 * 2 ** (attempt - 1), 8000));
    this.readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
    this.stableMs = options.stableMs ?? 60_000;
  }

  /** The engine's status as last announced. */
  get currentStatus(): EngineStatus {
    return { ...this.status };
  }

  /** The current inference window (null while restarting or after stop). */
  get window(): BrowserWindow | null {
    return this.win;
  }

  /** Is this webContents id the live inference window's? (The IPC sender check asks.) */
  isInferenceSender(webContentsId: number): boolean {
    return this.win !== null && !this.win.isDestroyed() && this.win.webContents.id === webContentsId;
  }

  /** Creates the first inference window. */
  start(): void {
    if (this.state !== 'idle') return;
    this.spawn();
  }

  /**
   * Engine client `clientId` of a renderer wants a port to the engine: it gets one now when the engine is
   * ready, else as soon as it is. The client is remembered, so after every restart it gets a new port
   * unasked, until it is released or its renderer goes. Asking again for a known client gives it a new
   * port (the old one is the renderer's to close). Throws when the renderer already holds
   * {@link MAX_CLIENTS_PER_RENDERER} clients.
   */
  connect(contents: UiClient, clientId = 0): void {
    if (this.state === 'stopped') return;
    let entry = this.uis.get(contents.id);
    if (!entry) {
      entry = { contents, clientIds: new Set() };
      this.uis.set(contents.id, entry);
    }
    entry.contents = contents;
    if (!entry.clientIds.has(clientId) && entry.clientIds.size >= MAX_CLIENTS_PER_RENDERER) {
      throw new Error(
        `too many engine connections (${MAX_CLIENTS_PER_RENDERER}) from one window; release unused ones first`,
      );
    }
    entry.clientIds.add(clientId);
    contents.send(Push.engineStatus, this.currentStatus);
    if (this.state === 'ready') this.wire(entry, clientId);
    else this.pending.add(key(contents.id, clientId));
  }

  /** Forgets one engine client: it gets no more ports (restarts included). */
  release(contentsId: number, clientId: number): void {
    this.uis.get(contentsId)?.clientIds.delete(clientId);
    this.pending.delete(key(contentsId, clientId));
  }

  /** Forgets a renderer and all its clients (its window closed or its process is gone). */
  disconnect(contentsId: number): void {
    const entry = this.uis.get(contentsId);
    if (!entry) return;
    for (const id of entry.clientIds) this.pending.delete(key(contentsId, id));
    this.uis.delete(contentsId);
  }

  /** The live clients, as `[webContentsId, clientId]` pairs (for tests and logs). */
  get liveClients(): [number, number][] {
    return [...this.uis].flatMap(([cid, e]) => [...e.clientIds].map((id): [number, number] => [cid, id]));
  }

  /** `inference:ready` from the inference window. */
  onReady(senderId: number, backend?: string): void {
    if (!this.isInferenceSender(senderId) || this.state !== 'starting') {
      this.log(`ignored a ready message from webContents ${senderId} (state ${this.state})`);
      return;
    }
    this.clearTimer('readyTimer');
    this.state = 'ready';
    this.log(`engine ready${backend ? ` (backend ${backend})` : ''}`);
    const waiting = [...this.pending];
    this.pending.clear();
    for (const k of waiting) {
      const [contentsId, clientId] = k.split(':').map(Number);
      const entry = this.uis.get(contentsId);
      if (entry?.clientIds.has(clientId)) this.wire(entry, clientId);
    }
    this.announce({ state: 'ready' });
    const gen = this.generation;
    this.stableTimer = setTimeout(() => {
      this.stableTimer = null;
      if (gen === this.generation) this.restarts = 0;
    }, this.stableMs);
  }

  /** `inference:fatal` from the inference window. */
  onFatal(senderId: number, reason: string): void {
    if (!this.isInferenceSender(senderId)) {
      this.log(`ignored a fatal message from webContents ${senderId}`);
      return;
    }
    this.failed(this.generation, `engine failed: ${reason}`);
  }

  /** Number of the current engine (the `engine` of the ports main sends). */
  get currentEngine(): number {
    return this.engineId;
  }

  /**
   * The UI asked for a restart (a hung engine, a lost WebGL context it could not survive): start over now.
   * With `engine`, only if that is still the current engine — a second client that saw the same hang
   * must not kill the fresh one. Returns whether it restarted.
   */
  restart(reason = 'restart requested', engine?: number): boolean {
    if (this.state === 'stopped') return false;
    if (engine !== undefined && engine !== this.engineId) {
      this.log(`ignored a restart request for engine ${engine} (now ${this.engineId}): ${reason}`);
      return false;
    }
    this.retire();
    this.restarts = 0;
    this.pendAll();
    this.announce({ state: 'restarting', reason, attempt: 1 });
    this.spawn();
    return true;
  }

  /** Shuts the engine down for good (app quit). Later events from the window are ignored. */
  stop(): void {
    this.state = 'stopped';
    this.retire();
    this.clearTimer('restartTimer');
    this.uis.clear();
    this.pending.clear();
  }

  /** Every live client will get a new port once the next engine is ready. */
  private pendAll(): void {
    this.pending.clear();
    for (const [contentsId, clientId] of this.liveClients) this.pending.add(key(contentsId, clientId));
  }

  private spawn(): void {
    this.clearTimer('restartTimer');
    const gen = ++this.generation;
    this.engineId += 1;
    this.state = 'starting';
    const win = createHardenedWindow({
      preload: this.options.preload,
      url: this.options.url,
      trustedOrigins: this.options.trustedOrigins,
      show: false,
      backgroundThrottling: false,
      devTools: this.options.devTools,
      window: { width: 400, height: 300, title: 'Feature Map Explorer engine', skipTaskbar: true },
      log: this.log,
    });
    this.win = win;
    const contents = win.webContents;
    contents.on('render-process-gone', (_event, details) => {
      this.failed(gen, `the engine process is gone (${details.reason}, exit code ${details.exitCode})`);
    });
    contents.on('unresponsive', () => this.failed(gen, 'the engine window stopped responding'));
    contents.on('did-fail-load', (_event, code, description, url, isMainFrame) => {
      // -3 is ERR_ABORTED: a navigation we cancelled ourselves, not a failure.
      if (isMainFrame && code !== -3)
        this.failed(gen, `the engine page failed to load (${url}: ${description}, ${code})`);
    });
    contents.on('preload-error', (_event, path, error) => {
      this.failed(gen, `the engine preload failed (${path}: ${error.message})`);
    });
    win.on('closed', () => this.failed(gen, 'the engine window was closed'));
    this.readyTimer = setTimeout(() => {
      this.readyTimer = null;
      this.failed(gen, `the engine did not get ready within ${Math.round(this.readyTimeoutMs / 1000)} s`);
    }, this.readyTimeoutMs);
  }

  /** Gives one client a new port to the engine: port1 to the inference page, port2 to the client's renderer. */
  private wire(entry: UiEntry, clientId: number): void {
    const client = entry.contents;
    if (client.isDestroyed()) {
      this.disconnect(client.id);
      return;
    }
    const win = this.win;
    if (!win || win.isDestroyed()) return;
    const { port1, port2 } = new MessageChannelMain();
    try {
      win.webContents.postMessage(InferenceChannel.port, null, [port1]);
    } catch (err) {
      this.failed(this.generation, `could not send a port to the engine (${(err as Error).message})`);
      return;
    }
    const message: EnginePortMessage = { clientId, engine: this.engineId };
    try {
      client.postMessage(Push.enginePort, message, [port2]);
    } catch (err) {
      // The renderer went away between the check and the post: forget it, the engine is fine.
      this.log(`could not send a port to webContents ${client.id} (${(err as Error).message})`);
      this.disconnect(client.id);
    }
  }

  private failed(gen: number, reason: string): void {
    if (gen !== this.generation || this.state === 'stopped' || this.state === 'failed') return;
    this.log(reason);
    this.retire();
    this.pendAll();
    this.restarts += 1;
    if (this.restarts > this.maxRestarts) {
      this.state = 'failed';
      this.announce({
        state: 'failed',
        reason: `${reason}; gave up after ${this.maxRestarts} restart${this.maxRestarts === 1 ? '' : 's'}`,
      });
      return;
    }
    this.state = 'waiting';
    this.announce({ state: 'restarting', reason, attempt: this.restarts });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.state === 'waiting') this.spawn();
    }, this.backoffMs(this.restarts));
  }

  /** Drops the current window (destroying it if still alive); its late events no longer count. */
  private retire(): void {
    this.generation += 1;
    this.clearTimer('readyTimer');
    this.clearTimer('stableTimer');
    const win = this.win;
    this.win = null;
    if (win && !win.isDestroyed()) win.destroy();
  }

  private announce(status: EngineStatus): void {
    this.status = status;
    for (const [id, entry] of [...this.uis]) {
      if (entry.contents.isDestroyed()) {
        this.disconnect(id);
        continue;
      }
      entry.contents.send(Push.engineStatus, status);
    }
  }

  private clearTimer(name: 'readyTimer' | 'restartTimer' | 'stableTimer'): void {
    const timer = this[name];
    if (timer) clearTimeout(timer);
    this[name] = null;
  }
}

function key(contentsId: number, clientId: number): string {
  return `${contentsId}:${clientId}`;
}
