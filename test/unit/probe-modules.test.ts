import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText, type Config } from '../../src/config/load.js';
import { probeDeadlineMs } from '../../src/probe/deadline.js';
import { probeExposition } from '../../src/probe/exposition.js';
import { withTarget } from '../../src/probe/modules.js';
import { createTargetAllowList, parseProbeTarget, type ProbeTarget } from '../../src/probe/target.js';

const dir = mkdtempSync(join(tmpdir(), 'vitals-modules-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const yaml = (text: string) => parseConfigText(text, 'test.yml', { env: {}, baseDir: dir });

function problemsOf(text: string): readonly string[] {
  try {
    yaml(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError, the config was accepted');
}

const target = (text: string) => parseProbeTarget(text) as ProbeTarget;

describe('modules', () => {
  it('validates each module with its kind, and fills the target in per probe', () => {
    writeFileSync(join(dir, 'db-password'), 's3cret-module\n');
    const config: Config = yaml(`
defaults: { timeout: 3s }
modules:
  mariadb:
    kind: mysql
    url: mysql://vitals@/app
    passwordFile: db-password
    allowTargets: [10.0.0.0/8, "*.db.internal"]
  port:
    kind: tcp
    timeout: 1s
    allowTargets: [127.0.0.1]
  cache:
    kind: redis
    allowTargets: [cache.internal]
`);
    const mariadb = config.modules.get('mariadb');
    expect(mariadb?.timeoutMs).toBe(3000);
    expect(mariadb?.secretValues).toEqual({ password: 's3cret-module' });
    expect(config.secrets).toContain('s3cret-module');
    expect(config.files).toContain(join(dir, 'db-password'));
    expect(mariadb && withTarget(mariadb, target('10.1.2.3:3307')).url).toBe('mysql://vitals@10.1.2.3:3307/app');
    const port = config.modules.get('port');
    expect(port?.timeoutMs).toBe(1000);
    expect(port && withTarget(port, target('127.0.0.1:22'))).toEqual({ host: '127.0.0.1', port: 22 });
    const cache = config.modules.get('cache');
    expect(cache && withTarget(cache, target('[::1]:6380')).url).toBe('redis://[::1]:6380');
    expect(config.server.maxConcurrentProbes).toBe(32);
  });

  it('names every problem by modules.NAME.field, each module on its own', () => {
    expect(
      problemsOf(`
modules:
  open: { kind: tcp }
  hosted: { kind: mysql, url: "mysql://vitals@db:3306/", allowTargets: [10.0.0.0/8] }
  inline: { kind: mysql, url: "mysql://vitals:pw@/", allowTargets: [10.0.0.0/8] }
  fixed: { kind: tcp, host: db, port: 1, allowTargets: [10.0.0.0/8] }
  strict: { kind: mysql, querry: SELECT 1, allowTargets: [10.0.0.0/8] }
  local: { kind: disk, path: /, allowTargets: [10.0.0.0/8] }
  glob: { kind: tcp, allowTargets: ["*", 10.0.0.0/33] }
  Bad: { kind: nope, allowTargets: [10.0.0.0/8] }
`),
    ).toEqual([
      'modules.open.allowTargets: required: the CIDRs and host globs this module may probe (no open proxy into the network)',
      "modules.hosted.url: leave the host out (mysql://…@/…): /probe's target goes there",
      'modules.inline.url: no password in the URL: use password or passwordFile',
      "modules.fixed.host: set by /probe's target parameter, not in the module",
      "modules.fixed.port: set by /probe's target parameter, not in the module",
      'modules.strict.querry: unknown key',
      'modules.local.kind: kind disk has no network target, so it cannot be a /probe module',
      'modules.glob.allowTargets[0]: "*" is neither a CIDR (10.0.0.0/8) nor a host name or glob (*.db.internal)',
      'modules.glob.allowTargets[1]: invalid prefix length in "10.0.0.0/33" (0-32)',
      'modules.Bad: a module name must match [a-z0-9][a-z0-9_-]*',
      expect.stringContaining('modules.Bad.kind: unknown kind "nope"'),
    ]);
  });
});

describe('probe targets', () => {
  it.each([
    ['mysql://db:3306', 'scheme'],
    ['user:pw@db:3306', 'credentials'],
    ['db:3306/other', 'path'],
    ['db:3306?x=1', 'query'],
    ['db:3306#x', 'query'],
    ['db:99999', 'port'],
    ['::1:3306', 'HOST:PORT'],
    ['db_1:3306', 'DNS name'],
  ])('refuses %s (%s)', (text, word) => {
    expect(parseProbeTarget(text)).toEqual(expect.stringContaining(word));
  });

  it('holds addresses to CIDRs and names to globs', () => {
    const allow = createTargetAllowList(['10.0.0.0/8', '::1', '*.db.internal', 'cache.internal']);
    expect(allow.allows(target('10.9.9.9:1'))).toBe(true);
    expect(allow.allows(target('11.0.0.1:1'))).toBe(false);
    expect(allow.allows(target('[::1]:1'))).toBe(true);
    expect(allow.allows(target('a.b.DB.internal:1'))).toBe(true);
    expect(allow.allows(target('db.internal:1'))).toBe(false);
    expect(allow.allows(target('evildb.internal:1'))).toBe(false);
    expect(allow.allows(target('cache.internal:1'))).toBe(true);
    expect(allow.allows(target('x.cache.internal:1'))).toBe(false);
  });

  it('caps the deadline by the scrape timeout minus 0.5 s, ignoring a bad header', () => {
    expect(probeDeadlineMs(5000, '1.5')).toBe(1000);
    expect(probeDeadlineMs(5000, '10')).toBe(5000);
    expect(probeDeadlineMs(5000, '0.2')).toBe(100);
    expect(probeDeadlineMs(5000, 'soon')).toBe(5000);
    expect(probeDeadlineMs(5000, '')).toBe(5000);
    expect(probeDeadlineMs(5000, '-1')).toBe(5000);
  });
});

describe('the probe exposition', () => {
  it('has every reason and phase, and the certificate only when the run saw one', () => {
    const failed = probeExposition(
      {
        status: 'fail',
        durationMs: 12.5,
        observedValue: 12.5,
        finishedAt: 0,
        output: 'x',
        reason: 'auth',
        phases: { connect: 3 },
        certificate: { notAfter: 1_900_000_000_000, commonName: 'db' },
      },
      ['connect', 'tls', 'query'],
    );
    expect(failed).toContain('probe_success 0\n');
    expect(failed).toContain('probe_duration_seconds 0.0125\n');
    expect(failed).toContain('probe_failure_reason{reason="auth"} 1\n');
    expect(failed.match(/^probe_failure_reason\{/gm)).toHaveLength(6);
    expect(failed).toContain('probe_phase_duration_seconds{phase="connect"} 0.003\n');
    expect(failed).toContain('probe_phase_duration_seconds{phase="query"} 0\n');
    expect(failed).toContain('probe_tls_cert_expiry_timestamp_seconds 1900000000\n');
    const warned = probeExposition(
      { status: 'warn', durationMs: 1, observedValue: 1, finishedAt: 0, output: 'slow', reason: undefined },
      [],
    );
    expect(warned).toContain('probe_success 1\n');
    expect(warned).not.toContain('probe_phase_duration_seconds');
    expect(warned).not.toContain('probe_tls_cert_expiry_timestamp_seconds');
  });
});
