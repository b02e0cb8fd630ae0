/**
 * Compatibility with the Prometheus exporter-toolkit's web config: the toolkit's own test
 * files load in vitals (or are refused for a reason listed here), and its settings mean the
 * same thing, on a real listener with real TLS clients.
 */
// Peer fixtures: the exporter-toolkit's own web/testdata files, read from ../shared/external-fixtures/exporter-toolkit/ (never copied).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/problems.js';
import { loadWebConfig, parseWebConfig, type WebConfig } from '../../src/http/web-config.js';
import { skipUnlessBinaries } from '../support/binaries.js';
import { request, type Reply } from '../support/http.js';
import { makeCa, makeCert, type Pem } from '../support/tls.js';
import { startVitals, type RunningVitals } from '../support/vitals.js';

const FIXTURES = join(import.meta.dirname, '../../../shared/external-fixtures/exporter-toolkit/web/testdata');

/** Missing fixtures: a loud skip on a developer machine, a failure in CI. */
function fixturesMissing(): boolean {
  if (existsSync(FIXTURES)) return false;
  const message = `the exporter-toolkit fixtures are not at ${FIXTURES}`;
  if (process.env.CI === 'true') throw new Error(`${message}; missing fixtures are a failure in CI, not a skip`);
  console.warn(`\n*** SKIPPING exporter-toolkit compatibility: ${message} ***\n`);
  return true;
}

const fixture = (name: string) => join(FIXTURES, name);

/**
 * Files the toolkit loads that vitals refuses, each for a setting it does not implement. Every
 * other `*.good.*` file must load.
 */
const NOT_SUPPORTED: Readonly<Record<string, RegExp>> = {
  'tls_config_noAuth.requireanyclientcertkeyinline.good.yml': /^tls_server_config\.key: not supported by vitals/,
  'web_config_noAuth_tlsInline.good.yml': /^tls_server_config\.(cert|key): not supported by vitals/,
  'web_config_noAuth_allCiphers.good.yml': /^tls_server_config\.cipher_suites: not supported by vitals/,
  'web_config_noAuth_noHTTP2.good.yml': /^tls_server_config\.cipher_suites: not supported by vitals/,
  'web_config_noAuth_someCiphers.good.yml': /^tls_server_config\.cipher_suites: not supported by vitals/,
  'web_config_noAuth_someCiphers_noOrder.good.yml':
    /^tls_server_config\.(cipher_suites|prefer_server_cipher_suites): not supported by vitals/,
  'web_config_noAuth_allCurves.good.yml': /^tls_server_config\.curve_preferences: not supported by vitals/,
  'web_config_noAuth_someCurves.good.yml': /^tls_server_config\.curve_preferences: not supported by vitals/,
  'web_config_auth_client_san.good.yaml': /^tls_server_config\.client_allowed_sans: not supported by vitals/,
};

/**
 * A `*.bad.*` file byte for byte the same as a `*.good.*` one: both names cannot hold. It is
 * a leftover of toolkit versions that refused RequireAndVerifyClientCert without
 * client_ca_file; at the fixtures' commit no toolkit test refuses it, and TestConfigReloading
 * serves its twin. vitals loads both, as the toolkit does.
 */
const SAME_AS_GOOD: Readonly<Record<string, string>> = {
  'web_config_auth_clientCAs_missing.bad.yml': 'web_config_noAuth.good.blocking.yml',
};

/** Fixtures named neither good nor bad, with the outcome the toolkit's tests expect of them. */
const OTHERS: Readonly<Record<string, 'loads' | 'refused'>> = {
  'web_config_empty.yml': 'loads',
  'web_config_junk.yml': 'refused',
  'web_config_junk_key.yml': 'refused',
  'web_config_rate_limiter_nonblocking.yaml': 'loads',
  'web_config_rate_limiter_one_second.yaml': 'loads',
};

function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

/** One plain HTTP request on a fresh connection. */
function plain(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return request(port, path, { headers });
}

