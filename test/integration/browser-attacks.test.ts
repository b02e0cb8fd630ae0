/**
 * What a web page in the operator's browser can make vitals do. Loopback is authorized by
 * default, so a page can send a cross-site POST /-/reload (CSRF), and after DNS rebinding
 * (evil.example re-resolving to 127.0.0.1) read /ready's details as if it were the same origin.
 * Requests are written byte for byte, with the headers a browser sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../support/raw-http.js';
import { controlled, startVitals, type RunningVitals } from '../support/vitals.js';
import { waitUntil } from '../support/wait.js';

const TOKEN = 'rebinding-token-5e1d';

interface Answer {
  readonly status: number | undefined;
  readonly body: Record<string, unknown>;
}

async function send(s: RunningVitals, method: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    'Connection: close',
    '',
    '',
  ];
  const reply = await rawRequest(s.port, lines.join('\r\n'));
  return { status: reply.statuses[0], body: JSON.parse(reply.bodies[0] ?? 'null') as Record<string, unknown> };
}

async function started(config: Record<string, unknown>): Promise<RunningVitals> {
  const s = await startVitals(config, [
    {
      name: 'db',
      critical: true,
      interval: 60_000,
      timeout: 30_000,
      run: controlled({ throw: new Error('secret-looking detail') }).run,
    },
  ]);
  await waitUntil(() => s.monitor.get('db')?.last !== undefined, 5000, 'the first result');
  return s;
}

describe('CSRF: POST /-/reload from a page of another origin', () => {
  let s: RunningVitals;
  let self: string;
  beforeAll(async () => {
    s = await started({ checks: [] });
    self = `127.0.0.1:${String(s.port)}`;
  });
  afterAll(async () => {
    await s.close();
  });

  const reloads = () => s.logs.lines.filter((line) => line.msg === 'config reloaded').length;

  it.each([
    ['a foreign Origin', { Origin: 'https://evil.example' }, 'Origin https://evil.example is not this server'],
    [
      'another port of the same host (a dev server on localhost)',
      { Origin: 'http://127.0.0.1:3000' },
      'Origin http://127.0.0.1:3000 is not this server',
    ],
    ['an opaque Origin (sandboxed frame, data: URL)', { Origin: 'null' }, 'Origin null is not this server'],
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }, 'Sec-Fetch-Site: cross-site'],
    [
      'Sec-Fetch-Site: same-site (another port or subdomain is another origin)',
      { 'Sec-Fetch-Site': 'same-site' },
      'Sec-Fetch-Site: same-site',
    ],
  ])('%s: 403 naming why, and nothing reloads', async (_what, headers, why) => {
    const before = reloads();
    const answer = await send(s, 'POST', '/-/reload', { Host: self, 'Content-Length': '0', ...headers });
    expect(answer.status).toBe(403);
    expect(answer.body).toStrictEqual({ status: 'fail', error: `cross-origin request refused: ${why}` });
    expect(reloads()).toBe(before);
  });

  it.each([
    ['no Origin and no Sec-Fetch-Site (curl, a script)', {}],
    ['its own Origin', { Origin: 'http://SELF' }],
    ['Sec-Fetch-Site: same-origin', { 'Sec-Fetch-Site': 'same-origin', Origin: 'http://SELF' }],
    ['Sec-Fetch-Site: none (typed by the user)', { 'Sec-Fetch-Site': 'none' }],
  ])('%s: 200, reloaded', async (_what, headers) => {
    const before = reloads();
    const resolved = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, value.replace('SELF', self)]),
    );
    const answer = await send(s, 'POST', '/-/reload', { Host: self, 'Content-Length': '0', ...resolved });
    expect(answer.status).toBe(200);
    expect(answer.body.applied).toBe(true);
    expect(reloads()).toBe(before + 1);
  });
});

describe('DNS rebinding: a Host that names no address', () => {
  const opened: RunningVitals[] = [];
  afterAll(async () => {
    for (const s of opened) await s.close();
  });
  const start = async (config: Record<string, unknown>) => {
    const s = await started(config);
    opened.push(s);
    return s;
  };

  /** Whether /ready, /ready?exclude= and /ready/NAME carry details for this Host. */
  async function details(s: RunningVitals, host: string, extra: Record<string, string> = {}): Promise<boolean[]> {
    const shown: boolean[] = [];
    for (const path of ['/ready', '/ready?exclude=nope', '/ready/db']) {
      const answer = await send(s, 'GET', path, { Host: host, ...extra });
      expect(answer.status, `${path} Host: ${host}`).toBe(503);
      shown.push('checks' in answer.body);
    }
    return shown;
  }

  it('a loopback caller gets no details through a DNS name, and may not reload', async () => {
    const s = await start({ checks: [] });
    const port = String(s.port);
    expect(await details(s, `evil.example:${port}`)).toStrictEqual([false, false, false]);
    expect(await details(s, `evil.example`)).toStrictEqual([false, false, false]);
    // After rebinding, the page is same-origin with what it talks to: only the Host gives it away.
    const reload = await send(s, 'POST', '/-/reload', {
      Host: `evil.example:${port}`,
      Origin: `http://evil.example:${port}`,
      'Content-Length': '0',
    });
    expect(reload.status).toBe(403);
    expect(reload.body).toStrictEqual({ status: 'fail', error: 'reload is allowed for authorized callers only' });
  });

  it('an IP literal, localhost or a name under .localhost keeps the loopback caller authorized', async () => {
    const s = await start({ checks: [] });
    const port = String(s.port);
    for (const host of [
      `127.0.0.1:${port}`,
      '127.0.0.1',
      `[::1]:${port}`,
      `localhost:${port}`,
      'LOCALHOST',
      `vitals.localhost:${port}`,
    ]) {
      expect(await details(s, host), host).toStrictEqual([true, true, true]);
    }
  });

  it('server.allowedHosts names the DNS names vitals is reached by (case-insensitive; a leading dot covers subdomains)', async () => {
    const s = await start({ checks: [], server: { allowedHosts: ['vitals.internal', '.monitoring.svc'] } });
    const port = String(s.port);
    for (const host of [`vitals.internal:${port}`, 'VITALS.Internal', `vitals.monitoring.svc:${port}`]) {
      expect(await details(s, host), host).toStrictEqual([true, true, true]);
    }
    for (const host of [
      `other.internal:${port}`,
      `vitals.internal.evil.example:${port}`,
      `monitoring.svc.evil.example`,
    ]) {
      expect(await details(s, host), host).toStrictEqual([false, false, false]);
    }
  });

  it('a bearer token is not ambient: it authorizes whatever the Host', async () => {
    const s = await start({ checks: [], security: { token: TOKEN } });
    const port = String(s.port);
    expect(await details(s, `vitals.example.com:${port}`, { Authorization: `Bearer ${TOKEN}` })).toStrictEqual([
      true,
      true,
      true,
    ]);
    const reload = await send(s, 'POST', '/-/reload', {
      Host: `vitals.example.com:${port}`,
      Authorization: `Bearer ${TOKEN}`,
      'Content-Length': '0',
    });
    expect(reload.status).toBe(200);
  });

  it('server.allowedHosts takes host names only: a scheme or a port is a config error naming the entry', async () => {
    await expect(
      startVitals({ checks: [], server: { allowedHosts: ['vitals.internal', 'vitals.internal:9469'] } }, []),
    ).rejects.toThrow(/server\.allowedHosts\[1\]: must be a host name without scheme or port/);
    await expect(startVitals({ checks: [], server: { allowedHosts: ['http://vitals.internal'] } }, [])).rejects.toThrow(
      /server\.allowedHosts\[0\]/,
    );
  });

  it('details: always shows them whatever the Host', async () => {
    const s = await start({ checks: [], security: { details: 'always' } });
    expect(await details(s, 'evil.example')).toStrictEqual([true, true, true]);
  });
});
