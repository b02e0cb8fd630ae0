/**
 * `/probe?module=NAME&target=HOST:PORT`: one run now, outside the monitor, answered as a fresh
 * exposition of that run only. The background checks behind /ready and /metrics never see it.
 */
import { runProbe } from '../engine/run-probe.js';
import {
  OPENMETRICS_CONTENT_TYPE,
  prefersOpenMetrics,
  TEXT_CONTENT_TYPE,
  toOpenMetrics,
} from '../metrics/openmetrics.js';
import type { CheckCommon } from '../types.js';
import { probeDeadlineMs } from './deadline.js';
import { probeExposition } from './exposition.js';
import { needsPort, withTarget, type ProbeModule } from './modules.js';
import { parseProbeTarget } from './target.js';

export const DEFAULT_MAX_CONCURRENT_PROBES = 32;

export interface ProbeRequest {
  readonly query: URLSearchParams;
  /** X-Prometheus-Scrape-Timeout-Seconds. */
  readonly scrapeTimeout: string | undefined;
  readonly accept: string | undefined;
}

export interface ProbeAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Seconds, with a 429. */
  readonly retryAfter?: string;
}

export interface ProberDeps {
  /** The modules of the config in force (a reload may change them). */
  readonly modules: () => ReadonlyMap<string, ProbeModule>;
  readonly maxConcurrentProbes: () => number;
  readonly redact: (text: string) => string;
}

export interface Prober {
  probe(request: ProbeRequest): Promise<ProbeAnswer>;
  /** Probes running now. */
  running(): number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function refuse(status: number, error: string, retryAfter?: string): ProbeAnswer {
  return { status, contentType: JSON_TYPE, body: JSON.stringify({ status: 'fail', error }), retryAfter };
}

/** The one value of a query parameter, or why there is not exactly one. */
function single(query: URLSearchParams, name: string): string | { problem: string } {
  const values = query.getAll(name);
  if (values.length === 0 || values[0] === '') return { problem: `missing ${name} parameter` };
  if (values.length > 1) return { problem: `give one ${name} parameter, not ${String(values.length)}` };
  return values[0] ?? '';
}

export function createProber(deps: ProberDeps): Prober {
  let running = 0;

  async function run(module: ProbeModule, options: Record<string, unknown>, timeoutMs: number) {
    const check: CheckCommon = {
      name: module.name,
      kind: module.kind.kind,
      critical: true,
      intervalMs: timeoutMs + 1,
      timeoutMs,
      failureThreshold: 1,
      successThreshold: 1,
      warnLatencyMs: undefined,
    };
    const probe = module.kind.create({ ...options, ...module.secretValues }, check);
    const classify = module.kind.classify?.bind(module.kind);
    return runProbe(probe, check, { classify, redact: deps.redact }).result;
  }

  return {
    running: () => running,
    async probe(request) {
      const moduleName = single(request.query, 'module');
      if (typeof moduleName !== 'string') return refuse(400, moduleName.problem);
      const targetText = single(request.query, 'target');
      if (typeof targetText !== 'string') return refuse(400, targetText.problem);
      const module = deps.modules().get(moduleName);
      // The name is not echoed back: it is the caller's text.
      if (module === undefined) return refuse(400, 'unknown module');
      const target = parseProbeTarget(targetText);
      if (typeof target === 'string') return refuse(400, target);
      if (target.port === undefined && needsPort(module)) return refuse(400, 'target must be HOST:PORT (with a port)');
      if (!module.allowTargets.allows(target))
        return refuse(403, `target is not in allowTargets of module ${module.name}`);
      const parsed = module.kind.options.safeParse(withTarget(module, target));
      if (!parsed.success) return refuse(400, `target is not usable for kind ${module.kind.kind}`);
      if (running >= deps.maxConcurrentProbes())
        return refuse(429, `${String(running)} probes running, the most server.maxConcurrentProbes allows`, '1');
      running += 1;
      try {
        const result = await run(
          module,
          parsed.data as Record<string, unknown>,
          probeDeadlineMs(module.timeoutMs, request.scrapeTimeout),
        );
        const text = probeExposition(result, module.kind.phases ?? []);
        return prefersOpenMetrics(request.accept)
          ? { status: 200, contentType: OPENMETRICS_CONTENT_TYPE, body: toOpenMetrics(text) }
          : { status: 200, contentType: TEXT_CONTENT_TYPE, body: text };
      } finally {
        running -= 1;
      }
    },
  };
}
