/**
 * What a request on the main listener goes through before vitals' routes see it, when a web
 * config is in force: its extra headers, then its basic auth. Probe routes answer without
 * credentials (unless probesWithoutAuth is off); only /ready's details need them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBasicAuth, hasBasicAuthorization, type BasicAuth } from './basic-auth.js';
import { FULL_ACCESS, NO_DETAILS, type VitalsRequestHandler } from './handler.js';
import { sendJson } from './listener-socket.js';
import { matchRoute, parseTarget } from './routes.js';
import type { WebConfig } from './web-config.js';

/** The part of a web config that requests see; rebuilt whole when a re-read applies. */
export interface Guard {
  readonly config: WebConfig;
  readonly headers: readonly (readonly [string, string])[];
  readonly auth: BasicAuth | undefined;
}

export function guardOf(config: WebConfig | undefined): Guard | undefined {
  if (config === undefined) return undefined;
  return { config, headers: config.headers, auth: config.users.size > 0 ? createBasicAuth(config.users) : undefined };
}

function unauthorized(request: IncomingMessage, response: ServerResponse): void {
  sendJson(request, response, 401, { status: 'fail', error: 'authentication required' }, { 'www-authenticate': 'Basic realm="vitals"' });
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
    const { auth } = guard;
    if (auth === undefined) {
      serve(request, response);
      return;
    }
    const authorization = request.headers.authorization;
    const route = matchRoute(parseTarget(request.url).path)?.route;
    if (route?.probe === true && probesWithoutAuth()) {
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
