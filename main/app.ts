/**
 * The application: wires the protocol, the session guards, validated IPC, the state store, menus, the UI
 * window and the inference host together. main/index.ts only registers the scheme, takes the single
 * instance lock and calls `start()` once Electron is ready, so everything here can be exercised in tests
 * with Electron's API replaced.
 */
import { app, BrowserWindow, ipcMain, protocol, screen, session, type Session, type WebContents } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceChannel, Invoke, Push, type AppInfo, type MenuCommand } from '../common/ipc-contract';
import { FileService } from './files';
import { TransferStore } from './transfers';
import { InferenceHost } from './inference-host';
import { IpcRouter, type SenderRole } from './ipc';
import { installMenu } from './menu';
import { createAppProtocolHandler } from './protocol';
import { InferenceSchemas, InvokeSchemas } from './schemas';
import { APP_BASE_URL, APP_HOST, APP_SCHEME, parseUrl, trustedOrigins } from './security';
import { clampBounds, MIN_WINDOW, StateStore } from './state';
import { createHardenedWindow } from './windows';
import { findWeights } from './weights-finder';

/** Where the built app's pieces are on disk. */
export interface AppPaths {
  /** out/renderer: the built pages, scripts, workers and wasm. */
  rendererRoot: string;
  /** resources/: bundled models and sample images. */
  resourcesRoot: string;
  preloadUi: string;
  preloadInference: string;
}

/**
 * Paths relative to the built main bundle (out/main/index.js, inside app.asar when packaged). resources/
 * sits next to package.json during development and `npm start`; electron-builder.yml copies it as extra
 * resources to `process.resourcesPath/resources` (outside app.asar: large models are read as plain files).
 */
export function defaultAppPaths(): AppPaths {
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    rendererRoot: join(here, '../renderer'),
    resourcesRoot: app.isPackaged ? join(process.resourcesPath, 'resources') : join(app.getAppPath(), 'resources'),
    preloadUi: join(here, '../preload/index.cjs'),
    preloadInference: join(here, '../preload/inference.cjs'),
  };
}

/**
 * Registers app:// as a privileged scheme. Must run before the app is ready. `standard` gives it real
 * origins and relative URLs, `secure` makes its pages secure contexts, `supportFetchAPI` lets the engine
 * fetch models, `stream` serves large files progressively, `corsEnabled` lets workers and wasm load, and
 * `codeCache` keeps V8's compiled scripts between runs.
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      privileges: {
        standard: true,
        secure: true,
        supportFetchAPI: true,
        stream: true,
        corsEnabled: true,
        codeCache: true,
      },
    },
  ]);
}

/**
 * Whether the session lets a request through: our app:// host, DevTools, and URLs that never leave the
 * machine (blob:, data:); in development also the dev server (and its HMR websocket). Everything else —
 * any remote content — is cancelled.
 */
export function isRequestAllowed(url: string, origins: readonly string[]): boolean {
  const parsed = parseUrl(url);
  if (!parsed) return false;
  switch (parsed.protocol) {
    case `${APP_SCHEME}:`:
      return parsed.host === APP_HOST;
    case 'devtools:':
    case 'blob:':
    case 'data:':
      return true;
    case 'http:':
    case 'https:':
      return origins.includes(parsed.origin);
    case 'ws:':
    case 'wss:': {
      const http = `${parsed.protocol === 'ws:' ? 'http:' : 'https:'}//${parsed.host}`;
      return origins.includes(http);
    }
    default:
      return false;
  }
}

/** Permissions our pages are granted: none (no camera, notifications, geolocation, …). */
export const GRANTED_PERMISSIONS: readonly string[] = [];

/** Denies every permission request and check, and cancels every request that would leave the app. */
export function installSessionGuards(
  ses: Session,
  origins: readonly string[],
  log: (message: string) => void = (m) => console.warn(`[session] ${m}`),
): void {
  ses.setPermissionRequestHandler((contents, permission, callback) => {
    const granted = GRANTED_PERMISSIONS.includes(permission);
    if (!granted) log(`denied permission "${permission}" to ${contents.getURL()}`);
    callback(granted);
  });
  ses.setPermissionCheckHandler((_contents, permission) => GRANTED_PERMISSIONS.includes(permission));
  ses.setDevicePermissionHandler(() => false);
  ses.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isRequestAllowed(details.url, origins);
    if (!allowed) log(`blocked ${details.resourceType} request to ${details.url}`);
    callback({ cancel: !allowed });
  });
}

/** Configuration of {@link ExplorerApp}. */
export interface ExplorerAppConfig {
  paths: AppPaths;
  /** `process.env.ELECTRON_RENDERER_URL` (electron-vite dev); ignored when packaged. */
  devServerUrl?: string;
  isPackaged: boolean;
  platform?: NodeJS.Platform;
  log?: (message: string) => void;
  /** Where large model files wait for the UI to pull them (tests pass a small one). */
  transfers?: TransferStore;
}

