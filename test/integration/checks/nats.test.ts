import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { notAfterOf } from '../../support/certificates.js';
import {
  checkConfig,
  configProblems,
  runCheck,
  runCheckKindContract,
  serverFixtures,
  targetOf,
} from '../../support/contract.js';
import { newCreds, startNats, type NatsServer } from '../../support/nats.js';
import { tlsServerFixture } from '../../support/servers.js';

/** A TCP server that greets every connection with `greeting` (or nothing) and hangs up. */
async function withPeer<T>(greeting: string, body: (port: number) => Promise<T>): Promise<T> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(greeting);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await body((server.address() as net.AddressInfo).port);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const CREDS = `-----BEGIN NATS USER JWT-----
eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2lnbmF0dXJl
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.

-----BEGIN USER NKEY SEED-----
SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU
------END USER NKEY SEED------
`;

describe.skipIf(skipUnlessBinaries(['nats-server', 'openssl'], 'nats check kind'))(
  'the nats check kind against a real nats-server',
  () => {
    // Users with passwords, and JetStream; a second server takes a token and requires TLS.
    const fx = tlsServerFixture('vitals-nats-test-', () => startNats({ auth: 'user', jetstream: true }));
    let tokenServer: NatsServer;
    beforeAll(async () => {
      tokenServer = await startNats({ auth: 'token', tls: fx.cert });
    });
    afterAll(async () => {
      await tokenServer.close();
    });
    const tlsUrl = () => `tls://127.0.0.1:${String(tokenServer.port)}`;
    const trusted = () => ({ caFile: fx.cert.certFile });

    describe('contract', () => {
      runCheckKindContract({
        ...serverFixtures(fx),
        kind: 'nats',
        refused: () => ({ url: `nats://u@127.0.0.1:${String(fx.closed)}`, password: 'x' }),
        silent: {
          fields: () => ({ url: `nats://u:pw@127.0.0.1:${String(fx.silent.port)}` }),
          openSockets: () => fx.silent.openSockets(),
        },
        hung: { at: (port) => ({ url: `nats://u:pw@127.0.0.1:${String(port)}` }) },
      });
    });

    it('fails with reason auth when no password is given (Authorization Violation)', async () => {
      const { result } = await runCheck('nats', { url: fx.server.url({ password: '' }) });
      expect(result).toMatchObject({
        status: 'fail',
        reason: 'auth',
        output: expect.stringMatching(/authorization violation/i) as string,
      });
    });

    it('reads passwordFile, which overrides the URL password', async () => {
      const file = path.join(fx.dir, 'nats-password');
      writeFileSync(file, `${fx.server.password}\n`);
      const { result } = await runCheck('nats', { url: fx.server.url({ password: 'wrong' }), passwordFile: file });
      expect(result, result.output).toMatchObject({ status: 'pass' });
    });

    it('with jetstream, passes where JetStream is on and fails with reason assertion where it is off', async () => {
      const on = await runCheck('nats', { url: fx.server.url(), jetstream: true });
      expect(on.result, on.result.output).toMatchObject({ status: 'pass' });
      const off = await runCheck('nats', {
        url: tlsUrl(),
        token: tokenServer.token,
        tls: trusted(),
        jetstream: true,
      });
      expect(off.result).toMatchObject({ status: 'fail', reason: 'assertion', output: 'JetStream is not enabled' });
    });

    it('authenticates with token or tokenFile over TLS; a wrong or missing token is auth', async () => {
      const ok = await runCheck('nats', { url: tlsUrl(), token: tokenServer.token, tls: trusted() });
      expect(ok.result, ok.result.output).toMatchObject({ status: 'pass' });
      const file = path.join(fx.dir, 'nats-token');
      writeFileSync(file, `${tokenServer.token}\n`);
      const fromFile = await runCheck('nats', { url: tlsUrl(), tokenFile: file, tls: trusted() });
      expect(fromFile.result, fromFile.result.output).toMatchObject({ status: 'pass' });
      const wrong = await runCheck('nats', { url: tlsUrl(), token: 'not-the-token', tls: trusted() });
      expect(wrong.result).toMatchObject({ status: 'fail', reason: 'auth' });
      expect(wrong.result.output).not.toContain('not-the-token');
      const none = await runCheck('nats', { url: tlsUrl(), tls: trusted() });
      expect(none.result).toMatchObject({ status: 'fail', reason: 'auth' });
    });

    it('verifies the certificate over TLS unless insecureSkipVerify, and records it', async () => {
      const token = tokenServer.token;
      const verified = await runCheck('nats', {
        url: tlsUrl(),
        token,
        tls: { ...trusted(), serverName: 'vitals.test' },
        warnCertExpiry: '14d',
      });
      expect(verified.result, verified.result.output).toMatchObject({
        status: 'warn',
        output: 'certificate expires in 0d (CN=vitals-test)',
        certificate: { notAfter: notAfterOf(fx.cert.certFile), commonName: 'vitals-test' },
      });
      expect(verified.target).toBe(`127.0.0.1:${String(tokenServer.port)}`);
      const wrongName = await runCheck('nats', {
        url: tlsUrl(),
        token,
        tls: { ...trusted(), serverName: 'other.test' },
      });
      expect(wrongName.result).toMatchObject({ status: 'fail', reason: 'protocol' });
      const unknownCa = await runCheck('nats', { url: tlsUrl(), token });
      expect(unknownCa.result).toMatchObject({
        status: 'fail',
        reason: 'protocol',
        output: expect.stringMatching(/self.signed/i) as string,
      });
      // A server that requires TLS gets it over nats:// too, verified against the system's CAs.
      const upgraded = await runCheck('nats', { url: `nats://127.0.0.1:${String(tokenServer.port)}`, token });
      expect(upgraded.result).toMatchObject({ status: 'fail', reason: 'protocol' });
      const skip = await runCheck('nats', { url: tlsUrl(), token, tls: { insecureSkipVerify: true } });
      expect(skip.result, skip.result.output).toMatchObject({ status: 'pass' });
    });

    it('authenticates with credsFile (a user nkey), and fails with reason auth for an unknown one', async () => {
      const file = path.join(fx.dir, 'known.creds');
      writeFileSync(file, fx.server.creds);
      const url = `nats://127.0.0.1:${String(fx.server.port)}`;
      const known = await runCheck('nats', { url, credsFile: file });
      expect(known.result, known.result.output).toMatchObject({ status: 'pass' });
      const stranger = newCreds().creds;
      const unknown = await runCheck('nats', { url, creds: stranger });
      expect(unknown.result).toMatchObject({ status: 'fail', reason: 'auth' });
      for (const secret of checkConfig('nats', { url, creds: stranger }).secrets)
        expect(`${unknown.target} ${unknown.result.output ?? ''}`).not.toContain(secret);
    });

    it('fails with reason protocol against a peer that is not a NATS server, or hangs up before INFO', async () => {
      await withPeer('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n', async (port) => {
        const { result } = await runCheck('nats', { url: `nats://u:pw@127.0.0.1:${String(port)}` });
        expect(result).toMatchObject({
          status: 'fail',
          reason: 'protocol',
          output: 'not a NATS server: its first line is not INFO',
        });
      });
      await withPeer('', async (port) => {
        const { result } = await runCheck('nats', { url: `nats://u:pw@127.0.0.1:${String(port)}` });
        expect(result).toMatchObject({ status: 'fail', reason: 'protocol', output: 'connection closed before INFO' });
      });
    });

    it('declares the token and the JWT and seed of creds as secrets, and reads credsFile', () => {
      expect(checkConfig('nats', { url: 'nats://n', token: 'tok-secret' }).secrets).toEqual(['tok-secret']);
      const file = path.join(fx.dir, 'user.creds');
      writeFileSync(file, CREDS);
      const config = checkConfig('nats', { url: 'nats://n', credsFile: file });
      expect(config.secrets).toEqual([
        'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2lnbmF0dXJl',
        'SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU',
      ]);
      expect(configProblems('nats', { url: 'nats://n', credsFile: path.join(fx.dir, 'missing.creds') })).toEqual([
        expect.stringMatching(/^checks\[0\]\.credsFile: /) as string,
      ]);
    });

    it('validates its options at config time', () => {
      expect(configProblems('nats', { url: 'http://x/' })).toEqual([
        'checks[0].url: expected a URL starting with nats:// or tls://',
      ]);
      expect(configProblems('nats', { url: 'nats://x/subject' })).toEqual([
        'checks[0].url: a NATS URL has no path or parameters (nats://host:4222)',
      ]);
      expect(configProblems('nats', { url: 'nats://x', tls: { insecureSkipVerify: true } })).toEqual([
        'checks[0].tls: tls options need a tls:// URL',
      ]);
      expect(configProblems('nats', { url: 'nats://x', token: 'a', tokenFile: '/t' })).toEqual([
        'checks[0]: set either token or tokenFile, not both',
      ]);
      expect(configProblems('nats', { url: 'nats://u:p@x', token: 'a' })).toEqual([
        'checks[0]: use one way to authenticate: a user and password, a token or a creds file',
      ]);
      expect(configProblems('nats', { url: 'nats://x', password: 'p' })).toEqual([
        'checks[0]: a password needs a user in the URL (nats://user@host)',
      ]);
      expect(configProblems('nats', { url: 'nats://x', jetstream: 'yes' })).toEqual([
        'checks[0].jetstream: Invalid input: expected boolean, received string',
      ]);
      expect(configProblems('nats', { url: 'tls://x/', tls: { insecureSkipVerify: true }, jetstream: true })).toEqual(
        [],
      );
    });

    it('fills in the default port 4222 and drops credentials from the target', () => {
      expect(targetOf('nats', { url: 'nats://user:secret@bus.internal' })).toBe('bus.internal:4222');
      expect(targetOf('nats', { url: 'tls://[::1]' })).toBe('[::1]:4222');
    });
  },
);
