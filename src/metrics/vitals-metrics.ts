import { collectDefaultMetrics, Gauge, Registry, type MetricValue } from 'prom-client';
import type { CheckView } from '../engine/check-runner.js';
import {
  DEFAULT_DURATION_BUCKETS,
  FAILURE_REASONS,
  type FailureReason,
  type RunResult,
  type Status,
} from '../types.js';
import { OPENMETRICS_EOF, translateToOpenMetrics } from './openmetrics.js';

const STATUSES: readonly Status[] = ['unknown', 'pass', 'warn', 'fail'];

/**
 * How often the nodejs_eventloop_lag_* histogram samples the loop. prom-client's 10 ms default
 * is a timer waking the process a hundred times a second, ~0.5 % of a core on this machine for
 * an otherwise idle sidecar; at 100 ms a stall longer than that is still always seen, shorter
 * ones in proportion to their length.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

export interface VitalsMetrics {
  /** Every vitals metric plus the default process metrics, for an embedding app to merge. */
  readonly registry: Registry;
  /** Creates every series of a check at its starting value: each exists from the start, before any run. */
  addCheck(check: CheckView): void;
  removeCheck(check: CheckView): void;
  /**
   * A changed check's new runner takes over its series. The counters go on from the old
   * runner's: to whoever graphs the check it is the same check, and a reset in the middle of a
   * reload would drop from rate() the runs before it. The gauges follow the new runner.
   */
  replaceCheck(previous: CheckView, next: CheckView): void;
  recordRun(check: CheckView, run: RunResult): void;
  /** `vitals_ready` is read from this at scrape time, not recomputed on every run. */
  setReadiness(isReady: () => boolean): void;
  /**
   * `vitals_check_maintenance` is read from this: whether a window covers a check, and a key
   * that changes whenever the set of windows in force does (read at scrape time, so that a
   * scheduled window that opens between two runs shows at the next scrape).
   */
  setMaintenance(source: MaintenanceSource): void;
  setDraining(draining: boolean): void;
  setReload(applied: boolean, at?: number): void;
  /** The /metrics body, text 0.0.4 or OpenMetrics 1.0, as the chunks to write one after the other. */
  expositionChunks(openMetrics: boolean): Promise<ExpositionChunks>;
  /** The same body in one Buffer. */
  exposition(openMetrics: boolean): Promise<Buffer>;
}

/**
 * A body in pieces that are kept from scrape to scrape: only the checks that ran since are
 * encoded again. Written with one writev, the 3 MB of a thousand checks are never copied into
 * one buffer, whose allocation (outside V8's heap, but counted against it) forced a full
 * garbage collection every few scrapes.
 */
export interface ExpositionChunks {
  readonly chunks: readonly Buffer[];
  /** The sum of the chunks' lengths: Content-Length. */
  readonly length: number;
}

export interface MaintenanceSource {
  covers(check: string): boolean;
  key(): string;
}

/** How the per-check series are shaped: the config's `metrics` section. */
export interface MetricsOptions {
  /** Whether vitals_check_run_duration_seconds is exported. */
  readonly histogram: boolean;
  /** Its upper bounds in seconds, increasing; +Inf is added. */
  readonly durationBuckets: readonly number[];
}

export const DEFAULT_METRICS_OPTIONS: MetricsOptions = {
  histogram: true,
  durationBuckets: DEFAULT_DURATION_BUCKETS,
};

/** One check's counters and its rendered sample lines, one string per family. */
interface CheckSeries {
  readonly view: CheckView;
  readonly labels: string;
  runs: number;
  readonly failures: Record<FailureReason, number>;
  /** Runs per histogram bucket, not cumulative; the last one is +Inf. */
  readonly durationCounts: number[];
  /** Seconds, the histogram's _sum. */
  durationSum: number;
  /** Seconds; undefined until a run has made a TLS handshake, and then its series exists. */
  certificateExpiry: number | undefined;
  /** Every family's lines, one after the other, in UTF-8. */
  encoded: Buffer;
  /** Where each family's lines start in `encoded`; one more entry for the end. */
  offsets: number[];
  /** Lines are re-rendered at the next scrape, not at every run: scrapes are rarer than runs. */
  stale: boolean;
  /** The block of the exposition the check's lines are in; undefined until the next scrape lays them out. */
  block: Block | undefined;
}

