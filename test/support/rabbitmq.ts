/**
 * A throwaway RabbitMQ node for integration tests: its own temp dir (HOME and its Erlang cookie,
 * mnesia, config), its own node name, free ports on 127.0.0.1 and a private epmd, so that the
 * system RabbitMQ (5672, its epmd on 4369, /var/lib/rabbitmq) is never touched. Users, vhosts,
 * permissions and queues come from a definitions file loaded at boot: one rabbitmqctl call costs
 * an Erlang boot (~1 s) each. No plugins: the node boots faster without the management UI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import amqplib from 'amqplib';
import { resolveBinary } from './binaries.js';
import { liveChildren, tempDirs } from './cleanup.js';
import { socketTable } from './fds.js';
import { freePort } from './ports.js';
import type { LocalServer } from './servers.js';

/**
 * The scripts behind Debian's /usr/sbin/rabbitmq-server: that wrapper switches to the rabbitmq
 * user (su), whose home holds the system node's cookie; these run as whoever starts them.
 */
const SERVER_SCRIPT = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const READY_TIMEOUT_MS = 60_000;

/** A RabbitMQ started by `startRabbitMq`; `close` kills it and its epmd. */
export interface RabbitMq extends LocalServer {
  readonly user: string;
  /** The TLS port when started with `tls`, else undefined. */
  readonly tlsPort: number | undefined;
  /** A vhost of the user's whose name needs percent-encoding (a '/' and a space). */
  readonly vhost: string;
  /** A vhost that exists and on which the user has no permission. */
  readonly lockedVhost: string;
  /** Durable queues declared at boot in "/": empty, and another for tests to fill. */
  readonly queues: { readonly empty: string; readonly backlog: string };
  /** The beam.smp process: the listener itself. */
  readonly pid: number;
  /** The broker's whole output so far (warnings and errors). */
  log(): string;
  /** From spawn until the first AMQP login succeeded. */
  readonly bootMs: number;
  /** amqp://user:pass@127.0.0.1:port[/vhost], percent-encoded; `password: ''` leaves it out. */
  url(opts?: { password?: string; vhost?: string }): string;
}

