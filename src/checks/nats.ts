import { AsyncLocalStorage } from 'node:async_hooks';
import { createConnection, isIP, type Socket } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { z } from 'zod';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CheckKind, FailureReason, UrlSpec } from '../types.js';
import { CheckFailure, classifyCommon, errorCode } from './classify.js';
import { abortable } from './support/abort.js';
import { credentialOptions, onePassword, urlDatastoreKind } from './support/credentials.js';
import { nodeTlsOptions, recordPeerCertificates, tlsSchema, type TlsOptions } from './support/tls.js';
import { endpoint, hostPort, urlString } from './support/url.js';

const URL_SPEC: UrlSpec = { defaultPorts: { 'nats:': 4222, 'tls:': 4222 }, pathIsDatabase: false };

const options = z
  .strictObject({
    /** `nats://[user[:password]@]host[:port]`, `tls://` to require TLS. */
    url: urlString(URL_SPEC).refine((text) => /^[a-z]+:\/\/[^/?#]*\/?$/i.test(text), {
      message: 'a NATS URL has no path or parameters (nats://host:4222)',
    }),
    ...credentialOptions,
    token: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    /** The text of a `.creds` file (a user JWT and its nkey seed); the loader reads credsFile into it. */
    creds: z.string().min(1).optional(),
    credsFile: z.string().min(1).optional(),
    tls: tlsSchema.optional(),
    /** Also ask JetStream for the account's info: fails when JetStream is off. */
    jetstream: z.boolean().default(false),
  })
  .refine(...onePassword)
  .refine((o) => !(o.token !== undefined && o.tokenFile !== undefined), {
    message: 'set either token or tokenFile, not both',
  })
  .refine((o) => !(o.creds !== undefined && o.credsFile !== undefined), {
    message: 'set either creds or credsFile, not both',
  })
  .refine((o) => [hasToken(o), hasUser(o), hasCreds(o)].filter(Boolean).length <= 1, {
    message: 'use one way to authenticate: a user and password, a token or a creds file',
  })
  .refine((o) => !(o.password !== undefined || o.passwordFile !== undefined) || urlUser(o.url) !== '', {
    message: 'a password needs a user in the URL (nats://user@host)',
  })
  .refine((o) => !(o.tls !== undefined && o.url.toLowerCase().startsWith('nats:')), {
    message: 'tls options need a tls:// URL',
    path: ['tls'],
  });
type NatsOptions = z.infer<typeof options>;

type AuthFields = Partial<
  Record<'url' | 'password' | 'passwordFile' | 'token' | 'tokenFile' | 'creds' | 'credsFile', string>
>;
const hasToken = (o: AuthFields) => o.token !== undefined || o.tokenFile !== undefined;
const hasCreds = (o: AuthFields) => o.creds !== undefined || o.credsFile !== undefined;
const hasUser = (o: AuthFields) =>
  o.password !== undefined || o.passwordFile !== undefined || /^[a-z]+:\/\/[^/@]+@/i.test(o.url ?? '');

function urlUser(text: string): string {
  try {
    return new URL(text).username;
  } catch {
    return '';
  }
}

/** The JWT and the seed of a `.creds` file: each block's first line. */
function credsSecrets(text: string): string[] {
  return [...text.matchAll(/-{3,}BEGIN [^\n]*-{3,}\s*\n\s*(\S+)/g)].map((m) => m[1] ?? '');
}

type Nats = typeof import('@nats-io/transport-node');
// Loaded on first use: a config without nats checks never pays for the client at start-up.
let nats: Nats | undefined;

/** What a run has opened: its raw sockets, and the transports that may have wrapped them in TLS. */
interface RunConnections {
  readonly signal: AbortSignal;
  readonly sockets: Socket[];
  readonly transports: { socket?: Socket | undefined }[];
}

/** The run whose connect is in progress, for the transport factory (global in nats.js) to see. */
const currentRun = new AsyncLocalStorage<RunConnections>();

/**
 * nats.js dials from inside its transport, out of the caller's reach, and a connect that times
 * out before the server's INFO leaves that socket open (its close is ignored until connected):
 * one socket per run against a paused server. Its transport is given a dial that creates the
 * socket with the run's signal, so that Node destroys it at the deadline, connected or not.
 */
async function loadNats(): Promise<Nats> {
  if (nats !== undefined) return nats;
  const lib = await import('@nats-io/transport-node');
  const { NodeTransport, nodeResolveHost } = await import('@nats-io/transport-node/lib/node_transport.js');
  lib.setTransportFactory({
    factory: () => {
      const transport = new NodeTransport();
      const run = currentRun.getStore();
      if (run === undefined) return transport;
      const { signal, sockets, transports } = run;
      transports.push(transport);
      transport.dial = (hp) =>
        new Promise<Socket>((resolve, reject) => {
          signal.throwIfAborted();
          let dialError: Error | undefined;
          const socket = createConnection({ port: hp.port, host: hp.hostname, signal }, () => {
            socket.removeAllListeners();
            resolve(socket);
          });
          sockets.push(socket);
          socket.on('error', (error) => {
            dialError = error;
          });
          socket.on('close', () => {
            socket.removeAllListeners();
            reject(dialError ?? new Error('connection closed while connecting'));
          });
          socket.setNoDelay(true);
        });
      return transport;
    },
    dnsResolveFn: nodeResolveHost,
  });
  nats = lib;
  return lib;
}