/**
 * A run of consecutive checks whose lines, family by family, are kept as one Buffer each: a
 * scrape re-copies only the blocks with a check that ran since the last one, and writes the
 * others as they are. 32 checks make ~500 chunks for a thousand checks, few enough for one
 * writev, and ~100 KB re-copied for each check that ran.
 */
interface Block {
  readonly members: readonly CheckSeries[];
  /** One Buffer per family, in the families' order; undefined when a member has changed. */
  families: Buffer[] | undefined;
}

const CHECKS_PER_BLOCK = 32;

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly render: (series: CheckSeries) => string;
  readonly values: (series: CheckSeries) => MetricValue<string>[];
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');
}

function labelObject(view: CheckView): Record<string, string> {
  const { name, kind, critical, labels } = view.definition;
  return { check: name, kind, critical: String(critical), ...labels };
}

/** `check="db",kind="mysql",critical="true"`, then the check's extra labels by name. */
function labelText(view: CheckView): string {
  const { name, kind, critical, labels = {} } = view.definition;
  const extra = Object.keys(labels)
    .sort()
    .map((label) => `,${label}="${escapeLabel(labels[label] ?? '')}"`)
    .join('');
  return `check="${escapeLabel(name)}",kind="${escapeLabel(kind)}",critical="${String(critical)}"${extra}`;
}

const isUp = (status: Status) => status === 'pass' || status === 'warn';
const lastRunSeconds = (v: CheckView) => (v.last?.finishedAt ?? 0) / 1000;

function simple(name: string, help: string, type: Family['type'], value: (s: CheckSeries) => number): Family {
  return {
    name,
    help,
    type,
    render: (s) => `${name}{${s.labels}} ${String(value(s))}\n`,
    values: (s) => [{ labels: labelObject(s.view), value: value(s) }],
  };
}

const RUN_DURATION = 'vitals_check_run_duration_seconds';

/** Every run's duration. `_count` is runs_total again; an SLO on latency needs the buckets. */
function runDurationHistogram(bounds: readonly number[]): Family {
  const les = [...bounds.map((bound) => String(bound)), '+Inf'];
  const cumulative = (s: CheckSeries) => {
    let total = 0;
    return s.durationCounts.map((count) => (total += count));
  };
  return {
    name: RUN_DURATION,
    help: 'How long the runs of the check took.',
    type: 'histogram',
    render: (s) => {
      const counts = cumulative(s);
      const buckets = les.map((le, i) => `${RUN_DURATION}_bucket{${s.labels},le="${le}"} ${String(counts[i] ?? 0)}\n`);
      const count = String(counts.at(-1) ?? 0);
      return `${buckets.join('')}${RUN_DURATION}_sum{${s.labels}} ${String(s.durationSum)}\n${RUN_DURATION}_count{${s.labels}} ${count}\n`;
    },
    values: (s) => {
      const labels = labelObject(s.view);
      const counts = cumulative(s);
      return [
        ...les.map((le, i) => ({
          metricName: `${RUN_DURATION}_bucket`,
          labels: { ...labels, le },
          value: counts[i] ?? 0,
        })),
        { metricName: `${RUN_DURATION}_sum`, labels, value: s.durationSum },
        { metricName: `${RUN_DURATION}_count`, labels, value: counts.at(-1) ?? 0 },
      ];
    },
  };
}

/** The last run's time in each phase of the kind; a phase the run did not reach is 0. */
const PHASE_DURATION: Family = {
  name: 'vitals_check_phase_duration_seconds',
  help: 'How long each phase of the last run of the check took (0 = not reached).',
  type: 'gauge',
  render: (s) =>
    s.view.phases
      .map(
        (phase) =>
          `vitals_check_phase_duration_seconds{${s.labels},phase="${phase}"} ${String((s.view.last?.phases?.[phase] ?? 0) / 1000)}\n`,
      )
      .join(''),
  values: (s) =>
    s.view.phases.map((phase) => ({
      labels: { ...labelObject(s.view), phase },
      value: (s.view.last?.phases?.[phase] ?? 0) / 1000,
    })),
};

