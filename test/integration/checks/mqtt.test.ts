import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../../support/binaries.js';
import { notAfterOf } from '../../support/certificates.js';
import { configProblems, runCheck, runCheckKindContract, serverFixtures, targetOf } from '../../support/contract.js';
import { startMosquitto } from '../../support/mosquitto.js';
import { tlsServerFixture } from '../../support/servers.js';
import { waitUntil } from '../../support/wait.js';

/** A TCP server that answers every connection with `reply` (or nothing) and hangs up. */
async function withPeer<T>(reply: string, body: (port: number, accepted: () => number) => Promise<T>): Promise<T> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    socket.on('error', () => undefined);
    socket.once('data', () => {
      socket.end(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await body((server.address() as net.AddressInfo).port, () => accepted);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe.skipIf(skipUnlessBinaries(['mosquitto', 'mosquitto_passwd', 'openssl'], 'mqtt check kind'))(
  'the mqtt check kind against a real Mosquitto',
  () => {
    const fx = tlsServerFixture('vitals-mqtt-test-', (tls) => startMosquitto({ tls }));
    const tlsUrl = () => `mqtts://${fx.server.user}@127.0.0.1:${String(fx.server.tlsPort)}`;

    describe('contract', () => {
      runCheckKindContract({
        ...serverFixtures(fx),
        kind: 'mqtt',
        refused: () => ({ url: `mqtt://u@127.0.0.1:${String(fx.closed)}`, password: 'x' }),
        silent: {
          fields: () => ({ url: `mqtt://u:pw@127.0.0.1:${String(fx.silent.port)}` }),
          openSockets: () => fx.silent.openSockets(),
        },
        hung: { at: (port) => ({ url: `mqtt://u:pw@127.0.0.1:${String(port)}` }) },
      });
    });

    it('fails with reason auth when no password is given (CONNACK 5, not authorized)', async () => {
      const { result } = await runCheck('mqtt', { url: fx.server.url({ password: '' }) });
      expect(result).toMatchObject({
        status: 'fail',
        reason: 'auth',
        output: 'connection refused: Not authorized (5)',
      });
    });

    it('speaks MQTT 5 with protocolVersion 5: a pass, and a wrong password refused with a reason code (auth)', async () => {
      const ok = await runCheck('mqtt', { url: fx.server.url(), protocolVersion: 5 });
      expect(ok.result, ok.result.output).toMatchObject({ status: 'pass' });
      const wrong = await runCheck('mqtt', { url: fx.server.url({ password: 'wrong' }), protocolVersion: 5 });
      expect(wrong.result).toMatchObject({
        status: 'fail',
        reason: 'auth',
        output: expect.stringMatching(
          /^connection refused: (Bad User Name or Password \(134\)|Not authorized \(135\))$/,
        ) as string,
      });
    });

    it('reads passwordFile, which overrides the URL password', async () => {
      const file = path.join(fx.dir, 'mqtt-password');
      writeFileSync(file, `${fx.server.password}\n`);
      const { result } = await runCheck('mqtt', { url: fx.server.url({ password: 'wrong' }), passwordFile: file });
      expect(result, result.output).toMatchObject({ status: 'pass' });
    });

    it("ignores MQTTJS_SOCKS_PROXY in vitals' environment", async () => {
      process.env.MQTTJS_SOCKS_PROXY = `socks5://127.0.0.1:${String(fx.closed)}`;
      try {
        const { result } = await runCheck('mqtt', { url: fx.server.url() });
        expect(result, result.output).toMatchObject({ status: 'pass' });
      } finally {
        delete process.env.MQTTJS_SOCKS_PROXY;
      }
    });

    it('connects as vitals-<random> by default, a new id every run, or as clientId', async () => {
      await runCheck('mqtt', { url: fx.server.url() });
      await runCheck('mqtt', { url: fx.server.url() });
      await runCheck('mqtt', { url: fx.server.url(), clientId: 'probe-from-test' });
      const logged = () =>
        [...fx.server.logTail().matchAll(/New client connected from \S+ as (\S+)/g)].map((m) => m[1]);
      // The broker logs the connect after its CONNACK, and the line crosses a pipe: the run can be
      // over before it arrives.
      await waitUntil(() => logged().includes('probe-from-test'), 5000, 'the broker to log the third connect');
      const ids = logged();
      const defaults = ids.filter((id) => /^vitals-[0-9a-f]{12}$/.test(id ?? ''));
      expect(new Set(defaults).size).toBe(defaults.length);
      expect(defaults.length).toBeGreaterThanOrEqual(2);
      expect(ids).toContain('probe-from-test');
    });

    it('fails with reason protocol against a peer that is not an MQTT broker, or hangs up before CONNACK', async () => {
      await withPeer('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n', async (port, accepted) => {
        const { result } = await runCheck('mqtt', { url: `mqtt://u:pw@127.0.0.1:${String(port)}` });
        expect(result).toMatchObject({
          status: 'fail',
          reason: 'protocol',
          output: expect.stringMatching(/^MQTT protocol error: /) as string,
        });
        // reconnectPeriod 0: nothing tries again behind the run's back.
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(accepted()).toBe(1);
      });
      await withPeer('', async (port) => {
        const { result } = await runCheck('mqtt', { url: `mqtt://u:pw@127.0.0.1:${String(port)}` });
        expect(result).toMatchObject({
          status: 'fail',
          reason: 'protocol',
          output: 'connection closed before CONNACK',
        });
      });
    });

    it('speaks TLS with an mqtts:// URL, verifying the certificate unless insecureSkipVerify, and records it', async () => {
      const fields = { url: tlsUrl(), password: fx.server.password };
      const verified = await runCheck('mqtt', {
        ...fields,
        tls: { caFile: fx.cert.certFile, serverName: 'vitals.test' },
        warnCertExpiry: '14d',
      });
      expect(verified.result, verified.result.output).toMatchObject({
        status: 'warn',
        output: 'certificate expires in 0d (CN=vitals-test)',
        certificate: { notAfter: notAfterOf(fx.cert.certFile), commonName: 'vitals-test' },
      });
      expect(verified.target).toBe(`127.0.0.1:${String(fx.server.tlsPort)}`);
      const wrongName = await runCheck('mqtt', {
        ...fields,
        tls: { caFile: fx.cert.certFile, serverName: 'other.test' },
      });
      expect(wrongName.result).toMatchObject({ status: 'fail', reason: 'protocol' });
      const byAddress = await runCheck('mqtt', { ...fields, tls: { caFile: fx.cert.certFile } });
      expect(byAddress.result, byAddress.result.output).toMatchObject({ status: 'pass' });
      const unknownCa = await runCheck('mqtt', fields);
      expect(unknownCa.result).toMatchObject({
        status: 'fail',
        reason: 'protocol',
        output: expect.stringMatching(/self.signed/i) as string,
      });
      const skip = await runCheck('mqtt', { ...fields, tls: { insecureSkipVerify: true } });
      expect(skip.result, skip.result.output).toMatchObject({ status: 'pass' });
    });

    it('validates its options at config time', () => {
      expect(configProblems('mqtt', { url: 'http://x/' })).toEqual([
        'checks[0].url: expected a URL starting with mqtt:// or mqtts://',
      ]);
      for (const url of ['mqtt://x/topic', 'mqtt://x?clientId=a'])
        expect(configProblems('mqtt', { url })).toEqual([
          'checks[0].url: an MQTT URL has no path or parameters (mqtt://host:1883)',
        ]);
      expect(configProblems('mqtt', { url: 'mqtt://x', tls: { insecureSkipVerify: true } })).toEqual([
        'checks[0].tls: tls options need an mqtts:// URL',
      ]);
      expect(configProblems('mqtt', { url: 'mqtt://x', password: 'a', passwordFile: '/p' })).toEqual([
        'checks[0]: set either password or passwordFile, not both',
      ]);
      expect(configProblems('mqtt', { url: 'mqtt://x', protocolVersion: 3 })).toEqual([
        'checks[0].protocolVersion: expected 4 (MQTT 3.1.1) or 5',
      ]);
      expect(configProblems('mqtt', { url: 'mqtt://x', clientId: '' })).toEqual([
        'checks[0].clientId: Too small: expected string to have >=1 characters',
      ]);
      expect(configProblems('mqtt', { url: 'mqtts://x/', tls: { insecureSkipVerify: true } })).toEqual([]);
    });

    it('fills in the default ports 1883 and 8883 and drops credentials from the target', () => {
      expect(targetOf('mqtt', { url: 'mqtt://user:secret@broker.internal' })).toBe('broker.internal:1883');
      expect(targetOf('mqtt', { url: 'mqtts://[::1]' })).toBe('[::1]:8883');
    });
  },
);
