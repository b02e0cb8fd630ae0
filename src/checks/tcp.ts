import net from 'node:net';
import { z } from 'zod';
import { RESPONSE_TIME, type CheckKind } from '../types.js';
import { abortable } from './support/abort.js';
import { hostPort, unbracket } from './support/url.js';

const options = z.strictObject({
  /** A host name or an IP address; an IPv6 address may be written with or without brackets. */
  host: z
    .string()
    .min(1)
    // Nothing longer can be resolved, and an unbounded string would ride along in every target
    // label, log line and answer.
    .max(253, 'at most 253 characters (the longest DNS name)')
    .transform(unbracket),
  port: z.int({ error: 'expected a port number (1-65535)' }).min(1).max(65_535),
});
type TcpOptions = z.infer<typeof options>;

/**
 * Opens a TCP connection and closes it at once: the port is open and something listens.
 *
 * NOTE: this cannot see a hung database. The kernel completes the three-way handshake from the
 * listen backlog on the process's behalf, so a SIGSTOPped, deadlocked or overloaded server still
 * accepts connections (until its backlog fills). Use the dependency's own kind (mysql, postgres,
 * redis, http) to know that it answers.
 */
export const tcpCheck: CheckKind<TcpOptions> = {
  kind: 'tcp',
  componentType: 'component',
  observed: RESPONSE_TIME,
  phases: ['connect'],
  options,
  target: (o) => hostPort(o.host, o.port),
  create: (o) => async (signal, recorder) => {
    signal.throwIfAborted();
    const socket = net.connect({ host: o.host, port: o.port });
    const abort = abortable(signal, () => socket.destroy());
    try {
      await abort.race(
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        }),
      );
      recorder.phase('connect');
      return undefined;
    } finally {
      abort.dispose();
      socket.destroy();
    }
  },
};
