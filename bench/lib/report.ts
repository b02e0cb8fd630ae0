/** Per-round ratios, medians over rounds, the issue's targets, and the printed table. */
import type { ManyChecksResult, StartupResult } from './extras.js';
import { median } from './stats.js';
import type { Goal, GoalStatus, IdleWindow, RunRecord, SummaryRow } from './types.js';

export const RAW = { target: 'raw-http', route: '/health' };
export const KOA = { target: 'bare-koa', route: '/health' };

/** Fills each run's dependency figures from the idle windows and the calibrated cost of a check run (see DbRecord). */
export function deriveDbFigures(
  runs: RunRecord[],
  idle: readonly IdleWindow[],
  queriesPerCheckRun: number,
): { backgroundPerSecond: number; queriesPerCheckRun: number } {
  const idleSeconds = idle.reduce((sum, w) => sum + w.seconds, 0);
  const idleDelta = idle.reduce((sum, w) => sum + w.delta, 0);
  const backgroundPerSecond = idleSeconds > 0 ? idleDelta / idleSeconds : 0;
  for (const run of runs) {
    if (run.requests === 0) continue;
    run.db.queriesPerReq = (run.db.delta - backgroundPerSecond * run.db.seconds) / run.requests;
    run.db.queriesPerReqCounted = (run.db.delta - queriesPerCheckRun * run.db.checkRuns) / run.requests;
  }
  return { backgroundPerSecond, queriesPerCheckRun };
}

function defined(values: (number | undefined)[]): number[] {
  return values.filter((v): v is number => v !== undefined && Number.isFinite(v));
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined || !Number.isFinite(value) ? {} : ({ [key]: value } as Record<K, number>);
}

export function summarise(
  runs: readonly RunRecord[],
  pairs: readonly { target: string; route: string }[],
): SummaryRow[] {
  const find = (round: number, ref: { target: string; route: string }) =>
    runs.find((r) => r.round === round && r.target === ref.target && r.route === ref.route);
  return pairs.map(({ target, route }) => {
    const mine = runs.filter((r) => r.target === target && r.route === route);
    const perRound = mine.map((run) => {
      const raw = find(run.round, RAW);
      const koa = find(run.round, KOA);
      return {
        ratioVsRaw: raw !== undefined && raw.rps > 0 ? run.rps / raw.rps : undefined,
        ratioVsKoa: koa !== undefined && koa.rps > 0 ? run.rps / koa.rps : undefined,
        cpuRatioVsRaw:
          raw?.cpuUsPerReq !== undefined && run.cpuUsPerReq !== undefined && raw.cpuUsPerReq > 0
            ? run.cpuUsPerReq / raw.cpuUsPerReq
            : undefined,
        p99RatioVsKoa: koa !== undefined && koa.latencyMs.p99 > 0 ? run.latencyMs.p99 / koa.latencyMs.p99 : undefined,
      };
    });
    return {
      target,
      route,
      rounds: mine.length,
      requests: mine.reduce((sum, r) => sum + r.requests, 0),
      rps: median(mine.map((r) => r.rps)) ?? 0,
      ...optional('ratioVsRaw', median(defined(perRound.map((p) => p.ratioVsRaw)))),
      ...optional('ratioVsKoa', median(defined(perRound.map((p) => p.ratioVsKoa)))),
      ...optional('cpuUsPerReq', median(defined(mine.map((r) => r.cpuUsPerReq)))),
      ...optional('cpuRatioVsRaw', median(defined(perRound.map((p) => p.cpuRatioVsRaw)))),
      p99Ms: median(mine.map((r) => r.latencyMs.p99)) ?? 0,
      ...optional('p99RatioVsKoa', median(defined(perRound.map((p) => p.p99RatioVsKoa)))),
      ...optional('dbQueriesPerReq', median(defined(mine.map((r) => r.db.queriesPerReq)))),
      ...optional('dbQueriesPerReqCounted', median(defined(mine.map((r) => r.db.queriesPerReqCounted)))),
      ...optional('dbCpuUsPerReq', median(defined(mine.map((r) => r.dbCpuUsPerReq)))),
      non2xx: mine.reduce((sum, r) => sum + r.non2xx, 0),
      connectErrors: mine.reduce((sum, r) => sum + r.errors.connect, 0),
    };
  });
}

function status(ok: boolean): GoalStatus {
  return ok ? 'met' : 'not met';
}

const fmt = (value: number, digits = 2) => value.toFixed(digits);

export interface GoalInputs {
  readonly summary: readonly SummaryRow[];
  readonly startup?: StartupResult;
  readonly many?: ManyChecksResult;
  readonly quick: boolean;
}

