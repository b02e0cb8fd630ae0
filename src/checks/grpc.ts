import { readFileSync } from 'node:fs';
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { z } from 'zod';
import { RESPONSE_TIME, type CheckCommon, type CheckKind, type FailureReason, type RunRecorder } from '../types.js';
import { CheckFailure, errorCode } from './classify.js';
import { abortable } from './support/abort.js';
import { nodeTlsOptions, recordPeerCertificates, tlsSchema } from './support/tls.js';
import { unbracket } from './support/url.js';

const TARGET = /^(\[[0-9a-f:.]+\]|[^\s:/?#@[\]]+):(\d{1,5})$/i;

function hostAndPort(target: string): { host: string; port: number } | undefined {
  const match = TARGET.exec(target);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const port = Number(match[2]);
  return port >= 1 && port <= 65_535 ? { host: unbracket(match[1]), port } : undefined;
}

// A client certificate is gRPC's usual way to authenticate a caller; the other kinds do not send
// one, so these two stay out of the shared schema.
const grpcTlsSchema = tlsSchema
  .safeExtend({
    /** PEM client certificate (chain) for mTLS, read at every run. */
    certFile: z.string().min(1).optional(),
    /** Its PEM private key, read at every run. */
    keyFile: z.string().min(1).optional(),
  })
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
    message: 'set certFile and keyFile together',
  });

const options = z.strictObject({
  /** `host:port`, as a gRPC client dials it: no scheme, the port required. */
  target: z
    .string({ error: 'expected host:port' })
    .max(260)
    .refine((t) => hostAndPort(t) !== undefined, {
      message: 'expected host:port without a scheme (health.internal:50051; IPv6 as [::1]:50051)',
    }),
  /** The service name asked about; "" is the server as a whole. */
  service: z.string().max(200).default(''),
  tls: grpcTlsSchema.optional(),
  /** Sent as `:authority` instead of the target (a name a proxy routes on). */
  authority: z
    .string()
    .min(1)
    .max(260)
    .regex(/^[^\s\x00-\x1f\x7f]+$/, 'no blanks or control characters')
    .optional(),
});
type GrpcOptions = z.infer<typeof options>;

// The names of gRPC status codes, by number (https://grpc.github.io/grpc/core/md_doc_statuscodes.html).
const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];
const STATUS_REASONS: Readonly<Record<string, FailureReason>> = {
  DEADLINE_EXCEEDED: 'timeout',
  UNAUTHENTICATED: 'auth',
  PERMISSION_DENIED: 'auth',
  // A gRPC server without the health service.
  UNIMPLEMENTED: 'protocol',
};
/** RST_STREAM's CANCEL (RFC 9113 section 7). */
const NGHTTP2_CANCEL = 0x8;
/** A health answer is two bytes; anything this large is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;

// Loaded on first use: a config without grpc checks never pays for it (~25 ms here).
let http2: typeof import('node:http2') | undefined;

const CHECK_PATH = '/grpc.health.v1.Health/Check';
/** grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUSES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/*
 * The two messages of grpc.health.v1 by hand: a request with one string field and an answer
 * with one enum field are a few bytes of protobuf. grpc-health-check's codec costs 85 ms of
 * protobufjs loading here (250 ms on a loaded machine) on a check's first run, inside its deadline.
 * test/unit/grpc-health-codec.test.ts holds these to the official codec.
 */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** HealthCheckRequest { string service = 1; }, the field written even when empty, as grpc-health-check does. */
export function encodeHealthCheckRequest(service: string): Buffer {
  const text = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), varint(text.length), text]);
}

