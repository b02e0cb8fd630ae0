/**
 * The history behind /api/v1/checks across a reload: a removed or renamed check's runs go with
 * it, and a check that comes back under an old name starts from nothing.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { createVitalsService, type VitalsService } from '../../src/vitals.js';
import { tempDirs } from '../support/cleanup.js';
import { request } from '../support/http.js';
import { waitFor } from '../support/wait.js';

interface Body {
  checks: { name: string; runs: { finishedAt: string }[] }[];
  transitions: { check: string }[];
}

describe('the status history across a reload', () => {
  let dir: string;
  let file: string;
  let service: VitalsService;
  let server: RunningServer;

  const config = (names: string[]) =>
    JSON.stringify({
      checks: names.map((name) => ({
        name,
        kind: 'disk',
        path: dir,
        minFreeRatio: 0,
        interval: '100ms',
        timeout: '50ms',
      })),
    });

  async function checks(): Promise<Body> {
    const reply = await request(server.port, '/api/v1/checks', { host: '127.0.0.1' });
    expect(reply.status).toBe(200);
    return JSON.parse(reply.body) as Body;
  }

  const runsOf = (body: Body, name: string) => body.checks.find((c) => c.name === name)?.runs.length ?? -1;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vitals-status-history-'));
    tempDirs.add(dir);
    file = path.join(dir, 'vitals.yml');
    await writeFile(file, config(['kept', 'renamed']));
    service = await createVitalsService(file, { logger: createLogger('silent'), env: {} });
    await service.vitals.start();
    server = await listen(service, '127.0.0.1', 0);
  });

  afterAll(async () => {
    await service.vitals.stop();
    await server.close(0);
  });

  it('drops the runs of a check renamed away, and keeps the others', async () => {
    await waitFor(checks, (body) => runsOf(body, 'renamed') >= 5 && runsOf(body, 'kept') >= 5, 10_000, {
      what: 'five runs of each check',
    });
    await writeFile(file, config(['kept', 'new-name']));
    expect((await service.vitals.reload()).removed).toEqual(['renamed']);
    const after = await checks();
    expect(after.checks.map((c) => c.name)).toEqual(['kept', 'new-name']);
    expect(runsOf(after, 'kept')).toBeGreaterThanOrEqual(5);

    const reloadedAt = Date.now();
    await writeFile(file, config(['kept', 'renamed']));
    expect((await service.vitals.reload()).removed).toEqual(['new-name']);
    const back = await waitFor(checks, (body) => runsOf(body, 'renamed') >= 1, 5000, {
      what: 'a run of the check back',
    });
    const runs = back.value.checks.find((c) => c.name === 'renamed')?.runs ?? [];
    // Only runs since it came back: the ones from before the rename were dropped with it.
    for (const run of runs) expect(Date.parse(run.finishedAt)).toBeGreaterThanOrEqual(reloadedAt);
    // The transitions are a log of what happened, and keep the old name.
    expect(back.value.transitions.map((t) => t.check)).toContain('new-name');
  });
});
