const UNIT_MS: Record<string, number> = {
  y: 365 * 24 * 3600 * 1000,
  w: 7 * 24 * 3600 * 1000,
  d: 24 * 3600 * 1000,
  h: 3600 * 1000,
  m: 60 * 1000,
  s: 1000,
  ms: 1,
};

// Prometheus' duration grammar: units in descending order, each at most once ("1m30s", "500ms").
const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNITS_IN_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'] as const;

/**
 * Parses a Prometheus-style duration into milliseconds; undefined when it is not one.
 * A well-formed duration too long to count in milliseconds ("99999999y") is Infinity, not
 * undefined, so that callers can say "out of range" instead of "invalid"; every caller bounds
 * the result anyway.
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const match = DURATION.exec(text);
  if (!match || text === '') return undefined;
  let total = 0;
  UNITS_IN_ORDER.forEach((unit, index) => {
    const value = match[index + 1];
    if (value !== undefined) total += Number(value) * (UNIT_MS[unit] ?? 0);
  });
  return Number.isSafeInteger(total) ? total : Number.POSITIVE_INFINITY;
}

/** `28d` rather than formatDuration's `4w`, for spans people count in days (SLO windows). */
export function formatDays(ms: number): string {
  const day = UNIT_MS.d ?? 1;
  return ms % day === 0 ? `${String(ms / day)}d` : formatDuration(ms);
}

/** Formats milliseconds back into the shortest Prometheus-style duration. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const unit of UNITS_IN_ORDER) {
    const size = UNIT_MS[unit] ?? 1;
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${String(count)}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}
