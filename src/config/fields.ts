import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * A Prometheus-style duration string, yielding milliseconds. The upper bound keeps every
 * value a valid Node timer delay (a longer one would fire at once and spin).
 */
export function duration(bounds: { min?: number; max?: number; format?: (ms: number) => string } = {}) {
  const min = bounds.min ?? 0;
  const max = bounds.max ?? DAY_MS;
  const format = bounds.format ?? formatDuration;
  return z.string({ error: 'expected a duration string such as "500ms", "5s" or "1m"' }).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid duration "${text}" (use e.g. "500ms", "5s", "1m")` });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({
        code: 'custom',
        message: `duration "${text}" out of range (${format(min)} to ${format(max)})`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

export const port = z.int({ error: 'expected a port number (0-65535)' }).min(0).max(65_535);
