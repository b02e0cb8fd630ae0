/**
 * `vitals.router().routes()` answers the probe paths before @koa/router's layers run. An app's
 * own middleware around it must see what it saw from the layers: the answer, and the routing
 * state @koa/router leaves on ctx (a metrics or logging middleware reads `_matchedRoute`,
 * `routerPath`, `matched`). The same router's plain layers (`Router.prototype.middleware`) are the
 * reference.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router, { type RouterContext } from '@koa/router';
import Koa from 'koa';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { comparable, request } from '../support/http.js';
import { controlled, startVitals, type RunningVitals } from '../support/vitals.js';
import { waitUntil } from '../support/wait.js';

type RoutesMiddleware = ReturnType<Router['routes']>;

/** What the app's outer middleware saw after the routes ran. */
interface Seen {
  readonly status: number;
  readonly bodyIsBuffer: boolean;
  readonly matched: readonly string[] | undefined;
  readonly matchedRoute: unknown;
  readonly routerPath: unknown;
  readonly routerName: unknown;
  readonly hasRouterName: boolean;
  readonly params: unknown;
  readonly captures: unknown;
  readonly routeMatched: unknown;
  readonly router: boolean;
}

/** The prefix stripped from ctx.path around the routes, as koa-mount does it. */
function mount(prefix: string, middleware: RoutesMiddleware): RoutesMiddleware {
  return async (ctx, next) => {
    const path = ctx.path;
    if (path !== prefix && !path.startsWith(`${prefix}/`)) {
      await next();
      return;
    }
    ctx.path = path.slice(prefix.length) || '/';
    try {
      await middleware(ctx, next);
    } finally {
      ctx.path = path;
    }
  };
}

async function serve(
  routes: RoutesMiddleware,
  router: Router,
  seen: Seen[],
): Promise<{ server: Server; port: number }> {
  const app = new Koa();
  app.use(async (koaCtx, next) => {
    koaCtx.set('X-App', 'outer');
    await next();
    const ctx = koaCtx as unknown as RouterContext;
    seen.push({
      status: ctx.status,
      bodyIsBuffer: Buffer.isBuffer(ctx.body),
      matched: ctx.matched?.map((layer) => `${layer.methods.join(',')} ${String(layer.path)}`),
      matchedRoute: ctx._matchedRoute,
      routerPath: ctx.routerPath,
      routerName: ctx.routerName,
      hasRouterName: 'routerName' in ctx,
      params: ctx.params,
      captures: ctx.captures,
      routeMatched: ctx.routeMatched,
      router: ctx.router === router,
    });
  });
  app.use(routes);
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = 'not an app route';
  });
  const handle = app.callback();
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const ANSWERED_FIRST = ['/health', '/health/', '/ready', '/ready/', '/startup', '/startup/'];
const LEFT_TO_THE_LAYERS = ['/ready?x=1', '/ready?exclude=steady', '/HEALTH', '/ready/steady', '/nope', '/ready/nope'];

describe('the embedded router answers the probe paths first, as its layers would', () => {
  let s: RunningVitals;
  const servers: Server[] = [];

  beforeAll(async () => {
    s = await startVitals({ checks: [] }, [
      { name: 'steady', critical: true, interval: 60_000, timeout: 30_000, run: controlled('pass').run },
    ]);
    await waitUntil(() => s.monitor.started(), 5000, 'first results');
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  afterAll(async () => {
    await s.close();
  });

  it('the same answer, headers set by the app and routing state; @koa/router matches nothing for a probe', async () => {
    const router = s.vitals.router();
    const firstSeen: Seen[] = [];
    const layersSeen: Seen[] = [];
    const first = await serve(router.routes(), router, firstSeen);
    const layers = await serve(Router.prototype.middleware.call(router), router, layersSeen);
    servers.push(first.server, layers.server);
    const match = vi.spyOn(router, 'match');

    for (const path of [...ANSWERED_FIRST, ...LEFT_TO_THE_LAYERS]) {
      for (const method of ['GET', 'HEAD', 'POST']) {
        for (const accept of [undefined, 'application/json']) {
          const headers: Record<string, string> = accept === undefined ? {} : { Accept: accept };
          const what = `${method} ${path} Accept: ${String(accept)}`;
          match.mockClear();
          const fromFirst = comparable(await request(first.port, path, { method, headers }));
          const matches = match.mock.calls.length;
          const fromLayers = comparable(await request(layers.port, path, { method, headers }));
          expect(fromFirst, what).toStrictEqual(fromLayers);
          expect(firstSeen.at(-1), what).toStrictEqual(layersSeen.at(-1));
          expect((fromFirst.headers as Record<string, string>)['x-app'], what).toBe('outer');
          const shortcut = method !== 'POST' && ANSWERED_FIRST.includes(path);
          expect(matches, `${what}: @koa/router's match() calls`).toBe(shortcut ? 0 : 1);
        }
      }
    }
    // The shortcut was taken and left what the layers leave, on the route's own layers.
    const health = firstSeen.find((seen) => seen.routerPath === '/health' && seen.status === 200);
    expect(health?.matched?.map((layer) => layer.split(' ')[1])).toStrictEqual(['/health', '/health']);
    expect(health?.matched?.[0]).toBe('HEAD,GET /health');
  });

  it('serves under a prefix stripped from ctx.path (koa-mount), without @koa/router matching', async () => {
    const router = s.vitals.router();
    const mounted = await serve(mount('/ops', router.routes()), router, []);
    servers.push(mounted.server);
    const match = vi.spyOn(router, 'match');
    const health = await request(mounted.port, '/ops/health');
    expect(health.status).toBe(200);
    expect(health.headers['content-type']).toBe('application/health+json');
    expect(health.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(health.body)).toMatchObject({ status: 'pass' });
    const ready = await request(mounted.port, '/ops/ready', { headers: { Accept: 'application/json' } });
    expect(ready.status).toBe(200);
    expect(ready.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'pass', checks: { 'steady:responseTime': [{}] } });
    expect(match).not.toHaveBeenCalled();
    expect((await request(mounted.port, '/health')).body).toBe('not an app route');
  });

  it('steps aside once the router is changed: a prefix set afterwards is honoured', async () => {
    const router = s.vitals.router();
    const routes = router.routes();
    router.prefix('/ops');
    const served = await serve(routes, router, []);
    servers.push(served.server);
    expect((await request(served.port, '/health')).body).toBe('not an app route');
    expect((await request(served.port, '/ops/health')).status).toBe(200);
  });
});
