import type { History } from '../engine/history.js';
import type { Maintenance } from '../engine/maintenance.js';
import type { Monitor } from '../engine/monitor.js';
import type { FailureReason, Status } from '../types.js';
import { checkEntry } from './bodies.js';

/** One check in GET /api/v1/checks. */
export interface CheckHistoryEntry {
  readonly name: string;
  /** The config kind, or `custom` for a check added by addCheck. */
  readonly kind: string;
  readonly critical: boolean;
  readonly componentType: string;
  /** The reported (thresholded) status, as /ready shows it. */
  readonly status: Status;
  /** When the reported status last changed; absent before the first result. */
  readonly since?: string;
  /** Of the last run, as in /ready. */
  readonly observedValue?: number;
  readonly observedUnit?: string;
  readonly time?: string;
  /** Left out on pass, as in /ready; redacted. */
  readonly output?: string;
  /** The maintenance window the check is in now, if any: its failures are reported warn. */
  readonly maintenance?: { readonly id: string; readonly until: string; readonly reason: string };
  /** Oldest first, at most 60. */
  readonly runs: readonly {
    readonly finishedAt: string;
    readonly durationMs: number;
    readonly status: Exclude<Status, 'unknown'>;
    readonly reason: FailureReason | null;
  }[];
}

export interface ChecksHistoryBody {
  readonly status: 'pass' | 'warn' | 'fail';
  readonly version: string;
  readonly draining: boolean;
  /** The server's clock when it answered: a page measures "for how long" against it, not its own. */
  readonly time: string;
  readonly checks: readonly CheckHistoryEntry[];
  /** Newest first, at most 20. */
  readonly transitions: readonly {
    readonly at: string;
    readonly check: string;
    readonly from: Status;
    readonly to: Status;
    readonly reason: FailureReason | null;
    readonly output: string | null;
  }[];
}

/**
 * GET /api/v1/summary, for every caller: what /ready tells anyone, the number of checks, and
 * whether /api/v1/checks will answer this caller (so that a page never asks for a 403).
 */
export interface ChecksSummary {
  readonly status: 'pass' | 'warn' | 'fail';
  readonly version: string;
  readonly draining: boolean;
  readonly checks: number;
  readonly details: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function checksSummary(monitor: Monitor, version: string, details: boolean): ChecksSummary {
  return {
    status: monitor.readiness(),
    version,
    draining: monitor.draining(),
    checks: monitor.checks().length,
    details,
  };
}

export function checksHistoryBody(
  monitor: Monitor,
  history: History,
  version: string,
  maintenance?: Maintenance,
): ChecksHistoryBody {
  const checks = monitor.checks().map((check): CheckHistoryEntry => {
    const { definition } = check;
    const window = maintenance?.windowFor(definition.name);
    const { runs, since } = history.of(definition.name);
    const { componentType, observedValue, observedUnit, time, output } = checkEntry(check);
    return {
      name: definition.name,
      kind: definition.kind,
      critical: definition.critical,
      componentType,
      status: check.status,
      ...(since === undefined ? {} : { since: iso(since) }),
      ...(observedValue === undefined ? {} : { observedValue, observedUnit, time }),
      ...(output === undefined ? {} : { output }),
      ...(window === undefined
        ? {}
        : { maintenance: { id: window.id, until: iso(window.end), reason: window.reason } }),
      runs: runs.map((run) => ({
        finishedAt: iso(run.finishedAt),
        durationMs: run.durationMs,
        status: run.status,
        reason: run.reason ?? null,
      })),
    };
  });
  return {
    status: monitor.readiness(),
    version,
    draining: monitor.draining(),
    time: iso(Date.now()),
    checks,
    transitions: history.transitions().map((t) => ({
      at: iso(t.at),
      check: t.check,
      from: t.from,
      to: t.to,
      reason: t.reason ?? null,
      output: t.output ?? null,
    })),
  };
}
