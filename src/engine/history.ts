import { FAILURE_REASONS, type FailureReason, type Status } from '../types.js';
import type { RecordedRun } from './monitor.js';

/** Runs kept per check: the status page's sparkline. */
export const RUNS_PER_CHECK = 60;
/** Changes of reported status kept over all checks. */
export const TRANSITIONS_KEPT = 20;
/** A transition's output is cut to this many characters: it is a reason, not a log. */
const OUTPUT_CHARS = 200;

export interface RecentRun {
  /** ms since the epoch. */
  readonly finishedAt: number;
  readonly durationMs: number;
  /** The run's own status, before thresholds: a failure the thresholds absorbed still shows. */
  readonly status: Exclude<Status, 'unknown'>;
  readonly reason: FailureReason | undefined;
}

export interface Transition {
  /** ms since the epoch. */
  readonly at: number;
  readonly check: string;
  readonly from: Status;
  readonly to: Status;
  readonly reason: FailureReason | undefined;
  /** The run's output (already redacted by the engine), cut short. */
  readonly output: string | undefined;
}

export interface CheckHistory {
  /** Oldest first, at most RUNS_PER_CHECK. */
  readonly runs: readonly RecentRun[];
  /** When the reported status last changed (the first result counts), ms since the epoch; undefined before it. */
  readonly since: number | undefined;
}

export interface History {
  record(event: RecordedRun): void;
  /** Drops the buffers of checks that a reload removed (or renamed away). */
  forget(names: Iterable<string>): void;
  of(name: string): CheckHistory;
  /** Newest first, at most TRANSITIONS_KEPT. */
  transitions(): readonly Transition[];
}

const STATUSES = ['pass', 'warn', 'fail'] as const;
const NO_REASON = 255;
const REASONS: readonly (FailureReason | undefined)[] = FAILURE_REASONS;

/**
 * A fixed ring of runs in typed arrays: 60 × (8 + 4 + 1 + 1) bytes of data whatever happens,
 * with no object per run for the collector to trace (a thousand checks run a hundred times a second).
 */
class RunRing {
  private readonly finishedAt = new Float64Array(RUNS_PER_CHECK);
  private readonly durationMs = new Float32Array(RUNS_PER_CHECK);
  private readonly status = new Uint8Array(RUNS_PER_CHECK);
  private readonly reason = new Uint8Array(RUNS_PER_CHECK);
  private next = 0;
  private size = 0;
  since: number | undefined;

  push(finishedAt: number, durationMs: number, status: Exclude<Status, 'unknown'>, reason: FailureReason | undefined) {
    const slot = this.next;
    this.finishedAt[slot] = finishedAt;
    this.durationMs[slot] = durationMs;
    this.status[slot] = STATUSES.indexOf(status);
    const code = REASONS.indexOf(reason);
    this.reason[slot] = code === -1 ? NO_REASON : code;
    this.next = (slot + 1) % RUNS_PER_CHECK;
    this.size = Math.min(this.size + 1, RUNS_PER_CHECK);
  }

  runs(): RecentRun[] {
    const runs: RecentRun[] = [];
    const first = (this.next - this.size + RUNS_PER_CHECK) % RUNS_PER_CHECK;
    for (let i = 0; i < this.size; i += 1) {
      const slot = (first + i) % RUNS_PER_CHECK;
      runs.push({
        finishedAt: this.finishedAt[slot] ?? 0,
        durationMs: Math.round((this.durationMs[slot] ?? 0) * 10) / 10,
        status: STATUSES[this.status[slot] ?? 0] ?? 'fail',
        reason: REASONS[this.reason[slot] ?? NO_REASON],
      });
    }
    return runs;
  }
}

/** Each check's recent runs and the recent changes of status, in memory, bounded. */
export function createHistory(): History {
  const rings = new Map<string, RunRing>();
  const transitions: Transition[] = [];

  return {
    record({ check, run, from }) {
      const { name } = check.definition;
      let ring = rings.get(name);
      if (ring === undefined) {
        ring = new RunRing();
        rings.set(name, ring);
      }
      ring.push(run.finishedAt, run.durationMs, run.status, run.reason);
      if (check.status === from) return;
      ring.since = run.finishedAt;
      transitions.unshift({
        at: run.finishedAt,
        check: name,
        from,
        to: check.status,
        reason: run.reason,
        output: run.output?.slice(0, OUTPUT_CHARS),
      });
      if (transitions.length > TRANSITIONS_KEPT) transitions.length = TRANSITIONS_KEPT;
    },
    forget(names) {
      for (const name of names) rings.delete(name);
    },
    of(name) {
      const ring = rings.get(name);
      return { runs: ring?.runs() ?? [], since: ring?.since };
    },
    transitions: () => transitions,
  };
}
