import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBinary, skipUnlessBinaries } from './binaries.js';
import { startMariaDb, type MariaDb } from './mariadb.js';

const BINARIES = ['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-admin'];

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Logs in over TCP with the `mariadb` CLI (no shell) and runs `statement`. */
function tcpLogin(db: MariaDb, statement: string, user = db.user, password = db.password): Promise<CliResult> {
  const args = ['--no-defaults', '-h127.0.0.1', `-P${db.port}`, `-u${user}`, '--connect-timeout=1', '-N', '-B'];
  if (password !== '') args.push(`-p${password}`);
  args.push('-e', statement);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(resolveBinary('mariadb'), args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

describe.skipIf(skipUnlessBinaries(BINARIES, 'mariadb helper'))('mariadb test helper', () => {
  let db: MariaDb;

  beforeAll(async () => {
    db = await startMariaDb();
  }, 60_000);

  afterAll(async () => {
    // beforeAll may have failed before assigning it: its error must stay the one reported.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    await db?.close();
  }, 60_000);

  it('starts on a private port and runs SQL as root over the socket', async () => {
    expect(db.port).not.toBe(3306);
    expect(db.pid).toBeTypeOf('number');
    expect((await db.sql('SELECT 1')).trim()).toBe('1');
    expect(await db.threadsConnected()).toBeGreaterThanOrEqual(1);
  });

  it('creates a probe user whose password needs URL encoding', () => {
    expect(db.user).not.toBe('root');
    expect(db.password).toMatch(/#/);
    expect(db.password).toMatch(/@/);
    expect(db.password).toMatch(/%/);
    const url = new URL(db.url({ database: 'mysql' }));
    expect(url.protocol).toBe('mysql:');
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(db.port);
    expect(decodeURIComponent(url.username)).toBe(db.user);
    expect(decodeURIComponent(url.password)).toBe(db.password);
    expect(url.pathname).toBe('/mysql');
    expect(db.url({ user: 'root' })).toBe(`mysql://root@127.0.0.1:${db.port}`);
  });

  it('lets the probe user log in over TCP with its password', async () => {
    const ok = await tcpLogin(db, 'SELECT CURRENT_USER()');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe(`${db.user}@%`);

    const grants = await tcpLogin(db, 'SHOW GRANTS');
    // MariaDB >= 10.5 shows REPLICATION CLIENT under its new name BINLOG MONITOR.
    expect(grants.stdout).toMatch(/GRANT SELECT, PROCESS, (REPLICATION CLIENT|BINLOG MONITOR) ON \*\.\*/);

    const wrong = await tcpLogin(db, 'SELECT 1', db.user, 'wrong');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/Access denied/);
  });

  it('pause makes TCP logins time out, resume restores them', async () => {
    db.pause();
    try {
      const stalled = await tcpLogin(db, 'SELECT 1');
      expect(stalled.code).not.toBe(0);
      expect(stalled.stderr).toMatch(/Lost connection|timed out|Can't connect/i);
      expect(stalled.ms).toBeLessThan(10_000);
    } finally {
      db.resume();
    }
    const ok = await tcpLogin(db, 'SELECT 1');
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe('1');
  }, 30_000);

  it('kill then restart works on the same port and datadir', async () => {
    const port = db.port;
    const pid = db.pid;
    await db.sql(
      'CREATE DATABASE IF NOT EXISTS survives; CREATE TABLE IF NOT EXISTS survives.t (id INT); INSERT INTO survives.t VALUES (42)',
    );
    await db.kill();
    expect(db.pid).toBeUndefined();
    const down = await tcpLogin(db, 'SELECT 1');
    expect(down.code).not.toBe(0);

    await db.restart();
    expect(db.port).toBe(port);
    expect(db.pid).toBeTypeOf('number');
    expect(db.pid).not.toBe(pid);
    expect((await db.sql('SELECT id FROM survives.t')).trim()).toBe('42');
    const ok = await tcpLogin(db, 'SELECT 1');
    expect(ok.code).toBe(0);
  }, 60_000);

  it('stop then restart works too', async () => {
    await db.stop();
    expect(db.pid).toBeUndefined();
    await db.restart();
    expect((await db.sql('SELECT 1')).trim()).toBe('1');
  }, 60_000);

  it('close stops the server, removes the datadir and is idempotent', async () => {
    const pid = db.pid;
    expect(existsSync(db.datadir)).toBe(true);
    await db.close();
    expect(db.pid).toBeUndefined();
    expect(existsSync(db.datadir)).toBe(false);
    expect(pid).toBeDefined();
    expect(() => process.kill(pid ?? 0, 0)).toThrow();
    // beforeAll may have failed before assigning it: its error must stay the one reported.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    await db?.close();
  }, 60_000);
});
