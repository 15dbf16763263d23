import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

/** Vitest projects per environment (STYLE.md #15): node for main/engine/analysis, happy-dom for the UI. */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/main/**/*.test.ts', 'test/engine/**/*.test.ts', 'test/analysis/**/*.test.ts', 'test/scripts/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        plugins: [vue()],
        test: {
          name: 'dom',
          environment: 'happy-dom',
          include: ['test/explorer/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
