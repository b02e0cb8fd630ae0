import { describe, expect, it } from 'vitest';
import { readiness, type VerdictInput } from '../../src/engine/verdict.js';
import type { Status } from '../../src/types.js';

const check = (name: string, status: Status, critical = true, awaitingFirstResult = false): VerdictInput => ({
  name,
  critical,
  status,
  awaitingFirstResult,
});

describe('readiness', () => {
  it('passes when every check passes', () => {
    expect(readiness([check('a', 'pass'), check('b', 'pass', false)], false)).toBe('pass');
  });

  it('passes with no checks at all', () => {
    expect(readiness([], false)).toBe('pass');
  });

  it('fails when a critical check fails', () => {
    expect(readiness([check('a', 'pass'), check('b', 'fail')], false)).toBe('fail');
  });

  it('fails when a critical check is unknown', () => {
    expect(readiness([check('a', 'pass'), check('b', 'unknown')], false)).toBe('fail');
  });

  it('warns, not fails, when a non-critical check fails', () => {
    expect(readiness([check('a', 'pass'), check('b', 'fail', false)], false)).toBe('warn');
  });

  it('ignores a non-critical check that is unknown', () => {
    expect(readiness([check('a', 'pass'), check('b', 'unknown', false)], false)).toBe('pass');
  });

  it.each([true, false])('warns when a check warns (critical: %s)', (critical) => {
    expect(readiness([check('a', 'pass'), check('b', 'warn', critical)], false)).toBe('warn');
  });

  it('lets a critical fail win over an earlier warn', () => {
    expect(readiness([check('a', 'warn'), check('b', 'fail', false), check('c', 'fail')], false)).toBe('fail');
  });

  it('always fails while draining, even with every check passing', () => {
    expect(readiness([check('a', 'pass')], true)).toBe('fail');
    expect(readiness([], true)).toBe('fail');
  });

  it('leaves an excluded check out of the verdict', () => {
    const checks = [check('a', 'pass'), check('b', 'fail'), check('c', 'warn', false)];
    expect(readiness(checks, false, new Set(['b']))).toBe('warn');
    expect(readiness(checks, false, new Set(['b', 'c']))).toBe('pass');
  });

  it('ignores an excluded name that matches no check', () => {
    expect(readiness([check('a', 'fail')], false, new Set(['nope']))).toBe('fail');
  });

  it('never lets exclusion override draining', () => {
    expect(readiness([check('a', 'pass')], true, new Set(['a']))).toBe('fail');
  });

  it('ignores a check awaiting its first result after a reload, critical or not', () => {
    expect(readiness([check('a', 'pass'), check('new', 'unknown', true, true)], false)).toBe('pass');
  });

  it('accepts any iterable of checks, such as a generator', () => {
    function* checks() {
      yield check('a', 'pass');
      yield check('b', 'fail', false);
    }
    expect(readiness(checks(), false)).toBe('warn');
  });
});
