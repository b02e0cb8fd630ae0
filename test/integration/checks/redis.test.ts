import net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { configProblems, runCheck, runCheckKindContract, serverFixtures, targetOf } from '../../support/contract.js';
import { startRedis } from '../../support/redis.js';
import { tlsServerFixture } from '../../support/servers.js';
import { notAfterOf } from '../../support/certificates.js';
import { countBackTo, steadyCount } from '../../support/wait.js';

describe.skipIf(skipUnlessBinaries(['redis-server', 'openssl'], 'redis check kind'))(
  'the redis check kind against a real Redis',
  () => {
    const fx = tlsServerFixture('vitals-redis-test-', (tls) => startRedis({ tls }));

    describe('contract', () => {
      runCheckKindContract({
        ...serverFixtures(fx),
        kind: 'redis',
        refused: () => ({ url: `redis://127.0.0.1:${String(fx.closed)}`, password: 'x' }),
        silent: {
          fields: () => ({ url: `redis://:pw@127.0.0.1:${String(fx.silent.port)}/0` }),
          openSockets: () => fx.silent.openSockets(),
        },
        hung: { at: (port) => ({ url: `redis://:pw@127.0.0.1:${String(port)}` }) },
      });
    });

    it('fails with reason auth when no password is given (NOAUTH), and leaves no connection open', async () => {
      const before = await steadyCount(() => fx.server.connections());
      const { result } = await runCheck('redis', { url: fx.server.url({ password: '' }) });
      expect(result).toMatchObject({
        status: 'fail',
        reason: 'auth',
        output: expect.stringMatching(/^NOAUTH/) as string,
      });
      await countBackTo(() => fx.server.connections(), before, 'connections');
    });

    it('records the peer certificate over TLS and warns within warnCertExpiry', async () => {
      const url = `rediss://127.0.0.1:${String(fx.server.tlsPort)}`;
      const { result } = await runCheck('redis', {
        url,
        password: fx.server.password,
        tls: { caFile: fx.cert.certFile, serverName: 'vitals.test' },
        warnCertExpiry: '14d',
      });
      expect(result).toMatchObject({
        status: 'warn',
        output: 'certificate expires in 0d (CN=vitals-test)',
        certificate: { notAfter: notAfterOf(fx.cert.certFile), commonName: 'vitals-test' },
      });
      const plain = await runCheck('redis', { url: fx.server.url(), warnCertExpiry: '14d' });
      expect(plain.result).toMatchObject({ status: 'pass', certificate: undefined });
    });

    it('speaks TLS with a rediss:// URL, verifying the certificate unless insecureSkipVerify', async () => {
      const url = `rediss://127.0.0.1:${String(fx.server.tlsPort)}`;
      const verified = await runCheck('redis', {
        url,
        password: fx.server.password,
        tls: { caFile: fx.cert.certFile },
      });
      expect(verified.result, verified.result.output).toMatchObject({ status: 'pass' });
      expect(verified.target).toBe(`127.0.0.1:${String(fx.server.tlsPort)}`);
      const unknownCa = await runCheck('redis', { url, password: fx.server.password });
      expect(unknownCa.result).toMatchObject({
        status: 'fail',
        reason: 'protocol',
        output: expect.stringMatching(/self.signed/i) as string,
      });
      const wrongName = await runCheck('redis', {
        url,
        password: fx.server.password,
        tls: { caFile: fx.cert.certFile, serverName: 'other.test' },
      });
      expect(wrongName.result).toMatchObject({ status: 'fail', reason: 'protocol' });
      const skip = await runCheck('redis', { url, password: fx.server.password, tls: { insecureSkipVerify: true } });
      expect(skip.result.status).toBe('pass');
    });

    it('reads passwordFile, which overrides the URL password, and selects the URL database', async () => {
      const file = path.join(fx.dir, 'pw');
      writeFileSync(file, `${fx.server.password}\n`);
      const { result } = await runCheck('redis', {
        url: `redis://:wrong@127.0.0.1:${String(fx.server.port)}/3`,
        passwordFile: file,
      });
      expect(result.status).toBe('pass');
      const noSuchDb = await runCheck('redis', {
        url: `redis://127.0.0.1:${String(fx.server.port)}/99`,
        passwordFile: file,
      });
      expect(noSuchDb.result).toMatchObject({ status: 'fail', reason: 'error' });
    });

    it('never reconnects in the background: a server that drops the connection mid-run sees one connect', async () => {
      let accepted = 0;
      // Says OK to AUTH, then hangs up on PING: node-redis's default strategy would reconnect.
      const dropper = net.createServer((socket) => {
        accepted += 1;
        socket.on('error', () => undefined);
        socket.on('data', (data) => {
          if (data.toString().includes('PING')) socket.destroy();
          else socket.write('+OK\r\n');
        });
      });
      await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
      try {
        const port = (dropper.address() as net.AddressInfo).port;
        const { result } = await runCheck('redis', { url: `redis://:pw@127.0.0.1:${String(port)}` });
        expect(result, result.output).toMatchObject({ status: 'fail', reason: 'protocol' });
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(accepted).toBe(1);
      } finally {
        await new Promise((resolve) => dropper.close(resolve));
      }
    });

    it('validates its options at config time', () => {
      expect(configProblems('redis', { url: 'http://x/' })).toEqual([
        'checks[0].url: expected a URL starting with redis:// or rediss://',
      ]);
      expect(configProblems('redis', { url: 'redis://x/db' })).toEqual([
        'checks[0].url: the URL path must be a database number (redis://host:6379/0)',
      ]);
      expect(configProblems('redis', { url: 'redis://x/', tls: { insecureSkipVerify: true } })).toEqual([
        'checks[0].tls: tls options need a rediss:// URL',
      ]);
      expect(configProblems('redis', { url: 'rediss://x/', tls: { insecureSkipVerify: true } })).toEqual([]);
    });

    it('fills in the default port 6379 and drops credentials from the target', () => {
      expect(targetOf('redis', { url: 'redis://user:secret@cache.internal' })).toBe('cache.internal:6379');
      expect(targetOf('redis', { url: 'rediss://[::1]:6380/2' })).toBe('[::1]:6380');
    });
  },
);
