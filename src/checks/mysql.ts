import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { Connection, ConnectionOptions, RowDataPacket } from 'mysql2';
import { z } from 'zod';
import { credentialOptions, duration, hostPort, parseUrl, tlsOptions, urlPasswords, urlString } from '../config/fields.js';
import type { CheckKind, FailureReason } from '../types.js';
import { CheckFailure, errorCode } from './classify.js';

// A read-only statement: what a health check may run against a production database.
const READ_ONLY = /^\s*(select|show|do|values|describe|desc|explain|with)\b/i;
const WRITES = /\b(into\s+(outfile|dumpfile)|for\s+update|lock\s+in\s+share\s+mode)\b|;\s*\S/i;

const options = z
  .strictObject({
    url: urlString(['mysql:']),
    ...credentialOptions,
    tls: tlsOptions.optional(),
    query: z
      .string()
      .default('SELECT 1')
      .refine((sql) => READ_ONLY.test(sql) && !WRITES.test(sql), {
        message: 'must be a single read-only statement (SELECT, SHOW, DO, ...)',
      }),
    maxReplicationLag: duration().optional(),
    replicationLagFails: z.boolean().default(false),
  })
  .refine((o) => !(o.password !== undefined && o.passwordFile !== undefined), {
    message: 'set either password or passwordFile, not both',
  });
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

interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string | undefined;
}

function endpoint(o: MysqlOptions): Endpoint {
  const url = parseUrl(o.url, ['mysql:']);
  if (typeof url === 'string') throw new Error(url); // unreachable: the schema checked it
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    host,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: o.password ?? decodeURIComponent(url.password),
    database: database === '' ? undefined : database,
  };
}

function connectionOptions(o: MysqlOptions, timeoutMs: number): ConnectionOptions {
  const e = endpoint(o);
  const connection: ConnectionOptions = {
    host: e.host,
    port: e.port,
    user: e.user,
    password: e.password,
    database: e.database,
    connectTimeout: timeoutMs,
    // The check must see what a new application connection would see, not a cached one.
    enableKeepAlive: false,
  };
  if (o.tls !== undefined) {
    connection.ssl = {
      ca: o.tls.caFile !== undefined ? readFileSync(o.tls.caFile, 'utf8') : o.tls.ca,
      rejectUnauthorized: !o.tls.insecureSkipVerify,
      ...(o.tls.serverName !== undefined ? { servername: o.tls.serverName } : {}),
    };
  }
  return connection;
}

/** The connection's current socket, which mysql2 keeps untyped. */
function streamOf(connection: Connection): Duplex {
  return (connection as unknown as { stream: Duplex }).stream;
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
  componentType: 'datastore',
  options,
  target: (o) => {
    const e = endpoint(o);
    return hostPort(e.host, e.port);
  },
  // The URL's password as written too: a user's own percent-encoding may differ from ours.
  secrets: (o) => [endpoint(o).password, ...urlPasswords(o.url, ['mysql:'])],
  classify,
  create: (o, check) => async (signal) => {
    // Loaded on first use: a config without mysql checks never pays for the driver at start-up.
    const { createConnection } = await import('mysql2');
    const connection = createConnection(connectionOptions(o, check.timeoutMs));
    // Errors also reach the pending command's callback; this listener only keeps an
    // 'error' event after the run from crashing the process.
    connection.on('error', () => undefined);
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
    const aborted = new Promise<never>((_, reject) => {
      const abort = () => {
        reject(signal.reason as Error);
      };
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    });
    aborted.catch(() => undefined);
    let healthy = false;
    try {
      await Promise.race([query(o.query), aborted]);
      if (o.maxReplicationLag === undefined) {
        healthy = true;
        return undefined;
      }
      const status = replicaStatus(await Promise.race([query('SHOW SLAVE STATUS'), aborted]));
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
  },
};
