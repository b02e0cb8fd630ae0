import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { credentialOptions, hostPort, parseUrl, tlsOptions, urlPasswords, urlString } from '../config/fields.js';
import type { CheckKind, FailureReason } from '../types.js';
import { CheckFailure } from './classify.js';

const PROTOCOLS = ['redis:', 'rediss:'];
const DEFAULT_PORT = 6379;

const options = z
  .strictObject({
    /** `redis://[user[:password]@]host[:port][/db]`, `rediss://` for TLS. */
    url: urlString(PROTOCOLS)
      .refine((text) => !text.includes('?'), { message: 'URL parameters are not supported' })
      .refine((text) => /^[a-z]+:\/\/[^/]*(\/\d*)?$/i.test(text), {
        message: 'the URL path must be a database number (redis://host:6379/0)',
      }),
    ...credentialOptions,
    tls: tlsOptions.optional(),
  })
  .refine((o) => !(o.password !== undefined && o.passwordFile !== undefined), {
    message: 'set either password or passwordFile, not both',
  })
  .refine((o) => !(o.tls !== undefined && o.url.toLowerCase().startsWith('redis:')), {
    message: 'tls options need a rediss:// URL',
    path: ['tls'],
  });
type RedisOptions = z.infer<typeof options>;

interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
  database: number | undefined;
}

/** The URL's password, decoded and as written (a user's own percent-encoding may differ from ours). */
function endpoint(o: RedisOptions): Endpoint {
  const url = parseUrl(o.url, PROTOCOLS);
  if (typeof url === 'string') throw new Error(url); // unreachable: the schema checked it
  const username = decodeURIComponent(url.username);
  const password = o.password ?? decodeURIComponent(url.password);
  const database = url.pathname.replace(/^\//, '');
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? DEFAULT_PORT : Number(url.port),
    tls: url.protocol === 'rediss:',
    username: username === '' ? undefined : username,
    password: password === '' ? undefined : password,
    database: database === '' ? undefined : Number(database),
  };
}

// Loaded on first use: a config without redis checks never pays for the client at start-up.
let redis: typeof import('redis') | undefined;

function classify(error: unknown): FailureReason | undefined {
  // Only errors from a run reach here, and a run has loaded the client.
  if (redis === undefined) return undefined;
  const { ConnectionTimeoutError, ErrorReply, SocketClosedUnexpectedlyError, SocketTimeoutError } = redis;
  if (error instanceof ErrorReply) {
    // WRONGPASS (bad credentials), NOAUTH (none given), NOPERM (ACL forbids the command), and
    // "ERR AUTH <password> called without any password configured".
    if (/^(WRONGPASS|NOAUTH|NOPERM)\b|^ERR\b.*\bAUTH\b/.test(error.message)) return 'auth';
    return 'error';
  }
  if (error instanceof ConnectionTimeoutError || error instanceof SocketTimeoutError) return 'timeout';
  if (error instanceof SocketClosedUnexpectedlyError) return 'protocol';
  return undefined;
}

/**
 * Connects (AUTH and SELECT as the URL says), sends PING, expects PONG, and destroys the client
 * whatever happens. The client never reconnects: a run is one attempt, and a dead server must
 * not leave a reconnect loop behind.
 */
export const redisCheck: CheckKind<RedisOptions> = {
  kind: 'redis',
  componentType: 'datastore',
  options,
  target: (o) => {
    const e = endpoint(o);
    return hostPort(e.host, e.port);
  },
  // The URL's password too, even when `password` overrides it: it is still in the config.
  secrets: (o) => [o.password ?? '', ...urlPasswords(o.url, PROTOCOLS)].filter((s) => s !== ''),
  classify,
  create: (o, check) => async (signal) => {
    const e = endpoint(o);
    // node-redis keeps a socket to itself until it has connected, and its destroy() cannot reach
    // it: a connect or TLS handshake pending at the deadline stayed open (SYN-SENT against a port
    // that drops SYNs), and one completing after it was kept, connected and unowned. Node
    // destroys a socket whose signal aborts, whatever the client knows of it.
    signal.throwIfAborted();
    const common = { host: e.host, port: e.port, connectTimeout: check.timeoutMs, reconnectStrategy: false as const, signal };
    redis ??= await import('redis');
    const client = redis.createClient({
      socket: e.tls
        ? {
            ...common,
            tls: true as const,
            ca: o.tls?.caFile !== undefined ? readFileSync(o.tls.caFile, 'utf8') : o.tls?.ca,
            rejectUnauthorized: o.tls?.insecureSkipVerify !== true,
            ...(o.tls?.serverName !== undefined ? { servername: o.tls.serverName } : {}),
          }
        : common,
      username: e.username,
      password: e.password,
      database: e.database,
      // No CLIENT SETINFO: one round trip less, and nothing an old server would reject.
      disableClientInfo: true,
      // A command issued while disconnected fails at once instead of waiting for a reconnect.
      disableOfflineQueue: true,
    });
    // Errors also reject the pending call; this only keeps the client's 'error' events (emitted
    // alongside) from crashing vitals.
    client.on('error', () => undefined);
    const destroy = () => {
      try {
        client.destroy();
      } catch {
        // already closed: a failed connect closes the client itself
      }
    };
    let abort: () => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      abort = () => {
        destroy();
        reject(signal.reason as Error);
      };
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      await Promise.race([client.connect(), aborted]);
      const reply = await Promise.race([client.ping(), aborted]);
      if (reply !== 'PONG') throw new CheckFailure('unexpected PING reply', 'protocol');
      return undefined;
    } finally {
      signal.removeEventListener('abort', abort);
      destroy();
    }
  },
};
