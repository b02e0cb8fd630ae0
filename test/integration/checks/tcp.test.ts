import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configProblems, runCheck, runCheckKindContract, targetOf } from '../../support/contract.js';
import { startBlackhole, startSilentServer, type BlackholeListener, type SilentServer } from '../../support/servers.js';
import { closedPort } from '../../support/ports.js';

const TIMEOUT_MS = 500;

describe('the tcp check kind', () => {
  let listener: net.Server;
  let port: number;
  const open = new Set<net.Socket>();
  let silent: SilentServer;
  let blackhole: BlackholeListener;
  let closed: number;

  beforeAll(async () => {
    listener = net.createServer((socket) => {
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => open.delete(socket));
      socket.resume();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as net.AddressInfo).port;
    silent = await startSilentServer();
    blackhole = await startBlackhole();
    closed = await closedPort();
  });

  afterAll(async () => {
    await new Promise((resolve) => listener.close(resolve));
    await silent.close();
    await blackhole.close();
  });

  describe('contract', () => {
    runCheckKindContract({
      kind: 'tcp',
      timeoutMs: TIMEOUT_MS,
      healthy: () => ({ host: '127.0.0.1', port }),
      target: () => `127.0.0.1:${String(port)}`,
      refused: () => ({ host: '127.0.0.1', port: closed }),
      // The documented limit: a connect completes even when nothing will ever answer.
      silent: {
        fields: () => ({ host: '127.0.0.1', port: silent.port }),
        openSockets: () => silent.openSockets(),
        expect: 'pass',
      },
      hung: { at: (port) => ({ host: '127.0.0.1', port }) },
      connections: () => Promise.resolve(open.size),
    });
  });

  it('fails with reason timeout at the deadline on a port that drops connects (a full backlog, a firewall)', async () => {
    const { result, settledMs } = await runCheck('tcp', { host: '127.0.0.1', port: blackhole.port }, TIMEOUT_MS);
    expect(result).toMatchObject({
      status: 'fail',
      reason: 'timeout',
      output: `timeout after ${String(TIMEOUT_MS)}ms`,
    });
    expect(settledMs).toBeLessThan(TIMEOUT_MS + 250);
  });

  it('writes IPv6 targets in brackets and takes the host with or without them', () => {
    expect(targetOf('tcp', { host: '::1', port: 5432 })).toBe('[::1]:5432');
    expect(targetOf('tcp', { host: '[::1]', port: 5432 })).toBe('[::1]:5432');
    expect(targetOf('tcp', { host: 'db.internal', port: 3306 })).toBe('db.internal:3306');
  });

  it('requires host and a port in 1-65535', () => {
    expect(configProblems('tcp', { host: 'x' })).toEqual(['checks[0].port: expected a port number (1-65535)']);
    expect(configProblems('tcp', { host: 'x', port: 0 })[0]).toMatch(/^checks\[0\]\.port: /);
    expect(configProblems('tcp', { port: 80 })[0]).toMatch(/^checks\[0\]\.host: /);
  });

  it('limits host to 253 characters, the longest DNS name', () => {
    const longest = [...Array<string>(3).fill('a'.repeat(63)), 'b'.repeat(61)].join('.');
    expect(longest).toHaveLength(253);
    expect(configProblems('tcp', { host: longest, port: 80 })).toEqual([]);
    expect(configProblems('tcp', { host: `${longest}c`, port: 80 })).toEqual([
      'checks[0].host: at most 253 characters (the longest DNS name)',
    ]);
    expect(configProblems('tcp', { host: 'x'.repeat(100_000), port: 80 })).toEqual([
      'checks[0].host: at most 253 characters (the longest DNS name)',
    ]);
  });
});
