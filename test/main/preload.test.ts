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
} from '../../preload/contract';

/** The page's window as the sandboxed preload sees it: only postMessage is used. */
let fakeWindow: { postMessage: ReturnType<typeof vi.fn> };
let contextBridge: typeof Fakes.contextBridge;
let ipcRenderer: typeof Fakes.ipcRenderer;
let webUtils: typeof Fakes.webUtils;

beforeEach(async () => {
  // Each test loads the preload afresh (it registers listeners when evaluated). The mocked 'electron'
  // survives resetModules, so take the fakes from it: the same objects the preload will import.
  vi.resetModules();
  const fakes = (await import('electron')) as unknown as typeof Fakes;
  ({ contextBridge, ipcRenderer, webUtils } = fakes);
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
        'onEngineStatus',
        'onMenu',
        'onOpenRecent',
        'openImageDialog',
        'openModelDialog',
        'readDropped',
        'recentList',
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
    await api.connectEngine!();
    await api.engineStatus!();
    expect(ipcRenderer.invoked).toEqual([
      { channel: Invoke.openImageDialog, args: [] },
      { channel: Invoke.openModelDialog, args: [] },
      { channel: Invoke.recentList, args: [] },
      { channel: Invoke.recentOpen, args: [3] },
      { channel: Invoke.appInfo, args: [] },
      { channel: Invoke.restartEngine, args: [] },
      { channel: Invoke.connectEngine, args: [] },
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

  it('forwards an engine port into the page with window.postMessage', async () => {
    await loadUiPreload();
    const port = { fake: 'MessagePort' };
    ipcRenderer.emit(Push.enginePort, { ports: [port] });
    expect(fakeWindow.postMessage).toHaveBeenCalledWith(PORT_MESSAGE, '*', [port]);
    ipcRenderer.emit(Push.enginePort, { ports: [] });
    expect(fakeWindow.postMessage).toHaveBeenCalledTimes(1);
  });

  it('readDropped sends the paths of real dropped files and reports files without one', async () => {
    const api = await loadUiPreload();
    ipcRenderer.invokeResult = () => ({ kind: 'images', files: [], errors: ['/home/u/x.txt: not an image file'] });
    const files = [
      { name: 'cat.png', path: '/home/u/cat.png' },
      { name: 'made-up.png' },
      { name: 'x.txt', path: '/home/u/x.txt' },
    ] as unknown as File[];
    const result = await api.readDropped(files);
    expect(webUtils.getPathForFile).toHaveBeenCalledTimes(3);
    expect(ipcRenderer.invoked).toEqual([
      { channel: Invoke.readDropped, args: [{ paths: ['/home/u/cat.png', '/home/u/x.txt'] }] },
    ]);
    expect(result.errors).toEqual([
      'made-up.png: not a file on disk; it cannot be opened from here',
      '/home/u/x.txt: not an image file',
    ]);

    ipcRenderer.invoked.length = 0;
    const none = await api.readDropped([{ name: 'blob.png' }] as unknown as File[]);
    expect(ipcRenderer.invoked).toEqual([]);
    expect(none).toEqual({
      kind: 'images',
      files: [],
      errors: ['blob.png: not a file on disk; it cannot be opened from here'],
    });
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
