import type { IncomingMessage, ServerResponse } from 'node:http';
import type Koa from 'koa';
import type { ProbeResponses } from './probe-responses.js';

/** What the listener decided about a request before vitals' routes see it. */
export interface RequestAccess {
  /**
   * False when the listener's basic auth covers per-check details and this request has not
   * passed it: the answer then carries no details, whatever `security` says.
   */
  readonly detailsAllowed: boolean;
}

export const FULL_ACCESS: RequestAccess = { detailsAllowed: true };
export const NO_DETAILS: RequestAccess = { detailsAllowed: false };

/** Serves one request of vitals' routes, with the listener's decision about it. */
export type VitalsRequestHandler = (request: IncomingMessage, response: ServerResponse, access: RequestAccess) => void;

/** The Koa state key under which the routes find the listener's decision (absent when embedded). */
export const ACCESS_STATE = 'vitalsAccess';

export function accessOf(state: Record<string, unknown>): RequestAccess {
  return (state[ACCESS_STATE] as RequestAccess | undefined) ?? FULL_ACCESS;
}

/**
 * Probes are answered from prepared buffers before any framework runs (terminus and lightship
 * answer the same way); everything else goes to Koa. `createApp(access)` builds one app per
 * decision, so the decision travels in Koa's own state instead of on the request object.
 */
export function createRequestHandler(
  responses: ProbeResponses,
  createApp: (access: RequestAccess) => Koa,
): VitalsRequestHandler {
  const full = createApp(FULL_ACCESS).callback();
  const noDetails = createApp(NO_DETAILS).callback();
  return (request, response, access) => {
    if (responses.answer(request, response, access)) return;
    void (access.detailsAllowed ? full : noDetails)(request, response);
  };
}
