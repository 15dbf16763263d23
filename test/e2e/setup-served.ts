/**
 * Global setup of the e2e-recovery project: serves the browser build (building it only when it is missing) on a
 * server of its own, after every other e2e file. Run in the same invocation as the other e2e files, the pass
 * rerun after the first restart stalled (the engine answered pings but never started the pass); in a project of
 * its own it does not. The cause is not understood yet (see the reliability issue's note).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { build } from 'vite';
// @ts-expect-error plain ESM helper without type declarations
import { serveStatic } from '../../scripts/static-server.mjs';

const root = resolve(__dirname, '../..');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dist = resolve(root, 'dist-web');
  if (!existsSync(resolve(dist, 'index.html'))) {
    await build({ configFile: resolve(root, 'vite.web.config.ts'), logLevel: 'warn' });
  }
  const server: { url: string; close: () => Promise<void> } = await serveStatic(dist, { port: 0 });
  project.provide('baseUrl', server.url);
  return () => server.close();
}
