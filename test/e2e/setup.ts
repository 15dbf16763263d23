/**
 * Global setup of the e2e project: builds the browser build once (vite.web.config.ts → dist-web/)
 * and serves it on a free loopback port with the app's security headers. Tests read the URL with
 * `inject('baseUrl')`. FME_E2E_NO_BUILD=1 reuses an existing dist-web/ (local iteration only).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { build } from 'vite';
// @ts-expect-error plain ESM helper without type declarations
import { serveStatic } from '../../scripts/static-server.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

const root = resolve(__dirname, '../..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dist = resolve(root, 'dist-web');
  if (!(process.env.FME_E2E_NO_BUILD === '1' && existsSync(resolve(dist, 'index.html')))) {
    await build({ configFile: resolve(root, 'vite.web.config.ts'), logLevel: 'warn' });
  }
  const server: { url: string; close: () => Promise<void> } = await serveStatic(dist, { port: 0 });
  project.provide('baseUrl', server.url);
  return () => server.close();
}
