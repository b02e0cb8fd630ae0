import { describe, expect, it } from 'vitest';
import { applyThresholds, INITIAL_THRESHOLD_STATE, type ThresholdState } from '../../src/engine/thresholds.js';
import type { RunResult, Status } from '../../src/types.js';

type Run = RunResult['status'];

/** The reported status after each run of `runs`, starting from no result. */
function reportedAfter(runs: readonly Run[], failureThreshold = 1, successThreshold = 1): Status[] {
  let state: ThresholdState = INITIAL_THRESHOLD_STATE;
  return runs.map((run) => {
    state = applyThresholds(state, run, { failureThreshold, successThreshold });
    return state.reported;
  });
}

describe('applyThresholds', () => {
  it('starts unknown', () => {
    expect(INITIAL_THRESHOLD_STATE).toEqual({ reported: 'unknown', streak: 0 });
  });

  it.each<Run>(['pass', 'warn', 'fail'])('takes a first result of %s as it is, whatever the thresholds', (run) => {
    expect(reportedAfter([run], 5, 5)).toEqual([run]);
  });

  it('reports a fail at once with failureThreshold 1', () => {
    expect(reportedAfter(['pass', 'fail', 'pass'])).toEqual(['pass', 'fail', 'pass']);
  });

  it('needs failureThreshold 3 consecutive fails before a passing check is reported failing', () => {
    expect(reportedAfter(['pass', 'fail', 'fail', 'fail', 'fail'], 3)).toEqual([
      'pass',
      'pass',
      'pass',
      'fail',
      'fail',
    ]);
  });

  it('starts the failure count again after a success in between', () => {
    expect(reportedAfter(['pass', 'fail', 'fail', 'pass', 'fail', 'fail', 'fail'], 3)).toEqual([
      'pass',
      'pass',
      'pass',
      'pass',
      'pass',
      'pass',
      'fail',
    ]);
  });

  it('needs successThreshold consecutive successes before a failing check is reported passing', () => {
    expect(reportedAfter(['fail', 'pass', 'pass', 'pass'], 1, 2)).toEqual(['fail', 'fail', 'pass', 'pass']);
  });

  it('starts the success count again after a fail in between', () => {
    expect(reportedAfter(['fail', 'pass', 'fail', 'pass', 'pass'], 1, 2)).toEqual([
      'fail',
      'fail',
      'fail',
      'fail',
      'pass',
    ]);
  });

  it('counts warn as a success towards successThreshold, and reports the run that completes it', () => {
    expect(reportedAfter(['fail', 'warn', 'pass'], 1, 2)).toEqual(['fail', 'fail', 'pass']);
    expect(reportedAfter(['fail', 'pass', 'warn'], 1, 2)).toEqual(['fail', 'fail', 'warn']);
  });

  it('does not treat pass <-> warn as a flip: the newest is reported at once', () => {
    expect(reportedAfter(['pass', 'warn', 'pass', 'warn'], 3, 3)).toEqual(['pass', 'warn', 'pass', 'warn']);
  });

  it('lets a warn during a failure streak reset the streak without hiding the warn', () => {
    expect(reportedAfter(['pass', 'fail', 'fail', 'warn', 'fail', 'fail'], 3)).toEqual([
      'pass',
      'pass',
      'pass',
      'warn',
      'warn',
      'warn',
    ]);
  });

  it('keeps counting while the reported status is held', () => {
    let state = applyThresholds(INITIAL_THRESHOLD_STATE, 'pass', { failureThreshold: 3, successThreshold: 1 });
    state = applyThresholds(state, 'fail', { failureThreshold: 3, successThreshold: 1 });
    expect(state).toEqual({ reported: 'pass', streak: 1 });
    state = applyThresholds(state, 'fail', { failureThreshold: 3, successThreshold: 1 });
    expect(state).toEqual({ reported: 'pass', streak: 2 });
    state = applyThresholds(state, 'fail', { failureThreshold: 3, successThreshold: 1 });
    expect(state).toEqual({ reported: 'fail', streak: 0 });
  });
});
