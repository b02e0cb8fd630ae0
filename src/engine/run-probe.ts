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
function readSuccess(success: unknown): { warn: string | undefined; observedValue: number | undefined } | string {
  if (success === null || typeof success !== 'object') return { warn: undefined, observedValue: undefined };
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
  let certificate: CertificateExpiry | undefined;
  let phases: Record<string, number> | undefined;
  let phaseStart = started;
  // A probe still running after its deadline must not rewrite the phases of a decided run.
  let decided = false;
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
  const attempt = (async () => probe(controller.signal, recorder))();
  const settled = attempt.then(
    () => undefined,
    () => undefined,
  );
  const failed = (error: unknown): RunResult => {
    decided = true;
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
  const result = Promise.race([attempt, deadline])
    .then((success): RunResult => {
      decided = true;
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
    }, failed)
    // The last line of defence: a result, whatever went wrong above, never a rejection that
    // nobody handles (which ends the embedding application).
    .catch(failed)
    .catch((): RunResult => ({
      status: 'fail',
      durationMs: performance.now() - started,
      observedValue: performance.now() - started,
      finishedAt: Date.now(),
      output: 'unknown error',
      reason: 'error',
    }));
  const cleanUp = () => {
    clearTimeout(timer);
    // Whatever the probe still holds is released as soon as the run is decided.
    if (!controller.signal.aborted) controller.abort(new Error('run finished'));
  };
  void result.then(cleanUp, cleanUp);
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
