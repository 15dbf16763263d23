import { resolve } from 'node:path';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import { cspMeta } from './scripts/vite-csp';

/**
 * The browser build: the same renderer and engine, without Electron. The UI starts the engine
 * Worker itself (renderer/src/bridge/web.ts). `resources/` is served at the site root, so
 * `models/…` and `samples/…` resolve the same way as under Electron's app:// scheme.
 */
export default defineConfig({
  root: resolve(__dirname, 'renderer'),
  base: './',
  publicDir: resolve(__dirname, 'resources'),
  plugins: [vue(), cspMeta()],
  worker: { format: 'es' },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    // SharedArrayBuffer (multi-threaded wasm) needs cross-origin isolation.
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    },
  },
  preview: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    },
  },
  build: {
    outDir: resolve(__dirname, 'dist-web'),
    emptyOutDir: true,
    target: 'es2022',
    // tfjs alone is ~1 MB minified; splitting it further would only add requests.
    chunkSizeWarningLimit: 2000,
    // NO_MINIFY=1: readable function names in profiles and traces (scripts/bench-app-pass.ts --trace).
    minify: !process.env.NO_MINIFY,
    rollupOptions: { input: { index: resolve(__dirname, 'renderer/index.html') } },
  },
});
