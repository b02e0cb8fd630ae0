/**
 * A throwaway Redis server for integration tests: its own temp dir, a free port on 127.0.0.1
 * (the system Redis on 6379 is never touched), no persistence, a random `requirepass`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { resolveBinary } from './binaries.js';
import { freePort } from './ports.js';
import { liveChildren, tempDirs } from './cleanup.js';
import { childServerControls } from './child-server.js';
import type { LocalServer } from './servers.js';

/** A Redis started by `startRedis`; `close` sends SIGTERM. */
export interface Redis extends LocalServer {
  /** The TLS port when started with `tls`, else undefined. */
  readonly tlsPort: number | undefined;
  /** redis://:pass@127.0.0.1:port, percent-encoded; `password: ''` leaves it out. */
  url(opts?: { password?: string }): string;
}

const READY_TIMEOUT_MS = 15_000;
const START_ATTEMPTS = 5;

const live = liveChildren;

class AddressInUseError extends Error {}

function randomPassword(): string {
  const base = randomBytes(12).toString('base64url');
  return `${base.slice(0, 4)}#${base.slice(4, 8)}@${base.slice(8)}%x`;
}

export interface StartRedisOptions {
  /** Also serve TLS on a second port with this certificate (no client certificates asked). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

async function spawnRedis(
  dir: string,
  port: number,
  password: string,
  tls: { certFile: string; keyFile: string; port: number } | undefined,
): Promise<{ child: ChildProcess; log: () => string }> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--requirepass',
    password,
    '--dir',
    dir,
    '--logfile',
    '',
    ...(tls === undefined
      ? []
      : [
          '--tls-port',
          String(tls.port),
          '--tls-cert-file',
          tls.certFile,
          '--tls-key-file',
          tls.keyFile,
          '--tls-auth-clients',
          'no',
        ]),
  ];
  const child = spawn(resolveBinary('redis-server'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server not ready after ${String(READY_TIMEOUT_MS)} ms:\n${log}`));
    }, READY_TIMEOUT_MS);
    // Keep draining the output for the server's whole life: a full pipe would block it.
    const onData = (chunk: string) => {
      log = (log + chunk).slice(-8_000);
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const message = `redis-server exited early (${signal ?? `code ${String(code)}`}):\n${log}`;
      reject(/already in use/i.test(log) ? new AddressInUseError(message) : new Error(message));
    });
  });
  return { child, log: () => log };
}

export async function startRedis(opts: StartRedisOptions = {}): Promise<Redis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vitals-redis-'));
  tempDirs.add(dir);
  const password = randomPassword();
  let started: { child: ChildProcess; log: () => string } | undefined;
  let port = 0;
  let tlsPort: number | undefined;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    tlsPort = opts.tls === undefined ? undefined : await freePort();
    try {
      started = await spawnRedis(
        dir,
        port,
        password,
        opts.tls === undefined || tlsPort === undefined ? undefined : { ...opts.tls, port: tlsPort },
      );
      break;
    } catch (error) {
      if (!(error instanceof AddressInUseError) || attempt >= START_ATTEMPTS) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const { child, log } = started;
  const admin = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false }, password });
  admin.on('error', () => undefined);
  await admin.connect();
  return {
    host: '127.0.0.1',
    port,
    tlsPort,
    password,
    url: (opts = {}) => {
      const secret = opts.password ?? password;
      return `redis://${secret === '' ? '' : `:${encodeURIComponent(secret)}@`}127.0.0.1:${String(port)}`;
    },
    async connections() {
      const info = await admin.info('clients');
      const match = /connected_clients:(\d+)/.exec(info);
      if (match?.[1] === undefined) throw new Error(`unexpected INFO clients output: ${info}`);
      return Number(match[1]) - 1;
    },
    logTail: log,
    ...childServerControls(child, { dir, beforeClose: () => admin.destroy() }),
  };
}
