/**
 * A stand-in for the `electron` module, used with `vi.mock('electron', () => import('./fake-electron'))`.
 * The Electron binary cannot run here, so main-process code is tested against these fakes at the module
 * boundary: they record what the code asked Electron to do and let tests emit the events Electron would.
 */
import { EventEmitter } from 'node:events';
import { vi } from 'vitest';

let nextId = 1;

/** A WebFrameMain: the main frame unless `parent` is set. */
export class FakeFrame {
  parent: FakeFrame | null = null;
  constructor(
    public url: string,
    public processId: number,
    public routingId: number,
  ) {}
}

/** What a test may do with each send / post a webContents receives (deliver it to a fake renderer). */
export type ContentsHook = (contents: FakeWebContents, channel: string, message: unknown, transfer: unknown[]) => void;

/** A webContents: emits the events the code listens to and records sends, posts and handlers. */
export class FakeWebContents extends EventEmitter {
  /** Called after every `postMessage` (with the transferred ports) and `send` (message = the first arg). */
  static postHook: ContentsHook | null = null;
  static sendHook: ((contents: FakeWebContents, channel: string, args: unknown[]) => void) | null = null;
  readonly id = nextId++;
  url = '';
  destroyed = false;
  readonly mainFrame: FakeFrame;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  readonly posted: { channel: string; message: unknown; transfer: unknown[] }[] = [];
  reloads = 0;

  constructor() {
    super();
    this.mainFrame = new FakeFrame('', 100 + this.id, 1);
  }
  getURL(): string {
    return this.url;
  }
  async loadURL(url: string): Promise<void> {
    this.url = url;
    this.mainFrame.url = url;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, ...args: unknown[]): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    this.sent.push({ channel, args });
    FakeWebContents.sendHook?.(this, channel, args);
  }
  postMessage(channel: string, message: unknown, transfer: unknown[] = []): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    this.posted.push({ channel, message, transfer });
    FakeWebContents.postHook?.(this, channel, message, transfer);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  reload(): void {
    this.reloads++;
  }
  /** Emits an Electron-style event object (with preventDefault) plus extra args; returns whether it was prevented. */
  fire(name: string, details: Record<string, unknown> = {}, ...args: unknown[]): boolean {
    let prevented = false;
    const event = { ...details, preventDefault: () => (prevented = true) };
    this.emit(name, event, ...args);
    return prevented;
  }
}

/** A BrowserWindow. Every instance is kept in `FakeBrowserWindow.instances`. */
export class FakeBrowserWindow extends EventEmitter {
  static instances: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  destroyed = false;
  visible: boolean;
  maximized = false;
  minimized = false;
  bounds: { x: number; y: number; width: number; height: number };

