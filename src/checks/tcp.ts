import net from 'node:net';
import { z } from 'zod';
import { RESPONSE_TIME, type CheckKind } from '../types.js';
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
  // By hand rather than with `abortable`: a thousand tcp checks make a hundred runs a second,
  // and its promises and race were most of what a run allocated besides the socket.
  create: (o) => (signal, recorder) =>
    new Promise<undefined>((resolve, reject) => {
      signal.throwIfAborted();
      const socket = net.connect({ host: o.host, port: o.port });
      const release = () => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
      };
      const onAbort = () => {
        release();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort);
      socket.on('connect', () => {
        recorder.phase('connect');
        release();
        resolve(undefined);
      });
      socket.on('error', (error) => {
        release();
        reject(error);
      });
    }),
};
