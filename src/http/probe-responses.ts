import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Monitor } from '../engine/monitor.js';
import type { Authorizer, CallerFacts } from '../security/authorizer.js';
import { checksMember, healthBody, type HealthBody } from './bodies.js';
import type { RequestAccess } from './handler.js';
import { CONTENT_TYPE, HEALTH_JSON, matchRoute, negotiateJson, parseTarget } from './routes.js';

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
  /** showsDetails for this request, unless the listener has refused it details. */
  detailsFor(request: IncomingMessage, access: RequestAccess): boolean;
  /**
   * Answers GET/HEAD of /health, /startup and /ready without `exclude` from prepared buffers,
   * before any framework runs; false when the request is not one of those.
   */
  answer(request: IncomingMessage, response: ServerResponse, access: RequestAccess): boolean;
}

export interface ProbeResponseDeps {
  readonly monitor: Monitor;
  readonly version: string;
  /** performance.now() at start, for /health uptime. */
  readonly startedAt: number;
  readonly authorizer: () => Authorizer;
}

const MAX_CACHED_ADDRESSES = 4096;

function factsOf(request: IncomingMessage): CallerFacts {
  return {
    peer: request.socket.remoteAddress,
    forwardedFor: request.headers['x-forwarded-for'],
    authorization: request.headers.authorization,
    host: request.headers.host,
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

/** Writes a prepared answer in the JSON type the caller prefers; HEAD gets the headers only. */
export function writePrepared(request: IncomingMessage, response: ServerResponse, prepared: PreparedResponse): void {
  const type = negotiateJson(request.headers.accept);
  response.writeHead(
    prepared.status,
    type === HEALTH_JSON ? prepared.headers : { ...prepared.headers, 'content-type': CONTENT_TYPE[type] },
  );
  if (request.method === 'HEAD') response.end();
  else response.end(prepared.body);
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
      started
        ? { status: 'pass', version }
        : { status: 'fail', version, notes: ['waiting for the first result of every check'] },
    );
  }

  function showsDetails(facts: CallerFacts): boolean {
    const authorizer = deps.authorizer();
    if (authorizer !== cachedFor) {
      cachedFor = authorizer;
      detailsByAddress.clear();
    }
    // Only a decision that depends on the peer and the Host alone may be cached; other headers change it.
    if (facts.authorization !== undefined || facts.forwardedFor !== undefined || facts.peer === undefined) {
      return authorizer.showsDetails(facts);
    }
    const key = `${facts.peer} ${facts.host ?? ''}`;
    let shows = detailsByAddress.get(key);
    if (shows === undefined) {
      shows = authorizer.showsDetails(facts);
      if (detailsByAddress.size >= MAX_CACHED_ADDRESSES) detailsByAddress.clear();
      detailsByAddress.set(key, shows);
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
    detailsFor(request, access) {
      return access.detailsAllowed && showsDetails(factsOf(request));
    },
    answer(request, response, access) {
      const { method } = request;
      if (method !== 'GET' && method !== 'HEAD') return false;
      const target = parseTarget(request.url);
      const route = matchRoute(target.path)?.route.name;
      let prepared: PreparedResponse;
      if (route === 'health') prepared = responses.health();
      else if (route === 'startup') prepared = responses.startup();
      else if (route === 'ready' && !new URLSearchParams(target.query).has('exclude')) {
        prepared = responses.ready(responses.detailsFor(request, access));
      } else return false;
      writePrepared(request, response, prepared);
      return true;
    },
  };
  return responses;
}
