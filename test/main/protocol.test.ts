import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppProtocolHandler, isInside, mimeTypeFor, resolveAppPath } from '../../main/protocol';
import { readFileSync } from 'node:fs';
import { CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_META } from '../../main/security';

const roots = ['/app/out/renderer', '/app/resources'];

describe('resolveAppPath', () => {
  it('maps app://explorer/<path> onto each root in order', () => {
    const r = resolveAppPath('app://explorer/models/mobilenetv2/model.json', roots);
    expect(r).toEqual({
      ok: true,
      relativePath: 'models/mobilenetv2/model.json',
      candidates: [
        resolve('/app/out/renderer/models/mobilenetv2/model.json'),
        resolve('/app/resources/models/mobilenetv2/model.json'),
      ],
    });
  });

  it('serves index.html for the root and ignores query and fragment', () => {
    const r = resolveAppPath('app://explorer/?x=1#top', roots);
    expect(r.ok && r.relativePath).toBe('index.html');
    const q = resolveAppPath('app://explorer/assets/a.js?v=2#h', roots);
    expect(q.ok && q.relativePath).toBe('assets/a.js');
  });

  it('decodes percent-encoded names', () => {
    const r = resolveAppPath('app://explorer/samples/my%20photo.png', roots);
    expect(r.ok && r.relativePath).toBe('samples/my photo.png');
  });

  it.each([
    ['app://explorer/../etc/passwd', 'climbs'],
    ['app://explorer/a/../../etc/passwd', 'climbs'],
    ['app://explorer/%2e%2e/etc/passwd', 'climbs'],
    ['app://explorer/%2E%2E/%2e%2e/etc/passwd', 'climbs'],
    ['app://explorer/.%2e/etc/passwd', 'climbs'],
    ['app://explorer/./index.html', 'climbs'],
    ['app://explorer/%2e%2e%2fetc%2fpasswd', 'separator'],
    ['app://explorer/..%5c..%5cwindows', 'separator'],
    ['app://explorer//etc/passwd', 'empty path segment'],
    ['app://explorer/C:%5cWindows', 'separator'],
    ['app://explorer/C:/Windows/win.ini', 'drive letter'],
    ['app://explorer/index.html%00.png', 'NUL'],
    ['app://explorer/a%ZZ', 'percent-encoding'],
    ['app://evil/index.html', 'host'],
    ['app://explorer:8080/index.html', 'host'],
    ['file:///etc/passwd', 'scheme'],
    ['https://example.com/index.html', 'scheme'],
    ['not a url', 'not a URL'],
  ])('refuses %s with 403', (url, why) => {
    const r = resolveAppPath(url, roots);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.status).toBe(403);
      expect(r.reason).toContain(why);
    }
  });

  it('never yields a candidate outside its root', () => {
    const urls = ['app://explorer/a/b/c.js', 'app://explorer/models/x/group1-shard1of1.bin', 'app://explorer/%7Etilde'];
    for (const url of urls) {
      const r = resolveAppPath(url, roots);
      expect(r.ok).toBe(true);
      if (r.ok) r.candidates.forEach((c, i) => expect(isInside(resolve(roots[i]), c)).toBe(true));
    }
  });
});

describe('Content-Security-Policy', () => {
  it('is the issue policy: no eval, no blob: scripts, nothing remote', () => {
    const directives = Object.fromEntries(
      CONTENT_SECURITY_POLICY.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]),
    );
    expect(directives).toEqual({
      'default-src': "'self'",
      'script-src': "'self' 'wasm-unsafe-eval'",
      'worker-src': "'self' blob:",
      'connect-src': "'self'",
      'img-src': "'self' blob: data:",
      'style-src': "'self' 'unsafe-inline'",
      'object-src': "'none'",
      'base-uri': "'none'",
      'frame-ancestors': "'none'",
      'form-action': "'none'",
    });
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/(^|\s)'unsafe-eval'/);
  });

  it.each(['inference.html', 'index.html'])(
    'reaches renderer/%s only through the build (one table, no copy in the page; minus frame-ancestors)',
    async (page) => {
      const { cspMeta } = await import('../../scripts/vite-csp');
      const html = readFileSync(resolve(__dirname, '../../renderer', page), 'utf8');
      expect(html).not.toMatch(/Content-Security-Policy/i);
      const hook = cspMeta().transformIndexHtml as {
        handler: (html: string, ctx: { filename: string }) => { tag: string; attrs: Record<string, string> }[];
      };
      const [tag] = hook.handler(html, { filename: page });
      expect(tag).toMatchObject({
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY_META },
      });
      expect(CONTENT_SECURITY_POLICY_META).not.toContain('frame-ancestors');
      // A page that brings its own policy is refused, so there is never a second copy.
      expect(() =>
        hook.handler('<meta http-equiv="Content-Security-Policy" content="default-src *">', { filename: page }),
      ).toThrow(/of its own/);
    },
  );

  it('is what the browser build’s server sends (scripts/static-server.mjs)', async () => {
    // @ts-expect-error plain ESM helper without type declarations
    const { CSP } = await import('../../scripts/static-server.mjs');
    expect(CSP).toBe(CONTENT_SECURITY_POLICY);
  });
});

