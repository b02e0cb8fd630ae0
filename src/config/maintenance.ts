import { Cron } from 'croner';
import { z } from 'zod';
import { formatDays, parseDuration } from './duration.js';
import { zodProblems } from './problems.js';

/** A window longer than a week is a decommission, not maintenance. */
export const MAX_MAINTENANCE_MS = 7 * 24 * 3600 * 1000;

/** One `maintenance:` entry, resolved: a recurring window. */
export interface MaintenanceSchedule {
  readonly checks: readonly string[] | 'all';
  /** As written, for messages. */
  readonly every: string;
  /** The 5-field cron expression `every` stands for. */
  readonly cron: string;
  readonly durationMs: number;
  /** IANA name; the recurrence is read in it (02:00 Berlin time, across DST). */
  readonly timezone: string;
  readonly reason: string;
}

export const maintenanceChecksSchema = z.union([
  z.literal('all'),
  z.array(z.string().min(1)).min(1, 'name at least one check, or "all"'),
]);

const entrySchema = z.strictObject({
  checks: maintenanceChecksSchema,
  every: z.string().min(1),
  duration: z.string(),
  timezone: z.string().min(1).default('UTC'),
  reason: z.string().max(200).default('scheduled maintenance'),
});

export const maintenanceSectionSchema = z.array(z.unknown()).default([]);

const DAYS: Readonly<Record<string, number>> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FRIENDLY = /^(daily|sun|mon|tue|wed|thu|fri|sat)[a-z]*\s+([01]?\d|2[0-3]):([0-5]\d)$/i;

/**
 * `every` as cron: "Sun 02:00" (a weekday, English, any abbreviation of three letters or more),
 * "daily 03:30", or a 5-field cron expression as it is. Undefined when it is none of these.
 */
export function everyToCron(every: string): string | undefined {
  const text = every.trim();
  const friendly = FRIENDLY.exec(text);
  if (friendly !== null) {
    const [, day = '', hour = '', minute = ''] = friendly;
    const key = day.toLowerCase().slice(0, 3);
    const weekday = key === 'dai' ? '*' : String(DAYS[key]);
    return `${String(Number(minute))} ${String(Number(hour))} * * ${weekday}`;
  }
  if (text.split(/\s+/).length !== 5) return undefined;
  try {
    new Cron(text, { paused: true });
    return text;
  } catch {
    return undefined;
  }
}

/** A duration for a maintenance window: positive, at most 7d. Returns the ms or a problem. */
export function maintenanceDuration(text: string): number | string {
  const ms = parseDuration(text);
  if (ms === undefined) return `"${text.slice(0, 40)}" is not a duration (like 30m or 1h30m)`;
  if (ms <= 0) return 'must be longer than 0s';
  if (ms > MAX_MAINTENANCE_MS) return `at most ${formatDays(MAX_MAINTENANCE_MS)}`;
  return ms;
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The `maintenance:` section; problems name their path. `checkNames` are the config's checks. */
export function parseMaintenance(
  raw: readonly unknown[],
  checkNames: ReadonlySet<string>,
  problems: string[],
): MaintenanceSchedule[] {
  const schedules: MaintenanceSchedule[] = [];
  raw.forEach((value, index) => {
    const at = `maintenance[${String(index)}]`;
    const parsed = entrySchema.safeParse(value);
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, at));
      return;
    }
    const entry = parsed.data;
    const before = problems.length;
    const cron = everyToCron(entry.every);
    if (cron === undefined) {
      problems.push(`${at}.every: "${entry.every}" is not "Sun 02:00", "daily 03:30" or a 5-field cron expression`);
    }
    const duration = maintenanceDuration(entry.duration);
    if (typeof duration === 'string') problems.push(`${at}.duration: ${duration}`);
    if (!isTimeZone(entry.timezone)) problems.push(`${at}.timezone: unknown time zone "${entry.timezone}"`);
    if (entry.checks !== 'all') {
      entry.checks.forEach((name, i) => {
        if (!checkNames.has(name)) problems.push(`${at}.checks[${String(i)}]: unknown check "${name}"`);
      });
    }
    if (problems.length > before || cron === undefined || typeof duration === 'string') return;
    schedules.push({
      checks: entry.checks,
      every: entry.every,
      cron,
      durationMs: duration,
      timezone: entry.timezone,
      reason: entry.reason,
    });
  });
  return schedules;
}
