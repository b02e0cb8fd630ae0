import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { makeTestPki, startCertServer, type CertServer, type TestPki } from '../../support/certificates.js';
import { configProblems, runCheck, runCheckKindContract, targetOf } from '../../support/contract.js';
import { closedPort } from '../../support/ports.js';
import { startSilentServer, type SilentServer } from '../../support/servers.js';
import { startVitals } from '../../support/vitals.js';
import { waitFor } from '../../support/wait.js';

const DAY_MS = 24 * 3600 * 1000;

describe.skipIf(skipUnlessBinaries(['openssl'], 'tls kind'))('the tls check kind', () => {
  let dir: string;
  let pki: TestPki;
  let server: CertServer;
  let silent: SilentServer;
  let closed: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vitals-tls-kind-'));
    pki = makeTestPki(dir);
    [server, silent, closed] = await Promise.all([startCertServer(pki), startSilentServer(), closedPort()]);
  });

  afterAll(async () => {
    await server.close();
    await silent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A check of the certificate the server presents for `name`, trusting the test CA. */
  const fields = (name: string, extra: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port: server.port,
    serverName: name,
    tls: { caFile: pki.ca.certFile },
    ...extra,
  });

  describe('contract', () => {
    runCheckKindContract({
      kind: 'tls',
      healthy: () => fields('later.test'),
      target: () => `127.0.0.1:${String(server.port)}`,
      refused: () => ({ host: '127.0.0.1', port: closed }),
      silent: { fields: () => ({ host: '127.0.0.1', port: silent.port }), openSockets: () => silent.openSockets() },
      hung: { at: (port) => ({ host: '127.0.0.1', port }) },
    });
  });

  it('records the earliest notAfter of the chain and passes when it is further away than warnCertExpiry', async () => {
    const { result } = await runCheck('tls', fields('later.test', { warnCertExpiry: '14d' }));
    expect(result).toMatchObject({ status: 'pass', output: undefined });
    expect(result.certificate).toEqual({ notAfter: pki.later.notAfter, commonName: 'later.test' });
  });

  it('warns when the certificate expires within warnCertExpiry, in whole days, naming its CN', async () => {
    const { result } = await runCheck('tls', fields('soon.test', { warnCertExpiry: '14d' }));
    const days = Math.floor((pki.soon.notAfter - Date.now()) / DAY_MS);
    expect(days).toBe(1);
    expect(result).toMatchObject({ status: 'warn', output: 'certificate expires in 1d (CN=soon.test)' });
    expect(result.certificate?.notAfter).toBe(pki.soon.notAfter);
  });

  it('records the certificate without warnCertExpiry, and passes', async () => {
    const { result } = await runCheck('tls', fields('soon.test'));
    expect(result).toMatchObject({ status: 'pass', certificate: { notAfter: pki.soon.notAfter } });
  });

  it('counts an intermediate that expires before the leaf', async () => {
    const { result } = await runCheck('tls', fields('chained.test', { warnCertExpiry: '14d' }));
    expect(pki.intermediate.notAfter).toBeLessThan(pki.behindIntermediate.notAfter);
    expect(result.certificate).toEqual({ notAfter: pki.intermediate.notAfter, commonName: 'intermediate.test' });
    expect(result).toMatchObject({ status: 'warn', output: 'certificate expires in 0d (CN=intermediate.test)' });
  });

  it('fails an expired certificate with reason protocol', async () => {
    const { result } = await runCheck('tls', fields('expired.test', { warnCertExpiry: '14d' }));
    expect(result).toMatchObject({ status: 'fail', reason: 'protocol' });
    expect(result.output).toMatch(/expired/);
  });

  it('fails a certificate that is not valid yet with reason protocol', async () => {
    const { result } = await runCheck('tls', fields('future.test', { warnCertExpiry: '14d' }));
    expect(result).toMatchObject({ status: 'fail', reason: 'protocol' });
    expect(result.output).toMatch(/not yet valid/);
  });

  it('fails an untrusted certificate with reason protocol, and a name it is not for', async () => {
    const untrusted = await runCheck('tls', { host: '127.0.0.1', port: server.port, serverName: 'later.test' });
    expect(untrusted.result).toMatchObject({ status: 'fail', reason: 'protocol' });
    const viaTlsOptions = await runCheck('tls', {
      host: '127.0.0.1',
      port: server.port,
      tls: { caFile: pki.ca.certFile, serverName: 'soon.test' },
    });
    expect(viaTlsOptions.result).toMatchObject({ status: 'pass', certificate: { commonName: 'soon.test' } });
    const mismatch = await runCheck('tls', fields('other.test', { tls: { caFile: pki.ca.certFile } }));
    expect(mismatch.result).toMatchObject({ status: 'fail', reason: 'protocol' });
  });

  it('with insecureSkipVerify records an expired certificate and says it has expired', async () => {
    const { result } = await runCheck(
      'tls',
      fields('expired.test', { tls: { insecureSkipVerify: true }, warnCertExpiry: '14d' }),
    );
    expect(result).toMatchObject({ status: 'warn', output: 'certificate expired 1d ago (CN=expired.test)' });
    expect(result.certificate?.notAfter).toBe(pki.expired.notAfter);
  });

  it('in /metrics: the expiry gauge appears with the first handshake, follows a changed check, and leaves with a removed one', async () => {
    const gauge = 'vitals_check_tls_cert_expiry_timestamp_seconds';
    const line = (check: string, seconds: number) =>
      `${gauge}{check="${check}",kind="tls",critical="true"} ${String(seconds)}`;
    const check = (name: string, serverName: string) => ({
      name,
      kind: 'tls',
      ...fields(serverName),
      // A TLS handshake on a loaded CI machine can take longer than 100 ms.
      interval: '500ms',
      timeout: '400ms',
    });
    const config = {
      checks: [
        check('edge', 'later.test'),
        check('mail', 'soon.test'),
        { name: 'plain', kind: 'tcp', host: '127.0.0.1', port: server.port },
      ],
    };
    const vitals = await startVitals(config);
    try {
      const scrape = async () => (await vitals.get('/metrics')).body;
      await waitFor(
        scrape,
        (body) =>
          body.includes(line('mail', pki.soon.notAfter / 1000)) &&
          body.includes(line('edge', pki.later.notAfter / 1000)),
        5000,
      );
      const before = await scrape();
      expect(before).toContain(line('edge', pki.later.notAfter / 1000));
      expect(before).not.toMatch(new RegExp(`${gauge}\\{check="plain"`));
      // edge now presents the chain with the early intermediate; mail is removed.
      config.checks = [check('edge', 'chained.test'), config.checks[2] as (typeof config.checks)[number]];
      await vitals.vitals.reload();
      const after = await waitFor(
        scrape,
        (body) => body.includes(line('edge', pki.intermediate.notAfter / 1000)),
        5000,
      );
      expect(after.value).not.toContain('check="mail"');
      expect(after.value).not.toContain(line('edge', pki.later.notAfter / 1000));
    } finally {
      await vitals.close();
    }
  });

  it('validates its fields and warnCertExpiry with their paths', () => {
    expect(configProblems('tls', { host: '127.0.0.1' })).toEqual(['checks[0].port: expected a port number (1-65535)']);
    expect(configProblems('tls', { host: '127.0.0.1', port: 443, warnCertExpiry: '366d' })).toEqual([
      'checks[0].warnCertExpiry: duration "366d" out of range (0s to 1y)',
    ]);
    expect(configProblems('tls', { host: '127.0.0.1', port: 443, warnCertExpiry: '365d' })).toEqual([]);
    expect(configProblems('tls', { host: '127.0.0.1', port: 443, warnCertExpiry: 'soon' })).toEqual([
      'checks[0].warnCertExpiry: invalid duration "soon" (use e.g. "500ms", "5s", "1m")',
    ]);
    expect(configProblems('tcp', { host: '127.0.0.1', port: 443, warnCertExpiry: '14d' })).toEqual([
      'checks[0].warnCertExpiry: kind tcp does not speak TLS',
    ]);
    expect(configProblems('tls', { host: 'x', port: 443, serverName: 'a', tls: { serverName: 'b' } })).toEqual([
      'checks[0].serverName: set serverName or tls.serverName, not both',
    ]);
    expect(targetOf('tls', { host: '::1', port: 443 })).toBe('[::1]:443');
  });
});
