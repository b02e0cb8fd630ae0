import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Vitals } from '../vitals.js';

/** Slow clients must not hold sockets that probes need (a slow-loris cannot starve the kubelet). */
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const MAX_CONNECTIONS = 1024;

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  /** Closes the listener, lets in-flight requests finish within `graceMs`, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

export async function listen(vitals: Vitals, host: string, port: number): Promise<RunningServer> {
  const handle = vitals.app().callback();
  const server = createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS },
    (request, response) => {
      // Probes skip Koa altogether: terminus and lightship answer the same way.
      if (vitals.responses.answer(request, response)) return;
      void handle(request, response);
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  server.listen(port, host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  return {
    server,
    port: (server.address() as AddressInfo).port,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => {
        resolve();
      }));
      server.closeIdleConnections();
      const timer = setTimeout(() => {
        server.closeAllConnections();
      }, graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
