import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import { RESPONSE_TIME, type CheckKind, type FailureReason, type RunRecorder, type UrlSpec } from '../types.js';
import { CheckFailure, errorCode } from './classify.js';
import { abortable } from './support/abort.js';
import {
  compileMatches,
  firstUnmet,
  jsonExpectationSchema,
  resolvePointer,
  type JsonExpectation,
} from './support/expectations.js';
import { compileRe2, re2Problem } from './support/re2.js';
import { nodeTlsOptions, recordPeerCertificates, tlsSchema, type TlsOptions } from './support/tls.js';
import { endpoint, parseUrl, urlString, type Endpoint } from './support/url.js';

const URL_SPEC: UrlSpec = { defaultPorts: { 'http:': 80, 'https:': 443 }, pathIsDatabase: false };
/** Redirects are followed at most this many times, then the run fails. */
const MAX_REDIRECTS = 5;
/** At most this much of the body is read (and matched against bodyRegex); the rest is dropped. */
const MAX_BODY_BYTES = 1024 * 1024;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
// RFC 9110 token, and a field value without CR, LF or NUL (Node would throw at request time).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;
/** Header names whose values are credentials: declared as secrets so that no output shows them. */
const CREDENTIAL_HEADER = /auth|token|key|secret|passw|cookie|session|credential/i;

