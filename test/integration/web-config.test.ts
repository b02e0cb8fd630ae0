/**
 * Listener security (the web config: TLS, client certificates, basic auth, headers) with real
 * certificates made by the `openssl` CLI, real HTTPS clients (node:https), bcrypt hashes, and
 * at the end a real Prometheus scraping vitals over TLS with basic auth.
 */
import bcrypt from 'bcryptjs';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { loadWebConfig } from '../../src/http/web-config.js';
import { skipUnlessBinaries } from '../support/binaries.js';
import { request as send, type Reply as HttpReply } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.js';
import { parseResponses } from '../support/raw-http.js';
import { makeCa, makeCert, type Pem } from '../support/tls.js';
import { startVitals, type RunningVitals } from '../support/vitals.js';
import { waitFor } from '../support/wait.js';

const CLI = join(import.meta.dirname, '../../dist/cli.js');
const USER = 'prometheus';
const PASSWORD = 'correct horse: battery staple';

interface Reply extends HttpReply {
  /** The serial number of the certificate the server presented. */
  readonly serial: string | undefined;
}

interface ClientOptions {
  readonly method?: string;
  /** The CA to trust (default: the test CA). */
  readonly ca?: string;
  /** A client certificate to present. */
  readonly cert?: Pem;
  readonly user?: string;
  readonly password?: string;
  readonly headers?: Record<string, string>;
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

describe.skipIf(skipUnlessBinaries(['openssl'], 'web config (TLS, basic auth)'))(
  'listener security: the web config',
  () => {
    let dir: string;
    let caPem: string;
    let ca: Pem;
    let serverCert: Pem;
    let client: Pem;
    let rogue: Pem;
    let hash: string;
    const open: (() => Promise<void>)[] = [];

    /** One HTTPS request on a fresh connection. */
    async function request(port: number, path: string, options: ClientOptions = {}): Promise<Reply> {
      const headers: Record<string, string> = { ...options.headers };
      if (options.user !== undefined) headers.authorization = basic(options.user, options.password ?? '');
      const cert = options.cert === undefined ? undefined : await readFile(options.cert.certFile);
      const key = options.cert === undefined ? undefined : await readFile(options.cert.keyFile);
      const reply = await send(port, path, {
        method: options.method ?? 'GET',
        headers,
        tls: { ca: options.ca ?? caPem, cert, key },
      });
      return { ...reply, serial: reply.peerCertificate?.serialNumber };
    }

    async function plain(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
      return { ...(await send(port, path, { headers })), serial: undefined };
    }

    interface Secured extends RunningVitals {
      readonly webFile: string;
    }

    /** vitals in process with one passing custom check, behind the given web config file. */
    async function secured(
      webYaml: string,
      config: Record<string, unknown> = {},
      probePort?: number,
    ): Promise<Secured> {
      const webFile = join(dir, `web-${String(open.length)}.yml`);
      await writeFile(webFile, webYaml);
      const running = await startVitals(
        { checks: [], ...config },
        [{ name: 'dep', interval: 500, timeout: 200, run: async () => undefined }],
        {
          firstResults: true,
          listen: { webConfig: loadWebConfig(webFile), webConfigPollMs: 100, probePort },
        },
      );
      open.push(() => running.close());
      return { ...running, webFile };
    }

    const tlsOnly = () => `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n`;
    const usersYaml = () => `basic_auth_users:\n  ${USER}: ${hash}\n`;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vitals-web-'));
      ca = makeCa(dir, 'ca');
      const otherCa = makeCa(dir, 'other-ca');
      serverCert = makeCert(dir, 'server', ca, 'server');
      client = makeCert(dir, 'client', ca, 'client');
      rogue = makeCert(dir, 'rogue', otherCa, 'client');
      caPem = await readFile(ca.certFile, 'utf8');
      hash = bcrypt.hashSync(PASSWORD, 10);
    });

