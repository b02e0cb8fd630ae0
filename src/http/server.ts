import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '../config/load.js';
import { contentHash } from '../config/watch.js';
import type { Logger } from '../log.js';
import { createBasicAuth, hasBasicAuthorization, type BasicAuth } from './basic-auth.js';
import { FULL_ACCESS, NO_DETAILS, type VitalsRequestHandler } from './handler.js';
import { isProbeTarget, matchRoute, parseTarget } from './routes.js';
import { loadWebConfig, type WebConfig } from './web-config.js';

/** Slow clients must not hold sockets that probes need (a slow-loris cannot starve the kubelet). */
const HEADERS_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** A TLS client gets as long to finish its handshake as a plain one gets to send its headers. */
const HANDSHAKE_TIMEOUT_MS = 5_000;
const MAX_CONNECTIONS = 1024;
/** How often the web config file and the certificate files it names are polled by default. */
export const WEB_CONFIG_POLL_MS = 5_000;

const SERVER_OPTIONS = {
  headersTimeout: HEADERS_TIMEOUT_MS,
  requestTimeout: REQUEST_TIMEOUT_MS,
  keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  // Node enforces the two timeouts above only when it sweeps connections (every 30 s by
  // default), so a slow-loris socket lived 30 s, not 5: sweep every second.
  connectionsCheckingInterval: 1_000,
};

export interface ListenOptions {
  /** The web config in force at start, already loaded: an invalid file is a start-up error. */
  readonly webConfig?: WebConfig;
  /**
   * Where to re-read the web config from, asked at every poll (a config reload may change
   * server.webConfigFile); default: webConfig.source.
   */
  readonly webConfigFile?: () => string | undefined;
  /** Poll the web config file and the files it names this often (default 5 s); 0 = never. */
  readonly webConfigPollMs?: number;
  /** A second, plain-HTTP listener on the same host serving only the probe routes. */
  readonly probePort?: number;
}

/** What a listener serves: vitals' routes, and the two settings of the config it reads. */
export interface ListenInputs {
  readonly handle: VitalsRequestHandler;
  readonly logger: Logger;
  /** Asked per request: probe routes answer without basic auth (a reload may change it). */
  readonly probesWithoutAuth: () => boolean;
}