const options = z
  .strictObject({
    url: urlString(URL_SPEC),
    /** Default GET. */
    method: z.enum(METHODS).default('GET'),
    /** Status codes counted as healthy. Default: any of 200-399. */
    expectStatus: z.array(z.int().min(100).max(599)).min(1).optional(),
    /** An RE2 regular expression the first MiB of the body must match (anywhere in it). */
    bodyRegex: z
      .string()
      .superRefine((source, ctx) => {
        const problem = re2Problem(source, 'bodyRegex');
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** Assertions on the JSON body, all of which must hold (RFC 6901 pointers, one operator each). */
    expectJson: jsonExpectationSchema.optional(),
    headers: z
      .record(
        z.string().regex(HEADER_NAME, 'not a valid header name'),
        z.string().regex(HEADER_VALUE, 'a header value must not contain a line break'),
      )
      .default({}),
    /** Default true; at most 5 redirects. */
    followRedirects: z.boolean().default(true),
    tls: tlsSchema.optional(),
  })
  .refine((o) => !(o.method === 'HEAD' && o.bodyRegex !== undefined), {
    message: 'bodyRegex needs a method that returns a body (HEAD does not)',
    path: ['bodyRegex'],
  })
  .refine((o) => !(o.method === 'HEAD' && o.expectJson !== undefined), {
    message: 'expectJson needs a method that returns a body (HEAD does not)',
    path: ['expectJson'],
  })
  .refine((o) => !(o.tls !== undefined && o.url.toLowerCase().startsWith('http:')), {
    message: 'tls options need an https:// URL',
    path: ['tls'],
  });
type HttpOptions = z.infer<typeof options>;

function parsed(text: string): Endpoint {
  return endpoint(text, URL_SPEC);
}

/** "200-399", "200, 204": the expected statuses, short. */
function describeStatuses(statuses: readonly number[] | undefined): string {
  if (statuses === undefined) return '200-399';
  const sorted = [...new Set(statuses)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = sorted[0];
  let end = start;
  for (const code of [...sorted.slice(1), undefined]) {
    if (code !== undefined && end !== undefined && code === end + 1) {
      end = code;
      continue;
    }
    if (start !== undefined && end !== undefined)
      parts.push(start === end ? String(start) : `${String(start)}-${String(end)}`);
    start = code;
    end = code;
  }
  return parts.join(', ');
}

function isExpected(status: number, expected: readonly number[] | undefined): boolean {
  return expected === undefined ? status >= 200 && status <= 399 : expected.includes(status);
}

function basicAuth(e: Endpoint): string | undefined {
  if (e.user === '' && e.password === '') return undefined;
  return `Basic ${Buffer.from(`${e.user}:${e.password}`).toString('base64')}`;
}

function secrets(o: HttpOptions): string[] {
  const e = parsed(o.url);
  const found: string[] = [];
  if (e.password !== '') found.push(e.password);
  const auth = basicAuth(e);
  if (auth !== undefined) found.push(auth, auth.slice('Basic '.length));
  for (const [name, value] of Object.entries(o.headers)) {
    if (!CREDENTIAL_HEADER.test(name) || value === '') continue;
    found.push(value);
    // "Bearer abc": the credential alone may be printed too.
    const credential = /^\S+\s+(\S.*)$/.exec(value)?.[1];
    if (credential !== undefined) found.push(credential);
  }
  return found;
}

function classify(error: unknown): FailureReason | undefined {
  const code = errorCode(error);
  if (code === undefined) return undefined;
  // llhttp's parse errors: a bad status line, bad headers, a body that is not what it claimed.
  if (code.startsWith('HPE_')) return 'protocol';
  // OpenSSL verification codes that classifyCommon's CERT test misses.
  if (code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code.startsWith('ERR_SSL') || code.includes('CERT'))
    return 'protocol';
  return undefined;
}

interface Exchange {
  readonly status: number;
  readonly location: string | undefined;
  readonly body: string;
}

/** TLS settings for one hop; serverName belongs to the configured host, not to a redirect's. */
function tlsFor(tls: TlsOptions | undefined, sameHost: boolean): https.RequestOptions {
  return tls === undefined ? {} : nodeTlsOptions(tls, { serverName: sameHost });
}

/**
 * One request on a fresh connection (`agent: false`: nothing pooled, nothing kept alive). The
 * body is read to its end, or up to MAX_BODY_BYTES, after which the response is dropped; it is
 * kept only when `keepBody`. On abort the request and its socket are destroyed.
 */
function exchange(
  target: Endpoint,
  method: string,
  headers: Record<string, string>,
  tls: https.RequestOptions,
  keepBody: boolean,
  signal: AbortSignal,
  recorder: RunRecorder,
): Promise<Exchange> {
  signal.throwIfAborted();
  const { url } = target;
  const transport = url.protocol === 'https:' ? https : http;
  const request = transport.request({
    protocol: url.protocol,
    hostname: target.host,
    port: target.port,
    path: `${url.pathname}${url.search}`,
    method,
    headers: { 'user-agent': 'vitals', ...headers, connection: 'close' },
    agent: false,
    ...tls,
  });
  request.once('socket', (socket) => {
    socket.once('connect', () => {
      recorder.phase('connect');
    });
    socket.once('secureConnect', () => {
      recorder.phase('tls');
      recordPeerCertificates(socket, recorder);
    });
  });
  let response: IncomingMessage | undefined;
  // Whatever ends the exchange, the connection goes with it (a no-op where Node already
  // destroyed it, and after 'end' it only frees the socket).
  const destroy = () => {
    request.destroy();
    response?.destroy();
  };
  const abort = abortable(signal, destroy);
  const exchanged = new Promise<Exchange>((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (res) => {
      recorder.phase('first_byte');
      response = res;
      res.on('error', reject);
      const chunks: Buffer[] = [];
      let size = 0;
      let finished = false;
      // Called again by 'end' after the size limit has already ended the body.
      const done = () => {
        if (finished) return;
        finished = true;
        recorder.phase('body');
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      };
      res.on('data', (chunk: Buffer) => {
        const room = MAX_BODY_BYTES - size;
        if (keepBody) chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        size += Math.min(chunk.length, room);
        // Past the limit the rest is not waited for.
        if (size >= MAX_BODY_BYTES) done();
      });
      res.on('end', done);
    });
    request.end();
  });
  return abort.race(exchanged).finally(() => {
    abort.dispose();
    destroy();
  });
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function redirectTarget(location: string, base: URL): Endpoint {
  let next: URL | string;
  try {
    next = parseUrl(new URL(location, base).href, URL_SPEC);
  } catch {
    next = 'not a valid URL';
  }
  if (typeof next === 'string') throw new CheckFailure(`redirect to an unusable location (${next})`, 'protocol');
  return endpoint(next.href, URL_SPEC);
}

/** Header names compare case-insensitively; these must not follow a redirect to another origin. */
function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADER.test(name)));
}