describe('isInside', () => {
  it('accepts the root and its children, refuses siblings with a common prefix', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b/c/d')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a')).toBe(false);
    expect(isInside('/a/b', '/a/b/..foo')).toBe(true);
  });
});

describe('mimeTypeFor', () => {
  it.each([
    ['x.wasm', 'application/wasm'],
    ['model.json', 'application/json; charset=utf-8'],
    ['group1-shard1of3.bin', 'application/octet-stream'],
    ['index.HTML', 'text/html; charset=utf-8'],
    ['a.js', 'text/javascript; charset=utf-8'],
    ['a.css', 'text/css; charset=utf-8'],
    ['rocket.jpg', 'image/jpeg'],
    ['chelsea.png', 'image/png'],
    ['unknown.xyz', 'application/octet-stream'],
  ])('%s → %s', (name, type) => expect(mimeTypeFor(name)).toBe(type));
});

describe('app:// protocol handler', () => {
  let dir: string;
  let rendererRoot: string;
  let resourcesRoot: string;
  let logs: string[];
  let handler: (request: Request) => Promise<Response>;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fme-protocol-'));
    rendererRoot = join(dir, 'out/renderer');
    resourcesRoot = join(dir, 'resources');
    mkdirSync(join(rendererRoot, 'assets'), { recursive: true });
    mkdirSync(join(resourcesRoot, 'models/tiny'), { recursive: true });
    writeFileSync(join(rendererRoot, 'index.html'), '<!doctype html><title>ui</title>');
    writeFileSync(join(rendererRoot, 'assets/tfjs-backend-wasm.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    writeFileSync(join(resourcesRoot, 'models/tiny/model.json'), '{"modelTopology":{}}');
    writeFileSync(join(resourcesRoot, 'models/tiny/group1-shard1of1.bin'), Buffer.alloc(16, 7));
    writeFileSync(join(dir, 'secret.txt'), 'do not serve');
    // A link inside the served tree that points outside it.
    symlinkSync(join(dir, 'secret.txt'), join(resourcesRoot, 'models/tiny/escape.json'));
    logs = [];
    handler = createAppProtocolHandler({ roots: [rendererRoot, resourcesRoot], log: (m) => logs.push(m) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves a page with CSP and cross-origin isolation headers', async () => {
    const res = await handler(new Request('app://explorer/index.html'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('<title>ui</title>');
  });

  it('serves wasm as application/wasm and shards as bytes, falling through to resources/', async () => {
    const wasm = await handler(new Request('app://explorer/assets/tfjs-backend-wasm.wasm'));
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const shard = await handler(new Request('app://explorer/models/tiny/group1-shard1of1.bin'));
    expect(shard.status).toBe(200);
    expect(shard.headers.get('content-type')).toBe('application/octet-stream');
    expect(shard.headers.get('content-length')).toBe('16');
    expect((await shard.arrayBuffer()).byteLength).toBe(16);
    const json = await handler(new Request('app://explorer/models/tiny/model.json'));
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await json.json()).toEqual({ modelTopology: {} });
  });

  it('answers HEAD without a body', async () => {
    const res = await handler(new Request('app://explorer/models/tiny/group1-shard1of1.bin', { method: 'HEAD' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('16');
    expect(res.body).toBeNull();
  });

  it('404s a missing file and a directory', async () => {
    expect((await handler(new Request('app://explorer/nope.js'))).status).toBe(404);
    expect((await handler(new Request('app://explorer/models/tiny'))).status).toBe(404);
    expect(logs.some((l) => l.startsWith('404') && l.includes('nope.js'))).toBe(true);
  });

  it('403s traversal and a symlink that leads outside', async () => {
    // Request (like Chromium) folds a plain `%2e%2e/` before the handler sees it: the path stays inside the roots.
    const folded = await handler(new Request('app://explorer/%2e%2e/secret.txt'));
    expect(folded.status).toBe(404);
    expect(await folded.text()).not.toContain('do not serve');
    const encoded = await handler(new Request('app://explorer/%2e%2e%2fsecret.txt'));
    expect(encoded.status).toBe(403);
    expect(await encoded.text()).not.toContain('do not serve');
    const link = await handler(new Request('app://explorer/models/tiny/escape.json'));
    expect(link.status).toBe(403);
    expect(await link.text()).not.toContain('do not serve');
    expect(logs.some((l) => l.startsWith('403') && l.includes('escape.json'))).toBe(true);
  });

  it('405s other methods', async () => {
    const res = await handler(new Request('app://explorer/index.html', { method: 'POST', body: 'x' }));
    expect(res.status).toBe(405);
  });

  it('adds CORS headers only for an allowed dev origin', async () => {
    const dev = createAppProtocolHandler({
      roots: [rendererRoot, resourcesRoot],
      corsOrigins: ['http://localhost:5173'],
      log: () => {},
    });
    const allowed = await dev(
      new Request('app://explorer/models/tiny/model.json', { headers: { Origin: 'http://localhost:5173' } }),
    );
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const other = await dev(
      new Request('app://explorer/models/tiny/model.json', { headers: { Origin: 'https://evil.example' } }),
    );
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
