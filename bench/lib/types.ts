/** The shapes of the benchmark's JSON report. */
import type { Latency, LoadResult } from './load.js';

export interface RunRecord {
  readonly round: number;
  /** Position within the round (the order is rotated every round). */
  readonly seq: number;
  readonly target: string;
  readonly route: string;
  readonly url: string;
  readonly warmup: { readonly seconds: number; readonly requests: number; readonly rps: number };
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly latencyMs: Latency;
  readonly non2xx: number;
  readonly errors: LoadResult['errors'];
  /** CPU of the target's process group during the measured run (user + system). */
  readonly cpuMicros: number;
  readonly cpuUsPerReq?: number;
  /** mariadbd's CPU during the run, per request. */
  readonly dbCpuUsPerReq?: number;
  readonly db: DbRecord;
}

export interface DbRecord {
  /** Wall seconds between the two counter reads. */
  readonly seconds: number;
  /** Δ(Questions + Com_admin_commands) minus the read itself. */
  readonly delta: number;
  /** Runs of every vitals mysql check (both vitals targets) in the same span, from their /metrics. */
  readonly checkRuns: number;
  /** (delta − idle background rate × seconds) / requests: the method. */
  queriesPerReq?: number;
  /**
   * (delta − queries per check run × checkRuns) / requests: the checks' own queries counted, not
   * estimated (queries per check run calibrated while the targets start).
   */
  queriesPerReqCounted?: number;
}

export interface IdleWindow {
  readonly round: number;
  readonly seconds: number;
  readonly delta: number;
  readonly checkRuns: number;
}

export interface SummaryRow {
  readonly target: string;
  readonly route: string;
  readonly rounds: number;
  readonly requests: number;
  readonly rps: number;
  readonly ratioVsRaw?: number;
  readonly ratioVsKoa?: number;
  readonly cpuUsPerReq?: number;
  readonly cpuRatioVsRaw?: number;
  readonly p99Ms: number;
  readonly p99RatioVsKoa?: number;
  readonly dbQueriesPerReq?: number;
  readonly dbQueriesPerReqCounted?: number;
  readonly dbCpuUsPerReq?: number;
  readonly non2xx: number;
  readonly connectErrors: number;
}

export type GoalStatus = 'met' | 'not met' | 'skipped';

export interface Goal {
  readonly id: string;
  readonly text: string;
  readonly status: GoalStatus;
  readonly figure: string;
  readonly value?: number;
  readonly limit?: number;
}
