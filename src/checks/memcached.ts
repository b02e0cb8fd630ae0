import net from 'node:net';
import tls from 'node:tls';
import { z } from 'zod';
import { RESPONSE_TIME, type CheckKind } from '../types.js';
import { CheckFailure } from './classify.js';
import { abortable } from './support/abort.js';
import { nodeTlsOptions, recordPeerCertificates, tlsSchema } from './support/tls.js';
import { hostPort, unbracket } from './support/url.js';

const options = z.strictObject({
  host: z.string().min(1).max(253, 'at most 253 characters (the longest DNS name)').transform(unbracket),
  port: z.int({ error: 'expected a port number (1-65535)' }).min(1).max(65_535).default(11_211),
  /** Present (even `{}`): the connection is TLS, as a memcached started with `-Z` expects. */
  tls: tlsSchema.optional(),
});
type MemcachedOptions = z.infer<typeof options>;

/**
 * The longest reply line read: `VERSION 1.6.18\r\n` is 16 bytes. A peer that sends more without a
 * newline is not memcached, and must not make vitals buffer whatever it sends.
 */
export const MAX_REPLY_LINE_BYTES = 1024;
/** How much of an unexpected reply the output shows. */
const SHOWN_CHARS = 64;

const VERSION_REPLY = /^VERSION [\x21-\x7e]+$/;

/** Bytes a peer sent, made safe for an output: printable ASCII only, at most SHOWN_CHARS. */
export function shown(bytes: Buffer): string {
  const text = [...bytes.subarray(0, SHOWN_CHARS)]
    .map((byte) => (byte >= 0x20 && byte <= 0x7e ? String.fromCharCode(byte) : '.'))
    .join('');
  return `"${text}${bytes.length > SHOWN_CHARS ? '…' : ''}"`;
}

/** Reads up to the first newline, failing with `protocol` past MAX_REPLY_LINE_BYTES or on close. */
function firstLine(socket: net.Socket): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      // Keep one byte past the limit: enough to tell that it was exceeded, never more.
      received = Buffer.concat([received, chunk.subarray(0, MAX_REPLY_LINE_BYTES + 1 - received.length)]);
      const newline = received.indexOf(0x0a);
      if (newline !== -1 && newline <= MAX_REPLY_LINE_BYTES) {
        resolve(received.subarray(0, newline));
      } else if (received.length > MAX_REPLY_LINE_BYTES) {
        reject(
          new CheckFailure(
            `no reply line within ${String(MAX_REPLY_LINE_BYTES)} bytes: ${shown(received)}`,
            'protocol',
          ),
        );
      }
    });
    socket.once('end', () => {
      const partial = received.length > 0 ? `: ${shown(received)}` : '';
      reject(new CheckFailure(`connection closed before a reply line${partial}`, 'protocol'));
    });
    socket.on('error', reject);
  });
}

/**
 * Sends `version` over the text protocol and expects `VERSION x.y.z`: the server reads, parses
 * and answers, which a listening port alone does not show. No client library: the exchange is one
 * line each way, and no pool or reconnect logic can outlive the run.
 */
export const memcachedCheck: CheckKind<MemcachedOptions> = {
  kind: 'memcached',
  componentType: 'datastore',
  observed: RESPONSE_TIME,
  speaksTls: true,
  options,
  target: (o) => hostPort(o.host, o.port),
  create: (o) => async (signal, recorder) => {
    signal.throwIfAborted();
    const socket =
      o.tls === undefined
        ? net.connect({ host: o.host, port: o.port })
        : tls.connect({ host: o.host, port: o.port, ...nodeTlsOptions(o.tls) });
    const abort = abortable(signal, () => socket.destroy());
    try {
      // Listening before connecting: a reply (or a close) right after the handshake is not missed.
      const reply = firstLine(socket);
      // Settled by the race below, or left behind when an earlier step fails.
      reply.catch(() => undefined);
      await abort.race(
        new Promise<void>((resolve, reject) => {
          socket.once(o.tls === undefined ? 'connect' : 'secureConnect', resolve);
          socket.once('error', reject);
        }),
      );
      recordPeerCertificates(socket, recorder);
      socket.write('version\r\n');
      const received = await abort.race(reply);
      const line = received.at(-1) === 0x0d ? received.subarray(0, -1) : received;
      if (!VERSION_REPLY.test(line.toString('latin1'))) {
        throw new CheckFailure(`unexpected reply to version: ${shown(line)}`, 'protocol');
      }
      return undefined;
    } finally {
      abort.dispose();
      socket.destroy();
    }
  },
};
