/**
 * The monitoring kit's Prometheus side: prometheus.yml, rules/vitals-alerts.yml and its promtool
 * unit tests, alertmanager.yml, and docs/runbook.md — checked with the real promtool and amtool.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { skipUnlessBinaries } from '../support/binaries.js';
import { amtool, promtool } from '../support/prometheus.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const RULES = 'rules/vitals-alerts.yml';
const RULE_TESTS = 'rules/vitals-alerts.test.yml';
const RUNBOOK_URL = 'https://github.com/vitals/vitals/blob/main/docs/runbook.md';

/** The shipped alert names: users' routing and silences depend on them, so they never change. */
const CONTRACT_ALERTS = [
  'VitalsCheckFailing',
  'VitalsCheckDegraded',
  'VitalsNotReady',
  'VitalsCheckSlow',
  'VitalsCheckFlapping',
  'VitalsCheckNoRecentSuccess',
  'VitalsDown',
  'VitalsAbsent',
  'VitalsConfigReloadFailed',
  'VitalsCertificateExpiringSoon',
  'VitalsCertificateExpiring',
];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleTestFile {
  rule_files: string[];
  tests: {
    name?: string;
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] }[];
  }[];
}

function read(file: string): string {
  return readFileSync(path.join(root, file), 'utf8');
}

function alertRules(): (Rule & { alert: string })[] {
  const file = parse(read(RULES)) as { groups: { name: string; rules: Rule[] }[] };
  return file.groups.flatMap((g) => g.rules).filter((r): r is Rule & { alert: string } => r.alert !== undefined);
}

/** The anchor GitHub gives a Markdown heading. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function runbookAnchors(): Set<string> {
  const headings = read('docs/runbook.md')
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line))
    .map((line) => line.replace(/^#+ /, ''));
  return new Set(headings.map(githubSlug));
}

/** Seconds in a Prometheus duration such as 5m15s or 90s. */
function seconds(duration: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * (units[unit ?? 's'] ?? NaN);
  return total;
}

/** Alert names in the user reference's table (docs/reference/alerts.md): the docs must list every one. */
function documentedAlerts(): string[] {
  const text = readFileSync(path.join(root, 'docs/reference/alerts.md'), 'utf8');
  return [...text.matchAll(/^\| `(Vitals[A-Za-z]+)` \|/gm)].map((m) => m[1] ?? '');
}

describe('alert rules against the contract (static)', () => {
  it('defines exactly the contract alerts, and the reference documents each of them', () => {
    const names = new Set(alertRules().map((r) => r.alert));
    expect([...names].sort()).toEqual([...CONTRACT_ALERTS].sort());
    expect([...documentedAlerts()].sort()).toEqual([...CONTRACT_ALERTS].sort());
  });

  it('gives every alert a severity, a static summary, a templated description and a runbook section', () => {
    const anchors = runbookAnchors();
    for (const rule of alertRules()) {
      const where = `alert ${rule.alert}`;
      expect(['critical', 'warning'], where).toContain(rule.labels?.severity);
      const { summary, description, runbook_url: runbook } = rule.annotations ?? {};
      expect(summary, `${where}: summary`).toMatch(/^[^{}]+\.$/);
      expect(description, `${where}: description`).toMatch(/\{\{.*\$labels\..*\}\}/);
      expect(runbook, `${where}: runbook_url`).toBe(`${RUNBOOK_URL}#${rule.alert.toLowerCase()}`);
      expect(anchors.has(rule.alert.toLowerCase()), `${where}: docs/runbook.md has a "## ${rule.alert}" heading`).toBe(
        true,
      );
    }
  });

  it('has promtool unit tests in which every alert fires and later resolves', () => {
    const tests = parse(read(RULE_TESTS)) as RuleTestFile;
    expect(tests.rule_files).toEqual([path.basename(RULES)]);
    for (const { alert } of alertRules()) {
      const covered = tests.tests.some((t) => {
        const evals = (t.alert_rule_test ?? []).filter((e) => e.alertname === alert);
        const firing = evals.filter((e) => (e.exp_alerts ?? []).length > 0).map((e) => seconds(e.eval_time));
        const silent = evals.filter((e) => (e.exp_alerts ?? []).length === 0).map((e) => seconds(e.eval_time));
        return (
          firing.length > 0 &&
          silent.some((s) => s < Math.min(...firing)) &&
          silent.some((s) => s > Math.max(...firing))
        );
      });
      expect(covered, `${alert}: a test with a silent eval before it fires and another after it resolves`).toBe(true);
    }
  });
});

