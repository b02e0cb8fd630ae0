import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `predicate` every `everyMs` until it returns true, or throws after `timeoutMs` naming
 * `what`. Tests wait for a state rather than for a fixed time, so they are fast on a quiet
 * machine and still pass on a loaded one.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${String(timeoutMs)}ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
