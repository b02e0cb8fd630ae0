import { existsSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vitals } from '../../src/index.js';
import { waitFor } from '../support/wait.js';

const DIST = join(import.meta.dirname, '../../dist');
// The built package entry, as an application would import it (npm test builds first). A path in
// a variable, so that typechecking a fresh clone does not need dist/; its types are src's.
const ENTRY = join(DIST, 'index.js');
const { createVitals, ConfigError } = (await import(ENTRY)) as typeof import('../../src/index.js');

describe('vitals embedded in an existing Koa app', () => {
  let vitals: Vitals;
  let server: Server;
  let base: string;
  let tcpTarget: NetServer;
  let queueHealthy = true;
  const appRegistry = new Registry();
  const appRequests = new Counter({
    name: 'app_requests_total',
    help: 'Requests the application served.',
    registers: [appRegistry],
  });

  beforeAll(async () => {
    tcpTarget = createNetServer((socket) => socket.end());
    await new Promise<void>((resolve) => tcpTarget.listen(0, '127.0.0.1', resolve));
    const tcpPort = (tcpTarget.address() as AddressInfo).port;
    vitals = await createVitals(
      {
        checks: [{ name: 'cache', kind: 'tcp', host: '127.0.0.1', port: tcpPort, interval: '200ms', timeout: '100ms' }],
      },
      { logger: (await import('../../src/log.js')).createLogger('silent') },
    );
    vitals.addCheck({
      name: 'queue',
      critical: true,
      interval: 200,
      timeout: 100,
      run: async () => {
        if (!queueHealthy) throw new Error('queue is full');
      },
    });
    await vitals.start();

    const app = new Koa();
    const outer = new Router();
    outer.get('/hello', (ctx) => {
      appRequests.inc();
      ctx.body = 'hello from the app';
    });
    outer.get('/metrics', async (ctx) => {
      // The application's own registry merged with vitals', served on the app's own route.
      ctx.type = 'text/plain';
      ctx.body = await Registry.merge([appRegistry, vitals.registry]).metrics();
    });
    outer.use('/ops', vitals.router().routes());
    app.use(outer.routes());
    const handle = app.callback();
    server = createServer((request, response) => {
      void handle(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });

  afterAll(async () => {
    await vitals.stop();
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => tcpTarget.close(resolve));
  });

  it('ships typed exports: the built entry and its declarations exist', () => {
    expect(existsSync(join(DIST, 'index.js'))).toBe(true);
    expect(existsSync(join(DIST, 'index.d.ts'))).toBe(true);
    expect(typeof createVitals).toBe('function');
  });

  it("exposes the embedding API and nothing of the listener's internals", () => {
    const members = Object.keys(vitals).sort();
    expect(members).toStrictEqual([
      'addCheck',
      'config',
      'logger',
      'off',
      'on',
      'registry',
      'reload',
      'router',
      'runNow',
      'start',
      'status',
      'stop',
      'version',
    ]);
  });

  it("serves the vitals routes under the prefix beside the app's own routes", async () => {
    expect(await (await fetch(`${base}/hello`)).text()).toBe('hello from the app');
    const health = await fetch(`${base}/ops/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toBe('application/health+json');
    const { value } = await waitFor(
      async () => {
        const response = await fetch(`${base}/ops/ready`);
        return {
          status: response.status,
          body: (await response.json()) as { status: string; checks?: Record<string, unknown[]> },
        };
      },
      (r) => r.status === 200,
      5000,
    );
    expect(value.body.status).toBe('pass');
    expect(Object.keys(value.body.checks ?? {}).sort()).toEqual(['cache:responseTime', 'queue:responseTime']);
    expect((await fetch(`${base}/ops/startup`)).status).toBe(200);
  });

  it('follows a custom check that starts failing and recovering', async () => {
    queueHealthy = false;
    try {
      const down = await waitFor(
        () => fetch(`${base}/ops/ready/queue`).then((r) => r.status),
        (s) => s === 503,
        5000,
      );
      expect(down.value).toBe(503);
      expect((await fetch(`${base}/ops/ready`)).status).toBe(503);
    } finally {
      queueHealthy = true;
    }
    await waitFor(
      () => fetch(`${base}/ops/ready`).then((r) => r.status),
      (s) => s === 200,
      5000,
    );
  });

  it('exposes the prom-client registry for the app to merge with its own', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^app_requests_total \d+$/m);
    expect(text).toMatch(/^vitals_check_up\{check="cache",kind="tcp",critical="true"\} 1$/m);
    expect(text).toMatch(/^vitals_check_info\{check="queue",kind="custom",critical="true",target=""\} 1$/m);
    expect(text).toMatch(
      /^vitals_check_info\{check="cache",kind="tcp",critical="true",target="127\.0\.0\.1:\d+"\} 1$/m,
    );
    // The mounted /ops/metrics is the same exposition.
    const mounted = await (await fetch(`${base}/ops/metrics`)).text();
    expect(mounted).toMatch(/^vitals_check_runs_total\{check="queue",kind="custom",critical="true"\} [1-9]\d*$/m);
  });

  it('addCheck refuses what would spin or misbehave with the exported ConfigError, naming the field', async () => {
    const other = await createVitals(
      { checks: [], defaults: { interval: '30s', timeout: '5s' } },
      { logger: (await import('../../src/log.js')).createLogger('silent') },
    );
    const attempt = (fields: Record<string, unknown>) => () => {
      other.addCheck({ name: 'jobs', run: async () => undefined, ...fields });
    };
    expect(attempt({ interval: Infinity })).toThrow(ConfigError);
    expect(attempt({ interval: 3e9 })).toThrow(
      'addCheck("jobs").interval: duration "3000000000ms" out of range (100ms to 1d)',
    );
    expect(attempt({ timeout: -1 })).toThrow(/addCheck\("jobs"\)\.timeout: expected a duration string/);
    other.addCheck({ name: 'jobs', run: async () => undefined });
    // The config's defaults apply: what an embedder can see of it is the timeout gauge.
    const timeouts = await other.registry.getSingleMetric('vitals_check_timeout_seconds')?.get();
    expect(timeouts?.values.find((v) => v.labels.check === 'jobs')?.value).toBe(5);
  });

  it("leaves unknown paths to the app (no vitals 404 inside someone else's app)", async () => {
    const response = await fetch(`${base}/nope`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('Not Found');
  });
});
