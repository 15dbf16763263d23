/**
 * The one table of the app's web security policy: the Content-Security-Policy, the response headers every
 * page and resource is served with, and the MIME types by extension. Read by main's app:// handler
 * (main/protocol.ts), the browser build's static server (scripts/static-server.mjs, plain Node), and the
 * Vite builds, which put the policy into each page's `<meta>` (scripts/vite-csp.ts). Plain ESM JavaScript
 * so Node runs it without a TypeScript step; its types are in security-policy.d.mts. Imports nothing.
 *
 * - `script-src 'wasm-unsafe-eval'`: tfjs-backend-wasm compiles its module; nothing may `eval` JavaScript.
 * - No `blob:` in script-src: the engine runs tfjs-backend-wasm's single-threaded SIMD build (the threaded
 *   build's pthread workers `importScripts` blob: URLs, which a bundled module worker cannot serve anyway;
 *   see renderer/src/engine/platform-browser.ts), so no script is ever loaded from a blob.
 * - `worker-src blob:`: kept for Vite's worker loading fallback; a worker script from a blob is still our own.
 * - `img-src blob: data:`: images the user opens are shown through object URLs.
 * - `frame-ancestors 'none'`: only honoured as a header, which is why the header is sent too.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The same policy for a page's `<meta http-equiv="Content-Security-Policy">`: without `frame-ancestors`,
 * which browsers ignore (with a console error) when it comes from a meta element.
 */
export const CONTENT_SECURITY_POLICY_META = CONTENT_SECURITY_POLICY.split('; ')
  .filter((d) => !d.startsWith('frame-ancestors'))
  .join('; ');

/**
 * Headers on every response (errors included, so an error page is isolated too), besides Content-Type.
 * Cross-origin isolation: our pages get a browsing-context group of their own and load nothing
 * cross-origin.
 */
export const SECURITY_HEADERS = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'Cache-Control': 'no-cache',
});

/** MIME types by extension; anything else is served as application/octet-stream. */
export const MIME_TYPES = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.h5': 'application/octet-stream',
  '.keras': 'application/zip',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
});

/**
 * The MIME type for a file name, by its extension (case-insensitive).
 * @param {string} fileName
 * @returns {string}
 */
export function mimeTypeFor(fileName) {
  const dot = fileName.lastIndexOf('.');
  const ext = dot >= 0 ? fileName.slice(dot).toLowerCase() : '';
  return Object.prototype.hasOwnProperty.call(MIME_TYPES, ext) ? MIME_TYPES[ext] : 'application/octet-stream';
}
