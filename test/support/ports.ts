/**
 * Loopback ports for tests and the benchmark: one free to listen on, one nothing listens on.
 * Node built-ins only.
 */
import dgram from 'node:dgram';
import net from 'node:net';

/** Binds 127.0.0.1:0, reads the assigned port, closes. */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** A port nothing listens on (bound, then released): a connect is refused. */
export const closedPort = freePort;

/** A UDP port nothing listens on (bound, then released): a query gets ICMP port unreachable. */
export async function closedUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
