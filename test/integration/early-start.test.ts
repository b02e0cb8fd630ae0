/**
 * The built CLI binds its port before loading the rest of vitals, and only when that cannot
 * weaken the listener: a port the config puts behind TLS never answers plain HTTP, not even
 * for the few hundred milliseconds vitals takes to load; a config error still exits 2.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtCliAndTempDir, startCli } from '../support/cli.js';
import { request } from '../support/http.js';
import { freePort } from '../support/ports.js';
import { makeCa, makeCert } from '../support/tls.js';

const tempDir = builtCliAndTempDir('vitals-early-start-');

/** Requests /health over `scheme` back to back from now until `until` settles; every status seen (0: no answer). */
async function pollHealth(port: number, scheme: 'http' | 'https', ca: string | undefined, until: Promise<unknown>) {
  const seen: number[] = [];
  const state = { done: false };
  void until.finally(() => (state.done = true));
  while (!state.done) {
    const status = await request(port, '/health', {
      timeoutMs: 2000,
      ...(scheme === 'https' ? { tls: { ca } } : {}),
    }).then(
      (reply) => reply.status,
      () => 0,
    );
    seen.push(status);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return seen;
}

describe('the early port', () => {
  it('is not opened for a config that puts the port behind TLS: plain HTTP never gets an answer', async () => {
    const dir = tempDir();
    const ca = makeCa(dir, 'ca');
    const cert = makeCert(dir, 'server', ca, 'server');
    writeFileSync(
      join(dir, 'web.yml'),
      `tls_server_config:\n  cert_file: ${cert.certFile}\n  key_file: ${cert.keyFile}\n`,
    );
    const port = await freePort();
    writeFileSync(
      join(dir, 'tls.yml'),
      `server:\n  host: 127.0.0.1\n  port: ${String(port)}\n  webConfigFile: web.yml\n  shutdownDelay: 0s\nchecks: []\n`,
    );
    const { child, finished } = startCli(['serve', '--config', join(dir, 'tls.yml')], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 30_000,
    });
    let tlsAnswered!: () => void;
    const served = new Promise<void>((resolve) => (tlsAnswered = resolve));
    const plain = pollHealth(port, 'http', undefined, served);
    const caPem = readFileSync(ca.certFile, 'utf8');
    for (;;) {
      const reply = await request(port, '/health', { tls: { ca: caPem }, timeoutMs: 2000 }).catch(() => undefined);
      if (reply?.status === 200) break;
      if (child.exitCode !== null) throw new Error(`vitals exited: ${(await finished).stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    tlsAnswered();
    const statuses = await plain;
    child.kill('SIGTERM');
    expect((await finished).code).toBe(0);
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.filter((status) => status >= 200 && status < 300)).toEqual([]);
  });

  it('answers /health while vitals loads, and a config error still exits 2 naming the problem', async () => {
    const dir = tempDir();
    const port = await freePort();
    writeFileSync(
      join(dir, 'bad.yml'),
      `checks:\n  - { name: db, kind: mysql, url: mysql://x@127.0.0.1:1/, timeout: 5s, interval: 1s }\n`,
    );
    const { finished } = startCli(
      ['serve', '--config', join(dir, 'bad.yml'), '--host', '127.0.0.1', '--port', String(port)],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
        timeoutMs: 30_000,
      },
    );
    const statuses = await pollHealth(port, 'http', undefined, finished);
    const result = await finished;
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('checks[0].timeout');
    // What answered in between was /health's liveness answer, nothing else.
    expect(statuses.filter((status) => status !== 0 && status !== 200)).toEqual([]);
  });
});
