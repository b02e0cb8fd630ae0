/**
 * Raw HTTP/1.1 over node:net: bytes go on the wire exactly as given (garbage methods, invalid
 * percent-encoding, bare CR, oversized lines), which node:http's client refuses to send.
 */
import net from 'node:net';

export interface RawResponse {
  /** Status of every response on the connection, in order (empty: closed without an answer). */
  readonly statuses: number[];
  /** Everything the server sent. */
  readonly text: string;
  /** Bodies of the responses, split on the header/body boundary (best effort). */
  readonly bodies: string[];
  /** The server closed (or reset) the connection, rather than the client timing out. */
  readonly closedByServer: boolean;
  readonly ms: number;
}

/**
 * Sends `request` and half-closes: the server answers what it parsed, then closes. Resolves
 * with everything received once the connection closes, or after `timeoutMs` (closedByServer
 * false: a hang).
 */
export function rawRequest(
  port: number,
  request: string | Buffer,
  options: { timeoutMs?: number; head?: boolean } = {},
): Promise<RawResponse> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const socket = net.connect({ port, host: '127.0.0.1' }, () => {
      socket.end(request);
    });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      closedByServer = true;
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') closedByServer = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({
        ...parseResponses(text, options.head === true),
        text,
        closedByServer,
        ms: performance.now() - started,
      });
    });
  });
}

/** `head`: the requests were HEAD, so a Content-Length announces no body. */
export function parseResponses(text: string, head = false): { statuses: number[]; bodies: string[] } {
  const statuses: number[] = [];
  const bodies: string[] = [];
  let rest = text;
  for (;;) {
    const statusLine = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(rest);
    if (statusLine === null) break;
    statuses.push(Number(statusLine[1]));
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const headers = rest.slice(0, end);
    rest = rest.slice(end + 4);
    const length = /\r\ncontent-length: *(\d+)/i.exec(headers);
    const chunked = /\r\ntransfer-encoding: *chunked/i.test(headers);
    if (head) {
      bodies.push('');
    } else if (length !== null) {
      bodies.push(rest.slice(0, Number(length[1])));
      rest = rest.slice(Number(length[1]));
    } else if (chunked) {
      let body = '';
      for (;;) {
        const size = /^([0-9a-f]+)\r\n/i.exec(rest);
        if (size === null) break;
        const n = parseInt(size[1] ?? '0', 16);
        rest = rest.slice(size[0].length);
        body += rest.slice(0, n);
        rest = rest.slice(n + 2);
        if (n === 0) break;
      }
      bodies.push(body);
    } else {
      bodies.push('');
    }
  }
  return { statuses, bodies };
}

/** Opens a socket and resolves once connected. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
