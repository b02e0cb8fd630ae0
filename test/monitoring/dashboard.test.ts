/**
 * The Grafana side of the monitoring kit: grafana/dashboards/vitals.json and the provisioning
 * files. No Grafana runs here, so the dashboard is checked structurally, and every PromQL
 * expression in it is parsed by promtool (written as recording rules into a temp rule file).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { skipUnlessBinaries } from '../support/binaries.js';
import { promtool } from '../support/prometheus.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DASHBOARDS_DIR = 'grafana/dashboards';
const DASHBOARD = `${DASHBOARDS_DIR}/vitals.json`;
const DS_REF = { type: 'prometheus', uid: '${datasource}' };

/** vitals' own metrics (docs/reference/metrics.md): a dashboard query naming anything else has a typo. */
const SPEC_METRICS = [
  'vitals_check_up',
  'vitals_check_status',
  'vitals_check_duration_seconds',
  'vitals_check_timeout_seconds',
  'vitals_check_last_success_timestamp_seconds',
  'vitals_check_last_run_timestamp_seconds',
  'vitals_check_runs_total',
  'vitals_check_failures_total',
  'vitals_check_info',
  'vitals_check_tls_cert_expiry_timestamp_seconds',
  'vitals_ready',
  'vitals_draining',
  'vitals_build_info',
  'vitals_config_last_reload_successful',
  'vitals_config_last_reload_success_timestamp_seconds',
  'vitals_check_run_duration_seconds_bucket',
  // Recorded by rules/vitals-slo.yml (vitals slo --format prometheus).
  'vitals:check_slo_objective:ratio',
  'vitals:check_error_ratio:rate1h',
];

interface Target {
  refId?: string;
  expr?: string;
  datasource?: unknown;
}

interface Panel {
  id?: number;
  type: string;
  title: string;
  datasource?: unknown;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}

interface Variable {
  type: string;
  name: string;
  query?: string | { query: string };
  definition?: string;
  datasource?: unknown;
  refresh?: number;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
  current?: { value?: unknown };
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(path.join(root, DASHBOARD), 'utf8')) as Dashboard;

/** Panels, with those nested in collapsed rows; rows themselves hold no query. */
function allPanels(): Panel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
}

function variable(name: string): Variable {
  const v = dashboard.templating.list.find((x) => x.name === name);
  if (v === undefined) throw new Error(`no variable ${name}`);
  return v;
}

function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
}

/**
 * What Grafana would send to Prometheus: built-in interval variables become durations, every
 * other variable the regex `.*` (what an "All" selection with allValue `.+` amounts to).
 */
function substitute(expr: string): string {
  const builtins: Record<string, string> = {
    __rate_interval: '1m',
    __interval: '1m',
    __range: '1h',
    __range_s: '3600',
    __range_ms: '3600000',
    __interval_ms: '60000',
  };
  return expr
    .replace(/\$\{(__\w+)\}|\$(__\w+)/g, (m, a?: string, b?: string) => builtins[a ?? b ?? ''] ?? m)
    .replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, '.*');
}

/** Every PromQL expression of the dashboard, named after where it comes from. */
function expressions(): { where: string; expr: string }[] {
  const fromPanels = allPanels().flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      where: `panel ${p.id ?? '?'} "${p.title}" ${t.refId ?? '?'}`,
      expr: t.expr ?? '',
    })),
  );
  // label_values(SELECTOR, label): the selector is PromQL too
  const fromVariables = dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({
      where: `variable ${v.name}`,
      expr: /^label_values\((.*),\s*\w+\)$/.exec(variableQuery(v))?.[1] ?? '',
    }));
  return [...fromPanels, ...fromVariables];
}

/** Recording rules (one per expression) in promtool's rule file format (JSON is YAML). */
function asRuleFile(exprs: { where: string; expr: string }[]): string {
  const rules = exprs.map(({ expr }, i) => ({ record: `dashboard:expr_${i}`, expr: substitute(expr) }));
  return JSON.stringify({ groups: [{ name: 'dashboard', rules }] }, null, 2);
}

