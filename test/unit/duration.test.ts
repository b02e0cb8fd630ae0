import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';
import { duration } from '../../src/config/fields.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1y', 31_536_000_000],
    ['1h2m3s4ms', 3_723_004],
    ['0', 0],
    ['0s', 0],
    ['0ms', 0],
  ])('reads "%s" as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['5', 'a bare number has no unit'],
    ['1.5s', 'fractions are not Prometheus durations'],
    ['s', 'a unit needs a number'],
    ['-1s', 'durations are never negative'],
    ['1s1m', 'units must come in descending order'],
    ['1ms1s', 'ms comes after s'],
    ['5s5s', 'a unit may appear once'],
    ['', 'the empty string is nothing'],
    [' 5s', 'blanks are not trimmed'],
    ['5S', 'units are lower case'],
    ['5 s', 'no blank between number and unit'],
    ['1us', 'microseconds are not supported'],
    ['00', 'only a single "0" stands without a unit'],
  ])('rejects "%s" (%s)', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('reads a well-formed duration too long to count in milliseconds as Infinity, not as invalid', () => {
    expect(parseDuration('99999999y')).toBe(Number.POSITIVE_INFINITY);
    expect(parseDuration('99999999999999999999ms')).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1500, '1s500ms'],
    [90_000, '1m30s'],
    [86_400_000, '1d'],
    [3_723_004, '1h2m3s4ms'],
  ])('formats %d ms as "%s"', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each(['250ms', '1m30s', '1d2h', '1w1d1h1m1s1ms'])('round-trips "%s" through parseDuration', (text) => {
    expect(formatDuration(parseDuration(text) ?? -1)).toBe(text);
  });
});

describe('the duration config field', () => {
  const messages = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
    result.error?.issues.map((issue) => issue.message) ?? [];

  it('yields milliseconds for a valid duration', () => {
    expect(duration().parse('250ms')).toBe(250);
  });

  it('calls a malformed duration invalid and quotes it', () => {
    expect(messages(duration().safeParse('1.5s'))).toEqual(['invalid duration "1.5s" (use e.g. "500ms", "5s", "1m")']);
  });

  it('calls a huge but well-formed duration out of range rather than invalid', () => {
    expect(messages(duration().safeParse('99999999y'))).toEqual(['duration "99999999y" out of range (0s to 1d)']);
  });

  it('keeps every accepted duration within a day by default, so that it is a valid Node timer delay', () => {
    expect(duration().parse('1d')).toBe(86_400_000);
    expect(messages(duration().safeParse('1d1ms'))).toEqual(['duration "1d1ms" out of range (0s to 1d)']);
  });

  it('applies a lower bound', () => {
    expect(messages(duration({ min: 100 }).safeParse('99ms'))).toEqual(['duration "99ms" out of range (100ms to 1d)']);
    expect(duration({ min: 100 }).parse('100ms')).toBe(100);
  });

  it('rejects a number where a duration string belongs', () => {
    expect(messages(duration().safeParse(5))).toEqual(['expected a duration string such as "500ms", "5s" or "1m"']);
  });
});
