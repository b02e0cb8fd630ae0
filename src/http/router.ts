import type { IncomingHttpHeaders } from 'node:http';
import Router from '@koa/router';
import type { Context } from 'koa';
import type { History } from '../engine/history.js';
import type { Maintenance } from '../engine/maintenance.js';
import type { Monitor } from '../engine/monitor.js';
import { OPENMETRICS_CONTENT_TYPE, prefersOpenMetrics, TEXT_CONTENT_TYPE } from '../metrics/openmetrics.js';
import type { ExpositionChunks } from '../metrics/vitals-metrics.js';
import type { Prober } from '../probe/prober.js';
import type { Authorizer, CallerFacts } from '../security/authorizer.js';
import { checkEntry, checksMember, entryKey, type HealthBody } from './bodies.js';
import { accessOf } from './handler.js';
import { addMaintenanceRoutes } from './maintenance-routes.js';
import { answerProbesFirst } from './probes-first.js';
import { readyNotes, type PreparedResponse, type ProbeResponses } from './probe-responses.js';
import type { ReloadOutcome } from '../types.js';
import { CONTENT_TYPE, negotiateJson, ROUTES } from './routes.js';
import { checksHistoryBody, checksSummary } from './status-api.js';
import { sendStatusPage, setPageHeaders } from './status-page/page.js';

/** What the routes read. Everything is in memory: no route waits on a dependency. */
export interface RouteDeps {
  readonly monitor: Monitor;
  /** The /metrics body: text 0.0.4, or OpenMetrics when true. */
  readonly exposition: (openMetrics: boolean) => Promise<ExpositionChunks>;
  readonly version: string;
  /** performance.now() at start, for /health uptime. */
  readonly startedAt: number;
  readonly authorizer: () => Authorizer;
  readonly reload: () => Promise<ReloadOutcome>;
  readonly redact: (text: string) => string;
  readonly responses: ProbeResponses;
  /** Runs /probe's one-off probes (the `modules:` of the config). */
  readonly prober: Prober;
  /** Each check's recent runs and the recent transitions, for the status page. */
  readonly history: History;
  readonly maintenance: Maintenance;
}

export function callerFacts(ctx: Context): CallerFacts {
  return {
    peer: ctx.req.socket.remoteAddress,
    forwardedFor: ctx.req.headers['x-forwarded-for'],
    authorization: ctx.req.headers.authorization,
    host: ctx.req.headers.host,
  };
}

/**
 * Why a request comes from a page of another origin, or undefined. A browser sends Origin on
 * every POST and Sec-Fetch-Site on every request; curl and scripts send neither, and are let
 * through. `same-site` is refused too: another port of localhost, or a sibling subdomain, is
 * the same site but another origin (a dev server, another tool's page).
 */
export function crossOriginReason(headers: IncomingHttpHeaders): string | undefined {
  const origin = headers.origin;
  if (origin !== undefined && !sameAuthority(origin, headers.host)) {
    return `Origin ${origin.slice(0, 200)} is not this server`;
  }
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `Sec-Fetch-Site: ${site}`;
  return undefined;
}

/** Origin's host:port against the Host header, the default port of Origin's scheme filled in. */
function sameAuthority(origin: string, host: string | undefined): boolean {
  if (host === undefined || origin === 'null') return false;
  try {
    const own = new URL(origin);
    return own.host === new URL(`${own.protocol}//${host}`).host;
  } catch {
    return false;
  }
}

function jsonContentType(ctx: Context): string {
  return CONTENT_TYPE[negotiateJson(ctx.req.headers.accept)];
}

function sendJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Type', jsonContentType(ctx));
  ctx.body = JSON.stringify(body);
}

export function sendError(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.type = 'application/json';
  ctx.body = JSON.stringify({ status: 'fail', error: message });
}

function methodNotAllowed(allow: string) {
  return (ctx: Context) => {
    ctx.set('Allow', allow);
    sendError(ctx, 405, `method ${ctx.method} not allowed; use ${allow}`);
  };
}

export interface RouterOptions {
  /**
   * True in vitals' own app, where nothing runs after the routes: /metrics then writes its
   * chunks to the socket itself. In an embedding app its middleware may still read or wrap the
   * body (compression, ETags), so there /metrics hands Koa one Buffer.
   */
  readonly writesToSocket?: boolean;
}

/**
 * The chunks with one writev (the response is corked until end()), with the Content-Length Koa
 * would have set for them as one Buffer; a HEAD gets the same headers and no body, as from Koa.
 */
function writeChunks(ctx: Context, { chunks, length }: ExpositionChunks): void {
  ctx.respond = false;
  const response = ctx.res;
  if (!ctx.writable) {
    response.end();
    return;
  }
  ctx.length = length;
  if (ctx.method === 'HEAD') {
    response.end();
    return;
  }
  response.cork();
  for (const chunk of chunks) response.write(chunk);
  response.end();
}

