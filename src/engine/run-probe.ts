import { CheckFailure, CheckTimeoutError, classifyCommon, errorMessage } from '../checks/classify.js';
import type { CheckCommon, FailureReason, Probe, RunResult } from '../types.js';

export interface ProbeRun {
  /** Settles at the deadline at the latest. */
  readonly result: Promise<RunResult>;
  /** Settles when the probe itself has returned (later than `result` if it ignored its signal). */
  readonly settled: Promise<void>;
  /** Aborts the probe and settles `result` now, as a failed run (the check is being stopped). */
  cancel(): void;
}

export interface RunOptions {
  readonly classify?: (error: unknown) => FailureReason | undefined;
  readonly redact: (text: string) => string;
}

/**
 * Runs a probe under a hard deadline. The result never waits past `timeoutMs`: at the
 * deadline the signal aborts (the probe destroys its connection) and the run fails with
 * `timeout` whether or not the probe has noticed.
 */
export function runProbe(probe: Probe, check: CheckCommon, options: RunOptions): ProbeRun {
  const controller = new AbortController();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let endNow: (error: Error) => void = () => undefined;
  const deadline = new Promise<never>((_, reject) => {
    endNow = reject;
    timer = setTimeout(() => {
      const error = new CheckTimeoutError(check.timeoutMs);
      controller.abort(error);
      reject(error);
    }, check.timeoutMs);
  });
  const attempt = (async () => probe(controller.signal))();
  const settled = attempt.then(
    () => undefined,
    () => undefined,
  );
  const result = Promise.race([attempt, deadline]).then(
    (success): RunResult => {
      const durationMs = performance.now() - started;
      const slow = check.warnLatencyMs !== undefined && durationMs > check.warnLatencyMs;
      const warn = success?.warn ?? (slow ? `slow: ${durationMs.toFixed(0)}ms above warnLatency ${String(check.warnLatencyMs)}ms` : undefined);
      return {
        status: warn === undefined ? 'pass' : 'warn',
        durationMs,
        observedValue: success?.observedValue ?? durationMs,
        finishedAt: Date.now(),
        output: warn === undefined ? undefined : options.redact(warn),
        reason: undefined,
      };
    },
    (error: unknown): RunResult => {
      const durationMs = performance.now() - started;
      const timedOut = error instanceof CheckTimeoutError;
      return {
        status: 'fail',
        durationMs,
        observedValue: error instanceof CheckFailure ? (error.observedValue ?? durationMs) : durationMs,
        finishedAt: Date.now(),
        output: options.redact(errorMessage(error)),
        reason: timedOut ? 'timeout' : (options.classify?.(error) ?? classifyCommon(error)),
      };
    },
  );
  void result.finally(() => {
    clearTimeout(timer);
    // Whatever the probe still holds is released as soon as the run is decided.
    if (!controller.signal.aborted) controller.abort(new Error('run finished'));
  });
  return {
    result,
    settled,
    cancel() {
      const error = new Error('check stopped');
      controller.abort(error);
      endNow(error);
    },
  };
}
