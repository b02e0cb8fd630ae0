/**
 * The measurements beside the probe load: process start to the first /health 200, idle CPU and
 * RSS with 1,000 checks, and /metrics latency with 1,000 checks against a plain prom-client
 * registry of the same size.
 */
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { checkKinds } from '../../src/checks/index.js';
import { freePort } from '../../test/support/ports.js';
import { spawnRaw, spawnTarget, type Spawned } from './children.js';
import { get, sleep, waitFor200 } from './http.js';
import { runLoad, type LoadResult, type LoadTool } from './load.js';
import { CLK_TCK, sampleGroup } from './procfs.js';
import { median } from './stats.js';
import { ROOT } from './versions.js';

export const CLI = path.join(ROOT, 'dist/cli.js');
export const TSX_IMPORT = ['--import', 'tsx'];

export function targetFile(name: string): string {
  return path.join(ROOT, 'bench/targets', `${name}.ts`);
}

// ---------------------------------------------------------------- start to first /health 200

export interface StartupResult {
  readonly samples: number;
  /** spawn() to the first /health 200, each sample. */
  readonly healthMs: number[];
  readonly medianHealthMs: number;
  /** spawn() to the first /ready 200 (every check's first result in), each sample. */
  readonly readyMs: number[];
  readonly medianReadyMs: number;
  readonly pollEveryMs: number;
}

const POLL_MS = 5;

