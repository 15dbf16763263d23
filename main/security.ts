/**
 * Security constants shared by the main-process modules. Pure: no Electron imports, so every module
 * and test can use them.
 */

/** The privileged scheme that serves the app's pages and resources (main/protocol.ts). */
export const APP_SCHEME = 'app';
/** The one host the scheme answers to. */
export const APP_HOST = 'explorer';
/** Origin of every page we load in production. */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** Base URL of the app: pages live at `app://explorer/index.html`, models at `app://explorer/models/…`. */
export const APP_BASE_URL = `${APP_ORIGIN}/`;

/** The Content-Security-Policy (header and `<meta>` forms): one table for every build, common/security-policy.mjs. */
export { CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_META } from '../common/security-policy.mjs';

/** Parses a URL, or null when it is not one (never throws). */
export function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * The origins our pages may be served from: always `app://explorer`, plus the electron-vite dev server's
 * origin while developing (`ELECTRON_RENDERER_URL`, never in a packaged app).
 */
export function trustedOrigins(devServerUrl: string | undefined, isPackaged: boolean): string[] {
  const origins = [APP_ORIGIN];
  if (devServerUrl && !isPackaged) {
    const dev = parseUrl(devServerUrl);
    if (dev && (dev.protocol === 'http:' || dev.protocol === 'https:') && isLoopback(dev.hostname))
      origins.push(dev.origin);
  }
  return origins;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/**
 * The origin of a URL in the form we compare. `URL.origin` is the string "null" for non-special schemes
 * in Node's URL parser (Chromium treats our registered standard scheme as a real origin), so custom
 * schemes are rebuilt from protocol and host.
 */
export function originOf(url: string): string | null {
  const parsed = parseUrl(url);
  if (!parsed) return null;
  if (parsed.origin !== 'null') return parsed.origin;
  if (!parsed.host) return null;
  return `${parsed.protocol}//${parsed.host}`;
}

/** True when `url` belongs to one of `origins`. */
export function isTrustedUrl(url: string, origins: readonly string[]): boolean {
  const origin = originOf(url);
  return origin !== null && origins.includes(origin);
}
