/**
 * One hardened window factory for both windows (STYLE.md #3; Electron security checklist): context
 * isolation, sandbox, no Node integration, web security on, no webviews; `window.open` and navigation away
 * from our own page are denied. Pages come from the privileged app:// scheme (main/protocol.ts), whose
 * responses carry the CSP.
 */
import { BrowserWindow, type BrowserWindowConstructorOptions, type WebContents, type WebPreferences } from 'electron';
import { isTrustedUrl, parseUrl } from './security';

/** What a window created by {@link createHardenedWindow} is for, and how it starts. */
export interface HardenedWindowOptions {
  /** Absolute path of the bundled preload (out/preload/*.cjs). */
  preload: string;
  /** The page to load; must belong to one of `trustedOrigins`. */
  url: string;
  /** Origins our pages may come from (security.ts trustedOrigins). */
  trustedOrigins: readonly string[];
  /** Default true. The inference window passes false. */
  show?: boolean;
  /** Default true. The inference window passes false so its engine is not throttled while hidden. */
  backgroundThrottling?: boolean;
  /** Whether DevTools may be opened (development only). Default false. */
  devTools?: boolean;
  /** Size, position, title, background… Anything but webPreferences, which the factory owns. */
  window?: Omit<BrowserWindowConstructorOptions, 'webPreferences' | 'show'>;
  /** Where refusals are reported. */
  log?: (message: string) => void;
}

/**
 * The webPreferences every window gets. Exported so tests can assert the hardened values; callers cannot
 * weaken them (the factory ignores any webPreferences they pass).
 */
export function hardenedWebPreferences(
  preload: string,
  extra: { backgroundThrottling?: boolean; devTools?: boolean } = {},
): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
    backgroundThrottling: extra.backgroundThrottling ?? true,
    devTools: extra.devTools ?? false,
  };
}

/**
 * A navigation is allowed only when it stays on the page already shown: same trusted origin, same path
 * (a reload, or a fragment change). Everything else — other pages, other schemes, the web — is refused.
 */
export function isNavigationAllowed(currentUrl: string, targetUrl: string, trustedOrigins: readonly string[]): boolean {
  if (!isTrustedUrl(targetUrl, trustedOrigins)) return false;
  const current = parseUrl(currentUrl);
  const target = parseUrl(targetUrl);
  if (!current || !target) return false;
  return current.protocol === target.protocol && current.host === target.host && current.pathname === target.pathname;
}

/**
 * Installs the deny-by-default handlers on a webContents: no new windows, no navigation away, no
 * redirects off our origins, no `<webview>`. Exported for app-wide use on every webContents created.
 */
export function hardenWebContents(
  contents: WebContents,
  trustedOrigins: readonly string[],
  log: (message: string) => void = (m) => console.warn(`[windows] ${m}`),
): void {
  contents.setWindowOpenHandler(({ url }) => {
    log(`refused to open a new window for ${url}`);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event) => {
    if (!isNavigationAllowed(contents.getURL(), event.url, trustedOrigins)) {
      event.preventDefault();
      log(`refused navigation from ${contents.getURL()} to ${event.url}`);
    }
  });
  contents.on('will-frame-navigate', (event) => {
    // Main-frame navigations are judged by will-navigate; sub-frames may never leave our origins.
    if (!event.isMainFrame && !isTrustedUrl(event.url, trustedOrigins)) {
      event.preventDefault();
      log(`refused sub-frame navigation to ${event.url}`);
    }
  });
  contents.on('will-redirect', (event) => {
    if (!isTrustedUrl(event.url, trustedOrigins)) {
      event.preventDefault();
      log(`refused redirect to ${event.url}`);
    }
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('refused to attach a <webview>');
  });
}

/** Creates a hardened BrowserWindow and loads `options.url` in it (STYLE.md #3). */
export function createHardenedWindow(options: HardenedWindowOptions): BrowserWindow {
  const log = options.log ?? ((m: string) => console.warn(`[windows] ${m}`));
  if (!isTrustedUrl(options.url, options.trustedOrigins)) {
    throw new Error(
      `createHardenedWindow: ${options.url} is not one of our pages (${options.trustedOrigins.join(', ')})`,
    );
  }
  const win = new BrowserWindow({
    ...options.window,
    show: options.show ?? true,
    webPreferences: hardenedWebPreferences(options.preload, {
      backgroundThrottling: options.backgroundThrottling,
      devTools: options.devTools,
    }),
  });
  hardenWebContents(win.webContents, options.trustedOrigins, log);
  win.loadURL(options.url).catch((err: unknown) => {
    log(`failed to load ${options.url}: ${err instanceof Error ? err.message : String(err)}`);
  });
  return win;
}
