import type { Duplex } from 'node:stream';
import type { Connection, ConnectionOptions, RowDataPacket } from 'mysql2';
import { z } from 'zod';
import { duration } from '../config/fields.js';
import type { CheckKind, FailureReason, UrlSpec } from '../types.js';
import { CheckFailure, errorCode } from './classify.js';
import { abortable } from './support/abort.js';
import { credentialOptions, onePassword, urlDatastoreKind } from './support/credentials.js';
import {
  compileMatches,
  expectationSchema,
  queryAnswersExpectations,
  rowCountSchema,
  rowsProblem,
} from './support/expectations.js';
import { nodeTlsOptions, recordPeerCertificates, tlsSchema } from './support/tls.js';
import { endpoint, urlString } from './support/url.js';

const URL_SPEC: UrlSpec = { defaultPorts: { 'mysql:': 3306 }, pathIsDatabase: true };

// A read-only statement: what a health check may run against a production database.
const READ_ONLY = /^\s*(select|show|do|values|describe|desc|explain|with)\b/i;
const WRITES = /\b(into\s+(outfile|dumpfile)|for\s+update|lock\s+in\s+share\s+mode)\b|;\s*\S/i;

const options = z
  .strictObject({
    url: urlString(URL_SPEC),
    ...credentialOptions,
    tls: tlsSchema.optional(),
    /** Default `SELECT 1`; left unset it cannot carry `expect` or `expectRows`. */
    query: z
      .string()
      .refine((sql) => READ_ONLY.test(sql) && !WRITES.test(sql), {
        message: 'must be a single read-only statement (SELECT, SHOW, DO, ...)',
      })
      .optional(),
    expect: expectationSchema.optional(),
    expectRows: rowCountSchema.optional(),
    expectWritable: z.boolean().default(false),
    maxReplicationLag: duration().optional(),
    replicationLagFails: z.boolean().default(false),
  })
  .refine(...onePassword)
  .superRefine(queryAnswersExpectations);
type MysqlOptions = z.infer<typeof options>;

const AUTH_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_NOT_SUPPORTED_AUTH_MODE',
  'ER_PASSWORD_NO_MATCH',
  'ER_MUST_CHANGE_PASSWORD_LOGIN',
  'ER_ACCOUNT_HAS_BEEN_LOCKED',
  'AUTH_SWITCH_PLUGIN_ERROR',
]);

function classify(error: unknown): FailureReason | undefined {
  const code = errorCode(error);
  if (code === undefined) return undefined;
  if (AUTH_CODES.has(code)) return 'auth';
  if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') return 'timeout';
  if (code.startsWith('PROTOCOL_') || code.startsWith('HANDSHAKE_') || code === 'ER_CON_COUNT_ERROR') {
    return 'protocol';
  }
  if (code.startsWith('ER_')) return 'error';
  return undefined;
}

function connectionOptions(o: MysqlOptions, timeoutMs: number): ConnectionOptions {
  const e = endpoint(o.url, URL_SPEC);
  const connection: ConnectionOptions = {
    host: e.host,
    port: e.port,
    user: e.user,
    password: o.password ?? e.password,
    database: e.database,
    connectTimeout: timeoutMs,
    // The check must see what a new application connection would see, not a cached one.
    enableKeepAlive: false,
  };
  if (o.tls !== undefined) connection.ssl = nodeTlsOptions(o.tls);
  return connection;
}

/** The connection's current socket, which mysql2 keeps untyped. */
function streamOf(connection: Connection): Duplex {
  return (connection as unknown as { stream: Duplex }).stream;
}

// MySQL has super_read_only as well; MariaDB does not, and its read_only may also read NO_LOCK...
const READ_ONLY_VARIABLES = "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only')";

/** "read_only=ON" when the server refuses writes, else undefined. */
function readOnlyVariable(rows: RowDataPacket[]): string | undefined {
  for (const row of rows as { Variable_name?: unknown; Value?: unknown }[]) {
    const value = typeof row.Value === 'string' || Buffer.isBuffer(row.Value) ? row.Value.toString() : '';
    if (value !== '' && value.toUpperCase() !== 'OFF') return `${String(row.Variable_name)}=${value}`;
  }
  return undefined;
}

interface ReplicaStatus {
  lagSeconds: number | null;
  running: boolean;
}

function replicaStatus(rows: RowDataPacket[]): ReplicaStatus | undefined {
  const row = rows[0] as Record<string, unknown> | undefined;
  if (row === undefined) return undefined;
  const io = row.Slave_IO_Running ?? row.Replica_IO_Running;
  const sql = row.Slave_SQL_Running ?? row.Replica_SQL_Running;
  const lag = row.Seconds_Behind_Master ?? row.Seconds_Behind_Source;
  return { running: io === 'Yes' && sql === 'Yes', lagSeconds: typeof lag === 'number' ? lag : null };
}