describe('grafana dashboard vitals.json', () => {
  it('has the stable uid and title', () => {
    expect(dashboard.uid).toBe('vitals');
    expect(dashboard.title).toBe('vitals');
  });

  it('has a prometheus datasource variable and chained job, instance, check variables', () => {
    const ds = variable('datasource');
    expect(ds).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const expected: Record<string, string> = {
      job: 'label_values(vitals_check_up, job)',
      instance: 'label_values(vitals_check_up{job=~"$job"}, instance)',
      check: 'label_values(vitals_check_up{job=~"$job",instance=~"$instance"}, check)',
    };
    for (const [name, query] of Object.entries(expected)) {
      const v = variable(name);
      expect(v, name).toMatchObject({
        type: 'query',
        datasource: DS_REF,
        refresh: 2,
        includeAll: true,
        multi: true,
        allValue: '.+',
      });
      expect(variableQuery(v), name).toBe(query);
      if (v.definition !== undefined) expect(v.definition, name).toBe(query);
    }
    // a variable is defined before the ones that refer to it
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'instance', 'check']);
  });

  it('points every panel and query at the datasource variable', () => {
    for (const p of allPanels()) {
      expect(p.datasource, `panel ${p.title}`).toEqual(DS_REF);
      for (const t of p.targets ?? []) expect(t.datasource ?? DS_REF, `panel ${p.title} ${t.refId}`).toEqual(DS_REF);
    }
  });

  it('gives every panel a unique id, a gridPos inside 24 columns without overlap, and queries with refIds', () => {
    const panels = allPanels();
    const ids = panels.map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const p of panels) {
      const g = p.gridPos;
      expect(g, `panel ${p.title} gridPos`).toBeDefined();
      if (g === undefined) continue;
      expect(g.x >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `panel ${p.title} gridPos ${JSON.stringify(g)}`).toBe(
        true,
      );
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          const other = cells.get(`${x},${y}`);
          expect(other, `panel ${p.title} overlaps ${other}`).toBeUndefined();
          cells.set(`${x},${y}`, p.title);
        }
      }
      const targets = p.targets ?? [];
      expect(targets.length, `panel ${p.title} has a query`).toBeGreaterThan(0);
      const refIds = targets.map((t) => t.refId);
      expect(
        refIds.every((r) => typeof r === 'string' && r !== ''),
        `panel ${p.title} refIds`,
      ).toBe(true);
      expect(new Set(refIds).size, `panel ${p.title} refIds unique`).toBe(refIds.length);
      for (const t of targets) expect(t.expr?.trim(), `panel ${p.title} ${t.refId} expr`).toBeTruthy();
    }
  });

  it("queries only vitals' own metrics, filtered by the job, instance and check variables", () => {
    for (const { where, expr } of expressions().filter((e) => e.where.startsWith('panel'))) {
      const selectors = [...expr.matchAll(/\b(vitals[_:][a-z0-9_:]+)(\{[^}]*\})?/g)];
      expect(selectors.length, `${where}: queries a vitals metric`).toBeGreaterThan(0);
      for (const [, metric = '', matchers = ''] of selectors) {
        expect(SPEC_METRICS, `${where}: ${metric}`).toContain(metric);
        expect(matchers, `${where}: ${metric}`).toContain('job=~"$job"');
        expect(matchers, `${where}: ${metric}`).toContain('instance=~"$instance"');
        if (/^vitals[_:]check_/.test(metric)) expect(matchers, `${where}: ${metric}`).toContain('check=~"$check"');
      }
    }
  });

  it('shows readiness, status, latency against timeout, failures, success age, kinds, draining, build and config', () => {
    const all = expressions().map((e) => e.expr);
    const uses = (needle: string): boolean => all.some((e) => e.includes(needle));
    for (const needle of [
      'vitals_ready',
      'vitals_check_status',
      'vitals_check_duration_seconds',
      'vitals_check_timeout_seconds',
      'rate(vitals_check_failures_total',
      'rate(vitals_check_runs_total',
      'time() - vitals_check_last_success_timestamp_seconds',
      'count by (kind) (vitals_check_info',
      'vitals_draining',
      'vitals_build_info',
      'vitals_config_last_reload_successful',
    ]) {
      expect(uses(needle), needle).toBe(true);
    }
    expect(all.find((e) => e.includes('vitals_check_failures_total'))).toMatch(
      /^sum by \(check, reason\) \(rate\(vitals_check_failures_total\{[^}]*\}\[\$__rate_interval\]\)\)$/,
    );
  });

  it('substitutes variables the way Grafana would', () => {
    expect(substitute('rate(x{job=~"$job",check=~"${check}"}[$__rate_interval]) / $__range_s')).toBe(
      'rate(x{job=~".*",check=~".*"}[1m]) / 3600',
    );
  });
});

