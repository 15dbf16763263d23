import { beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('electron', () => import('./fake-electron'));

import { FakeBrowserWindow, resetFakes } from './fake-electron';
import { createHardenedWindow, hardenedWebPreferences, isNavigationAllowed } from '../../main/windows';
import { APP_ORIGIN } from '../../main/security';

const origins = [APP_ORIGIN];

function makeWindow(extra: Partial<Parameters<typeof createHardenedWindow>[0]> = {}) {
  const logs: string[] = [];
  const win = createHardenedWindow({
    preload: '/app/out/preload/index.cjs',
    url: 'app://explorer/index.html',
    trustedOrigins: origins,
    log: (m) => logs.push(m),
    ...extra,
  }) as unknown as FakeBrowserWindow;
  return { win, logs };
}

beforeEach(() => resetFakes());

describe('hardened window factory', () => {
  it('gives every window the hardened webPreferences and loads the page', async () => {
    const { win } = makeWindow();
    const prefs = win.options.webPreferences!;
    expect(prefs).toMatchObject({
      preload: '/app/out/preload/index.cjs',
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
      backgroundThrottling: true,
      devTools: false,
    });
    await Promise.resolve();
    expect(win.webContents.getURL()).toBe('app://explorer/index.html');
  });

  it('ignores webPreferences smuggled in through the window options', () => {
    const { win } = makeWindow({
      // A caller cannot weaken the preferences: the factory owns them.
      window: { webPreferences: { nodeIntegration: true, sandbox: false } } as unknown as Record<string, never>,
    });
    expect(win.options.webPreferences).toEqual(hardenedWebPreferences('/app/out/preload/index.cjs'));
  });

  it('creates a hidden, unthrottled window when asked (the inference window)', () => {
    const { win } = makeWindow({ show: false, backgroundThrottling: false, url: 'app://explorer/inference.html' });
    expect(win.options.show).toBe(false);
    expect(win.visible).toBe(false);
    expect(win.options.webPreferences).toMatchObject({
      backgroundThrottling: false,
      sandbox: true,
      contextIsolation: true,
    });
  });

  it('refuses to load a page that is not ours', () => {
    expect(() => makeWindow({ url: 'https://example.com/' })).toThrow(/not one of our pages/);
    expect(() => makeWindow({ url: 'file:///etc/passwd' })).toThrow(/not one of our pages/);
    expect(FakeBrowserWindow.instances).toHaveLength(0);
  });

  it('denies window.open', () => {
    const { win, logs } = makeWindow();
    expect(win.webContents.windowOpenHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    expect(win.webContents.windowOpenHandler!({ url: 'app://explorer/index.html' })).toEqual({ action: 'deny' });
    expect(logs.some((l) => l.includes('https://example.com'))).toBe(true);
  });

  it('prevents navigation away from the page, allows staying on it', async () => {
    const { win, logs } = makeWindow();
    await Promise.resolve();
    const wc = win.webContents;
    expect(wc.fire('will-navigate', { url: 'https://example.com/' })).toBe(true);
    expect(wc.fire('will-navigate', { url: 'app://explorer/inference.html' })).toBe(true);
    expect(wc.fire('will-navigate', { url: 'file:///etc/passwd' })).toBe(true);
    expect(wc.fire('will-navigate', { url: 'app://explorer/index.html#layer-3' })).toBe(false);
    expect(logs.filter((l) => l.startsWith('refused navigation'))).toHaveLength(3);
  });

  it('prevents sub-frame navigation and redirects off our origin, and every <webview>', () => {
    const { win } = makeWindow();
    const wc = win.webContents;
    expect(wc.fire('will-frame-navigate', { url: 'https://example.com/', isMainFrame: false })).toBe(true);
    expect(wc.fire('will-frame-navigate', { url: 'app://explorer/x.html', isMainFrame: false })).toBe(false);
    expect(wc.fire('will-redirect', { url: 'https://example.com/' })).toBe(true);
    expect(wc.fire('will-redirect', { url: 'app://explorer/index.html' })).toBe(false);
    expect(wc.fire('will-attach-webview')).toBe(true);
  });
});

describe('isNavigationAllowed', () => {
  it('allows only the same trusted page', () => {
    const cur = 'app://explorer/index.html';
    expect(isNavigationAllowed(cur, 'app://explorer/index.html?x=1', origins)).toBe(true);
    expect(isNavigationAllowed(cur, 'app://explorer/other.html', origins)).toBe(false);
    expect(isNavigationAllowed(cur, 'app://evil/index.html', origins)).toBe(false);
    expect(isNavigationAllowed(cur, 'javascript:alert(1)', origins)).toBe(false);
    expect(isNavigationAllowed(cur, 'not a url', origins)).toBe(false);
  });
});
