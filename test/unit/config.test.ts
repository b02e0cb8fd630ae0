import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkKinds } from '../../src/checks/index.js';
import {
  ConfigError,
  defaultConfig,
  loadConfigFile,
  parseConfig,
  parseConfigText,
  type Config,
  type LoadOptions,
} from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'vitals-config-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The problems of a config that must be rejected; fails the test when it is accepted. */
function problemsOf(load: () => Config): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError, the config was accepted');
}

const yaml = (text: string, options: LoadOptions = {}) => parseConfigText(text, 'test.yml', { env: {}, ...options });

const KNOWN_KINDS = [...checkKinds.keys()].join(', ');

const MYSQL = 'kind: mysql\n    url: mysql://app@db:3306/app';

describe('a valid config', () => {
  it('applies the documented defaults', () => {
    const config = yaml(`checks:\n  - name: db\n    ${MYSQL}\n`);
    expect(config.server).toEqual({
      shutdownDelayMs: 5000,
      shutdownTimeoutMs: 10_000,
      watchConfigMs: undefined,
      probesWithoutAuth: true,
      maxConcurrentProbes: 32,
      allowedHosts: [],
    });
    expect(config.security).toEqual({
      details: 'authorized',
      allow: ['127.0.0.0/8', '::1/128'],
      token: '',
      trustProxy: [],
    });
    expect(config.metrics).toEqual({
      histogram: true,
      durationBuckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    expect(config.checks).toEqual([
      {
        name: 'db',
        kind: 'mysql',
        critical: true,
        intervalMs: 10_000,
        timeoutMs: 2000,
        failureThreshold: 1,
        successThreshold: 1,
        warnLatencyMs: undefined,
        options: { url: 'mysql://app@db:3306/app', replicationLagFails: false, expectWritable: false },
      },
    ]);
    expect(config.warnings).toEqual([]);
    expect(config.source).toBe('test.yml');
  });

  it('lets a check override the defaults, and defaults override the built-in ones', () => {
    const config = yaml(
      [
        'server: {port: 8080, probePort: 8081, grpcPort: 9090, shutdownDelay: 1s, shutdownTimeout: 2s, watchConfig: 500ms}',
        'defaults: {interval: 30s, timeout: 5s, failureThreshold: 3, successThreshold: 2}',
        'checks:',
        `  - name: inherits`,
        `    ${MYSQL}`,
        '  - name: own_values-2',
        `    ${MYSQL}`,
        '    critical: false',
        '    interval: 1m30s',
        '    timeout: 500ms',
        '    failureThreshold: 5',
        '    successThreshold: 4',
        '    warnLatency: 250ms',
        '',
      ].join('\n'),
    );
    expect(config.server).toEqual({
      port: 8080,
      probePort: 8081,
      grpcPort: 9090,
      shutdownDelayMs: 1000,
      shutdownTimeoutMs: 2000,
      watchConfigMs: 500,
      probesWithoutAuth: true,
      maxConcurrentProbes: 32,
      allowedHosts: [],
    });
    const [inherits, own] = config.checks;
    expect(inherits).toMatchObject({
      critical: true,
      intervalMs: 30_000,
      timeoutMs: 5000,
      failureThreshold: 3,
      successThreshold: 2,
    });
    expect(own).toMatchObject({
      name: 'own_values-2',
      critical: false,
      intervalMs: 90_000,
      timeoutMs: 500,
      failureThreshold: 5,
      successThreshold: 4,
      warnLatencyMs: 250,
    });
  });

  it("keeps a check's extra labels as given, and leaves them out when there are none", () => {
    const config = yaml(
      `checks:\n  - name: db\n    ${MYSQL}\n    labels: { team: payments, tier: "1" }\n  - name: other\n    ${MYSQL}\n`,
    );
    expect(config.checks[0]?.labels).toStrictEqual({ team: 'payments', tier: '1' });
    expect(config.checks[1]).not.toHaveProperty('labels');
  });

  it('accepts a config with no checks at all', () => {
    expect(yaml('server:\n  port: 9469\n').checks).toEqual([]);
  });

  it('takes a substituted password holding #, quotes and @ literally and lists it as a secret', () => {
    const password = `p#ss "w'o@rd: x`;
    const config = yaml(`checks:\n  - name: db\n    ${MYSQL}\n    password: \${DB_PASSWORD}\n`, {
      env: { DB_PASSWORD: password },
    });
    expect(config.checks[0]?.options.password).toBe(password);
    expect(config.secrets).toEqual([password]);
  });

  it('reads $$ as a literal $', () => {
    const config = yaml(`checks:\n  - name: db\n    ${MYSQL}\n` + '    password: "pa$$word$${HOME}"\n', {
      env: { HOME: '/root' },
    });
    expect(config.checks[0]?.options.password).toBe('pa$word${HOME}');
  });

  it('uses ${VAR:-default} when the variable is unset', () => {
    const config = yaml('checks:\n  - name: db\n    kind: mysql\n    url: ${DB_URL:-mysql://root@127.0.0.1:3306/}\n');
    expect(config.checks[0]?.options.url).toBe('mysql://root@127.0.0.1:3306/');
  });

  it('lists the password from a URL as a secret, decoded and as written', () => {
    const config = yaml('checks:\n  - name: db\n    kind: mysql\n    url: mysql://app:s3cr%40t@db/app\n');
    expect(config.secrets).toEqual(['s3cr@t', 's3cr%40t']);
  });

  it('lists the token as a secret', () => {
    const config = yaml('security:\n  token: ${TOKEN}\n', { env: { TOKEN: 'abc.def-123' } });
    expect(config.security.token).toBe('abc.def-123');
    expect(config.secrets).toEqual(['abc.def-123']);
  });

  it('treats an empty token as token auth off, not as a secret', () => {
    const config = yaml('security:\n  token: ${TOKEN}\n', { env: { TOKEN: '' } });
    expect(config.security.token).toBe('');
    expect(config.secrets).toEqual([]);
  });

  it('reads passwordFile and tokenFile relative to the config directory, without the final newline', () => {
    writeFileSync(join(dir, 'db-password'), 'from-file\n');
    writeFileSync(join(dir, 'token'), 'token-from-file\r\n');
    const config = yaml(
      `security:\n  tokenFile: token\nchecks:\n  - name: db\n    ${MYSQL}\n    passwordFile: db-password\n`,
      { baseDir: dir, configFile: join(dir, 'vitals.yml') },
    );
    expect(config.checks[0]?.options.password).toBe('from-file');
    expect(config.security.token).toBe('token-from-file');
    expect(config.secrets).toEqual(['from-file', 'token-from-file']);
    expect(config.files).toEqual([join(dir, 'vitals.yml'), join(dir, 'db-password'), join(dir, 'token')]);
  });

  it('warns when shutdownDelay + shutdownTimeout exceeds 25s', () => {
    const config = yaml('server:\n  shutdownDelay: 20s\n  shutdownTimeout: 10s\n');
    expect(config.warnings).toEqual([
      'server: shutdownDelay + shutdownTimeout is 30s, above 25s: raise terminationGracePeriodSeconds (30s by default in Kubernetes) to match',
    ]);
  });

  it('does not warn at exactly 25s', () => {
    expect(yaml('server:\n  shutdownDelay: 15s\n  shutdownTimeout: 10s\n').warnings).toEqual([]);
  });

  it('warns that details: always shows details to any caller', () => {
    expect(yaml('security:\n  details: always\n').warnings).toEqual([
      'security.details: "always" shows every check\'s target and error to any caller',
    ]);
  });

  it('warns when grpcPort is set and a check takes the name of a gRPC health service of vitals', () => {
    const checks = `checks:\n  - name: startup\n    ${MYSQL}\n  - name: db\n    ${MYSQL}\n`;
    expect(yaml(`server:\n  grpcPort: 9090\n${checks}`).warnings).toEqual([
      'checks[0].name: "startup" is also a gRPC health service of vitals itself; gRPC answers that one, and the check is reachable on /ready/startup only',
    ]);
    expect(yaml(checks).warnings).toEqual([]);
  });

  it('accepts a config object with the same schema as the file', () => {
    const config = parseConfig({ checks: [{ name: 'db', kind: 'mysql', url: 'mysql://db/' }] }, 'object', { env: {} });
    expect(config.checks.map((c) => c.name)).toEqual(['db']);
  });
});

describe('an invalid config', () => {
  it.each<[string, string, string[]]>([
    ['an unknown root key', 'bogus: 1\n', ['bogus: unknown key']],
    ['an unknown server key', 'server:\n  prot: 80\n', ['server.prot: unknown key']],
    ['an unknown metrics key', 'metrics:\n  histograms: false\n', ['metrics.histograms: unknown key']],
    [
      'an extra label vitals sets itself',
      `checks:\n  - name: db\n    ${MYSQL}\n    labels: { team: payments, kind: sql }\n`,
      [
        'checks[0].labels.kind: reserved: vitals sets check, kind, critical, status, reason, target, le, phase, job, instance itself',
      ],
    ],
    [
      'an extra label name Prometheus reserves',
      `checks:\n  - name: db\n    ${MYSQL}\n    labels: { __team: payments }\n`,
      ['checks[0].labels.__team: names starting with __ are reserved by Prometheus'],
    ],
    [
      'an extra label name that is not one',
      `checks:\n  - name: db\n    ${MYSQL}\n    labels: { team-name: payments }\n`,
      ['checks[0].labels.team-name: a label name must match [a-zA-Z_][a-zA-Z0-9_]*'],
    ],
    [
      'an extra label value that is not a string',
      `checks:\n  - name: db\n    ${MYSQL}\n    labels: { tier: 1 }\n`,
      ['checks[0].labels.tier: Invalid input: expected string, received number'],
    ],
    [
      'more than ten extra labels',
      `checks:\n  - name: db\n    ${MYSQL}\n    labels: { ${Array.from({ length: 11 }, (_, i) => `l${String(i)}: x`).join(', ')} }\n`,
      ['checks[0].labels: at most 10 labels: each rides on every series of the check'],
    ],
    [
      'duration buckets out of order',
      'metrics:\n  durationBuckets: [0.1, 0.05, 1]\n',
      ['metrics.durationBuckets: upper bounds must be strictly increasing, such as [0.01, 0.1, 1]'],
    ],
    [
      'a duration bucket that is not a positive number',
      'metrics:\n  durationBuckets: [0, 1]\n',
      ['metrics.durationBuckets[0]: Too small: expected number to be >0'],
    ],
    ['no duration buckets', 'metrics:\n  durationBuckets: []\n', ['metrics.durationBuckets: at least one upper bound']],
    [
      'duration buckets that are not a list',
      'metrics:\n  durationBuckets: 0.5\n',
      ['metrics.durationBuckets: must be a list of upper bounds in seconds'],
    ],
    [
      'too many duration buckets',
      `metrics:\n  durationBuckets: [${Array.from({ length: 31 }, (_, i) => String(i + 1)).join(', ')}]\n`,
      ['metrics.durationBuckets: at most 30 buckets: each is a series for every check'],
    ],
    [
      'an unknown check key',
      `checks:\n  - name: db\n    ${MYSQL}\n    passwrd: x\n`,
      ['checks[0].passwrd: unknown key'],
    ],
    ['a port that is a string', 'server:\n  port: "80"\n', ['server.port: expected a port number (0-65535)']],
    ['a port out of range', 'server:\n  port: 70000\n', ['server.port: expected a port number (0-65535)']],
    [
      'a grpcPort that is a string',
      'server:\n  grpcPort: "9090"\n',
      ['server.grpcPort: expected a port number (0-65535)'],
    ],
    ['a grpcPort out of range', 'server:\n  grpcPort: -1\n', ['server.grpcPort: expected a port number (0-65535)']],
    [
      'a grpcPort that is not an integer',
      'server:\n  grpcPort: 90.5\n',
      ['server.grpcPort: expected a port number (0-65535)'],
    ],
    [
      'a boolean that is a string',
      `checks:\n  - name: db\n    ${MYSQL}\n    critical: "yes"\n`,
      ['checks[0].critical: Invalid input: expected boolean, received string'],
    ],
    [
      'a details value outside the enum',
      'security:\n  details: sometimes\n',
      ['security.details: Invalid option: expected one of "always"|"authorized"|"never"'],
    ],
    [
      'invalid CIDRs',
      'security:\n  allow: [10.0.0.0/33, nonsense, "::1/129"]\n',
      [
        'security.allow[0]: invalid prefix length in "10.0.0.0/33" (0-32)',
        'security.allow[1]: invalid CIDR "nonsense"',
        'security.allow[2]: invalid prefix length in "::1/129" (0-128)',
      ],
    ],
    [
      'a zero threshold',
      'defaults:\n  failureThreshold: 0\n',
      ['defaults.failureThreshold: Too small: expected number to be >=1'],
    ],
    ['a check that is not a mapping', 'checks:\n  - mysql\n', ['checks[0]: expected a mapping with name and kind']],
    ['checks that are not a list', 'checks:\n  db: {}\n', ['checks: Invalid input: expected array, received object']],
    [
      'a name that cannot be a label value',
      `checks:\n  - name: Primary DB\n    ${MYSQL}\n`,
      ['checks[0].name: must match [a-z0-9][a-z0-9_-]* (it becomes a metric label)'],
    ],
    [
      'duplicate names',
      `checks:\n  - name: db\n    ${MYSQL}\n  - name: other\n    ${MYSQL}\n  - name: db\n    ${MYSQL}\n`,
      ['checks[2].name: duplicate check name "db" (also checks[0])'],
    ],
    [
      'a duplicate of a name whose first check has another problem',
      `checks:\n  - name: db\n    ${MYSQL}\n    critical: 1\n  - name: db\n    ${MYSQL}\n`,
      [
        'checks[0].critical: Invalid input: expected boolean, received number',
        'checks[1].name: duplicate check name "db" (also checks[0])',
      ],
    ],
    [
      'a check timeout equal to its interval',
      `checks:\n  - name: db\n    ${MYSQL}\n    interval: 1s\n    timeout: 1s\n`,
      ['checks[0].timeout: timeout (1s) must be shorter than interval (1s)'],
    ],
    [
      'a check interval shorter than the default timeout',
      `checks:\n  - name: db\n    ${MYSQL}\n    interval: 1s\n`,
      ['checks[0].interval: timeout (2s) must be shorter than interval (1s)'],
    ],
    [
      'a check timeout longer than the default interval',
      `checks:\n  - name: db\n    ${MYSQL}\n    timeout: 15s\n`,
      ['checks[0].timeout: timeout (15s) must be shorter than interval (10s)'],
    ],
    [
      'defaults whose timeout is not shorter than their interval, once however many checks inherit them',
      `defaults:\n  interval: 2s\n  timeout: 5s\nchecks:\n  - name: a\n    ${MYSQL}\n  - name: b\n    ${MYSQL}\n  - name: c\n    ${MYSQL}\n    interval: 10s\n`,
      ['defaults.timeout: timeout (5s) must be shorter than interval (2s)'],
    ],
    [
      'an unknown kind',
      'checks:\n  - name: db\n    kind: oracle\n    url: x\n',
      [`checks[0].kind: unknown kind "oracle" (known: ${KNOWN_KINDS})`],
    ],
    [
      'a missing kind',
      'checks:\n  - name: db\n',
      ['checks[0].kind: Invalid input: expected string, received undefined'],
    ],
    ['a missing url', 'checks:\n  - name: db\n    kind: mysql\n', ['checks[0].url: expected a URL string']],
    [
      'a url of the wrong scheme, without repeating the url',
      'checks:\n  - name: db\n    kind: mysql\n    url: postgres://u:hunter2@db/\n',
      ['checks[0].url: expected a URL starting with mysql://'],
    ],
    [
      'a query that writes',
      `checks:\n  - name: db\n    ${MYSQL}\n    query: DELETE FROM users\n`,
      ['checks[0].query: must be a single read-only statement (SELECT, SHOW, DO, ...)'],
    ],
    [
      'an invalid duration',
      `checks:\n  - name: db\n    ${MYSQL}\n    timeout: 1.5s\n`,
      ['checks[0].timeout: invalid duration "1.5s" (use e.g. "500ms", "5s", "1m")'],
    ],
    [
      'a duration without a unit',
      'defaults:\n  interval: 5\n',
      ['defaults.interval: expected a duration string such as "500ms", "5s" or "1m"'],
    ],
    [
      'a huge duration',
      `checks:\n  - name: db\n    ${MYSQL}\n    warnLatency: 99999999y\n`,
      ['checks[0].warnLatency: duration "99999999y" out of range (0s to 1d)'],
    ],
    [
      'an interval below 100ms',
      `checks:\n  - name: db\n    ${MYSQL}\n    interval: 50ms\n    timeout: 10ms\n`,
      ['checks[0].interval: duration "50ms" out of range (100ms to 1d)'],
    ],
    [
      'an unset variable, named',
      `checks:\n  - name: db\n    ${MYSQL}\n    password: \${DB_PASSWORD}\n`,
      ['checks[0].password: environment variable DB_PASSWORD is not set (use ${DB_PASSWORD:-default} for a default)'],
    ],
    [
      'a malformed reference, not echoed',
      'security:\n  token: ${VITALS_TOKEN\n',
      ['security.token: "${" starts no ${VAR} or ${VAR:-default} reference (write $$ for a literal $)'],
    ],
    [
      'a token with a blank in it',
      'security:\n  token: "abc def"\n',
      ['security.token: the token must not contain whitespace'],
    ],
    [
      'both token and tokenFile',
      'security:\n  token: abc\n  tokenFile: /nonexistent\n',
      ['security: set either token or tokenFile, not both'],
    ],
    [
      'both password and passwordFile',
      `checks:\n  - name: db\n    ${MYSQL}\n    password: a\n    passwordFile: b\n`,
      ['checks[0]: set either password or passwordFile, not both'],
    ],
    [
      'a passwordFile that does not exist',
      `checks:\n  - name: db\n    ${MYSQL}\n    passwordFile: /nonexistent/vitals-password\n`,
      ['checks[0].passwordFile: cannot read "/nonexistent/vitals-password" (ENOENT)'],
    ],
    [
      'a document that is a list',
      '- a\n- b\n',
      ['(root): expected a mapping with server, security, defaults and checks'],
    ],
  ])('is rejected for %s', (_, text, problems) => {
    expect(problemsOf(() => yaml(text))).toEqual(problems);
  });

  it('reports every problem at once, a bad server section hiding none of the checks', () => {
    const text = [
      'server:',
      '  bogus: 1',
      'defaults:',
      '  interval: 5',
      'checks:',
      '  - name: a',
      `    ${MYSQL}`,
      '    extra: 1',
      '  - name: a',
      `    ${MYSQL}`,
      '  - name: c',
      `    ${MYSQL}`,
      '    interval: 1s',
      '    timeout: 1s',
      '  - name: d',
      '    kind: oracle',
      '  - name: e',
      `    ${MYSQL}`,
      '    password: ${UNSET_PASSWORD}',
      '',
    ].join('\n');
    expect(problemsOf(() => yaml(text))).toEqual([
      'checks[4].password: environment variable UNSET_PASSWORD is not set (use ${UNSET_PASSWORD:-default} for a default)',
      'server.bogus: unknown key',
      'defaults.interval: expected a duration string such as "500ms", "5s" or "1m"',
      'checks[0].extra: unknown key',
      'checks[1].name: duplicate check name "a" (also checks[0])',
      'checks[2].timeout: timeout (1s) must be shorter than interval (1s)',
      `checks[3].kind: unknown kind "oracle" (known: ${KNOWN_KINDS})`,
    ]);
  });

  it('still compares timeout and interval when the kind options are invalid', () => {
    const text = 'checks:\n  - name: db\n    kind: mysql\n    url: nope\n    interval: 1s\n    timeout: 2s\n';
    expect(problemsOf(() => yaml(text))).toEqual([
      'checks[0].url: not a valid URL',
      'checks[0].timeout: timeout (2s) must be shorter than interval (1s)',
    ]);
  });

  it('compares a check against the valid defaults when another default is invalid', () => {
    const text = `defaults:\n  interval: 5s\n  failureThreshold: -1\nchecks:\n  - name: db\n    ${MYSQL}\n    timeout: 6s\n`;
    expect(problemsOf(() => yaml(text))).toEqual([
      'defaults.failureThreshold: Too small: expected number to be >=1',
      'checks[0].timeout: timeout (6s) must be shorter than interval (5s)',
    ]);
  });

  it('names the line of a YAML syntax error', () => {
    expect(problemsOf(() => yaml('checks:\n  - name: db\n    kind: "mysql\n'))).toEqual([
      'line 4, column 1: Missing closing "quote',
    ]);
  });

  it('refuses a ${VAR} nested in a default, naming the path (the token was the literal inner text)', () => {
    expect(
      problemsOf(() =>
        yaml('security:\n  token: ${VITALS_TOKEN:-${FALLBACK_TOKEN}}\n', { env: { FALLBACK_TOKEN: 'x' } }),
      ),
    ).toEqual([
      'security.token: the default of ${VITALS_TOKEN:-...} holds "${"; nested references are not supported (set VITALS_TOKEN, or write $$ for a literal $)',
    ]);
  });

  it('names the line of a duplicate YAML key', () => {
    expect(problemsOf(() => yaml('server:\n  port: 1\n  port: 2\n'))).toEqual([
      'line 3, column 3: Map keys must be unique',
    ]);
  });

  it.each([
    ['an empty file', ''],
    ['a file of comments', '# nothing here\n\n'],
    // The same mistake written as YAML's null: it used to be a valid config with no checks.
    ['a file of just ~', '~\n'],
    ['a file of just null', '# truncated\nnull\n'],
  ])('rejects %s as empty', (_, text) => {
    expect(problemsOf(() => yaml(text))).toEqual(['(root): the config file is empty']);
  });

  it('puts the source and every problem in the error message', () => {
    let message = '';
    try {
      yaml('bogus: 1\nserver:\n  port: x\n');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      'invalid config test.yml:\n  bogus: unknown key\n  server.port: expected a port number (0-65535)',
    );
  });
});

describe('loadConfigFile', () => {
  it('names a missing file and the reason', () => {
    const missing = join(dir, 'missing.yml');
    expect(problemsOf(() => loadConfigFile(missing))).toEqual([`cannot read config file "${missing}" (ENOENT)`]);
  });

  it('reads a file and resolves secret files beside it', () => {
    const sub = mkdtempSync(join(dir, 'sub-'));
    writeFileSync(join(sub, 'pw'), 'secret');
    writeFileSync(join(sub, 'vitals.yml'), `checks:\n  - name: db\n    ${MYSQL}\n    passwordFile: pw\n`);
    const config = loadConfigFile(join(sub, 'vitals.yml'), { env: {} });
    expect(config.source).toBe(join(sub, 'vitals.yml'));
    expect(config.checks[0]?.options.password).toBe('secret');
    expect(config.files).toEqual([join(sub, 'vitals.yml'), join(sub, 'pw')]);
  });
});

describe('defaultConfig', () => {
  it('is one critical mysql check against the default MYSQL_URL', () => {
    const config = defaultConfig({ env: {} });
    expect(config.source).toBe('built-in default');
    expect(config.checks).toEqual([expect.objectContaining({ name: 'mysql', kind: 'mysql', critical: true })]);
    expect(config.checks[0]?.options.url).toBe('mysql://root@127.0.0.1:3306/');
  });

  it('follows MYSQL_URL', () => {
    const config = defaultConfig({ env: { MYSQL_URL: 'mysql://monitor:pw@db.internal:3307/' } });
    expect(config.checks[0]?.options.url).toBe('mysql://monitor:pw@db.internal:3307/');
    expect(config.secrets).toEqual(['pw']);
  });
});
