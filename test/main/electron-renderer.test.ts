/**
 * The Electron-only renderer pieces: the hidden inference page's script (renderer/src/inference.ts) and
 * the UI's Electron bridge (renderer/src/bridge/electron.ts), run in Node against a fake window, worker
 * and preload API. Real MessageChannels carry the handshake.
 */
import { resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  EngineStatus,
  ExplorerApi,
  MenuCommand,
  ModelFilesPayload,
  OpenedFile,
  RecentEntry,
  RecentOpenResult,
} from '../../common/ipc-contract';
import { PORT_MESSAGE } from '../../common/ipc-contract';

/*
 * The renderer modules belong to the web TypeScript project (tsconfig.web.json, checked by vue-tsc); this
 * node-project test loads them by path so tsc's node project does not pull renderer files in, and
 * describes the little it uses with local types (the HostBridge shape of renderer/src/bridge/types.ts).
 */
const RENDERER = resolve(__dirname, '../../renderer/src');
interface BridgeUnderTest {
  readonly kind: 'electron' | 'web';
  readonly resourcesBase: string;
  connectEngine(): Promise<unknown>;
  onEngineStatus(cb: (status: EngineStatus) => void): () => void;
  openImages(): Promise<OpenedFile[] | null>;
  openModel(): Promise<ModelFilesPayload | null>;
  recent(): Promise<RecentEntry[]>;
  openRecent(id: number): Promise<RecentOpenResult>;
  onMenu(cb: (command: MenuCommand) => void): () => void;
  onOpenRecent?(cb: (id: number) => void): () => void;
}
interface PortUnderTest {
  postMessage(message: unknown, transfer?: unknown[]): void;
  addEventListener(type: 'message', listener: (ev: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (ev: { data: unknown }) => void): void;
  close?(): void;
}
let createElectronBridge: (target: Window) => BridgeUnderTest;
let hostError: (service: string, err: unknown) => Error & { service: string; detail: string; fileName: string | null };
beforeAll(async () => {
  const mod = (await import(/* @vite-ignore */ resolve(RENDERER, 'bridge/electron.ts'))) as {
    createElectronBridge: typeof createElectronBridge;
    hostError: typeof hostError;
  };
  ({ createElectronBridge, hostError } = mod);
});

type Listener = (event: { source: unknown; data: unknown; ports: unknown[] }) => void;

/** Just enough of `window`: message listeners, postMessage to itself (as the preload does), document. */
class FakeWindow {
  readonly listeners: Listener[] = [];
  readonly document = { baseURI: 'app://explorer/index.html' };
  explorer?: ExplorerApi;
  inferenceHost?: { ready: ReturnType<typeof vi.fn>; fatal: ReturnType<typeof vi.fn> };
  addEventListener(type: string, listener: Listener): void {
    if (type === 'message') this.listeners.push(listener);
  }
  /** What the preload's `window.postMessage(PORT_MESSAGE, '*', [port])` delivers; `source` defaults to this window. */
  deliver(data: unknown, ports: unknown[], source: unknown = this): void {
    for (const l of this.listeners) l({ source, data, ports });
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('inference page script', () => {
  /** The engine worker: records what the page posts and answers a hello on the handshake port. */
  class FakeWorker {
    static last: FakeWorker;
    readonly posted: { message: unknown; transfer: unknown[] }[] = [];
    readonly listeners = new Map<string, ((e: unknown) => void)[]>();
    hellos: unknown[] = [];
    /** How the worker answers a hello (tests may swap it before the page loads). */
    static reply: (port: MessagePort, hello: { id: number }) => void = (port, hello) =>
      port.postMessage({
        type: 'ready',
        id: hello.id,
        backend: 'wasm',
        reason: 'test',
        models: [],
        tfjsVersion: '4.22.0',
      });
    constructor(
      readonly url: URL,
      readonly options: WorkerOptions,
    ) {
      FakeWorker.last = this;
    }
    postMessage(message: { type: string }, transfer: MessagePort[] = []): void {
      this.posted.push({ message, transfer });
      const port = transfer[0];
      if (message.type === 'connect' && port && this.posted.length === 1) {
        // The first connection is the page's handshake channel.
        port.addEventListener('message', (e: MessageEvent) => {
          this.hellos.push(e.data);
          FakeWorker.reply(port, e.data);
        });
        port.start();
        openPorts.push(port);
      }
    }
    addEventListener(type: string, fn: (e: unknown) => void): void {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
    }
    emit(type: string, event: unknown): void {
      for (const fn of this.listeners.get(type) ?? []) fn(event);
    }
  }

  let win: FakeWindow;
  const openPorts: MessagePort[] = [];

  async function loadPage(setup?: (w: typeof FakeWorker) => void) {
    vi.resetModules();
    win = new FakeWindow();
    win.document.baseURI = 'app://explorer/inference.html';
    win.inferenceHost = { ready: vi.fn(), fatal: vi.fn() };
    vi.stubGlobal('window', win);
    vi.stubGlobal('document', win.document);
    vi.stubGlobal('Worker', FakeWorker);
    setup?.(FakeWorker);
    await import(/* @vite-ignore */ resolve(RENDERER, 'inference.ts'));
    return FakeWorker.last;
  }

  const defaultReply = FakeWorker.reply;
  afterEach(() => {
    FakeWorker.reply = defaultReply;
    for (const p of openPorts.splice(0)) p.close();
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('starts the engine module worker and says ready after the hello handshake', async () => {
    const worker = await loadPage();
    expect(worker.url.href).toMatch(/\/renderer\/src\/engine\/worker\.ts$/);
    expect(worker.options).toMatchObject({ type: 'module' });
    expect(worker.posted[0].message).toEqual({ type: 'connect' });
    expect(win.inferenceHost!.ready).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(win.inferenceHost!.ready).toHaveBeenCalledWith('wasm'));
    expect(worker.hellos).toEqual([{ type: 'hello', id: 1, resourcesBase: 'app://explorer/' }]);
    expect(win.inferenceHost!.fatal).not.toHaveBeenCalled();
  });

  it('forwards every port the preload posts to the worker, and nothing else', async () => {
    const worker = await loadPage();
    const a = { name: 'port-a' };
    const b = { name: 'port-b' };
    win.deliver(PORT_MESSAGE, [a]);
    win.deliver(PORT_MESSAGE, [b]);
    win.deliver('something else', [{ name: 'x' }]);
    win.deliver(PORT_MESSAGE, [{ name: 'from-a-frame' }], { another: 'window' });
    win.deliver(PORT_MESSAGE, []);
    expect(worker.posted.slice(1)).toEqual([
      { message: { type: 'connect' }, transfer: [a] },
      { message: { type: 'connect' }, transfer: [b] },
    ]);
  });

  it('reports a worker error before the handshake as fatal, once', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    FakeWorker.reply = () => {}; // the engine never answers: it failed to start
    const worker = await loadPage();
    worker.emit('error', { message: 'SyntaxError: bad module' });
    worker.emit('error', { message: 'again' });
    expect(win.inferenceHost!.fatal).toHaveBeenCalledTimes(1);
    expect(win.inferenceHost!.fatal).toHaveBeenCalledWith('engine worker error: SyntaxError: bad module');
  });

  it('only logs a worker error after the handshake (the worker is still serving)', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const worker = await loadPage();
    await vi.waitFor(() => expect(win.inferenceHost!.ready).toHaveBeenCalled());
    worker.emit('error', { message: "Uncaught NetworkError: Failed to execute 'importScripts'" });
    expect(win.inferenceHost!.fatal).not.toHaveBeenCalled();
    expect(logged).toHaveBeenCalledWith(expect.stringContaining("Failed to execute 'importScripts'"));
  });

  it('reports a WebGL context lost twice within a minute, not once', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const now = vi.spyOn(performance, 'now');
    const worker = await loadPage();
    now.mockReturnValue(1_000);
    worker.emit('message', { data: { type: 'context-lost' } });
    now.mockReturnValue(70_000);
    worker.emit('message', { data: { type: 'context-lost' } });
    expect(win.inferenceHost!.fatal).not.toHaveBeenCalled();
    now.mockReturnValue(100_000);
    worker.emit('message', { data: { type: 'context-lost' } });
    expect(win.inferenceHost!.fatal).toHaveBeenCalledWith('WebGL context lost 2 times within a minute');
  });

  it('reports a failed hello and a fatal message from the worker', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    await loadPage((W) => {
      W.reply = (port: MessagePort, hello: { id: number }) =>
        port.postMessage({ type: 'error', id: hello.id, message: 'no backend could be initialised' });
    });
    await vi.waitFor(() =>
      expect(win.inferenceHost!.fatal).toHaveBeenCalledWith('engine hello failed: no backend could be initialised'),
    );
    expect(win.inferenceHost!.ready).not.toHaveBeenCalled();
    FakeWorker.reply = defaultReply;
    const again = await loadPage();
    again.emit('message', { data: { type: 'fatal', reason: 'out of GPU memory' } });
    expect(win.inferenceHost!.fatal).toHaveBeenCalledWith('out of GPU memory');
  });
});

