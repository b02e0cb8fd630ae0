/** The chaos run's settings, its transitions and the shapes of its JSON report. */

export const INTERVAL_MS = 1000;
export const TIMEOUT_MS = 500;
/** A change must show within one timeout plus one interval; +1 s for a busy machine. */
export const BUDGET_MS = TIMEOUT_MS + INTERVAL_MS + 1000;
export const SLOW_MS = 100;
export const RSS_LIMIT_BYTES = 20 * 1024 * 1024;
/** How long fds and Threads_connected get to come back to their starting level after a cycle. */
export const SETTLE_MS = 5000;
export const POLL_MS = 50;
export const ROUTES = ['/ready', '/health', '/metrics'] as const;
export const WARMUP_PHASE = 'warmup';
/** Around the forced full GC before the starting RSS is read: a stop-the-world pause we caused. */
export const GC_PHASE = 'forced-gc';

/**
 * How far vitals' open fds may rise above their starting level at any moment of a phase: the
 * starting level is the lowest of a few samples under load, so a moment may add the check run's
 * one MariaDB connection and the orchestrator's two detection polls (/ready and /metrics, each
 * on a connection of its own). Anything above is held by something that should be gone.
 */
export const FD_SLACK = 3;
/**
 * How many more sockets to MariaDB vitals may hold than at the start: one. There is one check;
 * a run opens one connection and closes it before the next run starts (it gives up at its
 * timeout, and a polite COM_QUIT after a result is cut off a timeout later: two timeouts, not
 * more than the interval here). Two at once means one was not closed.
 */
export const DB_SOCKET_SLACK = 1;
/**
 * The shortest a fault lasts. A leak of one socket per failed run shows only once
 * DB_SOCKET_SLACK + 1 runs have failed under the fault; the first may start up to an interval
 * after the fault began and fails a timeout later. Detection plus the hold is usually longer:
 * this only keeps a short --hold (or a fast detection) from ending the fault before a leak can
 * exceed the bound.
 */
export const MIN_FAULT_MS = (DB_SOCKET_SLACK + 1) * INTERVAL_MS + TIMEOUT_MS;

export type Truth = 'up' | 'down';
export const TRANSITIONS = ['kill', 'restart', 'pause', 'resume', 'wrong-password', 'fixed'] as const;
export type TransitionKind = (typeof TRANSITIONS)[number];
export const TRUTH_AFTER: Record<TransitionKind, Truth> = {
  kill: 'down',
  restart: 'up',
  pause: 'down',
  resume: 'up',
  'wrong-password': 'down',
  fixed: 'up',
};
/** The failure reasons a down transition may log: a kill can also cut a connection mid-way. */
export const EXPECTED_REASONS: Partial<Record<TransitionKind, readonly string[]>> = {
  kill: ['refused', 'protocol'],
  pause: ['timeout'],
  'wrong-password': ['auth'],
};

export interface Sample {
  readonly route: string;
  readonly status: number;
  readonly ms: number;
  readonly error?: string;
}

export interface PhaseStats {
  requests: number;
  /** 5xx other than /ready's 503, plus transport errors (no answer at all). */
  errors: number;
  /** /ready answering 503: the truth while the database is down, counted apart. */
  ready503: number;
  slow: number;
  maxMs: number;
  byRoute: Record<string, number>;
  /** The first few offending requests, for the report. */
  examples: Sample[];
}

export interface LoadStats {
  readonly phases: Record<string, PhaseStats>;
  readonly total: number;
  readonly stoppedBy: string;
  /** The load generator's own event-loop delay (its latencies include it). */
  readonly clientLagMaxMs: number;
  readonly clientLagP99Ms: number;
}

export function isFailure(sample: Sample): boolean {
  if (sample.error !== undefined || sample.status === 0) return true;
  if (sample.status === 503 && sample.route === '/ready') return false;
  return sample.status >= 500;
}

export interface TransitionResult {
  readonly cycle: number;
  readonly kind: TransitionKind;
  readonly truth: Truth;
  /** ms from the end of the action to the first poll where /ready and vitals_check_up agreed. */
  readonly detectionMs: number | undefined;
  /** Polls after detection (until the next transition) where they no longer agreed. */
  readonly disagreements: number;
  /** "check status changed" lines logged for this transition. */
  readonly logged: readonly { from: string; to: string; reason: string | null }[];
  readonly actionMs: number;
  /** vitals' fds and MariaDB sockets from just before the action to the end of the hold. */
  readonly held: PhaseResources;
}

export interface PhaseResources {
  /** fd samples taken (one every 100 ms, plus one at each end; the sockets every 500 ms and at both ends). */
  readonly samples: number;
  readonly fds: { readonly start: number; readonly max: number; readonly end: number };
  /** vitals' TCP sockets to MariaDB's port; statesAtMax: their states at the fullest sample. */
  readonly dbSockets: {
    readonly start: number;
    readonly max: number;
    readonly end: number;
    readonly statesAtMax: string;
  };
}

export interface CycleResources {
  readonly cycle: number;
  readonly fds: number;
  readonly threads: number;
  readonly rss: number;
}

export interface Assertion {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface ChaosReport {
  readonly passed: boolean;
  readonly cycles: number;
  readonly seconds: number;
  readonly assertions: readonly Assertion[];
  readonly transitions: readonly TransitionResult[];
  readonly load: LoadStats & {
    readonly rate: number;
    readonly connections: number;
  };
  readonly resources: {
    /** max: the highest after a cycle; bound: the most allowed at any moment of a phase. */
    readonly fds: { readonly start: number; readonly end: number; readonly max: number; readonly bound: number };
    /** vitals' sockets to MariaDB: the starting level and the most allowed during a phase. */
    readonly dbSockets: { readonly start: number; readonly bound: number };
    readonly threads: { readonly start: number; readonly end: number; readonly max: number };
    /** start/end: after a full GC; raw*: as found; max: the highest as found (after a cycle). */
    readonly rss: {
      readonly start: number;
      readonly end: number;
      readonly max: number;
      readonly rawStart: number;
      readonly rawEnd: number;
    };
    readonly perCycle: readonly CycleResources[];
  };
  readonly table: string;
}

export interface ChaosOptions {
  readonly cycles: number;
  readonly rate: number;
  readonly connections: number;
  /** How long each state is held after it was detected (and checked to stay detected). */
  readonly holdMs: number;
  /**
   * Load before the starting levels are taken: the JIT warms up and V8's young generation
   * grows to its working size, so that RSS growth measures the chaos, not the first seconds.
   */
  readonly warmupMs: number;
  readonly log?: (line: string) => void;
}
