/**
 * Maintenance windows against a real vitals and a real MariaDB: a window keeps /ready 200 while
 * the database is down, shows why, and exports vitals_check_maintenance; ending it (or letting
 * it run out) brings the failure back. The routes refuse bad input and unauthorized callers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVitalsService, type VitalsService } from '../../src/vitals.js';
import { skipUnlessBinaries } from '../support/binaries.js';
import { tempDirs } from '../support/cleanup.js';
import { json, type Reply } from '../support/http.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { captureLogs, controlled, fast, startVitals, type RunningVitals } from '../support/vitals.js';
import { waitUntil } from '../support/wait.js';

const TOKEN = 'maintenance-test-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
// A failure shows within timeout + interval; the margin absorbs a busy CI core.
const DETECTION_MS = 6000;

interface ReadyBody {
  status: string;
  checks?: Record<string, { status: string; output?: string }[]>;
}

function post(served: RunningVitals, body: string, headers: Record<string, string> = AUTH): Promise<Reply> {
  return served.get('/-/maintenance', {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function gauge(text: string, check: string): number | undefined {
  const line = text
    .split('\n')
    .find((l) => l.startsWith('vitals_check_maintenance{') && l.includes(`check="${check}"`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

async function dbEntry(served: RunningVitals) {
  const reply = await served.get('/ready', { headers: AUTH });
  const body = JSON.parse(reply.body) as ReadyBody;
  return { code: reply.status, entry: body.checks?.['db:responseTime']?.[0] };
}

describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb'], 'maintenance integration'))(
  'maintenance windows with a real MariaDB',
  () => {
    let db: MariaDb;
    let served: RunningVitals;

    beforeAll(async () => {
      db = await startMariaDb();
      served = await startVitals(
        {
          security: { allow: [], token: TOKEN, details: 'authorized' },
          defaults: { interval: '500ms', timeout: '400ms' },
          checks: [
            { name: 'db', kind: 'mysql', url: db.url({ user: db.user, password: db.password }) },
            { name: 'other', kind: 'tcp', host: '127.0.0.1', port: db.port, critical: false },
          ],
        },
        [],
        { firstResults: true },
      );
    }, 60_000);

    afterAll(async () => {
      await served.close();
      await db.close();
    });

    it('refuses an unauthorized caller with 403, on every maintenance route', async () => {
      const noAuth = { 'content-type': 'application/json' };
      expect((await post(served, '{"checks":"all","duration":"1m"}', noAuth)).status).toBe(403);
      expect((await served.get('/-/maintenance')).status).toBe(403);
      expect((await served.get('/-/maintenance/x', { method: 'DELETE' })).status).toBe(403);
      const bad = await served.get('/-/maintenance', {
        method: 'POST',
        body: '{}',
        headers: { ...AUTH, origin: 'http://evil.example' },
      });
      expect(bad.status).toBe(403);
      expect((await served.get('/-/maintenance', { headers: AUTH })).body).toBe('{"windows":[]}');
    });

    it.each([
      ['not json', 'body: not JSON'],
      ['[1]', 'body: expected an object'],
      ['{"checks":["nope"],"duration":"1m"}', 'checks: unknown check "nope"'],
      ['{"checks":[],"duration":"1m"}', 'checks:'],
      ['{"checks":"some","duration":"1m"}', 'checks:'],
      ['{"checks":"all","duration":"soon"}', 'duration: "soon" is not a duration'],
      ['{"checks":"all","duration":"8d"}', 'duration: at most 7d'],
      ['{"checks":"all","duration":"0"}', 'duration: must be longer than 0s'],
      ['{"checks":"all"}', 'duration: a duration'],
      ['{"checks":"all","duration":"1m","reason":7}', 'reason:'],
      ['{"checks":"all","duration":"1m","until":"x"}', 'until: unknown field'],
    ])('answers 400 naming the field for %s', async (body, message) => {
      const reply = await post(served, body);
      expect(reply.status).toBe(400);
      expect(String(json(reply).error)).toContain(message);
    });

    it('answers 413 for a body over 16 KiB and 404 for an unknown window', async () => {
      const huge = JSON.stringify({ checks: 'all', duration: '1m', reason: 'x'.repeat(20_000) });
      expect((await post(served, huge)).status).toBe(413);
      const missing = await served.get('/-/maintenance/00000000-0000-0000-0000-000000000000', {
        method: 'DELETE',
        headers: AUTH,
      });
      expect(missing.status).toBe(404);
    });

    it('keeps /ready 200 through a database kill inside a window, and 503 once it is deleted', async () => {
      expect((await dbEntry(served)).entry?.status).toBe('pass');
      const created = await post(served, '{"checks":["db"],"duration":"30m","reason":"minor upgrade"}');
      expect(created.status).toBe(201);
      const window = json(created) as { id: string; checks: string[]; start: string; end: string; reason: string };
      expect(window).toMatchObject({ checks: ['db'], reason: 'minor upgrade' });
      expect(Date.parse(window.end) - Date.parse(window.start)).toBe(30 * 60_000);
      const listed = json(await served.get('/-/maintenance', { headers: AUTH })) as { windows: { id: string }[] };
      expect(listed.windows.map((w) => w.id)).toEqual([window.id]);
      expect(gauge((await served.get('/metrics')).body, 'db')).toBe(1);
      expect(gauge((await served.get('/metrics')).body, 'other')).toBe(0);

      await db.kill();
      const endText = `${window.end.slice(11, 16)}Z`;
      await waitUntil(
        async () => (await dbEntry(served)).entry?.output?.startsWith('in maintenance until') === true,
        DETECTION_MS,
        'the db check to report its failure inside the window',
      );
      const during = await dbEntry(served);
      expect(during.code).toBe(200);
      expect(during.entry?.status).toBe('warn');
      expect(during.entry?.output).toMatch(new RegExp(`^in maintenance until (\\d{4}-\\d\\d-\\d\\d )?${endText}: `));
      expect((await served.get('/startup')).status).toBe(200);
      // The counters tell the truth: the failures are counted with their reason.
      const text = (await served.get('/metrics')).body;
      const refused = text
        .split('\n')
        .find((l) => l.startsWith('vitals_check_failures_total{check="db"') && l.includes('reason="refused"'));
      expect(Number(refused?.split(' ').pop())).toBeGreaterThan(0);

      const deleted = await served.get(`/-/maintenance/${window.id}`, { method: 'DELETE', headers: AUTH });
      expect(deleted.status).toBe(204);
      await waitUntil(async () => (await dbEntry(served)).code === 503, DETECTION_MS, '/ready to turn 503');
      expect((await dbEntry(served)).entry?.status).toBe('fail');
      expect(gauge((await served.get('/metrics')).body, 'db')).toBe(0);
    }, 30_000);

    it('ends a window by itself when its duration is over', async () => {
      const created = await post(served, '{"checks":"all","duration":"1s"}');
      expect(created.status).toBe(201);
      await waitUntil(async () => (await dbEntry(served)).code === 200, DETECTION_MS, '/ready 200 in the window');
      await waitUntil(async () => (await dbEntry(served)).code === 503, DETECTION_MS, '/ready 503 after the window');
      expect((await served.get('/-/maintenance', { headers: AUTH })).body).toBe('{"windows":[]}');
    }, 30_000);

    it('caps the number of active windows at 100 with 429', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 100; i += 1) {
        const reply = await post(served, '{"checks":["other"],"duration":"1h"}');
        expect(reply.status).toBe(201);
        ids.push(String(json(reply).id));
      }
      expect((await post(served, '{"checks":["other"],"duration":"1h"}')).status).toBe(429);
      for (const id of ids) await served.get(`/-/maintenance/${id}`, { method: 'DELETE', headers: AUTH });
    }, 60_000);
  },
);

describe('scheduled windows from the config file, applied by a reload', () => {
  let dir: string;
  let service: VitalsService;
  const down = controlled({ throw: new Error('connection refused') });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitals-maintenance-'));
    tempDirs.add(dir);
    await writeFile(join(dir, 'vitals.yml'), 'checks: []\n');
    service = await createVitalsService(join(dir, 'vitals.yml'), { logger: captureLogs().logger, env: {} });
    service.vitals.addCheck(fast('queue', down));
    await service.vitals.start();
  });

  afterAll(async () => {
    await service.vitals.stop();
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  });

  it('softens a failure inside a window of the reloaded schedule, and stops when it is removed', async () => {
    await waitUntil(() => service.monitor.get('queue')?.status === 'fail', 5000, 'queue to fail');
    // Every minute, for an hour: a window is open now whatever the time.
    await writeFile(
      join(dir, 'vitals.yml'),
      'maintenance:\n  - { checks: all, every: "* * * * *", duration: 1h, timezone: Asia/Kolkata }\n',
    );
    expect((await service.vitals.reload()).applied).toBe(true);
    await waitUntil(() => service.monitor.get('queue')?.status === 'warn', 5000, 'queue to be softened');
    expect(service.monitor.get('queue')?.last?.output).toMatch(/^in maintenance until \d\d:\d\dZ: connection refused$/);
    const status = service.vitals.status();
    expect(status.ready).toBe(true);
    expect(status.maintenance).toEqual([expect.objectContaining({ source: 'scheduled', checks: 'all' })]);
    const metrics = (await service.vitals.registry.metrics()).split('\n');
    expect(metrics.find((l) => l.startsWith('vitals_check_maintenance{') && l.includes('check="queue"'))).toMatch(
      / 1$/,
    );

    await writeFile(join(dir, 'vitals.yml'), 'checks: []\n');
    expect((await service.vitals.reload()).applied).toBe(true);
    await waitUntil(() => service.monitor.get('queue')?.status === 'fail', 5000, 'queue to fail again');
    expect(service.vitals.status().maintenance).toEqual([]);
  });

  it('rejects a reload whose schedule has a problem, naming its path', async () => {
    await writeFile(
      join(dir, 'vitals.yml'),
      'maintenance:\n  - { checks: [nope], every: "Sun 02:00", duration: 1h, timezone: Europe/Berln }\n',
    );
    const outcome = await service.vitals.reload();
    expect(outcome.applied).toBe(false);
    expect(outcome.problems).toEqual([
      'maintenance[0].timezone: unknown time zone "Europe/Berln"',
      'maintenance[0].checks[0]: unknown check "nope"',
    ]);
  });
});
