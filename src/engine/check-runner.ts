import { createHash } from 'node:crypto';
import type { CheckView, FailureReason, Probe, RunResult, Status } from '../types.js';
import { softenForMaintenance, type MaintenanceWindow } from './maintenance.js';
import { runProbe, type ProbeRun } from './run-probe.js';
import { applyThresholds, INITIAL_THRESHOLD_STATE, type ThresholdState } from './thresholds.js';

/** What the rest of vitals may read about a check (defined with the shared types). */
export type { CheckView };

export interface RunEvent {
  readonly check: CheckView;
  readonly run: RunResult;
  readonly previous: Status;
}

export interface CheckRunner extends CheckView {
  start(options?: { countBeforeFirstResult: boolean }): void;
  stop(): void;
  /**
   * One run now, outside the schedule (the `check` command, vitals.runNow), recorded as usual;
   * while a run is in flight, that run's result. The schedule keeps its slots.
   */
  runOnce(): Promise<RunResult>;
  /** Records a result the runner did not produce itself (a stale-result watchdog); returns it as reported. */
  record(run: RunResult): RunResult;
}

/** What the runner shows as it is given, plus how it runs and reports. */
export interface RunnerOptions
  extends Pick<CheckView, 'definition' | 'componentType' | 'observed' | 'target'>, Partial<Pick<CheckView, 'phases'>> {
  readonly probe: Probe;
  readonly classify?: (error: unknown) => FailureReason | undefined;
  readonly redact: (text: string) => string;
  readonly onRun: (event: RunEvent) => void;
  /** The maintenance window covering the check now, if any. */
  readonly maintenanceWindow?: () => MaintenanceWindow | undefined;
}

/** A fixed offset in [0, 10 % of the interval), from the name, so checks do not fire together. */
export function scheduleOffsetMs(name: string, intervalMs: number): number {
  const hash = createHash('sha256').update(name).digest().readUInt32BE(0);
  return Math.floor((hash / 2 ** 32) * intervalMs * 0.1);
}

export function createCheckRunner(options: RunnerOptions): CheckRunner {
  const { definition } = options;
  let thresholds: ThresholdState = INITIAL_THRESHOLD_STATE;
  let last: RunResult | undefined;
  let lastSuccessAt = 0;
  let awaitingFirstResult = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  /** The last run's probe: while it has not returned, the next run does not call it again. */
  let hanging: ProbeRun | undefined;
  let inFlight: ProbeRun | undefined;
  /** Bumped by stop(): a run that began before it is not recorded. */
  let generation = 0;
  let startedAt = 0;
  const offsetMs = scheduleOffsetMs(definition.name, definition.intervalMs);
  const probeOptions = { classify: options.classify, redact: options.redact };

  const view = (): CheckView => runner;

  /** Returns the run as reported: softened inside a maintenance window. */
  function record(run: RunResult): RunResult {
    const previous = thresholds.reported;
    // Only a failure is softened: looking the window up for every pass cost each run a walk of
    // the windows in force.
    const reported = run.status === 'fail' ? softenForMaintenance(run, options.maintenanceWindow?.()) : run;
    thresholds = applyThresholds(thresholds, reported.status, definition);
    last = reported;
    // The truth, not the softened status: a dependency down all through a window last worked before it.
    if (run.status !== 'fail') lastSuccessAt = run.finishedAt;
    awaitingFirstResult = false;
    options.onRun({ check: view(), run: reported, previous });
    return reported;
  }

  /** The run in progress, scheduled or asked for: a second caller joins it instead of probing twice. */
  let shared: Promise<RunResult> | undefined;

  /*
   * One reaction per run on the probe's result (not an async function awaited through
   * `finally`): with a thousand checks, every promise of a run is made a hundred times a second.
   */
  function runShared(): Promise<RunResult> {
    if (shared !== undefined) return shared;
    // A probe that ignored its deadline is still holding on: starting another would pile
    // connections onto a sick dependency, so this run fails without touching it.
    if (hanging?.returned() === false) {
      const recorded = (async () =>
        record({
          status: 'fail',
          durationMs: 0,
          observedValue: 0,
          finishedAt: Date.now(),
          output: 'previous run still running past its deadline',
          reason: 'timeout',
        }))();
      const run = recorded.finally(() => {
        if (shared === run) shared = undefined;
      });
      shared = run;
      return run;
    }
    const attempt = runProbe(options.probe, definition, probeOptions);
    hanging = attempt;
    const startedIn = generation;
    inFlight = attempt;
    const run: Promise<RunResult> = attempt.result.then((result) => {
      try {
        if (inFlight === attempt) inFlight = undefined;
        // A stopped check (shut down, or replaced by a reload whose series are gone) reports
        // nothing more: recording now would resurrect removed series and log a bogus change.
        if (startedIn !== generation) return result;
        return record(result);
      } finally {
        if (shared === run) shared = undefined;
      }
    });
    shared = run;
    return run;
  }

  function scheduleNext(): void {
    if (!running) return;
    const now = performance.now();
    const { intervalMs } = definition;
    const slots = Math.floor((now - startedAt - offsetMs) / intervalMs) + 1;
    const delay = Math.max(0, startedAt + offsetMs + Math.max(1, slots) * intervalMs - now);
    timer = setTimeout(tick, delay);
    // The listener keeps a server alive; an embedding app decides its own lifetime.
    timer.unref();
  }

  function tick(): void {
    runShared().then(scheduleNext, scheduleNext);
  }

  const runner: CheckRunner = {
    definition,
    componentType: options.componentType,
    observed: options.observed,
    phases: options.phases ?? [],
    target: options.target,
    get status() {
      return thresholds.reported;
    },
    get last() {
      return last;
    },
    get lastSuccessAt() {
      return lastSuccessAt;
    },
    get awaitingFirstResult() {
      return awaitingFirstResult;
    },
    start(startOptions = { countBeforeFirstResult: true }) {
      if (running) return;
      running = true;
      awaitingFirstResult = !startOptions.countBeforeFirstResult && last === undefined;
      startedAt = performance.now();
      const previous = hanging;
      if (previous === undefined || previous.returned()) {
        tick();
        return;
      }
      // A run that stop() aborted settles a moment later; starting at once would fail the first
      // run with "previous run still running" against a probe that did stop. One that really
      // ignores its abort still gets that failure, at the deadline.
      const startedIn = generation;
      let gone = false;
      const go = () => {
        if (gone) return;
        gone = true;
        clearTimeout(wait);
        if (running && startedIn === generation) tick();
      };
      const wait = setTimeout(go, definition.timeoutMs);
      wait.unref();
      timer = wait;
      void previous.settled.then(go);
    },
    stop() {
      running = false;
      clearTimeout(timer);
      generation += 1;
      // A run of the stopped generation is never recorded: nobody may join it any more.
      shared = undefined;
      // Without this a hung probe keeps its connection (and the process) until its deadline.
      inFlight?.cancel();
      inFlight = undefined;
    },
    runOnce: runShared,
    record,
  };
  return runner;
}
