import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));

import type * as Fakes from './fake-electron';
import {
  InferenceChannel,
  Invoke,
  PORT_MESSAGE,
  Push,
  type ExplorerApi,
  type InferenceHostApi,
} from '../../common/ipc-contract';

/** The page's window as the sandboxed preload sees it: only postMessage is used. */
let fakeWindow: { postMessage: ReturnType<typeof vi.fn> };
let contextBridge: typeof Fakes.contextBridge;
let ipcRenderer: typeof Fakes.ipcRenderer;

beforeEach(async () => {
  // Each test loads the preload afresh (it registers listeners when evaluated). The mocked 'electron'
  // survives resetModules, so take the fakes from it: the same objects the preload will import.
  vi.resetModules();
  const fakes = (await import('electron')) as unknown as typeof Fakes;
  ({ contextBridge, ipcRenderer } = fakes);
  fakes.resetFakes();
  fakeWindow = { postMessage: vi.fn() };
  vi.stubGlobal('window', fakeWindow);
});
afterEach(() => vi.unstubAllGlobals());

async function loadUiPreload(): Promise<ExplorerApi> {
  await import('../../preload/index');
  return contextBridge.exposed.explorer as ExplorerApi;
}

describe('UI preload (window.explorer)', () => {
  it('exposes named functions only, never ipcRenderer', async () => {
    const api = await loadUiPreload();
    expect(Object.keys(contextBridge.exposed)).toEqual(['explorer']);
    expect(Object.keys(api).sort()).toEqual(
      [
        'appInfo',
        'connectEngine',
        'engineStatus',
        'findWeights',
        'foundWeights',
        'onEngineStatus',
        'onMenu',
        'onOpenRecent',
        'openImageDialog',
        'openModelDialog',
        'openFoundWeights',
        'recentList',
        'releaseEngine',
        'recentOpen',
        'restartEngine',
      ].sort(),
    );
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
  });

  it('invokes the contract channels with the right payloads', async () => {
    const api = await loadUiPreload();
    await api.openImageDialog();
    await api.openModelDialog();
    await api.recentList();
    await api.recentOpen(3);
    await api.appInfo();
    await api.restartEngine();
    await api.restartEngine({ reason: 'hung', engine: 2 });
    await api.connectEngine(2);
    await api.releaseEngine(2);
    await api.engineStatus!();
    expect(ipcRenderer.invoked).toEqual([
      { channel: Invoke.openImageDialog, args: [] },
      { channel: Invoke.openModelDialog, args: [] },
      { channel: Invoke.recentList, args: [] },
      { channel: Invoke.recentOpen, args: [3] },
      { channel: Invoke.appInfo, args: [] },
      { channel: Invoke.restartEngine, args: [] },
      { channel: Invoke.restartEngine, args: [{ reason: 'hung', engine: 2 }] },
      { channel: Invoke.connectEngine, args: [{ clientId: 2 }] },
      { channel: Invoke.releaseEngine, args: [{ clientId: 2 }] },
      { channel: Invoke.engineStatus, args: [] },
    ]);
  });

  it('wraps listeners so the page gets the payload only, and unsubscribes', async () => {
    const api = await loadUiPreload();
    const status = vi.fn();
    const menu = vi.fn();
    const recent = vi.fn();
    const off = api.onEngineStatus(status);
    api.onMenu(menu);
    api.onOpenRecent!(recent);
    const event = { sender: 'the IPC event must not leak', ports: [] };
    ipcRenderer.emit(Push.engineStatus, event, { state: 'ready' });
    ipcRenderer.emit(Push.menu, event, 'about');
    ipcRenderer.emit(Push.openRecent, event, 7);
    expect(status).toHaveBeenCalledWith({ state: 'ready' });
    expect(status.mock.calls[0]).toHaveLength(1);
    expect(menu).toHaveBeenCalledWith('about');
    expect(recent).toHaveBeenCalledWith(7);
    off();
    ipcRenderer.emit(Push.engineStatus, event, { state: 'starting' });
    expect(status).toHaveBeenCalledTimes(1);
    expect(ipcRenderer.listenerCount(Push.engineStatus)).toBe(0);
  });

  it('forwards an engine port into the page with window.postMessage, tagged with its client id', async () => {
    await loadUiPreload();
    const port = { fake: 'MessagePort' };
    ipcRenderer.emit(Push.enginePort, { ports: [port] }, { clientId: 3, engine: 2 });
    expect(fakeWindow.postMessage).toHaveBeenCalledWith({ type: PORT_MESSAGE, clientId: 3, engine: 2 }, '*', [port]);
    ipcRenderer.emit(Push.enginePort, { ports: [] }, { clientId: 3, engine: 2 });
    ipcRenderer.emit(Push.enginePort, { ports: [port] }, { clientId: 3 });
    ipcRenderer.emit(Push.enginePort, { ports: [port] }, null);
    ipcRenderer.emit(Push.enginePort, { ports: [port] }, { clientId: 'x' });
    expect(fakeWindow.postMessage).toHaveBeenCalledTimes(1);
  });

  it('reassembles a model whose large files main sends in chunks (ArrayBuffer or Uint8Array replies)', async () => {
    const api = await loadUiPreload();
    const token = '0b6f3c9e-2c1a-4b7e-9d2f-5a8e1c3b7d40';
    const small = new Uint8Array([1, 2, 3]).buffer;
    ipcRenderer.invokeResult = (channel, args) => {
      if (channel === Invoke.openModelDialog)
        return {
          name: 'net',
          transfer: token,
          files: [
            { path: 'model.json', bytes: small },
            { path: 'w.bin', size: 5 },
          ],
        };
      const { offset } = args[0] as { offset: number };
      // First reply an ArrayBuffer, then a Uint8Array view into a larger buffer (how Buffers arrive).
      if (offset === 0) return new Uint8Array([10, 11, 12]).buffer;
      return new Uint8Array([0, 13, 14, 0]).subarray(1, 3);
    };
    const model = await api.openModelDialog();
    expect(model!.files.map((f) => [f.path, [...new Uint8Array(f.bytes)]])).toEqual([
      ['model.json', [1, 2, 3]],
      ['w.bin', [10, 11, 12, 13, 14]],
    ]);
    expect(ipcRenderer.invoked.slice(1)).toEqual([
      { channel: Invoke.readTransfer, args: [{ token, index: 1, offset: 0 }] },
      { channel: Invoke.readTransfer, args: [{ token, index: 1, offset: 3 }] },
    ]);
    ipcRenderer.invokeResult = (channel) =>
      channel === Invoke.recentOpen
        ? { kind: 'model', model: { name: 'x', transfer: token, files: [{ path: 'w.bin', size: 2 }] } }
        : new ArrayBuffer(0);
    await expect(api.recentOpen(1)).rejects.toThrow('x: w.bin arrived with the wrong size');
  });

  it('has no function that takes a file path (no file:read-dropped)', async () => {
    const api = await loadUiPreload();
    expect('readDropped' in api).toBe(false);
    expect(Object.values(Invoke)).not.toContain('file:read-dropped');
  });
});

