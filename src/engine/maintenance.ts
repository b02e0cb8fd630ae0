import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import type { MaintenanceSchedule } from '../config/maintenance.js';
import type { RunResult } from '../types.js';

/** A window in force: on demand (POST /-/maintenance) or an occurrence of a `maintenance:` entry. */
export interface MaintenanceWindow {
  readonly id: string;
  readonly checks: readonly string[] | 'all';
  /** ms since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly reason: string;
  readonly source: 'on-demand' | 'scheduled';
}

export interface MaintenanceRequest {
  readonly checks: readonly string[] | 'all';
  readonly durationMs: number;
  readonly reason: string;
}

/** At most this many on-demand windows at once: each holds a timer. */
export const MAX_ACTIVE_WINDOWS = 100;

export class TooManyWindowsError extends Error {}

export interface Maintenance {
  /** Opens a window now; throws TooManyWindowsError over MAX_ACTIVE_WINDOWS. */
  open(request: MaintenanceRequest): MaintenanceWindow;
  /** Ends an on-demand window early; false for an unknown id. */
  close(id: string): boolean;
  /** Every window in force now, on-demand then scheduled. */
  active(now?: number): MaintenanceWindow[];
  /** The window covering a check now (the one ending last, if several), or undefined. */
  windowFor(check: string, now?: number): MaintenanceWindow | undefined;
  /** Replaces the recurring windows (load, reload). */
  setSchedules(schedules: readonly MaintenanceSchedule[]): void;
  /** Called when an on-demand window opens or ends. */
  onChange(listener: () => void): void;
  /** Ends every on-demand window and its timer. */
  clear(): void;
}

const covers = (window: MaintenanceWindow, check: string) => window.checks === 'all' || window.checks.includes(check);

/**
 * The occurrence of a recurring window that covers `now`, if any: the first start after
 * `now - duration` is the only one whose window can still be open.
 */
export function scheduledWindowAt(
  schedule: MaintenanceSchedule,
  index: number,
  now: number,
  cron = new Cron(schedule.cron, { timezone: schedule.timezone, paused: true }),
): MaintenanceWindow | undefined {
  const start = cron.nextRun(new Date(now - schedule.durationMs))?.getTime();
  if (start === undefined || start > now) return undefined;
  return {
    id: `scheduled-${String(index)}-${String(start)}`,
    checks: schedule.checks,
    start,
    end: start + schedule.durationMs,
    reason: schedule.reason,
    source: 'scheduled',
  };
}

export function createMaintenance(): Maintenance {
  const onDemand = new Map<string, { window: MaintenanceWindow; timer: NodeJS.Timeout }>();
  let schedules: { schedule: MaintenanceSchedule; cron: Cron }[] = [];
  const listeners: (() => void)[] = [];
  const notify = () => {
    for (const listener of listeners) listener();
  };

  const maintenance: Maintenance = {
    open(request) {
      if (onDemand.size >= MAX_ACTIVE_WINDOWS)
        throw new TooManyWindowsError(`at most ${String(MAX_ACTIVE_WINDOWS)} active windows`);
      const start = Date.now();
      const window: MaintenanceWindow = {
        id: randomUUID(),
        checks: request.checks,
        start,
        end: start + request.durationMs,
        reason: request.reason,
        source: 'on-demand',
      };
      const timer = setTimeout(() => maintenance.close(window.id), request.durationMs);
      // A window must not keep an embedding app (or a test) alive.
      timer.unref();
      onDemand.set(window.id, { window, timer });
      notify();
      return window;
    },
    close(id) {
      const held = onDemand.get(id);
      if (held === undefined) return false;
      clearTimeout(held.timer);
      onDemand.delete(id);
      notify();
      return true;
    },
    active(now = Date.now()) {
      const scheduled = schedules.flatMap(
        ({ schedule, cron }, index) => scheduledWindowAt(schedule, index, now, cron) ?? [],
      );
      return [...[...onDemand.values()].map((held) => held.window).filter((w) => w.end > now), ...scheduled];
    },
    windowFor(check, now = Date.now()) {
      let found: MaintenanceWindow | undefined;
      for (const window of maintenance.active(now)) {
        if (covers(window, check) && (found === undefined || window.end > found.end)) found = window;
      }
      return found;
    },
    setSchedules(next) {
      schedules = next.map((schedule) => ({
        schedule,
        cron: new Cron(schedule.cron, { timezone: schedule.timezone, paused: true }),
      }));
    },
    onChange(listener) {
      listeners.push(listener);
    },
    clear() {
      for (const { timer } of onDemand.values()) clearTimeout(timer);
      onDemand.clear();
    },
  };
  return maintenance;
}

/** `03:00Z`, or `2026-12-24 03:00Z` when the end is not on today's (UTC) date. */
export function formatWindowEnd(end: number, now: number): string {
  const iso = new Date(end).toISOString();
  const time = `${iso.slice(11, 16)}Z`;
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

/**
 * What a run reports inside a window: a failure becomes a warn that says so, its reason kept
 * (vitals_check_failures_total still counts it: the counters tell what happened, the status
 * what to do about it). Pass and warn are left as they are.
 */
export function softenForMaintenance(run: RunResult, window: MaintenanceWindow | undefined): RunResult {
  if (window === undefined || run.status !== 'fail') return run;
  return {
    ...run,
    status: 'warn',
    output: `in maintenance until ${formatWindowEnd(window.end, run.finishedAt)}: ${run.output ?? 'failed'}`,
  };
}
