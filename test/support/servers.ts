/**
 * In-process fault servers for the check-kind contract: a TCP server that accepts and never
 * answers, a listener whose backlog is full (a blackholed port), a UDP socket that never
 * answers, and a tiny authoritative DNS server. All on 127.0.0.1, port 0. Node built-ins only
 * (plus the openssl CLI for a test certificate).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { resolveBinary } from './binaries.js';
import { closedPort } from './ports.js';

export interface SilentServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Sockets currently open on the server side. */
  openSockets(): number;
  /** Connections accepted since start. */
  accepted(): number;
  close(): Promise<void>;
}

/** Accepts every connection and never sends or reads a byte: a hung server. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  // Reads (and drops) what the client sends, so that its FIN or RST is seen and the socket
  // closes: the open-socket count then tells whether the client let go.
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    openSockets: () => sockets.size,
    accepted: () => accepted,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface BlackholeListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A port where a connect neither completes nor is refused: a stopped process listening with a
 * backlog of one, its accept queue filled. Further SYNs are dropped, as a firewall would.
 */
export async function startBlackhole(): Promise<BlackholeListener> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', "require('net').createServer().listen(0, '127.0.0.1', 1, function () { console.log(this.address().port) })"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', (data: Buffer) => resolve(Number(data.toString().trim())));
  });
  child.kill('SIGSTOP');
  // Fill the accept queue: the kernel completes handshakes for a stopped process until it is full.
  const fillers: net.Socket[] = [];
  const close = async () => {
    for (const socket of fillers) socket.destroy();
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null)
      await new Promise((resolve) => child.once('exit', resolve));
  };
  for (;;) {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 200);
    });
    if (!connected) break;
    if (fillers.length > 16) {
      await close();
      throw new Error('the listen backlog never filled');
    }
  }
  return { port, close };
}

export interface UdpServer {
  readonly port: number;
  /** Datagrams received since start. */
  received(): number;
  close(): Promise<void>;
}

/** A UDP socket that reads every datagram and answers none: a hung DNS server. */
export async function startSilentUdpServer(): Promise<UdpServer> {
  const socket = dgram.createSocket('udp4');
  let received = 0;
  socket.on('message', () => {
    received += 1;
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    received: () => received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const h = groups(head);
  const t = address.includes('::') ? groups(tail) : [];
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

/**
 * An authoritative DNS server over UDP for A and AAAA: a known name answers with its records
 * (NOERROR without answers when it has none of the asked type), any other name NXDOMAIN.
 */
export async function startDnsServer(records: Record<string, readonly string[]>): Promise<UdpServer> {
  const socket = dgram.createSocket('udp4');
  let received = 0;
  socket.on('message', (query, peer) => {
    received += 1;
    const labels: string[] = [];
    let offset = 12;
    for (let length = query[offset] ?? 0; length > 0; length = query[offset] ?? 0) {
      labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
      offset += length + 1;
    }
    const questionEnd = offset + 5; // the root label, QTYPE and QCLASS
    const type = query.readUInt16BE(offset + 1);
    const name = labels.join('.').toLowerCase();
    const known = records[name];
    const answers = (known ?? []).filter((a) => (type === 1 ? net.isIPv4(a) : type === 28 ? net.isIPv6(a) : false));
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // ID
    const rd = (query[2] ?? 0) & 0x01;
    header[2] = 0x84 | rd; // QR, AA, RD as asked
    header[3] = known === undefined ? 0x83 : 0x80; // RA, RCODE NXDOMAIN or NOERROR
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const rrs = answers.map((address) => {
      const data = net.isIPv4(address) ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(data.length, 10);
      return Buffer.concat([rr, data]);
    });
    socket.send(Buffer.concat([header, query.subarray(12, questionEnd), ...rrs]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    received: () => received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

export interface SelfSigned {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A self-signed EC certificate in `dir` for 127.0.0.1 and vitals.test, valid one day. */
export function makeSelfSignedCert(dir: string): SelfSigned {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync(
    resolveBinary('openssl'),
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=vitals-test',
      '-addext',
      'subjectAltName=DNS:vitals.test,IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}

/** A database server a helper started on loopback (support/postgres.ts, support/redis.ts). */
export interface LocalServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Random, with '#', '@' and '%' (URL-encoding matters). */
  readonly password: string;
  /** Client connections, the helper's own admin connection left out. */
  connections(): Promise<number>;
  /** SIGSTOP: TCP connects still complete in the kernel, no reply ever comes. */
  pause(): void;
  resume(): void;
  logTail(): string;
  /** Stops it (SIGKILL after 5 s) and removes its temp dir. Idempotent. */
  close(): Promise<void>;
}

export interface TlsServerFixture<S> {
  /** The server under test, started with `cert`. */
  readonly server: S;
  readonly silent: SilentServer;
  /** A port nothing listens on. */
  readonly closed: number;
  /** A temp dir for the test's files; it holds `cert`. */
  readonly dir: string;
  readonly cert: SelfSigned;
}

/**
 * For a check kind's tests against a real TLS-capable server: a `beforeAll` that makes a temp dir
 * with a self-signed cert and starts `start(cert)`, a silent server and a closed port; an
 * `afterAll` that closes both servers and removes the dir. The fields are set by `beforeAll`.
 */
export function tlsServerFixture<S extends { close(): Promise<void> }>(
  prefix: string,
  start: (cert: SelfSigned) => Promise<S>,
): TlsServerFixture<S> {
  const fixture = {} as { -readonly [K in keyof TlsServerFixture<S>]: TlsServerFixture<S>[K] };
  beforeAll(async () => {
    fixture.dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    fixture.cert = makeSelfSignedCert(fixture.dir);
    [fixture.server, fixture.silent, fixture.closed] = await Promise.all([
      start(fixture.cert),
      startSilentServer(),
      closedPort(),
    ]);
  });
  afterAll(async () => {
    await fixture.silent.close();
    await fixture.server.close();
    rmSync(fixture.dir, { recursive: true, force: true });
  });
  return fixture;
}
