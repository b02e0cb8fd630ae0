import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { configProblems, runCheck, runCheckKindContract, serverFixtures, targetOf } from '../../support/contract.js';
import { postgresBinaries, startPostgres } from '../../support/postgres.js';
import { tlsServerFixture } from '../../support/servers.js';
import { waitUntil } from '../../support/wait.js';

describe.skipIf(skipUnlessBinaries([...postgresBinaries(), 'openssl'], 'postgres check kind'))(
  'the postgres check kind against a real PostgreSQL',
  () => {
    const fx = tlsServerFixture('vitals-pg-test-', (tls) => startPostgres({ tls }));

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
      const before = await fx.server.connections();
      const { result } = await runCheck('postgres', { url: fx.server.url(), query: 'SELECT pg_sleep(5)' }, 300);
      expect(result).toMatchObject({ status: 'fail', reason: 'timeout' });
      await waitUntil(async () => (await fx.server.connections()) === before, 3000, 'the sleeping session to end');
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
