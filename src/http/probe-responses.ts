import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Monitor } from '../engine/monitor.js';
import type { Authorizer, CallerFacts } from '../security/authorizer.js';
import { checksMember, healthBody, type HealthBody } from './bodies.js';

export const HEALTH_JSON = 'application/health+json';

/** A whole answer, serialized once and written as it is to every caller that gets it. */
export interface PreparedResponse {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

export interface ProbeResponses {
  health(): PreparedResponse;
  ready(detailed: boolean): PreparedResponse;
  startup(): PreparedResponse;
  /** Per-check details for this caller? Address-only decisions are cached per address. */
  showsDetails(facts: CallerFacts): boolean;
  /** showsDetails for this request, unless the listener has denied it details (denyDetails). */
  detailsFor(request: IncomingMessage): boolean;
  /**
   * Answers GET/HEAD of exactly /health, /ready and /startup (no query string) from prepared
   * buffers, before any framework runs; false when the request is not one of those.
   */
  answer(request: IncomingMessage, response: ServerResponse): boolean;
}

export interface ProbeResponseDeps {
  readonly monitor: Monitor;
  readonly version: string;
  /** performance.now() at start, for /health uptime. */
  readonly startedAt: number;
  readonly authorizer: () => Authorizer;
}

const MAX_CACHED_ADDRESSES = 4096;

/** Requests the listener has refused details to (basic auth configured and not passed). */
const detailsDenied = new WeakSet<IncomingMessage>();

/**
 * Marks a request as one that gets no per-check details whatever `security` says: the
 * listener's basic auth covers the details of /ready and the caller has not passed it.
 */
export function denyDetails(request: IncomingMessage): void {
  detailsDenied.add(request);
}

function factsOf(request: IncomingMessage): CallerFacts {
  return {
    peer: request.socket.remoteAddress,
    forwardedFor: request.headers['x-forwarded-for'],
    authorization: request.headers.authorization,
  };
}

export function readyNotes(monitor: Monitor, unknownExcluded: readonly string[] = []): string[] {
  const notes: string[] = [];
  if (monitor.draining()) notes.push('draining: vitals is shutting down');
  if (unknownExcluded.length > 0) {
    const shown = unknownExcluded.slice(0, 10).map((name) => JSON.stringify(name.slice(0, 64)));
    notes.push(`unknown checks in exclude ignored: ${shown.join(', ')}${unknownExcluded.length > 10 ? ', ...' : ''}`);
  }
  return notes;
}

export function prepare(status: number, body: unknown): PreparedResponse {
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    status,
    headers: { 'content-type': HEALTH_JSON, 'content-length': bytes.length, 'cache-control': 'no-store' },
    body: bytes,
  };
}

/**
 * The probe answers, rebuilt only when something they show has changed (a check result, a
 * reload, draining; a new second of uptime for /health), so that a probe costs vitals no
 * more than a constant answer costs bare node:http.
 */
export function createProbeResponses(deps: ProbeResponseDeps): ProbeResponses {
  const { monitor, version } = deps;
  let dirty = true;
  let summary: PreparedResponse | undefined;
  let detailed: PreparedResponse | undefined;
  let startup: PreparedResponse | undefined;
  let health: PreparedResponse | undefined;
  let healthSecond = -1;
  let cachedFor: Authorizer | undefined;
  const detailsByAddress = new Map<string, boolean>();
  monitor.onChange(() => {
    dirty = true;
  });

  function rebuild(): void {
    if (!dirty) return;
    dirty = false;
    const verdict = monitor.readiness();
    const status = verdict === 'fail' ? 503 : 200;
    const notes = readyNotes(monitor);
    const base: HealthBody = { status: verdict, version };
    if (notes.length > 0) base.notes = notes;
    summary = prepare(status, base);
    detailed = prepare(status, { ...base, checks: checksMember(monitor.checks()) });
    const started = monitor.started();
    startup = prepare(
      started ? 200 : 503,
      started ? { status: 'pass', version } : { status: 'fail', version, notes: ['waiting for the first result of every check'] },
    );
  }

  function showsDetails(facts: CallerFacts): boolean {
    const authorizer = deps.authorizer();
    if (authorizer !== cachedFor) {
      cachedFor = authorizer;
      detailsByAddress.clear();
    }
    // Only a decision that depends on the peer alone may be cached; headers change it.
    if (facts.authorization !== undefined || facts.forwardedFor !== undefined || facts.peer === undefined) {
      return authorizer.showsDetails(facts);
    }
    let shows = detailsByAddress.get(facts.peer);
    if (shows === undefined) {
      shows = authorizer.showsDetails(facts);
      if (detailsByAddress.size >= MAX_CACHED_ADDRESSES) detailsByAddress.clear();
      detailsByAddress.set(facts.peer, shows);
    }
    return shows;
  }

  const responses: ProbeResponses = {
    health() {
      const uptime = (performance.now() - deps.startedAt) / 1000;
      const second = Math.floor(uptime);
      if (health === undefined || second !== healthSecond) {
        healthSecond = second;
        health = prepare(200, healthBody(version, uptime, Date.now()));
      }
      return health;
    },
    ready(withDetails) {
      rebuild();
      return (withDetails ? detailed : summary) as PreparedResponse;
    },
    startup() {
      rebuild();
      return startup as PreparedResponse;
    },
    showsDetails,
    detailsFor(request) {
      return !detailsDenied.has(request) && showsDetails(factsOf(request));
    },
    answer(request, response) {
      const { method, url } = request;
      if (method !== 'GET' && method !== 'HEAD') return false;
      // A client that asks for something other than health+json is negotiated by Koa.
      const accept = request.headers.accept;
      if (accept !== undefined && accept !== '*/*' && !accept.includes(HEALTH_JSON)) return false;
      let prepared: PreparedResponse;
      if (url === '/health') prepared = responses.health();
      else if (url === '/startup') prepared = responses.startup();
      else if (url === '/ready') prepared = responses.ready(responses.detailsFor(request));
      else return false;
      response.writeHead(prepared.status, prepared.headers);
      if (method === 'HEAD') response.end();
      else response.end(prepared.body);
      return true;
    },
  };
  return responses;
}
