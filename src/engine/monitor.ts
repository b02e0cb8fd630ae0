import type { Logger } from '../log.js';
import type { VitalsMetrics } from '../metrics/vitals-metrics.js';
import {
  RESPONSE_TIME,
  type CheckCommon,
  type CheckDefinition,
  type CheckKind,
  type Probe,
  type RunResult,
  type Status,
} from '../types.js';
import { createCheckRunner, type CheckRunner, type CheckView, type RunEvent } from './check-runner.js';
import type { Maintenance } from './maintenance.js';
import { readiness } from './verdict.js';

const WATCHDOG_MS = 1000;
/** What a custom check is, as a kind: a component whose runs observe their response time. */
const CUSTOM_KIND = { componentType: 'component', observed: RESPONSE_TIME } as const;

export type { CustomCheck } from './custom-check.js';

export interface Monitor {
  /** Checks in config order, custom checks last. */
  readonly checks: () => readonly CheckRunner[];
  get(name: string): CheckRunner | undefined;
  /**
   * One run of a check now, recorded as usual (joined with one in flight); of its newest
   * definition when a reload has one waiting for its first result. Undefined for an unknown name.
   */
  runNow(name: string): Promise<RunResult> | undefined;
  /**
   * Replaces the config's checks; an unchanged definition keeps its runner (state, counters,
   * schedule). `custom` holds the custom checks' definitions resolved against the new defaults,
   * by name; one that differs restarts like a changed config check.
   */
  apply(
    definitions: readonly CheckDefinition[],
    custom?: ReadonlyMap<string, CheckCommon>,
  ): { added: string[]; changed: string[]; removed: string[] };
  /** A custom check, already validated and resolved against the defaults. */
  addCustom(definition: CheckCommon, probe: Probe): void;
  start(): void;
  stop(): void;
  readiness(excluded?: ReadonlySet<string>): 'pass' | 'warn' | 'fail';
  /** For /startup: every check has had a first result once; it then stays true. */
  readonly started: () => boolean;
  readonly draining: () => boolean;
  setDraining(): void;
  /** Called after anything an answer depends on has changed. */
  onChange(listener: () => void): void;
  /** Called with every recorded run of a visible check, before onChange (the status page's history). */
  onRun(listener: (event: RecordedRun) => void): void;
  /** Called for each reported change of a check's status: the "check status changed" log line. */
  onTransition(listener: (transition: CheckTransition) => void): void;
}

/** One recorded run, with the reported status before it; `check.status` is the one after. */
export interface RecordedRun {
  readonly check: CheckView;
  readonly run: RunResult;
  readonly from: Status;
}

/** A reported change of a check's status (after thresholds and maintenance). */
export interface CheckTransition {
  readonly check: CheckView;
  readonly from: Status;
  readonly to: Status;
  /** The run that made the change. */
  readonly run: RunResult;
}

export interface MonitorOptions {
  /** The kinds a config check may name; injected so that the engine runs without real probes. */
  readonly kinds: ReadonlyMap<string, CheckKind>;
  readonly metrics: VitalsMetrics;
  readonly logger: Logger;
  readonly redact: (text: string) => string;
  /** Windows in which a failure is reported warn; none when left out. */
  readonly maintenance?: Maintenance;
}

function fingerprint(definition: CheckDefinition): string {
  return JSON.stringify(definition);
}

/**
 * One check as the monitor holds it. `visible` is what every reader sees (status, details,
 * series). A changed definition runs as `pending` and takes over with its first result: until
 * then the check goes on reporting what it last knew, so a reload (a rotated password) never
 * turns a healthy critical check unknown and /ready 503 for the length of a run.
 */
interface Entry {
  visible: CheckRunner;
  pending: CheckRunner | undefined;
  /** Of the newest definition (the pending one, if any). */
  fingerprint: string;
  /** A custom check's own probe, for its next definition; config checks get theirs from the kind. */
  probe?: Probe;
}