describe('grafana provisioning', () => {
  const datasources = parse(
    readFileSync(path.join(root, 'grafana/provisioning/datasources/prometheus.yaml'), 'utf8'),
  ) as {
    apiVersion: number;
    datasources: {
      name: string;
      type: string;
      uid: string;
      url: string;
      isDefault?: boolean;
      jsonData?: { timeInterval?: string };
    }[];
  };
  const providersText = readFileSync(path.join(root, 'grafana/provisioning/dashboards/vitals.yaml'), 'utf8');
  const providers = parse(providersText) as {
    apiVersion: number;
    providers: {
      name: string;
      type: string;
      folder?: string;
      folderUid?: string;
      options: { path: string; foldersFromFilesStructure?: boolean };
    }[];
  };

  it('provisions the Prometheus datasource the dashboard selects by default', () => {
    expect(datasources.apiVersion).toBe(1);
    expect(datasources.datasources).toHaveLength(1);
    const [ds] = datasources.datasources;
    expect(ds).toMatchObject({ type: 'prometheus', isDefault: true });
    expect(variable('datasource').current?.value).toBe(ds?.uid);
    // $__rate_interval assumes the scrape interval Prometheus really uses
    const prom = parse(readFileSync(path.join(root, 'prometheus.yml'), 'utf8')) as {
      global: { scrape_interval: string };
    };
    expect(ds?.jsonData?.timeInterval).toBe(prom.global.scrape_interval);
  });

  it('provisions the dashboards directory holding vitals.json, with unique uids', () => {
    expect(providers.apiVersion).toBe(1);
    expect(providers.providers).toHaveLength(1);
    const [p] = providers.providers;
    expect(p).toMatchObject({ type: 'file', options: { foldersFromFilesStructure: true } });
    // foldersFromFilesStructure forbids folder / folderUid
    expect(p?.folder ?? '').toBe('');
    expect(p?.folderUid ?? '').toBe('');
    // the file documents where the repo's dashboards directory is mounted: that is the provider's path
    const mount = new RegExp(`${DASHBOARDS_DIR} at (/[\\w/.-]*\\w)`).exec(providersText)?.[1];
    expect(mount, `the provisioning file says where ${DASHBOARDS_DIR} is mounted`).toBe(p?.options.path);
    const files = readdirSync(path.join(root, DASHBOARDS_DIR)).filter((f) => f.endsWith('.json'));
    expect(files).toContain(path.basename(DASHBOARD));
    const uids = files.map(
      (f) => (JSON.parse(readFileSync(path.join(root, DASHBOARDS_DIR, f), 'utf8')) as Dashboard).uid,
    );
    expect(new Set(uids).size).toBe(uids.length);
  });
});

