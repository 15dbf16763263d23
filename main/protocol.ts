/**
 * The `app://explorer/<path>` scheme: serves files strictly inside the built renderer (out/renderer) and
 * resources/ (models, samples), never anything else on disk. Pages get the CSP and the cross-origin
 * isolation headers (COOP/COEP) that make SharedArrayBuffer available to the wasm backend's threads.
 */
import { realpath, readFile, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { MIME_TYPES, mimeTypeFor, SECURITY_HEADERS } from '../common/security-policy.mjs';
import { APP_HOST, APP_SCHEME } from './security';

/** Outcome of mapping a URL onto the allowed roots: candidate files in root order, or a refusal. */
export type ResolvedAppPath =
  { ok: true; candidates: string[]; relativePath: string } | { ok: false; status: 403 | 404; reason: string };

export { MIME_TYPES, mimeTypeFor };

/** Is `child` (an absolute path) equal to or inside `root` (an absolute path)? */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Maps an `app://explorer/…` URL onto candidate files inside `roots`, refusing anything that could escape
 * them. Pure (no disk access): symlinks are checked by {@link openAppFile}.
 *
 * Refused with 403: another scheme or host, a NUL byte, encoded `/` or `\`, `..` or `.` segments (also
 * percent-encoded), empty segments (`//etc`), drive letters or `:` (Windows absolute paths), malformed
 * percent escapes. `/` maps to `index.html`.
 */
export function resolveAppPath(url: string, roots: readonly string[]): ResolvedAppPath {
  const refuse = (reason: string): ResolvedAppPath => ({ ok: false, status: 403, reason: `${url}: ${reason}` });
  if (url.includes('\0') || /%00/i.test(url)) return refuse('NUL byte in URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('not a URL');
  }
  if (parsed.protocol !== `${APP_SCHEME}:`) return refuse(`scheme ${parsed.protocol} is not ${APP_SCHEME}:`);
  if (parsed.host !== APP_HOST) return refuse(`host "${parsed.host}" is not ${APP_HOST}`);
  if (parsed.username || parsed.password) return refuse('credentials in URL');

  // Check the raw text too: WHATWG parsing already folds `..`, but we refuse rather than fold, so a
  // request that tried to climb out never silently lands on some other file.
  const rawPath = rawPathOf(url);
  const rawSegments = rawPath.split('/').slice(1);
  if (rawSegments.some((s) => isDotSegment(s))) return refuse('path climbs with . or ..');

  const pathname = parsed.pathname === '/' ? '/index.html' : parsed.pathname;
  const encoded = pathname.split('/').slice(1);
  const segments: string[] = [];
  for (const seg of encoded) {
    if (seg === '') return refuse('empty path segment');
    if (/%(2f|5c)/i.test(seg)) return refuse('encoded path separator');
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      return refuse('malformed percent-encoding');
    }
    if (decoded.includes('\0')) return refuse('NUL byte in path');
    if (decoded.includes('/') || decoded.includes('\\')) return refuse('path separator inside a segment');
    if (decoded === '.' || decoded === '..') return refuse('path climbs with . or ..');
    if (decoded.includes(':')) return refuse('drive letter or stream name in path');
    segments.push(decoded);
  }
  const relativePath = segments.join('/');
  const candidates: string[] = [];
  for (const root of roots) {
    const absRoot = resolve(root);
    const candidate = resolve(absRoot, ...segments);
    // Belt and braces: the segment checks above should make this impossible.
    if (!isInside(absRoot, candidate) || candidate === absRoot) return refuse('path resolves outside the app');
    candidates.push(candidate);
  }
  return { ok: true, candidates, relativePath };
}

