import { defineConfig } from 'vitest/config';

/**
 * Files whose assertions are about time (latency under load, detection within a budget, pages
 * within seconds) or that load the machine themselves (a browser, Prometheus with several
 * databases): they run one at a time, after everything else, with the two cores to themselves.
 */
const TIMING = [
  'test/integration/chaos.test.ts',
  // Measures that a catastrophic regex does not stall the event loop: a neighbour's load would.
  'test/integration/checks/http.test.ts',
  'test/integration/bench.test.ts',
  'test/integration/basic-auth-flood.test.ts',
  'test/integration/slowloris.test.ts',
  'test/integration/monitoring-e2e.test.ts',
  'test/integration/probe.test.ts',
  'test/integration/status-page.test.ts',
];

// Two cores in CI. Unit tests run first, in parallel. The other integration files (each with its
// own throwaway servers) mostly wait on those servers, pauses and deadlines, so two run at once;
// the timing files then run alone.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'threads',
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/support/**/*.test.ts', 'test/monitoring/**/*.test.ts'],
          exclude: TIMING,
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'timing',
          include: TIMING,
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
