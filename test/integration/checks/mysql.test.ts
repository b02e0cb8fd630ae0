import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { runCheck, runCheckKindContract } from '../../support/contract.js';
import { startMariaDb, type MariaDb } from '../../support/mariadb.js';
import { startSilentServer, type SilentServer } from '../../support/servers.js';
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

    beforeAll(async () => {
      const probeGrants = 'SELECT, PROCESS, REPLICATION CLIENT, SLAVE MONITOR';
      [primary, replica, silent, closed] = await Promise.all([
        startMariaDb({ extraArgs: ['--log-bin', '--server-id=1'], probeGrants }),
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
    });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */

    describe('contract', () => {
      runCheckKindContract({
        kind: 'mysql',
        healthy: () => ({ url: primary.url() }),
        target: () => `127.0.0.1:${String(primary.port)}`,
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
