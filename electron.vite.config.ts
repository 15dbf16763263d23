import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';
import { cspMeta } from './scripts/vite-csp';

/**
 * Explicit roots (STYLE.md #1): main, both preloads and the two renderer pages are named here,
 * so nothing depends on electron-vite's default folder layout.
 */
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: { input: { index: resolve(__dirname, 'main/index.ts') } },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // Sandboxed preloads cannot `require` chunks: each entry is bundled on its own, as CommonJS.
      isolatedEntries: true,
      externalizeDeps: false,
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'preload/index.ts'),
          inference: resolve(__dirname, 'preload/inference.ts'),
        },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'renderer'),
    // Served by main over app:// (see main/protocol.ts), which also serves resources/.
    base: './',
    // In dev the Vite server serves resources/ (models, samples); in a build main's app:// handler does.
    publicDir: resolve(__dirname, 'resources'),
    plugins: [vue(), cspMeta()],
    worker: { format: 'es' },
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      copyPublicDir: false,
      target: 'es2022',
      // tfjs alone is ~1 MB minified; splitting it further would only add requests.
      chunkSizeWarningLimit: 2000,
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'renderer/index.html'),
          inference: resolve(__dirname, 'renderer/inference.html'),
        },
      },
    },
  },
});
