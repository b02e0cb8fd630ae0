/**
 * The measurements of one suite: start → first /health 200 (vitals against the bare server,
 * interleaved), idle RSS and CPU, and /metrics latency with one back-to-back scraper.
 */
import http from 'node:http';
import path from 'node:path';
import { spawnRaw, spawnTarget, type Spawned } from '../lib/children.js';
import { get, sleep, waitFor200 } from '../lib/http.js';
import { CLK_TCK, sampleGroup, type GroupSample } from '../lib/procfs.js';
import { median } from '../lib/stats.js';
import { ROOT } from '../lib/versions.js';
import { freePort, serveArgs, type Fixtures } from './fixtures.js';

export const CLI = path.join(ROOT, 'dist/cli.js');

/** How vitals is started in one suite: which node, which flags before the script, which env. */
export interface Variant {
  readonly name: string;
  readonly nodeFlags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** What the variant tries, for the report. */
  readonly about: string;
  /** Another entry than dist/cli.js (the bundle). */
  readonly cli?: string;
}

export function vitalsCommand(node: string, variant: Variant, config: string, port: number): string[] {
  return [node, ...variant.nodeFlags, variant.cli ?? CLI, ...serveArgs(config, port)];
}

export function bareCommand(node: string, fixtures: Fixtures, port: number): string[] {
  return [node, fixtures.bareServer, String(port)];
}

// ---------------------------------------------------------------- start → first /health 200

const POLL_MS = 2;

/** Spawns `command` and polls /health every 2 ms; ms from spawn() to the first 200. */
export async function timeToHealth(command: string[], port: number, env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const proc = spawnRaw(command, { cwd: ROOT, env });
  const url = `http://127.0.0.1:${String(port)}/health`;
  try {
    for (;;) {
      try {
        const reply = await get(url, { timeoutMs: 2000 });
        if (reply.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(
          `${command.join(' ')} exited (${String(proc.child.exitCode ?? proc.child.signalCode)}) before /health answered`,
        );
      }
      if (performance.now() - started > 20_000) throw new Error(`${url}: no 200 within 20 s`);
      await sleep(POLL_MS);
    }
  } finally {
    await proc.stop(3000);
  }
}

export interface StartupFigures {
  readonly bareMs: number[];
  readonly vitalsMs: number[];
  readonly bareMedianMs: number;
  readonly vitalsMedianMs: number;
  readonly ratio: number;
}

/**
 * `samples` starts of each, alternating which goes first, after one discarded start of each
 * (page cache, and the compile cache's first fill when the variant uses one).
 */
export async function measureStartup(
  node: string,
  variant: Variant,
  fixtures: Fixtures,
  samples: number,
  config = fixtures.defaultConfig,
): Promise<StartupFigures> {
  const env = { ...process.env, LOG_LEVEL: 'warn', ...variant.env };
  const bareEnv = { ...process.env };
  const bare = async () => {
    const port = await freePort();
    return timeToHealth(bareCommand(node, fixtures, port), port, bareEnv);
  };
  const vitals = async () => {
    const port = await freePort();
    return timeToHealth(vitalsCommand(node, variant, config, port), port, env);
  };
  await bare();
  await vitals();
  const bareMs: number[] = [];
  const vitalsMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i % 2 === 0) {
      bareMs.push(await bare());
      vitalsMs.push(await vitals());
    } else {
      vitalsMs.push(await vitals());
      bareMs.push(await bare());
    }
    await sleep(100);
  }
  const bareMedianMs = median(bareMs) ?? Number.NaN;
  const vitalsMedianMs = median(vitalsMs) ?? Number.NaN;
  return { bareMs, vitalsMs, bareMedianMs, vitalsMedianMs, ratio: vitalsMedianMs / bareMedianMs };
}

/** One line of the interleaved comparison: a bare server or vitals with a variant, on a node. */
export interface StartupEntry {
  readonly label: string;
  readonly node: string;
  /** undefined: the bare server. */
  readonly variant?: Variant;
}

/**
 * Every entry started once per round, in an order rotated every round, `samples` rounds after
 * one discarded round: on a shared machine the load then falls on every entry alike, which
 * separate suites minutes apart cannot promise.
 */