describe('Electron bridge', () => {
  function fakeApi() {
    let statusListener: ((s: EngineStatus) => void) | null = null;
    const api = {
      openImageDialog: vi.fn(async () => null),
      openModelDialog: vi.fn(async () => null),
      recentList: vi.fn(async () => []),
      recentOpen: vi.fn(async (id: number) => ({ kind: 'missing' as const, message: `no ${id}` })),
      appInfo: vi.fn(),
      restartEngine: vi.fn(async (_request?: { reason?: string; engine?: number }) => {}),
      connectEngine: vi.fn(async (_clientId: number) => {}),
      releaseEngine: vi.fn(async (_clientId: number) => {}),
      engineStatus: vi.fn(async (): Promise<EngineStatus> => ({ state: 'starting' })),
      onEngineStatus: vi.fn((cb: (s: EngineStatus) => void) => {
        statusListener = cb;
        return () => (statusListener = null);
      }),
      onMenu: vi.fn(() => () => {}),
      onOpenRecent: vi.fn(() => () => {}),
    };
    return { api, pushStatus: (s: EngineStatus) => statusListener?.(s) };
  }
  const channels: MessageChannel[] = [];
  /** A real channel: the bridge gets port1, the test plays the engine on port2. */
  const channel = () => {
    const c = new MessageChannel();
    channels.push(c);
    return c;
  };
  const portFor = (clientId: number, engine = 1) => ({ type: PORT_MESSAGE, clientId, engine });
  const nextMessage = (port: PortUnderTest) =>
    new Promise<unknown>((resolve) => {
      const l = (ev: { data: unknown }) => {
        port.removeEventListener('message', l);
        resolve(ev.data);
      };
      port.addEventListener('message', l);
    });

  let win: FakeWindow;
  beforeEach(() => {
    win = new FakeWindow();
  });
  afterEach(() => {
    for (const c of channels.splice(0)) {
      c.port1.close();
      c.port2.close();
    }
  });

  it('needs the preload', () => {
    expect(() => createElectronBridge(win as unknown as Window)).toThrow(/window.explorer is missing/);
  });

  it('asks main for a new port per client and hands each port to the client it is tagged for', async () => {
    const { api } = fakeApi();
    win.explorer = api as unknown as ExplorerApi;
    const bridge = createElectronBridge(win as unknown as Window);
    expect(bridge.kind).toBe('electron');
    expect(bridge.resourcesBase).toBe('app://explorer/');
    const first = bridge.connectEngine();
    const second = bridge.connectEngine();
    expect(api.connectEngine.mock.calls).toEqual([[1], [2]]);
    // Spoofed, malformed and untagged messages are ignored.
    win.deliver(portFor(1), [channel().port1], { another: 'frame' });
    win.deliver(PORT_MESSAGE, [channel().port1]);
    win.deliver({ type: PORT_MESSAGE, clientId: '1', engine: 1 }, [channel().port1]);
    win.deliver({ type: PORT_MESSAGE, clientId: 1 }, [channel().port1]);
    const c2 = channel();
    const c1 = channel();
    win.deliver(portFor(2), [c2.port1]);
    win.deliver(portFor(1), [c1.port1]);
    const [p1, p2] = (await Promise.all([first, second])) as PortUnderTest[];
    expect(p1).not.toBe(p2);
    const got1 = nextMessage(p1);
    const got2 = nextMessage(p2);
    c1.port2.postMessage('to one');
    c2.port2.postMessage('to two');
    expect(await got1).toBe('to one');
    expect(await got2).toBe('to two');
  });

  it('after a restart, a fresh port for a client goes behind that client; the old one is closed', async () => {
    const { api } = fakeApi();
    win.explorer = api as unknown as ExplorerApi;
    const bridge = createElectronBridge(win as unknown as Window);
    const pending = bridge.connectEngine();
    const before = channel();
    win.deliver(portFor(1), [before.port1]);
    const port = (await pending) as PortUnderTest;
    // Its EngineClient's listener: while one is attached the client is live.
    port.addEventListener('message', () => {});
    const closed = vi.spyOn(before.port1, 'close');
    const after = channel();
    win.deliver(portFor(1), [after.port1]);
    expect(closed).toHaveBeenCalled();
    const reply = nextMessage(port);
    after.port2.postMessage('from the new engine');
    expect(await reply).toBe('from the new engine');
    const request = new Promise((resolve) => after.port2.addEventListener('message', (e) => resolve(e.data)));
    after.port2.start();
    port.postMessage({ type: 'hello' });
    expect(await request).toEqual({ type: 'hello' });
  });

  it('restartEngine names the engine the port leads to, so main can ignore a stale request', async () => {
    const { api } = fakeApi();
    win.explorer = api as unknown as ExplorerApi;
    const bridge = createElectronBridge(win as unknown as Window) as BridgeUnderTest & {
      restartEngine(reason: string, port?: unknown): Promise<void>;
    };
    const pending = bridge.connectEngine();
    win.deliver(portFor(1, 4), [channel().port1]);
    const port = await pending;
    await bridge.restartEngine('the engine stopped answering', port);
    expect(api.restartEngine).toHaveBeenLastCalledWith({ reason: 'the engine stopped answering', engine: 4 });
    await bridge.restartEngine('x'.repeat(600));
    expect(api.restartEngine).toHaveBeenLastCalledWith({ reason: 'x'.repeat(500) });
    api.restartEngine.mockRejectedValueOnce(new Error("Error invoking remote method 'engine:restart': Error: boom"));
    await expect(bridge.restartEngine('r')).rejects.toThrow('Restarting the engine failed: boom');
  });

  it('releases a client once its last listener goes, and closes ports that arrive for it later', async () => {
    const { api } = fakeApi();
    win.explorer = api as unknown as ExplorerApi;
    const bridge = createElectronBridge(win as unknown as Window);
    const pending = bridge.connectEngine();
    win.deliver(portFor(1), [channel().port1]);
    const port = (await pending) as PortUnderTest;
    const listener = vi.fn();
    port.addEventListener('message', listener);
    // Swapping a listener within one task keeps the connection.
    port.removeEventListener('message', listener);
    port.addEventListener('message', listener);
    await tick();
    expect(api.releaseEngine).not.toHaveBeenCalled();
    port.removeEventListener('message', listener);
    await tick();
    expect(api.releaseEngine).toHaveBeenCalledWith(1);
    const late = channel();
    const closed = vi.spyOn(late.port1, 'close');
    win.deliver(portFor(1), [late.port1]);
    expect(closed).toHaveBeenCalled();
    expect(() => port.postMessage('x')).toThrow(/engine client 1 is closed/);
  });

  it('rejects waiting clients when the engine has failed for good, and when main refuses', async () => {
    const { api, pushStatus } = fakeApi();
    win.explorer = api as unknown as ExplorerApi;
    const bridge = createElectronBridge(win as unknown as Window);
    const pending = bridge.connectEngine();
    pushStatus({ state: 'failed', reason: 'the engine process is gone (oom); gave up after 3 restarts' });
    await expect(pending).rejects.toThrow(
      'Connecting to the engine failed: the engine could not be started: the engine process is gone (oom)',
    );
    expect(api.releaseEngine).toHaveBeenCalledWith(1);
    api.connectEngine.mockRejectedValueOnce(
      new Error(
        "Error invoking remote method 'engine:connect': Error: too many engine connections (32) from one window",
      ),
    );
    await expect(bridge.connectEngine()).rejects.toThrow(
      'Connecting to the engine failed: too many engine connections (32) from one window',
    );
  });

  it('turns every rejection from main into an error naming the file and the reason', async () => {
    const { api } = fakeApi();
    win.explorer = api as unknown as ExplorerApi;
    const bridge = createElectronBridge(win as unknown as Window);
    api.openModelDialog.mockRejectedValueOnce(
      new Error(
        'Error invoking remote method \'dialog:open-model\': Error: /home/u/m/model.json: weight file ".ssh/id_rsa" is in a subfolder',
      ),
    );
    const err = (await bridge.openModel().then(
      () => null,
      (e: unknown) => e,
    )) as ReturnType<typeof hostError>;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe('Open Model failed: /home/u/m/model.json: weight file ".ssh/id_rsa" is in a subfolder');
    expect(err.fileName).toBe('model.json');
    expect(err.service).toBe('Open Model');
    api.openImageDialog.mockRejectedValueOnce(
      new Error("Error invoking remote method 'dialog:open-image': Error: C:\\Users\\u\\cat.png: not found"),
    );
    await expect(bridge.openImages()).rejects.toMatchObject({
      message: 'Open Image failed: C:\\Users\\u\\cat.png: not found',
      fileName: 'cat.png',
    });
    api.recentOpen.mockRejectedValueOnce('plain string');
    await expect(bridge.openRecent(2)).rejects.toThrow('Open Recent failed: plain string');
    api.recentList.mockRejectedValueOnce(
      new Error("Error invoking remote method 'recent:list': IpcRejection: recent:list: bad payload"),
    );
    await expect(bridge.recent()).rejects.toMatchObject({
      message: 'Reading the Recent list failed: recent:list: bad payload',
      fileName: null,
    });
    expect(hostError('X', new Error('')).message).toBe('X failed: unknown error');
  });

  it('replays the current status to a late subscriber and delegates host services', async () => {
    const { api } = fakeApi();
    win.explorer = api as unknown as ExplorerApi;
    const bridge = createElectronBridge(win as unknown as Window);
    const seen: EngineStatus[] = [];
    bridge.onEngineStatus((s) => seen.push(s));
    await tick();
    expect(seen).toEqual([{ state: 'starting' }]);
    await bridge.openImages();
    await bridge.openModel();
    await bridge.recent();
    await expect(bridge.openRecent(4)).resolves.toEqual({ kind: 'missing', message: 'no 4' });
    const menu = vi.fn();
    bridge.onMenu(menu);
    bridge.onOpenRecent!(vi.fn());
    expect(api.openImageDialog).toHaveBeenCalled();
    expect(api.openModelDialog).toHaveBeenCalled();
    expect(api.recentList).toHaveBeenCalled();
    expect(api.recentOpen).toHaveBeenCalledWith(4);
    expect(api.onMenu).toHaveBeenCalledWith(menu);
    expect(api.onOpenRecent).toHaveBeenCalled();
  });
});