describe.skipIf(skipUnlessBinaries(['promtool', 'amtool'], 'monitoring kit (promtool, amtool)'))(
  'monitoring kit against promtool and amtool',
  () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'vitals-rules-test-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    /** Copies the rules and their tests into tmp/NAME, applying `edit` to one of them. */
    function brokenCopy(name: string, file: typeof RULES | typeof RULE_TESTS, edit: (text: string) => string): string {
      const dir = path.join(tmp, name);
      mkdirSync(dir, { recursive: true });
      for (const f of [RULES, RULE_TESTS]) {
        const text = read(f);
        const edited = f === file ? edit(text) : text;
        if (f === file) expect(edited, `the edit of ${f} changed something`).not.toBe(text);
        writeFileSync(path.join(dir, path.basename(f)), edited);
      }
      return dir;
    }

    it('promtool check config accepts prometheus.yml and its rule file', () => {
      const r = promtool(['check', 'config', 'prometheus.yml'], { cwd: root });
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain('SUCCESS: 1 rule files found');
      expect(r.output).toMatch(/SUCCESS: 11 rules found/);
    });

    it('promtool check rules --lint=all finds no problem', () => {
      const r = promtool(['check', 'rules', '--lint=all', '--lint-fatal', RULES], { cwd: root });
      expect(r.code, r.output).toBe(0);
      expect(r.output).not.toMatch(/lint error|FAILED/);
    });

    it('promtool test rules passes the unit tests', () => {
      const r = promtool(['test', 'rules', RULE_TESTS], { cwd: root });
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain('SUCCESS');
    });

    it('amtool check-config accepts alertmanager.yml', () => {
      const r = amtool(['check-config', 'alertmanager.yml'], { cwd: root });
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain('SUCCESS');
      expect(r.output).toContain('2 receivers');
      expect(r.output).toContain('2 inhibit rules');
    });

    // The checks above can fail: the same commands reject broken copies.

    it('promtool check rules rejects an expression that does not parse', () => {
      const dir = brokenCopy('syntax', RULES, (t) =>
        t.replace('vitals_check_up{critical="true"} == 0', 'vitals_check_up{critical="true"} =='),
      );
      const r = promtool(['check', 'rules', path.join(dir, path.basename(RULES))]);
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(/VitalsCheckFailing.*parse error/);
    });

    it('promtool check rules --lint=all rejects a duplicated rule', () => {
      const dir = brokenCopy('duplicate', RULES, (t) => {
        const start = t.indexOf('      - alert: VitalsDown');
        const end = t.indexOf('      - alert: VitalsAbsent');
        return t.slice(0, end) + t.slice(start, end) + t.slice(end);
      });
      const r = promtool(['check', 'rules', '--lint=all', '--lint-fatal', path.join(dir, path.basename(RULES))]);
      expect(r.code).not.toBe(0);
      expect(r.output).toMatch(/duplicate rule/);
    });

    it('promtool test rules fails when an expected annotation is wrong', () => {
      const dir = brokenCopy('annotation', RULE_TESTS, (t) =>
        t.replace('has been failing for more than 1 minute, so', 'has been failing for more than 2 minutes, so'),
      );
      const r = promtool(['test', 'rules', path.join(dir, path.basename(RULE_TESTS))]);
      expect(r.code).toBe(1);
      expect(r.output).toMatch(/FAILED/);
      expect(r.output).toContain('VitalsCheckFailing');
    });

    it('promtool test rules fails when an alert stops waiting for its `for:`', () => {
      const dir = brokenCopy('for', RULES, (t) => t.replace('        for: 1m\n', ''));
      const r = promtool(['test', 'rules', path.join(dir, path.basename(RULE_TESTS))]);
      expect(r.code).toBe(1);
      expect(r.output).toContain('VitalsCheckFailing');
    });

    it('amtool check-config rejects a route to an undefined receiver', () => {
      const file = path.join(tmp, 'alertmanager.yml');
      writeFileSync(file, read('alertmanager.yml').replace('- receiver: pager', '- receiver: pagr'));
      const r = amtool(['check-config', file]);
      expect(r.code).not.toBe(0);
      expect(r.output).toContain('undefined receiver "pagr"');
    });
  },
);
