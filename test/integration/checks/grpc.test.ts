import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { notAfterOf } from '../../support/certificates.js';
import { configProblems, runCheck, runCheckKindContract, targetOf } from '../../support/contract.js';
import { startGrpcHealthServer } from '../../support/grpc.js';
import { makeSelfSignedCert, tlsServerFixture, type SelfSigned } from '../../support/servers.js';

/** A TCP server on 127.0.0.1:0 running `onConnection` for each socket; closed by `close`. */
async function listen(onConnection: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(skipUnlessBinaries(['openssl'], 'grpc check kind'))(
  'the grpc check kind against a real grpc-js server',
  () => {
    const fx = tlsServerFixture('vitals-grpc-test-', (cert) => startGrpcHealthServer(cert));
    const at = (port: number, extra: Record<string, unknown> = {}) => ({
      target: `127.0.0.1:${String(port)}`,
      ...extra,
    });

    describe('contract', () => {
      runCheckKindContract({
        kind: 'grpc',
        healthy: () => at(fx.server.plain),
        target: () => `127.0.0.1:${String(fx.server.plain)}`,
        refused: () => at(fx.closed),
        silent: { fields: () => at(fx.silent.port), openSockets: () => fx.silent.openSockets() },
        unexpectedAnswer: {
          fields: () => at(fx.server.plain, { service: 'down' }),
          output: 'service "down" is NOT_SERVING',
        },
        pause: {
          pause: () => {
            fx.server.pause();
          },
          resume: () => {
            fx.server.resume();
          },
          port: () => fx.server.plain,
        },
        hung: { at: (port) => at(port) },
      });
    });

    it('asks about the named service: SERVING passes, one the server does not know fails with reason assertion', async () => {
      expect((await runCheck('grpc', at(fx.server.plain, { service: 'app' }))).result.status).toBe('pass');
      const { result } = await runCheck('grpc', at(fx.server.plain, { service: 'nosuch' }));
      expect(result).toMatchObject({
        status: 'fail',
        reason: 'assertion',
        output: 'service "nosuch" is unknown to the server (NOT_FOUND)',
      });
    });

    describe('over TLS', () => {
      let otherCa: SelfSigned;
      beforeAll(() => {
        const dir = path.join(fx.dir, 'other-ca');
        mkdirSync(dir);
        otherCa = makeSelfSignedCert(dir);
      });

      it('verifies the certificate, records it and warns within warnCertExpiry', async () => {
        const { result } = await runCheck(
          'grpc',
          at(fx.server.tls, { tls: { caFile: fx.cert.certFile }, warnCertExpiry: '14d' }),
        );
        expect(result, result.output).toMatchObject({
          status: 'warn',
          output: 'certificate expires in 0d (CN=vitals-test)',
          certificate: { notAfter: notAfterOf(fx.cert.certFile), commonName: 'vitals-test' },
        });
        const named = await runCheck(
          'grpc',
          at(fx.server.tls, { tls: { caFile: fx.cert.certFile, serverName: 'vitals.test' } }),
        );
        expect(named.result, named.result.output).toMatchObject({ status: 'pass' });
      });

      it('fails with reason protocol on an unknown CA, a wrong name, or TLS against a plaintext port (and back)', async () => {
        const unknownCa = await runCheck('grpc', at(fx.server.tls, { tls: {} }));
        expect(unknownCa.result).toMatchObject({
          status: 'fail',
          reason: 'protocol',
          output: expect.stringMatching(/self.signed/i) as string,
        });
        const wrongCa = await runCheck('grpc', at(fx.server.tls, { tls: { caFile: otherCa.certFile } }));
        expect(wrongCa.result).toMatchObject({ status: 'fail', reason: 'protocol' });
        const wrongName = await runCheck(
          'grpc',
          at(fx.server.tls, { tls: { caFile: fx.cert.certFile, serverName: 'other.test' } }),
        );
        expect(wrongName.result).toMatchObject({ status: 'fail', reason: 'protocol' });
        const tlsToPlain = await runCheck('grpc', at(fx.server.plain, { tls: { insecureSkipVerify: true } }));
        expect(tlsToPlain.result).toMatchObject({ status: 'fail', reason: 'protocol' });
        const plainToTls = await runCheck('grpc', at(fx.server.tls));
        expect(plainToTls.result).toMatchObject({ status: 'fail', reason: 'protocol' });
        const skip = await runCheck('grpc', at(fx.server.tls, { tls: { insecureSkipVerify: true } }));
        expect(skip.result.status).toBe('pass');
      });

      it('sends a client certificate for mTLS; without one the server refuses the handshake', async () => {
        const { certFile, keyFile } = fx.server.client;
        const mtls = await runCheck(
          'grpc',
          at(fx.server.mtls, { tls: { caFile: fx.cert.certFile, certFile, keyFile } }),
        );
        expect(mtls.result, mtls.result.output).toMatchObject({ status: 'pass' });
        const without = await runCheck('grpc', at(fx.server.mtls, { tls: { caFile: fx.cert.certFile } }));
        expect(without.result).toMatchObject({ status: 'fail', reason: 'protocol' });
        const untrusted = await runCheck(
          'grpc',
          at(fx.server.mtls, {
            tls: { caFile: fx.cert.certFile, certFile: otherCa.certFile, keyFile: otherCa.keyFile },
          }),
        );
        expect(untrusted.result).toMatchObject({ status: 'fail', reason: 'protocol' });
      });
    });

    it('fails with reason auth on UNAUTHENTICATED and PERMISSION_DENIED, with the server message', async () => {
      const locked = await runCheck('grpc', at(fx.server.odd, { service: 'locked' }));
      expect(locked.result).toMatchObject({
        status: 'fail',
        reason: 'auth',
        output: 'UNAUTHENTICATED: no credentials',
      });
      const forbidden = await runCheck('grpc', at(fx.server.odd, { service: 'forbidden' }));
      expect(forbidden.result).toMatchObject({
        status: 'fail',
        reason: 'auth',
        output: 'PERMISSION_DENIED: not for you',
      });
    });

    it('sends the target as :authority, or the authority option', async () => {
      const plain = await runCheck('grpc', at(fx.server.odd, { service: 'echo' }));
      expect(plain.result).toMatchObject({
        status: 'fail',
        reason: 'error',
        output: `FAILED_PRECONDITION: authority 127.0.0.1:${String(fx.server.odd)}`,
      });
      const routed = await runCheck('grpc', at(fx.server.odd, { service: 'echo', authority: 'health.example:443' }));
      expect(routed.result.output).toBe('FAILED_PRECONDITION: authority health.example:443');
    });

    describe('against peers that are not gRPC', () => {
      let http1: http.Server;
      let h2: http2.Http2Server;
      let garbage: Awaited<ReturnType<typeof listen>>;
      beforeAll(async () => {
        http1 = http.createServer((_, res) => res.end('ok'));
        h2 = http2.createServer((_, res) => {
          res.writeHead(404, { 'content-type': 'text/html' });
          res.end('<h1>no</h1>');
        });
        await Promise.all([
          new Promise<void>((resolve) => http1.listen(0, '127.0.0.1', resolve)),
          new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve)),
        ]);
        garbage = await listen((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n'));
      });
      afterAll(async () => {
        http1.closeAllConnections();
        await new Promise((resolve) => http1.close(resolve));
        await new Promise((resolve) => h2.close(resolve));
        await garbage.close();
      });

      it('fails with reason protocol against an HTTP/1 server, an HTTP/2 server that is not gRPC, and a TCP server sending garbage', async () => {
        const notHttp2 = 'not a gRPC server: it does not speak HTTP/2 (Protocol error)';
        const one = await runCheck('grpc', at((http1.address() as net.AddressInfo).port));
        expect(one.result).toMatchObject({ status: 'fail', reason: 'protocol', output: notHttp2 });
        const two = await runCheck('grpc', at((h2.address() as net.AddressInfo).port));
        expect(two.result).toMatchObject({
          status: 'fail',
          reason: 'protocol',
          output: 'not a gRPC server (HTTP 404, content-type text/html)',
        });
        const junk = await runCheck('grpc', at(garbage.port));
        expect(junk.result).toMatchObject({ status: 'fail', reason: 'protocol', output: notHttp2 });
        expect(one.result.durationMs + two.result.durationMs + junk.result.durationMs).toBeLessThan(2500);
      });
    });

    it('closes its connection after every run and never reconnects: a counting proxy sees one connect, none in the next second', async () => {
      let accepted = 0;
      const proxy = await listen((socket) => {
        accepted += 1;
        const upstream = net.connect(fx.server.plain, '127.0.0.1');
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
        upstream.on('close', () => socket.destroy());
        socket.pipe(upstream).pipe(socket);
      });
      try {
        const { result } = await runCheck('grpc', at(proxy.port));
        expect(result, result.output).toMatchObject({ status: 'pass' });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        expect(accepted).toBe(1);
        expect(proxy.open()).toBe(0);
      } finally {
        await proxy.close();
      }
    });

    it('validates its options at config time, with their path', () => {
      const hostPort =
        'checks[0].target: expected host:port without a scheme (health.internal:50051; IPv6 as [::1]:50051)';
      expect(configProblems('grpc', { target: 'http://x:50051' })).toEqual([hostPort]);
      expect(configProblems('grpc', { target: 'health.internal' })).toEqual([hostPort]);
      expect(configProblems('grpc', { target: 'x:0' })).toEqual([hostPort]);
      expect(configProblems('grpc', { target: '::1:50051' })).toEqual([hostPort]);
      expect(configProblems('grpc', {})).toEqual(['checks[0].target: expected host:port']);
      expect(configProblems('grpc', { target: 'x:1', tls: { certFile: '/c.pem' } })).toEqual([
        'checks[0].tls: set certFile and keyFile together',
      ]);
      expect(configProblems('grpc', { target: 'x:1', authority: 'a b' })).toEqual([
        'checks[0].authority: no blanks or control characters',
      ]);
      expect(
        configProblems('grpc', {
          target: '[::1]:50051',
          service: 'app',
          authority: 'h:1',
          tls: { insecureSkipVerify: true },
        }),
      ).toEqual([]);
    });

    it('labels its target as written', () => {
      expect(targetOf('grpc', { target: 'health.internal:50051' })).toBe('health.internal:50051');
      expect(targetOf('grpc', { target: '[::1]:50051' })).toBe('[::1]:50051');
    });
  },
);
