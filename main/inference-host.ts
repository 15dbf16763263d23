/**
 * Supervision of the hidden inference window (STYLE.md #7; Electron's "worker process" pattern): the
 * window runs the engine's Web Worker; main waits for its ready handshake, then gives each UI connection
 * one end of a fresh MessageChannelMain and the inference window the other. If the window's process dies,
 * hangs or reports a fatal error, it is replaced (with backoff, up to a limit), every UI gets a new port,
 * and the UI hears about each step through `engine:status`.
 */
import { MessageChannelMain, type BrowserWindow, type MessagePortMain } from 'electron';
import { InferenceChannel, Push, type EngineStatus } from '../preload/contract';
import { createHardenedWindow } from './windows';

/** A UI window's webContents, as far as the host needs it. */
export interface UiClient {
  readonly id: number;
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
  postMessage(channel: string, message: unknown, transfer?: MessagePortMain[]): void;
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
  private state: HostState = 'idle';
  private status: EngineStatus = { state: 'starting' };
  private restarts = 0;
  private readonly clients = new Map<number, UiClient>();
  /** UI clients that asked for a port while the engine was not ready. */
  private readonly pending = new Set<number>();
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
   * A UI wants a port to the engine: it gets one now when the engine is ready, else as soon as it is.
   * The UI is remembered, so after every restart it gets a new port unasked.
   */
  connect(client: UiClient): void {
    if (this.state === 'stopped') return;
    this.clients.set(client.id, client);
    client.send(Push.engineStatus, this.currentStatus);
    if (this.state === 'ready') this.wire(client);
    else this.pending.add(client.id);
  }

  /** Forgets a UI (its window closed). */
  disconnect(clientId: number): void {
    this.clients.delete(clientId);
    this.pending.delete(clientId);
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
    for (const id of waiting) {
      const client = this.clients.get(id);
      if (client) this.wire(client);
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

  /** The UI asked for a restart (e.g. after it could not recover a lost WebGL context): start over now. */
  restart(reason = 'restart requested'): void {
    if (this.state === 'stopped') return;
    this.retire();
    this.restarts = 0;
    this.pending.clear();
    for (const id of this.clients.keys()) this.pending.add(id);
    this.announce({ state: 'restarting', reason, attempt: 1 });
    this.spawn();
  }

  /** Shuts the engine down for good (app quit). Later events from the window are ignored. */
  stop(): void {
    this.state = 'stopped';
    this.retire();
    this.clearTimer('restartTimer');
    this.clients.clear();
    this.pending.clear();
  }

  private spawn(): void {
    this.clearTimer('restartTimer');
    const gen = ++this.generation;
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

  /** Gives one UI a new port to the engine: port1 to the inference page, port2 to the UI. */
  private wire(client: UiClient): void {
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
    client.postMessage(Push.enginePort, null, [port2]);
  }

  private failed(gen: number, reason: string): void {
    if (gen !== this.generation || this.state === 'stopped' || this.state === 'failed') return;
    this.log(reason);
    this.retire();
    for (const id of this.clients.keys()) this.pending.add(id);
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
    for (const [id, client] of this.clients) {
      if (client.isDestroyed()) {
        this.disconnect(id);
        continue;
      }
      client.send(Push.engineStatus, status);
    }
  }

  private clearTimer(name: 'readyTimer' | 'restartTimer' | 'stableTimer'): void {
    const timer = this[name];
    if (timer) clearTimeout(timer);
    this[name] = null;
  }
}
