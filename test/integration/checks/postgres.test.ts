import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import {
  configProblems,
  expectConfigProblems,
  runCheck,
  runCheckKindContract,
  serverFixtures,
  targetOf,
} from '../../support/contract.js';
import { postgresBinaries, startPostgres, type Postgres } from '../../support/postgres.js';
import { tlsServerFixture } from '../../support/servers.js';
import { notAfterOf } from '../../support/certificates.js';
import { countBackTo, waitUntil } from '../../support/wait.js';

describe.skipIf(skipUnlessBinaries([...postgresBinaries(), 'openssl'], 'postgres check kind'))(
  'the postgres check kind against a real PostgreSQL',
  () => {
    const fx = tlsServerFixture('vitals-pg-test-', (tls) => startPostgres({ tls }));
    /**
     * No test here keeps a session open, so between checks the server has none but the admin
     * one (which `connections()` leaves out). Comparing with a count taken at a test's start was
     * wrong whenever the test before had just closed its sessions: the backends of the seven
     * parallel checks were still going when it was read, so the count later fell below it and the
     * wait never matched.
     */
    const noClientSessions = (what: string, timeoutMs: number) =>
      countBackTo(() => fx.server.connections(), 0, what, timeoutMs);

    describe('contract', () => {
      runCheckKindContract({
        ...serverFixtures(fx),
        kind: 'postgres',
        unexpectedAnswer: {
          fields: () => ({ url: fx.server.url(), query: "SELECT 'degraded'", expect: { equals: 'ok' } }),
          output: 'query returned "degraded", expected "ok"',
        },
        refused: () => ({ url: `postgres://probe@127.0.0.1:${String(fx.closed)}/postgres`, password: 'x' }),
        silent: {
          fields: () => ({ url: `postgres://probe:pw@127.0.0.1:${String(fx.silent.port)}/postgres` }),
          openSockets: () => fx.silent.openSockets(),
        },
        hung: { at: (port) => ({ url: `postgres://probe:pw@127.0.0.1:${String(port)}/postgres` }) },
      });
    });

    it('reads passwordFile, which overrides the URL password', async () => {
      const file = path.join(fx.dir, 'pw');
      writeFileSync(file, `${fx.server.password}\n`);
      const { result, config } = await runCheck('postgres', {
        url: fx.server.url({ password: 'wrong' }),
        passwordFile: file,
      });
      expect(result.status).toBe('pass');
      expect(config.secrets).toContain(fx.server.password);
    });

    it('fails with reason auth when no password is given at all', async () => {
      const { result } = await runCheck('postgres', { url: fx.server.url({ password: '' }) });
      expect(result, result.output).toMatchObject({ status: 'fail', reason: 'auth' });
    });

    it('records the peer certificate over TLS, warns within warnCertExpiry, and records it when the password is wrong', async () => {
      const notAfter = notAfterOf(fx.cert.certFile);
      const tls = { caFile: fx.cert.certFile, serverName: 'vitals.test' };
      const { result } = await runCheck('postgres', { url: fx.server.url(), tls, warnCertExpiry: '14d' });
      expect(result).toMatchObject({
        status: 'warn',
        output: 'certificate expires in 0d (CN=vitals-test)',
        certificate: { notAfter, commonName: 'vitals-test' },
      });
      const wrong = await runCheck('postgres', { url: fx.server.url({ password: 'nope' }), tls });
      expect(wrong.result).toMatchObject({ status: 'fail', reason: 'auth', certificate: { notAfter } });
      const plain = await runCheck('postgres', { url: fx.server.url(), warnCertExpiry: '14d' });
      expect(plain.result).toMatchObject({ status: 'pass', certificate: undefined });
    });

    it('speaks TLS when tls is set, verifying the certificate unless insecureSkipVerify', async () => {
      const verified = await runCheck('postgres', {
        url: fx.server.url(),
        tls: { caFile: fx.cert.certFile, serverName: 'vitals.test' },
      });
      expect(verified.result, verified.result.output).toMatchObject({ status: 'pass' });
      const unknownCa = await runCheck('postgres', { url: fx.server.url(), tls: {} });
      expect(unknownCa.result).toMatchObject({
        status: 'fail',
        reason: 'protocol',
        output: expect.stringMatching(/self.signed/i) as string,
      });
      const wrongName = await runCheck('postgres', {
        url: fx.server.url(),
        tls: { caFile: fx.cert.certFile, serverName: 'other.test' },
      });
      expect(wrongName.result).toMatchObject({ status: 'fail', reason: 'protocol' });
      expect(
        (await runCheck('postgres', { url: fx.server.url(), tls: { insecureSkipVerify: true } })).result.status,
      ).toBe('pass');
      const tlsSessions = async () => {
        const { rows } = await fx.server.sql(
          "SELECT count(*) AS n FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE ssl AND application_name = 'vitals'",
        );
        return Number((rows[0] as { n: string } | undefined)?.n);
      };
      await waitUntil(async () => (await tlsSessions()) === 0, 3000, 'every TLS session to close');
    });

    it('runs the configured query read-only: a failing query is reason error, a write is refused by the server', async () => {
      expect(
        (await runCheck('postgres', { url: fx.server.url(), query: 'SELECT count(*) FROM pg_class -- how many;' }))
          .result.status,
      ).toBe('pass');
      const missing = await runCheck('postgres', { url: fx.server.url(), query: 'SELECT * FROM no_such_table' });
      expect(missing.result).toMatchObject({
        status: 'fail',
        reason: 'error',
        output: expect.stringMatching(/no_such_table/) as string,
      });
      // A data-modifying CTE passes the static check but not the READ ONLY transaction.
      await fx.server.sql('CREATE TABLE IF NOT EXISTS t (x int); GRANT ALL ON t TO probe');
      const write = await runCheck('postgres', {
        url: fx.server.url(),
        query: 'WITH w AS (INSERT INTO t VALUES (1) RETURNING x) SELECT * FROM w',
      });
      expect(write.result).toMatchObject({
        status: 'fail',
        reason: 'error',
        output: expect.stringMatching(/read-only transaction/) as string,
      });
      expect((await fx.server.sql('SELECT count(*) AS n FROM t')).rows[0]).toEqual({ n: '0' });
    });

    it('fails with reason timeout when the query outlives the deadline, and leaves no session behind', async () => {
      await noClientSessions('the sessions of earlier tests to end', 10_000);
      const { result } = await runCheck('postgres', { url: fx.server.url(), query: 'SELECT pg_sleep(5)' }, 300);
      expect(result).toMatchObject({ status: 'fail', reason: 'timeout' });
      await noClientSessions('the sleeping session to end', 3000);
    });

    describe('expect, expectRows and expectWritable', () => {
      let standby: Postgres | undefined;
      beforeAll(async () => {
        standby = await startPostgres({ standbyOf: fx.server });
      });
      afterAll(async () => {
        await standby?.close();
      });
      const postgres = (fields: Record<string, unknown>) => runCheck('postgres', { url: fx.server.url(), ...fields });

      it('compares numeric and bigint answers as numbers, reads the first column of the first row, counts rows', async () => {
        const passes = await Promise.all([
          postgres({ query: 'SELECT 12.50::numeric AS price, 99', expect: [{ equals: 12.5 }, { lt: 13 }] }),
          postgres({ query: 'SELECT count(*) FROM generate_series(1, 2000)', expect: { equals: 2000 } }),
          postgres({ query: "SELECT 'primary', 'other'", expect: { oneOf: ['primary', 'main'] } }),
          postgres({ query: 'SELECT version()', expect: { matches: '^PostgreSQL ' } }),
          postgres({
            query: 'SELECT g FROM generate_series(1, 2000) g',
            expectRows: { equals: 2000 },
            expect: { equals: 1 },
          }),
          postgres({ query: 'SELECT NULL', expect: { exists: false } }),
          postgres({ query: 'SELECT true', expect: { equals: true } }),
        ]);
        for (const { result } of passes) expect(result, result.output).toMatchObject({ status: 'pass' });
      });

      it.each([
        [
          { query: 'SELECT count(*) FROM generate_series(1, 2000)', expect: { lt: 100 } },
          'query returned 2000, expected < 100',
        ],
        [
          { query: 'SELECT g FROM generate_series(1, 2000) g', expectRows: { lt: 100 } },
          'query returned 2000 rows, expected < 100',
        ],
        [{ query: 'SELECT 1 WHERE false', expect: { equals: 1 } }, 'query returned no rows, expected 1'],
        [{ query: "SELECT 'replica'", expect: { equals: 'primary' } }, 'query returned "replica", expected "primary"'],
      ])('fails with reason assertion on %j: %s', async (fields, output) => {
        await noClientSessions('the sessions of earlier tests to end', 10_000);
        const { result } = await postgres(fields);
        expect(result).toMatchObject({ status: 'fail', reason: 'assertion', output });
        await noClientSessions("the check's session to end", 3000);
      });

      it('expectWritable passes on the primary and fails with reason assertion on a standby (pg_basebackup -R)', async () => {
        expect((await postgres({ expectWritable: true })).result, 'primary').toMatchObject({ status: 'pass' });
        const url = standby?.url() ?? '';
        // The standby answers reads: without expectWritable it is healthy.
        expect((await runCheck('postgres', { url })).result.status).toBe('pass');
        const { result } = await runCheck('postgres', { url, expectWritable: true });
        expect(result).toMatchObject({
          status: 'fail',
          reason: 'assertion',
          output: 'server is read-only (in recovery: a standby)',
        });
      });

      it('expectWritable fails while default_transaction_read_only is on, and passes again after', async () => {
        // ALTER SYSTEM refuses to run inside a transaction block, which a multi-statement query is.
        await fx.server.sql('ALTER SYSTEM SET default_transaction_read_only = on');
        await fx.server.sql('SELECT pg_reload_conf()');
        try {
          // The postmaster rereads the file asynchronously; new sessions see it shortly after.
          await waitUntil(
            async () => (await postgres({ expectWritable: true })).result.status === 'fail',
            3000,
            'read-only',
          );
          const { result } = await postgres({ expectWritable: true });
          expect(result).toMatchObject({
            status: 'fail',
            reason: 'assertion',
            output: 'server is read-only (default_transaction_read_only=on)',
          });
        } finally {
          await fx.server.sql('ALTER SYSTEM RESET default_transaction_read_only');
          await fx.server.sql('SELECT pg_reload_conf()');
        }
        await waitUntil(
          async () => (await postgres({ expectWritable: true })).result.status === 'pass',
          3000,
          'writable again',
        );
      });

      it('refuses at load an expectation without a query, and operands of the wrong type', () => {
        expectConfigProblems('postgres', [
          [
            { url: 'postgres://u@h/', expect: { equals: 1 } },
            ['checks[0].expect: expect needs a query (the default SELECT 1 always returns 1)'],
          ],
          [
            { url: 'postgres://u@h/', query: 'SELECT 1', expectRows: { lt: '5' } },
            ['checks[0].expectRows.lt: lt compares numbers: expected a number'],
          ],
          [
            { url: 'postgres://u@h/', query: 'SELECT 1', expect: { equals: 1, lt: 2 } },
            ['checks[0].expect: has 2 operators (equals, lt); write one entry per operator'],
          ],
        ]);
      });
    });

    it('validates its options at config time', () => {
      expect(configProblems('postgres', { url: 'mysql://x/' })).toEqual([
        'checks[0].url: expected a URL starting with postgres:// or postgresql://',
      ]);
      expect(configProblems('postgres', { url: 'postgres://x/db?sslmode=require' })).toEqual([
        'checks[0].url: URL parameters are not supported (use the tls, password and query options)',
      ]);
      expect(configProblems('postgres', { url: 'postgres://x/', query: 'DELETE FROM t' })[0]).toMatch(
        /^checks\[0\]\.query: must be a single read-only statement/,
      );
      expect(configProblems('postgres', { url: 'postgres://x/', query: 'SELECT 1; DROP TABLE t' })[0]).toMatch(
        /^checks\[0\]\.query: /,
      );
      expect(configProblems('postgres', { url: 'postgres://x/', password: 'a', passwordFile: '/p' })).toEqual([
        'checks[0]: set either password or passwordFile, not both',
      ]);
    });

    it('fills in the default port 5432 and writes IPv6 in brackets', () => {
      expect(targetOf('postgres', { url: 'postgresql://u:secret@db.internal/app' })).toBe('db.internal:5432');
      expect(targetOf('postgres', { url: 'postgres://u@[::1]:6543/app' })).toBe('[::1]:6543');
    });
  },
);
