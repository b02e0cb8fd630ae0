import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { credentialOptions, hostPort, parseUrl, tlsOptions, urlPasswords, urlString } from '../config/fields.js';
import type { CheckKind, FailureReason } from '../types.js';
import { errorCode } from './classify.js';

const PROTOCOLS = ['postgres:', 'postgresql:'];
const DEFAULT_PORT = 5432;
// A read-only statement, single: what a health check may run against a production database.
// The server enforces it too: the query runs in a READ ONLY transaction.
const READ_ONLY = /^\s*(select|show|values|with|table|explain)\b/i;
const SEVERAL = /;\s*\S/;

const options = z
  .strictObject({
    url: urlString(PROTOCOLS).refine((text) => !text.includes('?'), {
      message: 'URL parameters are not supported (use the tls, password and query options)',
    }),
    ...credentialOptions,
    tls: tlsOptions.optional(),
    /** Default `SELECT 1`. */
    query: z
      .string()
      .default('SELECT 1')
      .refine((sql) => READ_ONLY.test(sql) && !SEVERAL.test(sql), {
        message: 'must be a single read-only statement (SELECT, SHOW, VALUES, WITH, TABLE, EXPLAIN)',
      }),
  })
  .refine((o) => !(o.password !== undefined && o.passwordFile !== undefined), {
    message: 'set either password or passwordFile, not both',
  });
type PostgresOptions = z.infer<typeof options>;

interface Endpoint {
  host: string;
  port: number;
  user: string | undefined;
  password: string | undefined;
  database: string | undefined;
}

/** The URL's password, decoded and as written (a user's own percent-encoding may differ from ours). */
function endpoint(o: PostgresOptions): Endpoint {
  const url = parseUrl(o.url, PROTOCOLS);
  if (typeof url === 'string') throw new Error(url); // unreachable: the schema checked it
  const user = decodeURIComponent(url.username);
  const password = o.password ?? decodeURIComponent(url.password);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? DEFAULT_PORT : Number(url.port),
    user: user === '' ? undefined : user,
    password: password === '' ? undefined : password,
    database: database === '' ? undefined : database,
  };
}

// SQLSTATE classes: https://www.postgresql.org/docs/current/errcodes-appendix.html
const AUTH_STATES = new Set(['28P01', '28000']);
const PROTOCOL_STATES = new Set(['53300', '57P01', '57P02', '57P03', '08P01']);

function classify(error: unknown): FailureReason | undefined {
  const code = errorCode(error);
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    if (AUTH_STATES.has(code)) return 'auth';
    if (code === '57014') return 'timeout'; // query_canceled: our statement_timeout
    if (PROTOCOL_STATES.has(code) || code.startsWith('08')) return 'protocol';
    return 'error';
  }
  if (code !== undefined || !(error instanceof Error)) return undefined;
  // pg's own errors carry no code; their messages are stable.
  const { message } = error;
  if (/timeout|timed out/i.test(message)) return 'timeout';
  if (/password must be a string|SASL|SCRAM/i.test(message)) return 'auth';
  if (/terminated|does not support SSL|unexpected|ended/i.test(message)) return 'protocol';
  return undefined;
}

/**
 * Opens a fresh connection for every run (connect timeout = the check's timeout), runs the query
 * in a READ ONLY transaction with `statement_timeout` set (so the server gives up on it too) and
 * pg's client-side `query_timeout`, and closes the connection whatever happens.
 *
 * The timeout is set with SET LOCAL rather than as a startup parameter: PgBouncer rejects
 * unknown startup parameters, and a health check must pass through it as the application does.
 */
export const postgresCheck: CheckKind<PostgresOptions> = {
  kind: 'postgres',
  componentType: 'datastore',
  options,
  target: (o) => {
    const e = endpoint(o);
    return hostPort(e.host, e.port);
  },
  // The URL's password too, even when `password` overrides it: it is still in the config.
  secrets: (o) => [o.password ?? '', ...urlPasswords(o.url, PROTOCOLS)].filter((s) => s !== ''),
  classify,
  create: (o, check) => async (signal) => {
    const e = endpoint(o);
    // Loaded on first use: a config without postgres checks never pays for the driver at start-up.
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      host: e.host,
      port: e.port,
      user: e.user,
      password: e.password,
      database: e.database,
      // Explicit, so that PGSSLMODE in vitals' own environment changes nothing.
      ssl:
        o.tls === undefined
          ? false
          : {
              ca: o.tls.caFile !== undefined ? readFileSync(o.tls.caFile, 'utf8') : o.tls.ca,
              rejectUnauthorized: !o.tls.insecureSkipVerify,
              ...(o.tls.serverName !== undefined ? { servername: o.tls.serverName } : {}),
            },
      connectionTimeoutMillis: check.timeoutMs,
      query_timeout: check.timeoutMs,
      application_name: 'vitals',
      keepAlive: false,
    });
    // Errors also reject the pending call; this only keeps a late 'error' from crashing vitals.
    client.on('error', () => undefined);
    // The current stream: pg swaps in a TLS socket after SSLRequest.
    const destroy = () => {
      client.connection.stream.destroy();
    };
    let abort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      abort = () => {
        destroy();
        reject(signal.reason as Error);
      };
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    });
    aborted.catch(() => undefined);
    // One statement per line: a trailing `-- comment` in the query cannot swallow the COMMIT.
    const sql = [
      'BEGIN READ ONLY',
      `SET LOCAL statement_timeout = ${String(check.timeoutMs)}`,
      o.query.replace(/;\s*$/, ''),
      'COMMIT',
    ].join(';\n');
    let healthy = false;
    try {
      await Promise.race([client.connect(), aborted]);
      await Promise.race([client.query(sql), aborted]);
      healthy = true;
      return undefined;
    } finally {
      // The engine aborts every finished run; that must not cut the polite goodbye short.
      signal.removeEventListener('abort', abort);
      if (healthy) {
        // A polite Terminate message keeps the server log clean; the timer bounds it.
        const timer = setTimeout(destroy, check.timeoutMs);
        timer.unref();
        client.end().then(
          () => {
            clearTimeout(timer);
          },
          destroy,
        );
      } else {
        destroy();
      }
    }
  },
};
