/**
 * A throwaway memcached for integration tests: Debian's binary on a free port of 127.0.0.1 (no
 * UDP, 8 MiB, one worker thread), optionally with a second, TLS listener. No datadir: memcached
 * keeps nothing on disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { resolveBinary } from './binaries.js';
import { liveChildren } from './cleanup.js';
import { childServerControls } from './child-server.js';
import { freePort } from './ports.js';

export interface Memcached {
  readonly host: '127.0.0.1';
  /** The plaintext port. */
  readonly port: number;
  /** The TLS port when started with `tls`, else undefined. */
  readonly tlsPort: number | undefined;
  /** The server's pid, for looking at its /proc entry. */
  readonly pid: number;
  /** Client connections (`curr_connections` of `stats`), the helper's own left out. */
  connections(): Promise<number>;
  /** SIGSTOP: TCP connects still complete in the kernel, no reply ever comes. */
  pause(): void;
  resume(): void;
  logTail(): string;
  /** SIGTERM (SIGKILL after 5 s). Idempotent. */
  close(): Promise<void>;
}

export interface StartMemcachedOptions {
  /** Also serve TLS on a second port with this certificate (no client certificates asked). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

const READY_TIMEOUT_MS = 15_000;
const START_ATTEMPTS = 5;

class AddressInUseError extends Error {}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** One text-protocol exchange on `socket`: sends `command`, resolves with the reply up to `end`. */
function exchange(socket: net.Socket, command: string, end: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let reply = '';
    const onData = (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.endsWith(end)) {
        cleanup();
        resolve(reply);
      }
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error(`connection closed before the reply to ${command.trim()}: ${JSON.stringify(reply)}`));
    };
    const cleanup = () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.write(command);
  });
}

async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** Connected, and answering `version`; rejects until then. */
async function answersVersion(port: number): Promise<net.Socket> {
  const socket = await connect(port);
  try {
    await exchange(socket, 'version\r\n', '\r\n');
    return socket;
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

async function spawnMemcached(
  port: number,
  tls: { certFile: string; keyFile: string; port: number } | undefined,
): Promise<{ child: ChildProcess; admin: net.Socket; log: () => string }> {
  const listeners =
    tls === undefined
      ? ['-l', `127.0.0.1:${String(port)}`]
      : // With -Z every listener speaks TLS unless it says notls.
        ['-l', `notls:127.0.0.1:${String(port)}`, '-l', `127.0.0.1:${String(tls.port)}`, '-Z'];
  const args = [
    ...listeners,
    '-U',
    '0',
    '-m',
    '8',
    '-t',
    '1',
    // It refuses to run as root without it.
    '-u',
    'root',
    ...(tls === undefined ? [] : ['-o', `ssl_chain_cert=${tls.certFile},ssl_key=${tls.keyFile}`]),
  ];
  const child = spawn(resolveBinary('memcached'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  let log = '';
  // Keep draining the output for the server's whole life: a full pipe would block it.
  const onData = (chunk: string) => {
    log = (log + chunk).slice(-8_000);
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const message = `memcached exited early (${signal ?? `code ${String(code)}`}):\n${log}`;
      reject(/already in use/i.test(log) ? new AddressInUseError(message) : new Error(message));
    });
  });
  exited.catch(() => undefined);
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const admin = await Promise.race([answersVersion(port), exited]);
      return { child, admin, log: () => log };
    } catch (error) {
      if (hasExited(child)) throw await exited.catch((reason: unknown) => reason);
      if (performance.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`memcached not answering version after ${String(READY_TIMEOUT_MS)} ms:\n${log}`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

export async function startMemcached(opts: StartMemcachedOptions = {}): Promise<Memcached> {
  let started: Awaited<ReturnType<typeof spawnMemcached>> | undefined;
  let port = 0;
  let tlsPort: number | undefined;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    tlsPort = opts.tls === undefined ? undefined : await freePort();
    try {
      started = await spawnMemcached(
        port,
        opts.tls === undefined || tlsPort === undefined ? undefined : { ...opts.tls, port: tlsPort },
      );
      break;
    } catch (error) {
      if (!(error instanceof AddressInUseError) || attempt >= START_ATTEMPTS) throw error;
    }
  }
  const { child, admin, log } = started;
  admin.on('error', () => undefined);
  // Listeners are connections too: what the admin connection sees with no client is the baseline.
  const idle = await currConnections(admin);
  return {
    host: '127.0.0.1',
    port,
    tlsPort,
    pid: child.pid as number,
    connections: async () => (await currConnections(admin)) - idle,
    logTail: log,
    ...childServerControls(child, { beforeClose: () => admin.destroy() }),
  };
}

async function currConnections(admin: net.Socket): Promise<number> {
  const stats = await exchange(admin, 'stats\r\n', 'END\r\n');
  const match = /^STAT curr_connections (\d+)\r$/m.exec(stats);
  if (match?.[1] === undefined) throw new Error(`unexpected stats output: ${stats}`);
  return Number(match[1]);
}
