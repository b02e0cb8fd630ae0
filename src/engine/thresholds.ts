import type { RunResult, Status } from '../types.js';

export interface ThresholdState {
  readonly reported: Status;
  /** Consecutive runs that disagree with `reported` (fail while reported ok, or the reverse). */
  readonly streak: number;
}

export const INITIAL_THRESHOLD_STATE: ThresholdState = { reported: 'unknown', streak: 0 };

const isOk = (status: Status) => status === 'pass' || status === 'warn';

/**
 * The first result is taken as it is; afterwards a flip between ok (pass/warn) and
 * fail needs `failureThreshold` / `successThreshold` consecutive runs. pass <-> warn is not a
 * flip: both are success, so the newest of the two is reported at once.
 */
export function applyThresholds(
  state: ThresholdState,
  run: RunResult['status'],
  thresholds: { failureThreshold: number; successThreshold: number },
): ThresholdState {
  if (state.reported === run && state.streak === 0) return state;
  if (state.reported === 'unknown') return { reported: run, streak: 0 };
  if (isOk(state.reported) === isOk(run)) return { reported: run, streak: 0 };
  const streak = state.streak + 1;
  const needed = run === 'fail' ? thresholds.failureThreshold : thresholds.successThreshold;
  return streak >= needed ? { reported: run, streak: 0 } : { reported: state.reported, streak };
}
