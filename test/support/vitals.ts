/**
 * vitals in process, the one way tests and the benchmark start it: a real vitals HTTP server
 * on an ephemeral loopback port, optionally with custom checks (vitals.addCheck) whose
 * behaviour the test controls, logs captured in memory, and a client for it (http.ts: no
 * keep-alive, headers sent exactly as given, paths sent byte for byte).
 */
import { Writable } from 'node:stream';
import type { CustomCheck, Monitor } from '../../src/engine/monitor.js';
import { listen, type ListenOptions, type RunningServer } from '../../src/http/server.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { Probe, ProbeSuccess, Status } from '../../src/types.js';
import { createVitalsService, type Vitals } from '../../src/vitals.js';
import { request, type Reply, type RequestOptions } from './http.js';
import { waitFor, waitUntil } from './wait.js';

/** Log lines a test can read back, parsed from pino's JSON. */
export interface LogCapture {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
  readonly text: () => string;
}

export function captureLogs(level = 'info'): LogCapture {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger(level, stream);
  return {
    logger,
    get lines() {
      return raw
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

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
              else
                reject(
                  error instanceof Error ? error : new Error(typeof error === 'string' ? error : 'held run failed'),
                );
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

/** A fast custom check: a change of behaviour shows within a couple of hundred ms. */
export const fast = (name: string, probe: ControlledProbe, critical = true): CustomCheck => ({
  name,
  critical,
  interval: 150,
  timeout: 100,
  run: probe.run,
});

/** Waits (5 s) until the check `name` has `status`. */
export async function settle(running: RunningVitals, name: string, status: Status): Promise<void> {
  await waitUntil(() => running.monitor.get(name)?.status === status, 5000, `${name} to be ${status}`);
}

export interface RunningVitals {
  readonly vitals: Vitals;
  /** The checks' state, which the embedding API does not expose. */
  readonly monitor: Monitor;
  /** SIGTERM's first step, as serve takes it. */
  drain(): void;
  readonly server: RunningServer;
  readonly port: number;
  /** `http://host:port` (https behind a web config with TLS). */
  readonly url: string;
  readonly logs: LogCapture;
  /** One request to this vitals on a fresh connection. */
  get(path: string, options?: RequestOptions): Promise<Reply>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** The environment `${VAR}` in the config reads (default empty: tests do not see the host's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly host?: string;
  /** Call vitals.start() (default true). */
  readonly start?: boolean;
  /** Listen only once every check has its first result (monitor.started(), within 5 s). */
  readonly firstResults?: boolean;
  /** The listener's own settings: web config, its polling, a probe port. */
  readonly listen?: ListenOptions;
}

/** createVitals(config) + addCheck(each) + start() + listen(host, 0). */
export async function startVitals(
  config: Record<string, unknown>,
  checks: readonly CustomCheck[] = [],
  options: StartOptions = {},
): Promise<RunningVitals> {
  const logs = captureLogs();
  const service = await createVitalsService(config, { logger: logs.logger, env: options.env ?? {} });
  const { vitals } = service;
  for (const check of checks) vitals.addCheck(check);
  if (options.start !== false) await vitals.start();
  if (options.firstResults === true)
    await waitFor(
      () => service.monitor.started(),
      (started) => started,
      5000,
      { what: 'the first results' },
    );
  const host = options.host ?? '127.0.0.1';
  const server = await listen(service, host, 0, options.listen);
  const scheme = options.listen?.webConfig?.tls === undefined ? 'http' : 'https';
  return {
    vitals,
    monitor: service.monitor,
    drain: () => {
      service.drain();
    },
    server,
    port: server.port,
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${String(server.port)}`,
    logs,
    get: (path, requestOptions = {}) => request(server.port, path, { host, ...requestOptions }),
    async close() {
      await vitals.stop();
      await server.close(0);
    },
  };
}
