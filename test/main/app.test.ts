import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));

import type { IpcMainInvokeEvent, MenuItemConstructorOptions } from 'electron';
import {
  app,
  FakeBrowserWindow,
  FakeMessageChannelMain,
  FakeWebContents,
  ipcMain,
  Menu,
  dialog,
  protocol,
  resetFakes,
  session,
} from './fake-electron';
import { ExplorerApp, installSessionGuards, isRequestAllowed, registerAppScheme } from '../../main/app';
import { APP_ORIGIN } from '../../main/security';
import { STATE_FILE } from '../../main/state';
import { InferenceChannel, Invoke, Push } from '../../common/ipc-contract';

const eventFrom = (contents: FakeWebContents) =>
  ({ sender: contents, senderFrame: contents.mainFrame }) as unknown as IpcMainInvokeEvent;

let dir: string;

beforeEach(() => {
  resetFakes();
  dir = mkdtempSync(join(tmpdir(), 'fme-app-'));
  app.userData = join(dir, 'user-data');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('registerAppScheme', () => {
  it('registers app:// as standard, secure, fetch-able, streaming and CORS-enabled', () => {
    registerAppScheme();
    expect(protocol.registerSchemesAsPrivileged).toHaveBeenCalledWith([
      {
        scheme: 'app',
        privileges: expect.objectContaining({
          standard: true,
          secure: true,
          supportFetchAPI: true,
          stream: true,
          corsEnabled: true,
        }),
      },
    ]);
  });
});

describe('isRequestAllowed', () => {
  it.each([
    ['app://explorer/models/x/model.json', true],
    ['app://other/index.html', false],
    ['devtools://devtools/bundled/inspector.html', true],
    ['blob:app://explorer/1234', true],
    ['data:image/png;base64,AAAA', true],
    ['https://example.com/model.json', false],
    ['http://localhost:5173/index.html', false],
    ['ws://localhost:5173/', false],
    ['file:///etc/passwd', false],
    ['chrome://gpu', false],
    ['nonsense', false],
  ])('%s → %s', (url, allowed) => expect(isRequestAllowed(url, [APP_ORIGIN])).toBe(allowed));

  it('lets the dev server (and its HMR socket) through only when it is trusted', () => {
    const origins = [APP_ORIGIN, 'http://localhost:5173'];
    expect(isRequestAllowed('http://localhost:5173/src/main.ts', origins)).toBe(true);
    expect(isRequestAllowed('ws://localhost:5173/', origins)).toBe(true);
    expect(isRequestAllowed('http://localhost:5174/', origins)).toBe(false);
  });
});

describe('installSessionGuards', () => {
  it('denies every permission and cancels remote requests, logging each', () => {
    const logs: string[] = [];
    const ses = session.defaultSession;
    installSessionGuards(ses as never, [APP_ORIGIN], (m) => logs.push(m));
    const contents = new FakeWebContents();
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      const callback = vi.fn();
      ses.permissionRequestHandler!(contents, permission, callback, {});
      expect(callback).toHaveBeenCalledWith(false);
    }
    expect(ses.permissionCheckHandler!(contents, 'media', 'app://explorer', {})).toBe(false);
    expect(ses.devicePermissionHandler!({})).toBe(false);
    const decide = (url: string) => {
      let cancel: boolean | undefined;
      ses.beforeRequest!({ url, resourceType: 'xhr' }, (r) => (cancel = r.cancel));
      return cancel;
    };
    expect(decide('https://example.com/tracker.js')).toBe(true);
    expect(decide('app://explorer/index.html')).toBe(false);
    expect(logs.filter((l) => l.startsWith('denied permission'))).toHaveLength(5);
    expect(logs.some((l) => l.includes('blocked xhr request to https://example.com/tracker.js'))).toBe(true);
  });
});

describe('ExplorerApp', () => {
  function startApp(platform: NodeJS.Platform = 'linux') {
    const logs: string[] = [];
    const paths = {
      rendererRoot: join(dir, 'out/renderer'),
      resourcesRoot: join(dir, 'resources'),
      preloadUi: join(dir, 'out/preload/index.cjs'),
      preloadInference: join(dir, 'out/preload/inference.cjs'),
    };
    mkdirSync(paths.rendererRoot, { recursive: true });
    const explorer = new ExplorerApp({ paths, isPackaged: false, platform, log: (m) => logs.push(m) });
    explorer.start();
    const [inference, ui] = FakeBrowserWindow.instances;
    return { explorer, logs, inference, ui, paths };
  }

  it('serves app://, guards the session, and handles every invoke channel of the contract', () => {
    startApp();
    expect(protocol.handle).toHaveBeenCalledWith('app', expect.any(Function));
    expect(session.defaultSession.beforeRequest).not.toBeNull();
    expect([...ipcMain.handlers.keys()].sort()).toEqual(Object.values(Invoke).sort());
    expect(ipcMain.listenerCount(InferenceChannel.ready)).toBe(1);
    expect(ipcMain.listenerCount(InferenceChannel.fatal)).toBe(1);
  });

  it('opens a hardened UI window and a hidden inference window', async () => {
    const { ui, inference, paths } = startApp();
    expect(FakeBrowserWindow.instances).toHaveLength(2);
    await Promise.resolve();
    expect(ui.webContents.getURL()).toBe('app://explorer/index.html');
    expect(inference.webContents.getURL()).toBe('app://explorer/inference.html');
    expect(ui.options.webPreferences).toMatchObject({
      preload: paths.preloadUi,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
    });
    expect(inference.options.webPreferences).toMatchObject({
      preload: paths.preloadInference,
      backgroundThrottling: false,
      sandbox: true,
    });
    expect(inference.options.show).toBe(false);
    // The UI appears once it has painted.
    expect(ui.visible).toBe(false);
    ui.emit('ready-to-show');
    expect(ui.visible).toBe(true);
    expect(ui.options).toMatchObject({ width: 1280, height: 820 });
  });

  it('wires the UI to the engine after the ready handshake, through validated IPC', async () => {
    const { ui, inference } = startApp();
    await Promise.resolve();
    await ipcMain.invoke(Invoke.connectEngine, eventFrom(ui.webContents), { clientId: 1 });
    expect(FakeMessageChannelMain.created).toHaveLength(0);
    await expect(ipcMain.invoke(Invoke.engineStatus, eventFrom(ui.webContents))).resolves.toEqual({
      state: 'starting',
    });

    ipcMain.emit(InferenceChannel.ready, eventFrom(inference.webContents), 'wasm');
    expect(FakeMessageChannelMain.created).toHaveLength(1);
    const { port1, port2 } = FakeMessageChannelMain.created[0];
    expect(inference.webContents.posted).toEqual([
      { channel: InferenceChannel.port, message: null, transfer: [port1] },
    ]);
    expect(ui.webContents.posted).toEqual([
      { channel: Push.enginePort, message: { clientId: 1, engine: 1 }, transfer: [port2] },
    ]);
    expect(ui.webContents.sent.filter((s) => s.channel === Push.engineStatus).at(-1)!.args[0]).toEqual({
      state: 'ready',
    });

    // The UI window may not pretend to be the engine, nor the engine call the UI's channels.
    ipcMain.emit(InferenceChannel.fatal, eventFrom(ui.webContents), 'spoofed');
    await expect(ipcMain.invoke(Invoke.recentList, eventFrom(inference.webContents))).rejects.toThrow(
      /inference window, not the ui window/,
    );
    const stranger = new FakeWebContents();
    await stranger.loadURL('app://explorer/index.html');
    await expect(ipcMain.invoke(Invoke.appInfo, eventFrom(stranger))).rejects.toThrow(/not one of our windows/);
    expect(FakeBrowserWindow.instances).toHaveLength(2);
  });

  it('restarts the engine when the UI asks', async () => {
    const { ui, inference } = startApp();
    await Promise.resolve();
    await ipcMain.invoke(Invoke.restartEngine, eventFrom(ui.webContents));
    expect(inference.destroyed).toBe(true);
    expect(FakeBrowserWindow.instances).toHaveLength(3);
  });

  it('answers appInfo and recentList', async () => {
    const { ui } = startApp();
    await Promise.resolve();
    await expect(ipcMain.invoke(Invoke.appInfo, eventFrom(ui.webContents))).resolves.toMatchObject({
      name: 'Feature Map Explorer',
      version: '0.1.0',
    });
    await expect(ipcMain.invoke(Invoke.recentList, eventFrom(ui.webContents))).resolves.toEqual([]);
  });

  it('sends menu commands and Recent choices to the UI, and rebuilds the menu when Recent changes', async () => {
    const { ui } = startApp();
    const template = () => Menu.buildFromTemplate.mock.calls.at(-1)![0] as MenuItemConstructorOptions[];
    const file = () => template().find((i) => i.label === '&File')!.submenu as MenuItemConstructorOptions[];
    (file()[0].click as unknown as () => void)();
    expect(ui.webContents.sent.at(-1)).toEqual({ channel: Push.menu, args: ['open-image'] });

    const builds = Menu.buildFromTemplate.mock.calls.length;
    const dropped = join(dir, 'chosen-model');
    mkdirSync(dropped);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dropped, 'model.json'), '{"modelTopology":{"class_name":"Sequential"}}');
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [join(dropped, 'model.json')] });
    await ipcMain.invoke(Invoke.openModelDialog, eventFrom(ui.webContents));
    expect(Menu.buildFromTemplate.mock.calls.length).toBe(builds + 1);
    const recent = file().find((i) => i.label === 'Recent')!.submenu as MenuItemConstructorOptions[];
    expect(recent[0].label).toBe('Model: chosen-model');
    (recent[0].click as unknown as () => void)();
    expect(ui.webContents.sent.at(-1)!.channel).toBe(Push.openRecent);
    expect(typeof ui.webContents.sent.at(-1)!.args[0]).toBe('number');
  });

  it('remembers the window bounds, and closing the UI quits (not on macOS) after saving', () => {
    const { ui, inference } = startApp('linux');
    ui.bounds = { x: 50, y: 60, width: 1000, height: 700 };
    ui.emit('close');
    ui.destroy();
    expect(app.quit).toHaveBeenCalled();
    app.emit('before-quit');
    expect(inference.destroyed).toBe(true);
    const saved = JSON.parse(readFileSync(join(dir, 'user-data', STATE_FILE), 'utf8'));
    expect(saved.bounds).toEqual({ x: 50, y: 60, width: 1000, height: 700, maximized: false });

    // The next run opens where the last one closed.
    resetFakes();
    const next = startApp('linux');
    expect(next.ui.options).toMatchObject({ x: 50, y: 60, width: 1000, height: 700 });
  });

  it('keeps running without windows on macOS and reopens the UI on activate', () => {
    const { ui } = startApp('darwin');
    ui.destroy();
    expect(app.quit).not.toHaveBeenCalled();
    app.emit('activate');
    expect(FakeBrowserWindow.instances).toHaveLength(3);
  });

  it('denies popups and webviews in any webContents created later', () => {
    startApp();
    const devtools = new FakeWebContents();
    app.emit('web-contents-created', {}, devtools);
    expect(devtools.windowOpenHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    expect(devtools.fire('will-attach-webview')).toBe(true);
  });

  it('uses the dev server only when not packaged', () => {
    const paths = { rendererRoot: dir, resourcesRoot: dir, preloadUi: 'a', preloadInference: 'b' };
    const dev = new ExplorerApp({ paths, isPackaged: false, devServerUrl: 'http://localhost:5173' });
    expect(dev.pageUrl('index')).toBe('http://localhost:5173/index.html');
    expect(dev.origins).toEqual([APP_ORIGIN, 'http://localhost:5173']);
    const packaged = new ExplorerApp({ paths, isPackaged: true, devServerUrl: 'http://localhost:5173' });
    expect(packaged.pageUrl('inference')).toBe('app://explorer/inference.html');
    expect(packaged.origins).toEqual([APP_ORIGIN]);
    const remote = new ExplorerApp({ paths, isPackaged: false, devServerUrl: 'http://example.com:5173' });
    expect(remote.origins).toEqual([APP_ORIGIN]);
  });
});
