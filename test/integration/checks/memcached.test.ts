import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { notAfterOf } from '../../support/certificates.js';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { expectConfigProblems, runCheck, runCheckKindContract, targetOf } from '../../support/contract.js';
import { startMemcached } from '../../support/memcached.js';
import { tlsServerFixture } from '../../support/servers.js';

/** A peer on 127.0.0.1 that answers each connection's first bytes as `answer` says. */
async function withPeer(answer: (socket: net.Socket) => void, body: (port: number) => Promise<void>): Promise<void> {
  const sockets = new Set<net.Socket>();
  const peer = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => answer(socket));
  });
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
  try {
    await body((peer.address() as net.AddressInfo).port);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => peer.close(resolve));
  }
}

/** The result of one run against a peer that answers `reply` (then closes, if `close`). */
async function againstReply(reply: string | Buffer, close = false) {
  let outcome: Awaited<ReturnType<typeof runCheck>> | undefined;
  await withPeer(
    (socket) => (close ? socket.end(reply) : socket.write(reply)),
    async (port) => {
      outcome = await runCheck('memcached', { host: '127.0.0.1', port });
    },
  );
  return (outcome as Awaited<ReturnType<typeof runCheck>>).result;
}

describe.skipIf(skipUnlessBinaries(['memcached', 'openssl'], 'memcached check kind'))(
  'the memcached check kind against a real memcached',
  () => {
    const fx = tlsServerFixture('vitals-memcached-test-', (tls) => startMemcached({ tls }));
    const local = (port: number) => ({ host: '127.0.0.1', port });

    describe('contract', () => {
      runCheckKindContract({
        kind: 'memcached',
        healthy: () => local(fx.server.port),
        target: () => `127.0.0.1:${String(fx.server.port)}`,
        refused: () => local(fx.closed),
        silent: { fields: () => local(fx.silent.port), openSockets: () => fx.silent.openSockets() },
        hung: { at: local },
        pause: {
          pause: () => {
            fx.server.pause();
          },
          resume: () => {
            fx.server.resume();
          },
          port: () => fx.server.port,
        },
        connections: () => fx.server.connections(),
      });
    });

    it('fails with reason protocol on an ERROR reply, saying what came back', async () => {
      expect(await againstReply('ERROR\r\n')).toMatchObject({
        status: 'fail',
        reason: 'protocol',
        output: 'unexpected reply to version: "ERROR"',
      });
      expect(await againstReply('SERVER_ERROR out of memory\r\n')).toMatchObject({
        reason: 'protocol',
        output: 'unexpected reply to version: "SERVER_ERROR out of memory"',
      });
    });

    it('fails with reason protocol on garbage, showing at most 64 printable characters of it', async () => {
      const garbage = Buffer.concat([
        Buffer.from('\x1b[31mHTTP/1.1 400\x00\x07'),
        Buffer.alloc(200, 'z'),
        Buffer.from('\r\n'),
      ]);
      const result = await againstReply(garbage);
      expect(result).toMatchObject({ status: 'fail', reason: 'protocol' });
      expect(result.output).toBe(`unexpected reply to version: ".[31mHTTP/1.1 400..${'z'.repeat(45)}…"`);
      expect(result.output).toMatch(/^[\x20-\x7e…]*$/);
      // Close, but no version: a word after VERSION is required.
      expect(await againstReply('VERSION\r\n')).toMatchObject({ reason: 'protocol' });
      expect(await againstReply('VERSION 1.6.18 extra\r\n')).toMatchObject({ reason: 'protocol' });
    });

    it('passes on a VERSION line ended by a bare newline as well', async () => {
      expect(await againstReply('VERSION 1.4.5\n')).toMatchObject({ status: 'pass', output: undefined });
    });

    it('fails with reason protocol when the connection closes before a full line', async () => {
      expect(await againstReply('VERSI', true)).toMatchObject({
        status: 'fail',
        reason: 'protocol',
        output: 'connection closed before a reply line: "VERSI"',
      });
      expect(await againstReply('', true)).toMatchObject({
        reason: 'protocol',
        output: 'connection closed before a reply line',
      });
    });

    it('fails with reason protocol at 1 KiB of a line that never ends, without reading on', async () => {
      let result: Awaited<ReturnType<typeof runCheck>>['result'] | undefined;
      let sent = 0;
      let sentAtEnd = 0;
      await withPeer(
        (socket) => {
          // Writes as fast as the client reads, without a newline, until the client goes.
          const chunk = Buffer.alloc(64 * 1024, 'x');
          const pump = () => {
            while (!socket.destroyed && socket.write(chunk)) sent += chunk.length;
          };
          socket.on('drain', pump);
          pump();
        },
        async (port) => {
          ({ result } = await runCheck('memcached', local(port)));
          sentAtEnd = sent;
        },
      );
      expect(result).toMatchObject({
        status: 'fail',
        reason: 'protocol',
        output: `no reply line within 1024 bytes: "${'x'.repeat(64)}…"`,
      });
      expect(result?.durationMs).toBeLessThan(1000);
      // The peer got to write a few socket buffers at most before the client let go.
      expect(sentAtEnd).toBeLessThan(64 * 1024 * 1024);
    });

    it('speaks TLS to a memcached started with -Z, verifying the certificate and recording it', async () => {
      const tlsPort = fx.server.tlsPort as number;
      const verified = await runCheck('memcached', {
        ...local(tlsPort),
        tls: { caFile: fx.cert.certFile, serverName: 'vitals.test' },
        warnCertExpiry: '14d',
      });
      expect(verified.result, verified.result.output).toMatchObject({
        status: 'warn',
        output: 'certificate expires in 0d (CN=vitals-test)',
        certificate: { notAfter: notAfterOf(fx.cert.certFile), commonName: 'vitals-test' },
      });
      const unknownCa = await runCheck('memcached', { ...local(tlsPort), tls: {} });
      expect(unknownCa.result).toMatchObject({
        status: 'fail',
        reason: 'protocol',
        output: expect.stringMatching(/self.signed/i) as string,
      });
      const wrongName = await runCheck('memcached', {
        ...local(tlsPort),
        tls: { caFile: fx.cert.certFile, serverName: 'other.test' },
      });
      expect(wrongName.result).toMatchObject({ status: 'fail', reason: 'protocol' });
      const skip = await runCheck('memcached', { ...local(tlsPort), tls: { insecureSkipVerify: true } });
      expect(skip.result).toMatchObject({ status: 'pass' });
      // Plaintext to the TLS listener: memcached drops what it cannot read as a handshake.
      const plain = await runCheck('memcached', local(tlsPort));
      expect(plain.result).toMatchObject({ status: 'fail', reason: 'protocol' });
      const plainPass = await runCheck('memcached', { ...local(fx.server.port), warnCertExpiry: '14d' });
      expect(plainPass.result).toMatchObject({ status: 'pass', certificate: undefined });
    });

    it('validates its options at config time, naming the path', () => {
      expectConfigProblems('memcached', [
        [{ host: 'cache', port: 0 }, ['checks[0].port: expected a port number (1-65535)']],
        [{ host: 'cache', port: 65_536 }, ['checks[0].port: expected a port number (1-65535)']],
        [{ host: 'cache', port: '11211' }, ['checks[0].port: expected a port number (1-65535)']],
        [{ port: 11211 }, ['checks[0].host: Invalid input: expected string, received undefined']],
        [{ host: 'cache', password: 'x' }, ['checks[0].password: unknown key']],
        [{ host: 'cache', tls: { insecure: true } }, ['checks[0].tls.insecure: unknown key']],
        [{ host: 'cache' }, []],
        [{ host: 'cache', tls: {} }, []],
      ]);
    });

    it('defaults the port to 11211 and writes IPv6 targets in brackets', () => {
      expect(targetOf('memcached', { host: 'cache.internal' })).toBe('cache.internal:11211');
      expect(targetOf('memcached', { host: '::1', port: 11212 })).toBe('[::1]:11212');
    });
  },
);
