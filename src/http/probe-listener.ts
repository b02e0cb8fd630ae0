/**
 * The probe port: a second, plain-HTTP listener on the same host serving only the probe
 * routes, without TLS and without basic auth. A kubelet presents no client certificate, so
 * with RequireAndVerifyClientCert on the main listener this is where the probes go.
 */
import { createServer, type Server } from 'node:http';
import { FULL_ACCESS, type VitalsRequestHandler } from './handler.js';
import { bind, closeServer, SERVER_OPTIONS, sendJson } from './listener-socket.js';
import { isProbeTarget } from './routes.js';

export interface ProbeListener {
  readonly server: Server;
  readonly port: number;
}

export async function listenForProbes(
  handle: VitalsRequestHandler,
  host: string,
  port: number,
): Promise<ProbeListener> {
  const server = createServer(SERVER_OPTIONS, (request, response) => {
    // Details follow `security` alone here: there is no basic auth to pass.
    if (isProbeTarget(request.url)) handle(request, response, FULL_ACCESS);
    else
      sendJson(request, response, 404, {
        status: 'fail',
        error: 'not found: this port serves /health, /ready and /startup only',
      });
  });
  try {
    return { server, port: await bind(server, port, host) };
  } catch (error) {
    await closeServer(server, 0);
    throw error;
  }
}
