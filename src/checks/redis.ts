import { z } from 'zod';
import type { CheckKind, FailureReason, UrlSpec } from '../types.js';
import { CheckFailure } from './classify.js';
import { abortable } from './support/abort.js';
import { credentialOptions, onePassword, urlDatastoreKind } from './support/credentials.js';
import { nodeTlsOptions, recordingServerIdentity, tlsSchema } from './support/tls.js';
import { endpoint, urlString } from './support/url.js';

// The path is a database number, checked by the schema below, not a name to decode.
const URL_SPEC: UrlSpec = { defaultPorts: { 'redis:': 6379, 'rediss:': 6379 }, pathIsDatabase: false };

const options = z
  .strictObject({
    /** `redis://[user[:password]@]host[:port][/db]`, `rediss://` for TLS. */
    url: urlString(URL_SPEC)
      .refine((text) => !text.includes('?'), { message: 'URL parameters are not supported' })
      .refine((text) => /^[a-z]+:\/\/[^/]*(\/\d*)?$/i.test(text), {
        message: 'the URL path must be a database number (redis://host:6379/0)',
      }),
    ...credentialOptions,
    tls: tlsSchema.optional(),
  })
  .refine(...onePassword)
  .refine((o) => !(o.tls !== undefined && o.url.toLowerCase().startsWith('redis:')), {
    message: 'tls options need a rediss:// URL',
    path: ['tls'],
  });
type RedisOptions = z.infer<typeof options>;

/** What the client connects with: an empty user or password is none. */
function connectionParameters(o: RedisOptions) {
  const e = endpoint(o.url, URL_SPEC);
  const password = o.password ?? e.password;
  return {
    host: e.host,
    port: e.port,
    tls: e.url.protocol === 'rediss:',
    username: e.user === '' ? undefined : e.user,
    password: password === '' ? undefined : password,
    database: e.path === '' ? undefined : Number(e.path),
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
  ...urlDatastoreKind(URL_SPEC),
  speaksTls: true,
  phases: ['connect', 'query'],
  options,
  classify,
  create: (o, check) => async (signal, recorder) => {
    const e = connectionParameters(o);
    // node-redis keeps a socket to itself until it has connected, and its destroy() cannot reach
    // it: a connect or TLS handshake pending at the deadline stayed open (SYN-SENT against a port
    // that drops SYNs), and one completing after it was kept, connected and unowned. Node
    // destroys a socket whose signal aborts, whatever the client knows of it.
    const common = {
      host: e.host,
      port: e.port,
      connectTimeout: check.timeoutMs,
      reconnectStrategy: false as const,
      signal,
    };
    redis ??= await import('redis');
    // Node does not destroy a socket created with a signal that has already aborted.
    signal.throwIfAborted();
    const client = redis.createClient({
      socket: e.tls
        ? {
            ...common,
            tls: true as const,
            ...nodeTlsOptions(o.tls),
            checkServerIdentity: recordingServerIdentity(recorder),
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
    const abort = abortable(signal, destroy);
    try {
      await abort.race(client.connect());
      recorder.phase('connect');
      const reply = await abort.race(client.ping());
      recorder.phase('query');
      if (reply !== 'PONG') throw new CheckFailure('unexpected PING reply', 'protocol');
      return undefined;
    } finally {
      abort.dispose();
      destroy();
    }
  },
};
