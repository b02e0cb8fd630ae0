/**
 * `vitals slo`: the shipped rule file is what it generates for the example config; the Sloth and
 * Pyrra outputs pass those projects' schemas (test/fixtures/slo-schemas/SOURCE.md); the Prometheus
 * output passes promtool; usage and config errors exit 2 naming the flag or the path.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type AnySchema } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { skipUnlessBinaries } from '../support/binaries.js';
import { builtCliAndTempDir, runCli } from '../support/cli.js';
import { promtool } from '../support/prometheus.js';
import { readRepoFile, REPO_ROOT } from '../support/repo.js';

const tempDir = builtCliAndTempDir('vitals-slo-');
let counter = 0;

function configFile(text: string): string {
  counter += 1;
  const path = join(tempDir(), `config-${String(counter)}.yml`);
  writeFileSync(path, text);
  return path;
}

/** The CLI with only PATH and `env`, so that the caller's VITALS_CONFIG cannot leak in. */
async function vitals(args: readonly string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await runCli(args, {
    cwd: tempDir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    timeoutMs: 20_000,
  });
  return { code, stdout, stderr };
}

/** The kit's vitals.yml, as committed in the ConfigMap: the example config the repository ships. */
function exampleConfig(): string {
  const configMap = parse(readRepoFile('deploy/kubernetes/base/configmap.yaml')) as { data: Record<string, string> };
  const text = configMap.data['vitals.yml'];
  if (text === undefined) throw new Error('the ConfigMap has no vitals.yml');
  return configFile(text);
}

const THREE_CHECKS = `
defaults:
  slo: { window: 30d }
checks:
  - name: primary-db
    kind: tcp
    host: db
    port: 3306
    slo: { objective: 99.9 }
  - name: cache
    kind: tcp
    host: cache
    port: 6379
    slo: { objective: 99, window: 7d }
  - name: no-objective
    kind: tcp
    host: other
    port: 80
`;

function schema(file: string): unknown {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/slo-schemas', file), 'utf8')) as unknown;
}

/** What Kubernetes does to fields a CRD does not declare (prune, or refuse with --validate=strict), as a schema. */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (node === null || typeof node !== 'object') return node;
  const copy = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, strict(v)]));
  return 'properties' in copy ? { ...copy, additionalProperties: false } : copy;
}

const ajv = new Ajv({ allErrors: true });
const validateSloth = ajv.compile(schema('sloth-prometheus-v1.schema.json') as AnySchema);
const pyrraCrd = schema('pyrra.dev_servicelevelobjectives.json') as {
  spec: { versions: { name: string; schema: { openAPIV3Schema: unknown } }[] };
};
const pyrraVersion = pyrraCrd.spec.versions.find((v) => v.name === 'v1alpha1');
if (pyrraVersion === undefined) throw new Error('the Pyrra CRD has no v1alpha1');
const validatePyrra = ajv.compile(strict(pyrraVersion.schema.openAPIV3Schema) as AnySchema);

function documents(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map(String).join('\n'));
    return doc.toJS() as Record<string, unknown>;
  });
}

function errorsOf(validate: typeof validateSloth, doc: unknown): string {
  return validate(doc) ? '' : ajv.errorsText(validate.errors);
}

