/**
 * Issue 4, secrets: the password of every configured check (embedded in the URL, in
 * `password:`, in `passwordFile`) and the token appear in no response body or header, no
 * metric, no log line of the vitals process and no output of `vitals validate` / `vitals check`,
 * through every failure a throwaway MariaDB can produce (wrong password, refused, paused) and
 * through config errors (an invalid URL holding a password, wrong types on secret fields, a
 * rejected reload), raw or percent-encoded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../support/binaries.js';
import { request } from '../support/http.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { freePort } from '../support/ports.js';
import { waitUntil } from '../support/wait.js';

const CLI = join(import.meta.dirname, '../../dist/cli.js');

/** Distinctive, random, and full of characters that encode differently in a URL. */
function secret(label: string): string {
  return `${label}-${randomBytes(9).toString('base64url')}#@%!&+=x`;
}

const S = {
  urlPassword: secret('UrlPw'),
  wrongUrlPassword: secret('WrongUrlPw'),
  overriddenUrlPassword: secret('OverriddenPw'),
  fieldPassword: secret('FieldPw'),
  filePassword: secret('FilePw'),
  refusedPassword: secret('RefusedPw'),
  httpPassword: secret('HttpPw'),
  token: secret('Token'),
  /** Only ever in an invalid config (never loaded, so never known to the redactor). */
  invalidUrlPassword: secret('InvalidUrlPw'),
};

/** The forms a secret may take in output: raw, percent-encoded, a URL's userinfo, Basic auth. */
function forms(name: string, value: string): [string, string][] {
  const url = new URL('http://host');
  url.password = value;
  const list: [string, string][] = [
    [name, value],
    [`${name} (encodeURIComponent)`, encodeURIComponent(value)],
    [`${name} (URL userinfo)`, url.password],
    [`${name} (escaped in JSON)`, JSON.stringify(value).slice(1, -1)],
  ];
  if (name === 'httpPassword') list.push([`${name} (Basic)`, Buffer.from(`admin:${value}`).toString('base64')]);
  return list;
}

const ALL_FORMS = Object.entries(S).flatMap(([name, value]) => forms(name, value));

/** Everything the test saw, labelled, to grep at the end. */
const seen: { what: string; text: string }[] = [];

function expectNoSecret(what: string, text: string): void {
  for (const [name, form] of ALL_FORMS)
    expect(text.includes(form), `${name} in ${what}:\n${text.slice(0, 2000)}`).toBe(false);
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

/** A request whose whole answer (status line, raw headers, body) is recorded. */
async function fetchAll(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const reply = await request(port, path, { ...options, timeoutMs: 5000 });
  const text = `${String(reply.status)} ${reply.rawHeaders.join('\n')}\n\n${reply.body}`;
  seen.push({ what: `${options.method ?? 'GET'} ${path}`, text });
  return { status: reply.status, text };
}

interface CliResult {
  readonly code: number | null;
  readonly out: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      seen.push({ what: `vitals ${args.join(' ')}`, text: out });
      resolve({ code, out });
    });
  });
}

describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb'], 'secrets'))(
  'secrets never leave vitals',
  () => {
    let db: MariaDb;
    let dir: string;
    let configPath: string;
    let validConfig: string;
    let invalidConfig: string;
    let port: number;
    let child: ChildProcess;
    let output = '';
    const env = { FIELD_PASSWORD: S.fieldPassword, VITALS_TOKEN: S.token, LOG_LEVEL: 'trace' };
    const auth = { authorization: `Bearer ${S.token}` };

    beforeAll(async () => {
      db = await startMariaDb();
      for (const [user, password] of [
        ['urluser', S.urlPassword],
        ['fielduser', S.fieldPassword],
        ['fileuser', S.filePassword],
      ] as const) {
        // The secrets hold no quote or backslash: safe in a single-quoted SQL literal.
        await db.sql(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
      }
      dir = await mkdtemp(join(tmpdir(), 'vitals-secrets-'));
      await writeFile(join(dir, 'db-password'), `${S.filePassword}\n`);
      const closed = await freePort();
      const enc = encodeURIComponent;
      const at = `127.0.0.1:${String(db.port)}`;
      validConfig = [
        'server: { shutdownDelay: 0s, shutdownTimeout: 1s }',
        'security:',
        '  token: ${VITALS_TOKEN}',
        'defaults: { interval: 1s, timeout: 500ms }',
        'checks:',
        `  - { name: url-ok, kind: mysql, url: "mysql://urluser:${enc(S.urlPassword)}@${at}/" }`,
        `  - { name: field-ok, kind: mysql, url: "mysql://fielduser@${at}/", password: "\${FIELD_PASSWORD}" }`,
        `  - { name: file-ok, kind: mysql, url: "mysql://fileuser@${at}/", passwordFile: db-password }`,
        `  - { name: url-wrong, kind: mysql, critical: false, url: "mysql://urluser:${enc(S.wrongUrlPassword)}@${at}/" }`,
        `  - { name: overridden, kind: mysql, url: "mysql://fielduser:${enc(S.overriddenUrlPassword)}@${at}/", password: "\${FIELD_PASSWORD}" }`,
        `  - { name: refused, kind: mysql, critical: false, url: "mysql://fielduser:${enc(S.refusedPassword)}@127.0.0.1:${String(closed)}/" }`,
        `  - { name: http-refused, kind: http, critical: false, url: "http://admin:${enc(S.httpPassword)}@127.0.0.1:${String(closed)}/" }`,
        '',
      ].join('\n');
      invalidConfig = [
        'security:',
        // A token with a blank is rejected; the problem must not quote it.
        '  token: "${VITALS_TOKEN} and more"',
        'checks:',
        // An unparseable URL holding a password.
        `  - { name: bad-url, kind: mysql, url: "mysql://urluser:${enc(S.invalidUrlPassword)}@[::1/" }`,
        `  - { name: bad-url-raw, kind: mysql, url: "mysql://urluser:${S.invalidUrlPassword}@127.0.0.1:3306/" }`,
        // Wrong types on the secret fields.
        `  - { name: bad-type, kind: mysql, url: "mysql://u@${at}/", password: ["\${FIELD_PASSWORD}"] }`,
        `  - { name: both, kind: mysql, url: "mysql://u@${at}/", password: "${S.invalidUrlPassword}", passwordFile: db-password }`,
        `  - { name: bad-port, kind: mysql, url: "mysql://u:${enc(S.invalidUrlPassword)}@127.0.0.1:99999/" }`,
        `  - { name: bad-scheme, kind: mysql, url: "postgres://u:${enc(S.invalidUrlPassword)}@127.0.0.1/" }`,
        '',
      ].join('\n');
      configPath = join(dir, 'vitals.yml');
      await writeFile(configPath, validConfig);

      port = await freePort();
      child = spawn(
        process.execPath,
        [CLI, 'serve', '--config', configPath, '--host', '127.0.0.1', '--port', String(port)],
        {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await waitUntil(
        async () => (await fetchAll(port, '/startup').catch(() => ({ status: 0 }))).status === 200,
        15_000,
        'vitals /startup 200',
      );
    });

    afterAll(async () => {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
      }
      await db.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** Every route, with details (allowed address and token) and without. */
    async function scrapeEverything(): Promise<void> {
      for (const path of ['/health', '/ready', '/startup', '/metrics', '/', '/ready/nope']) {
        await fetchAll(port, path);
        await fetchAll(port, path, { headers: auth });
      }
      for (const name of ['url-ok', 'field-ok', 'file-ok', 'url-wrong', 'overridden', 'refused', 'http-refused']) {
        await fetchAll(port, `/ready/${name}`, { headers: auth });
      }
      await fetchAll(port, '/metrics', { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
      await fetchAll(port, '/ready?exclude=url-wrong', { headers: { ...auth, accept: 'application/json' } });
    }

    async function status(name: string): Promise<string | undefined> {
      const reply = await fetchAll(port, `/ready/${name}`, { headers: auth });
      const body = reply.text.slice(reply.text.indexOf('\n\n') + 2);
      const parsed = JSON.parse(body) as { checks?: Record<string, { status: string; output?: string }[]> };
      return parsed.checks?.[`${name}:responseTime`]?.[0]?.status;
    }

    /** Polls `status(name)` until it is `want`; `what` names the wait in a timeout's message. */
    async function untilStatus(name: string, want: string, what: string, timeoutMs = 5000): Promise<void> {
      await waitUntil(async () => (await status(name)) === want, timeoutMs, what);
    }

    it('the checks reach the states the test needs (wrong password, refused, pass)', async () => {
      await untilStatus('url-ok', 'pass', 'url-ok to pass', 10_000);
      expect(await status('field-ok')).toBe('pass');
      expect(await status('file-ok')).toBe('pass');
      expect(await status('overridden')).toBe('pass');
      expect(await status('url-wrong')).toBe('fail');
      expect(await status('refused')).toBe('fail');
      expect(await status('http-refused')).toBe('fail');
      const wrong = await fetchAll(port, '/ready/url-wrong', { headers: auth });
      expect(wrong.text).toMatch(/access denied/i); // mysql2's own error, shown
      await scrapeEverything();
    });

    it('a paused server (timeouts) and a killed one (refused)', async () => {
      db.pause();
      try {
        await untilStatus('url-ok', 'fail', 'url-ok to time out');
        await scrapeEverything();
        // `vitals check` against the paused server: timeouts in its table.
        const check = await runCli(['check', '--config', configPath], env);
        expect(check.code).toBe(1);
        expect(check.out).toMatch(/timeout/);
      } finally {
        db.resume();
      }
      await untilStatus('url-ok', 'pass', 'url-ok to pass again');
      await db.kill();
      await untilStatus('file-ok', 'fail', 'file-ok to be refused');
      await scrapeEverything();
      await db.restart();
      await untilStatus('file-ok', 'pass', 'file-ok to pass after the restart', 10_000);
    });

    it('`vitals validate` and `vitals check` on the valid config', async () => {
      const validate = await runCli(['validate', '--config', configPath], env);
      expect(validate.code).toBe(0);
      const check = await runCli(['check', '--config', configPath], env);
      expect(check.out).toMatch(/url-wrong\s+mysql\s+fail.*auth/);
      expect(check.out).toMatch(/refused\s+mysql\s+fail.*refused/);
    });

    it('config errors: `vitals validate`, a rejected POST /-/reload and a rejected SIGHUP', async () => {
      const invalidPath = join(dir, 'invalid.yml');
      await writeFile(invalidPath, invalidConfig);
      const validate = await runCli(['validate', '--config', invalidPath], env);
      expect(validate.code).toBe(2);
      expect(validate.out).toMatch(/checks\[0\]\.url: /);
      expect(validate.out).toMatch(/checks\[2\]\.password: /);
      expect(validate.out).toMatch(/security\.token: /);

      await writeFile(configPath, invalidConfig);
      const reload = await fetchAll(port, '/-/reload', { method: 'POST', headers: auth });
      expect(reload.status).toBe(400);
      expect(reload.text).toMatch(/checks\[0\]\.url/);
      child.kill('SIGHUP');
      await waitUntil(
        () => (output.match(/config reload rejected/g) ?? []).length >= 2,
        5000,
        'the SIGHUP reload to be rejected',
      );
      await scrapeEverything();

      await writeFile(configPath, validConfig);
      expect((await fetchAll(port, '/-/reload', { method: 'POST', headers: auth })).status).toBe(200);
    });

    it('no secret in any response, header, metric, log line or CLI output', async () => {
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      // The log has what the test needs to be meaningful: state changes with mysql2's reasons.
      expect(output).toMatch(/check status changed/);
      expect(output).toMatch(/access denied/i);
      expect(output).toMatch(/ECONNREFUSED/);
      expect(output).toMatch(/timeout after 500ms/);
      expect(output).toMatch(/config reload rejected/);
      expect(seen.length).toBeGreaterThan(50);
      expectNoSecret('the log of vitals serve', output);
      for (const { what, text } of seen) expectNoSecret(what, text);
    });
  },
);
