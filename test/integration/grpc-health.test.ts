/**
 * server.grpcPort: grpc.health.v1 Check and Watch, asked by a real grpc-js client over the
 * health.proto that grpc-health-check ships, against an embedded vitals whose mysql check
 * watches a throwaway MariaDB that the test kills and restarts; draining, shutdown and reload
 * on embedded instances with custom checks; and, in a separate node process running the built
 * package, that without grpcPort no gRPC port opens and @grpc/grpc-js is never loaded.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, credentials, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { createVitalsService, type VitalsService } from '../../src/vitals.js';
import { skipUnlessBinaries } from '../support/binaries.js';
import { openFds } from '../support/fds.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { freePort } from '../support/ports.js';
import { controlled, fast, settle, startVitals, type RunningVitals } from '../support/vitals.js';
import { waitFor, waitUntil } from '../support/wait.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist', 'cli.js');
const NOT_FOUND = 5;
const OK = 0;

interface Request {
  service: string;
}
interface Response {
  status: string;
}
const CHECK = healthService.Check as MethodDefinition<Request, Response>;
const WATCH = healthService.Watch as MethodDefinition<Request, Response>;

function client(port: number | undefined): Client {
  if (port === undefined) throw new Error('no gRPC port');
  return new Client(`127.0.0.1:${String(port)}`, credentials.createInsecure());
}

/** The status Check answers, or the gRPC error code it fails with. */
function check(c: Client, service: string): Promise<string | { code: number }> {
  return new Promise((resolve) => {
    c.makeUnaryRequest(
      CHECK.path,
      CHECK.requestSerialize,
      CHECK.responseDeserialize,
      { service },
      { deadline: Date.now() + 2000 },
      (error: ServiceError | null, value?: Response) => {
        resolve(error === null ? (value?.status ?? 'none') : { code: error.code });
      },
    );
  });
}

interface Watching {
  readonly seen: string[];
  /** The call's final status code, once it has one; `ended` when the stream ended cleanly. */
  readonly outcome: { code?: number; ended: boolean; error?: string };
  cancel(): void;
}

function watch(c: Client, service: string): Watching {
  const stream: ClientReadableStream<Response> = c.makeServerStreamRequest(
    WATCH.path,
    WATCH.requestSerialize,
    WATCH.responseDeserialize,
    { service },
  );
  const watching: Watching = {
    seen: [],
    outcome: { ended: false },
    cancel: () => {
      stream.cancel();
    },
  };
  stream.on('data', (response: Response) => watching.seen.push(response.status));
  stream.on('end', () => (watching.outcome.ended = true));
  stream.on('status', (s: { code: number }) => (watching.outcome.code = s.code));
  stream.on('error', (error: ServiceError) => (watching.outcome.error = error.message));
  return watching;
}

async function checkBecomes(c: Client, service: string, expected: string, timeoutMs = 8000): Promise<number> {
  const { elapsedMs } = await waitFor(
    () => check(c, service),
    (value) => value === expected,
    timeoutMs,
    { what: `${service || '""'} to be ${expected}`, everyMs: 50 },
  );
  return elapsedMs;
}

describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb'], 'gRPC health with MariaDB'))(
  'gRPC health of a vitals whose mysql check watches a real MariaDB',
  () => {
    let db: MariaDb;
    let served: RunningVitals;
    let grpc: Client;

    beforeAll(async () => {
      db = await startMariaDb();
      served = await startVitals(
        {
          defaults: { interval: '500ms', timeout: '300ms' },
          checks: [{ name: 'db', kind: 'mysql', url: db.url({ user: db.user, password: db.password }) }],
        },
        [],
        { firstResults: true, listen: { grpcPort: 0 } },
      );
      grpc = client(served.server.grpcPort);
    }, 60_000);

    afterAll(async () => {
      grpc.close();
      await served.close();
      await db.close();
    });

    it('Check: "", readiness, liveness, startup and the check name are SERVING while MariaDB is up', async () => {
      expect(served.server.grpcPort).toBeGreaterThan(0);
      await settle(served, 'db', 'pass');
      for (const service of ['', 'readiness', 'liveness', 'startup', 'db']) {
        expect(await check(grpc, service), service).toBe('SERVING');
      }
    });

    it('an unknown service: Check fails NOT_FOUND; Watch sends SERVICE_UNKNOWN and keeps the stream open', async () => {
      expect(await check(grpc, 'nope')).toEqual({ code: NOT_FOUND });
      expect(await check(grpc, 'DB')).toEqual({ code: NOT_FOUND });
      const unknown = watch(grpc, 'nope');
      await waitUntil(() => unknown.seen.length > 0, 3000, 'the first Watch answer');
      await sleep(300);
      expect(unknown.seen).toEqual(['SERVICE_UNKNOWN']);
      expect(unknown.outcome).toEqual({ ended: false });
      unknown.cancel();
    });

    it('MariaDB killed: readiness and the check NOT_SERVING (Watch sees it), liveness and startup stay; back on restart', async () => {
      await settle(served, 'db', 'pass');
      const readiness = watch(grpc, 'readiness');
      const dbWatch = watch(grpc, 'db');
      const liveness = watch(grpc, 'liveness');
      await waitUntil(() => readiness.seen.length > 0 && dbWatch.seen.length > 0, 3000, 'the first Watch answers');
      expect(readiness.seen).toEqual(['SERVING']);

      await db.kill();
      const downMs = await checkBecomes(grpc, 'readiness', 'NOT_SERVING');
      expect(await check(grpc, '')).toBe('NOT_SERVING');
      expect(await check(grpc, 'db')).toBe('NOT_SERVING');
      expect(await check(grpc, 'liveness')).toBe('SERVING');
      expect(await check(grpc, 'startup')).toBe('SERVING');

      await db.restart();
      const upMs = await checkBecomes(grpc, 'readiness', 'SERVING', 15_000);
      expect(await check(grpc, 'db')).toBe('SERVING');
      await waitUntil(() => readiness.seen.length >= 3 && dbWatch.seen.length >= 3, 3000, 'Watch to see recovery');
      // Only changes: one message per transition, not one per run.
      expect(readiness.seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
      expect(dbWatch.seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
      expect(liveness.seen).toEqual(['SERVING']);
      console.log(
        `gRPC readiness: NOT_SERVING ${downMs.toFixed(0)} ms after the kill, SERVING ${upMs.toFixed(0)} ms after the restart`,
      );
      for (const w of [readiness, dbWatch, liveness]) w.cancel();
    }, 60_000);
  },
);

describe('gRPC health: start-up, draining, shutdown', () => {
  const running: RunningVitals[] = [];
  const clients: Client[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(running.map((r) => r.close()));
  });

  async function start(
    probe = controlled('pass'),
    options: { firstResults?: boolean } = {},
  ): Promise<{ served: RunningVitals; grpc: Client }> {
    const served = await startVitals({}, [fast('queue', probe)], {
      firstResults: options.firstResults ?? true,
      listen: { grpcPort: 0 },
    });
    running.push(served);
    const grpc = client(served.server.grpcPort);
    clients.push(grpc);
    return { served, grpc };
  }

  it('startup is NOT_SERVING until every check has a first result, then SERVING', async () => {
    const probe = controlled('hold');
    const { served, grpc } = await start(probe, { firstResults: false });
    const startup = watch(grpc, 'startup');
    expect(await check(grpc, 'startup')).toBe('NOT_SERVING');
    expect(await check(grpc, 'readiness')).toBe('NOT_SERVING'); // a critical check is unknown
    expect(await check(grpc, 'liveness')).toBe('SERVING');
    probe.behaviour = 'pass';
    probe.release();
    await settle(served, 'queue', 'pass');
    await checkBecomes(grpc, 'startup', 'SERVING');
    expect(await check(grpc, 'readiness')).toBe('SERVING');
    await waitUntil(() => startup.seen.length >= 2, 3000, 'Watch startup to see SERVING');
    expect(startup.seen).toEqual(['NOT_SERVING', 'SERVING']);
    startup.cancel();
  });

  it('draining: "" and readiness NOT_SERVING at once (Watch sees it); the check name and liveness stay SERVING', async () => {
    const { served, grpc } = await start();
    const readiness = watch(grpc, '');
    await waitUntil(() => readiness.seen.length > 0, 3000, 'the first Watch answer');
    served.drain();
    await waitUntil(() => readiness.seen.length >= 2, 1000, 'Watch to see draining');
    expect(readiness.seen).toEqual(['SERVING', 'NOT_SERVING']);
    expect(await check(grpc, 'readiness')).toBe('NOT_SERVING');
    expect(await check(grpc, '')).toBe('NOT_SERVING');
    expect(await check(grpc, 'queue')).toBe('SERVING'); // as /ready/NAME: draining or not
    expect(await check(grpc, 'liveness')).toBe('SERVING');
    expect((await served.get('/ready')).status).toBe(503);
    readiness.cancel();
  });

  it('200 probes, each on a connection of its own as the kubelet dials, leave no descriptor behind', async () => {
    const { grpc } = await start();
    expect(await check(grpc, 'readiness')).toBe('SERVING'); // the server side warmed up
    const port = Number(grpc.getChannel().getTarget().split(':').pop());
    const before = openFds();
    for (let i = 0; i < 200; i += 1) {
      // A subchannel pool of its own: otherwise grpc-js shares one connection between clients.
      const probe = new Client(`127.0.0.1:${String(port)}`, credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      });
      expect(await check(probe, 'readiness')).toBe('SERVING');
      probe.close();
    }
    const { value: after } = await waitFor(
      () => openFds(),
      (fds) => fds <= before + 2,
      5000,
      { what: 'the probe connections to close' },
    );
    console.log(`gRPC: open fds ${String(before)} before 200 fresh-connection probes, ${String(after)} after`);
  });

  it('close ends every Watch stream cleanly (status OK) and shuts the port, well within the grace', async () => {
    const { served, grpc } = await start();
    const watches = [watch(grpc, 'readiness'), watch(grpc, 'queue'), watch(grpc, 'not-a-service')];
    await waitUntil(() => watches.every((w) => w.seen.length > 0), 3000, 'the first Watch answers');
    const begun = performance.now();
    await served.server.close(5000);
    const closeMs = performance.now() - begun;
    await waitUntil(() => watches.every((w) => w.outcome.code !== undefined), 3000, 'every Watch to end');
    for (const w of watches) expect(w.outcome).toEqual({ code: OK, ended: true });
    expect(closeMs).toBeLessThan(1000);
    expect(await check(grpc, 'liveness')).toMatchObject({ code: expect.any(Number) as number });
    console.log(`gRPC close with 3 open Watch streams: ${closeMs.toFixed(0)} ms`);
  });
});