/**
 * The per-check families, rendered by hand: each run re-renders only its own check's lines,
 * and a scrape concatenates them. prom-client would format every one of a thousand checks'
 * sixteen series on every scrape, which is what made a large /metrics slow.
 */
const FIXED_FAMILIES: readonly Family[] = [
  simple('vitals_check_up', 'Whether the check is reported passing (pass or warn).', 'gauge', (s) =>
    isUp(s.view.status) ? 1 : 0,
  ),
  {
    name: 'vitals_check_status',
    help: "The check's reported status; exactly one of unknown, pass, warn, fail is 1.",
    type: 'gauge',
    render: (s) =>
      STATUSES.map(
        (status) => `vitals_check_status{${s.labels},status="${status}"} ${s.view.status === status ? '1' : '0'}\n`,
      ).join(''),
    values: (s) =>
      STATUSES.map((status) => ({
        labels: { ...labelObject(s.view), status },
        value: s.view.status === status ? 1 : 0,
      })),
  },
  simple(
    'vitals_check_duration_seconds',
    'How long the last run of the check took.',
    'gauge',
    (s) => (s.view.last?.durationMs ?? 0) / 1000,
  ),
  simple(
    'vitals_check_timeout_seconds',
    "The check's configured timeout.",
    'gauge',
    (s) => s.view.definition.timeoutMs / 1000,
  ),
  simple(
    'vitals_check_last_success_timestamp_seconds',
    "Unix time of the check's last pass or warn (0 = never).",
    'gauge',
    (s) => s.view.lastSuccessAt / 1000,
  ),
  simple(
    'vitals_check_last_run_timestamp_seconds',
    "Unix time the check's last run finished (0 = never).",
    'gauge',
    (s) => lastRunSeconds(s.view),
  ),
  simple('vitals_check_runs_total', 'Runs of the check.', 'counter', (s) => s.runs),
  {
    name: 'vitals_check_failures_total',
    help: 'Failed runs of the check, by reason.',
    type: 'counter',
    render: (s) =>
      FAILURE_REASONS.map(
        (reason) => `vitals_check_failures_total{${s.labels},reason="${reason}"} ${String(s.failures[reason])}\n`,
      ).join(''),
    values: (s) =>
      FAILURE_REASONS.map((reason) => ({ labels: { ...labelObject(s.view), reason }, value: s.failures[reason] })),
  },
  {
    name: 'vitals_check_tls_cert_expiry_timestamp_seconds',
    help: 'Unix time the first certificate to expire in the chain the peer sent at the last TLS handshake expires.',
    type: 'gauge',
    render: (s) =>
      s.certificateExpiry === undefined
        ? ''
        : `vitals_check_tls_cert_expiry_timestamp_seconds{${s.labels}} ${String(s.certificateExpiry)}\n`,
    values: (s) =>
      s.certificateExpiry === undefined ? [] : [{ labels: labelObject(s.view), value: s.certificateExpiry }],
  },
  {
    name: 'vitals_check_info',
    help: 'Static facts about the check; target is what it connects to.',
    type: 'gauge',
    render: (s) => `vitals_check_info{${s.labels},target="${escapeLabel(s.view.target)}"} 1\n`,
    values: (s) => [{ labels: { ...labelObject(s.view), target: s.view.target }, value: 1 }],
  },
];

const header = (family: Family, openMetrics: boolean) => {
  const name = openMetrics && family.type === 'counter' ? family.name.replace(/_total$/, '') : family.name;
  return `# HELP ${name} ${family.help}\n# TYPE ${name} ${family.type}\n`;
};

function familiesFor(options: MetricsOptions, inMaintenance: (check: string) => boolean): readonly Family[] {
  const [up, status, duration, ...rest] = FIXED_FAMILIES;
  if (up === undefined || status === undefined || duration === undefined) throw new Error('unreachable');
  return [
    up,
    status,
    duration,
    ...(options.histogram ? [runDurationHistogram(options.durationBuckets)] : []),
    PHASE_DURATION,
    ...rest,
    simple(
      'vitals_check_maintenance',
      'Whether a maintenance window covers the check (its failures are reported warn).',
      'gauge',
      (s) => (inMaintenance(s.view.definition.name) ? 1 : 0),
    ),
  ];
}

