import { z } from 'zod';
import type { QueryArrayResult } from 'pg';
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

const URL_SPEC: UrlSpec = { defaultPorts: { 'postgres:': 5432, 'postgresql:': 5432 }, pathIsDatabase: true };
// A read-only statement, single: what a health check may run against a production database.
// The server enforces it too: the query runs in a READ ONLY transaction.
const READ_ONLY = /^\s*(select|show|values|with|table|explain)\b/i;
const SEVERAL = /;\s*\S/;

const options = z
  .strictObject({
    url: urlString(URL_SPEC).refine((text) => !text.includes('?'), {
      message: 'URL parameters are not supported (use the tls, password and query options)',
    }),
    ...credentialOptions,
    tls: tlsSchema.optional(),
    /** Default `SELECT 1`; left unset it cannot carry `expect` or `expectRows`. */
    query: z
      .string()
      .refine((sql) => READ_ONLY.test(sql) && !SEVERAL.test(sql), {
        message: 'must be a single read-only statement (SELECT, SHOW, VALUES, WITH, TABLE, EXPLAIN)',
      })
      .optional(),
    expect: expectationSchema.optional(),
    expectRows: rowCountSchema.optional(),
    expectWritable: z.boolean().default(false),
  })
  .refine(...onePassword)
  .superRefine(queryAnswersExpectations);
type PostgresOptions = z.infer<typeof options>;

/** What pg connects with: an empty user or password is left to pg's defaults. */
function connectionParameters(o: PostgresOptions) {
  const e = endpoint(o.url, URL_SPEC);
  const password = o.password ?? e.password;
  return {
    host: e.host,
    port: e.port,
    user: e.user === '' ? undefined : e.user,
    password: password === '' ? undefined : password,
    database: e.database,
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

// A standby (in recovery) refuses every write; default_transaction_read_only refuses them too,
// for every session that does not override it, which is what the application's sessions do.
const WRITABILITY = "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')";

function readOnlyState(row: unknown[] | undefined): string | undefined {
  if (row?.[0] === true) return 'in recovery: a standby';
  if (row?.[1] === 'on') return 'default_transaction_read_only=on';
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
      // Loaded on first use: a config without postgres checks never pays for the driver at start-up.
      const { default: pg } = await import('pg');
      const client = new pg.Client({
        ...connectionParameters(o),
        // Explicit, so that PGSSLMODE in vitals' own environment changes nothing.
        ssl: o.tls === undefined ? false : nodeTlsOptions(o.tls),
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
      const abort = abortable(signal, destroy);
      // One statement per line: a trailing `-- comment` in the query cannot swallow the COMMIT.
      const sql = [
        'BEGIN READ ONLY',
        `SET LOCAL statement_timeout = ${String(check.timeoutMs)}`,
        (o.query ?? 'SELECT 1').replace(/;\s*$/, ''),
        ...(o.expectWritable ? [WRITABILITY] : []),
        'COMMIT',
      ].join(';\n');
      let healthy = false;
      try {
        await abort.race(client.connect());
        recorder.phase('connect');
        // Arrays, so that "the first column" is the first column whatever it is named.
        const results = (await abort.race(
          client.query({ text: sql, rowMode: 'array' }),
        )) as unknown as QueryArrayResult[];
        recorder.phase('query');
        healthy = true;
        const unexpected = rowsProblem(expected, results[2]?.rows ?? []);
        if (unexpected !== undefined) throw new CheckFailure(unexpected, 'assertion');
        if (o.expectWritable) {
          const readOnly = readOnlyState(results[3]?.rows[0]);
          if (readOnly !== undefined) throw new CheckFailure(`server is read-only (${readOnly})`, 'assertion');
        }
        return undefined;
      } finally {
        // The engine aborts every finished run; that must not cut the polite goodbye short.
        abort.dispose();
        recordPeerCertificates(client.connection.stream, recorder);
        if (healthy) {
          // A polite Terminate message keeps the server log clean; the timer bounds it.
          const timer = setTimeout(destroy, check.timeoutMs);
          timer.unref();
          client.end().then(() => {
            clearTimeout(timer);
          }, destroy);
        } else {
          destroy();
        }
      }
    };
  },
};
