import type Router from '@koa/router';
import type { Context } from 'koa';
import { maintenanceChecksSchema, maintenanceDuration } from '../config/maintenance.js';
import {
  TooManyWindowsError,
  type Maintenance,
  type MaintenanceRequest,
  type MaintenanceWindow,
} from '../engine/maintenance.js';
import type { Monitor } from '../engine/monitor.js';
import type { Authorizer, CallerFacts } from '../security/authorizer.js';

/** A window request is a few names and two strings; anything larger is not one. */
export const MAX_MAINTENANCE_BODY = 16 * 1024;
const MAX_REASON = 200;

export interface MaintenanceRouteDeps {
  readonly monitor: Monitor;
  readonly maintenance: Maintenance;
  readonly authorizer: () => Authorizer;
  readonly callerFacts: (ctx: Context) => CallerFacts;
  readonly crossOriginReason: (ctx: Context) => string | undefined;
  readonly sendError: (ctx: Context, status: number, message: string) => void;
}

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The window as the routes show it: times as ISO 8601, UTC. */
export function windowBody(window: MaintenanceWindow) {
  return {
    id: window.id,
    checks: window.checks,
    start: new Date(window.start).toISOString(),
    end: new Date(window.end).toISOString(),
    reason: window.reason,
    source: window.source,
  };
}

async function readBody(ctx: Context): Promise<string> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > MAX_MAINTENANCE_BODY) throw new BadRequest(413, `body: at most ${String(MAX_MAINTENANCE_BODY)} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MAINTENANCE_BODY) throw new BadRequest(413, `body: at most ${String(MAX_MAINTENANCE_BODY)} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The request, or a BadRequest naming the field. */
export function parseWindowRequest(text: string, known: (name: string) => boolean): MaintenanceRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest(400, 'body: not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequest(400, 'body: expected an object with checks, duration and reason');
  }
  const { checks, duration, reason, ...rest } = body as Record<string, unknown>;
  const unknownKey = Object.keys(rest)[0];
  if (unknownKey !== undefined) throw new BadRequest(400, `${unknownKey.slice(0, 40)}: unknown field`);
  const parsedChecks = maintenanceChecksSchema.safeParse(checks);
  if (!parsedChecks.success) throw new BadRequest(400, 'checks: a list of check names, or "all"');
  if (parsedChecks.data !== 'all') {
    const missing = parsedChecks.data.find((name) => !known(name));
    if (missing !== undefined)
      throw new BadRequest(400, `checks: unknown check ${JSON.stringify(missing.slice(0, 64))}`);
  }
  if (typeof duration !== 'string') throw new BadRequest(400, 'duration: a duration like "30m" is required');
  const durationMs = maintenanceDuration(duration);
  if (typeof durationMs === 'string') throw new BadRequest(400, `duration: ${durationMs}`);
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON)) {
    throw new BadRequest(400, `reason: a string of at most ${String(MAX_REASON)} characters`);
  }
  return { checks: parsedChecks.data, durationMs, reason: reason ?? 'maintenance' };
}

/** POST, GET /-/maintenance and DELETE /-/maintenance/ID: for authorized callers, like /-/reload. */
export function addMaintenanceRoutes(router: Router, deps: MaintenanceRouteDeps): void {
  const { maintenance, monitor, sendError } = deps;

  /** Refuses the request (and answers it) unless the caller may manage windows. */
  const refused = (ctx: Context): boolean => {
    const crossOrigin = deps.crossOriginReason(ctx);
    if (crossOrigin !== undefined) {
      sendError(ctx, 403, `cross-origin request refused: ${crossOrigin}`);
      return true;
    }
    if (!deps.authorizer().isAuthorized(deps.callerFacts(ctx))) {
      sendError(ctx, 403, 'maintenance is allowed for authorized callers only');
      return true;
    }
    return false;
  };
  const sendJson = (ctx: Context, status: number, body: unknown) => {
    ctx.status = status;
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/json';
    ctx.body = JSON.stringify(body);
  };

  router.get('/-/maintenance', (ctx) => {
    if (refused(ctx)) return;
    sendJson(ctx, 200, { windows: maintenance.active().map(windowBody) });
  });

  router.post('/-/maintenance', async (ctx) => {
    if (refused(ctx)) return;
    let request: MaintenanceRequest;
    try {
      request = parseWindowRequest(await readBody(ctx), (name) => monitor.get(name) !== undefined);
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      sendError(ctx, error.status, error.message);
      return;
    }
    try {
      sendJson(ctx, 201, windowBody(maintenance.open(request)));
    } catch (error) {
      if (!(error instanceof TooManyWindowsError)) throw error;
      sendError(ctx, 429, error.message);
    }
  });

  router.delete('/-/maintenance/:id', (ctx) => {
    if (refused(ctx)) return;
    if (!maintenance.close(ctx.params.id ?? '')) {
      sendError(ctx, 404, 'unknown maintenance window');
      return;
    }
    ctx.status = 204;
    ctx.set('Cache-Control', 'no-store');
  });
}
