import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { CheckView } from '../engine/check-runner.js';
import { FAILURE_REASONS, type RunResult, type Status } from '../types.js';

const STATUSES: readonly Status[] = ['unknown', 'pass', 'warn', 'fail'];
const CHECK_LABELS = ['check', 'kind', 'critical'] as const;
type CheckLabels = Record<(typeof CHECK_LABELS)[number], string>;

export interface VitalsMetrics {
  readonly registry: Registry;
  /** Creates every series of a check at its starting value (SPEC §4: all exist from startup). */
  addCheck(check: CheckView): void;
  removeCheck(check: CheckView): void;
  recordRun(check: CheckView, run: RunResult): void;
  setReady(ready: boolean): void;
  setDraining(draining: boolean): void;
  setReload(applied: boolean, at?: number): void;
}

function labelsOf(check: CheckView): CheckLabels {
  const { name, kind, critical } = check.definition;
  return { check: name, kind, critical: String(critical) };
}

export function createVitalsMetrics(version: string): VitalsMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers });

  const up = gauge('vitals_check_up', 'Whether the check is reported passing (pass or warn).', CHECK_LABELS);
  const status = gauge('vitals_check_status', 'The check\'s reported status; exactly one of unknown, pass, warn, fail is 1.', [
    ...CHECK_LABELS,
    'status',
  ]);
  const duration = gauge('vitals_check_duration_seconds', 'How long the last run of the check took.', CHECK_LABELS);
  const timeout = gauge('vitals_check_timeout_seconds', 'The check\'s configured timeout.', CHECK_LABELS);
  const lastSuccess = gauge(
    'vitals_check_last_success_timestamp_seconds',
    'Unix time of the check\'s last pass or warn (0 = never).',
    CHECK_LABELS,
  );
  const lastRun = gauge('vitals_check_last_run_timestamp_seconds', 'Unix time the check\'s last run finished (0 = never).', CHECK_LABELS);
  const runs = new Counter({ name: 'vitals_check_runs_total', help: 'Runs of the check.', labelNames: CHECK_LABELS, registers });
  const failures = new Counter({
    name: 'vitals_check_failures_total',
    help: 'Failed runs of the check, by reason.',
    labelNames: [...CHECK_LABELS, 'reason'],
    registers,
  });
  const info = gauge('vitals_check_info', 'Static facts about the check; target is what it connects to.', [...CHECK_LABELS, 'target']);
  const ready = gauge('vitals_ready', 'Whether /ready would answer 200.', []);
  const draining = gauge('vitals_draining', 'Whether vitals is shutting down (after SIGTERM).', []);
  const buildInfo = gauge('vitals_build_info', 'Build facts; always 1.', ['version', 'nodejs']);
  const reloadOk = gauge('vitals_config_last_reload_successful', 'Whether the last load or reload of the config applied.', []);
  const reloadAt = gauge(
    'vitals_config_last_reload_success_timestamp_seconds',
    'Unix time the running config was applied.',
    [],
  );
  buildInfo.set({ version, nodejs: process.version }, 1);
  ready.set(0);
  draining.set(0);
  reloadOk.set(0);
  reloadAt.set(0);

  const setStatus = (labels: CheckLabels, current: Status) => {
    for (const s of STATUSES) status.set({ ...labels, status: s }, s === current ? 1 : 0);
    up.set(labels, current === 'pass' || current === 'warn' ? 1 : 0);
  };

  return {
    registry,
    addCheck(check) {
      const labels = labelsOf(check);
      setStatus(labels, check.status);
      duration.set(labels, (check.last?.durationMs ?? 0) / 1000);
      timeout.set(labels, check.definition.timeoutMs / 1000);
      lastSuccess.set(labels, check.lastSuccessAt / 1000);
      lastRun.set(labels, (check.last?.finishedAt ?? 0) / 1000);
      runs.inc(labels, 0);
      for (const reason of FAILURE_REASONS) failures.inc({ ...labels, reason }, 0);
      info.set({ ...labels, target: check.target }, 1);
    },
    removeCheck(check) {
      const labels = labelsOf(check);
      for (const metric of [up, duration, timeout, lastSuccess, lastRun, runs]) metric.remove(labels);
      for (const s of STATUSES) status.remove({ ...labels, status: s });
      for (const reason of FAILURE_REASONS) failures.remove({ ...labels, reason });
      info.remove({ ...labels, target: check.target });
    },
    recordRun(check, run) {
      const labels = labelsOf(check);
      setStatus(labels, check.status);
      duration.set(labels, run.durationMs / 1000);
      lastRun.set(labels, run.finishedAt / 1000);
      if (run.status !== 'fail') lastSuccess.set(labels, run.finishedAt / 1000);
      runs.inc(labels);
      if (run.reason !== undefined) failures.inc({ ...labels, reason: run.reason });
    },
    setReady(isReady) {
      ready.set(isReady ? 1 : 0);
    },
    setDraining(isDraining) {
      draining.set(isDraining ? 1 : 0);
    },
    setReload(applied, at = Date.now()) {
      reloadOk.set(applied ? 1 : 0);
      if (applied) reloadAt.set(at / 1000);
    },
  };
}
