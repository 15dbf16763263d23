/**
 * A small static file server for the browser build (npm run web, the end-to-end tests, benchmarks).
 * Serves one folder on 127.0.0.1 only, with the same security headers the Electron app:// scheme sends
 * (CSP, COOP/COEP for SharedArrayBuffer), and refuses any path that escapes the folder.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize, resolve, sep } from 'node:path';

import { CONTENT_SECURITY_POLICY, SECURITY_HEADERS, mimeTypeFor } from '../common/security-policy.mjs';

/** The policy it serves: the app's one table (common/security-policy.mjs), as Electron's app:// sends it. */
export const CSP = CONTENT_SECURITY_POLICY;

/** Maps a URL path to a file strictly inside `root`, or null. */
export function resolveInside(root, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const rel = normalize(decoded).replace(/^([/\\])+/, '');
  const file = resolve(root, rel || 'index.html');
  if (file !== root && !file.startsWith(root + sep)) return null;
  return file;
}

/**
 * Starts serving `dir`. Resolves with { url, close } once listening.
 * @param {string} dir
 * @param {{ port?: number, host?: string }} [options]
 */
export function serveStatic(dir, { port = 0, host = '127.0.0.1' } = {}) {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    const headers = { ...SECURITY_HEADERS };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end();
      return;
    }
    let file = resolveInside(root, req.url ?? '/');
    if (!file) {
      res.writeHead(403, headers).end('forbidden');
      return;
    }
    let stat;
    try {
      stat = statSync(file);
      if (stat.isDirectory()) {
        file = join(file, 'index.html');
        stat = statSync(file);
      }
    } catch {
      res.writeHead(404, headers).end('not found');
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': mimeTypeFor(file),
      'Content-Length': stat.size,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      resolvePromise({
        url: `http://${host}:${actualPort}/`,
        close: () => new Promise((r) => server.close(() => r(undefined))),
      });
    });
  });
}

export { sep };