/**
 * nats.js names no server for an IP address, and Node then checks the certificate against
 * "localhost": the name checked is the configured one, else the URL's host, IP or not.
 */
function natsTlsOptions(tls: TlsOptions | undefined, host: string) {
  const expected = tls?.serverName ?? host;
  return {
    ...nodeTlsOptions(tls),
    // No SNI for an IP address (RFC 6066), which Node refuses to send.
    servername: isIP(expected) === 0 ? expected : undefined,
    checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(expected, cert),
  };
}

function classify(error: unknown): FailureReason | undefined {
  if (nats === undefined || !(error instanceof Error)) return undefined;
  const { errors } = nats;
  if (error instanceof errors.AuthorizationError || error instanceof errors.UserAuthenticationExpiredError)
    return 'auth';
  // nats.js wraps a socket's error (ECONNREFUSED) in a ConnectionError.
  if (errorCode(error.cause) !== undefined) return classifyCommon(error.cause);
  if (error instanceof errors.TimeoutError) return 'timeout';
  if (error instanceof errors.ConnectionError || error instanceof errors.ProtocolError) return 'protocol';
  return undefined;
}

/** The transport's words for a peer that is not a NATS server, said plainly. */
function plainly(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (error.message === 'unexpected response from server')
    return new CheckFailure('not a NATS server: its first line is not INFO', 'protocol');
  // A socket closed without an error: nats.js has nothing to say but this.
  if (error.message.includes('node provided an undefined error'))
    return new CheckFailure('connection closed before INFO', 'protocol');
  return error;
}

/** `$JS.API.INFO`: the account's JetStream info, or why there is none. */
async function checkJetStream(nc: NatsConnection, timeoutMs: number): Promise<void> {
  let reply: unknown;
  try {
    reply = (await nc.request('$JS.API.INFO', '', { timeout: timeoutMs })).json();
  } catch (error) {
    if (nats !== undefined && error instanceof nats.errors.RequestError && error.isNoResponders())
      throw new CheckFailure('JetStream is not enabled', 'assertion');
    throw error;
  }
  const problem = (reply as { error?: { description?: unknown } } | null)?.error;
  if (problem !== undefined) {
    const description = typeof problem.description === 'string' ? problem.description : 'error';
    throw new CheckFailure(`JetStream: ${description}`, 'assertion');
  }
}

/**
 * Connects (user and password, token or creds as configured), flushes (a PING/PONG round trip),
 * optionally asks JetStream for the account info, and closes. nats.js never reconnects here, and
 * every socket a run opens is created with its signal.
 */
const datastore = urlDatastoreKind(URL_SPEC);

export const natsCheck: CheckKind<NatsOptions> = {
  kind: 'nats',
  ...datastore,
  componentType: 'component',
  speaksTls: true,
  secretFiles: { passwordFile: 'password', tokenFile: 'token', credsFile: 'creds' },
  secrets: (o) => [
    ...datastore.secrets(o),
    ...(o.token === undefined ? [] : [o.token]),
    ...(o.creds === undefined ? [] : credsSecrets(o.creds)),
  ],
  options,
  classify,
  create: (o, check) => async (signal, recorder) => {
    const e = endpoint(o.url, URL_SPEC);
    const password = o.password ?? e.password;
    const lib = await loadNats();
    signal.throwIfAborted();
    const run: RunConnections = { signal, sockets: [], transports: [] };
    // The TLS socket takes the raw one's handle over: both are destroyed.
    const destroy = () => {
      for (const transport of run.transports) transport.socket?.destroy();
      for (const socket of run.sockets) socket.destroy();
    };
    const abort = abortable(signal, destroy);
    let nc: NatsConnection | undefined;
    try {
      nc = await abort.race(
        currentRun.run(run, () =>
          lib.NatsConnectionImpl.connect({
            servers: hostPort(e.host, e.port),
            name: 'vitals',
            timeout: check.timeoutMs,
            reconnect: false,
            maxReconnectAttempts: 0,
            // The server's list of its cluster peers is not this check's target.
            ignoreClusterUpdates: true,
            noRandomize: true,
            ...(e.url.protocol === 'tls:' ? { tls: natsTlsOptions(o.tls, e.host) } : {}),
            ...(e.user === '' ? {} : { user: e.user, pass: password }),
            ...(o.token === undefined ? {} : { token: o.token }),
            // nats.js wants a newline after the seed's END line, one the loader takes off the file.
            ...(o.creds === undefined
              ? {}
              : { authenticator: lib.credsAuthenticator(new TextEncoder().encode(`${o.creds}\n`)) }),
          }),
        ),
      );
      await abort.race(nc.flush());
      if (o.jetstream) await abort.race(checkJetStream(nc, check.timeoutMs));
      return undefined;
    } catch (error) {
      throw plainly(error);
    } finally {
      abort.dispose();
      recordPeerCertificates(run.transports.at(-1)?.socket, recorder);
      if (nc !== undefined && !signal.aborted) await nc.close().catch(() => undefined);
      destroy();
    }
  },
};
