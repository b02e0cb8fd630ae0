import { CheckFailure, CheckTimeoutError, classifyCommon, errorMessage } from '../checks/classify.js';
import {
  FAILURE_REASONS,
  type CertificateExpiry,
  type CheckCommon,
  type FailureReason,
  type Probe,
  type RunRecorder,
  type RunResult,
} from '../types.js';

export interface ProbeRun {
  /** Settles at the deadline at the latest. */
  readonly result: Promise<RunResult>;
  /** Settles when the probe itself has returned (later than `result` if it ignored its signal). */
  readonly settled: Promise<void>;
  /** Whether `settled` has settled: the probe has returned. */
  returned(): boolean;
  /** Aborts the probe and settles `result` now, as a failed run (the check is being stopped). */
  cancel(): void;
}

export interface RunOptions {
  readonly classify?: (error: unknown) => FailureReason | undefined;
  readonly redact: (text: string) => string;
}

/** Outputs are short reasons shown in every /ready answer: a huge message must not bloat them. */
const MAX_OUTPUT = 500;

function shortOutput(text: string): string {
  return text.length <= MAX_OUTPUT ? text : `${text.slice(0, MAX_OUTPUT - 1)}…`;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * What a probe's resolved value says, read defensively: a custom check is code we did not
 * write, and may resolve with anything (a number, a proxy, `{ warn: 503 }`). Resolving means
 * healthy; only an object's `warn` and `observedValue` carry more. A string is returned when
 * the value cannot even be read, and the run fails with it.
 */
interface Reported {
  readonly warn: string | undefined;
  readonly observedValue: number | undefined;
}
const NOTHING_REPORTED: Reported = { warn: undefined, observedValue: undefined };

function readSuccess(success: unknown): Reported | string {
  if (success === null || typeof success !== 'object') return NOTHING_REPORTED;
  let warn: unknown;
  let observedValue: unknown;
  try {
    ({ warn, observedValue } = success as { warn?: unknown; observedValue?: unknown });
  } catch (error) {
    return `the check's result could not be read: ${errorMessage(error)}`;
  }
  return { warn: warnText(warn), observedValue: finite(observedValue) };
}

/** A falsy warn is no warning; anything else is one, shown as text. */
function warnText(warn: unknown): string | undefined {
  if (warn === undefined || warn === null || warn === false || warn === '') return undefined;
  if (typeof warn === 'string') return warn.split('\n')[0]?.trim() || 'warn';
  if (typeof warn === 'number' || typeof warn === 'boolean' || typeof warn === 'bigint' || typeof warn === 'symbol')
    return String(warn);
  return 'warn (the check gave a reason that is not a string)';
}

function failureObservedValue(error: unknown): number | undefined {
  try {
    return error instanceof CheckFailure ? finite(error.observedValue) : undefined;
  } catch {
    return undefined;
  }
}

function reasonOf(error: unknown, classify: RunOptions['classify']): FailureReason {
  let reason: unknown;
  try {
    reason = classify?.(error);
  } catch {
    reason = undefined;
  }
  return (FAILURE_REASONS as readonly unknown[]).includes(reason) ? (reason as FailureReason) : classifyCommon(error);
}

const DAY_MS = 24 * 3600 * 1000;

/** "certificate expires in 9d (CN=db.internal)" when it expires within `warnMs`. */
function certificateWarning(
  certificate: CertificateExpiry | undefined,
  warnMs: number | undefined,
): string | undefined {
  if (certificate === undefined || warnMs === undefined) return undefined;
  const leftMs = certificate.notAfter - Date.now();
  if (leftMs >= warnMs) return undefined;
  const cn = certificate.commonName === undefined ? '' : ` (CN=${certificate.commonName})`;
  // Only insecureSkipVerify lets an expired certificate pass.
  if (leftMs < 0) return `certificate expired ${String(Math.floor(-leftMs / DAY_MS))}d ago${cn}`;
  return `certificate expires in ${String(Math.floor(leftMs / DAY_MS))}d${cn}`;
}

/**
 * The reason of the abort that ends every decided run (a probe may still hold its signal). One
 * error for all: a new one per run captured a stack trace a hundred times a second for nothing
 * anyone reads.
 */
const RUN_FINISHED = new Error('run finished');

/**
 * Runs a probe under a hard deadline. The result never waits past `timeoutMs`: at the
 * deadline the signal aborts (the probe destroys its connection) and the run fails with
 * `timeout` whether or not the probe has noticed.
 *
 * Written as one promise settled by whichever comes first (the probe, the deadline, cancel)
 * rather than a race of promise chains: a thousand checks make a hundred runs a second, and
 * each promise, reaction and closure of a run is garbage the young generation has to collect.
 */
export function runProbe(probe: Probe, check: CheckCommon, options: RunOptions): ProbeRun {
  const controller = new AbortController();
  const started = performance.now();
  let certificate: CertificateExpiry | undefined;
  let phases: Record<string, number> | undefined;
  let phaseStart = started;
  // A probe still running after its deadline must not rewrite the phases of a decided run.
  let decided = false;
  let returned = false;
  let resolveResult: (run: RunResult) => void = () => undefined;
  const result = new Promise<RunResult>((resolve) => {
    resolveResult = resolve;
  });

  const failed = (error: unknown): RunResult => {
    const durationMs = performance.now() - started;
    const timedOut = error instanceof CheckTimeoutError;
    return {
      status: 'fail',
      durationMs,
      observedValue: failureObservedValue(error) ?? durationMs,
      finishedAt: Date.now(),
      output: shortOutput(options.redact(errorMessage(error))),
      reason: timedOut ? 'timeout' : reasonOf(error, options.classify),
      certificate,
      phases,
    };
  };
  const succeeded = (success: unknown): RunResult => {
    const durationMs = performance.now() - started;
    const reported = readSuccess(success);
    if (typeof reported === 'string') return { ...failed(new Error(reported)), reason: 'error' };
    const slow = check.warnLatencyMs !== undefined && durationMs > check.warnLatencyMs;
    const warn =
      reported.warn ??
      certificateWarning(certificate, check.warnCertExpiryMs) ??
      (slow ? `slow: ${durationMs.toFixed(0)}ms above warnLatency ${String(check.warnLatencyMs)}ms` : undefined);
    return {
      status: warn === undefined ? 'pass' : 'warn',
      durationMs,
      observedValue: reported.observedValue ?? durationMs,
      finishedAt: Date.now(),
      output: warn === undefined ? undefined : shortOutput(options.redact(warn)),
      reason: undefined,
      certificate,
      phases,
    };
  };
  /** The first caller decides the run; whatever went wrong in deciding, a result, never a throw. */
  const decide = (outcome: unknown, ok: boolean): void => {
    if (decided) return;
    decided = true;
    clearTimeout(timer);
    let run: RunResult;
    try {
      run = ok ? succeeded(outcome) : failed(outcome);
    } catch (error) {
      try {
        run = failed(error);
      } catch {
        const durationMs = performance.now() - started;
        run = {
          status: 'fail',
          durationMs,
          observedValue: durationMs,
          finishedAt: Date.now(),
          output: 'unknown error',
          reason: 'error',
        };
      }
    }
    // Whatever the probe still holds is released as soon as the run is decided.
    if (!controller.signal.aborted) controller.abort(RUN_FINISHED);
    resolveResult(run);
  };

  const timer = setTimeout(() => {
    const error = new CheckTimeoutError(check.timeoutMs);
    controller.abort(error);
    decide(error, false);
  }, check.timeoutMs);
  const recorder: RunRecorder = {
    certificate(expiry: CertificateExpiry) {
      if (certificate === undefined || expiry.notAfter < certificate.notAfter) certificate = expiry;
    },
    phase(name: string) {
      if (decided) return;
      const now = performance.now();
      phases ??= {};
      phases[name] = (phases[name] ?? 0) + (now - phaseStart);
      phaseStart = now;
    },
  };
  let attempt: Promise<unknown>;
  try {
    // A probe that throws before returning a promise fails its run like one that rejects.
    attempt = Promise.resolve(probe(controller.signal, recorder));
  } catch (error) {
    // Whatever it threw, as it threw it: the reason is read from any value.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    attempt = Promise.reject(error);
  }
  const settled = attempt.then(
    (success) => {
      returned = true;
      decide(success, true);
    },
    (error: unknown) => {
      returned = true;
      decide(error, false);
    },
  );
  return {
    result,
    settled,
    returned: () => returned,
    cancel() {
      const error = new Error('check stopped');
      controller.abort(error);
      decide(error, false);
    },
  };
}