describe('gRPC health across a reload', () => {
  let dir: string;
  let service: VitalsService;
  let server: RunningServer;
  let grpc: Client;
  let grpcPort: number;

  const config = (port: number, checks: string[]) =>
    `server: { grpcPort: ${String(port)} }\nchecks:\n${checks.map((name) => `  - { name: ${name}, kind: disk, path: /, minFreeRatio: 0, interval: 200ms, timeout: 100ms }\n`).join('')}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitals-grpc-'));
    grpcPort = await freePort();
    await writeFile(join(dir, 'vitals.yml'), config(grpcPort, ['kept', 'dropped']));
    service = await createVitalsService(join(dir, 'vitals.yml'), { logger: createLogger('silent'), env: {} });
    await service.vitals.start();
    server = await listen(service, '127.0.0.1', 0, { grpcPort: service.vitals.config().server.grpcPort });
    grpc = client(server.grpcPort);
  });

  afterAll(async () => {
    grpc.close();
    await service.vitals.stop();
    await server.close(0);
    await rm(dir, { recursive: true, force: true });
  });

  it('a removed check becomes SERVICE_UNKNOWN on Watch and NOT_FOUND on Check; an added one appears', async () => {
    expect(server.grpcPort).toBe(grpcPort);
    await checkBecomes(grpc, 'dropped', 'SERVING');
    const dropped = watch(grpc, 'dropped');
    await waitUntil(() => dropped.seen.length > 0, 3000, 'the first Watch answer');
    await writeFile(join(dir, 'vitals.yml'), config(grpcPort, ['kept', 'added']));
    expect((await service.vitals.reload()).applied).toBe(true);
    await waitUntil(() => dropped.seen.length >= 2, 3000, 'Watch to see the check go');
    expect(dropped.seen).toEqual(['SERVING', 'SERVICE_UNKNOWN']);
    expect(dropped.outcome.ended).toBe(false);
    expect(await check(grpc, 'dropped')).toEqual({ code: NOT_FOUND });
    await checkBecomes(grpc, 'added', 'SERVING');
    expect(await check(grpc, 'kept')).toBe('SERVING');
    dropped.cancel();
  });

  it('a change to server.grpcPort is rejected with "restart required"', async () => {
    await writeFile(join(dir, 'vitals.yml'), config(grpcPort + 1, ['kept', 'added']));
    const outcome = await service.vitals.reload();
    expect(outcome).toMatchObject({ applied: false, problems: ['server.grpcPort: changed; restart required'] });
    expect(service.vitals.config().server.grpcPort).toBe(grpcPort);
    expect(await check(grpc, 'kept')).toBe('SERVING');
  });
});

describe('without server.grpcPort, the built package', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) {
      const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`npm run build failed: ${build.stdout}${build.stderr}`);
    }
  }, 120_000);

  /**
   * Starts vitals' listeners from dist/ in a fresh node process, as serve does, and reports
   * which packages of gRPC it loaded and how many servers listen.
   */
  async function probeProcess(server: Record<string, unknown>): Promise<{ grpcModules: number; listening: number }> {
    const script = `
      import { createRequire } from 'node:module';
      const { createVitalsService } = await import(${JSON.stringify(join(ROOT, 'dist/vitals.js'))});
      const { listen } = await import(${JSON.stringify(join(ROOT, 'dist/http/server.js'))});
      const { createLogger } = await import(${JSON.stringify(join(ROOT, 'dist/log.js'))});
      const service = await createVitalsService(${JSON.stringify({ server, checks: [{ name: 'root', kind: 'disk', path: '/', minFreeRatio: 0 }] })}, { logger: createLogger('silent'), env: {} });
      await service.vitals.start();
      const running = await listen(service, '127.0.0.1', 0, { grpcPort: service.vitals.config().server.grpcPort });
      const loaded = Object.keys(createRequire(process.cwd() + '/').cache);
      const listening = process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
      console.log(JSON.stringify({ grpcModules: loaded.filter((f) => /[\\\\/]@?grpc/.test(f)).length, listening }));
      await running.close(0);
      await service.vitals.stop();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, err).toBe(0);
    return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { grpcModules: number; listening: number };
  }

  it('opens no gRPC port and never loads @grpc/grpc-js or grpc-health-check', async () => {
    expect(await probeProcess({})).toEqual({ grpcModules: 0, listening: 1 });
  });

  it('with grpcPort it does both (the check above can fail)', async () => {
    const seen = await probeProcess({ grpcPort: await freePort() });
    expect(seen.grpcModules).toBeGreaterThan(0);
    expect(seen.listening).toBe(2);
  });

  it('serve with grpcPort, SIGTERM: readiness NOT_SERVING at once, Watch ends OK at the listener close, exit 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vitals-grpc-serve-'));
    const [port, grpcPort] = [await freePort(), await freePort()];
    const file = join(dir, 'vitals.yml');
    await writeFile(
      file,
      `server: { grpcPort: ${String(grpcPort)}, shutdownDelay: 500ms, shutdownTimeout: 2s }\n` +
        'checks:\n  - { name: root, kind: disk, path: /, minFreeRatio: 0, interval: 200ms, timeout: 100ms }\n',
    );
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--config', file, '--host', '127.0.0.1', '--port', String(port)],
      {
        env: { ...process.env, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const grpc = client(grpcPort);
    try {
      await waitUntil(() => out.includes('"msg":"listening"'), 10_000, 'vitals to listen');
      expect(out).toContain(`"grpcPort":${String(grpcPort)}`);
      await checkBecomes(grpc, 'readiness', 'SERVING');
      const readiness = watch(grpc, 'readiness');
      await waitUntil(() => readiness.seen.length > 0, 3000, 'the first Watch answer');
      const signalled = performance.now();
      child.kill('SIGTERM');
      await waitUntil(() => readiness.seen.length >= 2, 1000, 'Watch to see draining');
      const drainMs = performance.now() - signalled;
      expect(readiness.seen).toEqual(['SERVING', 'NOT_SERVING']);
      expect(readiness.outcome.code).toBeUndefined(); // open until the listeners close
      await waitUntil(() => readiness.outcome.code !== undefined, 3000, 'the Watch to end');
      const endMs = performance.now() - signalled;
      expect(readiness.outcome).toEqual({ code: OK, ended: true });
      expect(await exited).toBe(0);
      const exitMs = performance.now() - signalled;
      expect(endMs).toBeGreaterThanOrEqual(450); // not before shutdownDelay
      expect(exitMs).toBeLessThan(2500); // the Watch did not hold the shutdown to its timeout
      console.log(
        `serve SIGTERM: NOT_SERVING after ${drainMs.toFixed(0)} ms, Watch ended OK after ${endMs.toFixed(0)} ms, exit 0 after ${exitMs.toFixed(0)} ms`,
      );
    } finally {
      grpc.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serve refuses a grpcPort that is the main port, the probe port or taken (exit 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vitals-grpc-cli-'));
    try {
      const port = await freePort();
      for (const [server, message] of [
        [
          `{ port: ${String(port)}, grpcPort: ${String(port)} }`,
          'server.grpcPort: ' + String(port) + " is the main listener's port too",
        ],
        [
          `{ port: ${String(port)}, probePort: ${String(port + 1)}, grpcPort: ${String(port + 1)} }`,
          `server.grpcPort: ${String(port + 1)} is server.probePort too`,
        ],
      ] as const) {
        const file = join(dir, 'vitals.yml');
        await writeFile(file, `server: ${server}\nchecks: []\n`);
        const r = spawnSync(process.execPath, [CLI, 'serve', '--config', file, '--host', '127.0.0.1'], {
          encoding: 'utf8',
          timeout: 15_000,
        });
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toContain(message);
      }
      // A gRPC port someone else holds: the same start-up error as any listener.
      const holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const held = (holder.address() as AddressInfo).port;
      try {
        await writeFile(join(dir, 'vitals.yml'), `server: { grpcPort: ${String(held)} }\nchecks: []\n`);
        const r = spawnSync(
          process.execPath,
          [CLI, 'serve', '--config', join(dir, 'vitals.yml'), '--host', '127.0.0.1', '--port', '0'],
          {
            encoding: 'utf8',
            timeout: 15_000,
          },
        );
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toContain(`(gRPC health: ${String(held)})`);
        expect(r.stderr).toContain('EADDRINUSE');
      } finally {
        holder.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