/**
 * Opens a fresh connection for every run (so a changed password or a full connection table
 * shows), runs the query with mysql2's own timeout (without one a paused server hangs it
 * forever), and closes the connection whatever happens: one connection per check at most.
 */
export const mysqlCheck: CheckKind<MysqlOptions> = {
  kind: 'mysql',
  ...urlDatastoreKind(URL_SPEC),
  speaksTls: true,
  phases: ['connect', 'query'],
  options,
  classify,
  create: (o, check) => {
    const expected = {
      value: o.expect === undefined ? undefined : compileMatches(o.expect),
      rows: o.expectRows,
    };
    return async (signal, recorder) => {
      // Loaded on first use: a config without mysql checks never pays for the driver at start-up.
      const { createConnection } = await import('mysql2');
      const connection = createConnection(connectionOptions(o, check.timeoutMs));
      // Errors also reach the pending command's callback; this listener only keeps an
      // 'error' event after the run from crashing the process.
      connection.on('error', () => undefined);
      // After the handshake, TLS and authentication: the query waits in mysql2's queue till then.
      connection.once('connect', () => {
        recorder.phase('connect');
      });
      // mysql2's destroy() is its close(): it only half-closes the socket (end()). A stopped server
      // never answers that FIN, so the socket stays in FIN-WAIT-2, an fd of ours, for as long as the
      // server stays stopped; a connect still pending stays SYN-SENT. The socket itself must go. TLS
      // later wraps this socket in another, so the current stream and this one are both destroyed.
      const socket = streamOf(connection);
      const destroy = () => {
        connection.destroy();
        streamOf(connection).destroy();
        socket.destroy();
      };
      const query = (sql: string) =>
        new Promise<RowDataPacket[]>((resolve, reject) => {
          connection.query<RowDataPacket[]>({ sql, timeout: check.timeoutMs }, (error, rows) => {
            if (error) reject(error);
            else resolve(rows);
          });
        });
      // Arrays, so that "the first column" is the first column whatever it is named.
      const queryRows = (sql: string) =>
        new Promise<unknown[][]>((resolve, reject) => {
          connection.query<RowDataPacket[][]>({ sql, timeout: check.timeoutMs, rowsAsArray: true }, (error, rows) => {
            if (error) reject(error);
            // A statement without a result set (DO) answers an OkPacket, not rows.
            else resolve(Array.isArray(rows) ? rows : []);
          });
        });
      const abort = abortable(signal, destroy);
      let healthy = false;
      try {
        const rows = await abort.race(queryRows(o.query ?? 'SELECT 1'));
        recorder.phase('query');
        const unexpected = rowsProblem(expected, rows);
        if (unexpected !== undefined) {
          healthy = true;
          throw new CheckFailure(unexpected, 'assertion');
        }
        if (o.expectWritable) {
          const readOnly = readOnlyVariable(await abort.race(query(READ_ONLY_VARIABLES)));
          if (readOnly !== undefined) {
            healthy = true;
            throw new CheckFailure(`server is read-only (${readOnly})`, 'assertion');
          }
        }
        if (o.maxReplicationLag === undefined) {
          healthy = true;
          return undefined;
        }
        const status = replicaStatus(await abort.race(query('SHOW SLAVE STATUS')));
        healthy = true;
        const limitSeconds = o.maxReplicationLag / 1000;
        let problem: string | undefined;
        if (status === undefined) problem = 'not a replica (SHOW SLAVE STATUS is empty)';
        else if (!status.running || status.lagSeconds === null) problem = 'replication is stopped';
        else if (status.lagSeconds > limitSeconds) {
          problem = `replication lag ${String(status.lagSeconds)}s above ${String(limitSeconds)}s`;
        }
        if (problem === undefined) return undefined;
        if (o.replicationLagFails) throw new CheckFailure(problem, 'error');
        return { warn: problem };
      } finally {
        // The engine aborts every finished run; that must not cut the polite goodbye short.
        abort.dispose();
        // mysql2 swaps its stream for the TLS socket after the handshake's SSL request.
        recordPeerCertificates(streamOf(connection), recorder);
        if (healthy) {
          // A polite COM_QUIT keeps the server's Aborted_clients clean; the timer bounds it.
          const timer = setTimeout(destroy, check.timeoutMs);
          timer.unref();
          connection.end(() => {
            clearTimeout(timer);
          });
        } else {
          destroy();
        }
      }
    };
  },
};
