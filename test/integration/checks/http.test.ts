import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { makeTestPki, startCertServer, type CertServer, type TestPki } from '../../support/certificates.js';
import {
  configProblems,
  expectConfigProblems,
  runCheck,
  runCheckKindContract,
  targetOf,
} from '../../support/contract.js';
import { waitUntil } from '../../support/wait.js';
import { makeSelfSignedCert, startSilentServer, type SilentServer } from '../../support/servers.js';
import { closedPort } from '../../support/ports.js';

const TOKEN = 'tok-3f9#a@b%c';
const BIG_BODY_BYTES = 2 * 1024 * 1024;
/**
 * Catastrophic backtracking: against this body a backtracking engine tries every way to split
 * the a's between the groups before failing, about 2^26 steps (seconds of a blocked process).
 */
const HOSTILE_PATTERN = '^(a+)+$';
const HOSTILE_BODY = `${'a'.repeat(26)}!`;

/** What `/json` answers: a service's own health document, degraded, with a long queue. */
const JSON_DOCUMENT = {
  status: 'degraded',
  version: '2.4.1',
  queue: { depth: 1200, lag: '12.5' },
  checks: [{ name: 'cache', state: 'ok' }],
  'a/b': { 'm~n': true },
  nothing: null,
};

interface TestServer {
  readonly port: number;
  readonly base: string;
  readonly openSockets: () => number;
  /** Authorization headers the server received, in order. */
  readonly authorizations: (string | undefined)[];
  close(): Promise<void>;
}

function route(req: http.IncomingMessage, res: http.ServerResponse, other: () => string): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (status: number, body = '', headers: http.OutgoingHttpHeaders = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(body);
  };
  const redirect = /^\/redirect\/(\d+)$/.exec(url.pathname);
  if (url.pathname === '/health') {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      send(401, 'who are you?');
      return;
    }
    send(200, 'status=green');
    return;
  }
  if (url.pathname === '/json') {
    send(200, JSON.stringify(JSON_DOCUMENT), { 'content-type': 'application/json' });
    return;
  }
  if (url.pathname === '/open') {
    send(200, `method=${req.method ?? ''}`);
    return;
  }
  if (url.pathname === '/hostile') {
    send(200, HOSTILE_BODY);
    return;
  }
  if (url.pathname === '/basic') {
    const expected = `Basic ${Buffer.from('probe:pa ss@word').toString('base64')}`;
    send(req.headers.authorization === expected ? 200 : 401);
    return;
  }
  if (url.pathname.startsWith('/status/')) {
    send(Number(url.pathname.slice('/status/'.length)));
    return;
  }
  if (redirect?.[1] !== undefined) {
    const left = Number(redirect[1]);
    if (left === 0) send(200, 'landed');
    else send(302, '', { location: `/redirect/${String(left - 1)}` });
    return;
  }
  if (url.pathname === '/see-other') {
    send(303, '', { location: '/open' });
    return;
  }
  if (url.pathname === '/elsewhere') {
    send(302, '', { location: `${other()}/open` });
    return;
  }
  if (url.pathname === '/big') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('x'.repeat(BIG_BODY_BYTES - 6));
    res.end('MARKER');
    return;
  }
  send(404, 'not found');
}

