/**
 * serve's signal handling on a fake clock: the drain → delay → close → grace → exit sequence,
 * the second signal and SIGHUP, against the real listener on a loopback port. exit and signal
 * registration are injected, so nothing here ends or signals the test process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serve, type ServeSignal } from '../../src/cli/serve.js';
import type { RunningServer } from '../../src/http/server.js';
import { captureLogs } from '../support/vitals.js';
import { request } from '../support/http.js';

const DELAY_MS = 5000;
const TIMEOUT_MS = 10_000;

/** Lets I/O and promise callbacks run (setImmediate is not faked) until `done` or a bound. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !done(); i += 1) await new Promise((resolve) => setImmediate(resolve));
  if (!done()) throw new Error(`never happened: ${what}`);
}

describe('serve on signals', () => {
  let dir: string;
  let configFile: string;
  let handlers: Map<ServeSignal, () => void>;
  let exit: ReturnType<typeof vi.fn<(code: number) => void>>;
  let server: RunningServer;
  let port: number;

  const signal = (name: ServeSignal) => {
    const handler = handlers.get(name);
    if (handler === undefined) throw new Error(`no ${name} handler registered`);
    handler();
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vitals-serve-'));
    configFile = join(dir, 'vitals.yml');
    writeFileSync(
      configFile,
      `server: { shutdownDelay: ${String(DELAY_MS)}ms, shutdownTimeout: ${String(TIMEOUT_MS)}ms }\nchecks: []\n`,
    );
    handlers = new Map();
    exit = vi.fn<(code: number) => void>();
    // Only the timers serve itself sets: node's own socket timers keep running on the real clock.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    server = await serve(
      { config: configFile, host: '127.0.0.1', port: 0, webConfigFile: undefined, watchConfigMs: undefined },
      {
        exit,
        onSignal: (name, handler) => handlers.set(name, handler),
        logger: captureLogs('silent').logger,
      },
    );
    port = server.port;
  });

  afterEach(async () => {
    // Whatever a test left running: finish the sequence so the listener and the checks stop.
    if (handlers.has('SIGTERM') && exit.mock.calls.every(([code]) => code !== 0)) {
      if (!exit.mock.calls.length) signal('SIGTERM');
      await vi.advanceTimersByTimeAsync(DELAY_MS + TIMEOUT_MS);
      await until(() => exit.mock.calls.some(([code]) => code === 0), 'cleanup exit');
    }
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers SIGTERM, SIGINT and SIGHUP, and exits only when told', () => {
    expect([...handlers.keys()].sort()).toStrictEqual(['SIGHUP', 'SIGINT', 'SIGTERM']);
    expect(exit).not.toHaveBeenCalled();
  });

  it('SIGTERM: draining at once, listener closed after shutdownDelay, in-flight cut after shutdownTimeout, then exit 0', async () => {
    expect((await request(port, '/ready')).status).toBe(200);
    // A request still arriving when the listener closes: its headers are not finished.
    const inFlight = new net.Socket();
    await new Promise<void>((resolve) => inFlight.connect(port, '127.0.0.1', resolve));
    inFlight.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let inFlightClosed = false;
    inFlight.on('close', () => (inFlightClosed = true));
    inFlight.on('error', () => undefined);

    signal('SIGTERM');
    expect((await request(port, '/ready')).status).toBe(503);
    expect((await request(port, '/health')).status).toBe(200);
    expect((await request(port, '/metrics')).body).toMatch(/^vitals_draining 1$/m);

    await vi.advanceTimersByTimeAsync(DELAY_MS - 1);
    expect((await request(port, '/ready')).status, 'still listening just before shutdownDelay').toBe(503);
    await vi.advanceTimersByTimeAsync(1);
    await expect(request(port, '/health'), 'closed at shutdownDelay').rejects.toThrow(/ECONNREFUSED/);
    expect(inFlightClosed).toBe(false);
    expect(exit).not.toHaveBeenCalled();

    await vi.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(inFlightClosed, 'the in-flight request still has time').toBe(false);
    expect(exit).not.toHaveBeenCalled();

    await vi.advanceTimersByTimeAsync(1);
    await until(() => inFlightClosed, 'the in-flight connection to be cut');
    await until(() => exit.mock.calls.length > 0, 'exit');
    expect(exit.mock.calls).toStrictEqual([[0]]);
  });

  it('an in-flight request that finishes within shutdownTimeout gets its answer, then exit 0', async () => {
    const inFlight = new net.Socket();
    await new Promise<void>((resolve) => inFlight.connect(port, '127.0.0.1', resolve));
    let received = '';
    inFlight.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
    inFlight.write('GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n');

    signal('SIGTERM');
    await vi.advanceTimersByTimeAsync(DELAY_MS);
    await expect(request(port, '/health')).rejects.toThrow(/ECONNREFUSED/);
    inFlight.write('\r\n');
    await until(() => received.includes('"status":"fail"'), 'the answer to the in-flight request');
    expect(received).toMatch(/^HTTP\/1\.1 503 /);
    // The answered connection is idle now; the grace period bounds how long it may hold the exit.
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    await until(() => exit.mock.calls.length > 0, 'exit');
    expect(exit.mock.calls).toStrictEqual([[0]]);
    inFlight.destroy();
  });

  it('a second signal exits 1 at once', async () => {
    signal('SIGTERM');
    expect(exit).not.toHaveBeenCalled();
    signal('SIGINT');
    expect(exit.mock.calls).toStrictEqual([[1]]);
    expect((await request(port, '/ready')).status).toBe(503);
  });

  it('SIGINT drains like SIGTERM', async () => {
    signal('SIGINT');
    expect((await request(port, '/ready')).status).toBe(503);
    await vi.advanceTimersByTimeAsync(DELAY_MS);
    await until(() => exit.mock.calls.length > 0, 'exit');
    expect(exit.mock.calls).toStrictEqual([[0]]);
  });

  it('SIGHUP reloads the config file: an added check answers at once, and nothing drains', async () => {
    expect((await request(port, '/ready/root-disk')).status).toBe(404);
    writeFileSync(
      configFile,
      `server: { shutdownDelay: ${String(DELAY_MS)}ms, shutdownTimeout: ${String(TIMEOUT_MS)}ms }\nchecks:\n  - { name: root-disk, kind: disk, path: /, minFreeRatio: 0 }\n`,
    );
    signal('SIGHUP');
    let status = 404;
    for (let i = 0; i < 50 && status === 404; i += 1) status = (await request(port, '/ready/root-disk')).status;
    expect(status).toBeOneOf([200, 503]);
    expect((await request(port, '/metrics')).body).toMatch(
      /^vitals_check_info\{check="root-disk",kind="disk",critical="true",target="\/"\} 1$/m,
    );
    expect((await request(port, '/metrics')).body).toMatch(/^vitals_draining 0$/m);
    expect(exit).not.toHaveBeenCalled();
  });
});
