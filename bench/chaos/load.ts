/**
 * The chaos run's load: a steady request rate on /ready, /health and /metrics in turn over a
 * fixed number of keep-alive connections, counted per phase (the orchestrator names the phase
 * as it goes). bench/lib/load.ts cannot do this: wrk and autocannon run for a fixed duration
 * and report once, with neither a fixed rate nor phases.
 *
 * This file is also the generator's entry point: the orchestrator runs it as a process of its
 * own, so that its latency figures are the server's, not the orchestrator's event loop.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ROOT } from '../lib/versions.js';
import { isFailure, ROUTES, SLOW_MS, WARMUP_PHASE, type LoadStats, type PhaseStats, type Sample } from './types.js';

const SELF = fileURLToPath(import.meta.url);

export interface LoadGeneratorOptions {
  readonly port: number;
  readonly rate: number;
  readonly connections: number;
  /** Hard bounds: the generator stops by itself at whichever comes first. */
  readonly maxRequests: number;
  readonly maxSeconds: number;
}

type LoadMessage = { type: 'phase'; phase: string } | { type: 'stop' };
type LoadReply = { type: 'ready' } | ({ type: 'stats' } & LoadStats);

const emptyStats = (): PhaseStats => ({
  requests: 0,
  errors: 0,
  ready503: 0,
  slow: 0,
  maxMs: 0,
  byRoute: {},
  examples: [],
});

async function loadGenerator(options: LoadGeneratorOptions): Promise<void> {
  const send = (message: LoadReply) => process.send?.(message);
  let phase = WARMUP_PHASE;
  let running = true;
  let stoppedBy = 'orchestrator';
  const phases: Record<string, PhaseStats> = {};
  let total = 0;
  const started = performance.now();
  // The generator's own event-loop delay: a latency it measures includes it, so it is
  // reported beside the figures (a starved client is not a slow server).
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();

  process.on('message', (message: LoadMessage) => {
    if (message.type === 'phase') phase = message.phase;
    else running = false;
  });
  // The orchestrator died: do not outlive it.
  process.on('disconnect', () => process.exit(0));

  function record(sample: Sample): void {
    const stats = (phases[phase] ??= emptyStats());
    stats.requests += 1;
    stats.byRoute[sample.route] = (stats.byRoute[sample.route] ?? 0) + 1;
    stats.maxMs = Math.max(stats.maxMs, sample.ms);
    const failed = isFailure(sample);
    if (failed) stats.errors += 1;
    if (sample.status === 503 && sample.route === '/ready') stats.ready503 += 1;
    if (sample.ms > SLOW_MS) stats.slow += 1;
    if ((failed || sample.ms > SLOW_MS) && stats.examples.length < 10) stats.examples.push(sample);
  }

  function once(agent: http.Agent, route: string): Promise<Sample> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const request = http.get({ host: '127.0.0.1', port: options.port, path: route, agent }, (response) => {
        response.on('data', () => undefined);
        response.on('end', () => {
          resolve({ route, status: response.statusCode ?? 0, ms: performance.now() - t0 });
        });
        response.on('error', (error) => {
          resolve({ route, status: 0, ms: performance.now() - t0, error: error.message });
        });
      });
      request.setTimeout(5000, () => request.destroy(new Error('no answer within 5 s')));
      request.on('error', (error) => {
        resolve({ route, status: 0, ms: performance.now() - t0, error: error.message });
      });
    });
  }

  const periodMs = (1000 * options.connections) / options.rate;
  const deadline = started + options.maxSeconds * 1000;
  async function connectionLoop(index: number): Promise<void> {
    // One socket per loop, kept alive: a steady number of connections, as a scraper or a
    // kubelet would hold, so that vitals' fd count has a stable level to return to.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let next = performance.now() + (periodMs * index) / options.connections;
    let turn = index;
    while (running) {
      if (total >= options.maxRequests) {
        stoppedBy = 'maxRequests';
        running = false;
        break;
      }
      if (performance.now() > deadline) {
        stoppedBy = 'maxSeconds';
        running = false;
        break;
      }
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // Behind schedule (a slow answer): start again from now rather than bursting to catch up.
      next = Math.max(next + periodMs, performance.now());
      const route = ROUTES[turn % ROUTES.length] ?? '/health';
      turn += 1;
      total += 1;
      record(await once(agent, route));
    }
    agent.destroy();
  }

  send({ type: 'ready' });
  await Promise.all(Array.from({ length: options.connections }, (_, i) => connectionLoop(i)));
  lag.disable();
  send({
    type: 'stats',
    phases,
    total,
    stoppedBy,
    clientLagMaxMs: lag.max / 1e6,
    clientLagP99Ms: lag.percentile(99) / 1e6,
  });
  // Undefined unless this process was forked with an IPC channel (typed as always there).
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  process.disconnect?.();
}

export interface LoadChild {
  phase(name: string): void;
  stop(): Promise<LoadStats>;
}

/** Starts the generator and resolves once its connection loops are about to run. */
export async function startLoad(options: LoadGeneratorOptions): Promise<LoadChild> {
  const child = spawn(process.execPath, [...process.execArgv, SELF, JSON.stringify(options)], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let resolveStats: (stats: LoadStats) => void = () => undefined;
  const stats = new Promise<LoadStats>((resolve, reject) => {
    resolveStats = resolve;
    child.once('exit', (code) => {
      reject(new Error(`load generator exited (${String(code)}) without its stats`));
    });
  });
  stats.catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message: LoadReply) => {
      if (message.type === 'ready') resolve();
      else resolveStats(message);
    });
    child.once('exit', (code) => {
      reject(new Error(`load generator exited early (${String(code)})`));
    });
  });
  return {
    phase(name) {
      if (child.connected) child.send({ type: 'phase', phase: name } satisfies LoadMessage);
    },
    async stop() {
      if (child.connected) child.send({ type: 'stop' } satisfies LoadMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await stats;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

if (process.argv[1] === SELF) {
  await loadGenerator(JSON.parse(process.argv[2] ?? '{}') as LoadGeneratorOptions);
}
