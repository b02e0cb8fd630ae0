import { z } from 'zod';
import { commonSchema, timeoutProblem, type CheckDefaults } from '../config/load.js';
import { zodProblems } from '../config/problems.js';
import type { CheckCommon, Probe } from '../types.js';

/**
 * A check registered from code (`vitals.addCheck`) rather than from the config. It takes the
 * same common fields as a config check, durations as strings ("10s") or milliseconds, and what
 * it leaves out comes from the config's `defaults`.
 */
export interface CustomCheck {
  readonly name: string;
  /** Default true. */
  readonly critical?: boolean;
  readonly interval?: string | number;
  readonly timeout?: string | number;
  readonly failureThreshold?: number;
  readonly successThreshold?: number;
  readonly warnLatency?: string | number;
  /** Extra labels on every series of the check, validated like a config check's `labels`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Resolves when healthy, throws when not; must stop its I/O when `signal` aborts. */
  readonly run: Probe;
}

/**
 * A whole number of milliseconds becomes the same duration written "<n>ms", so that it meets
 * the config's own bounds and messages; any other number is refused here: 3e9, Infinity or a
 * negative value used to reach setTimeout, which fires at once for them and spun the check.
 */
function msOrDuration<T extends z.ZodType>(schema: T) {
  return z.preprocess((value, ctx) => {
    if (typeof value !== 'number') return value;
    if (Number.isSafeInteger(value) && value >= 0) return `${String(value)}ms`;
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration string such as "500ms", "5s" or "1m", or a whole number of milliseconds (got ${String(value)})`,
    });
    return z.NEVER;
  }, schema);
}

const { shape } = commonSchema;
// A custom check has no TLS handshake of ours to record, and `vitals slo` reads the config
// file, which never sees a check added from code.
const customSchema = commonSchema.omit({ warnCertExpiry: true, slo: true }).extend({
  interval: msOrDuration(shape.interval),
  timeout: msOrDuration(shape.timeout),
  warnLatency: msOrDuration(shape.warnLatency),
});

/** Where a problem of this check is: `addCheck("queue")`, or `addCheck` without a usable name. */
function locate(check: unknown): string {
  const name: unknown = check !== null && typeof check === 'object' ? (check as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? `addCheck(${JSON.stringify(name)})` : 'addCheck';
}

/**
 * Resolves a custom check against the config's defaults, exactly as a config check is: the
 * same schema, bounds and messages, each problem naming its field. Never throws.
 */
export function resolveCustomCheck(
  check: unknown,
  defaults: CheckDefaults,
): { definition: CheckCommon; problems: [] } | { definition: undefined; problems: string[] } {
  const at = locate(check);
  if (check === null || typeof check !== 'object' || Array.isArray(check)) {
    return { definition: undefined, problems: [`${at}: expected an object with name and run`] };
  }
  const { run, ...fields } = check as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof run !== 'function') problems.push(`${at}.run: expected a function (signal) => Promise`);
  const parsed = customSchema.safeParse({ ...fields, kind: 'custom' });
  if (!parsed.success) problems.push(...zodProblems(parsed.error, at));
  if (!parsed.success || problems.length > 0) return { definition: undefined, problems };
  const c = parsed.data;
  const intervalMs = c.interval ?? defaults.intervalMs;
  const timeoutMs = c.timeout ?? defaults.timeoutMs;
  if (timeoutMs >= intervalMs) {
    return {
      definition: undefined,
      problems: [timeoutProblem(c.timeout !== undefined ? `${at}.timeout` : `${at}.interval`, timeoutMs, intervalMs)],
    };
  }
  return {
    definition: {
      name: c.name,
      kind: 'custom',
      critical: c.critical,
      intervalMs,
      timeoutMs,
      failureThreshold: c.failureThreshold ?? defaults.failureThreshold,
      successThreshold: c.successThreshold ?? defaults.successThreshold,
      warnLatencyMs: c.warnLatency,
      ...(c.labels !== undefined ? { labels: c.labels } : {}),
    },
    problems: [],
  };
}
