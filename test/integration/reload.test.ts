/**
 * Live config reload through the real CLI: SIGHUP, POST /-/reload and --watch-config
 * on `node dist/cli.js serve`. The checks are tcp checks against node:net servers this file
 * controls (and a blackholed port, for a first run that takes its whole timeout), plus one
 * mysql check against a throwaway MariaDB for a passwordFile that changes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../support/binaries.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { freePort } from '../support/ports.js';
import { startBlackhole, type BlackholeListener } from '../support/servers.js';
import { waitFor } from '../support/wait.js';
import { controlled, startVitals } from '../support/vitals.js';
import { get, json } from '../support/http.js';

const CLI = join(import.meta.dirname, '../../dist/cli.js');

interface Served {
  readonly base: string;
  readonly child: ChildProcess;
  /** Everything the CLI wrote to stdout (JSON log lines). */
  stdout(): string;
  logLines(): Record<string, unknown>[];
  stop(): Promise<void>;
}

const running = new Set<Served>();

async function serve(config: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--config', config, '--host', '127.0.0.1', '--port', String(port), ...extraArgs],
    {
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const served: Served = {
    base: `http://127.0.0.1:${String(port)}`,
    child,
    stdout: () => stdout,
    logLines: () =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async stop() {
      running.delete(served);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  running.add(served);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vitals exited ${String(child.exitCode)}: ${stderr}`);
    const status = await get(`${served.base}/health`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return served;
    if (Date.now() > deadline) throw new Error(`vitals did not answer /health: ${stderr}${stdout}`);
    await sleep(50);
  }
}

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`)))
      return Number(match[3]);
  }
  return undefined;
}

async function metrics(base: string): Promise<string> {
  const reply = await get(`${base}/metrics`);
  expect(reply.status).toBe(200);
  return reply.body;
}

async function reload(base: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const reply = await get(`${base}/-/reload`, { method: 'POST' });
  return { status: reply.status, body: json(reply) };
}

/** Polls /ready and /startup back to back until stopped; returns every status seen. */
function watchProbes(base: string): { stop(): Promise<{ ready: number[]; startup: number[] }> } {
  const seen = { ready: [] as number[], startup: [] as number[] };
  let stopped = false;
  const loop = (async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by stop() while the loop awaits
    while (!stopped) {
      const [ready, startup] = await Promise.all([
        fetch(`${base}/ready`).then(
          (r) => r.status,
          () => 0,
        ),
        fetch(`${base}/startup`).then(
          (r) => r.status,
          () => 0,
        ),
      ]);
      seen.ready.push(ready);
      seen.startup.push(startup);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return seen;
    },
  };
}

/** A TCP server that accepts and closes every connection: a passing tcp check. */
async function tcpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}

function tcpCheck(name: string, port: number, extra = ''): string {
  return `  - { name: ${name}, kind: tcp, host: 127.0.0.1, port: ${String(port)}, interval: 200ms, timeout: 100ms${extra} }\n`;
}

