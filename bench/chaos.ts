/**
 * Chaos under load (issue 4): a throwaway MariaDB and vitals as a child process (one mysql check,
 * interval 1 s, timeout 500 ms), a steady keep-alive HTTP load on /ready, /health and /metrics
 * from a separate process, while MariaDB is cycled through
 *
 *   kill -> restart -> pause -> resume -> wrong password (ALTER USER) -> fixed
 *
 * `--cycles N` times (default 3). Asserted and reported:
 * - no 5xx on vitals' routes (a 503 from /ready is its truthful answer, not an error) and no
 *   request slower than 100 ms;
 * - after every transition, /ready and vitals_check_up agree with the truth within
 *   timeout + interval + 1 s (the detection latency is measured per transition) and keep
 *   agreeing until the next one;
 * - no leak: vitals' open fds and MariaDB's Threads_connected return to their starting level
 *   after every cycle, RSS grows by less than 20 MB over the run;
 * - no leak while a fault lasts either: sampled throughout every phase, vitals' open fds stay
 *   within 3 of their starting level and its sockets to MariaDB within 1 (a leak that heals when
 *   the fault ends, as sockets half-closed towards a paused server do, is gone by the end of the
 *   cycle); each fault lasts at least 2.5 s, long enough for a leak of one socket per check run
 *   to pass that bound;
 * - every transition is logged exactly once ("check status changed" on vitals' stdout).
 *
 * Usage: npm run chaos -- [--cycles N] [--rate REQ_PER_S] [--connections N] [--hold MS] [--warmup MS] [--json FILE]
 * (defaults: 3 cycles, 300 req/s over 4 connections, each state held 1.5 s after it was
 * detected, 5 s of load before the starting levels are taken).
 * Exit code 0 when every assertion holds, 1 when one fails, 2 on a usage or setup error.
 *
 * The pieces: chaos/scenario.ts runs the phases, chaos/load.ts is the load generator (a process
 * of its own), chaos/vitals.ts starts and observes vitals, chaos/report.ts asserts and prints.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatAssertions } from './chaos/report.js';
import { runChaos } from './chaos/scenario.js';
import type { ChaosOptions, ChaosReport } from './chaos/types.js';

export { renderTable } from './chaos/report.js';
export { runChaos } from './chaos/scenario.js';
export type { Assertion, ChaosOptions, ChaosReport, CycleResources, TransitionResult } from './chaos/types.js';

const USAGE =
  'usage: npm run chaos -- [--cycles N] [--rate REQ_PER_S] [--connections N] [--hold MS] [--warmup MS] [--json FILE]\n';

async function cli(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        cycles: { type: 'string', default: '3' },
        rate: { type: 'string', default: '300' },
        connections: { type: 'string', default: '4' },
        hold: { type: 'string', default: '1500' },
        warmup: { type: 'string', default: '5000' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`chaos: ${(error as Error).message}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const int = (text: string, name: string, min: number, max: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name}: expected an integer from ${String(min)} to ${String(max)}, got "${text}"`);
    return n;
  };
  let options: ChaosOptions;
  try {
    options = {
      cycles: int(values.cycles, 'cycles', 1, 1000),
      rate: int(values.rate, 'rate', 10, 2000),
      connections: int(values.connections, 'connections', 1, 64),
      holdMs: int(values.hold, 'hold', 0, 60_000),
      warmupMs: int(values.warmup, 'warmup', 0, 600_000),
    };
  } catch (error) {
    process.stderr.write(`chaos: ${(error as Error).message}\n`);
    return 2;
  }
  let report: ChaosReport;
  try {
    report = await runChaos(options);
  } catch (error) {
    process.stderr.write(
      `chaos: setup failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 2;
  }
  process.stdout.write(`\n${report.table}\n\n${formatAssertions(report)}\n\n${report.passed ? 'PASS' : 'FAIL'}\n`);
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
  return report.passed ? 0 : 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Interrupted: exit through process.exit so that the 'exit' handlers (bench/lib/children, the
  // MariaDB helper, the scenario's temp dirs) kill vitals and mariadbd and remove the temp dirs.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
  process.exitCode = await cli(process.argv.slice(2));
}
