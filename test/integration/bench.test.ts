/**
 * The benchmark harness must not rot: `bench/run.ts --quick` runs end to end against a real
 * MariaDB, every target answers, and every figure in its JSON is a number. It never asserts a
 * speed: this machine is shared and noisy.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../support/binaries.js';

const ROOT = join(import.meta.dirname, '../..');
// --quick takes 30-50 s here; the margin covers a rebuild of a stale dist/ on a busy machine.
const TIMEOUT_MS = 120_000;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `npx tsx bench/run.ts ...args` in its own process group; the whole group dies on timeout. */
function runBench(args: string[]): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', 'bench/run.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    const kill = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // gone
      }
    };
    const timer = setTimeout(() => {
      // SIGTERM first: the harness then stops its targets and its database itself.
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 10_000).unref();
    }, TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Every path in `value` whose leaf is not a finite number, a string or a boolean. */
function badLeaves(value: unknown, at = '$'): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${at} = ${String(value)}`];
  if (typeof value === 'string' || typeof value === 'boolean') return [];
  if (value === null || value === undefined) return [`${at} = ${String(value)}`];
  if (Array.isArray(value)) return value.flatMap((item, i) => badLeaves(item, `${at}[${String(i)}]`));
  if (typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => badLeaves(item, `${at}.${key}`));
  return [`${at}: unexpected ${typeof value}`];
}

interface Report {
  targets: { name: string }[];
  runs: {
    target: string;
    route: string;
    requests: number;
    rps: number;
    cpuUsPerReq?: number;
    errors: { connect: number };
    latencyMs: Record<string, number>;
  }[];
  summary: { target: string; route: string }[];
  goals: { id: string; status: string }[];
  extras: { startup: Record<string, unknown>; manyChecks: Record<string, unknown> };
}

describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-admin'], 'bench --quick'))(
  'bench/run.ts --quick',
  () => {
    let dir: string;
    let out: string;
    let finished: Finished;
    let report: Report;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vitals-bench-test-'));
      out = join(dir, 'quick.json');
      finished = await runBench(['--quick', '--out', out]);
      if (finished.code === 0) report = JSON.parse(await readFile(out, 'utf8')) as Report;
    }, TIMEOUT_MS + 20_000);

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('exits 0 and prints the table and the targets', () => {
      expect(finished.code, `stderr:\n${finished.stderr}`).toBe(0);
      expect(finished.stdout).toMatch(/target\s+route\s+req\/s/);
      expect(finished.stdout).toContain('Targets (issue 8):');
      expect(finished.stdout).toContain(out);
    });

    it('ran every target, and every target answered without connection errors', () => {
      const names = report.targets.map((t) => t.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'raw-http',
          'bare-koa',
          'terminus',
          'lightship',
          'vitals-standalone',
          'vitals-embedded',
        ]),
      );
      for (const name of names) {
        const runs = report.runs.filter((r) => r.target === name);
        expect(runs.length, name).toBeGreaterThan(0);
        for (const run of runs) {
          expect(run.requests, `${name} ${run.route}`).toBeGreaterThan(0);
          expect(run.rps, `${name} ${run.route}`).toBeGreaterThan(0);
          expect(run.errors.connect, `${name} ${run.route}`).toBe(0);
          expect(run.cpuUsPerReq, `${name} ${run.route}`).toBeTypeOf('number');
        }
      }
      expect(report.summary.length).toBe(new Set(report.runs.map((r) => `${r.target} ${r.route}`)).size);
    });

    it('measured the extras that --quick keeps, and judged every target of the issue', () => {
      expect(report.extras.startup.medianHealthMs).toBeTypeOf('number');
      expect(report.extras.manyChecks.series).toBeTypeOf('number');
      expect(report.goals.length).toBeGreaterThan(10);
      for (const goal of report.goals) expect(['met', 'not met', 'skipped']).toContain(goal.status);
    });

    it('writes only finite numbers (no NaN, Infinity or null) in the JSON', () => {
      expect(badLeaves(report)).toEqual([]);
    });
  },
);
