import Negotiator from 'negotiator';

/**
 * The one table of vitals' routes. The probe fast path, the Koa router and the listeners (basic
 * auth, the probe port) all ask it, so that a path means the same thing whichever of them answers.
 */
export const ROUTES = [
  { name: 'health', path: '/health', methods: 'GET, HEAD', probe: true },
  { name: 'ready', path: '/ready', methods: 'GET, HEAD', probe: true },
  { name: 'ready-check', path: '/ready/:name', methods: 'GET, HEAD', probe: true },
  { name: 'startup', path: '/startup', methods: 'GET, HEAD', probe: true },
  { name: 'metrics', path: '/metrics', methods: 'GET, HEAD', probe: false },
  { name: 'probe', path: '/probe', methods: 'GET, HEAD', probe: false },
  { name: 'landing', path: '/', methods: 'GET, HEAD', probe: false },
  { name: 'summary-api', path: '/api/v1/summary', methods: 'GET, HEAD', probe: false },
  { name: 'checks-api', path: '/api/v1/checks', methods: 'GET, HEAD', probe: false },
  { name: 'reload', path: '/-/reload', methods: 'POST', probe: false },
  { name: 'maintenance', path: '/-/maintenance', methods: 'GET, HEAD, POST', probe: false },
  { name: 'maintenance-window', path: '/-/maintenance/:id', methods: 'DELETE', probe: false },
] as const;

export type RouteName = (typeof ROUTES)[number]['name'];
export type Route = (typeof ROUTES)[number];

export interface RequestTarget {
  /** The path, without the query string; an absolute-form target (`GET http://host/x`) is reduced to it. */
  readonly path: string;
  /** The query string without its `?`; '' when there is none. */
  readonly query: string;
}

export interface RouteMatch {
  readonly route: Route;
  /** The NAME of /ready/NAME, percent-decoded. */
  readonly checkName?: string;
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/** Splits a request target as node gives it (`request.url`) into path and query. */
export function parseTarget(url: string | undefined): RequestTarget {
  let target = url ?? '/';
  // RFC 9112 §3.2.2: a server must accept the absolute form, and it names the same resource.
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute !== null) target = target.slice(absolute[0].length) || '/';
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  const question = target.indexOf('?');
  return question === -1
    ? { path: target, query: '' }
    : { path: target.slice(0, question), query: target.slice(question + 1) };
}

const BY_PATH = new Map<string, Route>(ROUTES.filter((r) => !r.path.includes(':')).map((r) => [r.path, r]));
const READY_CHECK = ROUTES.find((r) => r.name === 'ready-check') as Route;

/** The route a path names (one trailing slash allowed, as @koa/router allows it), or undefined. */
export function matchRoute(path: string): RouteMatch | undefined {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const route = BY_PATH.get(trimmed);
  if (route !== undefined) return { route };
  const check = /^\/ready\/([^/]+)$/.exec(trimmed);
  if (check?.[1] === undefined) return undefined;
  let checkName: string;
  try {
    checkName = decodeURIComponent(check[1]);
  } catch {
    checkName = check[1];
  }
  return { route: READY_CHECK, checkName };
}

/** Whether a request target names one of the probe routes: /health, /ready, /ready/NAME, /startup. */
export function isProbeTarget(url: string | undefined): boolean {
  return matchRoute(parseTarget(url).path)?.route.probe === true;
}

export const HEALTH_JSON = 'application/health+json';
export const PLAIN_JSON = 'application/json';
export type JsonType = typeof HEALTH_JSON | typeof PLAIN_JSON;
/** The Content-Type header for each: Koa writes plain JSON with its charset, and so does the fast path. */
export const CONTENT_TYPE: Readonly<Record<JsonType, string>> = {
  [HEALTH_JSON]: HEALTH_JSON,
  [PLAIN_JSON]: 'application/json; charset=utf-8',
};

const MAX_CACHED_ACCEPTS = 256;
const negotiated = new Map<string, JsonType>();

/**
 * The JSON type for an Accept header: application/health+json unless the client prefers plain
 * application/json (q-values count). Koa's ctx.accepts() uses this same negotiator package; the
 * answers are cached because load balancers send the same header on every probe.
 */
export function negotiateJson(accept: string | undefined): JsonType {
  if (accept === undefined || accept === '*/*' || accept === '') return HEALTH_JSON;
  let type = negotiated.get(accept);
  if (type === undefined) {
    const preferred = new Negotiator({ headers: { accept } }).mediaType([HEALTH_JSON, PLAIN_JSON]);
    type = preferred === PLAIN_JSON ? PLAIN_JSON : HEALTH_JSON;
    if (negotiated.size >= MAX_CACHED_ACCEPTS) negotiated.clear();
    negotiated.set(accept, type);
  }
  return type;
}
