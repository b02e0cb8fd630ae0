/**
 * The HTTP routes against the real HTTP server: /health, /ready, /ready/NAME, /startup, detail gating,
 * methods, odd input and /-/reload, driven by custom checks (vitals.addCheck) whose runs the test
 * controls.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CustomCheck } from '../../src/engine/monitor.js';
import type { Status } from '../../src/types.js';
import { waitUntil } from '../support/wait.js';
import { controlled, fast, settle, startVitals, type ControlledProbe, type RunningVitals } from '../support/vitals.js';
import { ACCEPT_CASES, json, type Reply } from '../support/http.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HEALTH_JSON = 'application/health+json';
const PLAIN_JSON = 'application/json; charset=utf-8';
const DRAINING_NOTE = 'draining: vitals is shutting down';

const anyNumber = () => expect.any(Number) as number;
const anyTime = () => expect.stringMatching(ISO) as string;
const uptimeEntry = () => ({
  componentType: 'system',
  observedValue: anyNumber(),
  observedUnit: 's',
  status: 'pass',
  time: anyTime(),
});

/** Headers of a reply without the ones that legitimately differ between two requests. */
function stableHeaders(headers: Reply['headers'], without: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !without.includes(name)));
}

/** A check that runs once in the test's lifetime (interval 60 s); `timeout` bounds a hang. */
const once = (name: string, probe: ControlledProbe, critical = true, timeout = 30_000): CustomCheck => ({
  name,
  critical,
  interval: 60_000,
  timeout,
  run: probe.run,
});

/** The IETF entry an authorized caller sees for a custom check that has run. */
function entry(name: string, status: Exclude<Status, 'unknown'>, output?: string) {
  return {
    componentId: name,
    componentType: 'component',
    status,
    observedValue: anyNumber(),
    observedUnit: 'ms',
    time: anyTime(),
    ...(output === undefined ? {} : { output }),
  };
}

function expectJsonHeaders(reply: Reply, type = HEALTH_JSON): void {
  expect(reply.headers['content-type']).toBe(type);
  expect(reply.headers['cache-control']).toBe('no-store');
  expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(reply.body)));
}

/**
 * GETs `path` and expects HTTP `code` and exactly `{ version: VERSION, ...body }`; with `headers`,
 * the health+json headers too. Returns the reply.
 */
async function expectVerdict(
  running: RunningVitals,
  path: string,
  code: number,
  body: Record<string, unknown>,
  headers = false,
): Promise<Reply> {
  const reply = await running.get(path);
  expect(reply.status, path).toBe(code);
  if (headers) expectJsonHeaders(reply);
  expect(json(reply), path).toStrictEqual({ ...body, version: VERSION });
  return reply;
}

