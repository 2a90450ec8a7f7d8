import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['shared/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'deploy/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'int',
          include: ['shared/*/src/**/*.int.test.ts', 'services/*/src/**/*.int.test.ts', 'services/*/test/**/*.int.test.ts'],
          globalSetup: ['shared/testing/src/global-setup.ts', 'deploy/build/vitest-setup.ts'],
          setupFiles: ['shared/testing/src/setup-int.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: more parallel files only queue on the CPU and the broker.
          maxWorkers: 2,
        },
      },
    ],
  },
});