async function startHttp(other: () => string = () => ''): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const authorizations: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    route(req, res, other);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    base: `http://127.0.0.1:${String(port)}`,
    openSockets: () => sockets.size,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the http check kind', () => {
  let server: TestServer;
  let elsewhere: TestServer;
  let silent: SilentServer;
  let closed: number;
  let garbage: net.Server;
  let garbagePort: number;

  beforeAll(async () => {
    elsewhere = await startHttp();
    server = await startHttp(() => elsewhere.base);
    silent = await startSilentServer();
    closed = await closedPort();
    // Answers anything with a line that is not an HTTP status line.
    garbage = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.resume(); // reading, so that the client's FIN is seen and the socket closes
      socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n');
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    garbagePort = (garbage.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    await server.close();
    await elsewhere.close();
    await silent.close();
    await new Promise((resolve) => garbage.close(resolve));
  });

  describe('contract', () => {
    runCheckKindContract({
      kind: 'http',
      healthy: () => ({
        url: `${server.base}/health?token=x`,
        headers: { Authorization: `Bearer ${TOKEN}` },
        bodyRegex: 'status=green',
      }),
      target: () => `http://127.0.0.1:${String(server.port)}`,
      unexpectedAnswer: {
        fields: () => ({ url: `${server.base}/json`, expectJson: [{ path: '/status', equals: 'ok' }] }),
        output: '/status is "degraded", expected "ok"',
      },
      refused: () => ({ url: `http://127.0.0.1:${String(closed)}/health` }),
      silent: {
        fields: () => ({ url: `http://127.0.0.1:${String(silent.port)}/health` }),
        openSockets: () => silent.openSockets(),
      },
      hung: { at: (port) => ({ url: `http://127.0.0.1:${String(port)}/health` }) },
      connections: () => Promise.resolve(server.openSockets()),
      secrets: () => [TOKEN, `Bearer ${TOKEN}`],
    });
  });

  it('reports its phases: connect, first_byte (headers), body; no tls phase over plain http', async () => {
    const slow = http.createServer((_req, res) => {
      setTimeout(() => {
        res.writeHead(200);
        res.write('part');
        setTimeout(() => res.end('rest'), 80);
      }, 50);
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const port = (slow.address() as net.AddressInfo).port;
      const { result } = await runCheck('http', { url: `http://127.0.0.1:${String(port)}/` });
      expect(result.status, result.output).toBe('pass');
      expect(Object.keys(result.phases ?? {})).toStrictEqual(['connect', 'first_byte', 'body']);
      const { connect = NaN, first_byte: firstByte = NaN, body = NaN } = result.phases ?? {};
      expect(connect).toBeLessThan(45);
      expect(firstByte).toBeGreaterThanOrEqual(45);
      expect(body).toBeGreaterThanOrEqual(75);
      expect(connect + firstByte + body).toBeLessThanOrEqual(result.durationMs);
    } finally {
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('fails with reason assertion and a short output on an unexpected status', async () => {
    const { result } = await runCheck('http', { url: `${server.base}/status/500` });
    expect(result).toMatchObject({
      status: 'fail',
      reason: 'assertion',
      output: 'unexpected status 500 (expected 200-399)',
    });
    const listed = await runCheck('http', { url: `${server.base}/status/204`, expectStatus: [200, 201, 202, 418] });
    expect(listed.result.output).toBe('unexpected status 204 (expected 200-202, 418)');
    const teapot = await runCheck('http', { url: `${server.base}/status/418`, expectStatus: [418] });
    expect(teapot.result.status).toBe('pass');
  });

  it('fails with reason assertion on a 401 (the status is what expectStatus judges), without showing the wrong token', async () => {
    const { result, config } = await runCheck('http', {
      url: `${server.base}/health`,
      headers: { authorization: 'Bearer wrong-token-123' },
    });
    expect(result).toMatchObject({
      status: 'fail',
      reason: 'assertion',
      output: 'unexpected status 401 (expected 200-399)',
    });
    // Credential-looking header values are declared, so the engine scrubs them everywhere.
    expect(config.secrets).toEqual(expect.arrayContaining(['Bearer wrong-token-123', 'wrong-token-123']));
    const plain = await runCheck('http', { url: `${server.base}/open`, headers: { Accept: 'text/plain' } });
    expect(plain.config.secrets).toEqual([]);
  });

  it('fails with reason assertion when the body does not match bodyRegex, and reads at most 1 MiB', async () => {
    const { result } = await runCheck('http', { url: `${server.base}/open`, bodyRegex: '^status=green$' });
    expect(result).toMatchObject({
      status: 'fail',
      reason: 'assertion',
      output: 'body does not match /^status=green$/',
    });
    const big = await runCheck('http', { url: `${server.base}/big`, bodyRegex: 'MARKER' });
    expect(big.result.output).toBe('body does not match /MARKER/');
    expect((await runCheck('http', { url: `${server.base}/big`, bodyRegex: '^x+$' })).result.status).toBe('pass');
  });

  it('matches bodyRegex without blocking the process, even a catastrophic pattern on a hostile body', async () => {
    // A timer ticking through the run: a blocked event loop shows as one long gap between ticks.
    let last = performance.now();
    let longestGapMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGapMs = Math.max(longestGapMs, now - last);
      last = now;
    }, 10);
    try {
      const { result } = await runCheck('http', { url: `${server.base}/hostile`, bodyRegex: HOSTILE_PATTERN }, 1000);
      expect(result).toMatchObject({
        status: 'fail',
        reason: 'assertion',
        output: `body does not match /${HOSTILE_PATTERN}/`,
      });
      const matching = await runCheck('http', { url: `${server.base}/hostile`, bodyRegex: '^(a+)+!$' }, 1000);
      expect(matching.result.status).toBe('pass');
    } finally {
      clearInterval(ticker);
    }
    expect(longestGapMs, 'the longest the event loop went without running a timer').toBeLessThan(250);
  });

  describe('expectJson', () => {
    const json = (expectJson: unknown[]) => runCheck('http', { url: `${server.base}/json`, expectJson });

    it('passes when every entry holds: each operator, escaped pointers, array indices, the whole document', async () => {
      const { result } = await json([
        { path: '/status', oneOf: ['ok', 'degraded'] },
        { path: '/status', notEquals: 'down' },
        { path: '/queue/depth', gt: 1000 },
        { path: '/queue/depth', lte: 1200 },
        { path: '/queue/depth', gte: 1200 },
        { path: '/queue/depth', lt: 1201 },
        { path: '/checks/0/state', equals: 'ok' },
        { path: '/checks/0', equals: { name: 'cache', state: 'ok' } },
        { path: '/a~1b/m~0n', equals: true },
        { path: '/version', matches: '^2\\.' },
        { path: '/nothing', exists: true },
        { path: '/nothing', equals: null },
        { path: '/missing', exists: false },
        { path: '', exists: true },
      ]);
      expect(result, result.output).toMatchObject({ status: 'pass', output: undefined });
    });

    it.each([
      [{ path: '/status', equals: 'ok' }, '/status is "degraded", expected "ok"'],
      [{ path: '/queue/depth', lt: 1000 }, '/queue/depth is 1200, expected < 1000'],
      [{ path: '/queue/depth', gte: 5000 }, '/queue/depth is 1200, expected ≥ 5000'],
      // A JSON body is taken as typed: the string "12.5" is not a number.
      [{ path: '/queue/lag', lt: 100 }, '/queue/lag is "12.5", expected a number < 100'],
      [{ path: '/status', oneOf: ['ok', 'up'] }, '/status is "degraded", expected one of "ok", "up"'],
      [{ path: '/status', notEquals: 'degraded' }, '/status is "degraded", expected anything but "degraded"'],
      [{ path: '/version', matches: '^3\\.' }, '/version is "2.4.1", expected to match /^3\\./'],
      [{ path: '/checks/1/state', equals: 'ok' }, '/checks/1/state is missing, expected "ok"'],
      [{ path: '/checks/01', exists: true }, '/checks/01 is missing, expected a value'],
      [{ path: '/status', exists: false }, '/status is "degraded", expected none'],
    ])('fails with reason assertion on %j, naming it: %s', async (entry, output) => {
      const { result } = await json([{ path: '/nothing', exists: true }, entry, { path: '/status', equals: 'nope' }]);
      expect(result).toMatchObject({ status: 'fail', reason: 'assertion', output });
    });

    it('fails with reason assertion on a body that is not JSON', async () => {
      const { result } = await runCheck('http', {
        url: `${server.base}/open`,
        expectJson: [{ path: '/status', exists: true }],
      });
      expect(result).toMatchObject({ status: 'fail', reason: 'assertion', output: 'body is not valid JSON' });
    });

    it('refuses at load a pointer that is not one, an operand of the wrong type, and two operators in one entry', () => {
      expectConfigProblems('http', [
        [
          { url: 'http://x/', expectJson: [{ path: 'status', equals: 'ok' }] },
          [
            'checks[0].expectJson[0].path: not a JSON Pointer (RFC 6901): it starts with "/" and writes "~" as "~0", "/" in a name as "~1"',
          ],
        ],
        [
          { url: 'http://x/', expectJson: [{ path: '/a~2', equals: 'ok' }] },
          [
            'checks[0].expectJson[0].path: not a JSON Pointer (RFC 6901): it starts with "/" and writes "~" as "~0", "/" in a name as "~1"',
          ],
        ],
        [
          { url: 'http://x/', expectJson: [{ path: '/depth', lt: '1000' }] },
          ['checks[0].expectJson[0].lt: lt compares numbers: expected a number'],
        ],
        [
          { url: 'http://x/', expectJson: [{ path: '/depth', gt: 0, lt: 10 }] },
          ['checks[0].expectJson[0]: has 2 operators (lt, gt); write one entry per operator'],
        ],
        [
          { url: 'http://x/', expectJson: [{ path: '/depth' }] },
          ['checks[0].expectJson[0]: needs one operator (equals, notEquals, oneOf, lt, lte, gt, gte, matches, exists)'],
        ],
        [
          { url: 'http://x/', expectJson: [{ path: '/v', matches: '(a)\\1' }] },
          [
            'checks[0].expectJson[0].matches: not a valid RE2 regular expression (invalid escape sequence: `\\1`); matches uses RE2 syntax, without backreferences or lookaround',
          ],
        ],
        [
          { url: 'http://x/', expectJson: [{ path: '/v', exists: 'yes' }] },
          ['checks[0].expectJson[0].exists: exists takes true or false'],
        ],
        [
          { url: 'http://x/', method: 'HEAD', expectJson: [{ path: '/v', exists: true }] },
          ['checks[0].expectJson: expectJson needs a method that returns a body (HEAD does not)'],
        ],
        [{ url: 'http://x/', expectJson: [] }, [expect.stringMatching(/^checks\[0\]\.expectJson: /)]],
      ]);
    });
  });

  it('sends the configured method, and basic auth from the URL without showing it in the target', async () => {
    expect((await runCheck('http', { url: `${server.base}/open`, method: 'HEAD' })).result.status).toBe('pass');
    expect(
      (await runCheck('http', { url: `${server.base}/open`, method: 'POST', bodyRegex: '^method=POST$' })).result
        .status,
    ).toBe('pass');
    const basic = await runCheck('http', {
      url: `http://probe:${encodeURIComponent('pa ss@word')}@127.0.0.1:${String(server.port)}/basic`,
    });
    expect(basic.result.status).toBe('pass');
    expect(basic.target).toBe(`http://127.0.0.1:${String(server.port)}`);
    expect(basic.config.secrets).toContain('pa ss@word');
  });

  it('follows up to 5 redirects, then fails; with followRedirects false a 3xx is judged as it is', async () => {
    expect((await runCheck('http', { url: `${server.base}/redirect/5`, bodyRegex: 'landed' })).result.status).toBe(
      'pass',
    );
    const tooMany = await runCheck('http', { url: `${server.base}/redirect/6` });
    expect(tooMany.result).toMatchObject({
      status: 'fail',
      reason: 'error',
      output: 'too many redirects (more than 5)',
    });
    expect((await runCheck('http', { url: `${server.base}/redirect/6`, followRedirects: false })).result.status).toBe(
      'pass',
    );
    const strict = await runCheck('http', {
      url: `${server.base}/redirect/1`,
      followRedirects: false,
      expectStatus: [200],
    });
    expect(strict.result.output).toBe('unexpected status 302 (expected 200)');
    const seeOther = await runCheck('http', {
      url: `${server.base}/see-other`,
      method: 'POST',
      bodyRegex: '^method=GET$',
    });
    expect(seeOther.result.status).toBe('pass');
  });

  it('does not send credentials along a redirect to another origin', async () => {
    const before = elsewhere.authorizations.length;
    const { result } = await runCheck('http', {
      url: `${server.base}/elsewhere`,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(result.status).toBe('pass');
    expect(elsewhere.authorizations.slice(before)).toEqual([undefined]);
  });

  it('fails with reason protocol when the server does not speak HTTP', async () => {
    const { result } = await runCheck('http', { url: `http://127.0.0.1:${String(garbagePort)}/` });
    expect(result).toMatchObject({ status: 'fail', reason: 'protocol' });
    expect(result.output).toMatch(/^HPE_/);
    const open = () => new Promise<number>((resolve) => garbage.getConnections((_error, count) => resolve(count)));
    await waitUntil(async () => (await open()) === 0, 2000, 'the non-HTTP server to see its connection closed');
  });

  it('validates its options at config time, each problem with its path', () => {
    expectConfigProblems('http', [
      [{ url: 'ftp://example.com/' }, ['checks[0].url: expected a URL starting with http:// or https://']],
      [
        { url: 'http://x/', bodyRegex: '(' },
        [
          'checks[0].bodyRegex: not a valid RE2 regular expression (missing closing ): `(`); bodyRegex uses RE2 syntax, without backreferences or lookaround',
        ],
      ],
      // RE2 matches in linear time because it has no backtracking features: those are load errors.
      [
        { url: 'http://x/', bodyRegex: '(a)\\1' },
        [
          'checks[0].bodyRegex: not a valid RE2 regular expression (invalid escape sequence: `\\1`); bodyRegex uses RE2 syntax, without backreferences or lookaround',
        ],
      ],
      [
        { url: 'http://x/', bodyRegex: 'a(?=b)' },
        [
          'checks[0].bodyRegex: not a valid RE2 regular expression (invalid or unsupported Perl syntax: `(?=`); bodyRegex uses RE2 syntax, without backreferences or lookaround',
        ],
      ],
      [
        { url: 'http://x/', method: 'HEAD', bodyRegex: 'ok' },
        ['checks[0].bodyRegex: bodyRegex needs a method that returns a body (HEAD does not)'],
      ],
    ]);
    expect(configProblems('http', { url: 'http://x/', expectStatus: [99] })[0]).toMatch(
      /^checks\[0\]\.expectStatus\[0\]: /,
    );
    expect(configProblems('http', { url: 'http://x/', headers: { 'X-A': 'a\r\nb' } })).toEqual([
      'checks[0].headers.X-A: a header value must not contain a line break',
    ]);
    expect(configProblems('http', { url: 'http://x/', tls: { insecureSkipVerify: true } })).toEqual([
      'checks[0].tls: tls options need an https:// URL',
    ]);
    expect(configProblems('http', { url: 'https://x/', tls: { bogus: true } })).toEqual([
      'checks[0].tls.bogus: unknown key',
    ]);
  });

  it('fills in default ports and drops credentials, path and query from the target', () => {
    expect(targetOf('http', { url: 'https://user:pw@example.com/a?b=c' })).toBe('https://example.com:443');
    expect(targetOf('http', { url: 'http://example.com' })).toBe('http://example.com:80');
    expect(targetOf('http', { url: 'http://[::1]:8080/x' })).toBe('http://[::1]:8080');
  });
});

describe.skipIf(skipUnlessBinaries(['openssl'], 'http TLS'))('the http check kind over TLS', () => {
  let dir: string;
  let server: https.Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vitals-http-tls-'));
    makeSelfSignedCert(dir);
    server = https.createServer(
      { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) },
      (_req, res) => res.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies certificates by default: a self-signed one fails with reason protocol', async () => {
    const { result, target } = await runCheck('http', { url: `https://127.0.0.1:${String(port)}/` });
    expect(result).toMatchObject({ status: 'fail', reason: 'protocol' });
    expect(result.output).toMatch(/self.signed/i);
    expect(target).toBe(`https://127.0.0.1:${String(port)}`);
  });

  it('times the TLS handshake as a phase of its own, between connect and first_byte', async () => {
    const { result } = await runCheck('http', {
      url: `https://127.0.0.1:${String(port)}/`,
      tls: { insecureSkipVerify: true },
    });
    expect(result.status, result.output).toBe('pass');
    expect(Object.keys(result.phases ?? {})).toStrictEqual(['connect', 'tls', 'first_byte', 'body']);
    expect(result.phases?.tls).toBeGreaterThan(0);
  });

  it('passes with the CA given (caFile or ca), or with insecureSkipVerify', async () => {
    const caFile = path.join(dir, 'cert.pem');
    expect((await runCheck('http', { url: `https://127.0.0.1:${String(port)}/`, tls: { caFile } })).result.status).toBe(
      'pass',
    );
    const ca = readFileSync(caFile, 'utf8');
    expect((await runCheck('http', { url: `https://127.0.0.1:${String(port)}/`, tls: { ca } })).result.status).toBe(
      'pass',
    );
    const skip = await runCheck('http', {
      url: `https://127.0.0.1:${String(port)}/`,
      tls: { insecureSkipVerify: true },
    });
    expect(skip.result.status).toBe('pass');
  });

  it('checks the certificate against serverName when set', async () => {
    const caFile = path.join(dir, 'cert.pem');
    const good = await runCheck('http', {
      url: `https://127.0.0.1:${String(port)}/`,
      tls: { caFile, serverName: 'vitals.test' },
    });
    expect(good.result.status).toBe('pass');
    const bad = await runCheck('http', {
      url: `https://127.0.0.1:${String(port)}/`,
      tls: { caFile, serverName: 'other.test' },
    });
    expect(bad.result).toMatchObject({ status: 'fail', reason: 'protocol' });
  });
});

describe.skipIf(skipUnlessBinaries(['openssl'], 'http certificate expiry'))(
  'the http check kind: certificate expiry',
  () => {
    let dir: string;
    let pki: TestPki;
    let server: CertServer;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'vitals-http-expiry-'));
      pki = makeTestPki(dir);
      server = await startCertServer(pki);
    });

    afterAll(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const check = (serverName: string, extra: Record<string, unknown> = {}) =>
      runCheck('http', {
        url: `https://127.0.0.1:${String(server.port)}/`,
        tls: { caFile: pki.ca.certFile, serverName },
        warnCertExpiry: '14d',
        ...extra,
      });

    it('passes a certificate that expires after warnCertExpiry, recording its notAfter', async () => {
      const { result } = await check('later.test');
      expect(result).toMatchObject({
        status: 'pass',
        certificate: { notAfter: pki.later.notAfter, commonName: 'later.test' },
      });
    });

    it('warns on one that expires sooner, and on an intermediate that expires before the leaf', async () => {
      expect((await check('soon.test')).result).toMatchObject({
        status: 'warn',
        output: 'certificate expires in 1d (CN=soon.test)',
        certificate: { notAfter: pki.soon.notAfter },
      });
      expect((await check('chained.test')).result).toMatchObject({
        status: 'warn',
        output: 'certificate expires in 0d (CN=intermediate.test)',
        certificate: { notAfter: pki.intermediate.notAfter },
      });
    });

    it('fails an expired certificate with reason protocol', async () => {
      const { result } = await check('expired.test');
      expect(result).toMatchObject({ status: 'fail', reason: 'protocol' });
      expect(result.output).toMatch(/expired/);
    });

    it('records the certificate when the answer then fails the run', async () => {
      const { result } = await check('later.test', { expectStatus: [204] });
      expect(result).toMatchObject({
        status: 'fail',
        reason: 'assertion',
        certificate: { notAfter: pki.later.notAfter },
      });
    });

    it('records nothing over plain http, where warnCertExpiry is allowed (a redirect may lead to https)', async () => {
      const plain = http.createServer((_req, res) => res.end('ok'));
      await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
      try {
        const port = (plain.address() as net.AddressInfo).port;
        const { result } = await runCheck('http', { url: `http://127.0.0.1:${String(port)}/`, warnCertExpiry: '14d' });
        expect(result).toMatchObject({ status: 'pass', certificate: undefined });
      } finally {
        await new Promise((resolve) => plain.close(resolve));
      }
    });
  },
);