/** The URL's path exactly as written (before WHATWG dot-segment folding), without query or fragment. */
function rawPathOf(url: string): string {
  const afterScheme = url.slice(url.indexOf('://') + 3);
  const slash = afterScheme.indexOf('/');
  if (slash < 0) return '/';
  const path = afterScheme.slice(slash);
  const end = path.search(/[?#]/);
  return end < 0 ? path : path.slice(0, end);
}

function isDotSegment(segment: string): boolean {
  const s = segment.toLowerCase().replace(/%2e/g, '.');
  return s === '.' || s === '..';
}

/** A file found by {@link openAppFile}: its real path and size. */
export interface AppFile {
  path: string;
  size: number;
}

/**
 * Finds the first candidate that exists as a regular file and whose real path (symlinks resolved) is still
 * inside its root's real path. 403 when a candidate escapes through a symlink, 404 when none exists.
 */
export async function openAppFile(
  resolved: Extract<ResolvedAppPath, { ok: true }>,
  roots: readonly string[],
): Promise<{ ok: true; file: AppFile } | { ok: false; status: 403 | 404; reason: string }> {
  for (let i = 0; i < resolved.candidates.length; i++) {
    const candidate = resolved.candidates[i];
    let real: string;
    try {
      real = await realpath(candidate);
    } catch {
      continue;
    }
    let realRoot: string;
    try {
      realRoot = await realpath(resolve(roots[i]));
    } catch {
      continue;
    }
    if (!isInside(realRoot, real)) {
      return { ok: false, status: 403, reason: `${resolved.relativePath}: resolves outside the app through a link` };
    }
    const info = await stat(real);
    if (!info.isFile()) continue;
    return { ok: true, file: { path: real, size: info.size } };
  }
  return { ok: false, status: 404, reason: `${resolved.relativePath}: not found` };
}

/** Headers every response carries (errors included, so an error page is isolated too). */
export function baseHeaders(contentType: string): Record<string, string> {
  return { 'Content-Type': contentType, ...SECURITY_HEADERS };
}

/** Options of {@link createAppProtocolHandler}. */
export interface AppProtocolOptions {
  /** Folders served, first match wins: the built renderer, then resources/. */
  roots: readonly string[];
  /**
   * Origins other than app://explorer allowed to read resources cross-origin (the electron-vite dev
   * server while developing). Empty in production.
   */
  corsOrigins?: readonly string[];
  /** Where refusals are reported. */
  log?: (message: string) => void;
}

/**
 * The `protocol.handle('app', …)` handler: GET/HEAD only; 403 for paths that try to leave the roots,
 * 404 for missing files; the right MIME type (`.wasm` is application/wasm, which streaming compilation
 * requires); CSP, COOP/COEP on every response.
 */
export function createAppProtocolHandler(options: AppProtocolOptions): (request: Request) => Promise<Response> {
  const log = options.log ?? ((m: string) => console.warn(`[app://] ${m}`));
  const corsOrigins = options.corsOrigins ?? [];
  return async (request: Request): Promise<Response> => {
    const origin = request.headers.get('Origin');
    const cors: Record<string, string> =
      origin && corsOrigins.includes(origin)
        ? { 'Access-Control-Allow-Origin': origin, 'Cross-Origin-Resource-Policy': 'cross-origin', Vary: 'Origin' }
        : {};
    const fail = (status: number, reason: string): Response => {
      log(`${status} ${reason}`);
      return new Response(`${status} ${reason}`, {
        status,
        headers: { ...baseHeaders('text/plain; charset=utf-8'), ...cors },
      });
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return fail(405, `${request.url}: method ${request.method} not allowed`);
    }
    const resolved = resolveAppPath(request.url, options.roots);
    if (!resolved.ok) return fail(resolved.status, resolved.reason);
    const found = await openAppFile(resolved, options.roots);
    if (!found.ok) return fail(found.status, found.reason);
    const headers = {
      ...baseHeaders(mimeTypeFor(found.file.path)),
      'Content-Length': String(found.file.size),
      ...cors,
    };
    if (request.method === 'HEAD') return new Response(null, { status: 200, headers });
    const bytes = await readFile(found.file.path);
    return new Response(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { status: 200, headers });
  };
}