async function pollUntil200(url: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const reply = await get(url, { timeoutMs: 1000 });
      if (reply.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${url}: no 200 before the deadline`);
    await sleep(POLL_MS);
  }
}

/** Spawns `node dist/cli.js serve` `samples` times (one at a time) and polls /health, then /ready. */
export async function measureStartup(configFile: string, samples: number): Promise<StartupResult> {
  const healthMs: number[] = [];
  const readyMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${String(port)}`;
    const started = performance.now();
    const proc = spawnRaw(
      [process.execPath, CLI, 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', String(port)],
      {
        cwd: ROOT,
      },
    );
    try {
      await pollUntil200(`${base}/health`, started + 15_000);
      healthMs.push(performance.now() - started);
      await pollUntil200(`${base}/ready`, started + 15_000);
      readyMs.push(performance.now() - started);
    } finally {
      await proc.stop(3000);
    }
    await sleep(200);
  }
  return {
    samples,
    healthMs,
    medianHealthMs: median(healthMs) ?? 0,
    readyMs,
    medianReadyMs: median(readyMs) ?? 0,
    pollEveryMs: POLL_MS,
  };
}

// ---------------------------------------------------------------- 1,000 checks

export interface ManyChecksPlan {
  readonly checks: number;
  readonly tool: LoadTool;
  /** 0: no warm-up. */
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly rounds: number;
  /** 0: skip the idle measurement. */
  readonly idleSeconds: number;
  readonly tmpDir: string;
  readonly cpuProfDir?: string;
}

export interface IdleResult {
  readonly seconds: number;
  /** Percent of one core. */
  readonly cpuPercent: number;
  readonly rssMaxMB: number;
  readonly rssLastMB: number;
  /** Connections the TCP sink accepted per second over the window (1,000 checks / 10 s = 100). */
  readonly sinkConnectionsPerSecond: number;
}

export interface MetricsRun {
  readonly round: number;
  readonly target: 'vitals' | 'vitals-openmetrics' | 'prom-client';
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly non2xx: number;
  readonly connectErrors: number;
}

export interface ManyChecksResult {
  readonly checks: number;
  /** "tcp checks from a config (kind tcp)" or "custom checks (kind tcp not available)". */
  readonly via: string;
  readonly tcpKindAvailable: boolean;
  readonly series: number;
  readonly baselineSeries: number;
  readonly metricsBytes: number;
  readonly idle?: IdleResult;
  readonly metricsRuns: MetricsRun[];
  readonly metrics: {
    readonly vitalsP99Ms: number;
    readonly vitalsOpenMetricsP99Ms: number;
    readonly promClientP99Ms: number;
    readonly vitalsRps: number;
    readonly promClientRps: number;
  };
}

/** The Accept header Prometheus sends (it asks for OpenMetrics first). */
export const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

/**
 * The options a `tcp` kind accepts for host:port, found by trying the usual shapes against the
 * kind's own schema (the kind is being written by another engineer; its field names may vary).
 */
function tcpOptions(host: string, port: number): Record<string, unknown> | undefined {
  const kind = checkKinds.get('tcp');
  if (kind === undefined) return undefined;
  const candidates: Record<string, unknown>[] = [
    { host, port },
    { address: `${host}:${String(port)}` },
    { target: `${host}:${String(port)}` },
    { url: `tcp://${host}:${String(port)}` },
    { endpoint: `${host}:${String(port)}` },
  ];
  return candidates.find((candidate) => kind.options.safeParse(candidate).success);
}

function sampleLines(text: string): number {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
}

function metricsRun(round: number, target: MetricsRun['target'], result: LoadResult): MetricsRun {
  return {
    round,
    target,
    requests: result.requests,
    rps: result.rps,
    p50Ms: result.latencyMs.p50,
    p99Ms: result.latencyMs.p99,
    maxMs: result.latencyMs.max,
    non2xx: result.non2xx,
    connectErrors: result.errors.connect,
  };
}

export async function measureManyChecks(plan: ManyChecksPlan, log: (line: string) => void): Promise<ManyChecksResult> {
  let accepted = 0;
  const sink = net.createServer((socket) => {
    accepted += 1;
    socket.on('error', () => undefined);
    socket.end();
  });
  const started: Spawned[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      sink.once('error', reject);
      sink.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve);
    });
    const sinkPort = (sink.address() as net.AddressInfo).port;
    const options = tcpOptions('127.0.0.1', sinkPort);
    const profFlags = (name: string) =>
      plan.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.join(plan.cpuProfDir, name)];
    let vitals: Spawned;
    let via: string;
    if (options !== undefined) {
      via = `${String(plan.checks)} tcp checks from a config file, vitals CLI (node dist/cli.js serve)`;
      const checks = Array.from({ length: plan.checks }, (_, i) => ({
        name: `tcp-${String(i + 1).padStart(4, '0')}`,
        kind: 'tcp',
        ...options,
      }));
      const file = path.join(plan.tmpDir, 'tcp-1000.yml');
      await writeFile(
        file,
        JSON.stringify({
          server: { shutdownDelay: '0s', shutdownTimeout: '1s' },
          defaults: { interval: '10s', timeout: '2s' },
          checks,
        }),
      );
      vitals = await spawnTarget(
        'vitals-1000-checks',
        [
          process.execPath,
          ...profFlags('vitals-1000-checks'),
          CLI,
          'serve',
          '--config',
          file,
          '--host',
          '127.0.0.1',
          '--port',
          '0',
        ],
        // Info level: the CLI announces its port in its "listening" log line.
        { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info' }, timeoutMs: 60_000 },
      );
    } else {
      via = `${String(plan.checks)} custom checks (TCP connect + close, 10 s interval) through bench/targets/many-checks.ts: the config kind "tcp" does not exist yet`;
      vitals = await spawnTarget(
        'vitals-1000-checks',
        [
          process.execPath,
          ...TSX_IMPORT,
          ...profFlags('vitals-1000-checks'),
          targetFile('many-checks'),
          '--checks',
          String(plan.checks),
          '--sink',
          `127.0.0.1:${String(sinkPort)}`,
        ],
        { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn' }, timeoutMs: 60_000 },
      );
    }
    started.push(vitals);
    log(`  1,000 checks: ${via}`);
    const base = `http://127.0.0.1:${String(vitals.port)}`;
    await waitFor200(`${base}/startup`, 60_000);

    let idle: IdleResult | undefined;
    if (plan.idleSeconds > 0) {
      await sleep(2000);
      log(`  idle CPU and RSS over ${String(plan.idleSeconds)} s ...`);
      const first = sampleGroup(vitals.pid);
      const acceptedBefore = accepted;
      let rssMax = first.rss;
      let last = first;
      const deadline = first.at + plan.idleSeconds * 1000;
      while (performance.now() < deadline) {
        await sleep(Math.min(1000, Math.max(0, deadline - performance.now())));
        last = sampleGroup(vitals.pid);
        rssMax = Math.max(rssMax, last.rss);
      }
      const wall = (last.at - first.at) / 1000;
      idle = {
        seconds: wall,
        cpuPercent: ((last.ticks - first.ticks) / CLK_TCK / wall) * 100,
        rssMaxMB: rssMax / 1024 / 1024,
        rssLastMB: last.rss / 1024 / 1024,
        sinkConnectionsPerSecond: (accepted - acceptedBefore) / wall,
      };
    }

    const text = (await get(`${base}/metrics`, { timeoutMs: 30_000 })).body;
    const series = sampleLines(text);
    const baseline = await spawnTarget(
      'prom-client-registry',
      [process.execPath, ...TSX_IMPORT, targetFile('prom-registry'), '--series', String(series)],
      { cwd: ROOT, timeoutMs: 60_000 },
    );
    started.push(baseline);
    const baselineSeries = Number(baseline.records.find((r) => typeof r.series === 'number')?.series ?? 0);
    const baselineUrl = `http://127.0.0.1:${String(baseline.port)}/metrics`;
    const variants: { target: MetricsRun['target']; url: string; headers: Record<string, string> }[] = [
      { target: 'vitals', url: `${base}/metrics`, headers: {} },
      { target: 'vitals-openmetrics', url: `${base}/metrics`, headers: { Accept: PROMETHEUS_ACCEPT } },
      { target: 'prom-client', url: baselineUrl, headers: {} },
    ];
    const runs: MetricsRun[] = [];
    for (let round = 0; round < plan.rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        if (plan.warmupSeconds > 0) {
          await runLoad(plan.tool, {
            url: variant.url,
            connections: 1,
            seconds: plan.warmupSeconds,
            headers: variant.headers,
          });
        }
        const result = await runLoad(plan.tool, {
          url: variant.url,
          connections: 1,
          seconds: plan.seconds,
          headers: variant.headers,
        });
        runs.push(metricsRun(round, variant.target, result));
        log(
          `  /metrics ${variant.target.padEnd(18)} round ${String(round + 1)}: p99 ${result.latencyMs.p99.toFixed(2)} ms, ${result.rps.toFixed(0)} req/s`,
        );
      }
    }
    const p99 = (target: MetricsRun['target']) =>
      median(runs.filter((r) => r.target === target).map((r) => r.p99Ms)) ?? 0;
    const rps = (target: MetricsRun['target']) =>
      median(runs.filter((r) => r.target === target).map((r) => r.rps)) ?? 0;
    return {
      checks: plan.checks,
      via,
      tcpKindAvailable: options !== undefined,
      series,
      baselineSeries,
      metricsBytes: Buffer.byteLength(text),
      ...(idle === undefined ? {} : { idle }),
      metricsRuns: runs,
      metrics: {
        vitalsP99Ms: p99('vitals'),
        vitalsOpenMetricsP99Ms: p99('vitals-openmetrics'),
        promClientP99Ms: p99('prom-client'),
        vitalsRps: rps('vitals'),
        promClientRps: rps('prom-client'),
      },
    };
  } finally {
    for (const child of started.reverse()) await child.stop(plan.cpuProfDir === undefined ? 3000 : 10_000);
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
}
