import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkKinds } from '../../src/checks/index.js';
import { builtCliAndTempDir, runCli } from '../support/cli.js';

// `validate` never connects to anything, so these tests need no database: they run the built
// CLI (`npm test` builds it first) as a user would.

/** Runs the CLI with only PATH and `env` set, so that the caller's VITALS_CONFIG or PORT cannot leak in. */
async function vitals(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await runCli(args, {
    cwd: tempDir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    timeoutMs: 20_000,
  });
  return { code, stdout, stderr };
}

// `npm test` builds first; run alone after an edit, this file would otherwise test old code.
const tempDir = builtCliAndTempDir('vitals-validate-');
let counter = 0;

/** Writes `text` to a new file in the temp dir and returns its path. */
function configFile(text: string): string {
  counter += 1;
  const path = join(tempDir(), `config-${String(counter)}.yml`);
  writeFileSync(path, text);
  return path;
}

const noStackTrace = (text: string) => text.split('\n').filter((line) => line.startsWith('    at '));

const GOOD = `
server:
  shutdownDelay: 5s
  shutdownTimeout: 10s
defaults:
  interval: 10s
  timeout: 2s
checks:
  - name: primary-db
    kind: mysql
    url: mysql://app@db.internal:3306/app
    password: \${DB_PASSWORD}
  - name: replica_2
    kind: mysql
    url: mysql://monitor@[fd00::2]/app
    critical: false
    interval: 1m30s
    timeout: 1500ms
`;

const KNOWN_KINDS = [...checkKinds.keys()].join(', ');
const USAGE_FIRST_LINE = 'usage: vitals [serve] [--config FILE] [--host ADDR] [--port N] [--watch-config DURATION]';

