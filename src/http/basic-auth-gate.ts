/**
 * What a request on the main listener goes through before vitals' routes see it, when a web
 * config is in force: its extra headers, its rate limit, then its basic auth. Probe routes
 * skip the last two (unless probesWithoutAuth is off): a kubelet carries no password, and a
 * burst of scrapes must not fail the liveness probe. Only /ready's details need credentials.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBasicAuth, hasBasicAuthorization, type BasicAuth } from './basic-auth.js';
import { FULL_ACCESS, NO_DETAILS, type VitalsRequestHandler } from './handler.js';
import { sendJson } from './listener-socket.js';
import { TokenBucket } from './rate-limit.js';
import { matchRoute, parseTarget } from './routes.js';
import type { WebConfig } from './web-config.js';

/** The part of a web config that requests see; rebuilt whole when a re-read applies. */
export interface Guard {
  readonly config: WebConfig;
  readonly headers: readonly (readonly [string, string])[];
  readonly auth: BasicAuth | undefined;
  readonly bucket: TokenBucket | undefined;
}

/**
 * `previous`: the guard in force. Its bucket is kept when the rate limit is unchanged, so that
 * a re-read (a rotated certificate) does not hand out a fresh burst.
 */
export function guardOf(config: WebConfig | undefined, previous?: Guard): Guard | undefined {
  if (config === undefined) return undefined;
  const limit = config.rateLimit;
  const kept = previous?.bucket;
  const bucket =
    limit === undefined
      ? undefined
      : kept?.intervalMs === limit.intervalMs && kept.burst === limit.burst
        ? kept
        : new TokenBucket(limit.intervalMs, limit.burst);
  return {
    config,
    headers: config.headers,
    auth: config.users.size > 0 ? createBasicAuth(config.users) : undefined,
    bucket,
  };
}

function unauthorized(request: IncomingMessage, response: ServerResponse): void {
  sendJson(
    request,
    response,
    401,
    { status: 'fail', error: 'authentication required' },
    { 'www-authenticate': 'Basic realm="vitals"' },
  );
}

function tooManyRequests(request: IncomingMessage, response: ServerResponse, bucket: TokenBucket): void {
  const waitMs = bucket.waitMs();
  // With a burst of 0 no request ever gets through; the interval is still the honest pace to retry at.
  const seconds = Math.max(1, Math.ceil((Number.isFinite(waitMs) ? waitMs : bucket.intervalMs) / 1000));
  sendJson(request, response, 429, { status: 'fail', error: 'too many requests' }, { 'retry-after': String(seconds) });
}

export type GatedHandler = (guard: Guard | undefined, request: IncomingMessage, response: ServerResponse) => void;

export function createGate(handle: VitalsRequestHandler, probesWithoutAuth: () => boolean): GatedHandler {
  const serve = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response, FULL_ACCESS);
  };
  const serveWithoutDetails = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response, NO_DETAILS);
  };

  /** Serves the request as `ok` says, after a comparison; a failed one counts as wrong credentials. */
  function afterVerify(auth: BasicAuth, request: IncomingMessage, then: (ok: boolean) => void): void {
    void auth.verify(request.headers.authorization, request.socket.remoteAddress).then(then, () => {
      then(false);
    });
  }

  return (guard, request, response) => {
    if (guard === undefined) {
      serve(request, response);
      return;
    }
    for (const [name, value] of guard.headers) response.setHeader(name, value);
    const route = matchRoute(parseTarget(request.url).path)?.route;
    const exempt = route?.probe === true && probesWithoutAuth();
    const { auth, bucket } = guard;
    // Before basic auth: a request over the limit costs no bcrypt comparison.
    if (bucket !== undefined && !exempt && !bucket.take()) {
      tooManyRequests(request, response, bucket);
      return;
    }
    if (auth === undefined) {
      serve(request, response);
      return;
    }
    const authorization = request.headers.authorization;
    if (exempt) {
      if (route.name !== 'ready' && route.name !== 'ready-check') {
        serve(request, response);
        return;
      }
      if (!hasBasicAuthorization(authorization)) {
        serveWithoutDetails(request, response);
        return;
      }
      // Wrong credentials on a probe route still get the probe's answer, without details:
      // a load balancer with a stale password must not take the service out.
      afterVerify(auth, request, (ok) => {
        (ok ? serve : serveWithoutDetails)(request, response);
      });
      return;
    }
    if (!hasBasicAuthorization(authorization)) {
      unauthorized(request, response);
      return;
    }
    afterVerify(auth, request, (ok) => {
      if (ok) serve(request, response);
      else unauthorized(request, response);
    });
  };
}