  constructor(public readonly options: Record<string, unknown> & { webPreferences?: Record<string, unknown> }) {
    super();
    this.visible = options.show !== false;
    this.bounds = {
      x: Number(options.x ?? 0),
      y: Number(options.y ?? 0),
      width: Number(options.width ?? 800),
      height: Number(options.height ?? 600),
    };
    FakeBrowserWindow.instances.push(this);
  }
  static fromWebContents(contents: FakeWebContents): FakeBrowserWindow | null {
    return FakeBrowserWindow.instances.find((w) => w.webContents === contents) ?? null;
  }
  loadURL(url: string): Promise<void> {
    return this.webContents.loadURL(url);
  }
  show(): void {
    this.visible = true;
  }
  focus(): void {}
  restore(): void {
    this.minimized = false;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  maximize(): void {
    this.maximized = true;
  }
  isMaximized(): boolean {
    return this.maximized;
  }
  getNormalBounds() {
    return { ...this.bounds };
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.webContents.destroyed = true;
    this.emit('closed');
  }
}

/** A MessagePortMain (only identity matters: which window got which end). */
export class FakeMessagePortMain {
  constructor(
    public readonly channel: number,
    public readonly end: 1 | 2,
  ) {}
}

/**
 * A MessageChannelMain; `FakeMessageChannelMain.created` lists every channel made. With `real` set, its
 * ports are real (Node's DOM-style MessagePorts), so messages flow between the fake windows as they would
 * between Electron's processes once the ports are transferred.
 */
export class FakeMessageChannelMain {
  static created: FakeMessageChannelMain[] = [];
  static real = false;
  readonly port1: FakeMessagePortMain;
  readonly port2: FakeMessagePortMain;
  constructor() {
    const n = FakeMessageChannelMain.created.length + 1;
    if (FakeMessageChannelMain.real) {
      const { port1, port2 } = new MessageChannel();
      this.port1 = port1 as unknown as FakeMessagePortMain;
      this.port2 = port2 as unknown as FakeMessagePortMain;
    } else {
      this.port1 = new FakeMessagePortMain(n, 1);
      this.port2 = new FakeMessagePortMain(n, 2);
    }
    FakeMessageChannelMain.created.push(this);
  }
}

/** ipcMain: `handlers` for invoke channels, EventEmitter listeners for sends. */
export class FakeIpcMain extends EventEmitter {
  readonly handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  handle(channel: string, fn: (event: unknown, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, fn);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** What ipcRenderer.invoke would do: call the handler, or reject like Electron when there is none. */
  async invoke(channel: string, event: unknown, ...args: unknown[]): Promise<unknown> {
    const fn = this.handlers.get(channel);
    if (!fn) throw new Error(`No handler registered for '${channel}'`);
    return fn(event, ...args);
  }
}

export const ipcMain = new FakeIpcMain();
export const BrowserWindow = FakeBrowserWindow;
export const MessageChannelMain = FakeMessageChannelMain;

export const protocol = {
  registerSchemesAsPrivileged: vi.fn(),
  handle: vi.fn(),
};

/** The default session: records its permission handlers and the webRequest filter. */
export const session = {
  defaultSession: {
    permissionRequestHandler: null as null | ((...args: unknown[]) => void),
    permissionCheckHandler: null as null | ((...args: unknown[]) => boolean),
    devicePermissionHandler: null as null | ((...args: unknown[]) => boolean),
    beforeRequest: null as null | ((details: unknown, cb: (r: { cancel: boolean }) => void) => void),
    setPermissionRequestHandler(h: (...args: unknown[]) => void) {
      this.permissionRequestHandler = h;
    },
    setPermissionCheckHandler(h: (...args: unknown[]) => boolean) {
      this.permissionCheckHandler = h;
    },
    setDevicePermissionHandler(h: (...args: unknown[]) => boolean) {
      this.devicePermissionHandler = h;
    },
    webRequest: {
      onBeforeRequest(h: (details: unknown, cb: (r: { cancel: boolean }) => void) => void) {
        session.defaultSession.beforeRequest = h;
      },
    },
  },
};

class FakeApp extends EventEmitter {
  isPackaged = false;
  userData = '/tmp/fake-user-data';
  quit = vi.fn();
  exit = vi.fn();
  enableSandbox = vi.fn();
  requestSingleInstanceLock = vi.fn(() => true);
  getPath(name: string): string {
    if (name !== 'userData') throw new Error(`unexpected app.getPath(${name})`);
    return this.userData;
  }
  getAppPath(): string {
    return '/tmp/fake-app';
  }
  getName(): string {
    return 'Feature Map Explorer';
  }
  getVersion(): string {
    return '0.1.0';
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
}
export const app = new FakeApp();

export const dialog = {
  showOpenDialog: vi.fn(async (..._args: unknown[]) => ({ canceled: true, filePaths: [] as string[] })),
};

/** Menu: buildFromTemplate keeps the template so tests can read it. */
export const Menu = {
  buildFromTemplate: vi.fn((template: unknown[]) => ({ template })),
  setApplicationMenu: vi.fn(),
};

const primary = { id: 1, workArea: { x: 0, y: 0, width: 1920, height: 1040 } };
export const screen = {
  displays: [primary],
  getAllDisplays() {
    return this.displays;
  },
  getPrimaryDisplay() {
    return this.displays[0];
  },
};

/** Renderer-side modules, for the preload tests. */
export class FakeIpcRenderer extends EventEmitter {
  readonly invoked: { channel: string; args: unknown[] }[] = [];
  readonly sentMessages: { channel: string; args: unknown[] }[] = [];
  invokeResult: (channel: string, args: unknown[]) => unknown = () => undefined;
  async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    this.invoked.push({ channel, args });
    return this.invokeResult(channel, args);
  }
  send(channel: string, ...args: unknown[]): void {
    this.sentMessages.push({ channel, args });
  }
}
export const ipcRenderer = new FakeIpcRenderer();
export const contextBridge = {
  exposed: {} as Record<string, unknown>,
  exposeInMainWorld(key: string, api: unknown) {
    this.exposed[key] = api;
  },
};
export const webUtils = {
  getPathForFile: vi.fn((file: { path?: string }) => file.path ?? ''),
};

/** Puts every fake back to its initial state (call in beforeEach). */
export function resetFakes(): void {
  FakeBrowserWindow.instances = [];
  FakeMessageChannelMain.created = [];
  FakeMessageChannelMain.real = false;
  FakeWebContents.postHook = null;
  FakeWebContents.sendHook = null;
  ipcMain.handlers.clear();
  ipcMain.removeAllListeners();
  protocol.registerSchemesAsPrivileged.mockClear();
  protocol.handle.mockClear();
  app.removeAllListeners();
  app.quit.mockClear();
  app.isPackaged = false;
  dialog.showOpenDialog.mockReset();
  dialog.showOpenDialog.mockImplementation(async () => ({ canceled: true, filePaths: [] }));
  Menu.buildFromTemplate.mockClear();
  Menu.setApplicationMenu.mockClear();
  screen.displays = [primary];
  ipcRenderer.removeAllListeners();
  ipcRenderer.invoked.length = 0;
  ipcRenderer.sentMessages.length = 0;
  ipcRenderer.invokeResult = () => undefined;
  contextBridge.exposed = {};
  webUtils.getPathForFile.mockClear();
}

export default {
  app,
  BrowserWindow,
  MessageChannelMain,
  ipcMain,
  protocol,
  session,
  dialog,
  Menu,
  screen,
  ipcRenderer,
  contextBridge,
  webUtils,
};
