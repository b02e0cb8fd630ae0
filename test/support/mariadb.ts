/**
 * A throwaway MariaDB server for integration tests.
 *
 * Every server gets its own temp dir (datadir, unix socket, pid file, tmpdir)
 * and a free TCP port on 127.0.0.1, so the system MariaDB on 3306 is never
 * touched. Node built-ins only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveBinary } from './binaries.js';
import { liveChildren, tempDirs } from './cleanup.js';
import { freePort } from './ports.js';

export interface MariaDbUrlOptions {
  user?: string;
  /** Defaults to the probe user's password when `user` is the probe user, otherwise empty. */
  password?: string;
  database?: string;
}

export interface MariaDb {
  host: '127.0.0.1';
  port: number;
  datadir: string;
  /** Unix socket path (root access via the CLI goes through it). */
  socket: string;
  /** pid of the running mariadbd, undefined while it is not running. */
  pid: number | undefined;
  /** Non-root user created at start (SELECT, PROCESS, REPLICATION CLIENT ON *.*). */
  user: string;
  /** Random password containing '#', '@' and '%'. */
  password: string;
  /** mysql://user:pass@127.0.0.1:port/db, percent-encoded; password omitted when empty. */
  url(opts?: MariaDbUrlOptions): string;
  /** Runs a statement as root via the `mariadb` CLI over the unix socket (-N -B); returns stdout. */
  sql(statement: string): Promise<string>;
  /** SIGSTOP the server (TCP connects still complete in the kernel, the handshake never comes). */
  pause(): void;
  /** SIGCONT the server. */
  resume(): void;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** SIGTERM (after SIGCONT if paused) and wait for exit. */
  stop(): Promise<void>;
  /** Start again on the same port and datadir (stops it first if running), wait until ready. */
  restart(): Promise<void>;
  /** SHOW GLOBAL STATUS LIKE 'Threads_connected'. */
  threadsConnected(): Promise<number>;
  /** Last part of the server's stderr log (for debugging failures). */
  logTail(): string;
  /** Stop (SIGKILL after 5 s), remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

export interface StartMariaDbOptions {
  /** Extra mariadbd arguments, appended after the defaults. */
  extraArgs?: string[];
  /**
   * Privileges granted ON *.* to the probe user. Default
   * 'SELECT, PROCESS, REPLICATION CLIENT'. Note: on MariaDB >= 10.5
   * REPLICATION CLIENT is an alias of BINLOG MONITOR and does NOT allow
   * SHOW SLAVE/REPLICA STATUS; add 'SLAVE MONITOR' for that.
   */
  probeGrants?: string;
  /** Also offer TLS with this certificate (clients may still connect in plain text). */
  tls?: { readonly certFile: string; readonly keyFile: string };
}

const READY_TIMEOUT_MS = 30_000;
const CLI_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const TAIL_CHARS = 8_000;
const START_ATTEMPTS = 6;

const live = liveChildren;

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs?: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onExit = (): void => {
      if (timer) clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        child.off('exit', onExit);
        resolve(hasExited(child));
      }, timeoutMs);
    }
  });
}

function tail(text: string, chars = 2_000): string {
  return text.length > chars ? `...${text.slice(-chars)}` : text;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell) and collects its output. */
