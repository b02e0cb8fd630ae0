/** The chaos run's assertions and its printed table. */
import { median } from '../lib/stats.js';
import {
  BUDGET_MS,
  DB_SOCKET_SLACK,
  EXPECTED_REASONS,
  FD_SLACK,
  GC_PHASE,
  isFailure,
  RSS_LIMIT_BYTES,
  SLOW_MS,
  TRANSITIONS,
  WARMUP_PHASE,
  type Assertion,
  type ChaosReport,
  type PhaseResources,
  type PhaseStats,
  type Sample,
  type TransitionResult,
} from './types.js';

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Load figures of the phases whose name passes `pick`. */
function sumPhases(phases: Record<string, PhaseStats>, pick: (phase: string) => boolean) {
  const stats = Object.entries(phases)
    .filter(([phase]) => pick(phase))
    .map(([, s]) => s);
  const sum = (field: (s: PhaseStats) => number) => stats.reduce((acc, s) => acc + field(s), 0);
  return {
    requests: sum((s) => s.requests),
    errors: sum((s) => s.errors),
    ready503: sum((s) => s.ready503),
    slow: sum((s) => s.slow),
    maxMs: Math.max(0, ...stats.map((s) => s.maxMs)),
    examples: stats.flatMap((s) => s.examples),
  };
}

/** The phases before the chaos starts, where a slow answer is reported but not asserted. */
const isWarmup = (phase: string) => phase === WARMUP_PHASE || phase === GC_PHASE;

export type Measured = Omit<ChaosReport, 'table' | 'passed' | 'assertions'>;

export interface Observed {
  /** The slowest of the orchestrator's own detection polls. */
  readonly slowestPollMs: number;
  /** Every "check status changed" line vitals logged, as "from->to", in order. */
  readonly statusLog: readonly string[];
  readonly exitCode: number | null;
}