describe.skipIf(fixturesMissing())('exporter-toolkit compatibility', () => {
  let dir: string;
  const open: (() => Promise<void>)[] = [];

  /** vitals in process with one passing check, behind an already loaded web config. */
  async function serve(webConfig: WebConfig, config: Record<string, unknown> = {}): Promise<RunningVitals> {
    const running = await startVitals(
      { checks: [], ...config },
      [{ name: 'dep', interval: 500, timeout: 200, run: async () => undefined }],
      {
        firstResults: true,
        listen: { webConfig, webConfigPollMs: 0 },
      },
    );
    open.push(() => running.close());
    return running;
  }

  async function tmpWebConfig(yaml: string): Promise<WebConfig> {
    const file = join(dir, `web-${String(Math.random()).slice(2)}.yml`);
    await writeFile(file, yaml);
    return loadWebConfig(file);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitals-toolkit-'));
  });

  afterEach(async () => {
    for (const close of open.splice(0)) await close();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('http_server_config.headers: a value YAML reads as a number (X-XSS-Protection: 1) is served as its string', async () => {
    const web = loadWebConfig(fixture('web_config_headers.good.yml'));
    expect(web.headers).toContainEqual(['X-XSS-Protection', '1']);
    const { port } = await serve(web);
    const reply = await plain(port, '/health');
    expect(reply.headers['x-xss-protection']).toBe('1');
    expect(reply.headers['x-frame-options']).toBe('deny');
    expect(reply.headers['content-security-policy']).toBe("default-src 'self' *.test.example.net");
    // Booleans too; a list or a map is still no header value.
    const parsed = parseWebConfig(
      { http_server_config: { headers: { 'X-XSS-Protection': 0, 'X-Team': true } } },
      'inline',
      dir,
    );
    expect(parsed.headers).toEqual([
      ['X-XSS-Protection', '0'],
      ['X-Team', 'true'],
    ]);
    expect(
      problemsOf(() => parseWebConfig({ http_server_config: { headers: { 'X-Team': ['a'] } } }, 'inline', dir)),
    ).toEqual(['http_server_config.headers.X-Team: expected a string']);
  });

  describe('rate_limit', () => {
    it('web_config_rate_limiter_one_second.yaml (burst 0) refuses every request but the probes with 429 and Retry-After', async () => {
      const web = loadWebConfig(fixture('web_config_rate_limiter_one_second.yaml'));
      const { port } = await serve(web);
      for (const path of ['/metrics', '/', '/nowhere']) {
        const reply = await plain(port, path);
        expect(reply.status, path).toBe(429);
        expect(reply.headers['retry-after'], path).toBe('1');
        expect(JSON.parse(reply.body)).toEqual({ status: 'fail', error: 'too many requests' });
      }
      // Probes are exempt, as they are from basic auth.
      for (let i = 0; i < 10; i += 1)
        for (const path of ['/health', '/ready', '/startup', '/ready/dep'])
          expect((await plain(port, path)).status, path).toBe(200);
    });

    it('web_config_rate_limiter_nonblocking.yaml (interval 0) limits nothing', async () => {
      const { port } = await serve(loadWebConfig(fixture('web_config_rate_limiter_nonblocking.yaml')));
      for (let i = 0; i < 11; i += 1) expect((await plain(port, '/metrics')).status).toBe(200);
    });

    it('a token bucket: burst requests at once, then one per interval; Retry-After says when', async () => {
      const { port } = await serve(await tmpWebConfig('rate_limit:\n  interval: 1500ms\n  burst: 3\n'));
      for (let i = 0; i < 3; i += 1) expect((await plain(port, '/metrics')).status).toBe(200);
      const over = await plain(port, '/metrics');
      expect(over.status).toBe(429);
      expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(2);
      expect((await plain(port, '/health')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      expect((await plain(port, '/metrics')).status).toBe(200);
      expect((await plain(port, '/metrics')).status).toBe(429);
    });

    it('with probesWithoutAuth: false the probes share the bucket too; basic auth is asked only within it', async () => {
      const { port } = await serve(await tmpWebConfig('rate_limit:\n  interval: 1m\n  burst: 2\n'), {
        server: { probesWithoutAuth: false },
      });
      expect((await plain(port, '/health')).status).toBe(200);
      expect((await plain(port, '/metrics')).status).toBe(200);
      expect((await plain(port, '/health')).status).toBe(429);
    });

    it('durations as the toolkit writes them (Go syntax), and the problems of a bad one', () => {
      const limit = (rate_limit: unknown) => parseWebConfig({ rate_limit }, 'inline', dir).rateLimit;
      expect(limit({ interval: '1s', burst: 5 })).toEqual({ intervalMs: 1000, burst: 5 });
      expect(limit({ interval: '1m30s', burst: 1 })).toEqual({ intervalMs: 90_000, burst: 1 });
      expect(limit({ interval: '1.5s', burst: 1 })).toEqual({ intervalMs: 1500, burst: 1 });
      expect(limit({ interval: '250ms' })).toEqual({ intervalMs: 250, burst: 0 });
      expect(limit({ interval: 0, burst: 0 })).toBeUndefined();
      expect(limit({ interval: '0s', burst: 9 })).toBeUndefined();
      expect(limit(null)).toBeUndefined();
      expect(problemsOf(() => limit({ interval: 'soon', burst: -1, rate: 3 }))).toEqual([
        'rate_limit.interval: expected a duration such as 1s or 500ms',
        'rate_limit.burst: expected a whole number, 0 or more',
        'rate_limit.rate: unknown key',
      ]);
      expect(parseWebConfig({ rate_limit: { interval: '1s' } }, 'inline', dir).warnings).toEqual([
        'rate_limit.burst: 0 refuses every request but the probes (429); set burst to 1 or more',
      ]);
    });
  });

  it('a tls_server_config without cert_file and key_file means plain HTTP, with a warning that its settings do nothing', async () => {
    const web = await tmpWebConfig('tls_server_config:\n  min_version: TLS13\n');
    expect(web.tls).toBeUndefined();
    expect(web.warnings).toEqual(['tls_server_config: no cert_file and key_file, so no TLS: min_version does nothing']);
    const { port, server, logs } = await serve(web);
    expect(server.tls).toBe(false);
    expect((await plain(port, '/health')).status).toBe(200);
    expect(
      logs.lines.some(
        (line) =>
          line.msg === 'web config: settings that do nothing' && JSON.stringify(line.warnings).includes('min_version'),
      ),
    ).toBe(true);
    // What asks for client certificates still needs a certificate of its own, as in the toolkit.
    expect(
      problemsOf(() =>
        parseWebConfig({ tls_server_config: { client_auth_type: 'RequireAnyClientCert' } }, 'inline', dir),
      ),
    ).toEqual(['tls_server_config: cert_file and key_file are required to serve TLS']);
  });

  describe.skipIf(skipUnlessBinaries(['openssl'], 'exporter-toolkit compatibility: TLS'))(
    'client certificates verified without client_ca_file',
    () => {
      let client: Pem;
      let fingerprint: string;

      beforeAll(async () => {
        const ca = makeCa(dir, 'ca');
        client = makeCert(dir, 'client', ca, 'client');
        fingerprint = new X509Certificate(await readFile(fixture('server.crt'))).fingerprint256;
      });

      /**
       * One HTTPS request to a server using the fixture's server.crt. Its CA fails OpenSSL's
       * purpose check, so the client pins the certificate's fingerprint instead of the chain.
       */
      async function pinned(port: number, cert?: Pem): Promise<Reply> {
        const identity =
          cert === undefined ? {} : { cert: await readFile(cert.certFile), key: await readFile(cert.keyFile) };
        const reply = await request(port, '/health', { tls: { rejectUnauthorized: false, ...identity } });
        const served = reply.peerCertificate?.fingerprint256;
        if (served !== fingerprint) throw new Error(`served ${String(served)}, not the fixture's server.crt`);
        return reply;
      }

      it('web_config_noAuth.good.yml (VerifyClientCertIfGiven): no certificate is fine; one no trusted root signed is refused', async () => {
        const web = loadWebConfig(fixture('web_config_noAuth.good.yml'));
        expect(web.tls?.clientAuth).toBe('VerifyClientCertIfGiven');
        const { port } = await serve(web);
        expect((await pinned(port)).status).toBe(200);
        await expect(pinned(port, client)).rejects.toThrow(/certificate|alert|ECONNRESET|socket hang up|EPIPE/i);
      });

      it('web_config_noAuth.good.blocking.yml (RequireAndVerifyClientCert): refused without a certificate and with an untrusted one', async () => {
        const { port } = await serve(loadWebConfig(fixture('web_config_noAuth.good.blocking.yml')));
        const refused = /certificate|alert|ECONNRESET|socket hang up|EPIPE/i;
        await expect(pinned(port)).rejects.toThrow(refused);
        await expect(pinned(port, client)).rejects.toThrow(refused);
      });
    },
  );

  it('every fixture: *.good.* loads (or is refused for a listed reason), *.bad.* is refused', () => {
    const files = readdirSync(FIXTURES).filter((name) => /\.ya?ml$/.test(name));
    expect(files.length).toBeGreaterThan(40);
    const outcomes: string[] = [];
    for (const name of files) {
      const problems = problemsOf(() => loadWebConfig(fixture(name)));
      const kind = /\.good(\.[a-z]+)?\.ya?ml$/.test(name)
        ? 'good'
        : /\.bad(\.[a-z]+)?\.ya?ml$/.test(name)
          ? 'bad'
          : OTHERS[name];
      expect(kind, `${name}: neither good nor bad, and not listed`).toBeDefined();
      const unsupported = NOT_SUPPORTED[name];
      const twin = SAME_AS_GOOD[name];
      if (twin !== undefined) {
        expect(readFileSync(fixture(name), 'utf8'), `${name} is no longer the same as ${twin}`).toBe(
          readFileSync(fixture(twin), 'utf8'),
        );
        expect(problems, name).toEqual([]);
      } else if (kind === 'good' || kind === 'loads') {
        if (unsupported === undefined) expect(problems, `${name} must load`).toEqual([]);
        else {
          expect(problems.length, `${name} is listed as not supported but loads: take it off the list`).toBeGreaterThan(
            0,
          );
          for (const problem of problems) expect(problem, name).toMatch(unsupported);
        }
      } else {
        expect(problems.length, `${name} must be refused`).toBeGreaterThan(0);
      }
      outcomes.push(`${name}: ${problems.length === 0 ? 'loads' : problems.join('; ')}`);
    }
    console.info(`exporter-toolkit fixtures:\n  ${outcomes.join('\n  ')}`);
    // Every listed exception is a fixture that exists.
    for (const name of [...Object.keys(NOT_SUPPORTED), ...Object.keys(OTHERS), ...Object.keys(SAME_AS_GOOD)])
      expect(files, name).toContain(name);
  });

  it("the fixtures that carry bcrypt hashes authenticate the toolkit's own users", async () => {
    // dave's password, as the toolkit's TestUsers sends it.
    const web = loadWebConfig(fixture('web_config_users_noTLS.good.yml'));
    const { port } = await serve(web);
    expect((await plain(port, '/metrics')).status).toBe(401);
    const basic = `Basic ${Buffer.from('dave:dave123').toString('base64')}`;
    expect((await plain(port, '/metrics', { authorization: basic })).status).toBe(200);
    expect(readFileSync(fixture('web_config_users_noTLS.good.yml'), 'utf8')).toContain('$2y$');
  });
});