describe.skipIf(skipUnlessBinaries(['promtool'], 'dashboard PromQL (promtool)'))(
  'dashboard PromQL against promtool',
  () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'vitals-dashboard-test-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it('parses every panel and variable expression', () => {
      const exprs = expressions();
      expect(exprs.length).toBeGreaterThanOrEqual(allPanels().length);
      const file = path.join(tmp, 'dashboard-rules.json');
      writeFileSync(file, asRuleFile(exprs));
      const r = promtool(['check', 'rules', file]);
      expect(
        r.code,
        `${r.output}\n${JSON.stringify(
          exprs.map((e, i) => `${i}: ${e.where}`),
          null,
          1,
        )}`,
      ).toBe(0);
      expect(r.output).toContain(`SUCCESS: ${exprs.length} rules found`);
    });

    it('computes what the panels claim (promtool promql_expr_test on synthetic series)', () => {
      const exprOf = (title: string): string => {
        const expr = allPanels().find((p) => p.title === title)?.targets?.[0]?.expr;
        if (expr === undefined) throw new Error(`no panel "${title}"`);
        return substitute(expr);
      };
      const l = (check: string, extra = ''): string =>
        `{job="vitals",instance="localhost:9469",check="${check}",kind="mysql",critical="true"${extra}}`;
      const statuses = { a: 'pass', b: 'warn', c: 'fail', d: 'unknown' };
      const input_series = [
        ...Object.entries(statuses).flatMap(([check, current]) =>
          ['unknown', 'pass', 'warn', 'fail'].map((s) => ({
            series: `vitals_check_status${l(check, `,status="${s}"`)}`,
            values: s === current ? '1x20' : '0x20',
          })),
        ),
        { series: `vitals_check_last_success_timestamp_seconds${l('a')}`, values: '30x20' },
        { series: `vitals_check_last_success_timestamp_seconds${l('d')}`, values: '0x20' }, // never: left out
        { series: `vitals_check_runs_total${l('a')}`, values: '0+6x20' },
        { series: `vitals_check_failures_total${l('a', ',reason="timeout"')}`, values: '0+2x20' },
        { series: `vitals_check_failures_total${l('a', ',reason="refused"')}`, values: '0+1x20' },
        { series: `vitals_check_failures_total${l('a', ',reason="auth"')}`, values: '0x20' },
        // expires 2 days after the epoch; time() is 120 at 2m
        { series: `vitals_check_tls_cert_expiry_timestamp_seconds${l('a')}`, values: '172800x20' },
      ];
      const tests = {
        rule_files: [],
        evaluation_interval: '15s',
        tests: [
          {
            interval: '15s',
            input_series,
            promql_expr_test: [
              {
                expr: exprOf('Check status'),
                eval_time: '1m',
                exp_samples: Object.keys(statuses).map((check, value) => ({
                  labels: l(check),
                  value: [1, 2, 3, 0][value],
                })),
              },
              {
                expr: exprOf('Time since last success'),
                eval_time: '2m',
                exp_samples: [{ labels: l('a'), value: 90 }],
              },
              {
                expr: exprOf('Days until certificate expiry'),
                eval_time: '2m',
                exp_samples: [{ labels: l('a'), value: (172800 - 120) / 86400 }],
              },
              { expr: exprOf('Failure ratio'), eval_time: '4m', exp_samples: [{ labels: l('a'), value: 0.5 }] },
              {
                expr: exprOf('Failures by reason'),
                eval_time: '4m',
                exp_samples: [
                  { labels: '{check="a",reason="auth"}', value: 0 },
                  { labels: '{check="a",reason="refused"}', value: 1 / 15 },
                  { labels: '{check="a",reason="timeout"}', value: 2 / 15 },
                ],
              },
            ],
          },
        ],
      };
      const file = path.join(tmp, 'dashboard-semantics.test.yml');
      writeFileSync(file, JSON.stringify(tests, null, 2));
      const r = promtool(['test', 'rules', file]);
      expect(r.code, r.output).toBe(0);
    });

    it('would reject a query that does not parse', () => {
      const file = path.join(tmp, 'broken-rules.json');
      writeFileSync(
        file,
        asRuleFile([
          ...expressions(),
          { where: 'broken', expr: 'sum by (check (rate(vitals_check_runs_total[$__rate_interval]))' },
        ]),
      );
      const r = promtool(['check', 'rules', file]);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain(`dashboard:expr_${expressions().length}`);
    });
  },
);
