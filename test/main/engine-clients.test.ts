/**
 * One host boundary in Electron, end to end with the fake Electron: the real ExplorerApp (validated IPC,
 * InferenceHost), the real UI preload and the real Electron bridge of the renderer, joined the way
 * Electron joins them — invoke goes to ipcMain's handler with the UI as sender, `webContents.send` /
 * `postMessage` reach the preload's ipcRenderer listeners with the transferred ports, the preload's
 * `window.postMessage` reaches the bridge. Channels are real MessageChannels; a fake engine in each
 * inference window answers every request with its generation, so a test can tell which engine and
 * which client a reply belongs to.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));

import type { IpcMainInvokeEvent } from 'electron';
import type * as Fakes from './fake-electron';
import type { ExplorerApp as ExplorerAppType } from '../../main/app';
import { InferenceChannel, Invoke, type EngineStatus } from '../../common/ipc-contract';

const RENDERER = resolve(__dirname, '../../renderer/src');

/** The bit of the renderer's PortLike (common/engine-protocol.ts) the test uses. */
interface ClientPort {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (ev: { data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (ev: { data: unknown }) => void): void;
}
interface Bridge {
  connectEngine(): Promise<ClientPort>;
  onEngineStatus(cb: (status: EngineStatus) => void): () => void;
}

type Listener = (event: { source: unknown; data: unknown; ports: unknown[] }) => void;

/** The UI page's window as the preload and the bridge see it. */
class PageWindow {
  readonly listeners: Listener[] = [];
  readonly document = { baseURI: 'app://explorer/index.html' };
  explorer?: unknown;
  addEventListener(type: string, listener: Listener): void {
    if (type === 'message') this.listeners.push(listener);
  }
  postMessage(data: unknown, _origin: string, ports: unknown[] = []): void {
    for (const l of this.listeners) l({ source: this, data, ports });
  }
}

/** A reply of the fake engine. */
interface Echo {
  engine: number;
  request: unknown;
}

let fakes: typeof Fakes;
let dir: string;
const openPorts: MessagePort[] = [];

beforeEach(async () => {
  vi.resetModules();
  fakes = (await import('electron')) as unknown as typeof Fakes;
  fakes.resetFakes();
  fakes.FakeMessageChannelMain.real = true;
  dir = mkdtempSync(join(tmpdir(), 'fme-clients-'));
  fakes.app.userData = join(dir, 'user-data');
});
afterEach(() => {
  for (const p of openPorts.splice(0)) p.close();
  for (const c of fakes.FakeMessageChannelMain.created) {
    (c.port1 as unknown as MessagePort).close();
    (c.port2 as unknown as MessagePort).close();
  }
  fakes.resetFakes();
  vi.unstubAllGlobals();
  rmSync(dir, { recursive: true, force: true });
});

const eventFrom = (contents: Fakes.FakeWebContents) =>
  ({ sender: contents, senderFrame: contents.mainFrame }) as unknown as IpcMainInvokeEvent;

/** Starts the app, loads the preload into a page window, and makes the bridge there. */
async function launch(options: { inlineBytes?: number; chunkBytes?: number } = {}) {
  const { ExplorerApp } = await import('../../main/app');
  const { TransferStore } = await import('../../main/transfers');
  const paths = {
    rendererRoot: join(dir, 'out/renderer'),
    resourcesRoot: join(dir, 'resources'),
    preloadUi: join(dir, 'out/preload/index.cjs'),
    preloadInference: join(dir, 'out/preload/inference.cjs'),
  };
  mkdirSync(paths.rendererRoot, { recursive: true });
  const explorer: ExplorerAppType = new ExplorerApp({
    paths,
    isPackaged: false,
    platform: 'linux',
    log: () => {},
    transfers: new TransferStore(options.inlineBytes, options.chunkBytes),
  });
  /** Requests each engine generation received, by client tag. */
  const engines: { generation: number; contents: Fakes.FakeWebContents; ports: MessagePort[]; requests: unknown[] }[] =
    [];

  const { FakeBrowserWindow, FakeWebContents, ipcMain, ipcRenderer } = fakes;
  const isUi = (c: Fakes.FakeWebContents) => c === FakeBrowserWindow.instances[1]?.webContents;
  FakeWebContents.postHook = (contents, channel, message, transfer) => {
    if (channel === InferenceChannel.port) {
      // The inference page hands the port to its engine: this one echoes, naming its generation.
      const engine = engines.find((e) => e.contents === contents);
      const port = transfer[0] as MessagePort;
      openPorts.push(port);
      engine!.ports.push(port);
      port.addEventListener('message', (ev) => {
        engine!.requests.push(ev.data);
        port.postMessage({ engine: engine!.generation, request: ev.data } satisfies Echo);
      });
      port.start();
    } else if (isUi(contents)) {
      ipcRenderer.emit(channel, { sender: null, ports: transfer }, message);
    }
  };
  FakeWebContents.sendHook = (contents, channel, args) => {
    if (isUi(contents)) ipcRenderer.emit(channel, { sender: null, ports: [] }, ...args);
  };

  explorer.start();
  const ui = FakeBrowserWindow.instances[1];
  await Promise.resolve(); // loadURL
  ipcRenderer.invokeResult = (channel, args) => ipcMain.invoke(channel, eventFrom(ui.webContents), ...args);

  const page = new PageWindow();
  vi.stubGlobal('window', page);
  await import('../../preload/index');
  page.explorer = fakes.contextBridge.exposed.explorer;
  const { createElectronBridge } = (await import(/* @vite-ignore */ resolve(RENDERER, 'bridge/electron.ts'))) as {
    createElectronBridge: (target: unknown) => Bridge;
  };
  const bridge = createElectronBridge(page);

  /** The inference window of generation `n` (0 = the first) says ready. */
  const engineReady = async (n: number) => {
    const win = FakeBrowserWindow.instances.filter((w) => w !== ui)[n];
    engines.push({ generation: n, contents: win.webContents, ports: [], requests: [] });
    await Promise.resolve();
    ipcMain.emit(InferenceChannel.ready, eventFrom(win.webContents), 'wasm');
  };
  return { explorer, bridge, ui, engines, engineReady };
}

/** Records what reaches one client, as its EngineClient would (one listener, kept until dispose). */
function collect(port: ClientPort) {
  const got: Echo[] = [];
  const listener = (ev: { data: unknown }) => got.push(ev.data as Echo);
  port.addEventListener('message', listener);
  return { got, dispose: () => port.removeEventListener('message', listener) };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('two engine clients on one Electron bridge', { timeout: 10_000 }, () => {
  it('main view and Compare get their own ports, and after an engine restart replies still reach the right client', async () => {
    const { explorer, bridge, engines, engineReady } = await launch();
    const mainView = bridge.connectEngine();
    const compare = bridge.connectEngine();
    await engineReady(0);
    const [mainPort, comparePort] = await Promise.all([mainView, compare]);
    expect(mainPort).not.toBe(comparePort);
    expect(engines[0].ports).toHaveLength(2);
    const mainGot = collect(mainPort);
    const compareGot = collect(comparePort);

    mainPort.postMessage({ from: 'main', n: 1 });
    comparePort.postMessage({ from: 'compare', n: 1 });
    await settle();
    expect(mainGot.got).toEqual([{ engine: 0, request: { from: 'main', n: 1 } }]);
    expect(compareGot.got).toEqual([{ engine: 0, request: { from: 'compare', n: 1 } }]);

    // The engine restarts: main rewires every live client with a fresh port behind the same PortLike.
    await fakes.ipcMain.invoke(Invoke.restartEngine, eventFrom(fakes.FakeBrowserWindow.instances[1].webContents));
    await engineReady(1);
    await settle();
    expect(engines[1].ports).toHaveLength(2);
    mainPort.postMessage({ from: 'main', n: 2 });
    comparePort.postMessage({ from: 'compare', n: 2 });
    await settle();
    expect(mainGot.got.at(-1)).toEqual({ engine: 1, request: { from: 'main', n: 2 } });
    expect(compareGot.got.at(-1)).toEqual({ engine: 1, request: { from: 'compare', n: 2 } });
    expect(mainGot.got).toHaveLength(2);
    expect(compareGot.got).toHaveLength(2);
    // Nothing more went to the old engine.
    expect(engines[0].requests).toHaveLength(2);
    expect(explorer.host.liveClients.map(([, id]) => id)).toEqual([1, 2]);
  });

  it('a client that reconnects after a restart (as the stores do) releases its old one; the next restart wires only live clients', async () => {
    const { explorer, bridge, engines, engineReady } = await launch();
    const statuses: EngineStatus[] = [];
    bridge.onEngineStatus((s) => statuses.push(s));
    const first = bridge.connectEngine();
    const compare = bridge.connectEngine();
    await engineReady(0);
    const oldMain = collect(await first);
    const comparePort = await compare;
    const compareGot = collect(comparePort);

    await fakes.ipcMain.invoke(Invoke.restartEngine, eventFrom(fakes.FakeBrowserWindow.instances[1].webContents));
    expect(statuses.some((s) => s.state === 'restarting')).toBe(true);
    // The main view's store reconnects on 'restarting': a new client, then it disposes the old EngineClient.
    const reconnected = bridge.connectEngine();
    await engineReady(1);
    const newMainPort = await reconnected;
    const newMain = collect(newMainPort);
    oldMain.dispose();
    await settle();
    expect(explorer.host.liveClients.map(([, id]) => id)).toEqual([2, 3]);

    newMainPort.postMessage('main after restart');
    comparePort.postMessage('compare after restart');
    await settle();
    expect(newMain.got).toEqual([{ engine: 1, request: 'main after restart' }]);
    expect(compareGot.got).toEqual([{ engine: 1, request: 'compare after restart' }]);
    expect(oldMain.got).toEqual([]);

    await fakes.ipcMain.invoke(Invoke.restartEngine, eventFrom(fakes.FakeBrowserWindow.instances[1].webContents));
    await engineReady(2);
    await settle();
    expect(engines[2].ports).toHaveLength(2);
    newMainPort.postMessage('again');
    await settle();
    expect(newMain.got.at(-1)).toEqual({ engine: 2, request: 'again' });
    expect(compareGot.got).toHaveLength(1);
  });

  it('two clients that see the same hang restart the engine once', async () => {
    const { explorer, bridge, engines, engineReady } = await launch();
    const b = bridge as Bridge & { restartEngine(reason: string, port?: ClientPort): Promise<void> };
    const first = bridge.connectEngine();
    const second = bridge.connectEngine();
    await engineReady(0);
    const [mainPort, comparePort] = await Promise.all([first, second]);
    collect(mainPort);
    collect(comparePort);
    await b.restartEngine('main view: no answer', mainPort);
    await b.restartEngine('compare: no answer', comparePort);
    expect(fakes.FakeBrowserWindow.instances).toHaveLength(3); // inference 1, UI, inference 2
    expect(explorer.host.currentEngine).toBe(2);
    await engineReady(1);
    await settle();
    expect(engines[1].ports).toHaveLength(2);
    // Now the compare client's port leads to engine 2: its restart request counts.
    await b.restartEngine('compare: no answer again', comparePort);
    expect(explorer.host.currentEngine).toBe(3);
  });

  it('closing the UI window forgets all its clients', async () => {
    const { explorer, bridge, ui, engineReady } = await launch();
    const a = bridge.connectEngine();
    const b = bridge.connectEngine();
    await engineReady(0);
    await Promise.all([a, b]);
    expect(explorer.host.liveClients).toHaveLength(2);
    ui.emit('closed');
    expect(explorer.host.liveClients).toEqual([]);
  });
});

describe('a large model crosses IPC in chunks', () => {
  it('the page gets whole files; main keeps nothing once they are read', async () => {
    const { explorer } = await launch({ inlineBytes: 1000, chunkBytes: 300 });
    const { writeFileSync } = await import('node:fs');
    const folder = join(dir, 'big');
    mkdirSync(folder);
    const shard = Buffer.alloc(2000);
    for (let i = 0; i < shard.length; i++) shard[i] = i % 251;
    writeFileSync(join(folder, 'w.bin'), shard);
    writeFileSync(
      join(folder, 'model.json'),
      JSON.stringify({
        modelTopology: { class_name: 'Sequential' },
        weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [500], dtype: 'float32' }] }],
      }),
    );
    writeFileSync(join(folder, 'labels.txt'), 'a\nb\n');
    fakes.dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [join(folder, 'model.json')] });
    const api = fakes.contextBridge.exposed.explorer as import('../../common/ipc-contract').ExplorerApi;
    const model = await api.openModelDialog();
    expect(model!.files.map((f) => [f.path, f.bytes.byteLength])).toEqual([
      ['model.json', expect.any(Number)],
      ['w.bin', 2000],
      ['labels.txt', 4],
    ]);
    expect(Buffer.from(model!.files[1].bytes).equals(shard)).toBe(true);
    const chunkReads = fakes.ipcRenderer.invoked.filter((c) => c.channel === Invoke.readTransfer);
    expect(chunkReads.map((c) => (c.args[0] as { offset: number }).offset)).toEqual([
      0, 300, 600, 900, 1200, 1500, 1800,
    ]);
    expect(explorer.transfers.size).toBe(0);

    // Reopened from Recent: the same path.
    const recent = (await api.recentList())[0];
    const again = await api.recentOpen(recent.id);
    expect(again.kind).toBe('model');
    if (again.kind === 'model') expect(Buffer.from(again.model.files[1].bytes).equals(shard)).toBe(true);
  });
});
