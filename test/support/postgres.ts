/**
 * A throwaway PostgreSQL server for integration tests.
 *
 * Every server gets its own temp dir (datadir and unix socket) and a free TCP port on 127.0.0.1,
 * so the system PostgreSQL on 5432 is never touched. PostgreSQL refuses to run as root: under
 * root, initdb and postgres run with the uid/gid of the `postgres` OS user (spawned directly, not
 * through runuser, so that the child is the postmaster and pause() stops it). Over TCP the probe
 * role logs in with scram-sha-256; the superuser gets in over the unix socket (trust).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { liveChildren, tempDirs } from './cleanup.js';
import type { LocalServer } from './servers.js';

/**
 * A PostgreSQL started by `startPostgres`. `pause` SIGSTOPs the postmaster (no backend starts);
 * `close` is a fast shutdown.
 */
export interface Postgres extends LocalServer {
  /** The login role for probes (password auth over TCP). */
  readonly user: string;
  /** postgres://user:pass@127.0.0.1:port/postgres, percent-encoded. */
  url(opts?: { user?: string; password?: string }): string;
  /** Runs SQL as the superuser over the unix socket. */
  sql(statement: string): Promise<pg.QueryResult>;
  /** The directory of its unix socket, where the superuser (and a standby's replication) gets in. */
  readonly socketDir: string;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const START_ATTEMPTS = 5;

const live = liveChildren;

/** The newest /usr/lib/postgresql/<version>/bin holding initdb and postgres, if any. */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  return versions
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(root, v, 'bin'))
    .find((dir) => {
      try {
        return readdirSync(dir).includes('initdb');
      } catch {
        return false;
      }
    });
}

/** What skipUnlessBinaries should look for: full paths when the Debian layout is there. */
export function postgresBinaries(): string[] {
  const dir = binDir();
  return dir === undefined ? ['initdb', 'postgres'] : [path.join(dir, 'initdb'), path.join(dir, 'postgres')];
}

/** uid/gid to run PostgreSQL as: the `postgres` user under root, else ourselves. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error('running as root, but there is no postgres OS user to run PostgreSQL as');
  return { uid: Number(uid), gid: Number(gid) };
}

function tail(text: string, chars = 2_000): string {
  return text.length > chars ? `...${text.slice(-chars)}` : text;
}

function randomPassword(): string {
  const base = randomBytes(12).toString('base64url');
  return `${base.slice(0, 4)}#${base.slice(4, 8)}@${base.slice(8)}%x`;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(hasExited(child)), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function runOk(
  file: string,
  args: string[],
  user: { uid: number; gid: number } | undefined,
  cwd: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd, timeout: 60_000, ...user });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(new Error(`${path.basename(file)} failed (${signal ?? `exit code ${String(code)}`}): ${tail(output)}`));
    });
  });
}

class AddressInUseError extends Error {}

export interface StartPostgresOptions {
  /** Serve TLS (`ssl=on`) with this certificate; clients may still connect in plain text. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /**
   * Start as a streaming standby of this primary (`pg_basebackup -R`) instead of a fresh initdb:
   * read-only, in recovery, with the primary's roles (the probe role and its password).
   */
  readonly standbyOf?: Postgres;
}

