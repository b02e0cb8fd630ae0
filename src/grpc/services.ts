/**
 * What each grpc.health.v1 service name means in vitals. Kept apart from the server so that the
 * config can name the reserved services without loading @grpc/grpc-js.
 */
import type { Monitor } from '../engine/monitor.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** The kubelet's probes name these; a check of the same name answers on /ready/NAME only. */
export const RESERVED_SERVICES = ['readiness', 'liveness', 'startup'] as const;

const RESERVED: ReadonlySet<string> = new Set(RESERVED_SERVICES);

function serving(ok: boolean): ServingStatus {
  return ok ? 'SERVING' : 'NOT_SERVING';
}

/**
 * Every service and its status, as the HTTP routes answer: `""` and `readiness` as /ready
 * (draining included), `liveness` as /health, `startup` as /startup, each check as /ready/NAME.
 */
export function servingStatuses(monitor: Monitor): Map<string, ServingStatus> {
  const ready = serving(monitor.readiness() !== 'fail');
  const statuses = new Map<string, ServingStatus>([
    ['', ready],
    ['readiness', ready],
    // Whoever gets this answer reached a process that answers: that is all liveness means.
    ['liveness', 'SERVING'],
    ['startup', serving(monitor.started())],
  ]);
  for (const check of monitor.checks()) {
    const { name } = check.definition;
    if (!RESERVED.has(name)) statuses.set(name, serving(check.status === 'pass' || check.status === 'warn'));
  }
  return statuses;
}
