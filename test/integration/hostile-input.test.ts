/**
 * Issue 4, hostile input: property-based requests (fast-check) against the real app on a real
 * socket. Whatever the method, path, query string and headers: never a 5xx other than a
 * readiness verdict, never a crash, never per-check details for an unauthorized caller. Then
 * malformed requests over raw sockets, and the authorization rules (tokens, X-Forwarded-For).
 *
 * The test's own caller (127.0.0.1) is unauthorized by config: `allow` is 10.0.0.0/8 and the
 * token is never sent, except by the positive controls.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlled, startVitals, type RunningVitals } from '../support/vitals.js';
import { json, request } from '../support/http.js';
import { rawRequest, type RawResponse } from '../support/raw-http.js';

const TOKEN = randomBytes(24).toString('base64url');
/** The failing check's output: shown only with details. */
const FAILURE_OUTPUT = 'db-host-7 refused the connection';
const ROUTE_NAMES = ['', 'health', 'ready', 'startup', 'metrics', '-', 'reload', 'good', 'bad', 'nope'];

let vitals: RunningVitals;

beforeAll(async () => {
  const good = controlled('pass');
  const bad = controlled({ throw: new Error(FAILURE_OUTPUT) });
  vitals = await startVitals({ security: { allow: ['10.0.0.0/8'], token: TOKEN } }, [
    { name: 'good', interval: 1000, timeout: 500, run: good.run },
    // Not critical: /ready answers 200 (warn), /ready/bad 503.
    { name: 'bad', critical: false, interval: 1000, timeout: 500, run: bad.run },
  ]);
  await new Promise((resolve) => setTimeout(resolve, 100));
  // Positive control: the token does show details, so their absence below means something.
  const authorized = await vitals.get('/ready', { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(authorized.body).toContain('componentId');
  expect(authorized.body).toContain(FAILURE_OUTPUT);
});

afterAll(async () => {
  await vitals.close();
});

/** A 503 is fine only as a readiness verdict (`{"status":"fail","version":…}`), never as an error. */
function isVerdict503(body: string, head: boolean): boolean {
  if (head) return true; // no body to look at; the status alone was checked against the route below
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    return parsed.status === 'fail' && typeof parsed.version === 'string' && !('error' in parsed);
  } catch {
    return false;
  }
}

function expectSafe(response: RawResponse, head: boolean, what: string): void {
  expect(response.closedByServer, `${what}: the server neither answered nor closed (a hang)`).toBe(true);
  response.statuses.forEach((status, i) => {
    if (status >= 500) {
      expect(status, `${what}: ${response.text.slice(0, 500)}`).toBe(503);
      expect(
        isVerdict503(response.bodies[i] ?? '', head),
        `${what}: a 503 that is not a verdict: ${response.text.slice(0, 500)}`,
      ).toBe(true);
    }
  });
  // Details (componentId, a check's output) never reach this unauthorized caller.
  expect(response.text, what).not.toContain('componentId');
  expect(response.text, what).not.toContain(FAILURE_OUTPUT);
  expect(response.text, what).not.toContain(TOKEN);
}

async function expectAlive(): Promise<void> {
  const started = performance.now();
  const reply = await vitals.get('/health');
  expect(reply.status).toBe(200);
  expect(performance.now() - started).toBeLessThan(1000);
}

// ---- generators ---------------------------------------------------------------------------

const tokenChars = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
/** Printable ASCII, now and then any byte but CR and LF (which would end the line). */
const headerValue = fc.oneof(
  { weight: 20, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, '')) },
);

// Mostly well-formed pieces with garbage mixed in now and then: a request with garbage in
// every part is always a parser 400 and never reaches the app, which must be tested too.
const method = fc.oneof(
  {
    weight: 25,
    arbitrary: fc.constantFrom(
      'GET',
      'GET',
      'GET',
      'HEAD',
      'POST',
      'PUT',
      'DELETE',
      'OPTIONS',
      'TRACE',
      'PATCH',
      'PROPFIND',
      'SEARCH',
      'MKCOL',
      'PURGE',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('CONNECT', 'get', 'Get', 'G\tET', 'GET\x00') },
  { weight: 1, arbitrary: tokenChars },
  {
    weight: 1,
    arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 8 }).map((s) => s.replace(/[\r\n ]/g, 'X')),
  },
);