/** initdb in a temp dir, start on a free port, create the probe role. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<Postgres> {
  const dir = binDir();
  if (dir === undefined) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql/<version>/bin');
  const user = runAs();
  const base = await mkdtemp(path.join(os.tmpdir(), 'vitals-pg-'));
  tempDirs.add(base);
  const datadir = path.join(base, 'data');
  const password = opts.standbyOf?.password ?? randomPassword();
  let child: ChildProcess | undefined;
  let admin: pg.Client | undefined;
  let log = '';
  let port = 0;
  let closed = false;

  const close = async () => {
    if (closed) return;
    closed = true;
    await admin?.end().catch(() => undefined);
    if (child !== undefined && !hasExited(child)) {
      child.kill('SIGCONT');
      child.kill('SIGINT'); // fast shutdown: active sessions are ended, not waited for
      if (!(await waitForExit(child, STOP_GRACE_MS))) {
        child.kill('SIGKILL');
        await waitForExit(child, STOP_GRACE_MS);
      }
    }
    await rm(base, { recursive: true, force: true });
    tempDirs.delete(base);
  };

  const spawnOnce = async () => {
    log = '';
    const args = [
      '-D',
      datadir,
      '-k',
      base,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'shared_buffers=16MB',
      '-c',
      'max_connections=40',
      '-c',
      'logging_collector=off',
      ...(opts.tls === undefined
        ? []
        : [
            '-c',
            'ssl=on',
            '-c',
            `ssl_cert_file=${path.join(base, 'server.crt')}`,
            '-c',
            `ssl_key_file=${path.join(base, 'server.key')}`,
          ]),
    ];
    const started = spawn(path.join(dir, 'postgres'), args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: base,
      ...user,
    });
    child = started;
    live.add(started);
    started.once('exit', () => live.delete(started));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        started.kill('SIGKILL');
        reject(new Error(`postgres not ready after ${String(READY_TIMEOUT_MS)} ms:\n${tail(log)}`));
      }, READY_TIMEOUT_MS);
      // Keep draining stderr for the server's whole life: a full pipe would block postgres.
      started.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        log = (log + chunk).slice(-8_000);
        // A standby says "ready to accept read-only connections".
        if (/ready to accept (read-only )?connections/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
      started.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      started.once('exit', (code, signal) => {
        clearTimeout(timer);
        const message = `postgres exited early (${signal ?? `code ${String(code)}`}):\n${tail(log)}`;
        reject(/already in use|could not bind/i.test(log) ? new AddressInUseError(message) : new Error(message));
      });
    });
  };

  try {
    await chmod(base, 0o700);
    if (user !== undefined) await chown(base, user.uid, user.gid);
    if (opts.standbyOf === undefined) {
      await runOk(
        path.join(dir, 'initdb'),
        [
          '-D',
          datadir,
          '-U',
          'postgres',
          '--auth=trust',
          '--no-sync',
          '--no-instructions',
          '--locale=C',
          '--encoding=UTF8',
        ],
        user,
        base,
      );
    } else {
      // -R writes primary_conninfo and standby.signal: the copy starts as a streaming standby.
      await runOk(
        path.join(dir, 'pg_basebackup'),
        [
          '-h',
          opts.standbyOf.socketDir,
          '-p',
          String(opts.standbyOf.port),
          '-U',
          'postgres',
          '-D',
          datadir,
          '-R',
          '-X',
          'stream',
          '--no-sync',
        ],
        user,
        base,
      );
    }
    if (opts.tls !== undefined) {
      // postgres wants its key private to itself.
      for (const [from, to] of [
        [opts.tls.certFile, 'server.crt'],
        [opts.tls.keyFile, 'server.key'],
      ] as const) {
        await copyFile(from, path.join(base, to));
        await chmod(path.join(base, to), 0o600);
        if (user !== undefined) await chown(path.join(base, to), user.uid, user.gid);
      }
    }
    // The superuser over the unix socket only; everyone over TCP with a password.
    // Replication over the socket too, for a standby of this server.
    await writeFile(
      path.join(datadir, 'pg_hba.conf'),
      'local all all trust\nlocal replication all trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
    );
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await spawnOnce();
        break;
      } catch (error) {
        if (!(error instanceof AddressInUseError) || attempt >= START_ATTEMPTS) throw error;
      }
    }
    admin = new pg.Client({ host: base, port, user: 'postgres', database: 'postgres' });
    admin.on('error', () => undefined);
    await admin.connect();
    // A standby has the primary's roles, and could not create one anyway.
    if (opts.standbyOf === undefined) await admin.query(`CREATE ROLE probe LOGIN PASSWORD '${password}'`);
  } catch (error) {
    await close();
    throw error;
  }
  const adminClient = admin;
  const postmaster = child;

  return {
    host: '127.0.0.1',
    port,
    user: 'probe',
    password,
    url(opts = {}) {
      const name = opts.user ?? 'probe';
      const secret = opts.password ?? (name === 'probe' ? password : '');
      const auth =
        secret === '' ? encodeURIComponent(name) : `${encodeURIComponent(name)}:${encodeURIComponent(secret)}`;
      return `postgres://${auth}@127.0.0.1:${String(port)}/postgres`;
    },
    async connections() {
      const result = await adminClient.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
      );
      return Number(result.rows[0]?.n);
    },
    sql: (statement) => adminClient.query(statement),
    socketDir: base,
    pause() {
      postmaster?.kill('SIGSTOP');
    },
    resume() {
      postmaster?.kill('SIGCONT');
    },
    logTail: () => log,
    close,
  };
}