/** The first expectJson entry the body does not meet; a body that is not JSON meets none. */
function jsonProblem(entries: ReturnType<typeof compileMatches<JsonExpectation>>, body: string): string | undefined {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    const cut = body.length >= MAX_BODY_BYTES ? ' (or longer than 1 MiB)' : '';
    return `body is not valid JSON${cut}`;
  }
  for (const entry of entries) {
    const problem = firstUnmet([entry], resolvePointer(document, entry.path), `${entry.path || '(document)'} is`, {
      fromDatabase: false,
    });
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Requests `url` on a fresh connection, follows up to 5 redirects (credentials only to the
 * same origin, like curl and fetch), then checks the status and, when set, that the first MiB
 * of the body matches `bodyRegex`.
 */
export const httpCheck: CheckKind<HttpOptions> = {
  kind: 'http',
  componentType: 'component',
  observed: RESPONSE_TIME,
  url: URL_SPEC,
  speaksTls: true,
  // Blackbox's connect, tls, processing and transfer, named for what they time.
  phases: ['connect', 'tls', 'first_byte', 'body'],
  options,
  target: (o) => {
    const e = parsed(o.url);
    return `${e.url.protocol}//${e.url.hostname}:${String(e.port)}`;
  },
  secrets,
  classify,
  create: (o) => {
    const regex = o.bodyRegex !== undefined ? compileRe2(o.bodyRegex) : undefined;
    const json = o.expectJson === undefined ? undefined : compileMatches(o.expectJson);
    return async (signal, recorder) => {
      const first = parsed(o.url);
      const auth = basicAuth(first);
      let url = first;
      let method: string = o.method;
      let headers: Record<string, string> = { ...(auth !== undefined ? { authorization: auth } : {}), ...o.headers };
      for (let redirects = 0; ; redirects++) {
        const result = await exchange(
          url,
          method,
          headers,
          tlsFor(o.tls, url.url.host === first.url.host),
          regex !== undefined || json !== undefined,
          signal,
          recorder,
        );
        if (o.followRedirects && isRedirect(result.status) && result.location !== undefined) {
          if (redirects >= MAX_REDIRECTS) {
            throw new CheckFailure(`too many redirects (more than ${String(MAX_REDIRECTS)})`, 'error');
          }
          const next = redirectTarget(result.location, url.url);
          // 303, and 301/302 after a POST, turn into a GET, as browsers and curl do.
          if (result.status === 303 || ((result.status === 301 || result.status === 302) && method === 'POST')) {
            method = method === 'HEAD' ? 'HEAD' : 'GET';
          }
          if (next.url.origin !== url.url.origin) headers = withoutCredentials(headers);
          url = next;
          continue;
        }
        if (!isExpected(result.status, o.expectStatus)) {
          throw new CheckFailure(
            `unexpected status ${String(result.status)} (expected ${describeStatuses(o.expectStatus)})`,
            'assertion',
          );
        }
        if (regex !== undefined && !regex.test(result.body)) {
          const source = regex.pattern().length > 40 ? `${regex.pattern().slice(0, 40)}...` : regex.pattern();
          throw new CheckFailure(`body does not match /${source}/`, 'assertion');
        }
        if (json !== undefined) {
          const problem = jsonProblem(json, result.body);
          if (problem !== undefined) throw new CheckFailure(problem, 'assertion');
        }
        return undefined;
      }
    };
  },
};
