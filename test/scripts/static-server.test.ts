import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper without type declarations
import { CSP, resolveInside, serveStatic } from '../../scripts/static-server.mjs';

/** The browser build's server (npm run web, e2e tests): files strictly inside its folder, with the app's headers. */
describe('static server', () => {
  const root = mkdtempSync(join(tmpdir(), 'static-'));
  const outside = mkdtempSync(join(tmpdir(), 'outside-'));
  let server: { url: string; close: () => Promise<void> };

  beforeAll(async () => {
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>ok</title>');
    mkdirSync(join(root, 'models'));
    writeFileSync(join(root, 'models', 'w.bin'), Buffer.from([1, 2, 3]));
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    server = await serveStatic(root, { port: 0 });
  });
  afterAll(() => server.close());

  it('maps paths inside the folder and refuses NUL bytes and malformed escapes', () => {
    expect(resolveInside(root, '/models/w.bin?x=1')).toBe(join(root, 'models', 'w.bin'));
    expect(resolveInside(root, '/')).toBe(join(root, 'index.html'));
    expect(resolveInside(root, '/a%00b')).toBeNull();
    expect(resolveInside(root, '/%E0%A4%A')).toBeNull();
  });

  it('never serves a file outside the folder, however the path is spelt', async () => {
    const rel = `../${outside.split('/').pop()}/secret.txt`;
    for (const path of [rel, encodeURIComponent(rel), rel.replace(/\./g, '%2e'), `..%2f..%2f${rel}`]) {
      const res = await fetch(new URL(path, server.url).href.replace(/\/\.\.\//g, '/%2e%2e/'));
      expect(res.status).not.toBe(200);
      expect(await res.text()).not.toContain('secret');
    }
  });

  it('serves files with their type and the app’s CSP and cross-origin isolation headers', async () => {
    const res = await fetch(new URL('models/w.bin', server.url));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect((await fetch(new URL('missing.js', server.url))).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });
});
