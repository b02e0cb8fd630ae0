import { checkKinds } from '../checks/index.js';
import type { Logger } from '../log.js';
import type { VitalsMetrics } from '../metrics/vitals-metrics.js';
import { RESPONSE_TIME, type CheckCommon, type CheckDefinition, type CheckKind, type Probe, type RunResult } from '../types.js';
import { createCheckRunner, type CheckRunner, type CheckView, type RunEvent } from './check-runner.js';
import { readiness } from './verdict.js';

const WATCHDOG_MS = 1000;

/** A check registered from code by an embedding application (`addCheck`) rather than from the config. */
export interface CustomCheck {
  readonly name: string;
  readonly critical?: boolean;
  readonly interval?: number;
  readonly timeout?: number;
  readonly run: Probe;
}

export interface Monitor {
  /** Checks in config order, custom checks last. */
  readonly checks: () => readonly CheckRunner[];
  get(name: string): CheckRunner | undefined;
  /** Replaces the config's checks; an unchanged definition keeps its runner (state, counters, schedule). */
  apply(definitions: readonly CheckDefinition[]): { added: string[]; changed: string[]; removed: string[] };
  addCustom(check: CustomCheck, defaults: { intervalMs: number; timeoutMs: number }): void;
  start(): void;
  stop(): void;
  readiness(excluded?: ReadonlySet<string>): 'pass' | 'warn' | 'fail';
  /** /startup's answer: every check has had a first result once; it then stays true for good. */
  readonly started: () => boolean;
  readonly draining: () => boolean;
  setDraining(): void;
  /** Called after anything an answer depends on has changed. */
  onChange(listener: () => void): void;
}

export interface MonitorOptions {
  readonly metrics: VitalsMetrics;
  readonly logger: Logger;
  readonly redact: (text: string) => string;
}

function fingerprint(definition: CheckDefinition): string {
  return JSON.stringify(definition);
}