export async function compareStartups(
  entries: readonly StartupEntry[],
  fixtures: Fixtures,
  samples: number,
  log: (line: string) => void,
): Promise<{ label: string; ms: number[]; medianMs: number }[]> {
  const ms = entries.map(() => [] as number[]);
  const start = async (entry: StartupEntry) => {
    const port = await freePort();
    if (entry.variant === undefined)
      return timeToHealth(bareCommand(entry.node, fixtures, port), port, { ...process.env });
    return timeToHealth(vitalsCommand(entry.node, entry.variant, fixtures.defaultConfig, port), port, {
      ...process.env,
      LOG_LEVEL: 'warn',
      ...entry.variant.env,
    });
  };
  for (let round = -1; round < samples; round++) {
    for (let k = 0; k < entries.length; k++) {
      const i = (k + Math.max(0, round)) % entries.length;
      const entry = entries[i];
      if (entry === undefined) continue;
      const t = await start(entry);
      if (round >= 0) ms[i]?.push(t);
      await sleep(50);
    }
    if (round >= 0) log(`    round ${String(round + 1)}/${String(samples)}`);
  }
  return entries.map((entry, i) => ({
    label: entry.label,
    ms: ms[i] ?? [],
    medianMs: median(ms[i] ?? []) ?? Number.NaN,
  }));
}

// ---------------------------------------------------------------- idle

export interface RssFigure {
  /** RSS of each copy at the end of the idle window, MB. */
  readonly copiesMB: number[];
  readonly medianMB: number;
}

export interface IdleFigures {
  readonly seconds: number;
  readonly bare: RssFigure;
  readonly defaultLike: RssFigure;
  readonly five: RssFigure;
  readonly thousand: {
    readonly rssMB: number;
    readonly rssMaxMB: number;
    /** Percent of one core, user + sys, over the window after the first round of checks. */
    readonly cpuPercent: number;
    readonly cpuSeconds: number;
    /** Connections the sink accepted per second in the window (1,000 checks / 10 s + the loop's). */
    readonly sinkPerSecond: number;
    /** The same connects from a bare node loop (fixtures' bare-tcp-loop.mjs), % of one core. */
    readonly bareLoopCpuPercent: number;
  };
  /** The 1,000-check process, left running for the /metrics measurement. */
  readonly thousandProcess: Spawned;
}

const MB = 1024 * 1024;

function rssFigure(samples: readonly GroupSample[]): RssFigure {
  const copiesMB = samples.map((s) => s.rss / MB);
  return { copiesMB, medianMB: median(copiesMB) ?? Number.NaN };
}

/**
 * Starts `copies` bare servers, default-like and five-check vitals, and one 1,000-check vitals,
 * all at once (RSS does not depend on the neighbours; the others are idle, so the 1,000-check
 * CPU is its own), waits `seconds` after the start for the RSS and measures the 1,000-check
 * process's CPU over `seconds` from its first complete round of checks.
 */
