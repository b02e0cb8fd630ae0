import { z } from 'zod';
import type { ChannelModel, SocketOptions } from 'amqplib';
import type { CheckKind, FailureReason, UrlSpec } from '../types.js';
import { CheckFailure } from './classify.js';
import { abortable } from './support/abort.js';
import { credentialOptions, onePassword, urlDatastoreKind } from './support/credentials.js';
import { nodeTlsOptions, recordingServerIdentity, tlsSchema } from './support/tls.js';
import { endpoint, hostPort, urlString } from './support/url.js';

// The path is the vhost, percent-decoded like a database name (checked at load).
const URL_SPEC: UrlSpec = { defaultPorts: { 'amqp:': 5672, 'amqps:': 5671 }, pathIsDatabase: true };
const DEFAULT_VHOST = '/';

const count = (what: string) =>
  z
    .number({ error: `${what} takes a number` })
    .int({ error: `${what} takes a whole number, 0 or more` })
    .nonnegative({ error: `${what} takes a whole number, 0 or more` })
    .optional();

const options = z
  .strictObject({
    /** `amqp://[user[:password]@]host[:port][/vhost]`, `amqps://` for TLS; `%2F` in a vhost is a `/`. */
    url: urlString(URL_SPEC)
      .refine((text) => !text.includes('?'), { message: 'URL parameters are not supported' })
      .refine((text) => !/^[a-z]+:\/\/[^/]*\/[^/]*\//i.test(text), {
        message: 'the URL path is one vhost: write a / in its name as %2F (amqp://host/my%2Fvhost)',
      }),
    ...credentialOptions,
    tls: tlsSchema.optional(),
    /** A queue that must exist (a passive declare: it is never created). */
    queue: z.string().min(1).max(255).optional(),
    maxMessages: count('maxMessages'),
    minConsumers: count('minConsumers'),
  })
  .refine(...onePassword)
  .refine((o) => !(o.tls !== undefined && o.url.toLowerCase().startsWith('amqp:')), {
    message: 'tls options need an amqps:// URL',
    path: ['tls'],
  })
  .superRefine((o, ctx) => {
    for (const field of ['maxMessages', 'minConsumers'] as const) {
      if (o[field] !== undefined && o.queue === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} needs a queue` });
    }
  });
type AmqpOptions = z.infer<typeof options>;

/**
 * What amqplib connects with; the vhost decoded, "/" when the URL has none. Without a user or a
 * password, none is sent and amqplib logs in as guest/guest, as it does for such a URL (RabbitMQ
 * accepts guest from loopback only).
 */
function connectionParameters(o: AmqpOptions) {
  const e = endpoint(o.url, URL_SPEC);
  const password = o.password ?? e.password;
  const anonymous = e.user === '' && password === '';
  return {
    host: e.host,
    port: e.port,
    tls: e.url.protocol === 'amqps:',
    user: anonymous ? undefined : e.user,
    password: anonymous ? undefined : password,
    vhost: e.database ?? DEFAULT_VHOST,
  };
}

// Loaded on first use: a config without amqp checks never pays for the client at start-up.
let amqplib: typeof import('amqplib') | undefined;

const ignore = () => undefined;

// What amqplib says when the server closes the connection in answer to connection.open. RabbitMQ
// answers 530 NOT_ALLOWED both for a vhost that does not exist and for one the user has no
// permission on, and amqplib drops its text: either way these credentials may not use it, and
// nothing is wrong with the broker, so it is an auth failure (ACCESS_REFUSED / 403 on a bad
// password is one too).
const VHOST_REFUSED = /^Expected ConnectionOpenOk; got <ConnectionClose\b/;

// A peer that does not speak AMQP 0-9-1 (garbage where a frame should be, the wrong frame, a
// hang-up during the handshake), or a broker that closed the connection on us.
const PROTOCOL_ERROR =
  /^(Handshake terminated by server|Expected |Frame |Invalid frame|Unknown frame type|Socket closed abruptly|SASL mechanism|Unexpected close|Connection closed|Channel ended)/;

function classify(error: unknown): FailureReason | undefined {
  // Only amqplib's own errors, whose code is an AMQP reply code or none; CheckFailure and socket
  // errors (ECONNREFUSED, TLS: a string code) are the generic classifier's.
  if (!(error instanceof Error) || error instanceof CheckFailure) return undefined;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string') return undefined;
  const { message } = error;
  // 403 ACCESS_REFUSED: a bad login, or a queue these credentials may not declare.
  if (code === 403 || /^Handshake terminated by server: 403\b/.test(message) || VHOST_REFUSED.test(message))
    return 'auth';
  if (message === 'connect ETIMEDOUT') return 'timeout';
  if (PROTOCOL_ERROR.test(message)) return 'protocol';
  return undefined;
}

/** The handshake's refusal of the vhost, said plainly; any other error as it is. */
function vhostRefusal(error: unknown, vhost: string): unknown {
  if (!(error instanceof Error) || !VHOST_REFUSED.test(error.message)) return error;
  return new CheckFailure(`vhost ${vhost} refused: it does not exist or the user may not use it`, 'auth', {
    cause: error,
  });
}

interface QueueState {
  readonly messageCount: number;
  readonly consumerCount: number;
}

function queueProblem(o: AmqpOptions, state: QueueState): string | undefined {
  if (o.maxMessages !== undefined && state.messageCount > o.maxMessages)
    return `queue ${String(o.queue)} has ${String(state.messageCount)} messages, expected ≤ ${String(o.maxMessages)}`;
  if (o.minConsumers !== undefined && state.consumerCount < o.minConsumers)
    return `queue ${String(o.queue)} has ${String(state.consumerCount)} consumers, expected ≥ ${String(o.minConsumers)}`;
  return undefined;
}

/**
 * Connects (user, password and vhost as the URL says), opens a channel, passively declares
 * `queue` when set (it must exist; it is never created) and checks its limits, then closes the
 * connection whatever happens. Heartbeats are off: a run is one short exchange.
 */
export const amqpCheck: CheckKind<AmqpOptions> = {
  kind: 'amqp',
  ...urlDatastoreKind(URL_SPEC),
  componentType: 'component',
  speaksTls: true,
  // host:port/vhost, the vhost percent-encoded as in a URL ("/" is %2F, as RabbitMQ writes it).
  target: (o) => {
    const e = connectionParameters(o);
    return `${hostPort(e.host, e.port)}/${encodeURIComponent(e.vhost)}`;
  },
  options,
  classify,
  create: (o, check) => async (signal, recorder) => {
    const e = connectionParameters(o);
    amqplib ??= await import('amqplib');
    // Node does not destroy a socket created with a signal that has already aborted.
    signal.throwIfAborted();
    // amqplib keeps its socket to itself until the handshake is done, and a connect or handshake
    // pending at the deadline would outlive the run. Node destroys a socket whose signal aborts;
    // a signal of our own, so that the engine's abort of a finished run cannot cut the goodbye.
    const socket = new AbortController();
    const destroy = () => {
      socket.abort();
    };
    const abort = abortable(signal, destroy);
    // net.connect and tls.connect take the signal; amqplib passes its socket options on to them
    // as they are, though its types do not name it.
    const socketOptions: SocketOptions & { signal: AbortSignal } = {
      timeout: check.timeoutMs,
      signal: socket.signal,
      ...(e.tls ? { ...nodeTlsOptions(o.tls), checkServerIdentity: recordingServerIdentity(recorder) } : {}),
    };
    const connecting = amqplib
      .connect(
        {
          protocol: e.tls ? 'amqps' : 'amqp',
          hostname: e.host,
          port: e.port,
          username: e.user,
          password: e.password,
          // amqplib unescapes the vhost it is given, even here: encoded, it arrives as it is.
          vhost: encodeURIComponent(e.vhost),
          heartbeat: 0,
        },
        socketOptions,
      )
      .then((model) => {
        // Before any socket event can reach it: a connection that dies emits 'error', and an
        // unheard 'error' would crash vitals.
        model.on('error', ignore);
        return model;
      });
    let model: ChannelModel | undefined;
    try {
      model = await abort.race(connecting).catch((error: unknown) => {
        throw vhostRefusal(error, e.vhost);
      });
      const channel = await abort.race(model.createChannel());
      channel.on('error', ignore);
      if (o.queue !== undefined) {
        let state: QueueState;
        try {
          state = await abort.race(channel.checkQueue(o.queue));
        } catch (error) {
          if ((error as { code?: unknown }).code === 404)
            throw new CheckFailure(`queue ${o.queue} does not exist`, 'assertion', { cause: error });
          throw error;
        }
        const problem = queueProblem(o, state);
        if (problem !== undefined) throw new CheckFailure(problem, 'assertion');
      }
      return undefined;
    } finally {
      abort.dispose();
      if (model === undefined || signal.aborted) {
        destroy();
      } else {
        // A polite connection.close keeps the broker's log free of "client unexpectedly closed
        // TCP connection"; the timer bounds it, and the socket goes either way.
        const timer = setTimeout(destroy, check.timeoutMs);
        timer.unref();
        model.close().then(
          () => {
            clearTimeout(timer);
            destroy();
          },
          () => {
            clearTimeout(timer);
            destroy();
          },
        );
      }
    }
  },
};
