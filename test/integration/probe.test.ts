/**
 * /probe end to end: a real Prometheus drives vitals to probe three throwaway MariaDBs through
 * the `vitals-probe` relabelling of prometheus.yml, and the faults a prober must meet — a killed
 * server, a paused one at the scrape timeout, too many probes at once, a target outside the
 * module's allowTargets, a caller that is not authorized.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../support/binaries.js';
import { tempDirs } from '../support/cleanup.js';
import { ownSocketsTo, openFds } from '../support/fds.js';
import { json, type Reply } from '../support/http.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.js';
import { startVitals, type RunningVitals } from '../support/vitals.js';
import { waitFor, waitUntil } from '../support/wait.js';

const BINARIES = ['mariadbd', 'mariadb-install-db', 'mariadb', 'prometheus'];
const TOKEN = 'probe-route-token';
const SHARED_PASSWORD = 'Pr0be#shared@pw%';

/**
 * The series of an exposition, without their values: what "unchanged" compares. Node's process
 * series (active handles by type, GC kinds) come and go by themselves, and are left out.
 */
function seriesOf(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#') && !/^(nodejs|process)_/.test(line))
    .map((line) => line.slice(0, line.lastIndexOf(' ')))
    .sort();
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.skipIf(skipUnlessBinaries(BINARIES, '/probe'))('/probe', () => {
  const dbs: MariaDb[] = [];
  let served: RunningVitals | undefined;
  let prom: PrometheusServer | undefined;
  const secretDir = mkdtempSync(path.join(os.tmpdir(), 'vitals-probe-secret-'));
  tempDirs.add(secretDir);
  const passwordFile = path.join(secretDir, 'password');
  const WRONG_PASSWORD = 'not-the-Pr0be-password';

  const vitals = () => {
    if (served === undefined) throw new Error('vitals did not start');
    return served;
  };
  const db = (i: number) => {
    const server = dbs[i];
    if (server === undefined) throw new Error(`MariaDB ${String(i)} did not start`);
    return server;
  };
  const probe = (target: string, headers: Record<string, string> = {}, extra = '') =>
    vitals().get(`/probe?module=mariadb&target=${encodeURIComponent(target)}${extra}`, { headers });

  beforeAll(async () => {
    const started = await Promise.allSettled([0, 1, 2].map(async () => dbs.push(await startMariaDb())));
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    // One module, one password: the three servers share the probe user's.
    for (const server of dbs)
      await server.sql(
        ['%', 'localhost']
          .map((host) => `ALTER USER '${server.user}'@'${host}' IDENTIFIED BY '${SHARED_PASSWORD}';`)
          .join(' '),
      );
    writeFileSync(passwordFile, `${WRONG_PASSWORD}\n`);
    served = await startVitals({
      server: { maxConcurrentProbes: 2 },
      security: { allow: ['127.0.0.1/32'], token: TOKEN },
      defaults: { interval: '1s', timeout: '500ms' },
      checks: [
        {
          name: 'own',
          kind: 'mysql',
          url: `mysql://${db(0).user}@127.0.0.1:${String(db(0).port)}/`,
          password: SHARED_PASSWORD,
        },
      ],
      modules: {
        mariadb: {
          kind: 'mysql',
          url: `mysql://${db(0).user}@/`,
          password: SHARED_PASSWORD,
          timeout: '5s',
          allowTargets: ['127.0.0.1/32', '*.db.internal'],
        },
        'from-file': {
          kind: 'mysql',
          url: `mysql://${db(0).user}@/`,
          passwordFile,
          allowTargets: ['127.0.0.1/32'],
        },
      },
    });
    const vitalsAddress = new URL(vitals().url).host;
    prom = await startPrometheus({
      configYaml: `
global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: vitals-probe
    metrics_path: /probe
    params: { module: [mariadb] }
    static_configs:
      - targets: [${dbs.map((d) => `'127.0.0.1:${String(d.port)}'`).join(', ')}]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: ${vitalsAddress}
`,
    });
  }, 120_000);

  afterAll(async () => {
    const results = await Promise.allSettled([prom?.close()]);
    results.push(...(await Promise.allSettled([served?.close(), ...dbs.map((d) => d.close())])));
    const failed = results.filter((r) => r.status === 'rejected');
    rmSync(secretDir, { recursive: true, force: true });
    tempDirs.delete(secretDir);
    if (failed.length > 0)
      throw new AggregateError(
        failed.map((r) => r.reason as unknown),
        'cleanup failed',
      );
  });

  it('answers a fresh blackbox-style exposition for one probe', async () => {
    const reply = await probe(`127.0.0.1:${String(db(0).port)}`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sample(reply.body, 'probe_success')).toBe(1);
    expect(sample(reply.body, 'probe_duration_seconds')).toBeGreaterThan(0);
    expect(sample(reply.body, 'probe_phase_duration_seconds{phase="connect"}')).toBeGreaterThan(0);
    expect(sample(reply.body, 'probe_phase_duration_seconds{phase="query"}')).toBeGreaterThanOrEqual(0);
    for (const reason of ['timeout', 'refused', 'auth', 'protocol', 'assertion', 'error'])
      expect(sample(reply.body, `probe_failure_reason{reason="${reason}"}`)).toBe(0);
    expect(reply.body).not.toContain(SHARED_PASSWORD);

    const openMetrics = await probe(`127.0.0.1:${String(db(0).port)}`, { accept: 'application/openmetrics-text' });
    expect(openMetrics.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(openMetrics.body.endsWith('# EOF\n')).toBe(true);
  });

  it('is scraped by Prometheus through the relabelling; a killed server reads probe_success 0, reason refused', async () => {
    const server = prom;
    if (server === undefined) throw new Error('prometheus did not start');
    const instances = dbs.map((d) => `127.0.0.1:${String(d.port)}`);
    await waitFor(
      () => server.query('probe_success{job="vitals-probe"} == 1'),
      (samples) => samples.length === 3,
      30_000,
      { what: 'probe_success 1 for the three MariaDBs', everyMs: 250 },
    );
    const phases = await server.query('probe_phase_duration_seconds{job="vitals-probe", phase="connect"}');
    expect(phases.map((s) => s.metric.instance).sort()).toEqual([...instances].sort());

    await db(2).kill();
    const killed = instances[2] ?? '';
    await waitFor(
      () => server.query(`probe_failure_reason{instance="${killed}", reason="refused"} == 1`),
      (samples) => samples.length === 1,
      20_000,
      { what: 'reason refused for the killed MariaDB', everyMs: 250 },
    );
    const success = await server.query('probe_success{job="vitals-probe"}');
    const byInstance = Object.fromEntries(success.map((s): [string, string] => [s.metric.instance ?? '', s.value[1]]));
    expect(byInstance).toEqual({ [instances[0] ?? '']: '1', [instances[1] ?? '']: '1', [killed]: '0' });
    // Its scrape still succeeded: a failed probe is an answer, not a down vitals.
    const up = await server.query(`up{instance="${killed}"}`);
    expect(up[0]?.value[1]).toBe('1');
    // The rest of the tests count probes: Prometheus's own must not take the slots.
    await server.close();
  }, 60_000);

  it('refuses a target outside allowTargets (403), a target with credentials, a path or a scheme (400)', async () => {
    const outside = await probe('10.0.0.1:3306');
    expect(outside.status).toBe(403);
    expect(json(outside).error).toContain('allowTargets');
    const name = await probe('db.elsewhere:3306');
    expect(name.status).toBe(403);
    const cases: [string, string][] = [
      [`root:pw@127.0.0.1:${String(db(0).port)}`, 'credentials'],
      [`root@127.0.0.1:${String(db(0).port)}`, 'credentials'],
      [`127.0.0.1:${String(db(0).port)}/mysql`, 'path'],
      [`127.0.0.1:${String(db(0).port)}?ssl=false`, 'query'],
      [`mysql://127.0.0.1:${String(db(0).port)}`, 'scheme'],
    ];
    for (const [target, word] of cases) {
      const reply = await probe(target);
      expect(reply.status, target).toBe(400);
      expect(reply.headers['content-type']).toContain('application/json');
      expect(json(reply).error).toContain(word);
    }
    expect((await vitals().get('/probe?module=mariadb')).status).toBe(400);
    expect((await vitals().get(`/probe?target=127.0.0.1:${String(db(0).port)}`)).status).toBe(400);
    const unknown = await vitals().get(`/probe?module=nope&target=127.0.0.1:${String(db(0).port)}`);
    expect(unknown.status).toBe(400);
    expect(json(unknown).error).toBe('unknown module');
  });

  it('is for authorized callers only', async () => {
    const target = `/probe?module=mariadb&target=127.0.0.1:${String(db(0).port)}`;
    const stranger = await vitals().get(target, { localAddress: '127.0.0.2' });
    expect(stranger.status).toBe(403);
    const withToken = await vitals().get(target, {
      localAddress: '127.0.0.2',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(withToken.status).toBe(200);
    const crossSite = await vitals().get(target, { headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
  });

  it('answers at the scrape timeout minus 0.5 s for a paused server, and lets its socket go', async () => {
    const paused = db(1);
    paused.pause();
    try {
      const fdsBefore = openFds();
      const started = performance.now();
      const reply = await probe(`127.0.0.1:${String(paused.port)}`, { 'x-prometheus-scrape-timeout-seconds': '1.5' });
      const elapsed = performance.now() - started;
      expect(reply.status).toBe(200);
      expect(sample(reply.body, 'probe_success')).toBe(0);
      expect(sample(reply.body, 'probe_failure_reason{reason="timeout"}')).toBe(1);
      // The module's timeout is 5 s: the header capped it at 1 s.
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(elapsed).toBeLessThan(2500);
      // The run itself ended at 1 s: the header without its 0.5 s offset would have given it 1.5 s.
      const ran = sample(reply.body, 'probe_duration_seconds') ?? 0;
      expect(ran).toBeGreaterThanOrEqual(0.99);
      expect(ran).toBeLessThan(1.4);
      await waitUntil(
        () => ownSocketsTo(paused.port).length === 0,
        3000,
        'the probe socket to the paused server to close',
      );
      console.log(
        `paused probe answered after ${elapsed.toFixed(0)} ms; fds ${String(fdsBefore)} → ${String(openFds())}`,
      );
      expect(openFds()).toBeLessThanOrEqual(fdsBefore + 2);
    } finally {
      paused.resume();
    }
  });

  it('runs at most server.maxConcurrentProbes at once, then 429 with Retry-After', async () => {
    const paused = db(1);
    paused.pause();
    try {
      const slow = () => probe(`127.0.0.1:${String(paused.port)}`, { 'x-prometheus-scrape-timeout-seconds': '2' });
      const first = [slow(), slow()];
      // Both must hold their slot before the third asks.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const third = await slow();
      expect(third.status).toBe(429);
      expect(third.headers['retry-after']).toBe('1');
      const answers: Reply[] = await Promise.all(first);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      // The slots are free again once they answered.
      paused.resume();
      const after = await probe(`127.0.0.1:${String(paused.port)}`);
      expect(after.status).toBe(200);
      expect(sample(after.body, 'probe_success')).toBe(1);
    } finally {
      paused.resume();
    }
  });

  it("re-reads a module's passwordFile on reload, and never shows the password", async () => {
    const fromFile = () => vitals().get(`/probe?module=from-file&target=127.0.0.1:${String(db(0).port)}`);
    const denied = await fromFile();
    expect(sample(denied.body, 'probe_failure_reason{reason="auth"}')).toBe(1);
    expect(denied.body).not.toContain(WRONG_PASSWORD);
    writeFileSync(passwordFile, `${SHARED_PASSWORD}\n`);
    expect((await vitals().vitals.reload()).applied).toBe(true);
    const allowed = await fromFile();
    expect(sample(allowed.body, 'probe_success')).toBe(1);
    expect(vitals().logs.text()).not.toContain(SHARED_PASSWORD);
  });

  it('leaves /metrics and /ready as they were', async () => {
    const metricsBefore = seriesOf((await vitals().get('/metrics')).body);
    const readyBefore = json(await vitals().get('/ready'));
    await Promise.all([probe(`127.0.0.1:${String(db(0).port)}`), probe(`127.0.0.1:${String(db(2).port)}`)]);
    const metricsAfter = seriesOf((await vitals().get('/metrics')).body);
    const readyAfter = json(await vitals().get('/ready'));
    expect(metricsAfter).toEqual(metricsBefore);
    expect(metricsAfter.filter((s) => s.startsWith('probe_') || s.includes('mariadb'))).toEqual([]);
    expect(Object.keys(readyAfter.checks as object)).toEqual(Object.keys(readyBefore.checks as object));
    expect(readyAfter.status).toBe('pass');
  });
});