function run(file: string, args: string[], timeoutMs = CLI_TIMEOUT_MS): Promise<RunResult> {
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function runOk(file: string, args: string[], what: string): Promise<string> {
  const r = await run(file, args);
  if (r.code !== 0) {
    const how = r.signal ? `signal ${r.signal}` : `exit code ${String(r.code)}`;
    throw new Error(`${what} failed (${how}): ${tail(r.stderr || r.stdout)}`);
  }
  return r.stdout;
}

/** Characters safe inside a single-quoted SQL literal and unambiguous in a URL once encoded. */
function randomPassword(): string {
  const base = randomBytes(12).toString('base64url'); // [A-Za-z0-9_-]
  return `${base.slice(0, 4)}#${base.slice(4, 8)}@${base.slice(8)}%x`;
}

class AddressInUseError extends Error {}

class MariaDbServer implements MariaDb {
  readonly host = '127.0.0.1' as const;
  readonly socket: string;
  readonly datadir: string;
  readonly user = 'probe';
  readonly password = randomPassword();
  private child: ChildProcess | undefined;
  private paused = false;
  private closed = false;
  private log = '';
  private readonly pidFile: string;
  private readonly bins = {
    mariadbd: resolveBinary('mariadbd'),
    mariadb: resolveBinary('mariadb'),
    admin: resolveBinary('mariadb-admin'),
  };

  constructor(
    readonly dir: string,
    public port: number,
    private readonly extraArgs: string[],
  ) {
    this.datadir = path.join(dir, 'data');
    this.socket = path.join(dir, 'mysqld.sock');
    this.pidFile = path.join(dir, 'mysqld.pid');
  }

  get pid(): number | undefined {
    return this.child && !hasExited(this.child) ? this.child.pid : undefined;
  }

  url(opts: MariaDbUrlOptions = {}): string {
    const user = opts.user ?? this.user;
    const password = opts.password ?? (user === this.user ? this.password : '');
    const auth =
      password === '' ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
    const db = opts.database === undefined ? '' : `/${encodeURIComponent(opts.database)}`;
    return `mysql://${auth}@${this.host}:${this.port}${db}`;
  }

  sql(statement: string): Promise<string> {
    return runOk(
      this.bins.mariadb,
      ['--no-defaults', `--socket=${this.socket}`, '-uroot', '-N', '-B', '-e', statement],
      `mariadb -e ${JSON.stringify(statement)}`,
    );
  }

  async threadsConnected(): Promise<number> {
    const out = await this.sql("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
    const value = Number(out.trim().split('\t')[1]);
    if (!Number.isInteger(value)) throw new Error(`unexpected Threads_connected output: ${JSON.stringify(out)}`);
    return value;
  }

  logTail(): string {
    return this.log;
  }

  pause(): void {
    const child = this.requireRunning('pause');
    child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    const child = this.requireRunning('resume');
    child.kill('SIGCONT');
    this.paused = false;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || hasExited(child)) return;
    child.kill('SIGKILL');
    await waitForExit(child);
    this.paused = false;
  }

  async stop(): Promise<void> {
    await this.stopWithin(undefined);
  }

  async restart(): Promise<void> {
    if (this.closed) throw new Error('restart() after close()');
    await this.stop();
    await this.start(false);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopWithin(STOP_GRACE_MS);
    await rm(this.dir, { recursive: true, force: true });
    tempDirs.delete(this.dir);
  }

  /** SIGTERM, optionally escalating to SIGKILL after `graceMs`. */
  private async stopWithin(graceMs: number | undefined): Promise<void> {
    const child = this.child;
    if (!child || hasExited(child)) return;
    if (this.paused) {
      child.kill('SIGCONT');
      this.paused = false;
    }
    child.kill('SIGTERM');
    if (!(await waitForExit(child, graceMs))) {
      child.kill('SIGKILL');
      await waitForExit(child);
    }
  }

  private requireRunning(what: string): ChildProcess {
    if (!this.child || hasExited(this.child)) throw new Error(`${what}(): mariadbd is not running`);
    return this.child;
  }

  /**
   * Starts mariadbd and waits until it is ready. Retries on "Address already
   * in use" (port in TIME_WAIT, or stolen); when `mayChangePort` a fresh port
   * is picked for the retry, otherwise the same port is retried after a delay.
   */
  async start(mayChangePort: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.spawnOnce();
        return;
      } catch (err) {
        if (!(err instanceof AddressInUseError) || attempt >= START_ATTEMPTS) throw err;
        if (mayChangePort) this.port = await freePort();
        else await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }

  private async spawnOnce(): Promise<void> {
    const args = [
      '--no-defaults', // must be first
      `--user=${os.userInfo().username}`,
      `--datadir=${this.datadir}`,
      `--socket=${this.socket}`,
      `--pid-file=${this.pidFile}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      `--tmpdir=${this.dir}`,
      '--skip-log-bin',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      ...this.extraArgs,
    ];
    this.log = '';
    this.paused = false;
    const child = spawn(this.bins.mariadbd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));

    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(new Error(`mariadbd not ready after ${READY_TIMEOUT_MS} ms on port ${this.port}:\n${tail(this.log)}`));
      }, READY_TIMEOUT_MS);
      // Keep draining stderr for the server's whole life: a full pipe would block mariadbd.
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        this.log = (this.log + chunk).slice(-TAIL_CHARS);
        if (this.log.includes('ready for connections')) finish();
      });
      child.once('error', (err) => finish(err));
      child.once('exit', (code, signal) => {
        const msg = `mariadbd exited early (${signal ?? `code ${String(code)}`}) on port ${this.port}:\n${tail(this.log)}`;
        finish(/Address already in use/.test(this.log) ? new AddressInUseError(msg) : new Error(msg));
      });
    });

    // Ready was logged; make sure the socket answers too.
    const pingArgs = ['--no-defaults', `--socket=${this.socket}`, '-uroot', '--connect-timeout=5', 'ping'];
    let last: RunResult | undefined;
    for (let i = 0; i < 20; i++) {
      last = await run(this.bins.admin, pingArgs);
      if (last.code === 0) return;
      if (hasExited(child)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`mariadb-admin ping failed: ${tail(last?.stderr ?? '')}\nserver log:\n${tail(this.log)}`);
  }
}

const INSTALL_DB_ATTEMPTS = 3;

/**
 * mariadb-install-db bootstraps by running mariadbd once; on a loaded CI machine that bootstrap
 * has been seen to dump core (once, in a CI run of the whole suite). A crash leaves a
 * half-written datadir, so each retry starts from an empty one, and the crash is logged, not hidden.
 */
async function initialiseDatadir(installDb: string, datadir: string): Promise<void> {
  const args = [
    '--no-defaults', // must be first
    `--datadir=${datadir}`,
    `--user=${os.userInfo().username}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    '--skip-name-resolve',
  ];
  for (let attempt = 1; ; attempt++) {
    try {
      await runOk(installDb, args, 'mariadb-install-db');
      return;
    } catch (err) {
      if (attempt >= INSTALL_DB_ATTEMPTS) throw err;
      console.warn(`[mariadb] attempt ${String(attempt)} of ${String(INSTALL_DB_ATTEMPTS)}: ${String(err)}; retrying`);
      await rm(datadir, { recursive: true, force: true });
    }
  }
}

/**
 * Initialises a fresh datadir in `os.tmpdir()/vitals-mariadb-XXXXXX`, starts
 * mariadbd on a free 127.0.0.1 port and creates the probe user.
 */
export async function startMariaDb(opts: StartMariaDbOptions = {}): Promise<MariaDb> {
  const installDb = resolveBinary('mariadb-install-db');
  for (const name of ['mariadbd', 'mariadb', 'mariadb-admin']) resolveBinary(name); // fail before mkdtemp
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vitals-mariadb-'));
  tempDirs.add(dir);
  const tlsArgs = opts.tls === undefined ? [] : [`--ssl-cert=${opts.tls.certFile}`, `--ssl-key=${opts.tls.keyFile}`];
  const server = new MariaDbServer(dir, await freePort(), [...tlsArgs, ...(opts.extraArgs ?? [])]);
  try {
    await initialiseDatadir(installDb, server.datadir);
    await server.start(true);
    const grants = opts.probeGrants ?? 'SELECT, PROCESS, REPLICATION CLIENT';
    // '%' covers TCP from 127.0.0.1; 'localhost' covers the unix socket.
    for (const host of ['%', 'localhost']) {
      await server.sql(
        `CREATE USER '${server.user}'@'${host}' IDENTIFIED BY '${server.password}';` +
          ` GRANT ${grants} ON *.* TO '${server.user}'@'${host}';`,
      );
    }
    return server;
  } catch (err) {
    await server.close();
    throw err;
  }
}