/** HealthCheckResponse { ServingStatus status = 1; }: the last status field wins; others are skipped. */
export function decodeHealthCheckResponse(message: Buffer): string {
  let at = 0;
  const readVarint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = message[at++];
      if (byte === undefined) throw new Error('truncated varint');
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new Error('varint too long');
  };
  let status = 0;
  while (at < message.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) {
      const value = readVarint();
      if (field === 1) status = value;
    } else if (wireType === 1 || wireType === 5) {
      at += wireType === 1 ? 8 : 4;
    } else if (wireType === 2) {
      at += readVarint();
    } else {
      throw new Error(`wire type ${String(wireType)}`);
    }
    if (at > message.length) throw new Error('truncated field');
  }
  return SERVING_STATUSES[status] ?? 'UNKNOWN';
}

interface Answer {
  readonly headers: IncomingHttpHeaders | undefined;
  readonly trailers: IncomingHttpHeaders | undefined;
  readonly body: Buffer;
}

function connected(socket: net.Socket, secure: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once(secure ? 'secureConnect' : 'connect', () => resolve());
    socket.once('error', reject);
    socket.once('close', () => reject(new CheckFailure('connection closed during the handshake', 'protocol')));
  });
}

function connect(o: GrpcOptions, host: string, port: number): net.Socket {
  if (o.tls === undefined) return net.connect({ host, port });
  const { certFile, keyFile } = o.tls;
  return tls.connect({
    host,
    port,
    ...nodeTlsOptions(o.tls),
    ...(certFile !== undefined && keyFile !== undefined
      ? { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }
      : {}),
    ALPNProtocols: ['h2'],
  });
}

/** One unary call on `session`: the answer as it came, once the stream has closed. */
function unaryCall(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body: Buffer) {
  return new Promise<Answer>((resolve, reject) => {
    // nghttp2 rejects what the peer sent (an HTTP/1 answer, a banner): say what that means.
    const fail = (error: Error) =>
      reject(
        errorCode(error) === 'ERR_HTTP2_ERROR'
          ? new CheckFailure(`not a gRPC server: it does not speak HTTP/2 (${error.message})`, 'protocol')
          : error,
      );
    session.once('error', fail);
    const stream = session.request(headers);
    let answerHeaders: IncomingHttpHeaders | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('response', (h) => {
      answerHeaders = h;
    });
    stream.on('trailers', (t: IncomingHttpHeaders) => {
      trailers = t;
    });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
      else {
        reject(new CheckFailure(`answer larger than ${String(MAX_ANSWER_BYTES)} bytes`, 'protocol'));
        stream.close(NGHTTP2_CANCEL);
      }
    });
    stream.on('error', fail);
    // After 'error', if any: a reset stream has already rejected.
    stream.on('close', () => resolve({ headers: answerHeaders, trailers, body: Buffer.concat(chunks) }));
    stream.end(body);
  });
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function decodedMessage(raw: string | undefined): string {
  if (raw === undefined || raw === '') return '';
  try {
    return decodeURIComponent(raw).slice(0, 200);
  } catch {
    return raw.slice(0, 200);
  }
}

/** What the answer says of `service`: nothing when SERVING, a CheckFailure otherwise. */
function judge(answer: Answer, service: string): void {
  const { headers } = answer;
  if (headers === undefined) throw new CheckFailure('the stream closed before any answer', 'protocol');
  const contentType = first(headers['content-type']) ?? '';
  const httpStatus = Number(headers[':status']);
  if (httpStatus !== 200 || !contentType.startsWith('application/grpc')) {
    throw new CheckFailure(
      `not a gRPC server (HTTP ${String(httpStatus)}, content-type ${contentType || 'none'})`,
      'protocol',
    );
  }
  // A trailers-only answer (an error without a message) carries its status in the headers.
  const code = first(answer.trailers?.['grpc-status']) ?? first(headers['grpc-status']);
  if (code === undefined) throw new CheckFailure('answer without grpc-status', 'protocol');
  const name = STATUS_NAMES[Number(code)] ?? `status ${code}`;
  const message = decodedMessage(first(answer.trailers?.['grpc-message']) ?? first(headers['grpc-message']));
  if (name === 'NOT_FOUND')
    throw new CheckFailure(`service "${service}" is unknown to the server (NOT_FOUND)`, 'assertion');
  if (name !== 'OK') {
    throw new CheckFailure(message === '' ? name : `${name}: ${message}`, STATUS_REASONS[name] ?? 'error');
  }
  const status = servingStatus(answer.body);
  if (status !== 'SERVING') throw new CheckFailure(`service "${service}" is ${status}`, 'assertion');
}