export interface StartRabbitMqOptions {
  /** Also serve AMQPS on a second port with this certificate (no client certificates asked). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

function randomPassword(): string {
  const base = randomBytes(12).toString('base64url');
  return `${base.slice(0, 4)}#${base.slice(4, 8)}@${base.slice(8)}%x/`;
}

/** RabbitMQ's rabbit_password_hashing_sha256: base64(salt ‖ sha256(salt ‖ password)). */
function passwordHash(password: string): string {
  const salt = randomBytes(4);
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

function definitions(user: string, password: string, vhost: string, lockedVhost: string, queues: string[]) {
  const all = { configure: '.*', write: '.*', read: '.*' };
  return {
    users: [
      {
        name: user,
        password_hash: passwordHash(password),
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: [],
      },
    ],
    vhosts: [{ name: '/' }, { name: vhost }, { name: lockedVhost }],
    permissions: [
      { user, vhost: '/', ...all },
      { user, vhost, ...all },
    ],
    queues: queues.map((name) => ({ name, vhost: '/', durable: true, auto_delete: false, arguments: {} })),
  };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Sockets whose local port is `port` and that the server still holds (accepted or queued). */
/** Client connections to `port` that the broker holds: ESTABLISHED, SYN_RECV, CLOSE_WAIT (the client has gone, the broker not yet). */
function serverSockets(port: number): number {
  return socketTable().filter((row) => row.localPort === port && ['01', '03', '08'].includes(row.state)).length;
}

/** Its output so far (the last MB: the broker logs warnings only). */
function track(child: ChildProcess): () => string {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  child.once('error', () => undefined);
  let log = '';
  // Keep draining the output for the process's whole life: a full pipe would block it.
  const onData = (chunk: string) => {
    log = (log + chunk).slice(-1_000_000);
  };
  child.stdout?.setEncoding('utf8').on('data', onData);
  child.stderr?.setEncoding('utf8').on('data', onData);
  return () => log;
}

async function stop(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGCONT');
  // A throwaway node: nothing to flush, and a graceful stop takes seconds.
  child.kill('SIGKILL');
  await exited;
}

async function waitForLogin(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const until = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited(child)) throw new Error(`rabbitmq-server exited early:\n${log()}`);
    try {
      const connection = await amqplib.connect(url, { timeout: 1000 });
      await connection.close();
      return;
    } catch (error) {
      if (performance.now() > until)
        throw new Error(`rabbitmq-server not ready after ${String(READY_TIMEOUT_MS)} ms (${String(error)}):\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export async function startRabbitMq(opts: StartRabbitMqOptions = {}): Promise<RabbitMq> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vitals-rabbitmq-'));
  tempDirs.add(dir);
  const home = path.join(dir, 'home');
  await Promise.all(['home', 'mnesia', 'log'].map((d) => mkdir(path.join(dir, d))));
  const user = 'vitals';
  const password = randomPassword();
  const vhost = 'vitals/test vhost';
  const lockedVhost = 'locked';
  const queues = { empty: 'orders', backlog: 'backlog' };
  const [port, distPort, epmdPort, tlsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    opts.tls === undefined ? Promise.resolve(undefined) : freePort(),
  ]);
  const file = (name: string) => path.join(dir, name);
  await writeFile(
    file('definitions.json'),
    JSON.stringify(definitions(user, password, vhost, lockedVhost, Object.values(queues))),
  );
  await writeFile(
    file('rabbitmq.conf'),
    [
      `listeners.tcp.default = 127.0.0.1:${String(port)}`,
      `load_definitions = ${file('definitions.json')}`,
      'log.console = true',
      'log.console.level = warning',
      'log.file = false',
      ...(opts.tls === undefined || tlsPort === undefined
        ? []
        : [
            `listeners.ssl.default = 127.0.0.1:${String(tlsPort)}`,
            `ssl_options.certfile = ${opts.tls.certFile}`,
            `ssl_options.keyfile = ${opts.tls.keyFile}`,
            'ssl_options.verify = verify_none',
            'ssl_options.fail_if_no_peer_cert = false',
          ]),
      '',
    ].join('\n'),
  );
  await writeFile(file('enabled_plugins'), '[].\n');
  // The system's rabbitmq-env.conf names the system node: an empty one of our own instead.
  await writeFile(file('rabbitmq-env.conf'), '');

  const epmd = spawn(resolveBinary('epmd'), ['-port', String(epmdPort), '-address', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const epmdLog = track(epmd);
  const started = performance.now();
  const child = spawn(SERVER_SCRIPT, [], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      LC_ALL: 'C.UTF-8',
      HOME: home,
      // The script then execs the VM instead of waiting on it in a shell: the child is beam.smp,
      // which SIGSTOP must reach (it is the listener) and SIGKILL takes down with its helpers.
      NOTIFY_SOCKET: file('no-systemd'),
      RABBITMQ_CONF_ENV_FILE: file('rabbitmq-env.conf'),
      RABBITMQ_NODENAME: `vitals-test-${randomBytes(4).toString('hex')}@localhost`,
      RABBITMQ_DIST_PORT: String(distPort),
      ERL_EPMD_PORT: String(epmdPort),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_MNESIA_BASE: file('mnesia'),
      RABBITMQ_LOG_BASE: file('log'),
      RABBITMQ_CONFIG_FILE: file('rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: file('advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: file('enabled_plugins'),
      RABBITMQ_PID_FILE: file('rabbitmq.pid'),
    },
  });
  const serverLog = track(child);
  const logTail = () => `rabbitmq-server:\n${serverLog().slice(-8_000)}\nepmd:\n${epmdLog().slice(-2_000)}`;
  const url = (o: { password?: string; vhost?: string } = {}) => {
    const secret = o.password ?? password;
    const credentials = secret === '' ? user : `${user}:${encodeURIComponent(secret)}`;
    const path = o.vhost === undefined ? '' : `/${encodeURIComponent(o.vhost)}`;
    return `amqp://${credentials}@127.0.0.1:${String(port)}${path}`;
  };
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await stop(child);
    await stop(epmd);
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  };
  try {
    await waitForLogin(url(), child, logTail);
  } catch (error) {
    await close();
    throw error;
  }
  const bootMs = performance.now() - started;
  return {
    host: '127.0.0.1',
    port,
    tlsPort,
    user,
    password,
    vhost,
    lockedVhost,
    queues,
    pid: child.pid ?? 0,
    bootMs,
    url,
    // Counted by the kernel, not rabbitmqctl list_connections: that costs an Erlang boot per call.
    connections: () => Promise.resolve(serverSockets(port) + (tlsPort === undefined ? 0 : serverSockets(tlsPort))),
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    logTail,
    log: serverLog,
    close,
  };
}