export async function measureIdle(
  node: string,
  variant: Variant,
  fixtures: Fixtures,
  seconds: number,
  copies: number,
  log: (line: string) => void,
): Promise<IdleFigures> {
  const env = { ...process.env, LOG_LEVEL: 'info', ...variant.env };
  const started: Spawned[] = [];
  let keep: Spawned | undefined;
  try {
    const spawnAll = (name: string, make: () => string[], options: { env?: NodeJS.ProcessEnv }) =>
      Promise.all(
        Array.from({ length: copies }, async (_, i) => {
          const child = await spawnTarget(`${name}-${String(i)}`, make(), { cwd: ROOT, timeoutMs: 60_000, ...options });
          started.push(child);
          return child;
        }),
      );
    const begin = performance.now();
    const thousandPromise = spawnTarget('vitals-1000', vitalsCommand(node, variant, fixtures.thousandConfig, 0), {
      cwd: ROOT,
      env,
      timeoutMs: 60_000,
    });
    const loopPromise = spawnTarget('bare-tcp-loop', [node, ...fixtures.bareTcpLoop], { cwd: ROOT, timeoutMs: 60_000 });
    const [bare, defaultLike, five, thousand, loop] = await Promise.all([
      spawnAll('bare', () => bareCommand(node, fixtures, 0), {}),
      spawnAll('vitals-default', () => vitalsCommand(node, variant, fixtures.defaultConfig, 0), { env }),
      spawnAll('vitals-five', () => vitalsCommand(node, variant, fixtures.fiveConfig, 0), { env }),
      thousandPromise,
      loopPromise,
    ]);
    started.push(loop);
    keep = thousand;
    // Every check has a first result.
    await waitFor200(`http://127.0.0.1:${String(thousand.port)}/startup`, 60_000, 50);
    await sleep(1000);
    const first = sampleGroup(thousand.pid);
    const loopFirst = sampleGroup(loop.pid);
    const acceptedBefore = fixtures.accepted();
    log(`    idle ${String(seconds)} s (1,000 checks up after ${((first.at - begin) / 1000).toFixed(1)} s) ...`);
    let last = first;
    let rssMax = first.rss;
    const cpuDeadline = first.at + seconds * 1000;
    const rssDeadline = begin + seconds * 1000;
    let others: { bare: GroupSample[]; defaultLike: GroupSample[]; five: GroupSample[] } | undefined;
    // cpuDeadline is after rssDeadline: the first sample is taken after the start.
    while (performance.now() < cpuDeadline) {
      const now = performance.now();
      const target = others === undefined && rssDeadline > now ? rssDeadline : cpuDeadline;
      await sleep(Math.max(0, Math.min(now + 1000, target) - now));
      if (others === undefined && performance.now() >= rssDeadline) {
        others = {
          bare: bare.map((c) => sampleGroup(c.pid)),
          defaultLike: defaultLike.map((c) => sampleGroup(c.pid)),
          five: five.map((c) => sampleGroup(c.pid)),
        };
      }
      last = sampleGroup(thousand.pid);
      rssMax = Math.max(rssMax, last.rss);
    }
    const loopLast = sampleGroup(loop.pid);
    others ??= {
      bare: bare.map((c) => sampleGroup(c.pid)),
      defaultLike: defaultLike.map((c) => sampleGroup(c.pid)),
      five: five.map((c) => sampleGroup(c.pid)),
    };
    const wall = (last.at - first.at) / 1000;
    const cpuSeconds = (last.ticks - first.ticks) / CLK_TCK;
    return {
      seconds,
      bare: rssFigure(others.bare),
      defaultLike: rssFigure(others.defaultLike),
      five: rssFigure(others.five),
      thousand: {
        rssMB: last.rss / MB,
        rssMaxMB: rssMax / MB,
        cpuPercent: (cpuSeconds / wall) * 100,
        cpuSeconds,
        sinkPerSecond: (fixtures.accepted() - acceptedBefore) / wall,
        bareLoopCpuPercent:
          ((loopLast.ticks - loopFirst.ticks) / CLK_TCK / ((loopLast.at - loopFirst.at) / 1000)) * 100,
      },
      thousandProcess: thousand,
    };
  } catch (error) {
    await keep?.stop();
    throw error;
  } finally {
    for (const child of started) await child.stop();
  }
}

// ---------------------------------------------------------------- /metrics

/** The Accept header Prometheus sends (it asks for OpenMetrics first). */
export const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

export interface ScrapeFigures {
  readonly format: 'text' | 'openmetrics';
  readonly seconds: number;
  readonly scrapes: number;
  readonly series: number;
  readonly bytes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/**
 * One keep-alive connection, each GET sent when the previous answer has been read to its end:
 * the latency is request sent → last byte. A discarded warm-up second first.
 */
export async function scrapeBackToBack(
  port: number,
  format: ScrapeFigures['format'],
  seconds: number,
): Promise<ScrapeFigures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = format === 'openmetrics' ? { Accept: PROMETHEUS_ACCEPT } : {};
  // Only warm-up scrapes keep their body: joining and decoding 3 MB per timed scrape would be
  // the scraper's own garbage, collected on the same two cores, inside the timed interval.
  const once = (keep: boolean) =>
    new Promise<{ ms: number; body: string }>((resolve, reject) => {
      const t0 = performance.now();
      const request = http.get({ host: '127.0.0.1', port, path: '/metrics', agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => {
          if (keep) chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () => {
          const ms = performance.now() - t0;
          if (response.statusCode !== 200) reject(new Error(`/metrics answered ${String(response.statusCode)}`));
          else resolve({ ms, body: keep ? Buffer.concat(chunks).toString('utf8') : '' });
        });
      });
      request.on('error', reject);
      request.setTimeout(30_000, () => request.destroy(new Error('/metrics timed out')));
    });
  try {
    let body = '';
    const warm = performance.now() + 1000;
    while (performance.now() < warm) body = (await once(true)).body;
    const times: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) times.push((await once(false)).ms);
    const sorted = [...times].sort((a, b) => a - b);
    return {
      format,
      seconds,
      scrapes: times.length,
      series: body.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length,
      bytes: Buffer.byteLength(body),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1) ?? Number.NaN,
    };
  } finally {
    agent.destroy();
  }
}