describe('config reload through the CLI', () => {
  let dir: string;
  let a: Awaited<ReturnType<typeof tcpServer>>;
  let b: Awaited<ReturnType<typeof tcpServer>>;
  let blackhole: BlackholeListener;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitals-reload-'));
    a = await tcpServer();
    b = await tcpServer();
    blackhole = await startBlackhole();
  });

  afterEach(async () => {
    for (const served of [...running]) await served.stop();
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await blackhole.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('SIGHUP applies a valid change: added series at 0 at once, removed series gone, unchanged counters kept, no probe flaps', async () => {
    const config = join(dir, 'sighup.yml');
    await writeFile(config, `checks:\n${tcpCheck('steady', a.port)}${tcpCheck('leaving', b.port)}`);
    const vitals = await serve(config);
    await waitFor(
      async () => sample(await metrics(vitals.base), 'vitals_check_runs_total', { check: 'steady' }) ?? 0,
      (runs) => runs >= 3,
      10_000,
    );
    expect((await fetch(`${vitals.base}/ready`)).status).toBe(200);
    expect((await fetch(`${vitals.base}/startup`)).status).toBe(200);
    const before = await metrics(vitals.base);
    const runsBefore = sample(before, 'vitals_check_runs_total', { check: 'steady' }) ?? 0;
    const lastSuccessBefore = sample(before, 'vitals_check_last_success_timestamp_seconds', { check: 'steady' }) ?? 0;
    expect(lastSuccessBefore).toBeGreaterThan(0);

    // The new critical check connects to a blackholed port: its first run takes its whole
    // 4 s timeout, so its series are seen before any result, and /ready must not count it yet.
    await writeFile(
      config,
      `checks:\n${tcpCheck('steady', a.port)}  - { name: arriving, kind: tcp, host: 127.0.0.1, port: ${String(blackhole.port)}, interval: 10s, timeout: 4s }\n`,
    );
    const probes = watchProbes(vitals.base);
    await sleep(100);
    vitals.child.kill('SIGHUP');
    const { value: after } = await waitFor(
      () => metrics(vitals.base),
      (text) => sample(text, 'vitals_check_up', { check: 'arriving' }) !== undefined,
      3000,
    );
    await sleep(300);
    const seen = await probes.stop();

    expect(sample(after, 'vitals_check_up', { check: 'arriving', kind: 'tcp', critical: 'true' })).toBe(0);
    expect(sample(after, 'vitals_check_runs_total', { check: 'arriving' })).toBe(0);
    expect(sample(after, 'vitals_check_status', { check: 'arriving', status: 'unknown' })).toBe(1);
    expect(sample(after, 'vitals_check_failures_total', { check: 'arriving', reason: 'timeout' })).toBe(0);
    expect(sample(after, 'vitals_check_last_success_timestamp_seconds', { check: 'arriving' })).toBe(0);
    expect(
      sample(after, 'vitals_check_info', { check: 'arriving', target: `127.0.0.1:${String(blackhole.port)}` }),
    ).toBe(1);
    expect(after).not.toContain('check="leaving"');
    // The unchanged check kept its runner: its counter went on from where it was.
    expect(sample(after, 'vitals_check_runs_total', { check: 'steady' })).toBeGreaterThanOrEqual(runsBefore);
    expect(sample(after, 'vitals_check_last_success_timestamp_seconds', { check: 'steady' })).toBeGreaterThanOrEqual(
      lastSuccessBefore,
    );
    expect(sample(after, 'vitals_config_last_reload_successful')).toBe(1);

    expect(seen.ready.length).toBeGreaterThan(5);
    expect(seen.ready.every((status) => status === 200)).toBe(true);
    expect(seen.startup.every((status) => status === 200)).toBe(true);

    const later = await waitFor(
      async () => sample(await metrics(vitals.base), 'vitals_check_runs_total', { check: 'steady' }) ?? 0,
      (runs) => runs > runsBefore + 2,
      5000,
    );
    expect(later.value).toBeGreaterThan(runsBefore + 2);
    const reloaded = vitals.logLines().find((line) => line.msg === 'config reloaded');
    expect(reloaded).toMatchObject({ added: ['arriving'], changed: [], removed: ['leaving'] });
  });

  it('POST /-/reload: an invalid config is refused whole (400, every problem, gauge 0); a valid one then applies (gauge 1, timestamp moves)', async () => {
    const config = join(dir, 'post.yml');
    await writeFile(config, `checks:\n${tcpCheck('steady', a.port)}`);
    const vitals = await serve(config);
    await waitFor(
      () => fetch(`${vitals.base}/ready`).then((r) => r.status),
      (status) => status === 200,
      5000,
    );
    const start = await metrics(vitals.base);
    expect(sample(start, 'vitals_config_last_reload_successful')).toBe(1);
    const appliedAt = sample(start, 'vitals_config_last_reload_success_timestamp_seconds') ?? 0;
    expect(appliedAt).toBeGreaterThan(0);

    await writeFile(
      config,
      `bogus: 1\nchecks:\n${tcpCheck('steady', a.port)}  - { name: broken, kind: tcp, host: 127.0.0.1, port: ${String(b.port)}, interval: 1s, timeout: 2s }\n`,
    );
    const refused = await reload(vitals.base);
    expect(refused.status).toBe(400);
    expect(refused.body.applied).toBe(false);
    const problems = refused.body.problems as string[];
    expect(problems).toContain('bogus: unknown key');
    expect(
      problems.some((p) => p.startsWith('checks[1].timeout: timeout (2s) must be shorter than interval (1s)')),
    ).toBe(true);
    const kept = await metrics(vitals.base);
    expect(sample(kept, 'vitals_config_last_reload_successful')).toBe(0);
    expect(sample(kept, 'vitals_config_last_reload_success_timestamp_seconds')).toBe(appliedAt);
    expect(sample(kept, 'vitals_check_up', { check: 'steady' })).toBe(1);
    expect(kept).not.toContain('check="broken"');
    expect((await fetch(`${vitals.base}/ready`)).status).toBe(200);
    // The child writes its log asynchronously: the line may arrive after the HTTP answer.
    const { value: rejectedLog } = await waitFor(
      () => vitals.logLines().filter((line) => line.msg === 'config reload rejected; the running config stays'),
      (lines) => lines.length > 0,
      3000,
    );
    expect(rejectedLog).toHaveLength(1);
    expect(rejectedLog[0]?.problems).toEqual(problems);

    await writeFile(config, `checks:\n${tcpCheck('steady', a.port)}${tcpCheck('second', b.port)}`);
    const applied = await reload(vitals.base);
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ applied: true, problems: [], added: ['second'], changed: [], removed: [] });
    const now = await metrics(vitals.base);
    expect(sample(now, 'vitals_config_last_reload_successful')).toBe(1);
    expect(sample(now, 'vitals_config_last_reload_success_timestamp_seconds')).toBeGreaterThan(appliedAt);
    expect(sample(now, 'vitals_check_up', { check: 'second' })).toBeDefined();
  });

  it("a changed critical check (a rotated credential) keeps /ready 200 while its new definition's first run is under way, also under a SIGHUP storm", async () => {
    // A healthy dependency that takes 800 ms to answer, and checks it through a header that the
    // reloads rotate, as a password rotation would.
    const slow = http.createServer((_request, response) => {
      setTimeout(() => response.end('ok'), 800);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const slowPort = (slow.address() as net.AddressInfo).port;
    const checkWith = (secret: string) =>
      `checks:\n  - { name: api, kind: http, url: "http://127.0.0.1:${String(slowPort)}/", headers: { Authorization: "Bearer ${secret}" }, interval: 5s, timeout: 2s }\n`;
    try {
      const config = join(dir, 'rotate.yml');
      await writeFile(config, checkWith('one'));
      const vitals = await serve(config);
      await waitFor(
        () => fetch(`${vitals.base}/ready`).then((r) => r.status),
        (status) => status === 200,
        10_000,
      );

      const probes = watchProbes(vitals.base);
      await writeFile(config, checkWith('two'));
      vitals.child.kill('SIGHUP');
      await sleep(1500);
      const single = await probes.stop();

      const storm = watchProbes(vitals.base);
      for (let i = 0; i < 15; i++) {
        await writeFile(config, checkWith(`storm-${String(i)}`));
        vitals.child.kill('SIGHUP');
        await sleep(150);
      }
      await sleep(1500);
      const stormSeen = await storm.stop();
      const count503 = (statuses: number[]) => statuses.filter((status) => status === 503).length;
      console.info(
        `rotation: /ready 503 ${String(count503(single.ready))}/${String(single.ready.length)}; ` +
          `storm: /ready 503 ${String(count503(stormSeen.ready))}/${String(stormSeen.ready.length)}`,
      );

      expect(vitals.logLines().filter((line) => line.msg === 'config reloaded').length).toBeGreaterThanOrEqual(10);
      expect(single.ready.length).toBeGreaterThan(5);
      expect(count503(single.ready)).toBe(0);
      expect(count503(stormSeen.ready)).toBe(0);
      expect([...single.startup, ...stormSeen.startup].every((status) => status === 200)).toBe(true);
      // The last definition did get its result, and is the one now reported.
      const text = await metrics(vitals.base);
      expect(sample(text, 'vitals_check_up', { check: 'api' })).toBe(1);
      // Only the first result's change; no reload logged a flap through unknown.
      const changes = vitals.logLines().filter((line) => line.msg === 'check status changed');
      expect(changes.map((line) => [line.check, line.from, line.to])).toEqual([['api', 'unknown', 'pass']]);
    } finally {
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });

  it('a change to server.port is rejected with "restart required"', async () => {
    const config = join(dir, 'port.yml');
    await writeFile(config, `checks:\n${tcpCheck('steady', a.port)}`);
    const vitals = await serve(config);
    await writeFile(config, `server: { port: 1 }\nchecks:\n${tcpCheck('steady', a.port)}${tcpCheck('second', b.port)}`);
    const refused = await reload(vitals.base);
    expect(refused.status).toBe(400);
    expect(refused.body.problems).toEqual(['server.port: changed; restart required']);
    const text = await metrics(vitals.base);
    expect(sample(text, 'vitals_config_last_reload_successful')).toBe(0);
    expect(text).not.toContain('check="second"');
  });

  it('a change to metrics is rejected with "restart required": a histogram keeps its buckets for the life of the process', async () => {
    const config = join(dir, 'metrics.yml');
    await writeFile(config, `metrics: { durationBuckets: [0.1, 1] }\nchecks:\n${tcpCheck('steady', a.port)}`);
    const vitals = await serve(config);
    await writeFile(
      config,
      `metrics: { durationBuckets: [0.5, 1] }\nchecks:\n${tcpCheck('steady', a.port)}${tcpCheck('second', b.port)}`,
    );
    const refused = await reload(vitals.base);
    expect(refused.status).toBe(400);
    expect(refused.body.problems).toEqual(['metrics: changed; restart required']);
    const text = await metrics(vitals.base);
    expect(text).not.toContain('check="second"');
    expect(text).toContain(
      'vitals_check_run_duration_seconds_bucket{check="steady",kind="tcp",critical="true",le="0.1"}',
    );
    // Written the same way, the same buckets are no change.
    await writeFile(
      config,
      `metrics:\n  histogram: true\n  durationBuckets: [0.1, 1.0]\nchecks:\n${tcpCheck('steady', a.port)}`,
    );
    expect((await reload(vitals.base)).status).toBe(200);
  });

  it('a change to server.grpcPort is rejected with "restart required", like the other ports', async () => {
    const config = join(dir, 'grpc-port.yml');
    const grpcPort = await freePort();
    await writeFile(config, `server: { grpcPort: ${String(grpcPort)} }\nchecks:\n${tcpCheck('steady', a.port)}`);
    const vitals = await serve(config);
    await writeFile(config, `checks:\n${tcpCheck('steady', a.port)}${tcpCheck('second', b.port)}`);
    const refused = await reload(vitals.base);
    expect(refused.status).toBe(400);
    expect(refused.body.problems).toEqual(['server.grpcPort: changed; restart required']);
    const text = await metrics(vitals.base);
    expect(sample(text, 'vitals_config_last_reload_successful')).toBe(0);
    expect(text).not.toContain('check="second"');
  });

  it('--watch-config 200ms picks up a changed file without a signal', async () => {
    const config = join(dir, 'watch.yml');
    await writeFile(config, `checks:\n${tcpCheck('steady', a.port)}`);
    const vitals = await serve(config, ['--watch-config', '200ms']);
    await sleep(300);
    await writeFile(config, `checks:\n${tcpCheck('steady', a.port)}${tcpCheck('watched', b.port)}`);
    const { elapsedMs } = await waitFor(
      () => metrics(vitals.base),
      (text) => sample(text, 'vitals_check_up', { check: 'watched' }) === 1,
      5000,
    );
    expect(elapsedMs).toBeLessThan(3000);
    expect(vitals.logLines().some((line) => line.msg === 'config reloaded')).toBe(true);
  });
});

describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb'], 'reload: passwordFile'))(
  'config reload re-reads secret files',
  () => {
    let db: MariaDb;
    let dir: string;

    beforeAll(async () => {
      db = await startMariaDb();
      dir = await mkdtemp(join(tmpdir(), 'vitals-reload-secret-'));
    });

    afterEach(async () => {
      for (const served of [...running]) await served.stop();
    });

    afterAll(async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('a passwordFile whose content changes is read again and the check recovers, with no signal', async () => {
      const secret = join(dir, 'db-password');
      await writeFile(secret, 'not-the-password\n');
      const config = join(dir, 'secret.yml');
      await writeFile(
        config,
        `checks:\n  - name: db\n    kind: mysql\n    url: mysql://${db.user}@127.0.0.1:${String(db.port)}/\n    passwordFile: db-password\n    interval: 1s\n    timeout: 800ms\n`,
      );
      const vitals = await serve(config, ['--watch-config', '200ms']);
      await waitFor(
        async () =>
          sample(await metrics(vitals.base), 'vitals_check_failures_total', { check: 'db', reason: 'auth' }) ?? 0,
        (failures) => failures >= 1,
        10_000,
      );
      expect((await fetch(`${vitals.base}/ready/db`)).status).toBe(503);

      await writeFile(secret, `${db.password}\n`);
      await waitFor(
        () => fetch(`${vitals.base}/ready/db`).then((r) => r.status),
        (status) => status === 200,
        10_000,
      );
      const reloaded = vitals.logLines().find((line) => line.msg === 'config reloaded');
      expect(reloaded).toMatchObject({ changed: ['db'] });
      expect(vitals.stdout()).not.toContain(db.password);
      expect(await metrics(vitals.base)).not.toContain(db.password);
    });
  },
);

describe('reload and custom checks', () => {
  it('refuses a config check named like a custom check: 400 naming it, running config kept, reload gauge 0', async () => {
    const target = await tcpServer();
    const document = {
      checks: [
        { name: 'cache', kind: 'tcp', host: '127.0.0.1', port: target.port, interval: '200ms', timeout: '100ms' },
      ] as unknown[],
    };
    const queue = controlled('pass');
    const s = await startVitals(document, [{ name: 'queue', interval: '200ms', timeout: '100ms', run: queue.run }]);
    try {
      await waitFor(
        () => s.get('/ready').then((r) => r.status),
        (status) => status === 200,
        5000,
      );
      document.checks.push(
        { name: 'extra', kind: 'tcp', host: '127.0.0.1', port: target.port },
        { name: 'queue', kind: 'tcp', host: '127.0.0.1', port: target.port },
      );
      const refused = await s.get('/-/reload', { method: 'POST' });
      expect(refused.status).toBe(400);
      expect(json(refused)).toMatchObject({
        applied: false,
        problems: ['checks[2].name: "queue" is already a custom check added by addCheck'],
      });
      const text = (await s.get('/metrics')).body;
      expect(sample(text, 'vitals_config_last_reload_successful')).toBe(0);
      expect(text).not.toContain('check="extra"');
      expect(sample(text, 'vitals_check_info', { check: 'queue', kind: 'custom', target: '' })).toBe(1);
      expect(text).not.toMatch(/check="queue",kind="tcp"/);
      expect(s.monitor.checks().map((c) => `${c.definition.name}/${c.definition.kind}`)).toEqual([
        'cache/tcp',
        'queue/custom',
      ]);
    } finally {
      await s.close();
      await target.close();
    }
  });
});