export interface RunningServer {
  readonly server: Server | HttpsServer;
  readonly port: number;
  /** The probe listener's port, when server.probePort is set. */
  readonly probePort: number | undefined;
  /** Whether the main listener serves TLS (fixed for the life of the process). */
  readonly tls: boolean;
  /** The web config in force. */
  webConfig(): WebConfig | undefined;
  /**
   * Re-reads the web config file now and applies it; the problems when it was refused (the
   * last good one then stays, and the problems are logged once), else an empty list.
   */
  reloadWebConfig(): readonly string[];
  /** Closes the listeners, lets in-flight requests finish within `graceMs`, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

/** What a request on the main listener goes through when a web config is in force. */
interface Guard {
  readonly config: WebConfig;
  readonly headers: readonly (readonly [string, string])[];
  readonly auth: BasicAuth | undefined;
}

function guardOf(config: WebConfig | undefined): Guard | undefined {
  if (config === undefined) return undefined;
  return { config, headers: config.headers, auth: config.users.size > 0 ? createBasicAuth(config.users) : undefined };
}

function sendJson(request: IncomingMessage, response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
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

function unauthorized(request: IncomingMessage, response: ServerResponse): void {
  sendJson(request, response, 401, { status: 'fail', error: 'authentication required' }, { 'www-authenticate': 'Basic realm="vitals"' });
}

async function bind(server: Server | HttpsServer, port: number, host: string): Promise<number> {
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

function closeServer(server: Server | HttpsServer, graceMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  const closed = new Promise<void>((resolve) => server.close(() => {
    resolve();
  }));
  server.closeIdleConnections();
  const timer = setTimeout(() => {
    server.closeAllConnections();
  }, graceMs);
  return closed.finally(() => {
    clearTimeout(timer);
  });
}

function hasPeerCertificate(socket: TLSSocket): boolean {
  return Object.keys(socket.getPeerCertificate()).length > 0;
}

/**
 * Serves vitals on host:port: over TLS when the web config says so, behind its basic auth,
 * with its extra headers; plus, with `probePort`, a plain listener for the probe routes only.
 */
export async function listen(inputs: ListenInputs, host: string, port: number, options: ListenOptions = {}): Promise<RunningServer> {
  const { handle, logger, probesWithoutAuth } = inputs;
  let guard = guardOf(options.webConfig);

  const dispatch = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response, FULL_ACCESS);
  };
  const dispatchWithoutDetails = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response, NO_DETAILS);
  };

  const dispatchIf = (request: IncomingMessage, response: ServerResponse, allowed: boolean) => {
    if (allowed) dispatch(request, response);
    else unauthorized(request, response);
  };

  function guarded(current: Guard, request: IncomingMessage, response: ServerResponse): void {
    for (const [name, value] of current.headers) response.setHeader(name, value);
    const { auth } = current;
    if (auth === undefined) {
      dispatch(request, response);
      return;
    }
    const authorization = request.headers.authorization;
    const route = matchRoute(parseTarget(request.url).path)?.route;
    if (route?.probe === true && probesWithoutAuth()) {
      // The probe answers without credentials; only /ready's details need them.
      if (route.name !== 'ready' && route.name !== 'ready-check') {
        dispatch(request, response);
        return;
      }
      if (!hasBasicAuthorization(authorization)) {
        dispatchWithoutDetails(request, response);
        return;
      }
      // Wrong credentials on a probe route still get the probe's answer, without details:
      // a load balancer with a stale password must not take the service out.
      void auth.verify(authorization, request.socket.remoteAddress).then(
        (ok) => {
          (ok ? dispatch : dispatchWithoutDetails)(request, response);
        },
        () => {
          dispatchWithoutDetails(request, response);
        },
      );
      return;
    }
    if (!hasBasicAuthorization(authorization)) {
      unauthorized(request, response);
      return;
    }
    void auth.verify(authorization, request.socket.remoteAddress).then(
      (ok) => {
        dispatchIf(request, response, ok);
      },
      () => {
        unauthorized(request, response);
      },
    );
  }

  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    const current = guard;
    if (current === undefined) {
      dispatch(request, response);
      return;
    }
    guarded(current, request, response);
  };

  const startTls = options.webConfig?.tls;
  let server: Server | HttpsServer;
  let https: HttpsServer | undefined;
  if (startTls === undefined) {
    server = createServer(SERVER_OPTIONS, onRequest);
  } else {
    https = createHttpsServer(
      {
        ...SERVER_OPTIONS,
        ...startTls.secureContext,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        requestCert: startTls.requestCert,
        rejectUnauthorized: startTls.rejectUnauthorized,
      },
      onRequest,
    );
    // node enforces RequireAndVerifyClientCert itself (rejectUnauthorized); the two modes in
    // between are decided here, before the connection's first request is read.
    https.prependListener('secureConnection', (socket: TLSSocket) => {
      const mode = guard?.config.tls?.clientAuth;
      if (mode === 'RequireAnyClientCert' && !hasPeerCertificate(socket)) socket.destroy();
      else if (mode === 'VerifyClientCertIfGiven' && hasPeerCertificate(socket) && !socket.authorized) socket.destroy();
    });
    server = https;
  }

  let probeServer: Server | undefined;
  const boundPort = await bind(server, port, host);
  let boundProbePort: number | undefined;
  if (options.probePort !== undefined) {
    probeServer = createServer(SERVER_OPTIONS, (request, response) => {
      if (isProbeTarget(request.url)) dispatch(request, response);
      else sendJson(request, response, 404, { status: 'fail', error: 'not found: this port serves /health, /ready and /startup only' });
    });
    try {
      boundProbePort = await bind(probeServer, options.probePort, host);
    } catch (error) {
      await closeServer(server, 0);
      throw error;
    }
  }

  /** Applies a loaded web config; the reasons it cannot be, else []. */
  function apply(next: WebConfig | undefined): string[] {
    const nextTls = next?.tls;
    if ((https !== undefined) !== (nextTls !== undefined)) {
      return [`tls_server_config: turning TLS ${nextTls === undefined ? 'off' : 'on'} needs a restart`];
    }
    if (https !== undefined && nextTls !== undefined) {
      https.setSecureContext(nextTls.secureContext);
      // Read by node for every new connection.
      const settings = https as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
      settings.requestCert = nextTls.requestCert;
      settings.rejectUnauthorized = nextTls.rejectUnauthorized;
    }
    guard = guardOf(next);
    return [];
  }

  const webConfigFile = options.webConfigFile ?? (() => options.webConfig?.source);
  /** The files the last read named (also a failed one), to be polled with the file itself. */
  let lastFiles: readonly string[] = options.webConfig?.files ?? [];
  let lastProblems = '';
  const watched = () => {
    const path = webConfigFile();
    return path === undefined ? [] : [...new Set([resolvePath(path), ...lastFiles])];
  };

  function reloadWebConfig(): readonly string[] {
    const path = webConfigFile();
    const files: string[] = [];
    let next: WebConfig | undefined;
    let problems: readonly string[];
    try {
      next = path === undefined ? undefined : loadWebConfig(path, files);
      problems = apply(next);
    } catch (error) {
      problems = error instanceof ConfigError ? error.problems : [String(error)];
    }
    lastFiles = files;
    if (problems.length > 0) {
      const text = problems.join('\n');
      // Logged once: a watcher that sees the same broken content again stays quiet.
      if (text !== lastProblems) logger.error({ webConfig: path, problems }, 'web config rejected; the last good one stays');
      lastProblems = text;
      return problems;
    }
    lastProblems = '';
    const tls = next?.tls;
    logger.info(
      {
        webConfig: path ?? null,
        tls: tls === undefined ? null : { clientAuth: tls.clientAuth, certSerial: tls.certificate.serialNumber, certNotAfter: tls.certificate.validTo },
        basicAuthUsers: next?.users.size ?? 0,
        headers: next?.headers.length ?? 0,
      },
      'web config applied',
    );
    return [];
  }

  const pollMs = options.webConfigPollMs ?? WEB_CONFIG_POLL_MS;
  let timer: NodeJS.Timeout | undefined;
  if (pollMs > 0 && (options.webConfigFile !== undefined || options.webConfig !== undefined)) {
    let lastHash = contentHash(watched());
    timer = setInterval(() => {
      const before = watched();
      const hash = contentHash(before);
      if (hash === lastHash) return;
      lastHash = hash;
      reloadWebConfig();
      // The new file names other files: poll them from now on, and read once more in case
      // one of them changed between the digest and the read.
      const after = watched();
      if (after.join('\0') !== before.join('\0')) lastHash = '';
    }, pollMs);
    timer.unref();
  }

  return {
    server,
    port: boundPort,
    probePort: boundProbePort,
    tls: https !== undefined,
    webConfig: () => guard?.config,
    reloadWebConfig,
    async close(graceMs) {
      clearInterval(timer);
      await Promise.all([closeServer(server, graceMs), probeServer === undefined ? undefined : closeServer(probeServer, graceMs)]);
    },
  };
}
