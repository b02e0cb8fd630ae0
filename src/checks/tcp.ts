import net from 'node:net';
import { z } from 'zod';
import { hostPort } from '../config/fields.js';
import type { CheckKind } from '../types.js';

const options = z.strictObject({
  /** A host name or an IP address; an IPv6 address may be written with or without brackets. */
  host: z
    .string()
    .min(1)
    .transform((host) => host.replace(/^\[(.*)\]$/, '$1')),
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
  options,
  target: (o) => hostPort(o.host, o.port),
  create: (o) => (signal) =>
    new Promise<undefined>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const socket = net.connect({ host: o.host, port: o.port });
      const onAbort = () => {
        socket.destroy();
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (error) => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        reject(error);
      });
    }),
};
