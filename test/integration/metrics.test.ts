/**
 * The own metrics against the real HTTP server: every family, its type, labels and values, for
 * custom checks (addCheck) that pass, fail for each reason, and hang; content negotiation; and
 * promtool's lint of the whole exposition.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckFailure } from '../../src/checks/classify.js';
import { EXPECTED_REASONS } from '../support/contract.js';
import { resolveBinary, skipUnlessBinaries } from '../support/binaries.js';
import { waitFor, waitUntil } from '../support/wait.js';
import { controlled, fast, settle, startVitals, type ControlledProbe, type RunningVitals } from '../support/vitals.js';
import { json, type Reply } from '../support/http.js';
import { closedPort } from '../support/ports.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
const STATUSES = ['fail', 'pass', 'unknown', 'warn'];
/** The documented default buckets of vitals_check_run_duration_seconds, written out. */
const DEFAULT_LES = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];

/** Every own family and its type, as the metrics contract lists them. */
const FAMILIES: Record<string, 'gauge' | 'counter' | 'histogram'> = {
  vitals_check_up: 'gauge',
  vitals_check_status: 'gauge',
  vitals_check_duration_seconds: 'gauge',
  vitals_check_run_duration_seconds: 'histogram',
  vitals_check_phase_duration_seconds: 'gauge',
  vitals_check_timeout_seconds: 'gauge',
  vitals_check_last_success_timestamp_seconds: 'gauge',
  vitals_check_last_run_timestamp_seconds: 'gauge',
  vitals_check_runs_total: 'counter',
  vitals_check_failures_total: 'counter',
  vitals_check_info: 'gauge',
  vitals_check_tls_cert_expiry_timestamp_seconds: 'gauge',
  vitals_check_maintenance: 'gauge',
  vitals_ready: 'gauge',
  vitals_draining: 'gauge',
  vitals_build_info: 'gauge',
  vitals_config_last_reload_successful: 'gauge',
  vitals_config_last_reload_success_timestamp_seconds: 'gauge',
};

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly helps: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** A small parser for the text exposition format (0.0.4); throws on a line it cannot read. */
function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line === '# EOF') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'TYPE' ? types : helps).set(meta[2] ?? '', meta[3] ?? '');
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!sample) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = sample[2] ?? '';
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    let consumed = 0;
    for (let match = label.exec(body); match !== null; match = label.exec(body)) {
      labels[match[1] ?? ''] = (match[2] ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = label.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`unparsable labels: ${line}`);
    samples.push({ name: sample[1] ?? '', labels, value: parseValue(sample[3] ?? '') });
  }
  return { types, helps, samples };
}

