/**
 * Issue 4, chaos under load, shortened: `bench/chaos.ts --cycles 3` (MariaDB killed,
 * restarted, paused, resumed, its password broken and fixed, three times over, under a steady
 * HTTP load) must pass every one of its assertions, among them vitals' fds and sockets to
 * MariaDB sampled during every phase, not only after it. Run as a child process, as `npm run chaos`
 * runs it, so that its processes and their fds are its own.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChaosReport } from '../../bench/chaos.js';
import { skipUnlessBinaries } from '../support/binaries.js';

const ROOT = join(import.meta.dirname, '../..');
const CYCLES = 3;
const RUN_TIMEOUT_MS = 150_000;

describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-admin'], 'chaos'))(
  'chaos under load (3 cycles)',
  () => {
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vitals-chaos-test-'));
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it(
      'keeps telling the truth, fast, without leaks, while MariaDB is killed, paused and locked out',
      async () => {
        const reportPath = join(dir, 'report.json');
        const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ['--import', 'tsx', 'bench/chaos.ts', '--cycles', String(CYCLES), '--json', reportPath],
            {
              cwd: ROOT,
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          let text = '';
          child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
          child.on('error', reject);
          // SIGINT first: the script's finally blocks stop MariaDB and vitals.
          const timer = setTimeout(() => child.kill('SIGINT'), RUN_TIMEOUT_MS - 10_000);
          child.on('close', (exitCode) => {
            clearTimeout(timer);
            resolve({ code: exitCode, output: text });
          });
        });
        console.info(output);
        expect(code, output).toBe(0);
        const report = JSON.parse(await readFile(reportPath, 'utf8')) as ChaosReport;
        expect(report.passed).toBe(true);
        for (const assertion of report.assertions)
          expect(assertion.passed, `${assertion.name}: ${assertion.detail}`).toBe(true);
        expect(report.cycles).toBe(CYCLES);
        expect(report.transitions).toHaveLength(CYCLES * 6);
        expect(report.transitions.every((t) => t.logged.length === 1 && t.detectionMs !== undefined)).toBe(true);
        // The bounds held because every phase was sampled, not because none was: a phase lasts
        // 1.5 s or more, 15 fd samples at least.
        for (const t of report.transitions)
          expect(t.held.samples, `cycle ${String(t.cycle)} ${t.kind}`).toBeGreaterThanOrEqual(10);
        expect(report.load.total).toBeGreaterThan(5000);
      },
      RUN_TIMEOUT_MS,
    );
  },
);