export function assess(report: Measured, observed: Observed): Assertion[] {
  const { transitions, cycles } = report;
  const { fds, dbSockets, threads, rss, perCycle } = report.resources;
  // The whole log, in order: the first result, then one line per transition.
  const expectedSequence = [
    'unknown->pass',
    ...Array.from({ length: cycles * 3 }, () => ['pass->fail', 'fail->pass']).flat(),
  ];
  const actualSequence = observed.statusLog;
  const inOrder = JSON.stringify(actualSequence) === JSON.stringify(expectedSequence);
  const phases = report.load.phases;
  const everything = sumPhases(phases, () => true);
  const afterWarmup = sumPhases(phases, (phase) => !isWarmup(phase));
  const warmup = sumPhases(phases, isWarmup);
  const describeSample = (e: Sample) =>
    `${e.route} ${String(e.status)} ${e.ms.toFixed(1)}ms${e.error === undefined ? '' : ` ${e.error}`}`;
  const late = transitions.filter((t) => t.detectionMs === undefined || t.detectionMs > BUDGET_MS);
  const flapping = transitions.filter((t) => t.disagreements > 0);
  const notOnce = transitions.filter((t) => {
    const [only] = t.logged;
    if (t.logged.length !== 1 || only === undefined) return true;
    const want = t.truth === 'down' ? { from: 'pass', to: 'fail' } : { from: 'fail', to: 'pass' };
    return only.from !== want.from || only.to !== want.to;
  });
  const wrongReason = transitions.filter((t) => {
    const allowed = EXPECTED_REASONS[t.kind];
    return allowed !== undefined && t.logged.some((l) => l.reason === null || !allowed.includes(l.reason));
  });
  const fdLeaks = perCycle.filter((c) => c.fds > fds.start);
  const threadLeaks = perCycle.filter((c) => c.threads > threads.start);
  const describe = (t: TransitionResult) => `cycle ${String(t.cycle)} ${t.kind}`;
  // Written as !(<=) so that a sample that could not be read (NaN) fails too.
  const fdsDuring = transitions.filter((t) => !(t.held.fds.max <= fds.bound));
  const socketsDuring = transitions.filter((t) => !(t.held.dbSockets.max <= dbSockets.bound));
  const unsampled = transitions.filter((t) => t.held.samples < 3);
  const worst = (pick: (t: TransitionResult) => number) =>
    transitions.reduce<TransitionResult | undefined>(
      (top, t) => (top === undefined || pick(t) > pick(top) ? t : top),
      undefined,
    );
  const fdsWorst = worst((t) => t.held.fds.max);
  const socketsWorst = worst((t) => t.held.dbSockets.max);
  return [
    {
      name: 'no 5xx (other than /ready 503) and no transport error',
      passed: everything.errors === 0,
      detail: `${String(everything.errors)} of ${String(everything.requests)}${
        everything.errors > 0
          ? `; e.g. ${everything.examples
              .filter((e) => isFailure(e))
              .slice(0, 5)
              .map(describeSample)
              .join('; ')}`
          : ''
      }`,
    },
    {
      name: `no request slower than ${String(SLOW_MS)} ms (after the warm-up)`,
      passed: afterWarmup.slow === 0,
      detail:
        `${String(afterWarmup.slow)} of ${String(afterWarmup.requests)} slow, max ${afterWarmup.maxMs.toFixed(1)} ms` +
        (afterWarmup.slow > 0
          ? `; e.g. ${afterWarmup.examples
              .filter((e) => e.ms > SLOW_MS)
              .slice(0, 5)
              .map(describeSample)
              .join('; ')}`
          : '') +
        `; warm-up and forced GC: ${String(warmup.slow)} slow, max ${warmup.maxMs.toFixed(1)} ms; detection polls: max ${observed.slowestPollMs.toFixed(1)} ms`,
    },
    {
      name: `/ready and vitals_check_up agree with the truth within ${String(BUDGET_MS)} ms`,
      passed: late.length === 0,
      detail:
        late.length === 0
          ? `${String(transitions.length)} transitions`
          : late
              .map((t) => `${describe(t)}: ${t.detectionMs === undefined ? 'never' : `${t.detectionMs.toFixed(0)} ms`}`)
              .join('; '),
    },
    {
      name: 'the reported state holds until the next transition (no flapping)',
      passed: flapping.length === 0,
      detail:
        flapping.length === 0 ? 'none' : flapping.map((t) => `${describe(t)}: ${String(t.disagreements)}`).join('; '),
    },
    {
      name: 'every transition logged exactly once, in order',
      passed: notOnce.length === 0 && inOrder,
      detail:
        notOnce.length === 0 && inOrder
          ? `${String(actualSequence.length)} lines (first result + ${String(transitions.length)} transitions)`
          : `${notOnce.map((t) => `${describe(t)}: [${t.logged.map((l) => `${l.from}->${l.to}`).join(', ')}]`).join('; ')}; sequence ${actualSequence.join(' ')}`,
    },
    {
      name: 'failure reasons match the fault (kill: refused, pause: timeout, wrong password: auth)',
      passed: wrongReason.length === 0,
      detail:
        wrongReason.length === 0
          ? 'all'
          : wrongReason.map((t) => `${describe(t)}: ${t.logged.map((l) => String(l.reason)).join(', ')}`).join('; '),
    },
    {
      name: 'vitals fds back to the starting level after every cycle',
      passed: fdLeaks.length === 0,
      detail: `start ${String(fds.start)}; ${fdLeaks.length === 0 ? 'every cycle back' : fdLeaks.map((c) => `cycle ${String(c.cycle)}: ${String(c.fds)}`).join(', ')}`,
    },
    {
      name: `vitals fds at most ${String(FD_SLACK)} above the starting level throughout every phase`,
      passed: fdsDuring.length === 0 && unsampled.length === 0,
      detail:
        `start ${String(fds.start)}, bound ${String(fds.bound)}; ` +
        (fdsDuring.length > 0
          ? fdsDuring.map((t) => `${describe(t)}: ${phaseFds(t)}`).join('; ')
          : `highest ${fdsWorst === undefined ? '-' : `${String(fdsWorst.held.fds.max)} (${describe(fdsWorst)})`}`) +
        (unsampled.length > 0 ? `; too few samples in ${unsampled.map(describe).join(', ')}` : ''),
    },
    {
      name: `vitals sockets to MariaDB at most ${String(DB_SOCKET_SLACK)} above the starting level throughout every phase`,
      passed: socketsDuring.length === 0 && unsampled.length === 0,
      detail:
        `start ${String(dbSockets.start)}, bound ${String(dbSockets.bound)}; ` +
        (socketsDuring.length > 0
          ? socketsDuring.map((t) => `${describe(t)}: ${phaseSockets(t)}`).join('; ')
          : `highest ${socketsWorst === undefined ? '-' : `${String(socketsWorst.held.dbSockets.max)} (${describe(socketsWorst)})`}`),
    },
    {
      name: 'MariaDB Threads_connected back to the starting level after every cycle',
      passed: threadLeaks.length === 0,
      detail: `start ${String(threads.start)}; ${threadLeaks.length === 0 ? 'every cycle back' : threadLeaks.map((c) => `cycle ${String(c.cycle)}: ${String(c.threads)}`).join(', ')}`,
    },
    {
      name: `RSS growth under ${mb(RSS_LIMIT_BYTES)}`,
      passed: rss.end - rss.start < RSS_LIMIT_BYTES,
      detail: `${mb(rss.start)} -> ${mb(rss.end)} (${mb(rss.end - rss.start)}) after a full GC at both ends; without: ${mb(rss.rawStart)} -> ${mb(rss.rawEnd)}, peak ${mb(rss.max)}`,
    },
    {
      name: 'the load ran to the end',
      passed: report.load.stoppedBy === 'orchestrator',
      detail: `stopped by ${report.load.stoppedBy} after ${String(report.load.total)} requests`,
    },
    {
      name: 'vitals exits 0 on SIGTERM',
      passed: observed.exitCode === 0,
      detail: `exit code ${String(observed.exitCode)}`,
    },
  ];
}