/** The running application: one UI window, one supervised inference window. */
export class ExplorerApp {
  readonly origins: readonly string[];
  readonly host: InferenceHost;
  readonly router: IpcRouter;
  private uiWindow: BrowserWindow | null = null;
  private state: StateStore | null = null;
  private files: FileService | null = null;
  /** Large model files on their way to the UI, in chunks. */
  readonly transfers: TransferStore;
  private readonly log: (message: string) => void;
  private readonly platform: NodeJS.Platform;
  private readonly dev: boolean;
  private uiCrashes = 0;

  constructor(private readonly config: ExplorerAppConfig) {
    this.log = config.log ?? ((m) => console.warn(`[main] ${m}`));
    this.platform = config.platform ?? process.platform;
    this.transfers = config.transfers ?? new TransferStore();
    this.origins = trustedOrigins(config.devServerUrl, config.isPackaged);
    this.dev = this.origins.length > 1;
    this.host = new InferenceHost({
      preload: config.paths.preloadInference,
      url: this.pageUrl('inference'),
      trustedOrigins: this.origins,
      devTools: this.dev,
      log: (m) => this.log(`[inference] ${m}`),
    });
    this.router = new IpcRouter({
      ipc: ipcMain,
      roleOf: (id) => this.roleOf(id),
      trustedOrigins: this.origins,
      log: (m) => this.log(`[ipc] ${m}`),
    });
  }

  /** URL of one of the two pages: app://explorer/<name>.html, or the dev server's while developing. */
  pageUrl(name: 'index' | 'inference'): string {
    const base = this.dev && this.config.devServerUrl ? this.config.devServerUrl.replace(/\/?$/, '/') : APP_BASE_URL;
    return new URL(`${name}.html`, base).href;
  }

  /** The UI window, if open. */
  get window(): BrowserWindow | null {
    return this.uiWindow && !this.uiWindow.isDestroyed() ? this.uiWindow : null;
  }

  /** Everything that needs a ready app. Call once, from `app.whenReady()`. */
  start(): void {
    const { paths } = this.config;
    protocol.handle(
      APP_SCHEME,
      createAppProtocolHandler({
        roots: [paths.rendererRoot, paths.resourcesRoot],
        corsOrigins: this.origins.slice(1),
        log: (m) => this.log(`[app://] ${m}`),
      }),
    );
    installSessionGuards(session.defaultSession, this.origins, (m) => this.log(`[session] ${m}`));
    app.on('web-contents-created', (_event, contents) => this.guardAnyContents(contents));

    this.state = StateStore.load(app.getPath('userData'), { log: (m) => this.log(`[state] ${m}`) });
    this.files = new FileService(this.state, undefined, this.platform);
    this.registerIpc();
    this.refreshMenu();
    this.state.onRecentChange(() => this.refreshMenu());

    this.host.start();
    this.createUiWindow();

    app.on('second-instance', () => this.focus());
    app.on('activate', () => {
      if (!this.window) this.createUiWindow();
    });
    app.on('window-all-closed', () => {
      if (this.platform !== 'darwin') app.quit();
    });
    app.on('before-quit', () => this.stop());
  }

  /** Brings the UI window to the front (a second instance was started). */
  focus(): void {
    const win = this.window;
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  }

  /** Stops the engine and saves state (before quit). */
  stop(): void {
    this.host.stop();
    this.state?.flush();
  }

  /** Opens the UI window where it was last time (clamped to a visible display). */
  createUiWindow(): BrowserWindow {
    const state = this.requireState();
    const displays = screen.getAllDisplays().map((d) => d.workArea);
    const bounds = clampBounds(state.bounds, displays, screen.getPrimaryDisplay().workArea);
    const win = createHardenedWindow({
      preload: this.config.paths.preloadUi,
      url: this.pageUrl('index'),
      trustedOrigins: this.origins,
      // Shown on ready-to-show so the user never sees an empty frame.
      show: false,
      devTools: this.dev,
      window: {
        x: bounds.x,
        y: bounds.y,
        width: bounds.width,
        height: bounds.height,
        minWidth: MIN_WINDOW.width,
        minHeight: MIN_WINDOW.height,
        title: 'Feature Map Explorer',
        backgroundColor: '#101418',
      },
      log: (m) => this.log(`[windows] ${m}`),
    });
    this.uiWindow = win;
    const contents = win.webContents;
    const contentsId = contents.id;
    this.router.watchUnknown(contents);
    win.once('ready-to-show', () => {
      if (bounds.maximized) win.maximize();
      win.show();
    });
    const saveBounds = () => {
      if (!win.isDestroyed()) state.setBounds({ ...win.getNormalBounds(), maximized: win.isMaximized() });
    };
    win.on('resize', saveBounds);
    win.on('move', saveBounds);
    win.on('close', saveBounds);
    win.on('closed', () => {
      this.host.disconnect(contentsId);
      this.transfers.dropOwner(contentsId);
      if (this.uiWindow === win) this.uiWindow = null;
      // The hidden inference window keeps 'window-all-closed' from firing, so closing the UI quits here
      // (except on macOS, where apps stay open without windows and 'activate' brings the UI back).
      if (this.platform !== 'darwin') app.quit();
    });
    contents.on('render-process-gone', (_event, details) => {
      this.log(`the UI process is gone (${details.reason}, exit code ${details.exitCode})`);
      this.host.disconnect(contentsId);
      // A crashed UI shows nothing; reload it a few times, then leave it for the user to close.
      if (details.reason !== 'clean-exit' && this.uiCrashes++ < 3 && !win.isDestroyed()) contents.reload();
    });
    return win;
  }