/** Samples of `name` whose labels include `labels`. */
function series(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The value of the one sample of `name` with exactly `labels`. */
function value(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = exposition.samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  expect(found, `${name}${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0]?.value ?? NaN;
}

async function scrape(s: RunningVitals, headers: Record<string, string> = {}): Promise<Exposition> {
  const reply = await s.get('/metrics', { headers });
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toBe(TEXT);
  return parseExposition(reply.body);
}

const checkLabels = (check: string, critical = true) => ({ check, kind: 'custom', critical: String(critical) });

/** Waits until the check has at least `runs` runs in /metrics, and returns that scrape. */
async function afterRuns(s: RunningVitals, check: string, runs: number, critical = true): Promise<Exposition> {
  let latest: Exposition | undefined;
  await waitFor(
    async () => {
      latest = await scrape(s);
      return value(latest, 'vitals_check_runs_total', checkLabels(check, critical)) >= runs;
    },
    (ok) => ok,
    5000,
    { what: `${String(runs)} runs of ${check}` },
  );
  if (latest === undefined) throw new Error('unreachable');
  return latest;
}

const opened: RunningVitals[] = [];
async function start(...args: Parameters<typeof startVitals>): Promise<RunningVitals> {
  const s = await startVitals(...args);
  opened.push(s);
  return s;
}

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

describe('/metrics: own metrics', () => {
  it('every family has its type and help, and every series exists from startup at its starting value', async () => {
    const before = Date.now() / 1000;
    const fresh = controlled('hold');
    const optional = controlled('hold');
    const s = await start({ checks: [] }, [
      { name: 'fresh', interval: 60_000, timeout: 2500, run: fresh.run },
      { name: 'fresh-opt', critical: false, interval: 60_000, timeout: 750, run: optional.run },
    ]);
    await waitUntil(() => fresh.inFlight === 1 && optional.inFlight === 1, 2000, 'the first runs to start');
    const m = await scrape(s);
    const after = Date.now() / 1000;

    for (const [family, type] of Object.entries(FAMILIES)) {
      expect(m.types.get(family), `# TYPE ${family}`).toBe(type);
      expect(m.helps.get(family), `# HELP ${family}`).toMatch(/\S/);
    }
    // Nothing else carries our prefix.
    expect([...m.types.keys()].filter((name) => name.startsWith('vitals_')).sort()).toStrictEqual(
      Object.keys(FAMILIES).sort(),
    );

    for (const [check, critical, timeout] of [
      ['fresh', true, 2.5],
      ['fresh-opt', false, 0.75],
    ] as const) {
      const labels = checkLabels(check, critical);
      expect(value(m, 'vitals_check_up', labels)).toBe(0);
      for (const status of STATUSES)
        expect(value(m, 'vitals_check_status', { ...labels, status }), status).toBe(status === 'unknown' ? 1 : 0);
      expect(
        series(m, 'vitals_check_status', { check })
          .map((x) => x.labels.status)
          .sort(),
      ).toStrictEqual(STATUSES);
      expect(value(m, 'vitals_check_duration_seconds', labels)).toBe(0);
      expect(value(m, 'vitals_check_timeout_seconds', labels)).toBe(timeout);
      expect(value(m, 'vitals_check_last_success_timestamp_seconds', labels)).toBe(0);
      expect(value(m, 'vitals_check_last_run_timestamp_seconds', labels)).toBe(0);
      expect(value(m, 'vitals_check_runs_total', labels)).toBe(0);
      for (const reason of EXPECTED_REASONS)
        expect(value(m, 'vitals_check_failures_total', { ...labels, reason }), reason).toBe(0);
      expect(
        series(m, 'vitals_check_failures_total', { check })
          .map((x) => x.labels.reason)
          .sort(),
      ).toStrictEqual(EXPECTED_REASONS);
      expect(value(m, 'vitals_check_info', { ...labels, target: '' })).toBe(1);
      expect(series(m, 'vitals_check_info', { check })).toHaveLength(1);
      expect(value(m, 'vitals_check_maintenance', labels)).toBe(0);
      expect(series(m, 'vitals_check_run_duration_seconds_bucket', { check }).map((x) => x.labels.le)).toStrictEqual(
        DEFAULT_LES,
      );
      for (const le of DEFAULT_LES)
        expect(value(m, 'vitals_check_run_duration_seconds_bucket', { ...labels, le }), le).toBe(0);
      expect(value(m, 'vitals_check_run_duration_seconds_sum', labels)).toBe(0);
      expect(value(m, 'vitals_check_run_duration_seconds_count', labels)).toBe(0);
      // A custom check has no phases to report.
      expect(series(m, 'vitals_check_phase_duration_seconds', { check })).toHaveLength(0);
    }

    expect(value(m, 'vitals_ready')).toBe(0);
    expect((await s.get('/ready')).status).toBe(503);
    expect(value(m, 'vitals_draining')).toBe(0);
    expect(value(m, 'vitals_build_info', { version: VERSION, nodejs: process.version })).toBe(1);
    expect(value(m, 'vitals_config_last_reload_successful')).toBe(1);
    const appliedAt = value(m, 'vitals_config_last_reload_success_timestamp_seconds');
    expect(appliedAt).toBeGreaterThanOrEqual(before - 0.01);
    expect(appliedAt).toBeLessThanOrEqual(after + 0.01);
  });

  it('the certificate expiry gauge: only for a check that has made a TLS handshake, from its first, kept while later runs fail before one', async () => {
    const notAfter = Date.parse('2031-01-02T03:04:05Z');
    let handshake = true;
    const s = await start({ checks: [] }, [
      {
        name: 'tls',
        interval: 100,
        timeout: 50,
        run: async (_signal, recorder) => {
          if (!handshake) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
          recorder.certificate({ notAfter, commonName: 'db.internal' });
          return Promise.resolve();
        },
      },
      fast('plain', controlled('pass')),
    ]);
    let m = await afterRuns(s, 'tls', 1);
    expect(value(m, 'vitals_check_tls_cert_expiry_timestamp_seconds', checkLabels('tls'))).toBe(notAfter / 1000);
    expect(series(m, 'vitals_check_tls_cert_expiry_timestamp_seconds', { check: 'plain' })).toHaveLength(0);
    handshake = false;
    const runs = value(m, 'vitals_check_runs_total', checkLabels('tls'));
    m = await afterRuns(s, 'tls', runs + 2);
    expect(value(m, 'vitals_check_up', checkLabels('tls'))).toBe(0);
    expect(value(m, 'vitals_check_tls_cert_expiry_timestamp_seconds', checkLabels('tls'))).toBe(notAfter / 1000);
    const openMetrics = await s.get('/metrics', { headers: { accept: 'application/openmetrics-text' } });
    expect(openMetrics.body).toContain(
      `vitals_check_tls_cert_expiry_timestamp_seconds{check="tls",kind="custom",critical="true"} ${String(notAfter / 1000)}\n`,
    );
    const registry = await s.vitals.registry.getSingleMetricAsString('vitals_check_tls_cert_expiry_timestamp_seconds');
    expect(registry).toContain(`check="tls"`);
    expect(registry).not.toContain(`check="plain"`);
  });

  it('a passing check: up 1, status pass, runs counted, no failures, last success = last run', async () => {
    const ok = controlled('pass');
    const s = await start({ checks: [] }, [fast('ok', ok)]);
    const m = await afterRuns(s, 'ok', 2);
    const labels = checkLabels('ok');
    expect(value(m, 'vitals_check_up', labels)).toBe(1);
    for (const status of STATUSES)
      expect(value(m, 'vitals_check_status', { ...labels, status }), status).toBe(status === 'pass' ? 1 : 0);
    const runs = value(m, 'vitals_check_runs_total', labels);
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(ok.runs);
    for (const reason of EXPECTED_REASONS)
      expect(value(m, 'vitals_check_failures_total', { ...labels, reason }), reason).toBe(0);
    const lastRun = value(m, 'vitals_check_last_run_timestamp_seconds', labels);
    expect(Math.abs(lastRun - Date.now() / 1000)).toBeLessThan(5);
    expect(value(m, 'vitals_check_last_success_timestamp_seconds', labels)).toBe(lastRun);
    const duration = value(m, 'vitals_check_duration_seconds', labels);
    expect(duration).toBeGreaterThan(0);
    expect(duration).toBeLessThan(0.1);
    expect(value(m, 'vitals_check_timeout_seconds', labels)).toBe(0.1);
    expect(value(m, 'vitals_ready')).toBe(1);
    expect((await s.get('/ready')).status).toBe(200);
  });

  it('the run duration histogram counts every run in its bucket, with metrics.durationBuckets as the bounds', async () => {
    const slow = async () => {
      await new Promise((resolve) => setTimeout(resolve, 60));
    };
    const s = await start({ checks: [], metrics: { durationBuckets: [0.03, 2] } }, [
      { name: 'slow', interval: 200, timeout: 150, run: slow },
      { name: 'quick', interval: 200, timeout: 150, run: async () => undefined },
    ]);
    const m = await afterRuns(s, 'slow', 3);
    const slowLabels = checkLabels('slow');
    const count = value(m, 'vitals_check_run_duration_seconds_count', slowLabels);
    expect(count).toBe(value(m, 'vitals_check_runs_total', slowLabels));
    // 60 ms sleeps: above the 30 ms bound, within the 2 s one, however loaded the machine.
    expect(value(m, 'vitals_check_run_duration_seconds_bucket', { ...slowLabels, le: '0.03' })).toBe(0);
    expect(value(m, 'vitals_check_run_duration_seconds_bucket', { ...slowLabels, le: '2' })).toBe(count);
    expect(value(m, 'vitals_check_run_duration_seconds_bucket', { ...slowLabels, le: '+Inf' })).toBe(count);
    const sum = value(m, 'vitals_check_run_duration_seconds_sum', slowLabels);
    expect(sum).toBeGreaterThanOrEqual(0.059 * count);
    expect(sum).toBeLessThan(2 * count);
    const quick = await afterRuns(s, 'quick', 3);
    const quickCount = value(quick, 'vitals_check_run_duration_seconds_count', checkLabels('quick'));
    expect(value(quick, 'vitals_check_run_duration_seconds_bucket', { ...checkLabels('quick'), le: '0.03' })).toBe(
      quickCount,
    );
    // The embedding application's registry shows the same histogram.
    const registry = await s.vitals.registry.getSingleMetricAsString('vitals_check_run_duration_seconds');
    expect(registry).toContain('# TYPE vitals_check_run_duration_seconds histogram');
    expect(registry).toMatch(
      /vitals_check_run_duration_seconds_bucket\{check="quick",kind="custom",critical="true",le="\+Inf"\} [1-9]/,
    );
  });

  it('the phase gauge: one series per phase of the kind, from the last run, 0 for a phase it did not reach', async () => {
    const listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    try {
      const s = await start({
        checks: [
          { name: 'open', kind: 'tls', host: '127.0.0.1', port, interval: '200ms', timeout: '150ms' },
          {
            name: 'closed',
            kind: 'tcp',
            host: '127.0.0.1',
            port: await closedPort(),
            interval: '200ms',
            timeout: '150ms',
          },
        ],
      });
      const labels = { check: 'open', kind: 'tls', critical: 'true' };
      let m = await scrape(s);
      await waitFor(
        async () => (m = await scrape(s)),
        (latest) => value(latest, 'vitals_check_runs_total', labels) >= 1,
        5000,
        { what: 'a run of the tls check' },
      );
      expect(
        series(m, 'vitals_check_phase_duration_seconds', { check: 'open' }).map((x) => x.labels.phase),
      ).toStrictEqual(['connect', 'tls']);
      // The listener hangs up before the handshake: connected, never through TLS.
      expect(value(m, 'vitals_check_phase_duration_seconds', { ...labels, phase: 'connect' })).toBeGreaterThan(0);
      expect(value(m, 'vitals_check_phase_duration_seconds', { ...labels, phase: 'tls' })).toBe(0);
      expect(
        value(m, 'vitals_check_phase_duration_seconds', {
          check: 'closed',
          kind: 'tcp',
          critical: 'true',
          phase: 'connect',
        }),
      ).toBe(0);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it("a check's extra labels are on every one of its series, after check, kind and critical, by name", async () => {
    const s = await start({ checks: [] }, [
      { ...fast('paid', controlled('pass')), labels: { tier: '1', team: 'pay"ments' } },
      fast('plain', controlled('pass')),
    ]);
    let m = await scrape(s);
    await waitFor(
      async () => (m = await scrape(s)),
      (latest) => (series(latest, 'vitals_check_runs_total', { check: 'paid' })[0]?.value ?? 0) >= 1,
      5000,
      { what: 'a run of paid' },
    );
    const own = m.samples.filter((x) => x.labels.check === 'paid');
    // 18 series of the other families (vitals_check_maintenance among them), 14 of the histogram.
    expect(own.length).toBe(32);
    for (const sample of own) {
      expect(sample.labels, sample.name).toMatchObject({ team: 'pay"ments', tier: '1' });
    }
    expect(m.samples.filter((x) => x.labels.check === 'plain' && 'team' in x.labels)).toHaveLength(0);
    const text = (await s.get('/metrics')).body;
    expect(text).toContain('vitals_check_up{check="paid",kind="custom",critical="true",team="pay\\"ments",tier="1"} 1');
    const registry = await s.vitals.registry.getSingleMetricAsString('vitals_check_up');
    expect(registry).toContain('team="pay\\"ments"');
    expect(() => {
      s.vitals.addCheck({ ...fast('bad', controlled('pass')), labels: { check: 'x' } });
    }).toThrow(/addCheck\("bad"\)\.labels\.check: reserved/);
  });

  it('metrics.histogram: false leaves the histogram out, and nothing else', async () => {
    const s = await start({ checks: [], metrics: { histogram: false } }, [fast('plain', controlled('pass'))]);
    const m = await afterRuns(s, 'plain', 1);
    expect([...m.types.keys()].filter((name) => name.startsWith('vitals_')).sort()).toStrictEqual(
      Object.keys(FAMILIES)
        .filter((name) => name !== 'vitals_check_run_duration_seconds')
        .sort(),
    );
    expect(m.samples.filter((x) => x.name.startsWith('vitals_check_run_duration_seconds'))).toHaveLength(0);
  });

  it('each failure is counted under its reason; a hang is a timeout at the configured deadline', async () => {
    const cases: [string, ControlledProbe, string][] = [
      [
        'refused',
        controlled({ throw: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) }),
        'refused',
      ],
      ['hung', controlled('hang'), 'timeout'],
      ['reset', controlled({ throw: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) }), 'protocol'],
      ['denied', controlled({ throw: new CheckFailure('access denied', 'auth') }), 'auth'],
      ['broken', controlled({ throw: new Error('boom') }), 'error'],
    ];
    const s = await start(
      { checks: [] },
      cases.map(([name, probe]) => fast(name, probe, name !== 'broken')),
    );
    let m: Exposition | undefined;
    for (const [name] of cases) m = await afterRuns(s, name, 2, name !== 'broken');
    m = await scrape(s);
    for (const [name, , reason] of cases) {
      const labels = checkLabels(name, name !== 'broken');
      const runs = value(m, 'vitals_check_runs_total', labels);
      expect(runs, name).toBeGreaterThanOrEqual(2);
      for (const r of EXPECTED_REASONS) {
        expect(value(m, 'vitals_check_failures_total', { ...labels, reason: r }), `${name} ${r}`).toBe(
          r === reason ? runs : 0,
        );
      }
      expect(value(m, 'vitals_check_up', labels), name).toBe(0);
      for (const status of STATUSES)
        expect(value(m, 'vitals_check_status', { ...labels, status }), `${name} ${status}`).toBe(
          status === 'fail' ? 1 : 0,
        );
      expect(value(m, 'vitals_check_last_success_timestamp_seconds', labels), name).toBe(0);
      expect(value(m, 'vitals_check_last_run_timestamp_seconds', labels), name).toBeGreaterThan(Date.now() / 1000 - 5);
    }
    const hung = value(m, 'vitals_check_duration_seconds', checkLabels('hung'));
    expect(hung).toBeGreaterThanOrEqual(0.095);
    expect(hung).toBeLessThan(0.5);
    expect(value(m, 'vitals_ready')).toBe(0);
    expect(value(m, 'vitals_check_info', { ...checkLabels('broken', false), target: '' })).toBe(1);
  });

  it('pass -> fail -> pass: counters grow, last success holds while failing, up and vitals_ready follow /ready', async () => {
    const flip = controlled('pass');
    const optional = controlled({ throw: new Error('optional down') });
    const s = await start({ checks: [] }, [fast('flip', flip), fast('optional', optional, false)]);
    const labels = checkLabels('flip');
    let m = await afterRuns(s, 'flip', 1);
    await afterRuns(s, 'optional', 1, false);
    m = await scrape(s);
    // A non-critical failure is "warn": still ready.
    expect(value(m, 'vitals_ready')).toBe(1);
    expect(json(await s.get('/ready')).status).toBe('warn');

    flip.behaviour = { throw: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) };
    await settle(s, 'flip', 'fail');
    const a = await scrape(s);
    const lastSuccess = value(a, 'vitals_check_last_success_timestamp_seconds', labels);
    expect(lastSuccess).toBeGreaterThan(0);
    const runsA = value(a, 'vitals_check_runs_total', labels);
    const refusedA = value(a, 'vitals_check_failures_total', { ...labels, reason: 'refused' });
    expect(refusedA).toBeGreaterThanOrEqual(1);
    const b = await afterRuns(s, 'flip', runsA + 2);
    const runsB = value(b, 'vitals_check_runs_total', labels);
    expect(value(b, 'vitals_check_failures_total', { ...labels, reason: 'refused' })).toBe(refusedA + (runsB - runsA));
    expect(value(b, 'vitals_check_failures_total', { ...labels, reason: 'error' })).toBe(0);
    expect(value(b, 'vitals_check_last_success_timestamp_seconds', labels)).toBe(lastSuccess);
    expect(value(b, 'vitals_check_last_run_timestamp_seconds', labels)).toBeGreaterThan(lastSuccess);
    expect(value(b, 'vitals_check_up', labels)).toBe(0);
    expect(value(b, 'vitals_check_status', { ...labels, status: 'fail' })).toBe(1);
    expect(value(b, 'vitals_check_status', { ...labels, status: 'pass' })).toBe(0);
    expect(value(b, 'vitals_ready')).toBe(0);
    expect((await s.get('/ready')).status).toBe(503);

    flip.behaviour = { warn: 'slow but fine' };
    await settle(s, 'flip', 'warn');
    const c = await scrape(s);
    expect(value(c, 'vitals_check_up', labels)).toBe(1);
    expect(value(c, 'vitals_check_status', { ...labels, status: 'warn' })).toBe(1);
    expect(series(c, 'vitals_check_status', { check: 'flip' }).filter((x) => x.value === 1)).toHaveLength(1);
    expect(value(c, 'vitals_check_last_success_timestamp_seconds', labels)).toBeGreaterThan(lastSuccess);
    expect(value(c, 'vitals_ready')).toBe(1);
    expect((await s.get('/ready')).status).toBe(200);
  });

  it('stays 200 when every check fails and while draining; vitals_draining 1 after drain()', async () => {
    const s = await start({ checks: [] }, [
      fast('one', controlled({ throw: new Error('down') })),
      fast('two', controlled('hang')),
    ]);
    await afterRuns(s, 'one', 1);
    let m = await afterRuns(s, 'two', 1);
    expect(value(m, 'vitals_check_up', checkLabels('one'))).toBe(0);
    expect(value(m, 'vitals_check_up', checkLabels('two'))).toBe(0);
    expect(value(m, 'vitals_draining')).toBe(0);

    s.drain();
    m = await scrape(s);
    expect(value(m, 'vitals_draining')).toBe(1);
    expect(value(m, 'vitals_ready')).toBe(0);
    const om = await s.get('/metrics', { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(om.status).toBe(200);
    const head = await s.get('/metrics', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe(TEXT);
  });

  it('config reload gauges: 1 and the apply time on success, 0 (time kept) when a reload is rejected', async () => {
    const env: NodeJS.ProcessEnv = { VITALS_TOKEN: 'reload-token-one' };
    const s = await start({ checks: [], security: { token: '${VITALS_TOKEN}' } }, [], { env });
    let m = await scrape(s);
    expect(value(m, 'vitals_config_last_reload_successful')).toBe(1);
    const first = value(m, 'vitals_config_last_reload_success_timestamp_seconds');
    expect(first).toBeGreaterThan(0);

    await waitUntil(() => Date.now() / 1000 > first + 0.01, 1000, 'the clock to move');
    expect((await s.get('/-/reload', { method: 'POST' })).status).toBe(200);
    m = await scrape(s);
    expect(value(m, 'vitals_config_last_reload_successful')).toBe(1);
    const second = value(m, 'vitals_config_last_reload_success_timestamp_seconds');
    expect(second).toBeGreaterThan(first);

    delete env.VITALS_TOKEN;
    expect((await s.get('/-/reload', { method: 'POST' })).status).toBe(400);
    m = await scrape(s);
    expect(value(m, 'vitals_config_last_reload_successful')).toBe(0);
    expect(value(m, 'vitals_config_last_reload_success_timestamp_seconds')).toBe(second);

    env.VITALS_TOKEN = 'reload-token-two';
    expect((await s.get('/-/reload', { method: 'POST' })).status).toBe(200);
    m = await scrape(s);
    expect(value(m, 'vitals_config_last_reload_successful')).toBe(1);
    expect(value(m, 'vitals_config_last_reload_success_timestamp_seconds')).toBeGreaterThan(second);
  });
});

describe('/metrics: content negotiation', () => {
  it('OpenMetrics when Accept asks for it (counters as families without _total, # EOF last); text for anything else, never 406', async () => {
    const s = await start({ checks: [] }, [fast('neg', controlled('pass'))]);
    await afterRuns(s, 'neg', 1);

    const openMetricsAccepts = [
      'application/openmetrics-text; version=1.0.0',
      // What Prometheus 2.x sends.
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    ];
    for (const accept of openMetricsAccepts) {
      const reply: Reply = await s.get('/metrics', { headers: { Accept: accept } });
      expect(reply.status, accept).toBe(200);
      expect(reply.headers['content-type'], accept).toBe(OPENMETRICS);
      expect(reply.headers['cache-control']).toBe('no-store');
      expect(reply.body.endsWith('\n# EOF\n'), accept).toBe(true);
      expect(reply.body.split('\n').filter((line) => line === '# EOF')).toHaveLength(1);
      const lines = reply.body.split('\n');
      expect(lines).toContain('# TYPE vitals_check_runs counter');
      expect(lines).toContain('# TYPE vitals_check_failures counter');
      expect(lines).toContain('# TYPE vitals_check_up gauge');
      expect(lines.some((line) => line.startsWith('# TYPE vitals_check_runs_total'))).toBe(false);
      const om = parseExposition(reply.body);
      expect(value(om, 'vitals_check_runs_total', checkLabels('neg'))).toBeGreaterThanOrEqual(1);
      expect(value(om, 'vitals_check_up', checkLabels('neg'))).toBe(1);
      const head = await s.get('/metrics', { method: 'HEAD', headers: { Accept: accept } });
      expect(head.status).toBe(200);
      expect(head.headers['content-type']).toBe(OPENMETRICS);
    }

    for (const accept of [
      undefined,
      'text/html',
      '*/*',
      'application/json',
      'text/plain',
      'application/openmetrics-text;q=0.5, text/plain;q=0.9',
      'garbage;;q=x',
    ]) {
      const reply = await s.get('/metrics', { headers: accept === undefined ? {} : { Accept: accept } });
      expect(reply.status, String(accept)).toBe(200);
      expect(reply.headers['content-type'], String(accept)).toBe(TEXT);
      expect(reply.body).not.toContain('# EOF');
      expect(reply.body.split('\n')).toContain('# TYPE vitals_check_runs_total counter');
      expect(value(parseExposition(reply.body), 'vitals_check_up', checkLabels('neg'))).toBe(1);
    }
  });
});

describe.skipIf(skipUnlessBinaries(['promtool'], 'promtool lint'))('/metrics: promtool check metrics', () => {
  it("the whole exposition (our families and the default process and Node.js ones) passes promtool's lint with no output", async () => {
    const s = await start({ checks: [] }, [
      fast('good', controlled('pass')),
      fast('bad', controlled({ throw: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }), false),
      { name: 'pending', interval: 60_000, timeout: 30_000, run: controlled('hold').run },
    ]);
    await afterRuns(s, 'good', 1);
    await afterRuns(s, 'bad', 1, false);
    const reply = await s.get('/metrics');
    expect(reply.status).toBe(200);
    const families = [...parseExposition(reply.body).types.keys()];
    expect(families.filter((name) => name.startsWith('vitals_')).length).toBe(Object.keys(FAMILIES).length);
    // The default metrics are there, so the lint covers them too.
    expect(families).toEqual(
      expect.arrayContaining([
        'process_cpu_user_seconds_total',
        'nodejs_eventloop_lag_seconds',
        'nodejs_active_handles',
      ]),
    );
    const result = spawnSync(resolveBinary('promtool'), ['check', 'metrics'], {
      input: reply.body,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.error).toBeUndefined();
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });

  it('drops the three default gauges whose names break the counter-only _total rule; their per-type gauges stay', async () => {
    const s = await start({ checks: [] }, []);
    const types = parseExposition((await s.get('/metrics')).body).types;
    for (const name of ['nodejs_active_handles', 'nodejs_active_requests', 'nodejs_active_resources']) {
      expect(types.has(`${name}_total`), `${name}_total`).toBe(false);
      expect(types.get(name), name).toBe('gauge');
    }
  });
});
