/**
 * The embedding hooks: vitals.on('change' | 'readiness'), vitals.status(), vitals.runNow().
 * Custom checks whose behaviour the test controls, and a real MariaDB killed and restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckChangeEvent, ReadinessEvent } from '../../src/embedding-events.js';
import { skipUnlessBinaries } from '../support/binaries.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { controlled, fast, settle, startVitals, type RunningVitals } from '../support/vitals.js';
import { waitUntil } from '../support/wait.js';

const SECRET = 'hunter2-embedding-secret';

describe('change and readiness events, status() and runNow() with custom checks', () => {
  const flappy = controlled('pass');
  const slow = controlled('pass');
  let served: RunningVitals;
  const changes: CheckChangeEvent[] = [];
  const verdicts: ReadinessEvent[] = [];
  let afterThrowing = 0;

  beforeAll(async () => {
    // The token is one of the config's secrets: the redactor scrubs it from every output.
    served = await startVitals(
      { security: { token: SECRET } },
      [
        fast('flappy', flappy),
        // Runs only when asked within the test: its interval is longer than the test.
        { name: 'slow', interval: '10m', timeout: '5s', run: slow.run, critical: false },
      ],
      { start: false },
    );
    served.vitals.on('change', () => {
      throw new Error(`listener bug with ${SECRET}`);
    });
    served.vitals.on('change', async () => {
      await Promise.resolve();
      throw new Error('async listener bug');
    });
    served.vitals.on('change', (event) => {
      changes.push(event);
      afterThrowing += 1;
    });
    served.vitals.on('readiness', (event) => {
      verdicts.push(event);
    });
    await served.vitals.start();
    await settle(served, 'flappy', 'pass');
    await settle(served, 'slow', 'pass');
  });

  afterAll(async () => {
    await served.close();
  });

  it('emits one change per reported transition, to every listener, though others throw or reject', async () => {
    const before = changes.length;
    flappy.behaviour = { throw: new Error(`connection refused by ${SECRET}`) };
    await settle(served, 'flappy', 'fail');
    flappy.behaviour = 'pass';
    await settle(served, 'flappy', 'pass');
    const mine = changes.slice(before).filter((c) => c.check === 'flappy');
    expect(mine.map((c) => `${c.from}->${c.to}`)).toEqual(['pass->fail', 'fail->pass']);
    expect(mine[0]).toMatchObject({ kind: 'custom', critical: true, reason: 'error' });
    expect(mine[0]?.output).toContain('connection refused');
    expect(mine[0]?.output).not.toContain(SECRET);
    expect(mine[1]).toMatchObject({ reason: null, output: null });
    expect(typeof mine[0]?.at).toBe('number');
    expect(afterThrowing).toBe(changes.length);
    // Same transitions as the log line.
    const logged = served.logs.lines.filter((l) => l.msg === 'check status changed' && l.check === 'flappy');
    expect(logged.map((l) => `${String(l.from)}->${String(l.to)}`)).toEqual(
      changes.filter((c) => c.check === 'flappy').map((c) => `${c.from}->${c.to}`),
    );
    await waitUntil(
      () => served.logs.lines.filter((l) => l.msg === 'vitals event listener failed').length >= 4,
      2000,
      'the listener failures to be logged',
    );
    const failures = served.logs.lines.filter((l) => l.msg === 'vitals event listener failed');
    expect(failures.map((l) => l.error)).toContain('async listener bug');
    expect(served.logs.text()).not.toContain(SECRET);
  });

  it('emits readiness when the verdict changes', async () => {
    // From the start: unknown critical checks fail /ready until their first result.
    expect(verdicts[0]).toMatchObject({ from: 'fail', to: 'pass', ready: true });
    expect(changes.filter((c) => c.check === 'slow').map((c) => `${c.from}->${c.to}`)[0]).toBe('unknown->pass');
    const before = verdicts.length;
    flappy.behaviour = { throw: new Error('down') };
    await settle(served, 'flappy', 'fail');
    flappy.behaviour = 'pass';
    await settle(served, 'flappy', 'pass');
    const mine = verdicts.slice(before);
    expect(mine.map((v) => `${v.from}->${v.to}:${String(v.ready)}`)).toEqual(['pass->fail:false', 'fail->pass:true']);
  });

  it('stops calling a listener after its unsubscribe function or off()', async () => {
    const seen: string[] = [];
    const stop = served.vitals.on('change', (e) => {
      seen.push(`a:${e.to}`);
    });
    const b = (e: CheckChangeEvent) => {
      seen.push(`b:${e.to}`);
    };
    served.vitals.on('change', b);
    stop();
    served.vitals.off('change', b);
    flappy.behaviour = { throw: new Error('down') };
    await settle(served, 'flappy', 'fail');
    flappy.behaviour = 'pass';
    await settle(served, 'flappy', 'pass');
    expect(seen).toEqual([]);
  });

  it('status() holds what /ready shows an authorized caller', async () => {
    const status = served.vitals.status();
    const ready = await served.get('/ready');
    expect(JSON.parse(ready.body)).toEqual(status.body);
    expect(status).toMatchObject({ status: 'pass', ready: true, draining: false, started: true, maintenance: [] });
    expect(status.checks.map((c) => [c.name, c.kind, c.critical, c.status])).toEqual([
      ['flappy', 'custom', true, 'pass'],
      ['slow', 'custom', false, 'pass'],
    ]);
    expect(status.checks[0]?.last?.status).toBe('pass');
  });

  it('runNow() records a run outside the schedule and joins one in flight', async () => {
    await expect(served.vitals.runNow('nope')).rejects.toThrow('unknown check "nope"');
    const runs = slow.runs;
    const metrics = async () => {
      const text = (await served.get('/metrics')).body;
      return Number(
        text
          .split('\n')
          .find((l) => l.startsWith('vitals_check_runs_total{check="slow"'))
          ?.split(' ')
          .pop(),
      );
    };
    const counted = await metrics();
    slow.behaviour = { warn: 'lagging' };
    const warned = await served.vitals.runNow('slow');
    expect(warned).toMatchObject({ status: 'warn', output: 'lagging' });
    expect(served.monitor.get('slow')?.status).toBe('warn');
    expect(await metrics()).toBe(counted + 1);

    slow.behaviour = 'hold';
    const first = served.vitals.runNow('slow');
    await waitUntil(() => slow.inFlight === 1, 2000, 'the held run');
    const second = served.vitals.runNow('slow');
    slow.release();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(a.status).toBe('pass');
    expect(slow.runs).toBe(runs + 2);
    expect(await metrics()).toBe(counted + 2);
  });
});

describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb'], 'embedding hooks with MariaDB'))(
  'change events from a real MariaDB killed and restarted',
  () => {
    let db: MariaDb;
    let served: RunningVitals;
    const changes: CheckChangeEvent[] = [];

    beforeAll(async () => {
      db = await startMariaDb();
      served = await startVitals(
        {
          defaults: { interval: '500ms', timeout: '400ms' },
          checks: [{ name: 'db', kind: 'mysql', url: db.url({ user: db.user, password: db.password }) }],
        },
        [],
        { firstResults: true },
      );
      served.vitals.on('change', (event) => {
        changes.push(event);
      });
    }, 60_000);

    afterAll(async () => {
      await served.close();
      await db.close();
    });

    it('emits pass -> fail (refused) on the kill and fail -> pass after the restart', async () => {
      await settle(served, 'db', 'pass');
      await db.kill();
      await waitUntil(() => changes.some((c) => c.to === 'fail'), 6000, 'a change to fail');
      await db.restart();
      await waitUntil(() => changes.some((c) => c.to === 'pass'), 15_000, 'a change back to pass');
      expect(changes.map((c) => `${c.from}->${c.to}`)).toEqual(['pass->fail', 'fail->pass']);
      expect(changes[0]).toMatchObject({ check: 'db', kind: 'mysql', critical: true, reason: 'refused' });
      expect(changes[0]?.output).not.toContain(db.password);
      expect(changes[1]).toMatchObject({ reason: null, output: null });
    }, 40_000);
  },
);