export function evaluateGoals({ summary, startup, many, quick }: GoalInputs): Goal[] {
  const goals: Goal[] = [];
  const row = (target: string, route: string) => summary.find((r) => r.target === target && r.route === route);
  const skipped = (id: string, text: string, why: string): Goal => ({ id, text, status: 'skipped', figure: why });

  for (const route of ['/health', '/ready', '/startup']) {
    const r = row('vitals-standalone', route);
    const rpsText = `standalone ${route}: req/s ≥ 0.9× raw node:http`;
    const cpuText = `standalone ${route}: CPU/request ≤ 1.15× raw node:http`;
    if (r?.ratioVsRaw === undefined)
      goals.push(skipped(`standalone${route}-rps`, rpsText, quick ? 'not run in --quick' : 'not measured'));
    else
      goals.push({
        id: `standalone${route}-rps`,
        text: rpsText,
        status: status(r.ratioVsRaw >= 0.9),
        figure: `${fmt(r.ratioVsRaw)}×`,
        value: r.ratioVsRaw,
        limit: 0.9,
      });
    if (r?.cpuRatioVsRaw === undefined || r.cpuUsPerReq === undefined)
      goals.push(skipped(`standalone${route}-cpu`, cpuText, quick ? 'not run in --quick' : 'not measured'));
    else
      goals.push({
        id: `standalone${route}-cpu`,
        text: cpuText,
        status: status(r.cpuRatioVsRaw <= 1.15),
        figure: `${fmt(r.cpuRatioVsRaw)}× (${fmt(r.cpuUsPerReq, 1)} µs/req)`,
        value: r.cpuRatioVsRaw,
        limit: 1.15,
      });
  }

  for (const route of ['/health', '/ready']) {
    const r = row('vitals-embedded', route);
    const text = `embedded ${route}: req/s ≥ 0.9× the bare Koa route`;
    if (r?.ratioVsKoa === undefined)
      goals.push(skipped(`embedded${route}-rps`, text, quick ? 'not run in --quick' : 'not measured'));
    else
      goals.push({
        id: `embedded${route}-rps`,
        text,
        status: status(r.ratioVsKoa >= 0.9),
        figure: `${fmt(r.ratioVsKoa)}×`,
        value: r.ratioVsKoa,
        limit: 0.9,
      });
  }

  for (const target of ['vitals-standalone', 'vitals-embedded']) {
    const r = row(target, '/ready');
    const name = target.replace('vitals-', '');
    const text = `${name} /ready: dependency round trips per request ≤ 0.0001 (background subtracted)`;
    const counted = r?.dbQueriesPerReqCounted;
    const estimated = r?.dbQueriesPerReq;
    if (counted === undefined || estimated === undefined)
      goals.push(skipped(`${name}-ready-deps`, text, 'not measured'));
    else
      goals.push({
        id: `${name}-ready-deps`,
        text,
        // Judged on the counted figure (the checks' own runs read from vitals' counters); the
        // idle-rate estimate is shown beside it.
        status: status(counted <= 0.0001),
        figure: `${counted.toExponential(1)} counted, ${estimated.toExponential(1)} with the idle-rate estimate`,
        value: counted,
        limit: 0.0001,
      });
  }

  if (many === undefined) {
    goals.push(skipped('metrics-p99', '/metrics with 1,000 checks, one scraper: p99 < 25 ms', 'not measured'));
    goals.push(
      skipped('metrics-vs-prom-client', '/metrics p99 ≤ a plain prom-client registry of the same size', 'not measured'),
    );
  } else {
    const m = many.metrics;
    goals.push({
      id: 'metrics-p99',
      text: '/metrics with 1,000 checks, one scraper: p99 < 25 ms (text format)',
      status: status(m.vitalsP99Ms < 25),
      figure: `${fmt(m.vitalsP99Ms)} ms (${String(many.series)} series)`,
      value: m.vitalsP99Ms,
      limit: 25,
    });
    goals.push({
      id: 'metrics-openmetrics-p99',
      text: "/metrics with 1,000 checks, Prometheus' Accept (OpenMetrics): p99 < 25 ms",
      status: status(m.vitalsOpenMetricsP99Ms < 25),
      figure: `${fmt(m.vitalsOpenMetricsP99Ms)} ms`,
      value: m.vitalsOpenMetricsP99Ms,
      limit: 25,
    });
    goals.push({
      id: 'metrics-vs-prom-client',
      text: '/metrics p99 ≤ a plain prom-client registry with the same number of series',
      status: status(m.vitalsP99Ms <= m.promClientP99Ms),
      figure: `${fmt(m.vitalsP99Ms)} ms vs ${fmt(m.promClientP99Ms)} ms`,
      value: m.promClientP99Ms > 0 ? m.vitalsP99Ms / m.promClientP99Ms : 0,
      limit: 1,
    });
  }
  const idleNote = many === undefined ? '' : many.tcpKindAvailable ? '' : ' [custom checks: kind tcp not available]';
  if (many?.idle === undefined) {
    const why = quick ? 'skipped in --quick' : 'not measured';
    goals.push(skipped('idle-cpu', '1,000 tcp checks at 10 s, idle: CPU < 3 % of one core', why));
    goals.push(skipped('idle-rss', '1,000 tcp checks at 10 s, idle: RSS < 120 MB', why));
  } else {
    const idle = many.idle;
    goals.push({
      id: 'idle-cpu',
      text: `1,000 tcp checks at 10 s, idle: CPU < 3 % of one core${idleNote}`,
      status: status(idle.cpuPercent < 3),
      figure: `${fmt(idle.cpuPercent)} % over ${fmt(idle.seconds, 0)} s`,
      value: idle.cpuPercent,
      limit: 3,
    });
    goals.push({
      id: 'idle-rss',
      text: `1,000 tcp checks at 10 s, idle: RSS < 120 MB${idleNote}`,
      status: status(idle.rssMaxMB < 120),
      figure: `${fmt(idle.rssMaxMB, 1)} MB (max)`,
      value: idle.rssMaxMB,
      limit: 120,
    });
  }
  if (startup === undefined)
    goals.push(skipped('startup', 'process start → first /health 200 < 300 ms', 'not measured'));
  else
    goals.push({
      id: 'startup',
      text: 'process start → first /health 200 < 300 ms',
      status: status(startup.medianHealthMs < 300),
      figure: `${fmt(startup.medianHealthMs, 0)} ms (median of ${String(startup.samples)})`,
      value: startup.medianHealthMs,
      limit: 300,
    });

  for (const target of ['vitals-standalone', 'vitals-embedded']) {
    const r = row(target, '/ready');
    const name = target.replace('vitals-', '');
    const text = `${name} /ready p99 under load ≤ the bare Koa route's p99`;
    if (r?.p99RatioVsKoa === undefined)
      goals.push(skipped(`${name}-ready-p99`, text, quick ? 'not run in --quick' : 'not measured'));
    else
      goals.push({
        id: `${name}-ready-p99`,
        text,
        status: status(r.p99RatioVsKoa <= 1),
        figure: `${fmt(r.p99RatioVsKoa)}× (${fmt(r.p99Ms)} ms)`,
        value: r.p99RatioVsKoa,
        limit: 1,
      });
  }
  return goals;
}

