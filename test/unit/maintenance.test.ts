import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type Config } from '../../src/config/load.js';
import { everyToCron } from '../../src/config/maintenance.js';
import {
  createMaintenance,
  formatWindowEnd,
  scheduledWindowAt,
  softenForMaintenance,
  type MaintenanceWindow,
} from '../../src/engine/maintenance.js';
import type { RunResult } from '../../src/types.js';

const CHECKS = [{ name: 'primary-db', kind: 'tcp', host: '127.0.0.1', port: 3306 }];

function load(maintenance: unknown): Config {
  return parseConfig({ checks: CHECKS, maintenance }, 'test');
}

function problems(maintenance: unknown): string[] {
  try {
    load(maintenance);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('the maintenance: section', () => {
  it('resolves a friendly recurrence to cron, with its time zone and duration', () => {
    const [entry] = load([
      { checks: ['primary-db'], every: 'Sun 02:00', duration: '1h', timezone: 'Europe/Berlin', reason: 'patching' },
    ]).maintenance;
    expect(entry).toEqual({
      checks: ['primary-db'],
      every: 'Sun 02:00',
      cron: '0 2 * * 0',
      durationMs: 3_600_000,
      timezone: 'Europe/Berlin',
      reason: 'patching',
    });
    expect(load([{ checks: 'all', every: 'daily 03:30', duration: '30m' }]).maintenance[0]).toMatchObject({
      cron: '30 3 * * *',
      timezone: 'UTC',
      reason: 'scheduled maintenance',
    });
  });

  it.each([
    ['Sun 02:00', '0 2 * * 0'],
    ['saturday 23:05', '5 23 * * 6'],
    ['daily 00:00', '0 0 * * *'],
    ['0 4 1 * *', '0 4 1 * *'],
    ['Sun 24:00', undefined],
    ['someday 02:00', undefined],
    ['0 4 1 *', undefined],
    ['61 4 * * *', undefined],
  ])('reads every: %s as %s', (every, cron) => {
    expect(everyToCron(every)).toBe(cron);
  });

  it('names the path of every problem at load', () => {
    expect(
      problems([
        { checks: ['primary-db'], every: 'Sun 02:00', duration: '1h', timezone: 'Europe/Berln' },
        { checks: ['nope'], every: 'whenever', duration: '8d' },
        { checks: 'all', every: 'daily 01:00', duration: '1h', extra: 1 },
        { checks: [], every: 'daily 01:00', duration: '1h' },
      ]),
    ).toEqual([
      'maintenance[0].timezone: unknown time zone "Europe/Berln"',
      'maintenance[1].every: "whenever" is not "Sun 02:00", "daily 03:30" or a 5-field cron expression',
      'maintenance[1].duration: at most 7d',
      'maintenance[1].checks[0]: unknown check "nope"',
      'maintenance[2].extra: unknown key',
      expect.stringContaining('maintenance[3].checks'),
    ]);
    expect(problems({ checks: 'all' })).toEqual([expect.stringContaining('maintenance')]);
  });
});

describe('scheduled windows', () => {
  const sunday2am = {
    checks: ['primary-db'] as const,
    every: 'Sun 02:00',
    cron: '0 2 * * 0',
    durationMs: 3_600_000,
    timezone: 'Europe/Berlin',
    reason: 'patching',
  };

  it('covers an occurrence in its own time zone, across a DST change', () => {
    // 2026-12-06 is a Sunday; 02:00 Berlin (CET, +01:00) is 01:00Z.
    expect(scheduledWindowAt(sunday2am, 0, Date.parse('2026-12-06T00:59:59Z'))).toBeUndefined();
    const open = scheduledWindowAt(sunday2am, 0, Date.parse('2026-12-06T01:30:00Z'));
    expect(open).toMatchObject({ start: Date.parse('2026-12-06T01:00:00Z'), end: Date.parse('2026-12-06T02:00:00Z') });
    expect(scheduledWindowAt(sunday2am, 0, Date.parse('2026-12-06T02:00:00Z'))).toBeUndefined();
    // 2026-07-05 is a Sunday in summer time (CEST, +02:00): 02:00 Berlin is 00:00Z.
    expect(scheduledWindowAt(sunday2am, 0, Date.parse('2026-07-05T00:10:00Z'))?.start).toBe(
      Date.parse('2026-07-05T00:00:00Z'),
    );
    expect(scheduledWindowAt(sunday2am, 0, Date.parse('2026-12-07T01:30:00Z'))).toBeUndefined();
  });

  it('applies to the named checks only, and a reload replaces the schedules', () => {
    const maintenance = createMaintenance();
    maintenance.setSchedules([sunday2am]);
    const inside = Date.parse('2026-12-06T01:30:00Z');
    expect(maintenance.windowFor('primary-db', inside)?.reason).toBe('patching');
    expect(maintenance.windowFor('cache', inside)).toBeUndefined();
    maintenance.setSchedules([]);
    expect(maintenance.windowFor('primary-db', inside)).toBeUndefined();
  });
});

describe('softening a failure', () => {
  const failure: RunResult = {
    status: 'fail',
    durationMs: 3,
    observedValue: 3,
    finishedAt: Date.parse('2026-12-06T01:30:00Z'),
    output: 'connect ECONNREFUSED 127.0.0.1:3306',
    reason: 'refused',
  };
  const window = { end: Date.parse('2026-12-06T03:00:00Z') } as MaintenanceWindow;

  it('reports a failure as warn with the window end, keeping its reason', () => {
    expect(softenForMaintenance(failure, window)).toEqual({
      ...failure,
      status: 'warn',
      output: 'in maintenance until 03:00Z: connect ECONNREFUSED 127.0.0.1:3306',
    });
    expect(softenForMaintenance(failure, undefined)).toBe(failure);
    const pass: RunResult = { ...failure, status: 'pass', output: undefined, reason: undefined };
    expect(softenForMaintenance(pass, window)).toBe(pass);
  });

  it('writes the date when the window ends on another day', () => {
    const now = Date.parse('2026-12-06T23:30:00Z');
    expect(formatWindowEnd(Date.parse('2026-12-07T00:30:00Z'), now)).toBe('2026-12-07 00:30Z');
    expect(formatWindowEnd(Date.parse('2026-12-06T23:45:00Z'), now)).toBe('23:45Z');
  });
});
