/**
 * The deadline's side of a probe: whatever a probe awaits, it races against its signal, so that
 * it returns at the deadline even when the driver would wait forever, and the connection it holds
 * is destroyed then rather than left to the driver's own timers.
 */
export interface Abortable {
  /** `work`, or a rejection with the signal's reason as soon as the signal aborts. */
  race<T>(work: Promise<T>): Promise<T>;
  /**
   * Stops listening: from here on an abort destroys nothing. Call it in `finally`, before a
   * polite goodbye that the engine's end-of-run abort must not cut short.
   */
  dispose(): void;
}

/**
 * Runs `destroy` once when `signal` aborts (at once if it already has), and makes every `race`
 * reject with `signal.reason` from then on.
 */
export function abortable(signal: AbortSignal, destroy: () => void): Abortable {
  let destroyed = false;
  let rejectAll: (reason: unknown) => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    rejectAll = reject;
  });
  // Nobody may be racing when the abort comes; that rejection is still not unhandled.
  aborted.catch(() => undefined);
  const onAbort = () => {
    if (!destroyed) {
      destroyed = true;
      destroy();
    }
    rejectAll(signal.reason);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return {
    race: (work) => Promise.race([work, aborted]),
    dispose() {
      signal.removeEventListener('abort', onAbort);
    },
  };
}