export function createVitalsMetrics(version: string, options: MetricsOptions = DEFAULT_METRICS_OPTIONS): VitalsMetrics {
  let maintenance: MaintenanceSource = { covers: () => false, key: () => '' };
  let maintenanceKey = '';
  const families = familiesFor(options, (check) => maintenance.covers(check));
  const bucketBounds = options.histogram ? options.durationBuckets : [];
  // Default process metrics and the few global gauges stay with prom-client.
  const base = new Registry();
  collectDefaultMetrics({ register: base, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  // prom-client names these gauges with `_total`, which Prometheus keeps for counters: promtool's
  // lint fails the whole exposition on them. Each is the sum of the per-type gauge of the same
  // name without the suffix (`sum(nodejs_active_handles)`), which stays.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    base.removeSingleMetric(name);
  }
  let isReady: () => boolean = () => false;
  const gauge = (name: string, help: string, labelNames: readonly string[] = [], collect?: (this: Gauge) => void) =>
    new Gauge({ name, help, labelNames, registers: [base], ...(collect ? { collect } : {}) });
  gauge('vitals_ready', 'Whether /ready would answer 200.', [], function collect() {
    this.set(isReady() ? 1 : 0);
  });
  const draining = gauge('vitals_draining', 'Whether vitals is shutting down (after SIGTERM).');
  gauge('vitals_build_info', 'Build facts; always 1.', ['version', 'nodejs']).set(
    { version, nodejs: process.version },
    1,
  );
  const reloadOk = gauge(
    'vitals_config_last_reload_successful',
    'Whether the last load or reload of the config applied.',
  );
  const reloadAt = gauge(
    'vitals_config_last_reload_success_timestamp_seconds',
    'Unix time the running config was applied.',
  );
  draining.set(0);
  reloadOk.set(0);
  reloadAt.set(0);

  const checks = new Map<string, CheckSeries>();
  /** The checks in blocks, in the map's order; undefined after a check came or went. */
  let layout: Block[] | undefined;
  // Each format's chunk list is made when first asked for after a change: a scraper uses one of them.
  let sections: { text?: Buffer[]; openMetrics?: Buffer[] } = {};
  const render = (series: CheckSeries) => {
    series.stale = true;
    if (series.block !== undefined) series.block.families = undefined;
    sections = {};
  };
  const relayout = () => {
    layout = undefined;
    sections = {};
  };
  // The same families as prom-client metric objects, computed from the same state on demand,
  // so `vitals.registry.metrics()` in an embedding app shows them too.
  const checksRegistry = new Registry();
  for (const family of families) {
    checksRegistry.registerMetric({
      name: family.name,
      help: family.help,
      type: family.type,
      get: async () => ({
        name: family.name,
        help: family.help,
        type: family.type,
        aggregator: 'sum',
        values: [...checks.values()].flatMap((series) => family.values(series)),
      }),
      reset: () => undefined,
    } as never);
  }
  const registry = Registry.merge([base, checksRegistry]);

  function encode(series: CheckSeries): void {
    const lines = families.map((family) => family.render(series));
    series.encoded = Buffer.from(lines.join(''));
    let at = 0;
    series.offsets = [0];
    for (const line of lines) {
      at += Buffer.byteLength(line);
      series.offsets.push(at);
    }
    series.stale = false;
  }

  const headers = {
    text: families.map((family) => Buffer.from(header(family, false))),
    openMetrics: families.map((family) => Buffer.from(header(family, true))),
  };

  function lay(): Block[] {
    const all = [...checks.values()];
    const blocks: Block[] = [];
    for (let first = 0; first < all.length; first += CHECKS_PER_BLOCK) {
      const block: Block = { members: all.slice(first, first + CHECKS_PER_BLOCK), families: undefined };
      for (const series of block.members) series.block = block;
      blocks.push(block);
    }
    return blocks;
  }

  /** The block's lines of each family, copied from its checks' own encoded lines. */
  function blockFamilies(block: Block): Buffer[] {
    for (const series of block.members) if (series.stale) encode(series);
    return families.map((_, index) => {
      let size = 0;
      for (const { offsets } of block.members) size += (offsets[index + 1] ?? 0) - (offsets[index] ?? 0);
      const lines = Buffer.allocUnsafe(size);
      let at = 0;
      for (const { encoded, offsets } of block.members) {
        at += encoded.copy(lines, at, offsets[index] ?? 0, offsets[index + 1] ?? 0);
      }
      return lines;
    });
  }

  /** The check families: each family's header, then its lines block by block. */
  function checkSection(openMetrics: boolean): Buffer[] {
    const key = maintenance.key();
    if (key !== maintenanceKey) {
      maintenanceKey = key;
      for (const series of checks.values()) series.stale = true;
      relayout();
    }
    layout ??= lay();
    const format = openMetrics ? 'openMetrics' : 'text';
    const cached = sections[format];
    if (cached !== undefined) return cached;
    for (const block of layout) block.families ??= blockFamilies(block);
    const chunks: Buffer[] = [];
    headers[format].forEach((head, index) => {
      chunks.push(head);
      for (const block of layout ?? []) {
        const lines = block.families?.[index];
        if (lines !== undefined && lines.length > 0) chunks.push(lines);
      }
    });
    sections[format] = chunks;
    return chunks;
  }

  async function expositionChunks(openMetrics: boolean): Promise<ExpositionChunks> {
    const text = await base.metrics();
    const chunks = openMetrics
      ? [Buffer.from(translateToOpenMetrics(text)), ...checkSection(true), OPENMETRICS_EOF]
      : [Buffer.from(text), ...checkSection(false)];
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    return { chunks, length };
  }

  const newSeries = (view: CheckView): CheckSeries => ({
    view,
    labels: labelText(view),
    runs: 0,
    failures: Object.fromEntries(FAILURE_REASONS.map((reason) => [reason, 0])) as Record<FailureReason, number>,
    durationCounts: new Array<number>(bucketBounds.length + 1).fill(0),
    durationSum: 0,
    certificateExpiry: undefined,
    encoded: Buffer.alloc(0),
    offsets: [],
    stale: true,
    block: undefined,
  });

  return {
    registry,
    addCheck(view) {
      const series = newSeries(view);
      checks.set(view.definition.name, series);
      relayout();
    },
    replaceCheck(previous, next) {
      const old = checks.get(previous.definition.name);
      const series = newSeries(next);
      if (old?.view === previous) {
        series.runs = old.runs;
        Object.assign(series.failures, old.failures);
        old.durationCounts.forEach((count, i) => (series.durationCounts[i] = count));
        series.durationSum = old.durationSum;
      }
      // Same key, so the check keeps its place; a changed kind or critical flag takes its
      // label set with it, and the old one leaves the exposition in the same scrape.
      checks.set(next.definition.name, series);
      relayout();
    },
    removeCheck(view) {
      if (checks.get(view.definition.name)?.view === view) checks.delete(view.definition.name);
      relayout();
    },
    recordRun(view, run) {
      const series = checks.get(view.definition.name);
      if (series?.view !== view) return;
      series.runs += 1;
      if (run.reason !== undefined) series.failures[run.reason] += 1;
      if (options.histogram) {
        const seconds = run.durationMs / 1000;
        let index = 0;
        while (index < bucketBounds.length && !(seconds <= (bucketBounds[index] ?? 0))) index += 1;
        series.durationCounts[index] = (series.durationCounts[index] ?? 0) + 1;
        series.durationSum += seconds;
      }
      // A run that failed before its handshake says nothing new about the certificate.
      if (run.certificate !== undefined) series.certificateExpiry = run.certificate.notAfter / 1000;
      render(series);
    },
    setReadiness(source) {
      isReady = source;
    },
    setMaintenance(source) {
      maintenance = source;
    },
    setDraining(isDraining) {
      draining.set(isDraining ? 1 : 0);
    },
    setReload(applied, at = Date.now()) {
      reloadOk.set(applied ? 1 : 0);
      if (applied) reloadAt.set(at / 1000);
    },
    expositionChunks,
    async exposition(openMetrics) {
      const { chunks, length } = await expositionChunks(openMetrics);
      return Buffer.concat(chunks, length);
    },
  };
}
