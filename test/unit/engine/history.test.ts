import { describe, expect, it } from 'vitest';
import { createHistory, RUNS_PER_CHECK, TRANSITIONS_KEPT } from '../../../src/engine/history.js';
import type { RecordedRun } from '../../../src/engine/monitor.js';
import type { CheckView, RunResult, Status } from '../../../src/types.js';

function recorded(name: string, at: number, run: Partial<RunResult>, from: Status, to: Status): RecordedRun {
  const check = { definition: { name }, status: to } as unknown as CheckView;
  const result: RunResult = {
    status: 'pass',
    durationMs: 1,
    observedValue: 1,
    finishedAt: at,
    output: undefined,
    reason: undefined,
    ...run,
  };
  return { check, run: result, from };
}

describe('the status page history', () => {
  it('keeps the last 60 runs of a check, oldest first, each as it ran', () => {
    const history = createHistory();
    for (let i = 0; i < 150; i += 1) {
      const failed = i % 10 === 0;
      history.record(
        recorded(
          'db',
          1_000_000 + i,
          failed
            ? { status: 'fail', durationMs: i + 0.25, reason: 'timeout', output: 'timeout after 1000ms' }
            : { durationMs: i + 0.25 },
          'pass',
          'pass',
        ),
      );
    }
    const { runs } = history.of('db');
    expect(runs).toHaveLength(RUNS_PER_CHECK);
    expect(runs[0]).toEqual({ finishedAt: 1_000_090, durationMs: 90.3, status: 'fail', reason: 'timeout' });
    expect(runs[59]).toEqual({ finishedAt: 1_000_149, durationMs: 149.3, status: 'pass', reason: undefined });
    expect(runs.map((r) => r.finishedAt)).toEqual(Array.from({ length: 60 }, (_, i) => 1_000_090 + i));
  });

  it('lists the last 20 changes of status, newest first, and when each check last changed', () => {
    const history = createHistory();
    history.record(recorded('a', 1, {}, 'unknown', 'pass'));
    history.record(recorded('a', 2, {}, 'pass', 'pass'));
    expect(history.of('a').since).toBe(1);
    for (let i = 0; i < 30; i += 1) {
      const to = i % 2 === 0 ? 'fail' : 'pass';
      const run: Partial<RunResult> =
        to === 'fail' ? { status: 'fail', reason: 'refused', output: `x${'y'.repeat(500)}` } : {};
      history.record(recorded('b', 100 + i, run, to === 'fail' ? 'pass' : 'fail', to));
    }
    const transitions = history.transitions();
    expect(transitions).toHaveLength(TRANSITIONS_KEPT);
    expect(transitions[0]).toEqual({
      at: 129,
      check: 'b',
      from: 'fail',
      to: 'pass',
      reason: undefined,
      output: undefined,
    });
    expect(transitions[1]?.output).toHaveLength(200);
    expect(transitions[19]?.at).toBe(110);
    expect(history.of('b').since).toBe(129);
    expect(history.of('nope')).toEqual({ runs: [], since: undefined });
  });

  it('forgets the checks a reload removed', () => {
    const history = createHistory();
    history.record(recorded('old', 1, {}, 'unknown', 'pass'));
    history.record(recorded('kept', 1, {}, 'unknown', 'pass'));
    history.forget(['old']);
    expect(history.of('old')).toEqual({ runs: [], since: undefined });
    expect(history.of('kept').runs).toHaveLength(1);
  });
});
