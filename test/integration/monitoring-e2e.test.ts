/**
 * The monitoring kit end to end: one throwaway MariaDB, one vitals watching it, one Prometheus
 * running a copy of our prometheus.yml and rules/vitals-alerts.yml, one Alertmanager running a
 * copy of our alertmanager.yml, and a webhook receiver standing in for the pager and the
 * ticket system. The copies are transformed as parsed YAML (never by regex on the text), only
 * in what a test must change: intervals, `for:` durations, addresses.
 *
 *  1. Prometheus scrapes vitals (it asks for OpenMetrics first, so the translation is used);
 *  2. MariaDB is killed: VitalsCheckFailing reaches /pager with the exact labels, the
 *     non-critical check's VitalsCheckDegraded reaches /ticket, VitalsNotReady is inhibited;
 *  3. MariaDB is restarted: the resolved notification reaches /pager;
 *  4. every query of grafana/dashboards/vitals.json (panels and variables) returns data.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { EXPECTED_REASONS } from '../support/contract.js';
import { skipUnlessBinaries } from '../support/binaries.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { makeTestPki, startCertServer, type CertServer, type TestPki } from '../support/certificates.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import {
  startAlertmanager,
  startPrometheus,
  startWebhookReceiver,
  type AlertmanagerServer,
  type PrometheusServer,
  type PromSample,
  type WebhookDelivery,
  type WebhookReceiver,
} from '../support/prometheus.js';
import { readRepoFile } from '../support/repo.js';
import { startVitals, type RunningVitals } from '../support/vitals.js';
import { waitFor } from '../support/wait.js';

const CRITICAL = 'primary-db';
const NON_CRITICAL = 'reporting-db';
/** A tls check whose server starts with a 40-day certificate and then presents a 2-day one. */
const CERT_CHECK = 'payments-tls';
/** Every `for:` in the rules becomes this. */
const SHORT_FOR = '2s';
/** What Prometheus 2.42 sends when it scrapes (scrape/scrape.go, scrapeAcceptHeader). */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
/** The five `reason` values of vitals_check_failures_total (docs/reference/metrics.md). */

// ------------------------------------------------------------------ config transformations

interface PromConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  alerting?: { alertmanagers?: { static_configs?: { targets: string[] }[] }[] };
  scrape_configs?: { job_name: string; static_configs?: { targets: string[] }[] }[];
}

interface RulesFile {
  groups: { name: string; rules: { alert?: string; record?: string; for?: string }[] }[];
}

interface AmRoute {
  receiver?: string;
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: AmRoute[];
}

interface AmConfig {
  route: AmRoute;
  receivers: { name: string; webhook_configs?: { url: string; send_resolved?: boolean }[] }[];
}

/** A copy of prometheus.yml scraping `vitalsAddr` every second and alerting to `amAddr`. */
function testPrometheusConfig(vitalsAddr: string, amAddr: string): { config: string; ruleFiles: string[] } {
  const config = parse(readRepoFile('prometheus.yml')) as PromConfig;
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };

  const jobs = config.scrape_configs ?? [];
  const vitalsJob = jobs.find((j) => j.job_name === 'vitals');
  if (vitalsJob === undefined) throw new Error('prometheus.yml has no scrape job named vitals');
  vitalsJob.static_configs = [{ targets: [vitalsAddr] }];
  // Anything else the example scrapes does not exist here.
  config.scrape_configs = [vitalsJob];

  const managers = config.alerting?.alertmanagers ?? [];
  if (managers.length !== 1) throw new Error(`prometheus.yml: expected one alertmanager, got ${managers.length}`);
  config.alerting = {
    ...config.alerting,
    alertmanagers: [{ ...managers[0], static_configs: [{ targets: [amAddr] }] }],
  };

  const ruleFiles = config.rule_files ?? [];
  if (!ruleFiles.includes('rules/vitals-alerts.yml'))
    throw new Error('prometheus.yml does not load rules/vitals-alerts.yml');
  return { config: stringify(config), ruleFiles };
}

