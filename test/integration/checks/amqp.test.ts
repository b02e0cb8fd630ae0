import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import amqplib from 'amqplib';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { notAfterOf } from '../../support/certificates.js';
import { ownSocketsTo } from '../../support/fds.js';
import { configProblems, runCheck, runCheckKindContract, serverFixtures, targetOf } from '../../support/contract.js';
import { startRabbitMq } from '../../support/rabbitmq.js';
import { tlsServerFixture } from '../../support/servers.js';
import { countBackTo, steadyCount, waitUntil } from '../../support/wait.js';

const BACKLOG = 3;

describe.skipIf(skipUnlessBinaries(['rabbitmq-server', 'epmd', 'openssl'], 'amqp check kind'))(
  'the amqp check kind against a real RabbitMQ',
  () => {
    const fx = tlsServerFixture('vitals-amqp-test-', (tls) => startRabbitMq({ tls }));
    const queue = (name: string, more: Record<string, unknown> = {}) => ({
      url: fx.server.url(),
      queue: name,
      ...more,
    });

    beforeAll(async () => {
      // Persistent messages in a durable queue, confirmed: the count is the broker's before any run.
      const connection = await amqplib.connect(fx.server.url());
      try {
        const channel = await connection.createConfirmChannel();
        for (let i = 0; i < BACKLOG; i++)
          channel.sendToQueue(fx.server.queues.backlog, Buffer.from(`message ${String(i)}`), { persistent: true });
        await channel.waitForConfirms();
      } finally {
        await connection.close();
      }
    });

    describe('contract', () => {
      runCheckKindContract({
        ...serverFixtures(fx),
        kind: 'amqp',
        target: () => `127.0.0.1:${String(fx.server.port)}/%2F`,
        refused: () => ({ url: `amqp://vitals:x@127.0.0.1:${String(fx.closed)}` }),
        silent: {
          fields: () => ({ url: `amqp://vitals:pw@127.0.0.1:${String(fx.silent.port)}` }),
          openSockets: () => fx.silent.openSockets(),
        },
        hung: { at: (port) => ({ url: `amqp://vitals:pw@127.0.0.1:${String(port)}` }) },
        unexpectedAnswer: {
          fields: () => queue(fx.server.queues.backlog, { maxMessages: BACKLOG - 1 }),
          output: `queue backlog has ${String(BACKLOG)} messages, expected ≤ ${String(BACKLOG - 1)}`,
        },
      });
    });

    const settled = async (before: number) => {
      await countBackTo(() => fx.server.connections(), before, 'connections');
    };

    it('passes when the queue exists and holds its limits, and fails with assertion when it is missing', async () => {
      const before = await steadyCount(() => fx.server.connections());
      const within = await runCheck('amqp', queue(fx.server.queues.backlog, { maxMessages: BACKLOG, minConsumers: 0 }));
      expect(within.result, within.result.output).toMatchObject({ status: 'pass' });
      const missing = await runCheck('amqp', queue('nope'));
      expect(missing.result).toMatchObject({
        status: 'fail',
        reason: 'assertion',
        output: 'queue nope does not exist',
      });
      const unconsumed = await runCheck('amqp', queue(fx.server.queues.empty, { minConsumers: 1 }));
      expect(unconsumed.result).toMatchObject({
        status: 'fail',
        reason: 'assertion',
        output: 'queue orders has 0 consumers, expected ≥ 1',
      });
      await settled(before);
    });

    it('logs in to the URL vhost, percent-decoded; one that does not exist or is not the user’s fails with auth', async () => {
      const before = await steadyCount(() => fx.server.connections());
      const own = await runCheck('amqp', { url: fx.server.url({ vhost: fx.server.vhost }) });
      expect(own.result, own.result.output).toMatchObject({ status: 'pass' });
      expect(own.target).toBe(`127.0.0.1:${String(fx.server.port)}/vitals%2Ftest%20vhost`);
      const slash = await runCheck('amqp', { url: `${fx.server.url()}/` });
      expect(slash.result.status).toBe('pass');
      expect(slash.target).toBe(`127.0.0.1:${String(fx.server.port)}/%2F`);
      const missing = await runCheck('amqp', { url: fx.server.url({ vhost: 'nosuch' }) });
      expect(missing.result).toMatchObject({
        status: 'fail',
        reason: 'auth',
        output: 'vhost nosuch refused: it does not exist or the user may not use it',
      });
      const locked = await runCheck('amqp', { url: fx.server.url({ vhost: fx.server.lockedVhost }) });
      expect(locked.result).toMatchObject({ status: 'fail', reason: 'auth' });
      await settled(before);
    });

    it('says goodbye: a run that passed or failed an assertion closes its connection with connection.close', async () => {
      const unexpectedCloses = () => fx.server.log().match(/client unexpectedly closed TCP connection/g)?.length ?? 0;
      const before = { connections: await steadyCount(() => fx.server.connections()), closes: unexpectedCloses() };
      for (const fields of [
        { url: fx.server.url() },
        queue('nope'),
        queue(fx.server.queues.empty, { minConsumers: 1 }),
      ])
        expect((await runCheck('amqp', fields)).result.reason).not.toBe('timeout');
      await settled(before.connections);
      // The broker logs a warning for every connection dropped without connection.close.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unexpectedCloses()).toBe(before.closes);
    });

    it('reads passwordFile, which overrides the URL password', async () => {
      const file = path.join(fx.dir, 'pw');
      writeFileSync(file, `${fx.server.password}\n`);
      const { result } = await runCheck('amqp', { url: fx.server.url({ password: 'wrong' }), passwordFile: file });
      expect(result, result.output).toMatchObject({ status: 'pass' });
      const noPassword = await runCheck('amqp', { url: fx.server.url({ password: '' }) });
      expect(noPassword.result).toMatchObject({ status: 'fail', reason: 'auth' });
    });

    it('fails with reason protocol against a peer that does not speak AMQP', async () => {
      const web = http.createServer((_, res) => res.end('hello'));
      // Answers the protocol header with a line of text and hangs up.
      const chatty = net.createServer((socket) => {
        socket.on('error', () => undefined);
        // Reading, so that the client's FIN is seen and the socket closes (server.close waits).
        socket.resume();
        socket.end('SSH-2.0-OpenSSH_9.2\r\n');
      });
      await Promise.all([web, chatty].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
      try {
        for (const server of [web, chatty]) {
          const port = (server.address() as net.AddressInfo).port;
          const { result } = await runCheck('amqp', { url: `amqp://vitals:pw@127.0.0.1:${String(port)}` });
          expect(result, result.output).toMatchObject({ status: 'fail', reason: 'protocol' });
          expect(result.durationMs).toBeLessThan(1000);
        }
      } finally {
        web.closeAllConnections();
        await Promise.all([web, chatty].map((s) => new Promise((resolve) => s.close(resolve))));
      }
    });

    it('speaks TLS with an amqps:// URL, verifying the certificate unless insecureSkipVerify, and records it', async () => {
      const url = fx.server
        .url()
        .replace(/^amqp:/, 'amqps:')
        .replace(`:${String(fx.server.port)}`, `:${String(fx.server.tlsPort)}`);
      const verified = await runCheck('amqp', {
        url,
        tls: { caFile: fx.cert.certFile, serverName: 'vitals.test' },
        warnCertExpiry: '14d',
      });
      expect(verified.result, verified.result.output).toMatchObject({
        status: 'warn',
        output: 'certificate expires in 0d (CN=vitals-test)',
        certificate: { notAfter: notAfterOf(fx.cert.certFile), commonName: 'vitals-test' },
      });
      expect(verified.target).toBe(`127.0.0.1:${String(fx.server.tlsPort)}/%2F`);
      const unknownCa = await runCheck('amqp', { url });
      expect(unknownCa.result).toMatchObject({
        status: 'fail',
        reason: 'protocol',
        output: expect.stringMatching(/self.signed/i) as string,
      });
      const wrongName = await runCheck('amqp', { url, tls: { caFile: fx.cert.certFile, serverName: 'other.test' } });
      expect(wrongName.result).toMatchObject({ status: 'fail', reason: 'protocol' });
      const skip = await runCheck('amqp', { url, tls: { insecureSkipVerify: true } });
      expect(skip.result, skip.result.output).toMatchObject({ status: 'pass' });
    });

    it('destroys a TLS handshake still pending at the deadline', async () => {
      const url = `amqps://vitals:pw@127.0.0.1:${String(fx.silent.port)}`;
      const { result, settledMs } = await runCheck('amqp', { url, tls: { insecureSkipVerify: true } }, 500);
      expect(result).toMatchObject({ status: 'fail', reason: 'timeout', output: 'timeout after 500ms' });
      expect(settledMs).toBeLessThan(750);
      expect(ownSocketsTo(fx.silent.port)).toEqual([]);
      await waitUntil(() => fx.silent.openSockets() === 0, 2000, 'the silent server to see the socket closed');
    });

    it('validates its options at config time', () => {
      expect(configProblems('amqp', { url: 'http://x/' })).toEqual([
        'checks[0].url: expected a URL starting with amqp:// or amqps://',
      ]);
      expect(configProblems('amqp', { url: 'amqp://x/a/b' })).toEqual([
        'checks[0].url: the URL path is one vhost: write a / in its name as %2F (amqp://host/my%2Fvhost)',
      ]);
      expect(configProblems('amqp', { url: 'amqp://x/?heartbeat=5' })).toEqual([
        'checks[0].url: URL parameters are not supported',
      ]);
      expect(configProblems('amqp', { url: 'amqp://x/%zz' })).toEqual([
        "checks[0].url: invalid percent-encoding in the URL's database name (write a literal % as %25)",
      ]);
      expect(configProblems('amqp', { url: 'amqp://x/', tls: { insecureSkipVerify: true } })).toEqual([
        'checks[0].tls: tls options need an amqps:// URL',
      ]);
      expect(configProblems('amqp', { url: 'amqp://x/', maxMessages: 10, minConsumers: 1 })).toEqual([
        'checks[0].maxMessages: maxMessages needs a queue',
        'checks[0].minConsumers: minConsumers needs a queue',
      ]);
      expect(configProblems('amqp', { url: 'amqp://x/', queue: 'q', maxMessages: -1 })).toEqual([
        'checks[0].maxMessages: maxMessages takes a whole number, 0 or more',
      ]);
      expect(configProblems('amqp', { url: 'amqp://x/', password: 'a', passwordFile: '/f' })).toEqual([
        'checks[0]: set either password or passwordFile, not both',
      ]);
      expect(
        configProblems('amqp', { url: 'amqps://x/vh', tls: { insecureSkipVerify: true }, queue: 'q', minConsumers: 1 }),
      ).toEqual([]);
    });

    it('fills in the default ports and the default vhost, and drops credentials from the target', () => {
      expect(targetOf('amqp', { url: 'amqp://user:secret@mq.internal' })).toBe('mq.internal:5672/%2F');
      expect(targetOf('amqp', { url: 'amqps://user:secret@mq.internal/%2F' })).toBe('mq.internal:5671/%2F');
      expect(targetOf('amqp', { url: 'amqp://[::1]:5673/orders%20eu' })).toBe('[::1]:5673/orders%20eu');
    });
  },
);
