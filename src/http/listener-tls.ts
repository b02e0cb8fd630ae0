/**
 * The main listener's server: plain HTTP, or TLS with the web config's certificate and client
 * certificate mode. Whether it is TLS is fixed at start; a re-read swaps the certificate and
 * the client-certificate settings for new connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { HANDSHAKE_TIMEOUT_MS, SERVER_OPTIONS } from './listener-socket.js';
import type { ClientAuthType, WebTls } from './web-config.js';

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

export interface MainServer {
  readonly server: Server | HttpsServer;
  readonly tls: boolean;
  /** Hands a re-read's TLS settings to new connections; the reasons it cannot, else []. */
  applyTls(next: WebTls | undefined): string[];
}

function hasPeerCertificate(socket: TLSSocket): boolean {
  return Object.keys(socket.getPeerCertificate()).length > 0;
}

/** A plain server: TLS cannot be turned on without a restart. */
export function adoptPlainServer(server: Server): MainServer {
  return {
    server,
    tls: false,
    applyTls: (next) => (next === undefined ? [] : ['tls_server_config: turning TLS on needs a restart']),
  };
}

export function createMainServer(startTls: WebTls | undefined, onRequest: RequestListener): MainServer {
  if (startTls === undefined) return adoptPlainServer(createServer(SERVER_OPTIONS, onRequest));
  let clientAuth: ClientAuthType = startTls.clientAuth;
  const https = createHttpsServer(
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
    if (clientAuth === 'RequireAnyClientCert' && !hasPeerCertificate(socket)) socket.destroy();
    else if (clientAuth === 'VerifyClientCertIfGiven' && hasPeerCertificate(socket) && !socket.authorized)
      socket.destroy();
  });
  return {
    server: https,
    tls: true,
    applyTls(next) {
      if (next === undefined) return ['tls_server_config: turning TLS off needs a restart'];
      https.setSecureContext(next.secureContext);
      // Read by node for every new connection.
      const settings = https as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
      settings.requestCert = next.requestCert;
      settings.rejectUnauthorized = next.rejectUnauthorized;
      clientAuth = next.clientAuth;
      return [];
    },
  };
}
