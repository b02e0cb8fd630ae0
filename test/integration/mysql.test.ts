import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../support/binaries.js';
import { get } from '../support/http.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { startVitals, type RunningVitals } from '../support/vitals.js';
import { waitFor } from '../support/wait.js';

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 500;
// A fault must show within timeout + interval; the margin absorbs a busy CI core.
const DETECTION_BUDGET_MS = TIMEOUT_MS + INTERVAL_MS + 1000;

interface ReadyBody {
  status: string;
  checks?: Record<string, { status: string; output?: string; componentType: string; observedUnit?: string }[]>;
}

async function ready(served: RunningVitals): Promise<{ code: number; body: ReadyBody; ms: number }> {
  const start = performance.now();
  const reply = await get(`${served.url}/ready`);
  const body = JSON.parse(reply.body) as ReadyBody;
  return { code: reply.status, body, ms: performance.now() - start };
}

async function metrics(served: RunningVitals): Promise<string> {
  return (await get(`${served.url}/metrics`)).body;
}

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
  }
  return undefined;
}

describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb'], 'mysql integration'))(
  'the mysql check against a real MariaDB',
  () => {
    let db: MariaDb;
    let served: RunningVitals;
    let wrongPassword: RunningVitals;

    beforeAll(async () => {
      db = await startMariaDb();
      served = await startVitals({
        defaults: { interval: `${String(INTERVAL_MS)}ms`, timeout: `${String(TIMEOUT_MS)}ms` },
        checks: [{ name: 'db', kind: 'mysql', url: db.url({ user: db.user, password: db.password }) }],
      });
      wrongPassword = await startVitals({
        defaults: { interval: `${String(INTERVAL_MS)}ms`, timeout: `${String(TIMEOUT_MS)}ms` },
        checks: [
          {
            name: 'db',
            kind: 'mysql',
            url: db.url({ user: db.user, password: 'x' }),
            password: `${db.password}-wrong`,
          },
        ],
      });
    });

    afterAll(async () => {
      await served.close();
      await wrongPassword.close();
      await db.close();
    });

    it('passes against a healthy server and reports it on /ready and /metrics', async () => {
      const { value } = await waitFor(
        () => ready(served),
        (r) => r.code === 200,
        5000,
      );
      expect(value.body.status).toBe('pass');
      expect(value.body.checks?.['db:responseTime']?.[0]).toMatchObject({
        status: 'pass',
        componentType: 'datastore',
        observedUnit: 'ms',
      });
      const text = await metrics(served);
      expect(sample(text, 'vitals_check_up', { check: 'db' })).toBe(1);
      expect(sample(text, 'vitals_check_info', { check: 'db', target: `127.0.0.1:${String(db.port)}` })).toBe(1);
    });

    it('fails with reason auth on a wrong password, and the password appears nowhere', async () => {
      const { value } = await waitFor(
        () => ready(wrongPassword),
        (r) => r.code === 503 && r.body.checks !== undefined,
        5000,
      );
      const entry = value.body.checks?.['db:responseTime']?.[0];
      expect(entry?.status).toBe('fail');
      expect(entry?.output).toMatch(/access denied/i);
      const text = await metrics(wrongPassword);
      expect(sample(text, 'vitals_check_failures_total', { check: 'db', reason: 'auth' })).toBeGreaterThanOrEqual(1);
      const everything = [JSON.stringify(value.body), text, wrongPassword.logs.text()].join('\n');
      for (const secret of [`${db.password}-wrong`, db.password, encodeURIComponent(db.password)]) {
        expect(everything).not.toContain(secret);
      }
    });

    it('fails with reason timeout at the deadline while the server is paused, and /ready stays fast', async () => {
      await waitFor(
        () => ready(served),
        (r) => r.code === 200,
        5000,
      );
      db.pause();
      try {
        const slowest: number[] = [];
        const { elapsedMs } = await waitFor(
          async () => {
            const r = await ready(served);
            slowest.push(r.ms);
            return r;
          },
          (r) => r.code === 503,
          DETECTION_BUDGET_MS,
        );
        expect(elapsedMs).toBeLessThan(DETECTION_BUDGET_MS);
        // /ready reads memory: it must never wait for the paused dependency's 500 ms deadline.
        expect(Math.max(...slowest)).toBeLessThan(TIMEOUT_MS / 2);
        const { value } = await waitFor(
          () => ready(served),
          (r) => r.code === 503,
          1000,
        );
        expect(value.body.checks?.['db:responseTime']?.[0]?.output).toBe(`timeout after ${String(TIMEOUT_MS)}ms`);
        expect(
          sample(await metrics(served), 'vitals_check_failures_total', { check: 'db', reason: 'timeout' }),
        ).toBeGreaterThanOrEqual(1);
      } finally {
        db.resume();
      }
    });

    it('passes again after the server resumes, without restarting vitals', async () => {
      const { elapsedMs } = await waitFor(
        () => ready(served),
        (r) => r.code === 200,
        DETECTION_BUDGET_MS,
      );
      expect(elapsedMs).toBeLessThan(DETECTION_BUDGET_MS);
    });

    it('fails with reason refused when the server is killed, and passes after a restart', async () => {
      await db.kill();
      const { value } = await waitFor(
        () => ready(served),
        (r) => r.code === 503,
        DETECTION_BUDGET_MS,
      );
      expect(value.body.checks?.['db:responseTime']?.[0]?.output).toMatch(/ECONNREFUSED/);
      expect(
        sample(await metrics(served), 'vitals_check_failures_total', { check: 'db', reason: 'refused' }),
      ).toBeGreaterThanOrEqual(1);
      await db.restart();
      await waitFor(
        () => ready(served),
        (r) => r.code === 200,
        DETECTION_BUDGET_MS,
      );
    });

    it('logs each transition once with check, from, to, reason and duration', () => {
      const transitions = served.logs.lines.filter((line) => line.msg === 'check status changed');
      const path = transitions.map((t) => `${String(t.from)}>${String(t.to)}`);
      expect(path).toEqual(['unknown>pass', 'pass>fail', 'fail>pass', 'pass>fail', 'fail>pass']);
      expect(transitions[1]).toMatchObject({ check: 'db', reason: 'timeout' });
      expect(transitions[3]).toMatchObject({ check: 'db', reason: 'refused' });
      expect(typeof transitions[1]?.duration).toBe('number');
    });

    it('leaves no connection open on the server between runs', async () => {
      // Our own probe connection is short-lived; only the CLI query itself should be connected.
      const { value } = await waitFor(
        () => db.threadsConnected(),
        (n) => n <= 2,
        3000,
      );
      expect(value).toBeLessThanOrEqual(2);
    });
  },
);