/** A copy of a rules file where every `for:` is SHORT_FOR; returns the alerts it shortened. */
function shortenFor(text: string): { rules: string; shortened: string[] } {
  const file = parse(text) as RulesFile;
  const shortened: string[] = [];
  for (const group of file.groups) {
    for (const rule of group.rules) {
      if (rule.for !== undefined) {
        rule.for = SHORT_FOR;
        shortened.push(rule.alert ?? rule.record ?? '?');
      }
    }
  }
  return { rules: stringify(file), shortened };
}

/**
 * A copy of alertmanager.yml delivering every webhook to `hookUrl` (keeping each URL's path,
 * so /pager stays /pager) with second-scale grouping, and no repeats within the test.
 */
function testAlertmanagerConfig(hookUrl: string): string {
  const config = parse(readRepoFile('alertmanager.yml')) as AmConfig;
  const fast = (route: AmRoute): void => {
    if (route === config.route || route.group_wait !== undefined) route.group_wait = '1s';
    if (route === config.route || route.group_interval !== undefined) route.group_interval = '1s';
    if (route === config.route || route.repeat_interval !== undefined) route.repeat_interval = '1h';
    for (const child of route.routes ?? []) fast(child);
  };
  fast(config.route);
  let webhooks = 0;
  for (const receiver of config.receivers) {
    for (const webhook of receiver.webhook_configs ?? []) {
      const original = new URL(webhook.url);
      webhook.url = `${hookUrl}${original.pathname}`;
      webhooks += 1;
    }
  }
  if (webhooks === 0) throw new Error('alertmanager.yml has no webhook receivers');
  return stringify(config);
}

// ------------------------------------------------------------------ dashboard

interface DashboardTarget {
  expr?: string;
  instant?: boolean;
}

interface DashboardPanel {
  title: string;
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

interface DashboardVariable {
  type: string;
  name: string;
  query?: string | { query: string };
  allValue?: string;
}

interface Dashboard {
  panels: DashboardPanel[];
  templating: { list: DashboardVariable[] };
}

const dashboard = JSON.parse(readRepoFile('grafana/dashboards/vitals.json')) as Dashboard;

function panelQueries(panels: DashboardPanel[]): { title: string; expr: string }[] {
  return panels.flatMap((p) => [
    ...(p.targets ?? []).flatMap((t) => (t.expr === undefined ? [] : [{ title: p.title, expr: t.expr }])),
    ...panelQueries(p.panels ?? []),
  ]);
}

const queryVariables = dashboard.templating.list.filter((v) => v.type === 'query');

/** Grafana's escaping of a selected value inside `=~"…"` (each regex metacharacter, then PromQL string escaping). */
const regexValue = (value: string): string => value.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');

/** Replaces `$name` / `${name}` / `${name:fmt}`; every variable left unknown is an error. */
function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? '';
      const value = values[name];
      if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
      return value;
    },
  );
}

// ------------------------------------------------------------------ the test

const BINARIES = ['mariadbd', 'mariadb-install-db', 'mariadb', 'prometheus', 'prometheus-alertmanager'];

/** The exact labels of the critical alert for the killed database, firing or resolved. */
function failingLabels(instance: string): Record<string, string> {
  return {
    alertname: 'VitalsCheckFailing',
    severity: 'critical',
    check: CRITICAL,
    kind: 'mysql',
    critical: 'true',
    job: 'vitals',
    instance,
  };
}