/** "30 -> max 36 -> 36 fds": at the start of the phase, the most during it, at its end. */
const phaseFds = (t: TransitionResult) =>
  `${String(t.held.fds.start)} -> max ${String(t.held.fds.max)} -> ${String(t.held.fds.end)} fds`;

const phaseSockets = (t: TransitionResult) => {
  const { start, max, end, statesAtMax } = t.held.dbSockets;
  return `${String(start)} -> max ${String(max)} -> ${String(end)} sockets${statesAtMax === '' ? '' : ` (at the max: ${statesAtMax})`}`;
};

export function formatAssertions(report: Pick<ChaosReport, 'assertions'>): string {
  return report.assertions.map((a) => `${a.passed ? 'ok  ' : 'FAIL'}  ${a.name}: ${a.detail}`).join('\n');
}

/** The printed table, from a report (also re-rendered from a saved --json report). */
export function renderTable(report: Measured): string {
  const header = [
    'transition',
    'n',
    'detect min',
    'median',
    'max',
    'budget',
    'logged once',
    'requests',
    '5xx',
    `>${String(SLOW_MS)}ms`,
    'max ms',
    'fds s/max/e',
    'db sockets s/max/e',
  ];
  const rows: string[][] = [header];
  const loadCells = (figures: ReturnType<typeof sumPhases>) => [
    String(figures.requests),
    String(figures.errors),
    String(figures.slow),
    figures.maxMs.toFixed(1),
  ];
  for (const kind of TRANSITIONS) {
    const results = report.transitions.filter((t) => t.kind === kind);
    // A transition never detected counts as the slowest; the median is over those detected.
    const detections = results.map((t) => t.detectionMs ?? Number.POSITIVE_INFINITY);
    const once = results.filter((t) => t.logged.length === 1).length;
    const ms = (value: number) => (results.length === 0 ? '-' : `${value.toFixed(0)} ms`);
    // The phase of this kind that held the most, as start/max/end.
    const fullest = (pick: (held: PhaseResources) => { start: number; max: number; end: number }) => {
      const top = results
        .map((t) => pick(t.held))
        .reduce<{ start: number; max: number; end: number } | undefined>(
          (a, b) => (a === undefined || b.max > a.max ? b : a),
          undefined,
        );
      return top === undefined ? '-' : `${String(top.start)}/${String(top.max)}/${String(top.end)}`;
    };
    rows.push([
      kind,
      String(results.length),
      ms(Math.min(...detections)),
      ms(median(detections) ?? Number.POSITIVE_INFINITY),
      ms(Math.max(...detections)),
      `${String(BUDGET_MS)} ms`,
      `${String(once)}/${String(results.length)}`,
      ...loadCells(sumPhases(report.load.phases, (phase) => phase.endsWith(`:${kind}`))),
      fullest((held) => held.fds),
      fullest((held) => held.dbSockets),
    ]);
  }
  const blank = ['', '', '', '', ''];
  rows.push([
    'between cycles',
    '',
    ...blank,
    ...loadCells(sumPhases(report.load.phases, (phase) => phase.endsWith(':settle') || phase === 'end')),
  ]);
  rows.push([
    'all, after warm-up',
    String(report.transitions.length),
    ...blank,
    ...loadCells(sumPhases(report.load.phases, (phase) => !isWarmup(phase))),
  ]);
  rows.push([
    'warm-up (slow not asserted)',
    '',
    ...blank,
    ...loadCells(sumPhases(report.load.phases, (phase) => phase === WARMUP_PHASE)),
  ]);
  rows.push([
    'forced full GC (idem)',
    '',
    ...blank,
    ...loadCells(sumPhases(report.load.phases, (phase) => phase === GC_PHASE)),
  ]);
  const widths = header.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col] ?? 0) : cell.padStart(widths[col] ?? 0))).join('  ');
  const { fds, dbSockets, threads, rss } = report.resources;
  const duringMax = (pick: (held: PhaseResources) => number) =>
    Math.max(...report.transitions.map((t) => pick(t.held)));
  const all = sumPhases(report.load.phases, () => true);
  return [
    ...rows.map(line),
    '',
    `load: ${String(report.load.total)} requests (/ready, /health, /metrics in turn) at ~${String(report.load.rate)}/s over ${String(report.load.connections)} keep-alive connections, ` +
      `${report.seconds.toFixed(0)} s in all; /ready's ${String(all.ready503)} truthful 503s are not counted as 5xx`,
    `load generator's own event-loop delay: p99 ${report.load.clientLagP99Ms.toFixed(1)} ms, max ${report.load.clientLagMaxMs.toFixed(1)} ms (included in its latencies)`,
    `vitals open fds:        start ${String(fds.start)}, during a phase at most ${String(duringMax((held) => held.fds.max))} (bound ${String(fds.bound)}), ` +
      `after each cycle at most ${String(fds.max)}, end ${String(fds.end)} (load stopped)`,
    `vitals sockets to DB:   start ${String(dbSockets.start)}, during a phase at most ${String(duringMax((held) => held.dbSockets.max))} (bound ${String(dbSockets.bound)})`,
    `MariaDB Threads_conn.:  start ${String(threads.start)}, after each cycle at most ${String(threads.max)}, end ${String(threads.end)}`,
    `vitals RSS:             after a full GC: start ${mb(rss.start)}, end ${mb(rss.end)}, growth ${mb(rss.end - rss.start)} (limit ${mb(RSS_LIMIT_BYTES)}); ` +
      `as found: start ${mb(rss.rawStart)}, end ${mb(rss.rawEnd)}, peak ${mb(rss.max)}`,
  ].join('\n');
}
