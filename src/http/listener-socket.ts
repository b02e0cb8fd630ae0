/**
 * Binding and closing vitals' listeners, with the timeouts that keep slow clients from holding
 * the sockets probes need (a slow-loris cannot starve the kubelet).
 */
import { once } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export const HEADERS_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 10_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** A TLS client gets as long to finish its handshake as a plain one gets to send its headers. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
export const MAX_CONNECTIONS = 1024;

/** For createServer() of every listener, plain or TLS. */
export const SERVER_OPTIONS = {
  headersTimeout: HEADERS_TIMEOUT_MS,
  requestTimeout: REQUEST_TIMEOUT_MS,
  keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  // Node enforces the two timeouts above only when it sweeps connections (every 30 s by
  // default), so a slow-loris socket lived 30 s, not 5: sweep every second.
  connectionsCheckingInterval: 1_000,
};

/** Listens on host:port; the port bound (port 0 picks one), or the listen error. */
export async function bind(server: Server | HttpsServer, port: number, host: string): Promise<number> {
  server.maxConnections = MAX_CONNECTIONS;
  server.listen(port, host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  return (server.address() as AddressInfo).port;
}

/** Stops accepting, lets in-flight requests finish within `graceMs`, then cuts the rest. */
export function closeServer(server: Server | HttpsServer, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  const closed = new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  server.closeIdleConnections();
  const timer = setTimeout(() => {
    server.closeAllConnections();
  }, graceMs);
  return closed.finally(() => {
    clearTimeout(timer);
  });
}

/** A JSON answer of the listener itself (not of vitals' routes): 401, 404 on the probe port, 429. */
export function sendJson(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body));
  response.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': bytes.length,
    'cache-control': 'no-store',
  });
  if (request.method === 'HEAD') response.end();
  else response.end(bytes);
}
