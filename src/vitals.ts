import type Router from '@koa/router';
import type { Registry } from 'prom-client';
import { checkKinds } from './checks/index.js';
import {
  ConfigError,
  DEFAULT_CONFIG_SOURCE,
  defaultConfig,
  loadConfigFile,
  parseConfig,
  type Config,
} from './config/load.js';
import { changeEvent, createVitalsEvents, type VitalsEventName, type VitalsListener } from './embedding-events.js';
import { resolveCustomCheck, type CustomCheck } from './engine/custom-check.js';
import { createHistory } from './engine/history.js';
import { createMaintenance, type Maintenance, type MaintenanceWindow } from './engine/maintenance.js';
import { createMonitor, type Monitor } from './engine/monitor.js';
import { checksMember, type HealthBody } from './http/bodies.js';
import { createApp } from './http/app.js';
import { createRequestHandler, type VitalsRequestHandler } from './http/handler.js';
import { createProbeResponses, readyNotes } from './http/probe-responses.js';
import { createVitalsRouter, type RouteDeps } from './http/router.js';
import { createLogger, createRedactor, type Logger } from './log.js';
import { createVitalsMetrics } from './metrics/vitals-metrics.js';
import { createProber } from './probe/prober.js';
import { createAuthorizer } from './security/authorizer.js';
import type { CheckCommon, ReloadOutcome, RunResult, Status } from './types.js';
import { VERSION } from './version.js';

