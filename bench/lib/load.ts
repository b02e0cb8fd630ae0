/**
 * Load generation: wrk when it is installed (one thread, N connections, --latency), else
 * autocannon's programmatic API with the same connections and duration.
 */
import { execFileSync, spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { findBinary } from '../../test/support/binaries.js';
import { track } from './children.js';
import { packageVersion } from './versions.js';

export type ToolName = 'wrk' | 'autocannon';

export interface LoadTool {
  readonly name: ToolName;
  readonly version: string;
  readonly path?: string;
}

export interface LoadOptions {
  readonly url: string;
  readonly connections: number;
  /** Whole seconds (wrk's -d takes integers). */
  readonly seconds: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Latency {
  readonly p50: number;
  readonly p75: number;
  readonly p90: number;
  readonly p99: number;
  readonly avg: number;
  readonly max: number;
}

export interface LoadResult {
  readonly requests: number;
  /** Wall seconds the tool reports for the run. */
  readonly seconds: number;
  readonly rps: number;
  /** Milliseconds. */
  readonly latencyMs: Latency;
  /** Responses other than 2xx/3xx (wrk) or other than 2xx (autocannon). */
  readonly non2xx: number;
  readonly errors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly timeout: number;
  };
  readonly bytes?: number;
}

export function detectTool(preferred?: ToolName): LoadTool {
  if (preferred !== 'autocannon') {
    const path = findBinary('wrk');
    if (path !== undefined) {
      let version = 'unknown';
      try {
        execFileSync(path, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (error) {
        // `wrk -v` prints its version and exits 1.
        const stdout = (error as { stdout?: unknown }).stdout;
        const out = typeof stdout === 'string' ? stdout : '';
        version = /^wrk\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
      }
      return { name: 'wrk', version, path };
    }
    if (preferred === 'wrk') throw new Error('--tool wrk: wrk is not installed (Debian package "wrk")');
  }
  return { name: 'autocannon', version: packageVersion('autocannon') };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function durationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (match === null) throw new Error(`wrk: cannot parse duration "${text}"`);
  return Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? Number.NaN);
}

const SIZE: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** Parses wrk's report (with --latency). Exported for the harness's own sanity checks. */
export function parseWrk(out: string): LoadResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(out);
    if (m === null) throw new Error(`wrk: no ${what} in output:\n${out}`);
    return m;
  };
  const percentile = (p: string) => durationMs(need(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm'), `${p}% latency`)[1] ?? '');
  const latencyLine = need(/^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)/m, 'latency line');
  const total = need(/^\s+(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read/m, 'request count');
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const rps = Number(need(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]);
  return {
    requests: Number(total[1]),
    seconds: durationMs(`${total[2] ?? ''}${total[3] ?? ''}`) / 1000,
    rps,
    latencyMs: {
      p50: percentile('50'),
      p75: percentile('75'),
      p90: percentile('90'),
      p99: percentile('99'),
      avg: durationMs(latencyLine[1] ?? ''),
      max: durationMs(latencyLine[3] ?? ''),
    },
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    errors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
    },
    bytes: Number(total[4]) * (SIZE[total[5] ?? ''] ?? Number.NaN),
  };
}

function runWrk(path: string, options: LoadOptions): Promise<LoadResult> {
  const args = ['-t1', `-c${String(options.connections)}`, `-d${String(options.seconds)}s`, '--latency'];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`wrk ${args.join(' ')} failed (${signal ?? `code ${String(code)}`}): ${err}${out}`));
        return;
      }
      try {
        resolve(parseWrk(out));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    headers: { ...options.headers },
  });
  const seconds = result.duration;
  const requests = result.requests.total;
  const timeouts = result.timeouts;
  return {
    requests,
    seconds,
    rps: requests / seconds,
    latencyMs: {
      p50: result.latency.p50,
      p75: result.latency.p75,
      p90: result.latency.p90,
      p99: result.latency.p99,
      avg: result.latency.average,
      max: result.latency.max,
    },
    non2xx: result.non2xx,
    // autocannon counts every socket error (timeouts included) in `errors`.
    errors: { connect: Math.max(0, result.errors - timeouts), read: 0, write: 0, timeout: timeouts },
    bytes: result.throughput.total,
  };
}

export function runLoad(tool: LoadTool, options: LoadOptions): Promise<LoadResult> {
  return tool.name === 'wrk' && tool.path !== undefined ? runWrk(tool.path, options) : runAutocannon(options);
}
