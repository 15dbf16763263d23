#!/usr/bin/env node
/**
 * `npm run web [-- --port N] [-- --dev]`: the browser build of the app on 127.0.0.1.
 * Default: build once (vite.web.config.ts → dist-web/) and serve it; `--dev` runs Vite's dev server instead.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, createServer } from 'vite';
import { serveStatic } from './static-server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

function parsePort() {
  const i = args.indexOf('--port');
  if (i < 0) return 5173;
  const port = Number(args[i + 1]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`npm run web: --port needs a number from 1 to 65535, got ${JSON.stringify(args[i + 1] ?? '')}`);
    process.exit(2);
  }
  return port;
}

const port = parsePort();
const configFile = join(root, 'vite.web.config.ts');
if (!existsSync(join(root, 'resources', 'models', 'mobilenetv2', 'model.json'))) {
  console.warn('Bundled models are missing: run `npm install` (or `node scripts/prepare-resources.mjs`).');
}

if (args.includes('--dev')) {
  const server = await createServer({ configFile, server: { port, strictPort: true, host: '127.0.0.1' } });
  await server.listen();
  console.log(`Feature Map Explorer (browser build, dev): http://127.0.0.1:${port}/`);
} else {
  await build({ configFile, logLevel: 'warn' });
  const { url } = await serveStatic(join(root, 'dist-web'), { port });
  console.log(`Feature Map Explorer (browser build): ${url}`);
  console.log('Press Ctrl+C to stop.');
}
