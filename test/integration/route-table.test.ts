/**
 * One request, one answer: the standalone server (probe fast path, then Koa) and the embedded
 * router (plain in a separate Koa app, and nested under a prefix) must answer every probe path
 * variant identically, since a load balancer or kubelet may be pointed at either.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/wait.js';
import type { CustomCheck } from '../../src/engine/monitor.js';
import { controlled, startVitals, type Behaviour, type RunningVitals } from '../support/vitals.js';
import { comparable, request } from '../support/http.js';

const PATHS = [
  '/health',
  '/health/',
  '/health?x=1',
  '/ready',
  '/ready/',
  '/ready?x=1',
  '/ready?exclude=nope',
  '/ready/steady',
  '/ready/steady/',
  '/ready/%73teady',
  '/startup',
  '/startup/',
  '/ready/nope',
  'http://127.0.0.1/health',
  'http://127.0.0.1/ready?x=1',
  'http://127.0.0.1/startup/',
  '/HEALTH',
  '/Ready',
  '/ready?exclude=',
  '/ready?exclude=steady',
  '/ready?EXCLUDE=steady',
  '/ready/steady?x=1',
];
const METHODS = ['GET', 'HEAD'];
const ACCEPTS: (string | undefined)[] = [
  undefined,
  '*/*',
  'application/json',
  'application/health+json;q=0.1, application/json',
  'text/html',
];

async function serveKoa(app: Koa): Promise<{ server: Server; port: number }> {
  const handle = app.callback();
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** The same target under a mount prefix; an absolute-form target keeps its scheme and host. */
function under(prefix: string, path: string): string {
  const absolute = /^http:\/\/[^/]+/.exec(path);
  return absolute === null ? `${prefix}${path}` : `${absolute[0]}${prefix}${path.slice(absolute[0].length)}`;
}

interface Scenario {
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly gate?: Behaviour;
  readonly drain?: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'every check passes', config: { checks: [] } },
  { name: 'a critical check has no result yet', config: { checks: [] }, gate: 'hold' },
  { name: 'a critical check fails', config: { checks: [] }, gate: { throw: new Error('down for the test') } },
  { name: 'draining', config: { checks: [] }, drain: true },
  {
    name: 'the caller is not authorized for details',
    config: { checks: [], security: { allow: ['10.0.0.0/8'] } },
    gate: { warn: 'slow' },
  },
];

describe.each(SCENARIOS)('every probe path variant answers the same standalone and embedded: $name', (scenario) => {
  let s: RunningVitals;
  const servers: Server[] = [];
  let plainPort: number;
  let prefixedPort: number;

  beforeAll(async () => {
    // Long intervals: no check runs again while the table is sent, so every answer is comparable.
    const checks: CustomCheck[] = [
      { name: 'steady', critical: true, interval: 60_000, timeout: 30_000, run: controlled('pass').run },
    ];
    if (scenario.gate !== undefined)
      checks.push({
        name: 'gate',
        critical: true,
        interval: 60_000,
        timeout: 30_000,
        run: controlled(scenario.gate).run,
      });
    s = await startVitals(scenario.config, checks);
    const settled = scenario.gate === 'hold' ? 1 : checks.length;
    await waitUntil(
      () => s.monitor.checks().filter((check) => check.last !== undefined).length === settled,
      5000,
      'first results',
    );
    if (scenario.drain === true) s.drain();

    const plain = new Koa();
    plain.use(s.vitals.router().routes());
    const plainServed = await serveKoa(plain);
    servers.push(plainServed.server);
    plainPort = plainServed.port;

    const prefixed = new Koa();
    const outer = new Router();
    outer.use('/ops', s.vitals.router().routes());
    prefixed.use(outer.routes());
    const prefixedServed = await serveKoa(prefixed);
    servers.push(prefixedServed.server);
    prefixedPort = prefixedServed.port;
  });

  afterAll(async () => {
    await s.close();
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  const cases = PATHS.flatMap((path) =>
    METHODS.flatMap((method) => ACCEPTS.map((accept) => ({ path, method, accept }))),
  );

  it.each(PATHS)('%s, GET and HEAD, every Accept', async (path) => {
    for (const { method, accept } of cases.filter((c) => c.path === path)) {
      const headers: Record<string, string> = accept === undefined ? {} : { Accept: accept };
      const what = `${method} ${path} Accept: ${String(accept)}`;
      const standalone = comparable(await s.get(path, { method, headers }));
      const embedded = comparable(await request(plainPort, path, { method, headers }));
      const mounted = comparable(await request(prefixedPort, under('/ops', path), { method, headers }));
      expect(standalone.status, what).toBeOneOf(path === '/ready/nope' ? [404] : [200, 503]);
      expect(embedded, `${what}, embedded in a separate Koa app`).toStrictEqual(standalone);
      expect(mounted, `${what}, nested under /ops`).toStrictEqual(standalone);
    }
  });
});