export function createMonitor(options: MonitorOptions): Monitor {
  const { metrics, logger, redact } = options;
  const configured = new Map<string, { runner: CheckRunner; fingerprint: string }>();
  const custom = new Map<string, CheckRunner>();
  const listeners: (() => void)[] = [];
  let running = false;
  let started = false;
  let draining = false;
  let watchdog: NodeJS.Timeout | undefined;
  /** Checks without a first result; /startup latches when it empties (a set, not a scan per run). */
  const unrun = new Set<CheckView>();

  const all = (): CheckRunner[] => [...[...configured.values()].map((c) => c.runner), ...custom.values()];

  function changed(): void {
    // Only once the checks run: before start() (or with custom checks still to be added) an
    // empty or unrun set would latch /startup to 200 before any dependency was looked at.
    if (!started && running && unrun.size === 0) started = true;
    for (const listener of listeners) listener();
  }

  function onRun({ check, run, previous }: RunEvent): void {
    unrun.delete(check);
    metrics.recordRun(check, run);
    if (check.status !== previous) {
      logger.info(
        {
          check: check.definition.name,
          from: previous,
          to: check.status,
          reason: run.reason ?? null,
          output: run.output ?? null,
          duration: Number((run.durationMs / 1000).toFixed(4)),
        },
        'check status changed',
      );
    }
    changed();
  }

  function createRunner(definition: CheckCommon, kind: Pick<CheckKind, 'componentType' | 'observed' | 'classify'>, target: string, probe: Probe) {
    return createCheckRunner({
      definition,
      componentType: kind.componentType,
      observed: kind.observed,
      target,
      probe,
      classify: kind.classify?.bind(kind),
      redact,
      onRun,
    });
  }

  function runnerFor(definition: CheckDefinition): CheckRunner {
    const kind = checkKinds.get(definition.kind);
    if (kind === undefined) throw new Error(`unknown kind "${definition.kind}"`); // validated before
    return createRunner(definition, kind, redact(kind.target(definition.options)), kind.create(definition.options, definition));
  }

  function checkStale(): void {
    const now = Date.now();
    for (const check of all()) {
      const { last, definition } = check;
      if (last === undefined) continue;
      if (now - last.finishedAt > 2 * definition.intervalMs + definition.timeoutMs) {
        const stale: RunResult = {
          status: 'fail',
          durationMs: 0,
          observedValue: 0,
          finishedAt: now,
          output: 'stale result',
          reason: 'error',
        };
        check.record(stale);
      }
    }
  }

  const monitor: Monitor = {
    checks: all,
    get: (name) => configured.get(name)?.runner ?? custom.get(name),
    apply(definitions) {
      const next = new Map<string, { runner: CheckRunner; fingerprint: string }>();
      const report = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
      for (const definition of definitions) {
        const print = fingerprint(definition);
        const existing = configured.get(definition.name);
        if (existing?.fingerprint === print) {
          next.set(definition.name, existing);
          continue;
        }
        if (existing !== undefined) {
          existing.runner.stop();
          metrics.removeCheck(existing.runner);
          report.changed.push(definition.name);
        } else {
          report.added.push(definition.name);
        }
        if (existing !== undefined) unrun.delete(existing.runner);
        const runner = runnerFor(definition);
        unrun.add(runner);
        next.set(definition.name, { runner, fingerprint: print });
        metrics.addCheck(runner);
        // A check that appears with a reload must not turn /ready red before its first run.
        if (running) runner.start({ countBeforeFirstResult: existing === undefined ? !started : true });
      }
      for (const [name, { runner }] of configured) {
        if (next.has(name)) continue;
        runner.stop();
        unrun.delete(runner);
        metrics.removeCheck(runner);
        report.removed.push(name);
      }
      configured.clear();
      for (const [name, entry] of next) configured.set(name, entry);
      changed();
      return report;
    },
    addCustom(check, defaults) {
      if (configured.has(check.name) || custom.has(check.name)) throw new Error(`a check named "${check.name}" already exists`);
      if (!/^[a-z0-9][a-z0-9_-]*$/.test(check.name)) throw new Error(`invalid check name "${check.name}": use [a-z0-9][a-z0-9_-]*`);
      const definition: CheckCommon = {
        name: check.name,
        kind: 'custom',
        critical: check.critical ?? true,
        intervalMs: check.interval ?? defaults.intervalMs,
        timeoutMs: check.timeout ?? defaults.timeoutMs,
        failureThreshold: 1,
        successThreshold: 1,
        warnLatencyMs: undefined,
      };
      if (definition.timeoutMs >= definition.intervalMs) throw new Error(`check "${check.name}": timeout must be shorter than interval`);
      const runner = createRunner(definition, { componentType: 'component', observed: RESPONSE_TIME }, '', check.run);
      custom.set(check.name, runner);
      unrun.add(runner);
      metrics.addCheck(runner);
      if (running) runner.start({ countBeforeFirstResult: !started });
      changed();
    },
    start() {
      if (running) return;
      running = true;
      for (const check of all()) check.start();
      watchdog = setInterval(checkStale, WATCHDOG_MS);
      watchdog.unref();
      changed();
    },
    stop() {
      running = false;
      clearInterval(watchdog);
      for (const check of all()) check.stop();
    },
    readiness: (excluded) => readiness(all().map((c) => ({ name: c.definition.name, critical: c.definition.critical, status: c.status, awaitingFirstResult: c.awaitingFirstResult })), draining, excluded),
    started: () => started,
    draining: () => draining,
    setDraining() {
      draining = true;
      metrics.setDraining(true);
      changed();
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
  // Read at scrape time: computing the verdict over every check on every run costs O(n) per
  // run, which a thousand checks pay a hundred times a second for nothing.
  metrics.setReadiness(() => monitor.readiness() !== 'fail');
  return monitor;
}