const segment = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(
      ...ROUTE_NAMES,
      '..',
      '.',
      '%',
      '%zz',
      '%E0%A4%A',
      '%00',
      '%2f',
      '%2e%2e',
      '%2F..%2F',
      'ready%2fgood',
      '%ff%fe',
      '%C0%AF',
      '~',
      ';',
      '%252e',
    ),
  },
  { weight: 3, arbitrary: fc.webSegment() },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map(encodeURIComponent) },
  { weight: 2, arbitrary: fc.string({ maxLength: 6 }).map((s) => s.replace(/[ #?/]/g, '')) },
  // Raw (unencoded) non-ASCII or control bytes: invalid in a request line, a parser 400.
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }).map((s) => s.replace(/[\r\n ]/g, '')) },
);

const queryPart = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(
        fc.constantFrom('exclude', 'exclude', 'x', 'details', ''),
        fc.oneof(fc.constantFrom(...ROUTE_NAMES, '%', '%zz', '%E0%A4%A', ''), fc.webSegment()),
      )
      .map(([k, v]) => `${k}=${v}`),
  },
  { weight: 6, arbitrary: fc.string({ maxLength: 10 }).map((s) => s.replace(/[ #]/g, '')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 10 }).map((s) => s.replace(/[\r\n #]/g, '')) },
);

const path = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.option(fc.array(queryPart, { maxLength: 6 })))
      .map(([segments, query]) => `/${segments.join('/')}${query === null ? '' : `?${query.join('&')}`}`),
  },
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom('/health', '/ready', '/ready/good', '/ready/bad', '/startup', '/metrics', '/', '/-/reload'),
        fc.option(fc.array(queryPart, { maxLength: 6 })),
      )
      .map(([route, query]) => `${route}${query === null ? '' : `?${query.join('&')}`}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '*',
      '/',
      '//',
      '/ready/',
      '/READY',
      '/health/',
      'http://x/ready',
      'http://[::1]/metrics',
      'ready',
      '/ready?',
      '/ready#frag',
      '/ready?exclude',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('/ready/', '/', '/ready?exclude=', '/metrics?'),
        fc.integer({ min: 1000, max: 20_000 }),
        fc.constantFrom('a', '%', '..', '%C3%A9'),
      )
      .map(([prefix, n, c]) => prefix + c.repeat(n)),
  },
);

const accept = fc.oneof(
  fc.constantFrom(
    '*/*',
    'application/json',
    'application/health+json',
    'text/html',
    'application/openmetrics-text; version=1.0.0',
    'text/plain;q=x',
    'application/json;q=-1',
    ';;;',
    '*/*;q=0',
    'a/b, c/d;q=0.5, */*;q=1e400',
  ),
  headerValue,
);
const authorization = fc.oneof(
  fc.constantFrom(
    'Bearer',
    'Bearer ',
    'Bearer  ',
    'bearer x',
    'Basic dXNlcjpwYXNz',
    'Bearer undefined',
    'Bearer null',
    `Bearer ${TOKEN.slice(1)}`,
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.toUpperCase()}`,
    `Token ${TOKEN}`,
    TOKEN,
  ),
  headerValue,
);
const forwardedFor = fc.oneof(
  fc.constantFrom(
    '10.0.0.1',
    '10.1.2.3, 10.0.0.1',
    '::ffff:10.0.0.1',
    'unknown',
    '10.0.0.1, garbage',
    ', , ,',
    '127.0.0.1, 10.0.0.1',
  ),
  fc
    .array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 12 })), { maxLength: 30 })
    .map((hops) => hops.join(', ')),
  headerValue,
);
const headerName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/);

const wireSafe = (text: string) => text.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
const headerSafe = (text: string) => text.replace(/[^\t\x20-\x7e]/g, '?');

interface Hostile {
  method: string;
  path: string;
  headers: [string, string][];
  host: boolean;
}

const hostile: fc.Arbitrary<Hostile> = fc.record({
  method,
  path,
  host: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  headers: fc
    .tuple(
      fc.option(accept),
      fc.option(authorization),
      fc.option(forwardedFor),
      fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }),
    )
    .map(([a, auth, xff, extra]) => [
      ...(a === null ? [] : [['Accept', a] as [string, string]]),
      ...(auth === null ? [] : [['Authorization', auth] as [string, string]]),
      ...(xff === null ? [] : [['X-Forwarded-For', xff] as [string, string]]),
      ...extra,
    ]),
});