  /** Which of our windows a webContents id is. */
  roleOf(webContentsId: number): SenderRole | null {
    const ui = this.window;
    if (ui && ui.webContents.id === webContentsId) return 'ui';
    if (this.host.isInferenceSender(webContentsId)) return 'inference';
    return null;
  }

  private registerIpc(): void {
    const files = this.requireFiles();
    const state = this.requireState();
    const r = this.router;
    r.handle(Invoke.openImageDialog, InvokeSchemas[Invoke.openImageDialog], (_p, event) =>
      files.openImageDialog(BrowserWindow.fromWebContents(event.sender)),
    );
    r.handle(Invoke.openModelDialog, InvokeSchemas[Invoke.openModelDialog], async (_p, event) => {
      const model = await files.openModelDialog(BrowserWindow.fromWebContents(event.sender));
      return model && this.transfers.toWire(model, event.sender.id);
    });
    r.handle(Invoke.recentList, InvokeSchemas[Invoke.recentList], () => state.recentList());
    r.handle(Invoke.recentOpen, InvokeSchemas[Invoke.recentOpen], async (id, event) => {
      const result = await files.openRecent(id);
      return result.kind === 'model'
        ? { kind: 'model' as const, model: this.transfers.toWire(result.model, event.sender.id) }
        : result;
    });
    r.handle(Invoke.findWeights, InvokeSchemas[Invoke.findWeights], async () => state.addFound(await findWeights()));
    r.handle(Invoke.foundWeights, InvokeSchemas[Invoke.foundWeights], () => state.foundList());
    r.handle(Invoke.openFoundWeights, InvokeSchemas[Invoke.openFoundWeights], async (id, event) => {
      const result = await files.openFound(id);
      return result.kind === 'model'
        ? { kind: 'model' as const, model: this.transfers.toWire(result.model, event.sender.id) }
        : result;
    });
    r.handle(Invoke.readTransfer, InvokeSchemas[Invoke.readTransfer], (request, event) =>
      this.transfers.read(event.sender.id, request),
    );
    r.handle(Invoke.appInfo, InvokeSchemas[Invoke.appInfo], () => appInfo());
    r.handle(Invoke.restartEngine, InvokeSchemas[Invoke.restartEngine], (request) => {
      this.host.restart(request?.reason ? request.reason : 'restart requested by the UI', request?.engine);
    });
    r.handle(Invoke.connectEngine, InvokeSchemas[Invoke.connectEngine], ({ clientId }, event) => {
      this.host.connect(event.sender, clientId);
    });
    r.handle(Invoke.releaseEngine, InvokeSchemas[Invoke.releaseEngine], ({ clientId }, event) => {
      this.host.release(event.sender.id, clientId);
    });
    r.handle(Invoke.engineStatus, InvokeSchemas[Invoke.engineStatus], () => this.host.currentStatus);
    r.on(InferenceChannel.ready, InferenceSchemas[InferenceChannel.ready], (backend, event) =>
      this.host.onReady(event.sender.id, backend),
    );
    r.on(InferenceChannel.fatal, InferenceSchemas[InferenceChannel.fatal], (reason, event) =>
      this.host.onFatal(event.sender.id, reason),
    );
  }

  private refreshMenu(): void {
    const state = this.requireState();
    installMenu({
      appName: app.getName(),
      platform: this.platform,
      recent: state.recentList(),
      devTools: this.dev,
      actions: {
        command: (command: MenuCommand) => this.window?.webContents.send(Push.menu, command),
        openRecent: (id: number) => this.window?.webContents.send(Push.openRecent, id),
        clearRecent: () => state.clearRecent(),
      },
    });
  }

  /** Defence in depth for any webContents, ours or not (DevTools included): no popups, no webviews. */
  private guardAnyContents(contents: WebContents): void {
    contents.setWindowOpenHandler(({ url }) => {
      this.log(`refused to open a new window for ${url}`);
      return { action: 'deny' };
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  }

  private requireState(): StateStore {
    if (!this.state) throw new Error('ExplorerApp.start() has not run');
    return this.state;
  }

  private requireFiles(): FileService {
    if (!this.files) throw new Error('ExplorerApp.start() has not run');
    return this.files;
  }
}

/** Name and versions for Help ▸ About. */
export function appInfo(): AppInfo {
  return {
    name: app.getName(),
    version: app.getVersion(),
    electron: process.versions.electron ?? 'unknown',
    chrome: process.versions.chrome ?? 'unknown',
    platform: `${process.platform} ${process.arch}`,
  };
}
