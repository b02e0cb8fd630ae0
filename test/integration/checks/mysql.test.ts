import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { expectConfigProblems, runCheck, runCheckKindContract } from '../../support/contract.js';
import { startMariaDb, type MariaDb } from '../../support/mariadb.js';
import { makeSelfSignedCert, startSilentServer, type SelfSigned, type SilentServer } from '../../support/servers.js';
import { notAfterOf } from '../../support/certificates.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closedPort } from '../../support/ports.js';
import { waitFor, waitUntil } from '../../support/wait.js';

const WRONG_PASSWORD = 'not-the-password#1';
const REPLICATION_PASSWORD = 'repl-pw';

interface SlaveStatus {
  io: string;
  sql: string;
}

/** The replica's thread states: columns 11 and 12 of SHOW SLAVE STATUS (none on a primary). */
async function slaveStatus(db: MariaDb): Promise<SlaveStatus> {
  const columns = (await db.sql('SHOW SLAVE STATUS')).split('\t');
  return { io: columns[10] ?? 'none', sql: columns[11] ?? 'none' };
}

/**
 * Two throwaway MariaDB servers: the primary (binary log on) serves the contract, the replica
 * (GTID replication from it) the maxReplicationLag option.
 */
describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-admin'], 'mysql check kind'))(
  'the mysql check kind against a real MariaDB',
  () => {
    let primary: MariaDb;
    let replica: MariaDb;
    let silent: SilentServer;
    let closed: number;
    let certDir: string;
    let cert: SelfSigned;

    beforeAll(async () => {
      const probeGrants = 'SELECT, PROCESS, REPLICATION CLIENT, SLAVE MONITOR';
      certDir = mkdtempSync(path.join(os.tmpdir(), 'vitals-mysql-tls-'));
      cert = makeSelfSignedCert(certDir);
      [primary, replica, silent, closed] = await Promise.all([
        startMariaDb({ extraArgs: ['--log-bin', '--server-id=1'], probeGrants, tls: cert }),
        startMariaDb({ extraArgs: ['--server-id=2'], probeGrants }),
        startSilentServer(),
        closedPort(),
      ]);
      await primary.sql(
        `CREATE USER 'repl'@'%' IDENTIFIED BY '${REPLICATION_PASSWORD}'; GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'`,
      );
      // Start from the primary's current position: its setup (the probe user) already exists on
      // the replica, and replaying it would stop the SQL thread with a duplicate-user error.
      const position = (await primary.sql('SELECT @@gtid_binlog_pos')).trim();
      await replica.sql(
        `SET GLOBAL gtid_slave_pos = '${position}'; ` +
          `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${String(primary.port)}, MASTER_USER='repl', ` +
          `MASTER_PASSWORD='${REPLICATION_PASSWORD}', MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos; START SLAVE`,
      );
    });

    // beforeAll may have failed before assigning these: the error it threw must stay the one reported.
    /* eslint-disable @typescript-eslint/no-unnecessary-condition */
    afterAll(async () => {
      await silent?.close();
      await replica?.close();
      await primary?.close();
      rmSync(certDir, { recursive: true, force: true });
    });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */

    it('records the peer certificate over TLS, warns within warnCertExpiry, and records it when the password is wrong', async () => {
      const notAfter = notAfterOf(cert.certFile);
      const tls = { caFile: cert.certFile, serverName: 'vitals.test' };
      const { result } = await runCheck('mysql', { url: primary.url(), tls, warnCertExpiry: '14d' });
      expect(result).toMatchObject({
        status: 'warn',
        output: 'certificate expires in 0d (CN=vitals-test)',
        certificate: { notAfter, commonName: 'vitals-test' },
      });
      const wrong = await runCheck('mysql', { url: primary.url({ password: WRONG_PASSWORD }), tls });
      expect(wrong.result).toMatchObject({ status: 'fail', reason: 'auth', certificate: { notAfter } });
      const untrusted = await runCheck('mysql', { url: primary.url(), tls: {} });
      expect(untrusted.result).toMatchObject({ status: 'fail', reason: 'protocol', certificate: undefined });
      const plain = await runCheck('mysql', { url: primary.url(), warnCertExpiry: '14d' });
      expect(plain.result).toMatchObject({ status: 'pass', certificate: undefined });
    });

    describe('contract', () => {
      runCheckKindContract({
        kind: 'mysql',
        healthy: () => ({ url: primary.url() }),
        target: () => `127.0.0.1:${String(primary.port)}`,
        unexpectedAnswer: {
          fields: () => ({ url: primary.url(), query: "SELECT 'degraded'", expect: { equals: 'ok' } }),
          output: 'query returned "degraded", expected "ok"',
        },
        refused: () => ({ url: `mysql://probe@127.0.0.1:${String(closed)}/`, password: 'x' }),
        silent: {
          fields: () => ({ url: `mysql://probe:pw@127.0.0.1:${String(silent.port)}/` }),
          openSockets: () => silent.openSockets(),
        },
        wrongCredentials: () => ({ url: primary.url({ password: 'in-url' }), password: WRONG_PASSWORD }),
        pause: { pause: () => primary.pause(), resume: () => primary.resume(), port: () => primary.port },
        hung: { at: (port) => ({ url: `mysql://probe:pw@127.0.0.1:${String(port)}/` }) },
        connections: () => primary.threadsConnected(),
        secrets: () => [primary.password, WRONG_PASSWORD, 'in-url'],
      });
    });

    describe('expect, expectRows and expectWritable', () => {
      const THOUSANDS =
        'WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) SELECT n FROM s';
      const mysql = (fields: Record<string, unknown>) => runCheck('mysql', { url: primary.url(), ...fields });

      it('compares DECIMAL and BIGINT answers as numbers, reads the first column of the first row, counts rows', async () => {
        const passes = await Promise.all([
          mysql({ query: 'SELECT CAST(12.50 AS DECIMAL(10,2)) AS price, 99', expect: [{ equals: 12.5 }, { lt: 13 }] }),
          mysql({ query: 'SELECT CAST(9007199254740 AS UNSIGNED)', expect: { gte: 9007199254740 } }),
          mysql({ query: "SELECT 'primary', 'other'", expect: { oneOf: ['primary', 'main'] } }),
          mysql({ query: 'SELECT VERSION()', expect: { matches: 'MariaDB' } }),
          mysql({ query: THOUSANDS, expectRows: { equals: 1000 }, expect: { equals: 1 } }),
          mysql({ query: 'SELECT NULL', expect: { exists: false } }),
        ]);
        for (const { result } of passes) expect(result, result.output).toMatchObject({ status: 'pass' });
      });

      it.each([
        [
          { query: `SELECT COUNT(*) FROM (${THOUSANDS}) t`, expect: { lt: 100 } },
          'query returned 1000, expected < 100',
        ],
        [
          { query: `SELECT SUM(n) FROM (${THOUSANDS}) t`, expect: { lt: 100 } },
          'query returned 500500, expected < 100',
        ],
        [{ query: THOUSANDS, expectRows: { lt: 100 } }, 'query returned 1000 rows, expected < 100'],
        [{ query: `${THOUSANDS} LIMIT 0`, expect: { equals: 1 } }, 'query returned no rows, expected 1'],
        [{ query: 'SELECT NULL', expect: { exists: true } }, 'query returned null, expected a value'],
        [{ query: "SELECT 'replica'", expect: { equals: 'primary' } }, 'query returned "replica", expected "primary"'],
      ])('fails with reason assertion on %j: %s', async (fields, output) => {
        const before = await primary.threadsConnected();
        const { result } = await mysql(fields);
        expect(result).toMatchObject({ status: 'fail', reason: 'assertion', output });
        await waitUntil(async () => (await primary.threadsConnected()) === before, 3000, 'connections back');
      });

      it('expectWritable fails with reason assertion while the server is read-only, and passes again after', async () => {
        expect((await mysql({ expectWritable: true })).result.status).toBe('pass');
        await primary.sql('SET GLOBAL read_only = 1');
        try {
          const { result } = await mysql({ expectWritable: true });
          expect(result).toMatchObject({
            status: 'fail',
            reason: 'assertion',
            output: 'server is read-only (read_only=ON)',
          });
          // Without expectWritable a read-only server is healthy: it still answers reads.
          expect((await mysql({})).result.status).toBe('pass');
        } finally {
          await primary.sql('SET GLOBAL read_only = 0');
        }
        expect((await mysql({ expectWritable: true })).result.status).toBe('pass');
      });

      it('refuses at load an expectation without a query that returns rows, and operands of the wrong type', () => {
        expectConfigProblems('mysql', [
          [
            { url: 'mysql://u@h/', expect: { equals: 1 } },
            ['checks[0].expect: expect needs a query (the default SELECT 1 always returns 1)'],
          ],
          [
            { url: 'mysql://u@h/', query: 'DO 1', expectRows: { gt: 0 } },
            ['checks[0].expectRows: expectRows needs a query that returns rows (DO returns none)'],
          ],
          [
            { url: 'mysql://u@h/', query: 'SELECT 1', expect: { lt: 'ten' } },
            ['checks[0].expect.lt: lt compares numbers: expected a number'],
          ],
          [
            { url: 'mysql://u@h/', query: 'SELECT 1', expect: [{ gt: 0 }, { equals: 1, notEquals: 2 }] },
            ['checks[0].expect[1]: has 2 operators (equals, notEquals); write one entry per operator'],
          ],
          [
            { url: 'mysql://u@h/', query: 'SELECT 1', expectRows: { matches: '1' } },
            ['checks[0].expectRows.matches: a row count cannot be tested with matches'],
          ],
          [{ url: 'mysql://u@h/', expectWritable: 'yes' }, [expect.stringMatching(/^checks\[0\]\.expectWritable: /)]],
        ]);
      });
    });

    describe('maxReplicationLag', () => {
      it('passes on a replica in sync', async () => {
        await waitFor(
          async () => {
            const s = await slaveStatus(replica);
            return s.io === 'Yes' && s.sql === 'Yes';
          },
          (ok) => ok,
          10_000,
          { what: 'the replica to be running' },
        );
        await primary.sql('CREATE DATABASE IF NOT EXISTS app');
        await waitUntil(
          async () => (await replica.sql("SHOW DATABASES LIKE 'app'")).trim() === 'app',
          5000,
          'the replica to catch up',
        );
        const { result } = await runCheck('mysql', { url: replica.url(), maxReplicationLag: '10s' });
        expect(result, result.output).toMatchObject({ status: 'pass', output: undefined });
      });

      it('warns on a server that is not a replica', async () => {
        const { result } = await runCheck('mysql', { url: primary.url(), maxReplicationLag: '10s' });
        expect(result).toMatchObject({ status: 'warn', output: 'not a replica (SHOW SLAVE STATUS is empty)' });
      });

      it('warns when replication is stopped, and fails with reason error when replicationLagFails', async () => {
        await replica.sql('STOP SLAVE');
        try {
          const warn = await runCheck('mysql', { url: replica.url(), maxReplicationLag: '10s' });
          expect(warn.result).toMatchObject({ status: 'warn', output: 'replication is stopped' });
          const fail = await runCheck('mysql', {
            url: replica.url(),
            maxReplicationLag: '10s',
            replicationLagFails: true,
          });
          expect(fail.result).toMatchObject({ status: 'fail', reason: 'error', output: 'replication is stopped' });
        } finally {
          await replica.sql('START SLAVE');
        }
        await waitUntil(async () => (await slaveStatus(replica)).io === 'Yes', 10_000, 'the replica to run again');
        expect((await runCheck('mysql', { url: replica.url(), maxReplicationLag: '10s' })).result.status).toBe('pass');
      });
    });
  },
);
