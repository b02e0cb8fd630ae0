import tls from 'node:tls';
import { z } from 'zod';
import { RESPONSE_TIME, type CheckKind } from '../types.js';
import { abortable } from './support/abort.js';
import { nodeTlsOptions, recordPeerCertificates, tlsSchema } from './support/tls.js';
import { hostPort, unbracket } from './support/url.js';

const options = z
  .strictObject({
    host: z.string().min(1).max(253, 'at most 253 characters (the longest DNS name)').transform(unbracket),
    port: z.int({ error: 'expected a port number (1-65535)' }).min(1).max(65_535),
    /** The SNI sent and the name the certificate must carry; default the host. */
    serverName: z.string().min(1).optional(),
    tls: tlsSchema.optional(),
  })
  .refine((o) => !(o.serverName !== undefined && o.tls?.serverName !== undefined), {
    message: 'set serverName or tls.serverName, not both',
    path: ['serverName'],
  });
type TlsCheckOptions = z.infer<typeof options>;

/**
 * A TLS handshake and nothing else, for endpoints no other kind speaks to (an SMTP submission
 * port, a broker, a load balancer): the certificate verifies and its expiry is recorded.
 */
export const tlsCheck: CheckKind<TlsCheckOptions> = {
  kind: 'tls',
  componentType: 'component',
  observed: RESPONSE_TIME,
  speaksTls: true,
  phases: ['connect', 'tls'],
  options,
  target: (o) => hostPort(o.host, o.port),
  create: (o) => async (signal, recorder) => {
    signal.throwIfAborted();
    const serverName = o.tls?.serverName ?? o.serverName;
    const socket = tls.connect({
      host: o.host,
      port: o.port,
      ...nodeTlsOptions(o.tls),
      // SNI takes host names only; Node warns about (and RFC 6066 forbids) an IP address there.
      ...(serverName !== undefined ? { servername: serverName } : {}),
    });
    socket.once('connect', () => {
      recorder.phase('connect');
    });
    const abort = abortable(signal, () => socket.destroy());
    try {
      await abort.race(
        new Promise<void>((resolve, reject) => {
          socket.once('secureConnect', resolve);
          socket.once('error', reject);
        }),
      );
      recorder.phase('tls');
      recordPeerCertificates(socket, recorder);
      return undefined;
    } finally {
      abort.dispose();
      socket.destroy();
    }
  },
};