describe('vitals slo --format prometheus', () => {
  it('generates exactly the shipped rules/vitals-slo.yml from the example config', async () => {
    const r = await vitals(['slo', '--config', exampleConfig(), '--format', 'prometheus'], { MYSQL_PASSWORD: 'x' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readRepoFile('rules/vitals-slo.yml'));
  });

  it('writes the same to DIR/vitals-slo.yml with --out, creating DIR', async () => {
    const config = configFile(THREE_CHECKS);
    const printed = await vitals(['slo', '--config', config, '--format', 'prometheus']);
    const out = join(tempDir(), 'out', 'rules');
    const written = await vitals(['slo', '--config', config, '--format', 'prometheus', '--out', out]);
    expect(written.code).toBe(0);
    expect(written.stdout).toBe(`wrote ${join(out, 'vitals-slo.yml')} (2 check(s) with an objective)\n`);
    expect(readFileSync(join(out, 'vitals-slo.yml'), 'utf8')).toBe(printed.stdout);
  });

  it('gives each check with an objective its own group, with its own budget in every alert', async () => {
    const r = await vitals(['slo', '--config', configFile(THREE_CHECKS), '--format', 'prometheus']);
    const file = parse(r.stdout) as { groups: { name: string; rules: { record?: string; expr: string }[] }[] };
    expect(file.groups.map((g) => g.name)).toEqual(['vitals-slo-primary-db', 'vitals-slo-cache']);
    const [db, cache] = file.groups;
    expect(db?.rules.filter((x) => x.record !== undefined).map((x) => x.record)).toEqual([
      ...['5m', '30m', '1h', '2h', '6h', '1d', '3d'].map((w) => `vitals:check_error_ratio:rate${w}`),
      'vitals:check_slo_objective:ratio',
    ]);
    expect(db?.rules.find((x) => x.record === 'vitals:check_slo_objective:ratio')?.expr).toBe(
      '0 * vitals_check_up{check="primary-db"} + 0.999',
    );
    expect(db?.rules.at(-4)?.expr).toContain('> (14.4 * 0.001)');
    expect(cache?.rules.at(-4)?.expr).toContain('> (14.4 * 0.01)');
    expect(r.stdout).not.toContain('no-objective');
  });

  describe.skipIf(skipUnlessBinaries(['promtool'], 'vitals slo output (promtool)'))('against promtool', () => {
    it('passes promtool check rules --lint=all', async () => {
      const out = join(tempDir(), 'promtool');
      await vitals(['slo', '--config', configFile(THREE_CHECKS), '--format', 'prometheus', '--out', out]);
      const r = promtool(['check', 'rules', '--lint=all', '--lint-fatal', join(out, 'vitals-slo.yml')]);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toContain('SUCCESS: 24 rules found');
    });
  });
});

describe('vitals slo --format sloth', () => {
  it('writes one prometheus/v1 spec per window that passes the schema, one SLO per check', async () => {
    const r = await vitals(['slo', '--config', configFile(THREE_CHECKS), '--format', 'sloth']);
    expect(r.code).toBe(0);
    const docs = documents(r.stdout);
    expect(docs).toHaveLength(2);
    for (const doc of docs) expect(errorsOf(validateSloth, doc)).toBe('');
    expect(r.stdout).toContain('sloth generate --default-slo-period 30d');
    expect(r.stdout).toContain('sloth generate --default-slo-period 7d');
    const [month, week] = docs as { slos: { name: string; objective: number; sli: unknown }[] }[];
    expect(month?.slos.map((s) => [s.name, s.objective])).toEqual([['primary-db', 99.9]]);
    expect(week?.slos.map((s) => [s.name, s.objective])).toEqual([['cache', 99]]);
    expect(month?.slos[0]?.sli).toEqual({
      events: {
        error_query: 'sum(rate(vitals_check_failures_total{check="primary-db"}[{{.window}}]))',
        total_query: 'sum(rate(vitals_check_runs_total{check="primary-db"}[{{.window}}]))',
      },
    });
  });

  it('the schema refuses a spec with a misspelt field or a query without {{.window}} (the check can fail)', async () => {
    const r = await vitals(['slo', '--config', exampleConfig(), '--format', 'sloth'], { MYSQL_PASSWORD: 'x' });
    const [doc] = documents(r.stdout) as { slos: { sli: { events: Record<string, string> } }[] }[];
    expect(errorsOf(validateSloth, doc)).toBe('');
    const misspelt = structuredClone(doc) as { slos: { sli: { events: Record<string, string> } }[] };
    const events = misspelt.slos[0]?.sli.events ?? {};
    events.errorQuery = events.error_query ?? '';
    delete events.error_query;
    expect(errorsOf(validateSloth, misspelt)).toContain("must have required property 'error_query'");
    const untemplated = structuredClone(doc) as typeof misspelt;
    const sli = untemplated.slos[0]?.sli.events ?? {};
    sli.total_query = 'sum(rate(vitals_check_runs_total[5m]))';
    expect(errorsOf(validateSloth, untemplated)).toContain('must match pattern');
  });
});

describe('vitals slo --format pyrra', () => {
  it('writes one ServiceLevelObjective per check that passes the CRD, with target and window from the config', async () => {
    const r = await vitals(['slo', '--config', configFile(THREE_CHECKS), '--format', 'pyrra']);
    expect(r.code).toBe(0);
    const docs = documents(r.stdout);
    for (const doc of docs) expect(errorsOf(validatePyrra, doc)).toBe('');
    expect(docs.map((d) => [d.apiVersion, d.kind, (d.metadata as { name: string }).name])).toEqual([
      ['pyrra.dev/v1alpha1', 'ServiceLevelObjective', 'vitals-primary-db'],
      ['pyrra.dev/v1alpha1', 'ServiceLevelObjective', 'vitals-cache'],
    ]);
    const specs = docs.map((d) => d.spec as { target: string; window: string; indicator: unknown });
    expect(specs.map((s) => [s.target, s.window])).toEqual([
      ['99.9', '30d'],
      ['99', '7d'],
    ]);
    expect(specs[1]?.indicator).toEqual({
      ratio: {
        errors: { metric: 'vitals_check_failures_total{check="cache"}' },
        total: { metric: 'vitals_check_runs_total{check="cache"}' },
      },
    });
  });

  it('the CRD refuses a number target or an unknown field (the check can fail)', async () => {
    const r = await vitals(['slo', '--config', exampleConfig(), '--format', 'pyrra'], { MYSQL_PASSWORD: 'x' });
    const [doc] = documents(r.stdout) as { spec: Record<string, unknown> }[];
    expect(errorsOf(validatePyrra, doc)).toBe('');
    const numeric = structuredClone(doc) as { spec: Record<string, unknown> };
    numeric.spec.target = 99.5;
    expect(errorsOf(validatePyrra, numeric)).toContain('/spec/target must be string');
    const unknown = structuredClone(doc) as { spec: Record<string, unknown> };
    unknown.spec.objective = '99.5';
    expect(errorsOf(validatePyrra, unknown)).toContain('must NOT have additional properties');
  });
});

describe('vitals slo, refused', () => {
  it.each<[string, string[], RegExp]>([
    ['without --format', ['--config', 'CONFIG'], /^vitals: slo: --format prometheus\|sloth\|pyrra is required\n/],
    [
      'an unknown --format',
      ['--config', 'CONFIG', '--format', 'openslo'],
      /^vitals: --format: expected one of prometheus\|sloth\|pyrra, got "openslo"\n/,
    ],
    ['without --config', ['--format', 'sloth'], /^vitals: slo: --config FILE is required\n/],
    ['an empty --out', ['--config', 'CONFIG', '--format', 'sloth', '--out', ''], /^vitals: --out: empty path\n/],
  ])('%s: exit 2 naming the flag, with the usage', async (_, args, message) => {
    const config = configFile(THREE_CHECKS);
    const r = await vitals(['slo', ...args.map((a) => (a === 'CONFIG' ? config : a))]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('usage: vitals');
  });

  it('refuses --format and --out on the other commands', async () => {
    const config = configFile(THREE_CHECKS);
    const validate = await vitals(['validate', '--config', config, '--format', 'sloth']);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toMatch(/^vitals: --format: only for the slo command\n/);
    const check = await vitals(['check', '--config', config, '--out', tempDir()]);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/^vitals: --out: only for the slo command\n/);
  });

  it('exits 2 when no check has an objective, saying where to set one', async () => {
    const config = configFile('checks:\n  - name: db\n    kind: tcp\n    host: db\n    port: 3306\n');
    const r = await vitals(['slo', '--config', config, '--format', 'prometheus']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^vitals: slo: no check in .* has an objective \(set checks\[\]\.slo\.objective or defaults\.slo\.objective\)\n/,
    );
  });

  it('exits 2 on an invalid slo, naming its path, and writes nothing', async () => {
    const config = configFile(THREE_CHECKS.replace('objective: 99.9', 'objective: 100'));
    const out = join(tempDir(), 'never');
    const r = await vitals(['slo', '--config', config, '--format', 'prometheus', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('checks[0].slo.objective: must be above 0 and below 100');
    expect(() => readFileSync(join(out, 'vitals-slo.yml'))).toThrow(/ENOENT/);
  });
});