function wire(h: Hostile): string {
  const lines = [`${h.method} ${h.path} HTTP/1.1`];
  if (h.host) lines.push('Host: vitals');
  for (const [name, value] of h.headers) lines.push(`${name}: ${value}`);
  lines.push('Connection: close', '', '');
  return lines.join('\r\n');
}

describe('hostile requests against the real app', () => {
  it('random method, path, query string and headers: never a 5xx, never a crash, never details', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (h) => {
        const response = await rawRequest(vitals.port, Buffer.from(wire(h), 'utf8'), { head: h.method === 'HEAD' });
        expectSafe(response, h.method === 'HEAD', `${h.method} ${h.path.slice(0, 200)}`);
      }),
      { numRuns: 1000 },
    );
    await expectAlive();
    // A 500 would have been logged as "request failed"; none was.
    expect(vitals.logs.text()).not.toContain('request failed');
  });

  it('well-formed requests (node:http client) on every route with random query and headers: never a 5xx', async () => {
    const routes = [
      '/health',
      '/ready',
      '/ready/good',
      '/ready/bad',
      '/ready/nope',
      '/startup',
      '/metrics',
      '/',
      '/-/reload',
      '/nope',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        // node:http refuses to send what is not valid on the wire: escape it here.
        fc.array(queryPart.map(wireSafe), { maxLength: 4 }),
        fc.constantFrom('GET', 'HEAD', 'POST', 'OPTIONS', 'TRACE', 'PATCH', 'DELETE', 'PUT'),
        fc.option(accept.map(headerSafe)),
        fc.option(forwardedFor.map(headerSafe)),
        async (route, query, m, a, xff) => {
          const headers: Record<string, string> = {};
          if (a !== null) headers.accept = a;
          if (xff !== null) headers['x-forwarded-for'] = xff;
          const reply = await request(vitals.port, query.length === 0 ? route : `${route}?${query.join('&')}`, {
            method: m,
            headers,
          });
          if (reply.status >= 500) {
            expect(reply.status).toBe(503);
            if (m !== 'HEAD') expect(isVerdict503(reply.body, false)).toBe(true);
          }
          expect(reply.body).not.toContain('componentId');
          expect(reply.body).not.toContain(FAILURE_OUTPUT);
          if (route === '/-/reload' && m === 'POST') expect(reply.status).toBe(403);
        },
      ),
      { numRuns: 200 },
    );
    await expectAlive();
  });

  it('HEAD, OPTIONS and TRACE on every route: HEAD mirrors GET without a body, the others 405 with Allow', async () => {
    for (const route of ['/health', '/ready', '/ready/good', '/ready/bad', '/startup', '/metrics', '/']) {
      const get = await request(vitals.port, route);
      const head = await request(vitals.port, route, { method: 'HEAD' });
      expect(head.status, route).toBe(get.status);
      expect(head.body, route).toBe('');
      expect(head.headers['content-type'], route).toBe(get.headers['content-type']);
      for (const m of ['OPTIONS', 'TRACE', 'PATCH']) {
        const reply = await request(vitals.port, route, { method: m });
        expect(reply.status, `${m} ${route}`).toBe(405);
        expect(reply.headers.allow, `${m} ${route}`).toBe('GET, HEAD');
        expect(json(reply)).toMatchObject({ status: 'fail' });
      }
    }
  });

  it('unknown check names: 404 JSON on /ready/NAME, ignored and listed on ?exclude=', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), async (name) => {
        fc.pre(name !== 'good' && name !== 'bad');
        const one = await request(vitals.port, `/ready/${encodeURIComponent(name)}`);
        expect(one.status).toBe(404);
        expect(json(one)).toEqual({ status: 'fail', error: 'unknown check' });
        const excluded = await request(vitals.port, `/ready?exclude=${encodeURIComponent(name)}`);
        expect(excluded.status).toBe(200);
        expect(excluded.body).not.toContain('componentId');
      }),
      { numRuns: 60 },
    );
  });

  it('oversized headers: 431, never a 5xx', async () => {
    for (const size of [17_000, 64_000, 1_000_000]) {
      const response = await rawRequest(
        vitals.port,
        `GET /ready HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(size)}\r\n\r\n`,
      );
      expect(response.statuses, `header of ${String(size)} bytes`).toEqual([431]);
    }
    const many = Array.from({ length: 3000 }, (_, i) => `X-H${String(i)}: v`).join('\r\n');
    const response = await rawRequest(vitals.port, `GET /health HTTP/1.1\r\nHost: x\r\n${many}\r\n\r\n`);
    expect(response.statuses).toEqual([431]);
    await expectAlive();
  });

  it('?exclude= repeated 10,000 times: 431 or a verdict, never a 5xx; 1,000 times: answered, notes bounded', async () => {
    const huge = await rawRequest(
      vitals.port,
      `GET /ready?${'exclude=x&'.repeat(10_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(huge.statuses).toHaveLength(1);
    expect([431, 200, 503]).toContain(huge.statuses[0]);
    const many = await request(
      vitals.port,
      `/ready?${Array.from({ length: 1000 }, (_, i) => `exclude=n${String(i)}`).join('&')}`,
    );
    expect(many.status).toBe(200);
    const notes = (json(many).notes as string[]).join(' ');
    expect(notes.length).toBeLessThan(1000);
    const sameName = await request(vitals.port, `/ready?${'exclude=bad&'.repeat(1000)}`);
    expect(sameName.status).toBe(200);
    expect(json(sameName).status).toBe('pass');
    await expectAlive();
  });

  it('bad request lines and garbage bytes: 400 or a closed connection, never a 5xx', async () => {
    const cases: (string | Buffer)[] = [
      'GET\r\n\r\n',
      'GET / HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n',
      ' / HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /ready/é HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /ready HTTP/1.1\rHost: x\r\n\r\n',
      'GET /ready HTTP/1.1\r\nHost x\r\n\r\n',
      'GET /ready HTTP/1.1\r\nHost: x\r\n Folded: y\r\n\r\n',
      'GET /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET /ready HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'FOO / HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /ready HTTP/1.1\r\n\r\n', // no Host
      '\r\n\r\n\r\n',
      Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), // a TLS ClientHello
      randomBytes(4096),
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    ];
    for (const bytes of cases) {
      const response = await rawRequest(vitals.port, bytes);
      const what = JSON.stringify(bytes.toString('latin1').slice(0, 60));
      expect(response.closedByServer, what).toBe(true);
      for (const status of response.statuses) expect(status, what).toBeLessThan(500);
      expect(
        response.statuses.filter((s) => s !== 400),
        what,
      ).toEqual([]);
    }
    // Valid head, broken chunked body: the probe is answered from its head, then the
    // connection is closed on the body's parse error. Either way, no 5xx.
    const brokenBody = await rawRequest(
      vitals.port,
      'GET /ready HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    );
    expect(brokenBody.closedByServer).toBe(true);
    for (const status of brokenBody.statuses) expect([200, 400]).toContain(status);
    await expectAlive();
  });
});

describe('authorization', () => {
  /** Details shown to this request? Checked on /ready, /ready/bad and the fast path alike. */
  async function seesDetails(headers: Record<string, string>): Promise<boolean> {
    const replies = await Promise.all([
      vitals.get('/ready', { headers }),
      vitals.get('/ready/bad', { headers }),
      vitals.get('/ready?exclude=nothing', { headers }),
    ]);
    const shown = replies.map((r) => r.body.includes('componentId'));
    expect(new Set(shown).size, 'the routes disagree about details').toBe(1);
    return shown[0] === true;
  }

  async function mayReload(headers: Record<string, string>): Promise<boolean> {
    const reply = await vitals.get('/-/reload', { method: 'POST', headers });
    return reply.status !== 403;
  }

  it('the right token authorizes (positive control)', async () => {
    expect(await seesDetails({ authorization: `Bearer ${TOKEN}` })).toBe(true);
    expect(await seesDetails({ authorization: `bearer   ${TOKEN}` })).toBe(true);
  });

  it('a token that differs in one character, a prefix, a suffix or an extension never authorizes', async () => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/=';
    const oneOff = fc
      .tuple(fc.nat({ max: TOKEN.length - 1 }), fc.constantFrom(...Array.from(alphabet)))
      .filter(([i, c]) => TOKEN[i] !== c)
      .map(([i, c]) => TOKEN.slice(0, i) + c + TOKEN.slice(i + 1));
    const prefix = fc.nat({ max: TOKEN.length - 1 }).map((n) => TOKEN.slice(0, n));
    const suffix = fc.integer({ min: 1, max: TOKEN.length }).map((n) => TOKEN.slice(n));
    const extended = fc
      .tuple(fc.string({ minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([extra, before]) => (before ? extra + TOKEN : TOKEN + extra));
    const swapped = fc
      .nat({ max: TOKEN.length - 2 })
      .filter((i) => TOKEN[i] !== TOKEN[i + 1])
      .map((i) => TOKEN.slice(0, i) + (TOKEN[i + 1] ?? '') + (TOKEN[i] ?? '') + TOKEN.slice(i + 2));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(oneOff, prefix, suffix, extended, swapped),
        fc.constantFrom('Bearer ', 'bearer ', 'Bearer  '),
        async (candidate, scheme) => {
          // HTTP trims a header value's surrounding blanks: " TOKEN " on the wire is the token itself.
          fc.pre(candidate.trim() !== TOKEN && !/[\r\n]/.test(candidate));
          const headers = { authorization: `${scheme}${candidate}` };
          expect(await seesDetails(headers)).toBe(false);
          expect(await mayReload(headers)).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a spoofed X-Forwarded-For naming an allowed address is ignored without trustProxy', async () => {
    const allowed = fc
      .tuple(fc.nat(255), fc.nat(255), fc.nat(255))
      .map(([a, b, c]) => `10.${String(a)}.${String(b)}.${String(c)}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(allowed, fc.constant('::ffff:10.0.0.1'), fc.ipV4()), { minLength: 1, maxLength: 5 }),
        async (hops) => {
          const headers = { 'x-forwarded-for': hops.join(', ') };
          expect(await seesDetails(headers)).toBe(false);
          expect(await mayReload(headers)).toBe(false);
        },
      ),
      { numRuns: 60 },
    );
  });

  describe('without a token in the config', () => {
    let open: RunningVitals;

    beforeAll(async () => {
      const bad = controlled({ throw: new Error(FAILURE_OUTPUT) });
      // trustProxy on loopback: X-Forwarded-For is believed here, which the positive control uses.
      open = await startVitals({ security: { allow: ['10.0.0.0/8'], token: '', trustProxy: ['127.0.0.0/8'] } }, [
        { name: 'bad', interval: 1000, timeout: 500, run: bad.run },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    });

    afterAll(async () => {
      await open.close();
    });

    it('no token configured never means open: empty or any Bearer is refused', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.constantFrom(
              'Bearer',
              'Bearer ',
              'Bearer  ',
              'Bearer ""',
              "Bearer ''",
              'Bearer undefined',
              'Bearer null',
              'Bearer 0',
              'Bearer false',
              '',
            ),
            fc.string({ maxLength: 20 }).map((s) => `Bearer ${s}`),
          ),
          async (auth) => {
            fc.pre(!/[\r\n]/.test(auth));
            const headers = { authorization: auth };
            const ready = await open.get('/ready', { headers });
            expect(ready.body).not.toContain('componentId');
            expect((await open.get('/-/reload', { method: 'POST', headers })).status).toBe(403);
          },
        ),
        { numRuns: 60 },
      );
    });

    it('X-Forwarded-For is believed from a trusted proxy (control), and garbage in it authorizes nothing', async () => {
      const trusted = await open.get('/ready', { headers: { 'x-forwarded-for': '10.0.0.7' } });
      expect(trusted.body).toContain('componentId');
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            headerValue.map(headerSafe),
            fc.constantFrom(
              '10.0.0.1, garbage',
              '10.0.0.1, ',
              'unknown',
              '10.0.0.1 10.0.0.2',
              '10.0.0.1/8',
              '010.0.0.1',
            ),
          ),
          async (xff) => {
            const reply = await open.get('/ready', { headers: { 'x-forwarded-for': xff } });
            // Only a hop that is a real 10/8 address may authorize.
            const hops = xff.split(',').map((h) => h.trim());
            if (!hops.some((h) => /^10\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)))
              expect(reply.body).not.toContain('componentId');
          },
        ),
        { numRuns: 80 },
      );
    });
  });
});