describe('inference preload (window.inferenceHost)', () => {
  async function load(): Promise<InferenceHostApi> {
    await import('../../preload/inference');
    return contextBridge.exposed.inferenceHost as InferenceHostApi;
  }

  it('sends ready and fatal on the inference channels, bounded', async () => {
    const host = await load();
    expect(Object.keys(contextBridge.exposed)).toEqual(['inferenceHost']);
    host.ready('webgl');
    host.ready();
    host.fatal('x'.repeat(5000));
    host.fatal('');
    expect(ipcRenderer.sentMessages[0]).toEqual({ channel: InferenceChannel.ready, args: ['webgl'] });
    expect(ipcRenderer.sentMessages[1]).toEqual({ channel: InferenceChannel.ready, args: [undefined] });
    expect(ipcRenderer.sentMessages[2].channel).toBe(InferenceChannel.fatal);
    expect((ipcRenderer.sentMessages[2].args[0] as string).length).toBe(2000);
    expect(ipcRenderer.sentMessages[3].args[0]).toBe('unknown error');
  });

  it('forwards each engine port into the page', async () => {
    await load();
    const a = { port: 'a' };
    const b = { port: 'b' };
    ipcRenderer.emit(InferenceChannel.port, { ports: [a] });
    ipcRenderer.emit(InferenceChannel.port, { ports: [b] });
    expect(fakeWindow.postMessage.mock.calls).toEqual([
      [PORT_MESSAGE, '*', [a]],
      [PORT_MESSAGE, '*', [b]],
    ]);
  });
});