describe.skipIf(skipUnlessBinaries(BINARIES, 'monitoring end to end'))('monitoring kit end to end', () => {
  let db: MariaDb | undefined;
  let served: RunningVitals | undefined;
  let hook: WebhookReceiver | undefined;
  let am: AlertmanagerServer | undefined;
  let prom: PrometheusServer | undefined;
  let instance = '';
  let shortened: string[] = [];
  let killedAt = 0;
  let firingAt = 0;
  let certDir = '';
  let pki: TestPki | undefined;
  let certServer: CertServer | undefined;

  beforeAll(async () => {
    certDir = mkdtempSync(path.join(os.tmpdir(), 'vitals-e2e-certs-'));
    pki = makeTestPki(certDir);
    certServer = await startCertServer(pki);
    // Independent servers in parallel; each is kept as soon as it is up, so afterAll closes
    // whatever started even when a sibling failed.
    const started = await Promise.allSettled([
      // 40 days: no certificate alert while everything is healthy.
      startMariaDb({ tls: pki.later }).then((s) => (db = s)),
      startWebhookReceiver().then((s) => (hook = s)),
    ]);
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    if (db === undefined || hook === undefined) throw new Error('unreachable');

    am = await startAlertmanager({ configYaml: testAlertmanagerConfig(hook.url) });

    const mysql = {
      kind: 'mysql',
      url: db.url({ password: '' }),
      password: db.password,
      tls: { caFile: pki.ca.certFile },
      interval: '1s',
      timeout: '500ms',
    };
    served = await startVitals({
      defaults: { interval: '1s', timeout: '500ms' },
      checks: [
        { name: CRITICAL, critical: true, ...mysql },
        { name: NON_CRITICAL, critical: false, ...mysql },
        {
          name: CERT_CHECK,
          kind: 'tls',
          host: '127.0.0.1',
          port: certServer.port,
          tls: { caFile: pki.ca.certFile },
          interval: '1s',
          timeout: '500ms',
        },
      ],
    });
    instance = new URL(served.url).host;

    const rules = shortenFor(readRepoFile('rules/vitals-alerts.yml'));
    shortened = rules.shortened;
    const { config, ruleFiles } = testPrometheusConfig(instance, `127.0.0.1:${am.port}`);
    prom = await startPrometheus({
      configYaml: config,
      // The SLO rules have no `for:` to shorten, and their windows are hours: loaded as shipped.
      ruleFiles: Object.fromEntries(
        ruleFiles.map((file) => [file, file === 'rules/vitals-alerts.yml' ? rules.rules : readRepoFile(file)]),
      ),
    });
  });

  afterAll(async () => {
    // Prometheus first, so it stops scraping and alerting; then everything else, each on its own.
    const results = await Promise.allSettled([prom?.close()]);
    results.push(
      ...(await Promise.allSettled([am?.close(), served?.close(), hook?.close(), db?.close(), certServer?.close()])),
    );
    rmSync(certDir, { recursive: true, force: true });
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0)
      throw new AggregateError(
        failed.map((r) => r.reason as unknown),
        'cleanup failed',
      );
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} did not start`);
    return value;
  };

  const deliveryOf =
    (alertname: string, check: string, status: 'firing' | 'resolved', after: number) =>
    (d: WebhookDelivery): boolean =>
      d.at >= after &&
      d.body.alerts.some((a) => a.status === status && a.labels.alertname === alertname && a.labels.check === check);

  it('the test copies differ from the shipped files only in timings and addresses', () => {
    // Every alert with a `for:` was shortened, at least the one this test waits for.
    expect(shortened).toContain('VitalsCheckFailing');
    expect(shortened).toContain('VitalsCheckDegraded');
    const p = need(prom, 'prometheus');
    const cfg = parse(readFileSync(path.join(p.dir, 'prometheus.yml'), 'utf8')) as PromConfig;
    expect(cfg.global).toMatchObject({ scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' });
    expect(cfg.scrape_configs?.map((j) => j.job_name)).toEqual(['vitals']);
    expect(cfg.rule_files).toEqual(['rules/vitals-alerts.yml', 'rules/vitals-slo.yml']);
  });

  it('Prometheus scrapes vitals over OpenMetrics and gets every check', async () => {
    const p = need(prom, 'prometheus');
    // Prometheus 2.42 prefers OpenMetrics: this is the exposition it parses.
    const res = await fetch(`${need(served, 'vitals').url}/metrics`, { headers: { accept: PROMETHEUS_ACCEPT } });
    expect(res.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    expect(await res.text()).toMatch(/\n# EOF\n$/);

    const t0 = Date.now();
    await p.waitForFirstSample(`vitals_check_up{job="vitals",check="${CRITICAL}"}`, 20_000);
    const firstSampleMs = Date.now() - t0;

    const up = await p.query('up{job="vitals"}');
    expect(up.map((s) => [s.metric, s.value[1]])).toEqual([[{ __name__: 'up', instance, job: 'vitals' }, '1']]);

    // Both checks pass before the fault; exact label sets.
    const { value: checks } = await waitFor<PromSample[]>(
      () => p.query('vitals_check_up{job="vitals"}'),
      (samples) => samples.length === 3 && samples.every((s) => s.value[1] === '1'),
      10_000,
      { everyMs: 200 },
    );
    const byCheck = Object.fromEntries(checks.map((s) => [s.metric.check ?? '', s.metric]));
    expect(byCheck).toEqual({
      [CRITICAL]: {
        __name__: 'vitals_check_up',
        check: CRITICAL,
        kind: 'mysql',
        critical: 'true',
        job: 'vitals',
        instance,
      },
      [NON_CRITICAL]: {
        __name__: 'vitals_check_up',
        check: NON_CRITICAL,
        kind: 'mysql',
        critical: 'false',
        job: 'vitals',
        instance,
      },
      [CERT_CHECK]: {
        __name__: 'vitals_check_up',
        check: CERT_CHECK,
        kind: 'tls',
        critical: 'true',
        job: 'vitals',
        instance,
      },
    });
    // Every check here speaks TLS: each has its certificate's expiry, the earliest of its chain.
    const expiries = await p.query('vitals_check_tls_cert_expiry_timestamp_seconds{job="vitals"}');
    expect(Object.fromEntries(expiries.map((s) => [s.metric.check, Number(s.value[1])]))).toEqual({
      [CRITICAL]: need(pki, 'pki').later.notAfter / 1000,
      [NON_CRITICAL]: need(pki, 'pki').later.notAfter / 1000,
      [CERT_CHECK]: need(pki, 'pki').later.notAfter / 1000,
    });
    // Counters survive the OpenMetrics translation under their text-format names.
    expect(await p.query(`vitals_check_runs_total{check="${CRITICAL}"} > 0`)).toHaveLength(1);
    expect(
      (await p.query(`vitals_check_failures_total{check="${CRITICAL}"}`)).map((s) => s.metric.reason).sort(),
    ).toEqual(EXPECTED_REASONS);
    // No vitals alert is pending or firing while everything is healthy.
    expect((await p.alerts()).filter((a) => a.labels.alertname !== 'VitalsAbsent')).toEqual([]);
    console.info(`monitoring e2e: first vitals sample in Prometheus ${firstSampleMs} ms after it was ready`);
  });

  it('killing MariaDB pages: VitalsCheckFailing reaches the pager with the exact labels', async () => {
    const h = need(hook, 'webhook receiver');
    const a = need(am, 'alertmanager');
    const v = need(served, 'vitals');

    // Nothing about this check may have been sent while it was healthy.
    expect(h.received.filter((d) => d.body.alerts.some((x) => x.labels.check === CRITICAL))).toEqual([]);

    killedAt = Date.now();
    await need(db, 'mariadb').kill();

    const { elapsedMs: detectMs } = await waitFor(
      async () => (await fetch(`${v.url}/ready/${CRITICAL}`)).status,
      (status) => status === 503,
      5_000,
      { everyMs: 50 },
    );

    const firing = await h.waitFor(deliveryOf('VitalsCheckFailing', CRITICAL, 'firing', killedAt), 25_000);
    firingAt = firing.at;

    expect(firing.path).toBe('/pager');
    expect(firing.body).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'pager',
      groupLabels: { alertname: 'VitalsCheckFailing', instance, check: CRITICAL },
    });
    expect(firing.body.alerts).toHaveLength(1);
    const alert = firing.body.alerts[0];
    expect(alert?.status).toBe('firing');
    expect(alert?.labels).toEqual(failingLabels(instance));
    expect(alert?.annotations.summary).toBe('A critical dependency check is failing.');
    expect(alert?.annotations.description).toContain(`Critical check ${CRITICAL} (mysql) on ${instance}`);
    expect(alert?.annotations.runbook_url).toMatch(/docs\/runbook\.md#vitalscheckfailing$/);
    // Critical alerts go to the pager only.
    expect(
      h.received.filter(
        (d) => d.path !== '/pager' && d.body.alerts.some((x) => x.labels.alertname === 'VitalsCheckFailing'),
      ),
    ).toEqual([]);

    // The non-critical check's outage is a ticket, not inhibited by the other check's page.
    const degraded = await h.waitFor(deliveryOf('VitalsCheckDegraded', NON_CRITICAL, 'firing', killedAt), 15_000);
    expect(degraded.path).toBe('/ticket');
    expect(degraded.body.receiver).toBe('ticket');
    expect(degraded.body.alerts.find((x) => x.labels.check === NON_CRITICAL)?.labels).toEqual({
      alertname: 'VitalsCheckDegraded',
      severity: 'warning',
      check: NON_CRITICAL,
      kind: 'mysql',
      critical: 'false',
      job: 'vitals',
      instance,
    });

    // VitalsNotReady (warning, same job and instance) is inhibited by the page.
    const { value: notReady } = await waitFor(
      async () => (await a.alerts()).find((x) => x.labels.alertname === 'VitalsNotReady'),
      (x) => x !== undefined && x.status.state === 'suppressed',
      15_000,
      { everyMs: 200 },
    );
    expect(notReady?.status.inhibitedBy.length).toBeGreaterThan(0);

    console.info(
      `monitoring e2e: kill -> /ready/${CRITICAL} 503 in ${Math.round(detectMs)} ms; ` +
        `kill -> firing webhook in ${firingAt - killedAt} ms (for: ${SHORT_FOR})`,
    );
  });

  it('restarting MariaDB resolves the page', async () => {
    const h = need(hook, 'webhook receiver');
    expect(firingAt).toBeGreaterThan(0);
    const restartAt = Date.now();
    await need(db, 'mariadb').restart();
    const restartedAt = Date.now();

    const resolved = await h.waitFor(deliveryOf('VitalsCheckFailing', CRITICAL, 'resolved', restartAt), 20_000);
    expect(resolved.path).toBe('/pager');
    expect(resolved.body).toMatchObject({ version: '4', status: 'resolved', receiver: 'pager' });
    expect(resolved.body.alerts).toHaveLength(1);
    const alert = resolved.body.alerts[0];
    expect(alert?.labels).toEqual(failingLabels(instance));
    expect(Date.parse(alert?.endsAt ?? '')).toBeGreaterThan(Date.parse(alert?.startsAt ?? ''));

    console.info(
      `monitoring e2e: restart took ${restartedAt - restartAt} ms; restart -> resolved webhook in ${resolved.at - restartAt} ms`,
    );
  });

  it('a certificate two days from expiry pages: VitalsCertificateExpiring reaches the pager', async () => {
    const h = need(hook, 'webhook receiver');
    const soon = need(pki, 'pki').soon;
    const presentedAt = Date.now();
    need(certServer, 'certificate server').present(soon);
    const firing = await h.waitFor(deliveryOf('VitalsCertificateExpiring', CERT_CHECK, 'firing', presentedAt), 25_000);
    expect(firing.path).toBe('/pager');
    const alert = firing.body.alerts.find((x) => x.labels.check === CERT_CHECK);
    expect(alert?.labels).toEqual({
      alertname: 'VitalsCertificateExpiring',
      severity: 'critical',
      check: CERT_CHECK,
      kind: 'tls',
      critical: 'true',
      job: 'vitals',
      instance,
    });
    expect(alert?.annotations.description).toMatch(
      new RegExp(`^A certificate in the chain presented to check ${CERT_CHECK} \\(tls\\) on .* expires in 1d `),
    );
    expect(alert?.annotations.runbook_url).toMatch(/docs\/runbook\.md#vitalscertificateexpiring$/);
    // The mysql checks' 40-day certificate raises nothing.
    expect(
      h.received.filter((d) =>
        d.body.alerts.some(
          (x) => (x.labels.alertname ?? '').startsWith('VitalsCertificate') && x.labels.check !== CERT_CHECK,
        ),
      ),
    ).toEqual([]);
  });

  describe('every dashboard query returns data from Prometheus', () => {
    const queries = panelQueries(dashboard.panels);
    const variables = () => Object.fromEntries(queryVariables.map((v) => [v.name, v]));

    it('the dashboard has the queries this test expects', () => {
      expect(queries.length).toBeGreaterThanOrEqual(10);
      expect(queryVariables.map((v) => v.name)).toEqual(['job', 'instance', 'check']);
    });

    // "All" selected (the dashboard's allValue), then one real value per variable;
    // $__rate_interval as Grafana computes it for a 1s scrape interval (4 × 1s) and for 15s (1m).
    const selections = [
      { label: 'All, 1m', all: true, rate: '1m' },
      { label: 'All, 4s', all: true, rate: '4s' },
      { label: 'one check, 4s', all: false, rate: '4s' },
    ];

    it.each(selections)('panels with $label', async ({ all, rate }) => {
      const p = need(prom, 'prometheus');
      const vars = variables();
      const pick = (name: string, value: string): string => (all ? (vars[name]?.allValue ?? '.*') : regexValue(value));
      const values = {
        job: pick('job', 'vitals'),
        instance: pick('instance', instance),
        check: pick('check', CRITICAL),
        datasource: 'prometheus',
        __rate_interval: rate,
        __interval: '1s',
        __range: '1m',
      };
      const empty: string[] = [];
      for (const { title, expr } of queries) {
        const promql = substitute(expr, values);
        const samples = await p.query(promql);
        if (samples.length === 0) empty.push(`${title}: ${promql}`);
        for (const s of samples) {
          if (!all) expect(s.metric.check ?? CRITICAL, `${title} filtered by check`).toBe(CRITICAL);
          expect(Number.isFinite(Number(s.value[1])), `${title}: ${promql} = ${s.value[1]}`).toBe(true);
        }
      }
      expect(empty).toEqual([]);

      // A few values that are known here.
      const failures = await p.query(
        substitute(queries.find((q) => q.title === 'Failures by reason')?.expr ?? 'vector(0)', {
          ...values,
          __rate_interval: '1m',
        }),
      );
      expect(failures.filter((s) => Number(s.value[1]) > 0).map((s) => s.metric.check)).toContain(CRITICAL);
      const kinds = await p.query(
        substitute(queries.find((q) => q.title === 'Checks by kind')?.expr ?? 'vector(0)', values),
      );
      expect(kinds.map((s) => [s.metric.kind, s.value[1]]).sort()).toEqual(
        all
          ? [
              ['mysql', '2'],
              ['tls', '1'],
            ]
          : [['mysql', '1']],
      );
    });

    it('variable queries return the expected values', async () => {
      const p = need(prom, 'prometheus');
      const selected: Record<string, string> = {};
      const expected: Record<string, string[]> = {
        job: ['vitals'],
        instance: [instance],
        check: [CRITICAL, NON_CRITICAL, CERT_CHECK].sort(),
      };
      for (const v of queryVariables) {
        const text = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
        const m = /^label_values\((.+),\s*(\w+)\)$/s.exec(text.trim());
        expect(m, `${v.name}: ${text}`).not.toBeNull();
        const [, selector = '', label = ''] = m ?? [];
        expect(label).toBe(v.name);
        // Each earlier variable at "All" (its allValue), as Grafana resolves the chain.
        const match = substitute(selector, { ...selected, __rate_interval: '1m' });
        const res = await fetch(`${p.url}/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`);
        const body = (await res.json()) as { status: string; data: string[] };
        expect(body.status, match).toBe('success');
        expect(body.data.slice().sort(), `${v.name} from ${match}`).toEqual(expected[v.name]);
        // The same through a query, and narrowed to one selected value of each earlier variable.
        const narrowed = substitute(
          selector,
          Object.fromEntries(Object.keys(selected).map((k) => [k, regexValue(expected[k]?.[0] ?? '')])),
        );
        const grouped = await p.query(`group by (${label}) (${narrowed})`);
        expect(grouped.map((s) => s.metric[label]).sort(), narrowed).toEqual(expected[v.name]);
        selected[v.name] = v.allValue ?? '.*';
      }
    });
  });
});