function servingStatus(body: Buffer): string {
  // The gRPC frame: a compressed flag (we accept no compression), a 4-byte length, the message.
  if (body.length < 5 || body[0] !== 0 || body.length !== 5 + body.readUInt32BE(1)) {
    throw new CheckFailure('malformed gRPC message in the answer', 'protocol');
  }
  try {
    return decodeHealthCheckResponse(body.subarray(5));
  } catch {
    throw new CheckFailure('malformed HealthCheckResponse', 'protocol');
  }
}

function requestFor(o: GrpcOptions, check: CheckCommon): { headers: OutgoingHttpHeaders; body: Buffer } {
  const message = encodeHealthCheckRequest(o.service);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(message.length, 1);
  return {
    headers: {
      ':method': 'POST',
      ':path': CHECK_PATH,
      ':authority': o.authority ?? o.target,
      'content-type': 'application/grpc',
      te: 'trailers',
      // The server gives up when we do: a hung backend behind it costs it no more than us.
      // At most 8 digits (the gRPC HTTP/2 spec): seconds beyond 27 hours of milliseconds.
      'grpc-timeout':
        check.timeoutMs < 1e8 ? `${String(check.timeoutMs)}m` : `${String(Math.ceil(check.timeoutMs / 1000))}S`,
    },
    body: Buffer.concat([frame, message]),
  };
}

/**
 * Calls `grpc.health.v1.Health/Check` over a connection of its own, closed after every run.
 *
 * The call goes over node:http2, not @grpc/grpc-js: a grpc-js channel opens its sockets where no
 * signal reaches them, and `close()` leaves them behind. Measured: against a port that drops SYNs
 * every run left a socket in SYN-SENT, and against a server that accepts and never answers one
 * ESTABLISHED. Here the probe owns the one socket and destroys it at the deadline.
 */
export const grpcCheck: CheckKind<GrpcOptions> = {
  kind: 'grpc',
  componentType: 'component',
  observed: RESPONSE_TIME,
  speaksTls: true,
  options,
  classify: (error) => (errorCode(error)?.startsWith('ERR_HTTP2') === true ? 'protocol' : undefined),
  target: (o) => o.target,
  create: (o, check) => async (signal, recorder: RunRecorder) => {
    http2 ??= await import('node:http2');
    const { host, port } = hostAndPort(o.target) as { host: string; port: number };
    const request = requestFor(o, check);
    signal.throwIfAborted();
    const socket = connect(o, host, port);
    let session: ClientHttp2Session | undefined;
    const destroy = () => {
      session?.destroy();
      socket.destroy();
    };
    const abort = abortable(signal, destroy);
    try {
      await abort.race(connected(socket, o.tls !== undefined));
      if (socket instanceof tls.TLSSocket) {
        recordPeerCertificates(socket, recorder);
        if (socket.alpnProtocol !== 'h2') {
          throw new CheckFailure('not a gRPC server: it did not negotiate HTTP/2 (ALPN h2)', 'protocol');
        }
      }
      const s = http2.connect(`${o.tls === undefined ? 'http' : 'https'}://${o.target}`, {
        createConnection: () => socket,
      });
      session = s;
      // Errors also reject the pending call; this keeps a late one from crashing vitals.
      s.on('error', () => undefined);
      judge(await abort.race(unaryCall(s, request.headers, request.body)), o.service);
      return undefined;
    } finally {
      abort.dispose();
      destroy();
    }
  },
};
