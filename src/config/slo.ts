import { z } from 'zod';
import { formatDays } from './duration.js';
import { duration } from './fields.js';

const DAY_MS = 24 * 3600 * 1000;
/** 28 days: four whole weeks, so every window holds the same weekdays (the workbook's choice). */
export const DEFAULT_SLO_WINDOW_MS = 28 * DAY_MS;

/**
 * `slo` of a check and of `defaults`: either field may come from the other. The window has a
 * floor of a day because the slowest burn-rate alert looks back 3 days, and a cap of 90 days
 * because Prometheus' default retention is 15 days and few keep more than a quarter.
 */
export const sloSchema = z.strictObject({
  objective: z
    .number({ error: 'expected a percentage such as 99.9' })
    .gt(0, { error: 'must be above 0 and below 100 (a percentage such as 99.9)' })
    .lt(100, { error: 'must be above 0 and below 100 (a percentage such as 99.9)' })
    .optional(),
  window: duration({ min: DAY_MS, max: 90 * DAY_MS, format: formatDays }).optional(),
});
export type SloFields = z.infer<typeof sloSchema>;

/** A check's service level objective, resolved. */
export interface SloObjective {
  /** The share of runs that must succeed, in percent: 99.9. */
  readonly objective: number;
  readonly windowMs: number;
}

/**
 * The check's objective over the defaults'; undefined when neither sets an objective. A check
 * that sets only a window with no objective anywhere is a mistake worth a problem.
 */
export function resolveSlo(
  own: SloFields | undefined,
  defaults: SloFields | undefined,
  at: string,
  problems: string[],
): SloObjective | undefined {
  const objective = own?.objective ?? defaults?.objective;
  if (objective === undefined) {
    if (own !== undefined) problems.push(`${at}.slo.objective: required (here or in defaults.slo.objective)`);
    return undefined;
  }
  return { objective, windowMs: own?.window ?? defaults?.window ?? DEFAULT_SLO_WINDOW_MS };
}
