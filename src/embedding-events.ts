import type { CheckTransition } from './engine/monitor.js';
import type { Logger } from './log.js';
import type { FailureReason, Status } from './types.js';

/** A reported change of one check's status: the same transitions as the "check status changed" log line. */
export interface CheckChangeEvent {
  readonly check: string;
  readonly kind: string;
  readonly critical: boolean;
  readonly from: Status;
  readonly to: Status;
  /** Why the run that made the change failed; null when it did not. */
  readonly reason: FailureReason | null;
  /** That run's output, redacted like the logs; null when it had none. */
  readonly output: string | null;
  /** ms since the epoch the run finished. */
  readonly at: number;
}

/** A change of the overall verdict (what /ready answers). */
export interface ReadinessEvent {
  /** Whether /ready now answers 200 (verdict pass or warn). */
  readonly ready: boolean;
  readonly from: 'pass' | 'warn' | 'fail';
  readonly to: 'pass' | 'warn' | 'fail';
  /** ms since the epoch. */
  readonly at: number;
}

export interface VitalsEventMap {
  change: CheckChangeEvent;
  readiness: ReadinessEvent;
}

export type VitalsEventName = keyof VitalsEventMap;
export type VitalsListener<E extends VitalsEventName> = (event: VitalsEventMap[E]) => void | Promise<void>;

export interface VitalsEvents {
  on<E extends VitalsEventName>(name: E, listener: VitalsListener<E>): () => void;
  off<E extends VitalsEventName>(name: E, listener: VitalsListener<E>): void;
  emit<E extends VitalsEventName>(name: E, event: VitalsEventMap[E]): void;
  /** Whether anyone listens: the verdict is only recomputed on every change for them. */
  has(name: VitalsEventName): boolean;
}

export function changeEvent(
  { check, from, to, run }: CheckTransition,
  redact: (text: string) => string,
): CheckChangeEvent {
  const { name, kind, critical } = check.definition;
  return {
    check: name,
    kind,
    critical,
    from,
    to,
    reason: run.reason ?? null,
    output: run.output === undefined ? null : redact(run.output),
    at: run.finishedAt,
  };
}

/**
 * Listeners run synchronously, in order, from the engine's own call: one that throws or
 * rejects is logged and skipped, so a bug in the embedding app can neither stop a check nor
 * keep the other listeners from hearing of the change.
 */
export function createVitalsEvents(logger: Logger, redact: (text: string) => string): VitalsEvents {
  const listeners: { [E in VitalsEventName]: Set<VitalsListener<E>> } = { change: new Set(), readiness: new Set() };
  const report = (name: VitalsEventName, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    logger.error({ event: name, error: redact(message) }, 'vitals event listener failed');
  };
  return {
    on(name, listener) {
      listeners[name].add(listener);
      return () => {
        listeners[name].delete(listener);
      };
    },
    off(name, listener) {
      listeners[name].delete(listener);
    },
    has: (name) => listeners[name].size > 0,
    emit(name, event) {
      for (const listener of [...listeners[name]]) {
        try {
          const result = listener(event);
          if (result instanceof Promise) result.catch((error: unknown) => report(name, error));
        } catch (error) {
          report(name, error);
        }
      }
    },
  };
}
