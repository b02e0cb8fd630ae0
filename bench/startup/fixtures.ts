/**
 * What the start-up benchmark runs against: the floor (a bare node:http server written as a
 * plain .mjs into the run's temp dir, so that it pays for neither tsx nor TypeScript), the vitals
 * configs, and the local listeners the passing checks connect to.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Same answer as bench/targets/raw-http.ts (the harness SIGKILLs its process group when it exits). */
const BARE_SERVER = `import { createServer } from 'node:http';
const body = Buffer.from('{"status":"pass"}');
const headers = { 'Content-Type': 'application/json', 'Content-Length': String(body.length) };
const server = createServer((_request, response) => {
  response.writeHead(200, headers);
  response.end(body);
});
process.on('SIGTERM', () => process.exit(0));
const port = Number(process.argv[2] ?? 0);
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: true, port: server.address().port }) + '\\n');
});
`;

/**
 * The floor of the 1,000-check CPU figure: what node itself spends on 1,000 TCP connects and
 * closes every 10 s (all at once, as vitals' runners do), with a 2 s timer per connection.
 */
const BARE_TCP_LOOP = `import net from 'node:net';
const [host, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1000)];
process.on('SIGTERM', () => process.exit(0));
const round = () => {
  for (let i = 0; i < count; i++) {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => socket.destroy(), 2000);
    const done = () => { clearTimeout(timer); socket.destroy(); };
    socket.once('connect', done).once('error', done);
  }
};
round();
setInterval(round, 10_000);
process.stdout.write(JSON.stringify({ listening: true, port: 0 }) + '\\n');
`;

/**
 * The same connects as vitals makes them: each of the 1,000 at its check's own fixed offset (the
 * engine's scheduleOffsetMs of its name, spread over the first second of every 10 s), on its own
 * timer. A loopback connect that wakes the sink costs the kernel more alone than in a batch of a
 * thousand, so this, not the batch, is the floor a spread schedule can reach.
 */
const SPREAD_TCP_LOOP = `import net from 'node:net';
import { createHash } from 'node:crypto';
const [host, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1000)];
process.on('SIGTERM', () => process.exit(0));
const INTERVAL = 10_000;
const offsetOf = (name) => Math.floor((createHash('sha256').update(name).digest().readUInt32BE(0) / 2 ** 32) * INTERVAL * 0.1);
const start = performance.now();
for (let i = 0; i < count; i++) {
  const offset = offsetOf('tcp-' + String(i + 1).padStart(4, '0'));
  const run = () => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => socket.destroy(), 2000);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const now = performance.now();
      setTimeout(run, start + offset + (Math.floor((now - start - offset) / INTERVAL) + 1) * INTERVAL - now);
    };
    socket.once('connect', done).once('error', done);
  };
  setTimeout(run, offset);
}
process.stdout.write(JSON.stringify({ listening: true, port: 0 }) + '\\n');
`;

export interface Fixtures {
  readonly dir: string;
  readonly bareServer: string;
  /** node bareTcpLoop HOST PORT: 1,000 connects every 10 s to the sink. */
  readonly bareTcpLoop: readonly string[];
  /** node spreadTcpLoop HOST PORT: the same connects at the 1,000 checks' own offsets. */
  readonly spreadTcpLoop: readonly string[];
  /** One mysql check against a closed port: the built-in default's shape, failing fast. */
  readonly defaultConfig: string;
  /** One tcp check against a closed port: no driver to import on the first run. */
  readonly tcpOnlyConfig: string;
  /** tcp, http and mysql checks, against closed ports and the local listeners. */
  readonly fiveConfig: string;
  /** 1,000 tcp checks at 10 s against the TCP sink. */
  readonly thousandConfig: string;
  /** Connections the TCP sink has accepted. */
  accepted(): number;
  close(): Promise<void>;
}

/** A port nobody listens on now (the kernel picks it; closed again at once). */
/** The CLI's arguments to serve `config` on 127.0.0.1:`port`, as every measured start uses them. */
export function serveArgs(config: string, port: number): string[] {
  return ['serve', '--config', config, '--host', '127.0.0.1', '--port', String(port)];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () =>
      resolve((server.address() as net.AddressInfo).port),
    );
  });
}

// Shutdown without delay: the benchmark stops every process it starts.
const SERVER = { shutdownDelay: '0s', shutdownTimeout: '1s' };

export async function createFixtures(): Promise<Fixtures> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vitals-startup-'));
  let accepted = 0;
  const sink = net.createServer((socket) => {
    accepted += 1;
    socket.on('error', () => undefined);
    socket.end();
  });
  const web = http.createServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' });
    response.end('ok');
  });
  const sinkPort = await listen(sink);
  const webPort = await listen(web);
  const closed = await freePort();

  const bareServer = path.join(dir, 'bare-http.mjs');
  writeFileSync(bareServer, BARE_SERVER);
  const bareTcpLoop = path.join(dir, 'bare-tcp-loop.mjs');
  writeFileSync(bareTcpLoop, BARE_TCP_LOOP);
  const spreadTcpLoop = path.join(dir, 'spread-tcp-loop.mjs');
  writeFileSync(spreadTcpLoop, SPREAD_TCP_LOOP);
  const write = (name: string, document: unknown) => {
    const file = path.join(dir, name);
    // JSON is YAML: the config loader reads it as is.
    writeFileSync(file, JSON.stringify(document, null, 1));
    return file;
  };
  const mysqlClosed = { name: 'mysql', kind: 'mysql', url: 'mysql://root@127.0.0.1:1/' };
  const defaultConfig = write('default-like.yml', { server: SERVER, checks: [mysqlClosed] });
  const tcpOnlyConfig = write('tcp-only.yml', {
    server: SERVER,
    checks: [{ name: 'tcp', kind: 'tcp', host: '127.0.0.1', port: closed }],
  });
  const fiveConfig = write('five.yml', {
    server: SERVER,
    checks: [
      mysqlClosed,
      { name: 'tcp-open', kind: 'tcp', host: '127.0.0.1', port: sinkPort },
      { name: 'tcp-closed', kind: 'tcp', host: '127.0.0.1', port: closed },
      { name: 'http-open', kind: 'http', url: `http://127.0.0.1:${String(webPort)}/health` },
      { name: 'http-closed', kind: 'http', url: `http://127.0.0.1:${String(closed)}/health` },
    ],
  });
  const thousandConfig = write('tcp-1000.yml', {
    server: SERVER,
    defaults: { interval: '10s', timeout: '2s' },
    checks: Array.from({ length: 1000 }, (_, i) => ({
      name: `tcp-${String(i + 1).padStart(4, '0')}`,
      kind: 'tcp',
      host: '127.0.0.1',
      port: sinkPort,
    })),
  });
  return {
    dir,
    bareServer,
    bareTcpLoop: [bareTcpLoop, '127.0.0.1', String(sinkPort), '1000'],
    spreadTcpLoop: [spreadTcpLoop, '127.0.0.1', String(sinkPort), '1000'],
    defaultConfig,
    tcpOnlyConfig,
    fiveConfig,
    thousandConfig,
    accepted: () => accepted,
    async close() {
      await Promise.all([sink, web].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
