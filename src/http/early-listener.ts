/**
 * The main port, bound before the rest of vitals has loaded. Loading koa, prom-client, zod and
 * the engine takes three to four times as long as a bare node:http server takes to answer, and
 * a kubelet's liveness probe or a load balancer asks `/health`, whose answer ("the process
 * answers") is already true then. So the entry binds the port first, answers `/health` at once,
 * and holds every other request (`/ready`, `/startup`, `/metrics`, ...) until the real listener
 * adopts the server and serves them in order: nothing is answered from a state vitals does not
 * have yet.
 *
 * Only for a plain listener: with a web config (TLS, basic auth, headers) the entry does not
 * bind early, since none of that is loaded yet.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { healthBody } from './bodies.js';
import { bind, closeServer, SERVER_OPTIONS } from './listener-socket.js';
import { prepare, writePrepared } from './probe-responses.js';
import { matchRoute, parseTarget } from './routes.js';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

export interface EarlyListener {
  readonly server: Server;
  /** The address asked for (port 0 included), to compare with the one the config resolves to. */
  readonly host: string;
  readonly requestedPort: number;
  /** The port bound. */
  readonly port: number;
  /** performance.now() when it started answering: /health's uptime counts from here. */
  readonly startedAt: number;
  /** Hands the server and the requests held so far (in arrival order) to `onRequest`. */
  adopt(onRequest: RequestListener): void;
  /** Closes it (the config named another address, or vitals is not going to serve). */
  close(): Promise<void>;
}

function answersHealth(request: IncomingMessage): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  return matchRoute(parseTarget(request.url).path)?.route.name === 'health';
}

/** Binds host:port and answers /health; rejects with the listen error (the caller goes on without it). */
export async function listenEarly(host: string, port: number, version: string): Promise<EarlyListener> {
  const startedAt = performance.now();
  let held: [IncomingMessage, ServerResponse][] | undefined = [];
  const early: RequestListener = (request, response) => {
    if (!answersHealth(request)) {
      held?.push([request, response]);
      return;
    }
    const uptime = (performance.now() - startedAt) / 1000;
    writePrepared(request, response, prepare(200, healthBody(version, uptime, Date.now())));
  };
  const server = createServer(SERVER_OPTIONS, early);
  let bound: number;
  try {
    bound = await bind(server, port, host);
  } catch (error) {
    await closeServer(server, 0);
    throw error;
  }
  return {
    server,
    host,
    requestedPort: port,
    port: bound,
    startedAt,
    adopt(onRequest) {
      server.off('request', early);
      server.on('request', onRequest);
      const waiting = held ?? [];
      held = undefined;
      // A caller that gave up while vitals loaded has nobody left to answer.
      for (const [request, response] of waiting) if (!response.destroyed) onRequest(request, response);
    },
    close: () => closeServer(server, 0),
  };
}