// Each run is a fresh Node process that mostly waits on module loading; nothing here measures
// time, so the runs may overlap.
describe.concurrent('vitals validate', () => {
  it('exits 0 with a one-line summary per check and an ok line', async () => {
    const file = configFile(GOOD);
    const result = await vitals(['validate', '--config', file], { DB_PASSWORD: 'pw' });
    expect(result).toEqual({
      code: 0,
      stdout: [
        'primary-db  kind=mysql  target=db.internal:3306  critical=true  interval=10s  timeout=2s',
        'replica_2  kind=mysql  target=[fd00::2]:3306  critical=false  interval=1m30s  timeout=1s500ms',
        `${file}: ok, 2 check(s)`,
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it('takes a ${VAR} holding #, quotes, @ and a colon literally, and never prints it', async () => {
    const password = `p #ss"w'o@rd: x`;
    const result = await vitals(['validate', '--config', configFile(GOOD)], { DB_PASSWORD: password });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('primary-db  kind=mysql  target=db.internal:3306');
    expect(`${result.stdout}${result.stderr}`).not.toContain("w'o@rd");
  });

  it('substitutes a ${VAR} value exactly as it is, as an error message shows', async () => {
    const file = configFile('checks:\n  - name: db\n    kind: ${KIND}\n');
    const result = await vitals(['validate', '--config', file], { KIND: `my #sql"'@: x` });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `vitals: invalid config ${file}:\n  checks[0].kind: unknown kind "my #sql"'@: x" (known: ${KNOWN_KINDS})\n`,
    );
  });

  it('reads $$ as a literal $', async () => {
    const file = configFile('checks:\n  - name: db\n    kind: mysql\n    url: mysql://app@db$$1:3306/\n');
    const result = await vitals(['validate', '--config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(
      'db  kind=mysql  target=db$1:3306  critical=true  interval=10s  timeout=2s',
    );
  });

  it('prints the 25s shutdown warning on stderr and still exits 0', async () => {
    const file = configFile('server:\n  shutdownDelay: 20s\n  shutdownTimeout: 10s\n');
    const result = await vitals(['validate', '--config', file]);
    expect(result).toEqual({
      code: 0,
      stdout: `${file}: ok, 0 check(s)\n`,
      stderr:
        'warning: server: shutdownDelay + shutdownTimeout is 30s, above 25s: ' +
        'raise terminationGracePeriodSeconds (30s by default in Kubernetes) to match\n',
    });
  });

  it.each<[string, string, Record<string, string>, string[]]>([
    ['an unknown key', 'server:\n  prot: 80\n', {}, ['server.prot: unknown key']],
    [
      'a wrong type',
      'checks:\n  - name: db\n    kind: mysql\n    url: mysql://db/\n    critical: "yes"\n',
      {},
      ['checks[0].critical: Invalid input: expected boolean, received string'],
    ],
    [
      'duplicate names',
      'checks:\n  - {name: db, kind: mysql, url: "mysql://a/"}\n  - {name: db, kind: mysql, url: "mysql://b/"}\n',
      {},
      ['checks[1].name: duplicate check name "db" (also checks[0])'],
    ],
    [
      'a timeout not shorter than the interval',
      'checks:\n  - {name: a, kind: mysql, url: "mysql://a/"}\n  - {name: b, kind: mysql, url: "mysql://b/", interval: 5s, timeout: 5s}\n',
      {},
      ['checks[1].timeout: timeout (5s) must be shorter than interval (5s)'],
    ],
    [
      'an unknown kind',
      'checks:\n  - {name: db, kind: mongodb}\n',
      {},
      [`checks[0].kind: unknown kind "mongodb" (known: ${KNOWN_KINDS})`],
    ],
    [
      'an invalid duration',
      'defaults:\n  interval: 1s1m\n',
      {},
      ['defaults.interval: invalid duration "1s1m" (use e.g. "500ms", "5s", "1m")'],
    ],
    [
      'an out-of-range duration',
      'defaults:\n  interval: 99999999y\n',
      {},
      ['defaults.interval: duration "99999999y" out of range (100ms to 1d)'],
    ],
    [
      'an unset variable, which the message names',
      'checks:\n  - {name: db, kind: mysql, url: "mysql://db/", password: "${DB_PASSWORD}"}\n',
      {},
      ['checks[0].password: environment variable DB_PASSWORD is not set (use ${DB_PASSWORD:-default} for a default)'],
    ],
    [
      'invalid YAML, naming the line',
      'server:\n  port: 1\n\thost: x\n',
      {},
      ['line 3, column 1: Tabs are not allowed as indentation'],
    ],
    ['an empty file', '', {}, ['(root): the config file is empty']],
    [
      'several problems, all at once',
      'server:\n  bogus: 1\nchecks:\n  - {name: a, kind: mysql, url: "mysql://a/", timeout: 20s}\n  - {name: a, kind: cassandra}\n',
      {},
      [
        'server.bogus: unknown key',
        'checks[0].timeout: timeout (20s) must be shorter than interval (10s)',
        'checks[1].name: duplicate check name "a" (also checks[0])',
        `checks[1].kind: unknown kind "cassandra" (known: ${KNOWN_KINDS})`,
      ],
    ],
  ])('exits 2 naming every problem for %s', async (_, text, env, problems) => {
    const file = configFile(text);
    const result = await vitals(['validate', '--config', file], env);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `vitals: invalid config ${file}:\n${problems.map((p) => `  ${p}\n`).join('')}`,
    });
    expect(noStackTrace(result.stderr)).toEqual([]);
  });

  it('exits 2 naming a missing file', async () => {
    const missing = join(tempDir(), 'does-not-exist.yml');
    const result = await vitals(['validate', '--config', missing]);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `vitals: invalid config ${missing}:\n  cannot read config file "${missing}" (ENOENT)\n`,
    });
  });

  it('reads VITALS_CONFIG when there is no --config', async () => {
    const file = configFile('checks:\n  - {name: from-env, kind: mysql, url: "mysql://db/"}\n');
    const result = await vitals(['validate'], { VITALS_CONFIG: file });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `from-env  kind=mysql  target=db:3306  critical=true  interval=10s  timeout=2s\n${file}: ok, 1 check(s)\n`,
    );
  });

  it('prefers --config over VITALS_CONFIG', async () => {
    const file = configFile('checks:\n  - {name: from-flag, kind: mysql, url: "mysql://db/"}\n');
    const result = await vitals(['validate', '--config', file], { VITALS_CONFIG: join(tempDir(), 'nope.yml') });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${file}: ok, 1 check(s)`);
  });

  it.each([
    ['neither --config nor VITALS_CONFIG', {}],
    ['an empty VITALS_CONFIG', { VITALS_CONFIG: '' }],
  ])('exits 2 asking for --config with %s', async (_, env) => {
    const result = await vitals(['validate'], env);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').slice(0, 2)).toEqual([
      'vitals: validate: --config FILE is required',
      USAGE_FIRST_LINE,
    ]);
  });

  it.each<[string, string[], Record<string, string>, string]>([
    ['--port abc', ['--port', 'abc'], {}, 'vitals: --port: expected a port number (0-65535), got "abc"'],
    ['--port 65536', ['--port', '65536'], {}, 'vitals: --port: expected a port number (0-65535), got "65536"'],
    ['PORT=abc', [], { PORT: 'abc' }, 'vitals: PORT: expected a port number (0-65535), got "abc"'],
    [
      'an unknown flag',
      ['--bogus'],
      {},
      "vitals: Unknown option '--bogus'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--bogus\"",
    ],
    ['an unknown command', [], {}, 'vitals: unknown command "valdate"'],
    [
      '--watch-config beyond a day',
      ['--watch-config', '30d'],
      {},
      'vitals: --watch-config: expected a duration from 100ms to 1d such as "10s", got "30d"',
    ],
    [
      'an invalid --watch-config',
      ['--watch-config', '10'],
      {},
      'vitals: --watch-config: expected a duration from 100ms to 1d such as "10s", got "10"',
    ],
  ])('exits 2 with usage for %s', async (name, extra, env, message) => {
    const file = configFile('checks: []\n');
    const args =
      name === 'an unknown command' ? ['valdate', '--config', file] : ['validate', '--config', file, ...extra];
    const result = await vitals(args, env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').slice(0, 2)).toEqual([message, USAGE_FIRST_LINE]);
    expect(noStackTrace(result.stderr)).toEqual([]);
  });

  it('accepts a valid port and --watch-config, which validate does not use', async () => {
    const file = configFile('checks: []\n');
    const result = await vitals(['validate', '--config', file, '--port', '8080', '--watch-config', '10s'], {
      PORT: '9000',
    });
    expect(result).toEqual({ code: 0, stdout: `${file}: ok, 0 check(s)\n`, stderr: '' });
  });
});
