import { randomBytes } from 'node:crypto';
import { connect as connectTcp, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import { z } from 'zod';
import type { CheckKind, UrlSpec } from '../types.js';
import { CheckFailure } from './classify.js';
import { abortable } from './support/abort.js';
import { credentialOptions, onePassword, urlDatastoreKind } from './support/credentials.js';
import { nodeTlsOptions, recordPeerCertificates, tlsSchema } from './support/tls.js';
import { endpoint, urlString } from './support/url.js';

const URL_SPEC: UrlSpec = { defaultPorts: { 'mqtt:': 1883, 'mqtts:': 8883 }, pathIsDatabase: false };

const options = z
  .strictObject({
    /** `mqtt://[user[:password]@]host[:port]`, `mqtts://` for TLS. */
    url: urlString(URL_SPEC).refine((text) => /^[a-z]+:\/\/[^/?#]*\/?$/i.test(text), {
      message: 'an MQTT URL has no path or parameters (mqtt://host:1883)',
    }),
    ...credentialOptions,
    tls: tlsSchema.optional(),
    /** Default `vitals-<random>`, a new one every run. */
    clientId: z.string().min(1).max(65_535).optional(),
    /** 4 is MQTT 3.1.1, 5 is MQTT 5. */
    protocolVersion: z.union([z.literal(4), z.literal(5)], { error: 'expected 4 (MQTT 3.1.1) or 5' }).default(4),
  })
  .refine(...onePassword)
  .refine((o) => !(o.tls !== undefined && o.url.toLowerCase().startsWith('mqtt:')), {
    message: 'tls options need an mqtts:// URL',
    path: ['tls'],
  });
type MqttOptions = z.infer<typeof options>;

// CONNACK refusals that say the credentials are wrong or not allowed: 3.1.1 return codes 4 (bad
// user name or password) and 5 (not authorized), MQTT 5 reason codes 0x86, 0x87 and 0x8C (bad
// authentication method). Any other refusal is the broker saying no for a reason of its own.
const AUTH_REFUSALS = new Set([4, 5, 0x86, 0x87, 0x8c]);
// Refusals that mean the broker cannot serve now: unavailable, busy, shutting down, rate limits.
const UNAVAILABLE_REFUSALS = new Set([3, 0x88, 0x89, 0x8b, 0x97, 0x9f]);

function refusal(code: number, reasonCodes: Readonly<Record<number, string>>): CheckFailure {
  const text = reasonCodes[code] ?? 'unknown code';
  const message = `connection refused: ${text} (${String(code)})`;
  if (AUTH_REFUSALS.has(code)) return new CheckFailure(message, 'auth');
  return new CheckFailure(message, UNAVAILABLE_REFUSALS.has(code) ? 'error' : 'protocol');
}

// Loaded on first use: a config without mqtt checks never pays for the client at start-up.
let mqtt: typeof import('mqtt') | undefined;

/**
 * Connects with a clean session, expects a CONNACK that accepts it, and disconnects. mqtt.js is
 * told never to reconnect, and the socket (made by the probe, kept on `client.stream`) is
 * destroyed at the deadline.
 */
export const mqttCheck: CheckKind<MqttOptions> = {
  kind: 'mqtt',
  ...urlDatastoreKind(URL_SPEC),
  componentType: 'component',
  speaksTls: true,
  options,
  create: (o, check) => async (signal, recorder) => {
    const e = endpoint(o.url, URL_SPEC);
    const password = o.password ?? e.password;
    const tls = e.url.protocol === 'mqtts:';
    mqtt ??= await import('mqtt');
    signal.throwIfAborted();
    // The socket is made here rather than by mqtt.connect, which would route it through a
    // SOCKS proxy named by MQTTJS_SOCKS_PROXY in vitals' environment.
    const openSocket = (): Duplex =>
      tls
        ? connectTls({
            host: e.host,
            port: e.port,
            ...nodeTlsOptions(o.tls),
            // No SNI for an IP address (RFC 6066), which Node refuses to send.
            servername: o.tls?.serverName ?? (isIP(e.host) === 0 ? e.host : undefined),
          })
        : connectTcp({ host: e.host, port: e.port });
    const client = new mqtt.MqttClient(openSocket, {
      username: e.user === '' ? undefined : e.user,
      password: password === '' ? undefined : password,
      clientId: o.clientId ?? `vitals-${randomBytes(6).toString('hex')}`,
      protocolVersion: o.protocolVersion,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: check.timeoutMs,
      // Only the probe's own packets: nothing queued for a later connection.
      queueQoSZero: false,
      resubscribe: false,
    });
    // Errors also reject the pending connect; this only keeps a late one from crashing vitals.
    client.on('error', () => undefined);
    const destroy = () => {
      client.end(true);
      client.stream.destroy();
    };
    const abort = abortable(signal, destroy);
    let accepted = false;
    try {
      await abort.race(
        new Promise<void>((resolve, reject) => {
          // Seen before mqtt.js handles it: the refusal's own code, not its generic error.
          client.on('packetreceive', (packet) => {
            if (packet.cmd !== 'connack') return;
            const code = (o.protocolVersion === 5 ? packet.reasonCode : packet.returnCode) ?? 0;
            if (code !== 0) reject(refusal(code, mqtt?.ReasonCodes ?? {}));
          });
          client.once('connect', () => {
            resolve();
          });
          client.on('error', (error) => {
            // A parse error (not MQTT) or the connack timer; socket and TLS errors carry a code.
            if ('code' in error && typeof error.code === 'string') reject(error);
            else if (error.message === 'connack timeout') reject(new CheckFailure('no CONNACK in time', 'timeout'));
            else reject(new CheckFailure(`MQTT protocol error: ${error.message}`, 'protocol'));
          });
          client.once('close', () => {
            reject(new CheckFailure('connection closed before CONNACK', 'protocol'));
          });
        }),
      );
      accepted = true;
      return undefined;
    } finally {
      abort.dispose();
      recordPeerCertificates(client.stream, recorder);
      if (accepted) {
        // DISCONNECT, so that the broker logs a clean goodbye; the timer bounds the wait for it.
        const timer = setTimeout(destroy, check.timeoutMs);
        timer.unref();
        client.end(false, () => {
          clearTimeout(timer);
        });
      } else {
        destroy();
      }
    }
  },
};
