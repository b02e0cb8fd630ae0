import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** How long to sleep between probes (default 25 ms). */
  readonly everyMs?: number;
  /** What is awaited, for the error message. */
  readonly what?: string;
}

/**
 * Calls `probe` every `everyMs` until `accept` takes its value, and returns that value and how
 * long it took; throws after `timeoutMs`, naming `what` and the last value. Tests wait for a
 * state rather than for a fixed time, so they are fast on a quiet machine and still pass on a
 * loaded one. For a plain condition, `waitUntil`.
 */
export async function waitFor<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  timeoutMs = 5000,
  options: WaitOptions = {},
): Promise<{ value: T; elapsedMs: number }> {
  const { everyMs = 25, what = 'condition' } = options;
  const start = performance.now();
  let value = await probe();
  while (!accept(value)) {
    if (performance.now() - start > timeoutMs) {
      throw new Error(
        `timed out after ${String(timeoutMs)}ms waiting for ${what}; last value: ${JSON.stringify(value)}`,
      );
    }
    await sleep(everyMs);
    value = await probe();
  }
  return { value, elapsedMs: performance.now() - start };
}

/** `waitFor` for a plain condition: until `condition` is true, or throws after `timeoutMs` naming `what`. */
export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<{ value: boolean; elapsedMs: number }> {
  return waitFor(condition, (ok) => ok, timeoutMs, { what });
}

/**
 * A count once it holds still: two equal reads `everyMs` apart (within `timeoutMs`, else the last
 * read). A server's connection count read at a test's start may still include connections the
 * test before has just closed; a baseline that later falls below would never be matched again.
 */
export async function steadyCount(read: () => Promise<number>, everyMs = 150, timeoutMs = 5000): Promise<number> {
  const start = performance.now();
  let last = await read();
  while (performance.now() - start < timeoutMs) {
    await sleep(everyMs);
    const now = await read();
    if (now === last) return now;
    last = now;
  }
  return last;
}

/** Waits until `read` gives `baseline` again (a server's connections after a check), or throws naming `what`. */
export async function countBackTo(
  read: () => Promise<number>,
  baseline: number,
  what: string,
  timeoutMs = 3000,
): Promise<void> {
  await waitFor(read, (count) => count === baseline, timeoutMs, { what: `${what}: back to ${String(baseline)}` });
}
