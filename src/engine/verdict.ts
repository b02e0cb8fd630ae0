import type { Status } from '../types.js';

export interface VerdictInput {
  readonly name: string;
  readonly critical: boolean;
  readonly status: Status;
  /** Added by a reload and not yet run: it does not count, so a reload never flaps /ready. */
  readonly awaitingFirstResult: boolean;
}

/**
 * Fail if a critical check fails or is unknown, or while draining; warn if any
 * check warns or a non-critical check fails; else pass. Non-critical unknowns do not count.
 */
export function readiness(
  checks: Iterable<VerdictInput>,
  draining: boolean,
  excluded?: ReadonlySet<string>,
): 'pass' | 'warn' | 'fail' {
  if (draining) return 'fail';
  let verdict: 'pass' | 'warn' = 'pass';
  for (const check of checks) {
    if (excluded?.has(check.name) === true || check.awaitingFirstResult) continue;
    switch (check.status) {
      case 'fail':
        if (check.critical) return 'fail';
        verdict = 'warn';
        break;
      case 'unknown':
        if (check.critical) return 'fail';
        break;
      case 'warn':
        verdict = 'warn';
        break;
      case 'pass':
        break;
    }
  }
  return verdict;
}
