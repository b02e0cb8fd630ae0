import type { CheckDefinition } from '../types.js';
import { formatDays } from '../config/duration.js';
import type { SloObjective } from '../config/slo.js';

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** A check that has an objective: the only ones that get rules and specs. */
export interface SloCheck {
  readonly name: string;
  readonly kind: string;
  readonly slo: SloObjective;
}

export function sloChecks(checks: readonly CheckDefinition[]): SloCheck[] {
  return checks.flatMap((c) => (c.slo === undefined ? [] : [{ name: c.name, kind: c.kind, slo: c.slo }]));
}

/**
 * The multi-window, multi-burn-rate alerts of the Google SRE workbook (chapter 5, "Alerting on
 * SLOs", table 5-8): each fires when both its long and its short window burn the error budget
 * faster than `factor` times the sustainable rate. The long window makes it significant, the
 * short one makes it stop soon after the failures do.
 */
export const BURN_ALERTS = [
  { severity: 'critical', long: '1h', short: '5m', factor: 14.4 },
  { severity: 'critical', long: '6h', short: '30m', factor: 6 },
  { severity: 'warning', long: '1d', short: '2h', factor: 3 },
  { severity: 'warning', long: '3d', short: '6h', factor: 1 },
] as const;

/** Every window an error ratio is recorded over: the union of the alerts' windows. */
export const RATIO_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;

export const formatWindow = formatDays;

/** The error budget as a ratio, free of binary-float noise: 99.9 → 0.001, not 0.0010000000000000009. */
export function errorBudget(objective: number): number {
  return Number(((100 - objective) / 100).toPrecision(12));
}

/** The objective as a ratio, free of binary-float noise: 99.9 → 0.999. */
export function objectiveRatio(objective: number): number {
  return Number((objective / 100).toPrecision(12));
}

/** How long a burn at `factor` times the sustainable rate takes to spend a whole window's budget. */
export function exhaustion(windowMs: number, factor: number): string {
  const ms = windowMs / factor;
  return ms < 3 * DAY_MS ? `${String(Math.round(ms / HOUR_MS))}h` : `${(ms / DAY_MS).toFixed(1).replace(/\.0$/, '')}d`;
}

/** The counters every format builds on, as PromQL selectors of one check. */
export function selectors(check: SloCheck): { failures: string; runs: string } {
  // Check names are [a-z0-9][a-z0-9_-]*: nothing to escape in a label value.
  return {
    failures: `vitals_check_failures_total{check="${check.name}"}`,
    runs: `vitals_check_runs_total{check="${check.name}"}`,
  };
}

export const RUNBOOK_URL = 'https://github.com/vitals/vitals/blob/main/docs/runbook.md#vitalserrorbudgetburn';
export const ALERT_NAME = 'VitalsErrorBudgetBurn';
