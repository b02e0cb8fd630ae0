/**
 * One-shot HTTP(S) requests for tests and for the benchmark's setup and polling (never for
 * load): a fresh connection unless an agent is given, headers sent exactly as given, the path
 * sent byte for byte, the whole answer read. For bytes node:http refuses to send (garbage
 * methods, bare CR, oversized lines), see raw-http.ts.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { TLSSocket, type PeerCertificate } from 'node:tls';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as received, alternating, in order. */
  readonly rawHeaders: readonly string[];
  readonly body: string;
  /** Over HTTPS: the certificate the server presented. */
  readonly peerCertificate?: PeerCertificate;
}

/** Given: the request goes over HTTPS with these client settings. */
export type TlsOptions = Pick<https.RequestOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Sent with its Content-Length. */
  readonly body?: string;
  /** Default 10 s; the request fails after it. */
  readonly timeoutMs?: number;
  /** Default false: a connection of its own, closed after the answer. */
  readonly agent?: http.Agent | false;
  /** The client's own address (all of 127.0.0.0/8 is loopback, so each is another peer). */
  readonly localAddress?: string;
  readonly tls?: TlsOptions;
}

/** One request to `host:port`; `path` goes on the wire as it is. */
export function request(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  const method = options.method ?? 'GET';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers =
    options.body === undefined
      ? options.headers
      : { 'content-length': String(Buffer.byteLength(options.body)), ...options.headers };
  const params: http.RequestOptions = {
    host: options.host ?? '127.0.0.1',
    port,
    path,
    method,
    headers,
    agent: options.agent ?? false,
    localAddress: options.localAddress,
  };
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage) => {
      const peerCertificate = res.socket instanceof TLSSocket ? res.socket.getPeerCertificate() : undefined;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const reply: Reply = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        resolve(peerCertificate === undefined ? reply : { ...reply, peerCertificate });
      });
    };
    const req =
      options.tls === undefined
        ? http.request(params, onResponse)
        : https.request({ ...params, ...options.tls }, onResponse);
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${String(timeoutMs)}ms`)));
    req.end(options.body);
  });
}

/** One request to an absolute http(s) URL; an https URL without `tls` uses the default trust. */
export function get(url: string | URL, options: Omit<RequestOptions, 'host'> = {}): Promise<Reply> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const port = target.port === '' ? (secure ? 443 : 80) : Number(target.port);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  return request(port, `${target.pathname}${target.search}`, {
    ...options,
    host,
    tls: options.tls ?? (secure ? {} : undefined),
  });
}

export function json(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.body) as Record<string, unknown>;
}

/**
 * Accept headers and the media type each gets: application/json only for a client that prefers
 * it; everyone else (kubelet sends any type, the star pair) application/health+json.
 */
export const ACCEPT_CASES: readonly (readonly [
  accept: string | undefined,
  type: 'application/health+json' | 'application/json',
])[] = [
  [undefined, 'application/health+json'],
  ['*/*', 'application/health+json'],
  ['application/health+json', 'application/health+json'],
  ['application/json', 'application/json'],
  ['application/json, */*;q=0.8', 'application/json'],
  ['application/json;q=0.5, application/health+json', 'application/health+json'],
  ['text/html', 'application/health+json'],
];

/** Headers node writes per connection and per second, whoever answers. */
const PER_CONNECTION = new Set(['date', 'connection', 'keep-alive']);

/**
 * What two answers to the same request must agree on: the per-connection headers left out, and
 * /health's uptime seconds and clock (which move between two requests) blanked.
 */
export function comparable(reply: Reply): Record<string, unknown> {
  let body: unknown = reply.body;
  if (reply.body !== '' && String(reply.headers['content-type']).includes('json')) {
    const parsed = JSON.parse(reply.body) as { checks?: { uptime?: { observedValue?: unknown; time?: unknown }[] } };
    for (const uptime of parsed.checks?.uptime ?? []) {
      uptime.observedValue = 'seconds';
      uptime.time = 'now';
    }
    body = parsed;
  }
  const headers = Object.fromEntries(Object.entries(reply.headers).filter(([name]) => !PER_CONNECTION.has(name)));
  return { status: reply.status, headers, body };
}
