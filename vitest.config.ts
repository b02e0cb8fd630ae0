import { defineConfig } from 'vitest/config';

// Two cores in CI: unit tests run in parallel, integration files (each with its own MariaDB,
// Prometheus or child processes) run one at a time so that they do not fight for the CPU and
// turn their timing assertions into noise.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'threads',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/support/**/*.test.ts', 'test/monitoring/**/*.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
