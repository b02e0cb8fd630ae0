/** Blackbox's offset: the answer must leave Prometheus time to read it before its own timeout. */
export const SCRAPE_TIMEOUT_OFFSET_MS = 500;
/** A deadline below this could not even connect: a tiny scrape timeout still gets a real try. */
export const MIN_PROBE_TIMEOUT_MS = 100;

/**
 * The module's timeout, capped by Prometheus' scrape timeout minus the offset. An unparsable
 * or non-positive header is ignored (the module's timeout applies).
 */
export function probeDeadlineMs(moduleTimeoutMs: number, scrapeTimeoutHeader: string | undefined): number {
  const scrapeSeconds = scrapeTimeoutHeader === undefined ? Number.NaN : Number(scrapeTimeoutHeader.trim());
  if (!Number.isFinite(scrapeSeconds) || scrapeSeconds <= 0 || scrapeTimeoutHeader?.trim() === '')
    return moduleTimeoutMs;
  const capped = Math.max(MIN_PROBE_TIMEOUT_MS, scrapeSeconds * 1000 - SCRAPE_TIMEOUT_OFFSET_MS);
  return Math.min(moduleTimeoutMs, capped);
}