export function createMonitor(options: MonitorOptions): Monitor {
  const { kinds, metrics, logger, redact } = options;
  const configured = new Map<string, Entry>();
  const custom = new Map<string, Entry>();
  /** Pending runners, to find their entry when their first result arrives. */
  const pendingEntries = new Map<CheckView, Entry>();
  const listeners: (() => void)[] = [];
  const runListeners: ((event: RecordedRun) => void)[] = [];
  const transitionListeners: ((transition: CheckTransition) => void)[] = [];
  let running = false;
  let started = false;
  let draining = false;
  let watchdog: NodeJS.Timeout | undefined;
  /** Checks without a first result; /startup latches when it empties (a set, not a scan per run). */
  const unrun = new Set<CheckView>();

  /** Every entry in order, kept until the maps change: the watchdog walks it every second. */
  let entryList: readonly Entry[] | undefined;
  const entries = (): readonly Entry[] => (entryList ??= [...configured.values(), ...custom.values()]);
  const all = (): CheckRunner[] => entries().map((entry) => entry.visible);
  /** The runners that run: a pending definition replaces the one it will take over from. */
  const scheduled = (): CheckRunner[] => entries().map((entry) => entry.pending ?? entry.visible);

  function changed(): void {
    // Only once the checks run: before start() (or with custom checks still to be added) an
    // empty or unrun set would latch /startup to 200 before any dependency was looked at.
    if (!started && running && unrun.size === 0) started = true;
    // Indexed loops on the per-run path: an iterator here allocated on each of a hundred runs a second.
    for (let i = 0; i < listeners.length; i++) listeners[i]?.();
  }

  function onRun({ check, run, previous }: RunEvent): void {
    let from = previous;
    const entry = pendingEntries.get(check);
    if (entry?.pending !== undefined) {
      // The new definition's first result: it becomes the check readers see, and the change
      // of status is measured from what they saw, not from the new runner's "unknown".
      pendingEntries.delete(check);
      from = entry.visible.status;
      unrun.delete(entry.visible);
      metrics.replaceCheck(entry.visible, entry.pending);
      entry.visible = entry.pending;
      entry.pending = undefined;
    }
    unrun.delete(check);
    metrics.recordRun(check, run);
    if (check.status !== from) {
      logger.info(
        {
          check: check.definition.name,
          from,
          to: check.status,
          reason: run.reason ?? null,
          output: run.output ?? null,
          duration: Number((run.durationMs / 1000).toFixed(4)),
        },
        'check status changed',
      );
      const transition: CheckTransition = { check, from, to: check.status, run };
      for (let i = 0; i < transitionListeners.length; i++) transitionListeners[i]?.(transition);
    }
    if (runListeners.length > 0) {
      const recorded: RecordedRun = { check, run, from };
      for (let i = 0; i < runListeners.length; i++) runListeners[i]?.(recorded);
    }
    changed();
  }

  function createRunner(
    definition: CheckCommon,
    kind: Pick<CheckKind, 'componentType' | 'observed' | 'classify' | 'phases'>,
    target: string,
    probe: Probe,
  ) {
    return createCheckRunner({
      definition,
      componentType: kind.componentType,
      observed: kind.observed,
      phases: kind.phases,
      target,
      probe,
      classify: kind.classify?.bind(kind),
      redact,
      onRun,
      ...(options.maintenance ? { maintenanceWindow: () => options.maintenance?.windowFor(definition.name) } : {}),
    });
  }

  function runnerFor(definition: CheckDefinition): CheckRunner {
    const kind = kinds.get(definition.kind);
    if (kind === undefined) throw new Error(`unknown kind "${definition.kind}"`); // validated before
    // Not redacted: a target is built from the host, port, scheme, name or path alone, never from
    // credentials, and scrubbing it anyway turned "localhost:5432" into "***host:5432" whenever
    // a password was a substring of it. The target unit spec proves it over every kind.
    return createRunner(definition, kind, kind.target(definition.options), kind.create(definition.options, definition));
  }

  function addEntry(runner: CheckRunner, fingerprint: string, countBeforeFirstResult: boolean): Entry {
    unrun.add(runner);
    metrics.addCheck(runner);
    if (running) runner.start({ countBeforeFirstResult });
    return { visible: runner, pending: undefined, fingerprint };
  }

  /** A new definition for an existing check. */
  function replace(entry: Entry, runner: CheckRunner, fingerprint: string): void {
    const { visible, pending } = entry;
    if (pending !== undefined) {
      pending.stop();
      pendingEntries.delete(pending);
      unrun.delete(pending);
    }
    // The old definition stops at once: its credentials may be the ones just rotated out.
    visible.stop();
    entry.fingerprint = fingerprint;
    if (visible.last === undefined) {
      // Nothing known yet, so nothing to keep reporting: the new runner takes its place now,
      // counting for /ready exactly as the one it replaces did.
      const wasUnrun = unrun.delete(visible);
      if (wasUnrun) unrun.add(runner);
      metrics.replaceCheck(visible, runner);
      entry.visible = runner;
      entry.pending = undefined;
      if (running) runner.start({ countBeforeFirstResult: !visible.awaitingFirstResult });
      return;
    }
    entry.pending = runner;
    pendingEntries.set(runner, entry);
    if (running) runner.start();
  }

  function remove(entry: Entry): void {
    for (const runner of [entry.visible, entry.pending]) {
      if (runner === undefined) continue;
      runner.stop();
      unrun.delete(runner);
      pendingEntries.delete(runner);
    }
    metrics.removeCheck(entry.visible);
  }

  function checkStale(): void {
    const now = Date.now();
    const list = entries();
    for (let i = 0; i < list.length; i++) {
      const entry = list[i];
      if (entry !== undefined) staleCheck(entry, now);
    }
  }

  function staleCheck(entry: Entry, now: number): void {
    // A check waiting for its new definition's first run reports its old result on purpose;
    // that run ends at its deadline at the latest.
    if (entry.pending !== undefined) return;
    const check = entry.visible;
    const { last, definition } = check;
    if (last === undefined) return;
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

  const monitor: Monitor = {
    checks: all,
    get: (name) => (configured.get(name) ?? custom.get(name))?.visible,
    runNow(name) {
      const entry = configured.get(name) ?? custom.get(name);
      return entry === undefined ? undefined : (entry.pending ?? entry.visible).runOnce();
    },
    apply(definitions, customDefinitions) {
      const next = new Map<string, Entry>();
      const report = { added: [] as string[], changed: [] as string[], removed: [] as string[] };
      for (const definition of definitions) {
        if (custom.has(definition.name)) throw new Error(`"${definition.name}" is already a custom check`); // validated before
        const print = fingerprint(definition);
        const existing = configured.get(definition.name);
        if (existing === undefined) {
          report.added.push(definition.name);
          // A check that appears with a reload must not turn /ready red before its first run.
          next.set(definition.name, addEntry(runnerFor(definition), print, !started));
          continue;
        }
        if (existing.fingerprint !== print) {
          report.changed.push(definition.name);
          replace(existing, runnerFor(definition), print);
        }
        next.set(definition.name, existing);
      }
      for (const [name, entry] of configured) {
        if (next.has(name)) continue;
        remove(entry);
        report.removed.push(name);
      }
      for (const [name, definition] of customDefinitions ?? []) {
        const entry = custom.get(name);
        const print = JSON.stringify(definition);
        if (entry === undefined || entry.fingerprint === print) continue;
        report.changed.push(name);
        if (entry.probe === undefined) continue;
        replace(entry, createRunner(definition, CUSTOM_KIND, '', entry.probe), print);
      }
      configured.clear();
      for (const [name, entry] of next) configured.set(name, entry);
      entryList = undefined;
      changed();
      return report;
    },
    addCustom(definition, probe) {
      if (configured.has(definition.name) || custom.has(definition.name))
        throw new Error(`a check named "${definition.name}" already exists`);
      const runner = createRunner(definition, CUSTOM_KIND, '', probe);
      custom.set(definition.name, { ...addEntry(runner, JSON.stringify(definition), !started), probe });
      entryList = undefined;
      changed();
    },
    start() {
      if (running) return;
      running = true;
      for (const check of scheduled()) check.start();
      watchdog = setInterval(checkStale, WATCHDOG_MS);
      watchdog.unref();
      changed();
    },
    stop() {
      running = false;
      clearInterval(watchdog);
      for (const check of scheduled()) check.stop();
    },
    readiness: (excluded) =>
      readiness(
        all().map((c) => ({
          name: c.definition.name,
          critical: c.definition.critical,
          status: c.status,
          awaitingFirstResult: c.awaitingFirstResult,
        })),
        draining,
        excluded,
      ),
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
    onRun(listener) {
      runListeners.push(listener);
    },
    onTransition(listener) {
      transitionListeners.push(listener);
    },
  };
  // Read at scrape time: computing the verdict over every check on every run costs O(n) per
  // run, which a thousand checks pay a hundred times a second for nothing.
  metrics.setReadiness(() => monitor.readiness() !== 'fail');
  return monitor;
}
