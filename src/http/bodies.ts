import type { CheckView } from '../types.js';

/** One member of the IETF draft's `checks` object. */
export interface CheckEntry {
  componentId?: string;
  componentType: string;
  status: string;
  observedValue?: number;
  observedUnit?: string;
  time?: string;
  output?: string;
}

export interface HealthBody {
  status: 'pass' | 'warn' | 'fail';
  version: string;
  checks?: Record<string, CheckEntry[]>;
  notes?: string[];
}

const round = (value: number) => Math.round(value * 10) / 10;

export function entryKey(check: CheckView): string {
  return `${check.definition.name}:${check.observed.key}`;
}

function explain(check: CheckView): string | undefined {
  const { last, status, definition } = check;
  if (status === 'pass') return undefined;
  if (last === undefined) return 'no result yet';
  if (last.output !== undefined) return last.output;
  // The last run succeeded but the reported status is still fail: thresholds are holding it.
  if (status === 'fail') return `recovering: waiting for ${String(definition.successThreshold)} consecutive passes`;
  return undefined;
}

export function checkEntry(check: CheckView): CheckEntry {
  const entry: CheckEntry = {
    componentId: check.definition.name,
    componentType: check.componentType,
    status: check.status,
  };
  const { last } = check;
  if (last !== undefined) {
    entry.observedValue = round(last.observedValue);
    entry.observedUnit = check.observed.unit;
    entry.time = new Date(last.finishedAt).toISOString();
  }
  const output = explain(check);
  if (output !== undefined) entry.output = output;
  return entry;
}

export function checksMember(checks: readonly CheckView[]): Record<string, CheckEntry[]> {
  return Object.fromEntries(checks.map((check) => [entryKey(check), [checkEntry(check)]]));
}

export function healthBody(version: string, uptimeSeconds: number, now: number): HealthBody {
  return {
    status: 'pass',
    version,
    checks: {
      uptime: [
        {
          componentType: 'system',
          observedValue: Math.floor(uptimeSeconds),
          observedUnit: 's',
          status: 'pass',
          time: new Date(now).toISOString(),
        },
      ],
    },
  };
}