export interface VitalsOptions {
  readonly logger?: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The embedding API: what an application needs to run vitals' checks and mount its routes. The
 * listener's internals (the prepared probe answers, the authorizer, draining) are not part of
 * it; a listener of its own gets them from createVitalsService.
 */
export interface Vitals {
  /** The prom-client registry with every vitals metric and the default process metrics. */
  readonly registry: Registry;
  readonly logger: Logger;
  readonly version: string;
  /** The config in force. */
  config(): Config;
  /**
   * A check run by your own code, with the common fields of a config check (durations as
   * strings or milliseconds) and the config's defaults for those it leaves out. Throws
   * ConfigError naming each invalid field.
   */
  addCheck(check: CustomCheck): void;
  /** Starts the background checks: each runs once now, then on its interval. */
  start(): Promise<void>;
  /** Stops every check. */
  stop(): Promise<void>;
  /** The vitals routes (/health, /ready, /ready/NAME, /startup, /metrics, / and its /api/v1/summary and /api/v1/checks, /-/reload), to mount in an existing Koa app. */
  router(): Router;
  /** Re-reads the config file (or re-resolves the config object) and applies it if valid. */
  reload(): Promise<ReloadOutcome>;
  /**
   * Listens to `change` (a check's reported status changed) or `readiness` (the verdict of
   * /ready changed). Returns the function that stops listening. A listener that throws or
   * rejects is logged, never rethrown.
   */
  on<E extends VitalsEventName>(name: E, listener: VitalsListener<E>): () => void;
  off<E extends VitalsEventName>(name: E, listener: VitalsListener<E>): void;
  /** The verdict, draining, and every check's status and last result: what /ready shows an authorized caller. */
  status(): VitalsStatus;
  /**
   * Runs a check now, outside its schedule, and records its result like a scheduled run
   * (thresholds, metrics, events). While a run of it is in flight, resolves with that run's
   * result instead of probing twice; the schedule keeps its slots. Rejects for an unknown check.
   */
  runNow(name: string): Promise<RunResult>;
}

/** One check in a status snapshot. */
export interface CheckSnapshot {
  readonly name: string;
  readonly kind: string;
  readonly critical: boolean;
  /** As reported: after thresholds and maintenance. */
  readonly status: Status;
  /** The last run as reported; undefined before the first. */
  readonly last: RunResult | undefined;
  /** The window covering the check now, if any. */
  readonly maintenance: MaintenanceWindow | undefined;
}

/** What vitals.status() returns. */
export interface VitalsStatus {
  /** The verdict /ready answers (200 unless fail). */
  readonly status: 'pass' | 'warn' | 'fail';
  readonly ready: boolean;
  readonly draining: boolean;
  /** What /startup answers: every check has had a first result. */
  readonly started: boolean;
  /** The body /ready shows an authorized caller, as it would send it. */
  readonly body: HealthBody;
  /** Every check, config order then custom checks. */
  readonly checks: readonly CheckSnapshot[];
  /** Every maintenance window in force. */
  readonly maintenance: readonly MaintenanceWindow[];
}

type ConfigInput = string | Record<string, unknown> | Config | undefined;

function isResolved(input: ConfigInput): input is Config {
  return typeof input === 'object' && Array.isArray(input.secrets) && typeof input.source === 'string';
}

function resolveConfig(input: ConfigInput, env: NodeJS.ProcessEnv): Config {
  if (input === undefined) return defaultConfig({ env });
  if (typeof input === 'string') return loadConfigFile(input, { env });
  if (isResolved(input)) return input;
  return parseConfig(input, 'config object', { env });
}

/** Vitals plus what a listener of its own and the CLI need: not part of the embedding API. */
export interface VitalsService {
  readonly vitals: Vitals;
  /** The probe fast path, then the standalone Koa app (JSON 404s). */
  readonly handle: VitalsRequestHandler;
  readonly logger: Logger;
  /** server.probesWithoutAuth of the config in force. */
  readonly probesWithoutAuth: () => boolean;
  /** The checks and their state. */
  readonly monitor: Monitor;
  /** SIGTERM's first step: /ready answers 503 from now on. */
  drain(): void;
  /** The maintenance windows (on demand and scheduled). */
  readonly maintenance: Maintenance;
}

/**
 * Builds vitals from a config file path, a config object (the YAML schema) or nothing (the
 * built-in default). Throws ConfigError listing every problem.
 */
export async function createVitals(input?: ConfigInput, options: VitalsOptions = {}): Promise<Vitals> {
  return (await createVitalsService(input, options)).vitals;
}

/** createVitalsService's options beyond the embedding API's. */
export interface ServiceOptions extends VitalsOptions {
  /** performance.now() when the process first answered /health (an early listener): uptime counts from it. */
  readonly startedAt?: number;
}

/** createVitals, plus the request handler a standalone listener serves. */
export async function createVitalsService(input?: ConfigInput, options: ServiceOptions = {}): Promise<VitalsService> {
  const env = options.env ?? process.env;
  let config = resolveConfig(input, env);
  const reloadSource: ConfigInput = isResolved(input)
    ? input.source === DEFAULT_CONFIG_SOURCE
      ? undefined
      : input.source
    : input;
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  const redactor = createRedactor();
  redactor.add(config.secrets);
  const redact = (text: string) => redactor.redact(text);
  const metrics = createVitalsMetrics(VERSION, config.metrics);
  const maintenance = createMaintenance();
  maintenance.setSchedules(config.maintenance);
  metrics.setMaintenance({
    covers: (name) => maintenance.windowFor(name) !== undefined,
    key: () =>
      maintenance
        .active()
        .map((window) => window.id)
        .join(','),
  });
  const monitor = createMonitor({ kinds: checkKinds, metrics, logger, redact, maintenance });
  const events = createVitalsEvents(logger, redact);
  monitor.onTransition((transition) => {
    if (events.has('change')) events.emit('change', changeEvent(transition, redact));
  });
  let verdict = monitor.readiness();
  monitor.onChange(() => {
    if (!events.has('readiness')) return;
    const next = monitor.readiness();
    if (next === verdict) return;
    const from = verdict;
    verdict = next;
    events.emit('readiness', { ready: next !== 'fail', from, to: next, at: Date.now() });
  });
  const history = createHistory();
  monitor.onRun((event) => {
    history.record(event);
  });
  let authorizer = createAuthorizer(config.security, config.server.allowedHosts);
  /** As given to addCheck: re-resolved against the defaults of every reloaded config. */
  const customChecks = new Map<string, CustomCheck>();
  monitor.apply(config.checks);
  metrics.setReload(true);
  const startedAt = options.startedAt ?? performance.now();

  async function reload(): Promise<ReloadOutcome> {
    let next: Config;
    try {
      next = resolveConfig(reloadSource, env);
    } catch (error) {
      const problems = error instanceof ConfigError ? error.problems : [String(error)];
      metrics.setReload(false);
      logger.error({ problems: problems.map(redact) }, 'config reload rejected; the running config stays');
      return { applied: false, problems: problems.map(redact) };
    }
    const restartNeeded = (['host', 'port', 'probePort', 'grpcPort'] as const).filter(
      (key) => next.server[key] !== config.server[key],
    );
    // The series' shape is fixed at start: a histogram whose buckets changed under a running
    // rate() would mix two layouts in one range.
    const metricsChanged = JSON.stringify(next.metrics) !== JSON.stringify(config.metrics);
    if (restartNeeded.length > 0 || metricsChanged) {
      const problems = [
        ...restartNeeded.map((key) => `server.${key}: changed; restart required`),
        ...(metricsChanged ? ['metrics: changed; restart required'] : []),
      ];
      metrics.setReload(false);
      logger.error({ problems }, 'config reload rejected; the running config stays');
      return { applied: false, problems };
    }
    // Validated whole before anything changes, like the file: a config check may not take a
    // custom check's name (both would run, and the custom one would decide /ready while its
    // series had left /metrics), and the custom checks must still be valid under new defaults.
    const problems: string[] = [];
    next.checks.forEach((check, index) => {
      if (customChecks.has(check.name)) {
        problems.push(`checks[${String(index)}].name: "${check.name}" is already a custom check added by addCheck`);
      }
    });
    const customDefinitions = new Map<string, CheckCommon>();
    for (const [name, check] of customChecks) {
      const resolved = resolveCustomCheck(check, next.defaults);
      if (resolved.definition === undefined)
        problems.push(...resolved.problems.map((p) => `${p} (under the new defaults)`));
      else customDefinitions.set(name, resolved.definition);
    }
    if (problems.length > 0) {
      metrics.setReload(false);
      logger.error({ problems: problems.map(redact) }, 'config reload rejected; the running config stays');
      return { applied: false, problems: problems.map(redact) };
    }
    redactor.add(next.secrets);
    maintenance.setSchedules(next.maintenance);
    const report = monitor.apply(next.checks, customDefinitions);
    history.forget(report.removed);
    authorizer = createAuthorizer(next.security, next.server.allowedHosts);
    config = next;
    metrics.setReload(true);
    logger.info(report, 'config reloaded');
    return { applied: true, problems: [], ...report };
  }

  const responses = createProbeResponses({ monitor, version: VERSION, startedAt, authorizer: () => authorizer });
  const prober = createProber({
    modules: () => config.modules,
    maxConcurrentProbes: () => config.server.maxConcurrentProbes,
    redact,
  });
  const deps: RouteDeps = {
    prober,
    responses,
    monitor,
    exposition: (openMetrics) => metrics.expositionChunks(openMetrics),
    version: VERSION,
    startedAt,
    authorizer: () => authorizer,
    reload,
    redact,
    history,
    maintenance,
  };

  function status(): VitalsStatus {
    const checks = monitor.checks();
    const current = monitor.readiness();
    const body: HealthBody = { status: current, version: VERSION, checks: checksMember(checks) };
    const notes = readyNotes(monitor);
    if (notes.length > 0) body.notes = notes;
    return {
      status: current,
      ready: current !== 'fail',
      draining: monitor.draining(),
      started: monitor.started(),
      body,
      checks: checks.map((check) => ({
        name: check.definition.name,
        kind: check.definition.kind,
        critical: check.definition.critical,
        status: check.status,
        last: check.last,
        maintenance: maintenance.windowFor(check.definition.name),
      })),
      maintenance: maintenance.active(),
    };
  }

  const vitals: Vitals = {
    registry: metrics.registry,
    logger,
    version: VERSION,
    config: () => config,
    addCheck(check) {
      const resolved = resolveCustomCheck(check, config.defaults);
      if (resolved.definition === undefined) throw new ConfigError('addCheck', resolved.problems);
      const { name } = resolved.definition;
      if (customChecks.has(name))
        throw new ConfigError('addCheck', [`addCheck(${JSON.stringify(name)}).name: already added by addCheck`]);
      if (config.checks.some((c) => c.name === name)) {
        throw new ConfigError('addCheck', [`addCheck(${JSON.stringify(name)}).name: already a check in the config`]);
      }
      monitor.addCustom(resolved.definition, check.run);
      customChecks.set(name, check);
    },
    async start() {
      for (const warning of config.warnings) logger.warn({ warning }, 'config warning');
      monitor.start();
    },
    async stop() {
      monitor.stop();
      maintenance.clear();
    },
    router: () => createVitalsRouter(deps),
    reload,
    on(name, listener) {
      // Subscribing starts the tracking from the verdict as it is now.
      if (name === 'readiness' && !events.has('readiness')) verdict = monitor.readiness();
      return events.on(name, listener);
    },
    off: (name, listener) => {
      events.off(name, listener);
    },
    status,
    async runNow(name) {
      const run = monitor.runNow(name);
      if (run === undefined) throw new Error(`unknown check ${JSON.stringify(name)}`);
      return run;
    },
  };
  return {
    vitals,
    handle: createRequestHandler(responses, (access) => createApp(deps, logger, access)),
    logger,
    probesWithoutAuth: () => config.server.probesWithoutAuth,
    monitor,
    maintenance,
    drain() {
      monitor.setDraining();
    },
  };
}
