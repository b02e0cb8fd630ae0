/**
 * A real vitals HTTP server on an ephemeral port, with custom checks (vitals.addCheck) whose behaviour
 * the test controls, logs captured in memory, and a client for it (http.ts: no keep-alive,
 * headers sent exactly as given, paths sent byte for byte).
 */
import { createLogger } from '../../src/log.js';
import type { CustomCheck, Monitor } from '../../src/engine/monitor.js';
import { listen, type RunningServer } from '../../src/http/server.js';
import type { Probe, ProbeSuccess } from '../../src/types.js';
import { createVitalsService, type Vitals } from '../../src/vitals.js';
import { request, type Reply, type RequestOptions } from './http.js';

/**
 * What the next run of a controlled check does: succeed, succeed with a warning, throw the
 * given value, hang until the engine aborts it at its deadline, or hold until the test calls
 * `release()` (or the engine aborts it).
 */
export type Behaviour = 'pass' | 'hang' | 'hold' | { readonly warn: string } | { readonly throw: unknown };

export interface ControlledProbe {
  behaviour: Behaviour;
  readonly run: Probe;
  /** Runs started so far. */
  readonly runs: number;
  /** Runs still in flight (hanging or held). */
  readonly inFlight: number;
  /** Runs that saw their signal abort. */
  readonly aborted: number;
  /** Settles every held run: passes without an argument, else throws `error`. */
  release(error?: unknown): void;
}

export function controlled(initial: Behaviour = 'pass'): ControlledProbe {
  let runs = 0;
  let inFlight = 0;
  let aborted = 0;
  const held = new Set<(error?: unknown) => void>();
  const probe: ControlledProbe = {
    behaviour: initial,
    get runs() {
      return runs;
    },
    get inFlight() {
      return inFlight;
    },
    get aborted() {
      return aborted;
    },
    release(error?: unknown) {
      for (const settle of [...held]) settle(error);
    },
    async run(signal: AbortSignal): Promise<ProbeSuccess | undefined> {
      runs += 1;
      const behaviour = probe.behaviour;
      if (behaviour === 'pass') return undefined;
      if (behaviour === 'hang' || behaviour === 'hold') {
        inFlight += 1;
        try {
          await new Promise<void>((resolve, reject) => {
            const settle = (error?: unknown) => {
              held.delete(settle);
              signal.removeEventListener('abort', onAbort);
              if (error === undefined) resolve();
              else reject(error instanceof Error ? error : new Error(typeof error === 'string' ? error : 'held run failed'));
            };
            const onAbort = () => {
              aborted += 1;
              settle(signal.reason ?? new Error('aborted'));
            };
            signal.addEventListener('abort', onAbort, { once: true });
            if (behaviour === 'hold') held.add(settle);
          });
          return undefined;
        } finally {
          inFlight -= 1;
        }
      }
      if ('warn' in behaviour) return { warn: behaviour.warn };
      throw behaviour.throw;
    },
  };
  return probe;
}

export interface RunningVitals {
  readonly vitals: Vitals;
  /** The checks' state, which the embedding API does not expose. */
  readonly monitor: Monitor;
  /** SIGTERM's first step, as serve takes it. */
  drain(): void;
  readonly server: RunningServer;
  readonly port: number;
  /** Raw log lines, as written. */
  readonly logs: string[];
  get(path: string, options?: RequestOptions): Promise<Reply>;
  logRecords(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly host?: string;
  /** Call vitals.start() (default true). */
  readonly start?: boolean;
}

/** createVitals(config) + addCheck(each) + start() + listen(host, 0). */
export async function startVitals(
  config: Record<string, unknown>,
  checks: readonly CustomCheck[],
  options: StartOptions = {},
): Promise<RunningVitals> {
  const logs: string[] = [];
  const logger = createLogger('info', {
    write(line: string) {
      logs.push(line);
    },
  });
  const service = await createVitalsService(config, { logger, env: options.env ?? {} });
  const { vitals } = service;
  for (const check of checks) vitals.addCheck(check);
  if (options.start !== false) await vitals.start();
  const host = options.host ?? '127.0.0.1';
  const server = await listen(service, host, 0);
  return {
    vitals,
    monitor: service.monitor,
    drain: () => {
      service.drain();
    },
    server,
    port: server.port,
    logs,
    get: (path, requestOptions = {}) => request(server.port, path, { host, ...requestOptions }),
    logRecords: () => logs.flatMap((chunk) => chunk.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>)),
    async close() {
      await vitals.stop();
      await server.close(0);
    },
  };
}