    afterEach(async () => {
      for (const close of open.splice(0)) await close();
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('serves every route over TLS with the configured certificate; a client that does not trust the CA is refused', async () => {
      const { port, server } = await secured(tlsOnly());
      expect(server.tls).toBe(true);
      for (const path of ['/health', '/ready', '/startup', '/metrics', '/']) {
        const reply = await request(port, path);
        expect(reply.status, path).toBe(200);
        expect(reply.serial).toBe(serverCert.serial);
      }
      // No basic_auth_users: /ready details follow `security` as usual (loopback is authorized).
      expect(JSON.parse((await request(port, '/ready')).body)).toHaveProperty('checks');
      await expect(request(port, '/health', { ca: await readFile(join(dir, 'other-ca.crt'), 'utf8') })).rejects.toThrow(
        /self.signed|unable to verify|certificate/i,
      );
      // Plain HTTP on the TLS port gets no HTTP answer.
      await expect(plain(port, '/health')).rejects.toThrow();
    });

    it('RequireAndVerifyClientCert refuses the handshake without a certificate and with one from another CA', async () => {
      const { port } = await secured(
        `${tlsOnly()}  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n`,
      );
      const refused = /certificate|alert|ECONNRESET|socket hang up|EPIPE/i;
      await expect(request(port, '/health')).rejects.toThrow(refused);
      await expect(request(port, '/health', { cert: rogue })).rejects.toThrow(refused);
      const accepted = await request(port, '/health', { cert: client });
      expect(accepted.status).toBe(200);
      expect((await request(port, '/metrics', { cert: client })).status).toBe(200);
    });

    it('the other client_auth_types: RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven', async () => {
      const refused = /certificate|alert|ECONNRESET|socket hang up|EPIPE/i;
      const request_ = await secured(`${tlsOnly()}  client_auth_type: RequestClientCert\n`);
      for (const cert of [undefined, client, rogue])
        expect((await request(request_.port, '/health', { cert })).status).toBe(200);

      const any = await secured(`${tlsOnly()}  client_auth_type: RequireAnyClientCert\n`);
      await expect(request(any.port, '/health')).rejects.toThrow(refused);
      expect((await request(any.port, '/health', { cert: rogue })).status).toBe(200);
      expect((await request(any.port, '/health', { cert: client })).status).toBe(200);

      const ifGiven = await secured(
        `${tlsOnly()}  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n`,
      );
      expect((await request(ifGiven.port, '/health')).status).toBe(200);
      expect((await request(ifGiven.port, '/health', { cert: client })).status).toBe(200);
      await expect(request(ifGiven.port, '/health', { cert: rogue })).rejects.toThrow(refused);
      // The server is still fine after refusing.
      expect((await request(ifGiven.port, '/metrics')).status).toBe(200);
    });

    it('basic auth: /metrics, / and /-/reload need it (401 + WWW-Authenticate); a wrong password or user is refused', async () => {
      const { port } = await secured(`${tlsOnly()}${usersYaml()}`);
      const missing = await request(port, '/metrics');
      expect(missing.status).toBe(401);
      expect(missing.headers['www-authenticate']).toBe('Basic realm="vitals"');
      expect(missing.headers['content-type']).toBe('application/json');
      expect(JSON.parse(missing.body)).toEqual({ status: 'fail', error: 'authentication required' });
      expect(missing.body).not.toContain('vitals_check_up');

      const wrong = await request(port, '/metrics', { user: USER, password: 'wrong' });
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toBe('Basic realm="vitals"');
      expect((await request(port, '/metrics', { user: 'nobody', password: PASSWORD })).status).toBe(401);
      expect((await request(port, '/metrics', { headers: { authorization: `Bearer ${PASSWORD}` } })).status).toBe(401);
      expect((await request(port, '/', {})).status).toBe(401);
      expect((await request(port, '/-/reload', { method: 'POST' })).status).toBe(401);
      expect((await request(port, '/nowhere', {})).status).toBe(401);

      const right = await request(port, '/metrics', { user: USER, password: PASSWORD });
      expect(right.status).toBe(200);
      expect(right.body).toContain('vitals_check_up{check="dep",kind="custom",critical="true"} 1');
      expect((await request(port, '/', { user: USER, password: PASSWORD })).status).toBe(200);
      expect((await request(port, '/-/reload', { method: 'POST', user: USER, password: PASSWORD })).status).toBe(200);
      expect((await request(port, '/nowhere', { user: USER, password: PASSWORD })).status).toBe(404);

      // Cached after the first success: the next scrapes cost no bcrypt.
      const started = performance.now();
      for (let i = 0; i < 5; i += 1)
        expect((await request(port, '/metrics', { user: USER, password: PASSWORD })).status).toBe(200);
      expect((performance.now() - started) / 5).toBeLessThan(200);
    });

    it('probes answer without credentials, and /ready shows details only to a caller who passed basic auth, even on loopback', async () => {
      const { port } = await secured(`${tlsOnly()}${usersYaml()}`);
      for (const path of ['/health', '/ready', '/startup', '/ready/dep', '/ready?exclude=dep']) {
        expect((await request(port, path)).status, path).toBe(200);
      }
      const anonymous = JSON.parse((await request(port, '/ready')).body) as Record<string, unknown>;
      expect(anonymous).toEqual({ status: 'pass', version: expect.any(String) as string });
      expect(JSON.parse((await request(port, '/ready/dep')).body)).not.toHaveProperty('checks');
      expect(
        JSON.parse((await request(port, '/ready', { headers: { accept: 'application/json' } })).body),
      ).not.toHaveProperty('checks');
      // A wrong password on a probe route still gets the probe's answer, without details.
      const wrong = await request(port, '/ready', { user: USER, password: 'wrong' });
      expect(wrong.status).toBe(200);
      expect(JSON.parse(wrong.body)).not.toHaveProperty('checks');

      const authed = JSON.parse((await request(port, '/ready', { user: USER, password: PASSWORD })).body) as Record<
        string,
        unknown
      >;
      expect(authed.checks).toHaveProperty('dep:responseTime');
      expect(JSON.parse((await request(port, '/ready/dep', { user: USER, password: PASSWORD })).body)).toHaveProperty(
        'checks',
      );
    });

    it('a probe in absolute form (GET http://host/health) answers without credentials; /metrics in absolute form still needs them', async () => {
      // Plain HTTP, so that the request line goes on the wire exactly as written.
      const { port } = await secured(usersYaml());
      // Not half-closed after the request, as rawRequest does: node drops the answer to a
      // half-closed connection when it comes later than the request's own tick (bcrypt does).
      const send = (target: string, authorization?: string) =>
        new Promise<{ statuses: number[]; bodies: string[]; text: string }>((resolve, reject) => {
          const chunks: Buffer[] = [];
          const socket = net.connect({ port, host: '127.0.0.1' }, () => {
            socket.write(
              `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${String(port)}\r\n${authorization === undefined ? '' : `Authorization: ${authorization}\r\n`}Connection: close\r\n\r\n`,
            );
          });
          socket.setTimeout(5000, () => socket.destroy(new Error(`${target}: no answer`)));
          socket.on('data', (chunk: Buffer) => chunks.push(chunk));
          socket.on('error', reject);
          socket.on('close', () => {
            const text = Buffer.concat(chunks).toString('latin1');
            resolve({ ...parseResponses(text), text });
          });
        });
      for (const path of ['/health', '/ready', '/startup', '/ready/dep', '/ready?exclude=dep']) {
        for (const target of [`http://127.0.0.1:${String(port)}${path}`, `HTTP://vitals.example${path}`]) {
          const reply = await send(target);
          expect(reply.statuses, target).toEqual([200]);
          // Without credentials, no per-check details.
          expect(reply.bodies[0], target).not.toContain('dep:responseTime');
        }
      }
      const metrics = `http://127.0.0.1:${String(port)}/metrics`;
      const refused = await send(metrics);
      expect(refused.statuses).toEqual([401]);
      expect(refused.text.toLowerCase()).toContain('www-authenticate: basic realm="vitals"');
      expect(refused.text).not.toContain('vitals_check_up');
      expect((await send(metrics, basic(USER, 'wrong'))).statuses).toEqual([401]);
      const allowed = await send(metrics, basic(USER, PASSWORD));
      expect(allowed.statuses).toEqual([200]);
      expect(allowed.bodies[0]).toContain('vitals_check_up{check="dep"');
    });

    it('probesWithoutAuth: false puts the probe routes behind basic auth too', async () => {
      const { port } = await secured(`${tlsOnly()}${usersYaml()}`, { server: { probesWithoutAuth: false } });
      for (const path of ['/health', '/ready', '/startup', '/ready/dep']) {
        const reply = await request(port, path);
        expect(reply.status, path).toBe(401);
        expect(reply.headers['www-authenticate']).toBe('Basic realm="vitals"');
        expect((await request(port, path, { user: USER, password: PASSWORD })).status, path).toBe(200);
      }
      const head = await request(port, '/health', { method: 'HEAD' });
      expect(head.status).toBe(401);
      expect(head.body).toBe('');
    });

    it('probePort serves only /health, /ready, /ready/NAME and /startup, over plain HTTP, without basic auth', async () => {
      const probePort = await freePort();
      const { port, server } = await secured(
        `${tlsOnly()}  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n${usersYaml()}`,
        {},
        probePort,
      );
      expect(server.probePort).toBe(probePort);
      for (const path of ['/health', '/ready', '/startup', '/ready/dep', '/ready?exclude=dep']) {
        const reply = await plain(probePort, path);
        expect(reply.status, path).toBe(200);
        expect(reply.headers['www-authenticate']).toBeUndefined();
      }
      // Details follow `security` as usual there: the loopback caller is authorized.
      expect(JSON.parse((await plain(probePort, '/ready')).body)).toHaveProperty('checks');
      for (const path of ['/metrics', '/', '/-/reload', '/nowhere']) {
        const reply = await plain(probePort, path);
        expect(reply.status, path).toBe(404);
        expect(reply.headers['content-type']).toBe('application/json');
        expect(JSON.parse(reply.body)).toMatchObject({ status: 'fail' });
      }
      expect((await plain(probePort, '/ready/unknown')).status).toBe(404);
      // The main listener still wants its client certificate.
      await expect(request(port, '/health')).rejects.toThrow();
    });

    it('adds http_server_config.headers to every response of the main listener', async () => {
      const { port } = await secured(
        `${tlsOnly()}${usersYaml()}http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000; includeSubDomains\n    X-Team: sre\n`,
      );
      for (const [path, user] of [
        ['/health', undefined],
        ['/ready', undefined],
        ['/metrics', USER],
        ['/metrics', undefined],
        ['/nowhere', USER],
      ] as const) {
        const reply = await request(port, path, user === undefined ? {} : { user, password: PASSWORD });
        expect(reply.headers['x-frame-options'], path).toBe('deny');
        expect(reply.headers['strict-transport-security'], path).toBe('max-age=31536000; includeSubDomains');
        expect(reply.headers['x-team'], path).toBe('sre');
      }
    });

    it('rotates the certificate without a restart, and keeps the last good web config when a re-read is invalid', async () => {
      await copyFile(serverCert.certFile, join(dir, 'rotating.crt'));
      await copyFile(serverCert.keyFile, join(dir, 'rotating.key'));
      const { port, logs, webFile } = await secured(
        `tls_server_config:\n  cert_file: rotating.crt\n  key_file: rotating.key\n${usersYaml()}`,
      );
      expect((await request(port, '/health')).serial).toBe(serverCert.serial);

      const rotated = makeCert(dir, 'rotated', ca, 'server', {
        certFile: join(dir, 'rotating.crt'),
        keyFile: join(dir, 'rotating.key'),
      });
      expect(rotated.serial).not.toBe(serverCert.serial);
      const { value: served } = await waitFor(
        () => request(port, '/health'),
        (reply) => reply.serial === rotated.serial,
        5000,
        { everyMs: 50 },
      );
      expect(served.status).toBe(200);
      expect(
        logs.lines.some(
          (line) => line.msg === 'web config applied' && JSON.stringify(line.tls).includes(rotated.serial),
        ),
      ).toBe(true);

      // A certificate that does not match its key: refused, the rotated one stays.
      const rotatedPem = await readFile(join(dir, 'rotating.crt'));
      await copyFile(serverCert.certFile, join(dir, 'rotating.crt'));
      await waitFor(
        () => logs.lines.filter((line) => line.msg === 'web config rejected; the last good one stays').length,
        (n) => n === 1,
        5000,
      );
      expect((await request(port, '/health')).serial).toBe(rotated.serial);
      const mismatch = logs.lines.find((line) => line.msg === 'web config rejected; the last good one stays');
      expect(mismatch?.problems).toEqual([
        expect.stringMatching(
          /^tls_server_config: cert_file "rotating\.crt" and key_file "rotating\.key" cannot serve TLS \(.*key values mismatch\)$/,
        ),
      ]);
      await writeFile(join(dir, 'rotating.crt'), rotatedPem);
      await waitFor(
        () => logs.lines.filter((line) => line.msg === 'web config applied').length,
        (n) => n === 2,
        5000,
      );

      // An invalid file: logged once, the running users and certificate stay.
      const rejectedBefore = logs.lines.filter(
        (line) => line.msg === 'web config rejected; the last good one stays',
      ).length;
      await writeFile(
        webFile,
        `tls_server_config:\n  cert_fil: rotating.crt\n  key_file: rotating.key\n${usersYaml()}`,
      );
      await waitFor(
        () => logs.lines.filter((line) => line.msg === 'web config rejected; the last good one stays').length,
        (n) => n === rejectedBefore + 1,
        5000,
      );
      await sleep(500);
      const rejected = logs.lines.filter((line) => line.msg === 'web config rejected; the last good one stays');
      expect(rejected).toHaveLength(rejectedBefore + 1);
      expect(rejected.at(-1)?.problems).toEqual(['tls_server_config.cert_fil: unknown key']);
      expect((await request(port, '/metrics', { user: USER, password: PASSWORD })).status).toBe(200);
      expect((await request(port, '/metrics')).status).toBe(401);
    });

    it('applies changed users and client_auth_type at a live re-read', async () => {
      const { port, webFile } = await secured(`${tlsOnly()}${usersYaml()}`);
      expect((await request(port, '/metrics', { user: USER, password: PASSWORD })).status).toBe(200);
      const newHash = bcrypt.hashSync('rotated password', 10);
      await writeFile(
        webFile,
        `${tlsOnly()}  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\nbasic_auth_users:\n  ${USER}: ${newHash}\n`,
      );
      await waitFor(
        () =>
          request(port, '/metrics', { cert: client, user: USER, password: 'rotated password' }).then(
            (r) => r.status,
            () => 0,
          ),
        (status) => status === 200,
        5000,
      );
      expect((await request(port, '/metrics', { cert: client, user: USER, password: PASSWORD })).status).toBe(401);
      await expect(request(port, '/health')).rejects.toThrow();
    });

    it('loadWebConfig names every problem by its path in the file', async () => {
      const file = join(dir, 'bad-web.yml');
      await writeFile(
        file,
        [
          'tls_server_config:',
          '  cert_file: missing.crt',
          '  key_file: server.key',
          '  client_auth_type: RequireAndVerifyClientCert',
          '  min_version: TLS13',
          '  max_version: TLS12',
          'basic_auth_users:',
          '  alice: plain-text-password',
          'http_server_config:',
          '  headers:',
          '    Content-Type: text/plain',
          '    X-Frame-Options: allow-from',
          '',
        ].join('\n'),
      );
      let error: unknown;
      try {
        loadWebConfig(file);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems;
      expect(problems).toEqual([expect.stringMatching(/^basic_auth_users\.alice: expected a bcrypt hash/)]);
      await writeFile(file, (await readFile(file, 'utf8')).replace(/alice: .*/, `alice: ${hash}`));
      try {
        loadWebConfig(file);
      } catch (caught) {
        error = caught;
      }
      // RequireAndVerifyClientCert without client_ca_file is no problem: node's root CAs verify.
      expect((error as ConfigError).problems).toEqual([
        'tls_server_config.min_version: TLS13 is above max_version TLS12',
        'tls_server_config.cert_file: cannot read "missing.crt" (ENOENT)',
        'http_server_config.headers.Content-Type: this header cannot be configured (vitals sets it, or it would break HTTP)',
        'http_server_config.headers.X-Frame-Options: expected one of deny, sameorigin, got "allow-from"',
      ]);
      // The exporter-toolkit's own example headers and an empty file are valid.
      await writeFile(file, '');
      expect(loadWebConfig(file).tls).toBeUndefined();
      await writeFile(
        file,
        `${tlsOnly()}  min_version: TLS12\n  max_version: TLS13\nhttp_server_config:\n  http2: true\n  headers:\n    X-Content-Type-Options: nosniff\n    Content-Security-Policy: "default-src 'self'"\n    X-XSS-Protection: "1"\n`,
      );
      const valid = loadWebConfig(file);
      expect(valid.tls?.secureContext.minVersion).toBe('TLSv1.2');
      expect(valid.files).toEqual([file, join(dir, 'server.crt'), join(dir, 'server.key')]);
    });

    describe('the CLI', () => {
      function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
        return new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          child.on('error', reject);
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stderr });
          });
        });
      }

      it('exits 2 at start on an invalid web config, naming the file and the path in it', async () => {
        const web = join(dir, 'typo.yml');
        await writeFile(web, `tls_server_config:\n  cert_fil: server.crt\n  key_file: server.key\n`);
        const config = join(dir, 'cli.yml');
        await writeFile(config, 'checks: []\n');
        const port = String(await freePort());
        const flag = await runCli([
          'serve',
          '--config',
          config,
          '--host',
          '127.0.0.1',
          '--port',
          port,
          '--web.config.file',
          web,
        ]);
        expect(flag.code).toBe(2);
        expect(flag.stderr).toContain(web);
        expect(flag.stderr).toContain('tls_server_config.cert_fil: unknown key');
        expect(flag.stderr).not.toMatch(/^\s+at /m);

        // server.webConfigFile, relative to the config file's directory.
        const sub = join(dir, 'sub');
        await mkdir(sub, { recursive: true });
        await writeFile(join(sub, 'web.yml'), `basic_auth_users:\n  ${USER}: ${JSON.stringify(PASSWORD)}\n`);
        await writeFile(join(sub, 'vitals.yml'), 'server: { webConfigFile: web.yml }\nchecks: []\n');
        const fromConfig = await runCli([
          'serve',
          '--config',
          join(sub, 'vitals.yml'),
          '--host',
          '127.0.0.1',
          '--port',
          port,
        ]);
        expect(fromConfig.code).toBe(2);
        expect(fromConfig.stderr).toContain(join(sub, 'web.yml'));
        expect(fromConfig.stderr).toContain(`basic_auth_users.${USER}: expected a bcrypt hash`);
        expect(fromConfig.stderr).not.toContain(PASSWORD);
        const validated = await runCli(['validate', '--config', join(sub, 'vitals.yml')]);
        expect(validated.code).toBe(2);
        expect(validated.stderr).toContain(`basic_auth_users.${USER}: expected a bcrypt hash`);
      });
    });

    describe.skipIf(skipUnlessBinaries(['prometheus'], 'web config: Prometheus end to end'))('end to end', () => {
      let child: ChildProcess | undefined;
      let prometheus: PrometheusServer | undefined;
      let target: net.Server | undefined;

      afterAll(async () => {
        child?.kill('SIGKILL');
        await prometheus?.close();
        await new Promise<void>((resolve) =>
          target === undefined
            ? resolve()
            : target.close(() => {
                resolve();
              }),
        );
      });

      it('a real Prometheus scrapes the CLI over TLS with basic auth: up == 1 and every vitals_check_up; a wrong password gets up == 0', async () => {
        target = net.createServer((socket) => socket.destroy());
        await new Promise<void>((resolve) => target?.listen(0, '127.0.0.1', resolve));
        const targetPort = (target.address() as net.AddressInfo).port;
        const port = await freePort();
        const probePort = await freePort();
        const e2e = join(dir, 'e2e');
        await mkdir(e2e, { recursive: true });
        await writeFile(
          join(e2e, 'web.yml'),
          `tls_server_config:\n  cert_file: ../server.crt\n  key_file: ../server.key\n${usersYaml()}`,
        );
        await writeFile(
          join(e2e, 'vitals.yml'),
          `server: { probePort: ${String(probePort)} }\nchecks:\n  - { name: dep, kind: tcp, host: 127.0.0.1, port: ${String(targetPort)}, interval: 1s, timeout: 500ms }\n`,
        );
        let stdout = '';
        child = spawn(
          process.execPath,
          [
            CLI,
            'serve',
            '--config',
            join(e2e, 'vitals.yml'),
            '--web.config.file',
            join(e2e, 'web.yml'),
            '--host',
            '127.0.0.1',
            '--port',
            String(port),
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        await waitFor(
          () =>
            request(port, '/health').then(
              (r) => r.status,
              () => 0,
            ),
          (status) => status === 200,
          10_000,
          { everyMs: 50 },
        );
        expect((await plain(probePort, '/startup')).status).toBe(200);
        expect((await plain(probePort, '/metrics')).status).toBe(404);
        expect(stdout).toContain('"tls":true');

        const job = (name: string, password: string) =>
          [
            `  - job_name: ${name}`,
            '    scheme: https',
            `    tls_config: { ca_file: ${JSON.stringify(ca.certFile)} }`,
            `    basic_auth: { username: ${USER}, password: ${JSON.stringify(password)} }`,
            `    static_configs: [{ targets: ['127.0.0.1:${String(port)}'] }]`,
          ].join('\n');
        prometheus = await startPrometheus({
          configYaml: `global: { scrape_interval: 1s, scrape_timeout: 1s }\nscrape_configs:\n${job('vitals', PASSWORD)}\n${job('intruder', 'wrong')}\n`,
        });
        const up = await prometheus.waitForFirstSample('up{job="vitals"} == 1', 30_000);
        expect(up[0]?.value[1]).toBe('1');
        const checks = await prometheus.waitForFirstSample('vitals_check_up{job="vitals"}', 10_000);
        expect(checks.map((s) => [s.metric.check, s.value[1]])).toEqual([['dep', '1']]);
        const intruder = await prometheus.waitForFirstSample('up{job="intruder"}', 10_000);
        expect(intruder[0]?.value[1]).toBe('0');
        expect(await prometheus.query('vitals_check_up{job="intruder"}')).toEqual([]);
      });
    });
  },
);