/** The vitals routes as a @koa/router Router, for the standalone server or an embedding app. */
export function createVitalsRouter(deps: RouteDeps, options: RouterOptions = {}): Router {
  const { monitor, version, responses } = deps;
  const router = new Router();

  const sendPrepared = (ctx: Context, prepared: PreparedResponse) => {
    ctx.status = prepared.status;
    // Before the body: Koa then keeps it instead of setting its own type for the body.
    ctx.set('Content-Type', jsonContentType(ctx));
    ctx.body = prepared.body;
    ctx.set('Cache-Control', 'no-store');
  };

  router.get('/health', (ctx) => {
    sendPrepared(ctx, responses.health());
  });

  router.get('/ready', (ctx) => {
    const excluded = new Set(new URLSearchParams(ctx.querystring).getAll('exclude'));
    const detailed = responses.detailsFor(ctx.req, accessOf(ctx.state));
    if (excluded.size === 0) {
      sendPrepared(ctx, responses.ready(detailed));
      return;
    }
    const verdict = monitor.readiness(excluded);
    const body: HealthBody = { status: verdict, version };
    if (detailed) body.checks = checksMember(monitor.checks());
    const notes = readyNotes(
      monitor,
      [...excluded].filter((name) => monitor.get(name) === undefined),
    );
    if (notes.length > 0) body.notes = notes;
    sendJson(ctx, verdict === 'fail' ? 503 : 200, body);
  });

  router.get('/ready/:name', (ctx) => {
    const check = monitor.get(ctx.params.name ?? '');
    if (check === undefined) {
      sendError(ctx, 404, 'unknown check');
      return;
    }
    const ok = check.status === 'pass' || check.status === 'warn';
    const body: HealthBody = { status: ok ? check.status : 'fail', version };
    if (responses.detailsFor(ctx.req, accessOf(ctx.state))) body.checks = { [entryKey(check)]: [checkEntry(check)] };
    sendJson(ctx, ok ? 200 : 503, body);
  });

  router.get('/startup', (ctx) => {
    sendPrepared(ctx, responses.startup());
  });

  router.get('/metrics', async (ctx) => {
    const openMetrics = prefersOpenMetrics(ctx.get('Accept') || undefined);
    const body = await deps.exposition(openMetrics);
    ctx.status = 200;
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Type', openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE);
    if (options.writesToSocket === true) writeChunks(ctx, body);
    else ctx.body = Buffer.concat(body.chunks, body.length);
  });

  router.get('/probe', async (ctx) => {
    // Gated like /-/reload, not like details: `details: always` shows what vitals already
    // checks, while an open /probe would let anyone make vitals connect somewhere.
    const crossOrigin = crossOriginReason(ctx.req.headers);
    if (crossOrigin !== undefined) {
      sendError(ctx, 403, `cross-origin request refused: ${crossOrigin}`);
      return;
    }
    if (!accessOf(ctx.state).detailsAllowed || !deps.authorizer().isAuthorized(callerFacts(ctx))) {
      sendError(ctx, 403, '/probe is allowed for authorized callers only');
      return;
    }
    const answer = await deps.prober.probe({
      query: new URLSearchParams(ctx.querystring),
      scrapeTimeout: ctx.get('X-Prometheus-Scrape-Timeout-Seconds') || undefined,
      accept: ctx.get('Accept') || undefined,
    });
    ctx.status = answer.status;
    ctx.set('Cache-Control', 'no-store');
    if (answer.retryAfter !== undefined) ctx.set('Retry-After', answer.retryAfter);
    ctx.body = answer.body;
    // After the body: assigning a string body would otherwise set text/plain without a version.
    ctx.set('Content-Type', answer.contentType);
  });

  router.get('/', (ctx) => {
    sendStatusPage(ctx);
  });

  router.get('/api/v1/summary', (ctx) => {
    setPageHeaders(ctx);
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(checksSummary(monitor, version, responses.detailsFor(ctx.req, accessOf(ctx.state))));
  });

  router.get('/api/v1/checks', (ctx) => {
    setPageHeaders(ctx);
    if (!responses.detailsFor(ctx.req, accessOf(ctx.state))) {
      sendError(ctx, 403, 'per-check details are for authorized callers only');
      return;
    }
    // Not the IETF health format, so plain JSON whatever the Accept header.
    ctx.status = 200;
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(checksHistoryBody(monitor, deps.history, version, deps.maintenance));
  });

  router.post('/-/reload', async (ctx) => {
    const crossOrigin = crossOriginReason(ctx.req.headers);
    if (crossOrigin !== undefined) {
      sendError(ctx, 403, `cross-origin request refused: ${crossOrigin}`);
      return;
    }
    if (!deps.authorizer().isAuthorized(callerFacts(ctx))) {
      sendError(ctx, 403, 'reload is allowed for authorized callers only');
      return;
    }
    const outcome = await deps.reload();
    ctx.status = outcome.applied ? 200 : 400;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/json';
    ctx.body = JSON.stringify({ status: outcome.applied ? 'pass' : 'fail', ...outcome });
  });

  addMaintenanceRoutes(router, {
    monitor,
    maintenance: deps.maintenance,
    authorizer: deps.authorizer,
    callerFacts,
    crossOriginReason: (ctx) => crossOriginReason(ctx.req.headers),
    sendError,
  });

  // Registered after the handlers: @koa/router runs the first match, and GET/HEAD/POST above.
  for (const route of ROUTES) router.all(route.path, methodNotAllowed(route.methods));
  answerProbesFirst(
    router,
    {
      '/health': () => responses.health(),
      '/startup': () => responses.startup(),
      // ?exclude= (or any query) is left to the route above.
      '/ready': (ctx) =>
        ctx.querystring === '' ? responses.ready(responses.detailsFor(ctx.req, accessOf(ctx.state))) : undefined,
    },
    sendPrepared,
  );
  return router;
}
