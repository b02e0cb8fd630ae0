/**
 * The port bound before vitals loads: /health answered at once, every other request held and
 * handed over in order, nothing answered from a state vitals does not have yet.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startEarly } from '../../../src/cli/early-start.js';
import { listenEarly, type EarlyListener } from '../../../src/http/early-listener.js';
import { request } from '../../support/http.js';

const opened: EarlyListener[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((early) => early.close()));
});

async function early(): Promise<EarlyListener> {
  const listener = await listenEarly('127.0.0.1', 0, '9.9.9');
  opened.push(listener);
  return listener;
}

describe('listenEarly', () => {
  it('answers GET and HEAD /health in the shape of the real route', async () => {
    const listener = await early();
    const reply = await request(listener.port, '/health');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/health+json');
    expect(reply.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(reply.body) as { status: string; version: string; checks: { uptime: unknown[] } };
    expect(body).toMatchObject({ status: 'pass', version: '9.9.9' });
    expect(body.checks.uptime).toEqual([expect.objectContaining({ componentType: 'system', observedUnit: 's' })]);
    const head = await request(listener.port, '/health', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const json = await request(listener.port, '/health', { headers: { accept: 'application/json' } });
    expect(json.headers['content-type']).toMatch(/^application\/json/);
  });

  it('holds every other request until adopted, then hands them over in arrival order', async () => {
    const listener = await early();
    const seen: string[] = [];
    const answers = ['/ready', '/metrics', '/startup', '/no-such-route'].map((path) =>
      request(listener.port, path, { timeoutMs: 5000 }),
    );
    // Still held: nothing has answered them.
    const settled = await Promise.race([
      Promise.any(answers).then(() => 'answered'),
      new Promise((resolve) => setTimeout(resolve, 300, 'held')),
    ]);
    expect(settled).toBe('held');
    listener.adopt((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(299).end(req.url);
    });
    const replies = await Promise.all(answers);
    expect(replies.map((r) => [r.status, r.body])).toEqual([
      [299, '/ready'],
      [299, '/metrics'],
      [299, '/startup'],
      [299, '/no-such-route'],
    ]);
    expect(new Set(seen)).toEqual(new Set(['/ready', '/metrics', '/startup', '/no-such-route']));
    // After the hand-over /health is the adopter's too.
    expect((await request(listener.port, '/health')).status).toBe(299);
  });

  it('does not hand over a request whose caller gave up while it was held', async () => {
    const listener = await early();
    const gone = request(listener.port, '/ready', { timeoutMs: 200 });
    await expect(gone).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const seen: string[] = [];
    listener.adopt((req, res) => {
      seen.push(req.url ?? '');
      res.end();
    });
    expect(seen).toEqual([]);
  });

  it('rejects with the listen error when the port is taken', async () => {
    const taken: Server = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      await expect(listenEarly('127.0.0.1', port, '1')).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});

describe('startEarly: binds only when the address is sure and no web config is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vitals-early-start-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  let files = 0;
  function config(text: string): string {
    files += 1;
    const file = join(dir, `config-${String(files)}.yml`);
    writeFileSync(file, text);
    return file;
  }
  async function start(argv: string[]): Promise<EarlyListener | undefined> {
    const started = await startEarly(argv, '1.0.0');
    if (started !== undefined) opened.push(started.listener);
    return started?.listener;
  }

  it('hands over the config file as it read it, before the port answered', async () => {
    const file = config('server:\n  host: 127.0.0.1\n  port: 0\nchecks: []\n');
    const started = await startEarly(['serve', '--config', file], '1.0.0');
    if (started !== undefined) opened.push(started.listener);
    writeFileSync(file, 'checks: [changed]\n');
    expect(started?.configText).toBe('server:\n  host: 127.0.0.1\n  port: 0\nchecks: []\n');
  });

  it('takes host and port from the flags, or from the config file', async () => {
    const flags = await start(['serve', '--host', '127.0.0.1', '--port', '0', '--config', config('checks: []\n')]);
    expect(flags).toMatchObject({ host: '127.0.0.1', requestedPort: 0 });
    const fromFile = await start(['--config', config('server:\n  host: 127.0.0.1\n  port: 0\nchecks: []\n')]);
    expect(fromFile).toMatchObject({ host: '127.0.0.1', requestedPort: 0 });
    expect(fromFile?.port).toBeGreaterThan(0);
  });

  it.each([
    ['a web config in the file', 'server:\n  webConfigFile: web.yml\n  host: 127.0.0.1\n  port: 0\n'],
    [
      'a web config spelled with an escape',
      '{"server": {"web\\u0043onfigFile": "web.yml", "host": "127.0.0.1", "port": 0}}\n',
    ],
    ['a host from the environment', 'server:\n  host: ${HOST}\n  port: 0\n'],
    ['a port that is not a number', 'server:\n  host: 127.0.0.1\n  port: "0"\n'],
    ['a file that does not parse', 'server: [\n'],
  ])('not with %s', async (_, text) => {
    expect(await start(['serve', '--config', config(text)])).toBeUndefined();
  });

  it('not with a web config flag, a missing file, a bad flag or another command', async () => {
    const ok = config('checks: []\n');
    const address = ['--host', '127.0.0.1', '--port', '0'];
    expect(await start(['serve', ...address, '--config', ok, '--web.config.file', 'web.yml'])).toBeUndefined();
    expect(await start(['serve', ...address, '--config', join(dir, 'missing.yml')])).toBeUndefined();
    expect(await start(['serve', ...address, '--no-such-flag'])).toBeUndefined();
    expect(await start(['validate', ...address, '--config', ok])).toBeUndefined();
    expect(await start(['--version'])).toBeUndefined();
  });

  it('with both flags given, a web config named anywhere in the file still counts', async () => {
    const address = ['--host', '127.0.0.1', '--port', '0'];
    expect(await start(['serve', ...address, '--config', config('server:\n  webConfigFile: w.yml\n')])).toBeUndefined();
    expect(
      await start(['serve', ...address, '--config', config('server: { "web\\x43onfigFile": w.yml }\n')]),
    ).toBeUndefined();
  });
});