function cell(value: number | undefined, digits: number): string {
  return value === undefined ? '–' : value.toFixed(digits);
}

function depCell(value: number | undefined): string {
  if (value === undefined) return '–';
  if (Math.abs(value) < 0.00005) return '0.0000';
  return Math.abs(value) >= 0.01 ? value.toFixed(2) : value.toExponential(1);
}

export function table(summary: readonly SummaryRow[]): string {
  const header = [
    'target',
    'route',
    'req/s',
    '×raw',
    '×Koa',
    'CPU µs/req',
    'CPU ×raw',
    'p99 ms',
    'dep q/req',
    'dep counted',
    'non-2xx',
  ];
  const rows = summary.map((r) => [
    r.target,
    r.route,
    r.rps.toFixed(0),
    cell(r.ratioVsRaw, 2),
    cell(r.ratioVsKoa, 2),
    cell(r.cpuUsPerReq, 1),
    cell(r.cpuRatioVsRaw, 2),
    r.p99Ms.toFixed(2),
    depCell(r.dbQueriesPerReq),
    depCell(r.dbQueriesPerReqCounted),
    String(r.non2xx),
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, col) => Math.max(...all.map((row) => (row[col] ?? '').length)));
  const line = (row: string[]) =>
    row.map((text, col) => (col < 2 ? text.padEnd(widths[col] ?? 0) : text.padStart(widths[col] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function goalLines(goals: readonly Goal[]): string {
  const tag = (s: GoalStatus) => (s === 'met' ? '[met]    ' : s === 'not met' ? '[NOT MET]' : '[skipped]');
  return goals.map((g) => `  ${tag(g.status)} ${g.text}: ${g.figure}`).join('\n');
}

/** Each pair's ×Koa in every round, in round order: the spread behind the medians. */
export function koaRatiosByRound(
  runs: readonly RunRecord[],
  pairs: readonly { target: string; route: string }[],
): string[] {
  const rounds = [...new Set(runs.map((r) => r.round))].sort((a, b) => a - b);
  const koa = new Map(
    runs.filter((r) => r.target === KOA.target && r.route === KOA.route).map((r) => [r.round, r.rps]),
  );
  if (koa.size === 0 || rounds.length < 2) return [];
  const width = Math.max(...pairs.map((p) => `${p.target} ${p.route}`.length));
  return pairs
    .filter((p) => p.target !== KOA.target)
    .map(({ target, route }) => {
      const cells = rounds.map((round) => {
        const run = runs.find((r) => r.round === round && r.target === target && r.route === route);
        const base = koa.get(round);
        return run === undefined || base === undefined || base === 0 ? '–' : (run.rps / base).toFixed(2);
      });
      return `  ${`${target} ${route}`.padEnd(width)}  ${cells.join('  ')}`;
    });
}
