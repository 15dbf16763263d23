import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

/**
 * Vitest projects per environment (STYLE.md #15): node for main/engine/analysis/scripts, happy-dom
 * for the UI, and e2e: the browser build driven in Debian's Chromium by playwright-core.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: [
            'test/main/**/*.test.ts',
            'test/engine/**/*.test.ts',
            'test/analysis/**/*.test.ts',
            'test/scripts/**/*.test.ts',
            'test/formats/**/*.test.ts',
          ],
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
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.e2e.test.ts'],
          exclude: ['test/e2e/recovery.e2e.test.ts'],
          globalSetup: ['test/e2e/setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // One Chromium at a time: the machine has two cores and SwiftShader is CPU-bound.
          fileParallelism: false,
          // After the node and dom projects, never beside them: the recovery tests time the engine's
          // restart (within 5 s), which a PyTorch export running on the other core would distort.
          sequence: { groupOrder: 1 },
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'e2e-recovery',
          environment: 'node',
          include: ['test/e2e/recovery.e2e.test.ts'],
          globalSetup: ['test/e2e/setup-served.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          pool: 'forks',
          // Last, alone: it times engine restarts (within 5 s).
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