describe('readiness with custom checks (loopback caller, default security)', () => {
  const crit = controlled();
  const opt = controlled();
  let s: RunningVitals;

  beforeAll(async () => {
    s = await startVitals({ checks: [] }, [fast('crit', crit), fast('opt', opt, false)]);
  });
  afterAll(async () => {
    await s.close();
  });
  beforeEach(async () => {
    crit.behaviour = 'pass';
    opt.behaviour = 'pass';
    await settle(s, 'crit', 'pass');
    await settle(s, 'opt', 'pass');
  });

  it('/health answers the exact IETF liveness shape, no-store, application/health+json', async () => {
    const before = Date.now();
    const reply = await s.get('/health');
    expect(reply.status).toBe(200);
    expectJsonHeaders(reply);
    const body = json(reply);
    expect(body).toStrictEqual({
      status: 'pass',
      version: VERSION,
      checks: {
        uptime: [uptimeEntry()],
      },
    });
    const [uptime] = (body.checks as { uptime: { observedValue: number; time: string }[] }).uptime;
    expect(Number.isInteger(uptime?.observedValue)).toBe(true);
    expect(uptime?.observedValue).toBeGreaterThanOrEqual(0);
    expect(uptime?.observedValue).toBeLessThan(60);
    const time = Date.parse(uptime?.time ?? '');
    expect(time).toBeGreaterThanOrEqual(before - 5);
    expect(time).toBeLessThanOrEqual(Date.now() + 5);
  });

  it('answers application/json only when the client prefers it; */* (kubelet) gets health+json', async () => {
    for (const path of ['/health', '/ready', '/ready/crit', '/startup']) {
      for (const [accept, mediaType] of ACCEPT_CASES) {
        const type = mediaType === 'application/json' ? PLAIN_JSON : HEALTH_JSON;
        const reply = await s.get(path, { headers: accept === undefined ? {} : { Accept: accept } });
        expect(reply.status, `${path} Accept: ${String(accept)}`).toBe(200);
        expect(reply.headers['content-type'], `${path} Accept: ${String(accept)}`).toBe(type);
        expect(reply.headers['cache-control']).toBe('no-store');
        expect(json(reply).status).toBe('pass');
      }
    }
  });

  it("/ready: 200 pass with every check's entry for an authorized caller; output left out on pass", async () => {
    const reply = await expectVerdict(
      s,
      '/ready',
      200,
      {
        status: 'pass',
        checks: { 'crit:responseTime': [entry('crit', 'pass')], 'opt:responseTime': [entry('opt', 'pass')] },
      },
      true,
    );
    const observed = (json(reply).checks as Record<string, { observedValue: number; time: string }[]>)[
      'crit:responseTime'
    ]?.[0];
    expect(observed?.observedValue).toBeGreaterThanOrEqual(0);
    expect(observed?.observedValue).toBeLessThan(100);
    expect(Math.abs(Date.parse(observed?.time ?? '') - Date.now())).toBeLessThan(5000);
  });

  it('/ready: 503 fail when a critical check fails, with its output', async () => {
    crit.behaviour = { throw: new Error('queue broker said no') };
    await settle(s, 'crit', 'fail');
    await expectVerdict(
      s,
      '/ready',
      503,
      {
        status: 'fail',
        checks: {
          'crit:responseTime': [entry('crit', 'fail', 'queue broker said no')],
          'opt:responseTime': [entry('opt', 'pass')],
        },
      },
      true,
    );
  });

  it('/ready: a non-critical failure is 200 "warn"; so is a check reporting warn', async () => {
    opt.behaviour = { throw: Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' }) };
    await settle(s, 'opt', 'fail');
    await expectVerdict(s, '/ready', 200, {
      status: 'warn',
      checks: {
        'crit:responseTime': [entry('crit', 'pass')],
        'opt:responseTime': [entry('opt', 'fail', 'ECONNREFUSED: connect failed')],
      },
    });

    opt.behaviour = 'pass';
    crit.behaviour = { warn: 'queue depth 900 above 800' };
    await settle(s, 'opt', 'pass');
    await settle(s, 'crit', 'warn');
    await expectVerdict(s, '/ready', 200, {
      status: 'warn',
      checks: {
        'crit:responseTime': [entry('crit', 'warn', 'queue depth 900 above 800')],
        'opt:responseTime': [entry('opt', 'pass')],
      },
    });
  });

  it('/ready?exclude=NAME (repeatable) leaves checks out; unknown names are ignored and listed in notes', async () => {
    crit.behaviour = { throw: new Error('down') };
    await settle(s, 'crit', 'fail');
    expect((await s.get('/ready')).status).toBe(503);
    expect((await s.get('/ready?exclude=opt')).status).toBe(503);

    let reply = await s.get('/ready?exclude=crit');
    expect(reply.status).toBe(200);
    let body = json(reply);
    expect(body.status).toBe('pass');
    expect(body).not.toHaveProperty('notes');

    opt.behaviour = { throw: new Error('down too') };
    await settle(s, 'opt', 'fail');
    expect(json(await s.get('/ready?exclude=crit')).status).toBe('warn');
    reply = await s.get('/ready?exclude=crit&exclude=opt');
    expect(reply.status).toBe(200);
    expect(json(reply).status).toBe('pass');

    reply = await s.get('/ready?exclude=nope&exclude=crit&exclude=opt&exclude=nope');
    expect(reply.status).toBe(200);
    body = json(reply);
    expect(body.status).toBe('pass');
    expect(body.notes).toStrictEqual(['unknown checks in exclude ignored: "nope"']);

    reply = await s.get('/ready?exclude=nope');
    expect(reply.status).toBe(503);
    expect(json(reply).notes).toStrictEqual(['unknown checks in exclude ignored: "nope"']);
  });

  it('/ready/NAME: 200 for pass/warn, 503 for fail whether critical or not; 404 JSON for an unknown name', async () => {
    let reply = await expectVerdict(
      s,
      '/ready/crit',
      200,
      {
        status: 'pass',
        checks: { 'crit:responseTime': [entry('crit', 'pass')] },
      },
      true,
    );

    crit.behaviour = { warn: 'slow' };
    opt.behaviour = { throw: new Error('optional thing down') };
    await settle(s, 'crit', 'warn');
    await settle(s, 'opt', 'fail');
    reply = await expectVerdict(s, '/ready/crit', 200, {
      status: 'warn',
      checks: { 'crit:responseTime': [entry('crit', 'warn', 'slow')] },
    });
    reply = await expectVerdict(
      s,
      '/ready/opt',
      503,
      {
        status: 'fail',
        checks: { 'opt:responseTime': [entry('opt', 'fail', 'optional thing down')] },
      },
      true,
    );
    // The overall verdict is only "warn": /ready/NAME is about the one check.
    expect((await s.get('/ready')).status).toBe(200);

    crit.behaviour = { throw: new Error('gone') };
    await settle(s, 'crit', 'fail');
    reply = await s.get('/ready/crit');
    expect(reply.status).toBe(503);
    expect(json(reply).status).toBe('fail');

    reply = await s.get('/ready/nope');
    expect(reply.status).toBe(404);
    expectJsonHeaders(reply, PLAIN_JSON);
    expect(json(reply)).toStrictEqual({ status: 'fail', error: 'unknown check' });
  });

  it('logs a state change as one JSON line (check, from, to, reason, duration) and nothing per request', async () => {
    const mark = s.logs.lines.length;
    for (const path of ['/health', '/ready', '/ready/crit', '/startup', '/metrics', '/nope']) await s.get(path);
    expect(s.logs.lines.slice(mark)).toStrictEqual([]);

    crit.behaviour = {
      throw: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5672'), { code: 'ECONNREFUSED' }),
    };
    await settle(s, 'crit', 'fail');
    crit.behaviour = 'pass';
    await settle(s, 'crit', 'pass');
    const changes = s.logs.lines.slice(mark);
    expect(changes).toHaveLength(2);
    expect(changes[0]).toMatchObject({
      level: 30,
      msg: 'check status changed',
      check: 'crit',
      from: 'pass',
      to: 'fail',
      reason: 'refused',
    });
    expect(changes[0]?.duration).toEqual(expect.any(Number));
    expect(changes[1]).toMatchObject({
      msg: 'check status changed',
      check: 'crit',
      from: 'fail',
      to: 'pass',
      reason: null,
    });
  });
});

describe('unknown results, /startup and draining', () => {
  const opened: RunningVitals[] = [];
  const start = async (...args: Parameters<typeof startVitals>) => {
    const running = await startVitals(...args);
    opened.push(running);
    return running;
  };
  afterEach(async () => {
    for (const running of opened.splice(0)) await running.close();
  });

  it('/ready is 503 while a critical check has no result yet; a non-critical unknown does not count', async () => {
    const slow = controlled('hold');
    const ok = controlled('pass');
    const optSlow = controlled('hold');
    const s = await start({ checks: [] }, [once('slow', slow), once('ok', ok), once('opt-slow', optSlow, false)]);
    await settle(s, 'ok', 'pass');

    const unknownEntry = (name: string) => ({
      componentId: name,
      componentType: 'component',
      status: 'unknown',
      output: 'no result yet',
    });
    let reply = await expectVerdict(
      s,
      '/ready',
      503,
      {
        status: 'fail',
        checks: {
          'slow:responseTime': [unknownEntry('slow')],
          'ok:responseTime': [entry('ok', 'pass')],
          'opt-slow:responseTime': [unknownEntry('opt-slow')],
        },
      },
      true,
    );
    reply = await expectVerdict(s, '/ready/slow', 503, {
      status: 'fail',
      checks: { 'slow:responseTime': [unknownEntry('slow')] },
    });
    expect((await s.get('/ready/opt-slow')).status).toBe(503);
    reply = await s.get('/ready?exclude=slow');
    expect(reply.status).toBe(200);
    expect(json(reply).status).toBe('pass');

    slow.release();
    await settle(s, 'slow', 'pass');
    reply = await s.get('/ready');
    expect(reply.status).toBe(200);
    expect(json(reply).status).toBe('pass');
    expect((await s.get('/ready/opt-slow')).status).toBe(503);
  });

  it('/startup: 503 until every check has a first result (a fail counts), then 200 for good', async () => {
    const a = controlled('pass');
    const b = controlled('hold');
    const s = await start({ checks: [] }, [fast('a', a), once('b', b)]);
    await settle(s, 'a', 'pass');

    await expectVerdict(
      s,
      '/startup',
      503,
      {
        status: 'fail',
        notes: ['waiting for the first result of every check'],
      },
      true,
    );
    const head = await s.get('/startup', { method: 'HEAD' });
    expect(head.status).toBe(503);
    expect(head.body).toBe('');

    b.release(new Error('dependency not there yet'));
    await settle(s, 'b', 'fail');
    await expectVerdict(s, '/startup', 200, { status: 'pass' }, true);
    expect((await s.get('/ready')).status).toBe(503);

    a.behaviour = { throw: new Error('later failure') };
    await settle(s, 'a', 'fail');
    await expectVerdict(s, '/startup', 200, { status: 'pass' });
  });

  it('draining: /ready 503 with a note (exclusion never overrides it); /health, /startup and /ready/NAME unchanged', async () => {
    const c = controlled('pass');
    const o = controlled({ throw: new Error('optional down') });
    const s = await start({ checks: [] }, [once('c', c), once('o', o, false)]);
    await settle(s, 'c', 'pass');
    await settle(s, 'o', 'fail');
    expect((await s.get('/ready')).status).toBe(200);

    s.drain();
    let reply = await expectVerdict(
      s,
      '/ready',
      503,
      {
        status: 'fail',
        checks: { 'c:responseTime': [entry('c', 'pass')], 'o:responseTime': [entry('o', 'fail', 'optional down')] },
        notes: [DRAINING_NOTE],
      },
      true,
    );
    reply = await s.get('/ready?exclude=c&exclude=o');
    expect(reply.status).toBe(503);
    expect(json(reply).status).toBe('fail');
    expect(json(reply).notes).toStrictEqual([DRAINING_NOTE]);
    reply = await s.get('/ready?exclude=nope');
    expect(reply.status).toBe(503);
    expect(json(reply).notes).toStrictEqual([DRAINING_NOTE, 'unknown checks in exclude ignored: "nope"']);

    reply = await expectVerdict(s, '/ready/c', 200, {
      status: 'pass',
      checks: { 'c:responseTime': [entry('c', 'pass')] },
    });
    expect((await s.get('/ready/o')).status).toBe(503);

    reply = await expectVerdict(
      s,
      '/health',
      200,
      {
        status: 'pass',
        checks: {
          uptime: [uptimeEntry()],
        },
      },
      true,
    );
    reply = await expectVerdict(s, '/startup', 200, { status: 'pass' });
  });

  it('stop() aborts a run in flight instead of leaving it to its deadline', async () => {
    const hung = controlled('hang');
    const s = await start({ checks: [] }, [once('hung', hung, true, 30_000)]);
    await waitUntil(() => hung.inFlight === 1, 2000, 'the run to start');
    await s.vitals.stop();
    await waitUntil(() => hung.aborted === 1 && hung.inFlight === 0, 2000, 'the run to be aborted');
    // A stopped vitals records nothing more: the abort is not reported as a failed run.
    expect(s.monitor.get('hung')?.status).toBe('unknown');
    expect(s.monitor.get('hung')?.last).toBeUndefined();
  });
});

describe('who sees per-check details', () => {
  const TOKEN = 'tok-7f3a9c0e5b1d';
  const opened: RunningVitals[] = [];
  afterEach(async () => {
    for (const running of opened.splice(0)) await running.close();
  });

  /** A server with one critical check that fails with output "gate closed". */
  async function gated(security: Record<string, unknown> | undefined, host?: string): Promise<RunningVitals> {
    const probe = controlled({ throw: new Error('gate closed') });
    const config = security === undefined ? { checks: [] } : { checks: [], security };
    const s = await startVitals(config, [once('gated', probe)], { host });
    opened.push(s);
    await settle(s, 'gated', 'fail');
    return s;
  }

  const detailed = {
    status: 'fail',
    version: VERSION,
    checks: { 'gated:responseTime': [entry('gated', 'fail', 'gate closed')] },
  };
  const bare = { status: 'fail', version: VERSION };

  async function expectDetails(s: RunningVitals, headers: Record<string, string>, shown: boolean): Promise<void> {
    for (const path of ['/ready', '/ready/gated']) {
      const reply = await s.get(path, { headers });
      expect(reply.status, path).toBe(503);
      expect(json(reply), `${path} ${JSON.stringify(headers)}`).toStrictEqual(shown ? detailed : bare);
    }
  }

  it('default security: a loopback caller is authorized', async () => {
    await expectDetails(await gated(undefined), {}, true);
  });

  it('allow 10.0.0.0/8: the loopback caller gets status and version only', async () => {
    await expectDetails(await gated({ allow: ['10.0.0.0/8'] }), {}, false);
  });

  it('token: exactly "Authorization: Bearer <token>" is authorized', async () => {
    const s = await gated({ allow: ['10.0.0.0/8'], token: TOKEN });
    await expectDetails(s, { Authorization: `Bearer ${TOKEN}` }, true);
    await expectDetails(s, {}, false);
    for (const authorization of [
      'Bearer wrong-token',
      `Bearer ${TOKEN.slice(0, 6)}`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Basic ${TOKEN}`,
      TOKEN,
      'Bearer ',
    ]) {
      await expectDetails(s, { Authorization: authorization }, false);
    }
  });

  it('X-Forwarded-For is believed only from trusted proxies, and the client is its rightmost untrusted hop', async () => {
    let s = await gated({ allow: ['10.0.0.0/8'] });
    await expectDetails(s, { 'X-Forwarded-For': '10.1.2.3' }, false);

    s = await gated({ allow: ['10.0.0.0/8'], trustProxy: ['127.0.0.0/8'] });
    await expectDetails(s, { 'X-Forwarded-For': '10.1.2.3' }, true);
    await expectDetails(s, { 'X-Forwarded-For': '10.1.2.3, 127.0.0.5' }, true);
    // The leftmost hop is whatever the client wrote; the rightmost untrusted one is who connected.
    await expectDetails(s, { 'X-Forwarded-For': '10.1.2.3, 192.0.2.9' }, false);
    await expectDetails(s, { 'X-Forwarded-For': 'not-an-address' }, false);
    await expectDetails(s, {}, false);
  });

  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;

  it.skipIf(external === undefined)(
    'a spoofed X-Forwarded-For: 127.0.0.1 from a non-loopback peer gets no details',
    async () => {
      let s = await gated(undefined, external);
      await expectDetails(s, {}, false);
      await expectDetails(s, { 'X-Forwarded-For': '127.0.0.1' }, false);
      s = await gated({ trustProxy: ['127.0.0.0/8'] }, external);
      await expectDetails(s, { 'X-Forwarded-For': '127.0.0.1' }, false);
    },
  );

  const hasIpv6Loopback = Object.values(os.networkInterfaces())
    .flat()
    .some((address) => address?.address === '::1');

  it.skipIf(!hasIpv6Loopback)('default security: an IPv6 loopback caller (::1) is authorized', async () => {
    await expectDetails(await gated(undefined, '::1'), {}, true);
  });

  it('details: never hides them from everyone; always shows them to anyone', async () => {
    let s = await gated({ details: 'never', token: TOKEN });
    await expectDetails(s, {}, false);
    await expectDetails(s, { Authorization: `Bearer ${TOKEN}` }, false);
    s = await gated({ details: 'always', allow: ['10.0.0.0/8'] });
    await expectDetails(s, {}, true);
  });

  it("a config secret in a check's error is redacted everywhere, and only its first line is shown", async () => {
    const probe = controlled({ throw: new Error(`login with ${TOKEN} refused\n    at Socket.connect (net.js:1:1)`) });
    const s = await startVitals({ checks: [], security: { token: TOKEN } }, [once('leaky', probe)]);
    opened.push(s);
    await settle(s, 'leaky', 'fail');
    const reply = await s.get('/ready/leaky');
    expect(json(reply)).toStrictEqual({
      status: 'fail',
      version: VERSION,
      checks: { 'leaky:responseTime': [entry('leaky', 'fail', 'login with *** refused')] },
    });
    const everything = [
      reply,
      await s.get('/ready'),
      await s.get('/metrics'),
      await s.get('/ready', { headers: { Accept: 'application/json' } }),
    ];
    for (const { body } of everything) expect(body).not.toContain(TOKEN);
    expect(s.logs.text()).toContain('login with *** refused');
    expect(s.logs.text()).not.toContain(TOKEN);
  });
});

describe('POST /-/reload', () => {
  const opened: RunningVitals[] = [];
  afterEach(async () => {
    for (const running of opened.splice(0)) await running.close();
  });
  const start = async (config: Record<string, unknown>, env?: NodeJS.ProcessEnv) => {
    const s = await startVitals(config, [once('steady', controlled('pass'))], { env });
    opened.push(s);
    await settle(s, 'steady', 'pass');
    return s;
  };
  const reload = (s: RunningVitals, headers: Record<string, string> = {}) =>
    s.get('/-/reload', { method: 'POST', headers });

  it('applies for a loopback caller (200) and leaves custom checks alone', async () => {
    const s = await start({ checks: [] });
    const reply = await reload(s);
    expect(reply.status).toBe(200);
    expectJsonHeaders(reply, PLAIN_JSON);
    expect(json(reply)).toStrictEqual({
      status: 'pass',
      applied: true,
      problems: [],
      added: [],
      changed: [],
      removed: [],
    });
    expect(s.monitor.get('steady')?.status).toBe('pass');
    expect((await s.get('/ready')).status).toBe(200);
  });

  it('is 403 for a caller that is not authorized, 200 with the token', async () => {
    const s = await start({ checks: [], security: { allow: ['10.0.0.0/8'], token: 'reload-token-1234' } });
    let reply = await reload(s);
    expect(reply.status).toBe(403);
    expectJsonHeaders(reply, PLAIN_JSON);
    expect(json(reply)).toStrictEqual({ status: 'fail', error: 'reload is allowed for authorized callers only' });
    expect((await reload(s, { Authorization: 'Bearer reload-token-12' })).status).toBe(403);
    expect((await reload(s, { 'X-Forwarded-For': '10.1.2.3' })).status).toBe(403);
    reply = await reload(s, { Authorization: 'Bearer reload-token-1234' });
    expect(reply.status).toBe(200);
    expect(json(reply).applied).toBe(true);
  });

  it('is 400 listing the problem when the config no longer resolves; the running config (and token) stays', async () => {
    const env: NodeJS.ProcessEnv = { VITALS_TOKEN: 'first-token-abc' };
    const s = await start({ checks: [], security: { allow: ['10.0.0.0/8'], token: '${VITALS_TOKEN}' } }, env);
    const first = { Authorization: 'Bearer first-token-abc' };
    const second = { Authorization: 'Bearer second-token-def' };
    expect('checks' in json(await s.get('/ready', { headers: first }))).toBe(true);

    delete env.VITALS_TOKEN;
    let reply = await reload(s, first);
    expect(reply.status).toBe(400);
    expectJsonHeaders(reply, PLAIN_JSON);
    expect(json(reply)).toStrictEqual({
      status: 'fail',
      applied: false,
      problems: [
        'security.token: environment variable VITALS_TOKEN is not set (use ${VITALS_TOKEN:-default} for a default)',
      ],
    });
    expect('checks' in json(await s.get('/ready', { headers: first }))).toBe(true);

    env.VITALS_TOKEN = 'second-token-def';
    reply = await reload(s, first);
    expect(reply.status).toBe(200);
    expect(json(reply).applied).toBe(true);
    expect('checks' in json(await s.get('/ready', { headers: first }))).toBe(false);
    expect('checks' in json(await s.get('/ready', { headers: second }))).toBe(true);
    const logs = s.logs.text();
    expect(logs).toContain('config reload rejected');
    expect(logs).not.toContain('first-token-abc');
    expect(logs).not.toContain('second-token-def');
  });
});

describe('methods, unknown paths and odd input', () => {
  let s: RunningVitals;
  beforeAll(async () => {
    s = await startVitals({ checks: [] }, [once('steady', controlled('pass'))]);
    await settle(s, 'steady', 'pass');
  });
  afterAll(async () => {
    await s.close();
  });

  it('HEAD on every GET route: same status and headers (content-length included), no body', async () => {
    const paths = ['/health', '/ready', '/ready/steady', '/ready/nope', '/startup', '/metrics', '/', '/nope'];
    for (const path of paths) {
      const headerSets: Record<string, string>[] = [{}, { Accept: 'application/json' }];
      for (const headers of headerSets) {
        const get = await s.get(path, { headers });
        const head = await s.get(path, { method: 'HEAD', headers });
        expect(head.status, path).toBe(get.status);
        expect(head.body, path).toBe('');
        expect(stableHeaders(head.headers, ['date', 'content-length']), path).toStrictEqual(
          stableHeaders(get.headers, ['date', 'content-length']),
        );
        const getLength = get.headers['content-length'];
        const headLength = head.headers['content-length'];
        expect(getLength, path).toBe(String(Buffer.byteLength(get.body)));
        // The metrics text changes between two scrapes (process CPU, memory): only its presence is comparable.
        if (path === '/metrics') expect(Number(headLength)).toBeGreaterThan(1000);
        else expect(headLength, path).toBe(getLength);
      }
    }
  });

  it('other methods get 405 JSON with an Allow header', async () => {
    for (const path of ['/health', '/ready', '/ready/steady', '/startup', '/metrics', '/']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const reply = await s.get(path, { method });
        expect(reply.status, `${method} ${path}`).toBe(405);
        expect(reply.headers.allow, `${method} ${path}`).toBe('GET, HEAD');
        expectJsonHeaders(reply, PLAIN_JSON);
        expect(json(reply)).toStrictEqual({ status: 'fail', error: `method ${method} not allowed; use GET, HEAD` });
      }
    }
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const reply = await s.get('/-/reload', { method });
      expect(reply.status, `${method} /-/reload`).toBe(405);
      expect(reply.headers.allow).toBe('POST');
      expectJsonHeaders(reply, PLAIN_JSON);
      expect(json(reply)).toStrictEqual({ status: 'fail', error: `method ${method} not allowed; use POST` });
    }
    const head = await s.get('/-/reload', { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.allow).toBe('POST');
    expect(head.body).toBe('');
  });

  it('unknown paths are 404 JSON', async () => {
    for (const path of ['/nope', '/healthz', '/ready/steady/extra', '/metrics/x', '/-/reload/x']) {
      const reply = await s.get(path);
      expect(reply.status, path).toBe(404);
      expectJsonHeaders(reply, PLAIN_JSON);
      expect(json(reply)).toStrictEqual({ status: 'fail', error: 'not found' });
    }
  });

  it('bad percent-encoding is a 4xx, never a 5xx', async () => {
    for (const path of ['/ready/%E0%A4%A', '/%', '/ready/%', '/%E0%A4%A', '/ready/%ZZ', '/ready/%00', '/metrics/%']) {
      const reply = await s.get(path);
      expect(reply.status, path).toBeGreaterThanOrEqual(400);
      expect(reply.status, path).toBeLessThan(500);
      expect(json(reply).status).toBe('fail');
    }
    for (const path of [
      '/health?%',
      '/ready?exclude=%E0%A4%A',
      '/ready?exclude=%',
      '/ready?%%=&&exclude',
      '/metrics?%',
      '/ready/%73teady',
    ]) {
      const reply = await s.get(path);
      expect(reply.status, path).toBe(200);
    }
  });

  it('a huge ?exclude list answers 200/503 (or 431 from the header limit), never a 5xx', async () => {
    let reply = await s.get(`/ready?${'exclude=x&'.repeat(1000)}`);
    expect(reply.status).toBe(200);
    expect(json(reply).notes).toStrictEqual(['unknown checks in exclude ignored: "x"']);

    const many = Array.from({ length: 1000 }, (_, i) => `exclude=n${String(i)}`).join('&');
    reply = await s.get(`/ready?${many}&exclude=${'y'.repeat(500)}`);
    expect(reply.status).toBe(200);
    const [note] = json(reply).notes as string[];
    expect(note).toMatch(/^unknown checks in exclude ignored: "n0", .*"n9", \.\.\.$/);
    expect(note?.length).toBeLessThan(200);

    // 10,000 repetitions are a 100 kB request line: Node's 16 kB header limit answers 431 first;
    // Node 24 may also reset the connection while the client is still writing the line.
    const outcome = await s.get(`/ready?${'exclude=x&'.repeat(10_000)}`).then(
      (r) => r.status,
      (error: unknown) => (error as NodeJS.ErrnoException).code,
    );
    expect([200, 503, 431, 'ECONNRESET', 'EPIPE']).toContain(outcome);
  });

  it('GET / is the status page, linking the routes', async () => {
    const reply = await s.get('/');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    for (const route of ['health', 'ready', 'startup', 'metrics']) expect(reply.body).toContain(`href="${route}"`);
  });
});
