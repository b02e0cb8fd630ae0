/**
 * npm run bench:startup [-- --quick] [--node PATH]... [--variants LIST] [--profile]
 *
 * Start-up, idle memory, idle CPU and /metrics latency of the vitals CLI against a bare
 * node:http server answering /health with a constant, both started by the same node binary, once
 * per node binary (by default Node 24 from .ci/node24 when present, then the `node` on PATH).
 * Prints a table per node with each figure, its target and whether it is met, and writes every
 * sample to bench/results/startup-*.json. Not a test: it asserts nothing.
 *
 *   --quick            3 starts, 10 s idle, 1 copy, 2 s of scrapes (a smoke test, ~1 min a node)
 *   --samples N        starts of each server per suite (default 7, median)
 *   --idle S           idle window in seconds (default 30)
 *   --copies N         bare / default-like / five-check servers idle at once (default 3, median RSS)
 *   --metrics-seconds  seconds of back-to-back scrapes per format (default 10)
 *   --variants LIST    suites on the first node (the others run baseline): baseline,
 *                      compile-cache, semi1, semi2, old64, cache+semi1, bundle, bundle+cache,
 *                      or "all" (default: baseline only)
 *   --profile          on the first node: --cpu-prof of start-up, modules by package, import
 *                      costs, V8 heap spaces after the idle window
 *   --compare-startup  only start-up, interleaved: every node's bare server and baseline, plus
 *                      the --variants on the first node, one start each per round (--samples)
 *   --out FILE         JSON path (default bench/results/startup-<time>.json)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killAllNow } from './lib/children.js';
import { node24, onPath } from './lib/nodes.js';
import { round } from './lib/stats.js';
import { machine, packageVersions, ROOT, vitalsVersion } from './lib/versions.js';
import { BUNDLE_DIR, buildBundle } from './startup/bundle.js';
import { createFixtures, type Fixtures } from './startup/fixtures.js';
import {
  compareStartups,
  measureIdle,
  measureStartup,
  type StartupEntry,
  scrapeBackToBack,
  type IdleFigures,
  type ScrapeFigures,
  type StartupFigures,
  type Variant,
} from './startup/measure.js';
import { profileStartup, type ProfileReport } from './startup/profile.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    node: { type: 'string', multiple: true },
    samples: { type: 'string' },
    idle: { type: 'string' },
    copies: { type: 'string' },
    'metrics-seconds': { type: 'string' },
    variants: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'compare-startup': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

const quick = values.quick;
const num = (text: string | undefined, fallback: number) => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${text}`);
  return n;
};
const plan = {
  quick,
  samples: Math.max(1, Math.round(num(values.samples, quick ? 3 : 7))),
  idleSeconds: num(values.idle, quick ? 10 : 30),
  copies: Math.max(1, Math.round(num(values.copies, quick ? 1 : 3))),
  metricsSeconds: num(values['metrics-seconds'], quick ? 2 : 10),
};

// ---------------------------------------------------------------- which node binaries

const nodes = [...new Set(values.node ?? [node24(), onPath('node')].filter((n): n is string => n !== undefined))];
if (nodes.length === 0) throw new Error('no node binary: pass --node PATH');
const versionOf = (node: string) => execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();

// ---------------------------------------------------------------- variants

function variantsFor(dir: string, tag: string, bundle: string | undefined): Record<string, Variant> {
  const cache = path.join(dir, `compile-cache-${tag}`);
  const bundled: Record<string, Variant> =
    bundle === undefined
      ? {}
      : {
          bundle: {
            name: 'bundle',
            nodeFlags: [],
            env: {},
            cli: bundle,
            about: 'esbuild bundle of dist/cli.js (experiment, bench/startup/bundle.ts)',
          },
          'bundle+cache': {
            name: 'bundle+cache',
            nodeFlags: [],
            env: { NODE_COMPILE_CACHE: `${cache}-bundle` },
            cli: bundle,
            about: 'esbuild bundle and NODE_COMPILE_CACHE',
          },
        };
  return {
    baseline: { name: 'baseline', nodeFlags: [], env: {}, about: 'node dist/cli.js serve' },
    'compile-cache': {
      name: 'compile-cache',
      nodeFlags: [],
      env: { NODE_COMPILE_CACHE: cache },
      about: 'NODE_COMPILE_CACHE (what module.enableCompileCache() does), cache filled by a discarded first start',
    },
    semi1: { name: 'semi1', nodeFlags: ['--max-semi-space-size=1'], env: {}, about: '--max-semi-space-size=1' },
    semi2: { name: 'semi2', nodeFlags: ['--max-semi-space-size=2'], env: {}, about: '--max-semi-space-size=2' },
    old64: { name: 'old64', nodeFlags: ['--max-old-space-size=64'], env: {}, about: '--max-old-space-size=64' },
    'cache+semi1': {
      name: 'cache+semi1',
      nodeFlags: ['--max-semi-space-size=1'],
      env: { NODE_COMPILE_CACHE: cache },
      about: 'NODE_COMPILE_CACHE and --max-semi-space-size=1',
    },
    ...bundled,
  };
}

// ---------------------------------------------------------------- one suite

interface Suite {
  readonly node: string;
  readonly nodeVersion: string;
  readonly variant: Variant;
  readonly loadAverage: { before: number[]; after: number[] };
  readonly startup: StartupFigures;
  readonly idle: Omit<IdleFigures, 'thousandProcess'>;
  readonly metrics: ScrapeFigures[];
}

interface Goal {
  readonly figure: string;
  readonly value: string;
  readonly target: string;
  readonly met: boolean;
}

const loadavg = () => execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).map(Number);

async function runSuite(
  node: string,
  nodeVersion: string,
  variant: Variant,
  fixtures: Fixtures,
  log: (l: string) => void,
): Promise<Suite> {
  const before = loadavg();
  log(`  ${String(plan.samples)} starts each (bare, vitals default-like) ...`);
  const startup = await measureStartup(node, variant, fixtures, plan.samples);
  log(
    `    bare ${startup.bareMedianMs.toFixed(0)} ms, vitals ${startup.vitalsMedianMs.toFixed(0)} ms (${startup.ratio.toFixed(2)}×)`,
  );
  const idle = await measureIdle(node, variant, fixtures, plan.idleSeconds, plan.copies, log);
  const { thousandProcess, ...idleFigures } = idle;
  const metrics: ScrapeFigures[] = [];
  try {
    for (const format of ['text', 'openmetrics'] as const) {
      log(`  /metrics ${format}, one scraper, ${String(plan.metricsSeconds)} s ...`);
      metrics.push(await scrapeBackToBack(thousandProcess.port, format, plan.metricsSeconds));
    }
  } finally {
    await thousandProcess.stop();
  }
  return { node, nodeVersion, variant, loadAverage: { before, after: loadavg() }, startup, idle: idleFigures, metrics };
}

function goals(suite: Suite): Goal[] {
  const { startup, idle, metrics } = suite;
  const f = (n: number, d = 1) => n.toFixed(d);
  const rssRatio = (vitals: number) => vitals / idle.bare.medianMB;
  const text = metrics.find((m) => m.format === 'text');
  const om = metrics.find((m) => m.format === 'openmetrics');
  const out: Goal[] = [
    {
      figure: 'start → first /health 200 (default-like)',
      value: `${f(startup.vitalsMedianMs, 0)} ms vs ${f(startup.bareMedianMs, 0)} ms = ${f(startup.ratio, 2)}×`,
      target: '≤ 1.5× bare',
      met: startup.ratio <= 1.5,
    },
    {
      figure: `idle RSS at ${String(idle.seconds)} s, default-like (1 mysql)`,
      value: `${f(idle.defaultLike.medianMB)} MB vs ${f(idle.bare.medianMB)} MB = ${f(rssRatio(idle.defaultLike.medianMB), 2)}×`,
      target: '≤ 1.4× bare',
      met: rssRatio(idle.defaultLike.medianMB) <= 1.4,
    },
    {
      figure: `idle RSS at ${String(idle.seconds)} s, 5 checks (tcp/http/mysql)`,
      value: `${f(idle.five.medianMB)} MB vs ${f(idle.bare.medianMB)} MB = ${f(rssRatio(idle.five.medianMB), 2)}×`,
      target: '≤ 1.4× bare',
      met: rssRatio(idle.five.medianMB) <= 1.4,
    },
    {
      figure: '1,000 tcp checks at 10 s: RSS',
      value: `${f(idle.thousand.rssMB)} MB (max ${f(idle.thousand.rssMaxMB)})`,
      target: '< 120 MB',
      met: idle.thousand.rssMB < 120,
    },
    {
      figure: `1,000 tcp checks: CPU over ${String(idle.seconds)} s`,
      value: `${f(idle.thousand.cpuPercent, 2)} % of a core (bare node connect loop ${f(idle.thousand.bareLoopCpuPercent, 2)} %)`,
      target: '< 3 %',
      met: idle.thousand.cpuPercent < 3,
    },
  ];
  for (const m of [text, om]) {
    if (m === undefined) continue;
    out.push({
      figure: `/metrics, 1,000 checks${m.format === 'openmetrics' ? ", Prometheus' Accept" : ''}`,
      value: `p50 ${f(m.p50Ms)} ms, p99 ${f(m.p99Ms)} ms (${String(m.series)} series, ${f(m.bytes / 1024, 0)} KB, ${String(m.scrapes)} scrapes)`,
      target: 'p99 < 25 ms',
      met: m.p99Ms < 25,
    });
  }
  return out;
}

function table(suite: Suite, rows: Goal[]): string {
  const head = ['figure', 'value', 'target', ''];
  const body = rows.map((r) => [r.figure, r.value, r.target, r.met ? 'met' : 'NOT MET']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    `${suite.nodeVersion} (${suite.node}), ${suite.variant.name}: ${suite.variant.about}`,
    `load average ${suite.loadAverage.before.join(' ')} → ${suite.loadAverage.after.join(' ')}`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ].join('\n');
}

function printProfile(report: ProfileReport): string {
  const lines = [`start-up profile, ${report.node}`];
  lines.push(`  --cpu-prof: ${String(report.cpu.busyMs)} ms busy; self time by package:`);
  for (const p of report.cpu.byPackage.slice(0, 14))
    lines.push(
      `    ${p.name.padEnd(28)} ${p.selfMs.toFixed(1).padStart(7)} ms  ${p.selfPercent.toFixed(1).padStart(5)} %`,
    );
  lines.push('  top self-time functions:');
  for (const h of report.cpu.summary?.hot.slice(0, 12) ?? [])
    lines.push(`    ${h.selfPercent.toFixed(1).padStart(5)} %  ${h.name} ${h.where}`);
  lines.push(
    `  modules before listening: ${String(report.modules.beforeListening)} (${String(report.modules.kBBeforeListening)} KB of source); by package:`,
  );
  for (const p of report.modules.byPackage.slice(0, 16))
    lines.push(`    ${p.name.padEnd(28)} ${String(p.modules).padStart(4)} modules ${String(p.kB).padStart(6)} KB`);
  if (report.modules.afterListening.length > 0) {
    lines.push(
      `  loaded after listening: ${report.modules.afterListening.map((p) => `${p.name} (${String(p.modules)})`).join(', ')}`,
    );
  }
  lines.push('  each import alone in a fresh node (in-process ms, RSS growth, heap kept after a full GC):');
  for (const i of report.imports) {
    lines.push(
      `    ${i.specifier.padEnd(30)} ${i.ms.toFixed(1).padStart(6)} ms  RSS +${i.rssMB.toFixed(1).padStart(5)} MB  heap +${i.heapMB.toFixed(1).padStart(5)} MB`,
    );
  }
  const d = report.driverOnStartPath;
  lines.push(
    `  start → /health, ${String(d.samples)} starts: one mysql check ${String(d.defaultLikeMs)} ms, one tcp check ${String(d.tcpOnlyMs)} ms, bare ${String(d.bareMs)} ms`,
  );
  for (const h of report.heap) {
    const u = h.memoryUsageMB;
    const spaces = Object.entries(h.spacesMB)
      .filter(([, s]) => s.size >= 0.5)
      .map(([name, s]) => `${name.replace('_space', '')} ${String(s.size)}/${String(s.used)}`)
      .join(', ');
    lines.push(
      `  heap after ${String(h.afterSeconds)} s, ${h.target}: rss ${String(u.rss)} MB, heapTotal ${String(u.heapTotal)}, heapUsed ${String(u.heapUsed)}, external ${String(u.external)} MB; spaces (size/used MB): ${spaces}`,
    );
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'dist/cli.js'))) throw new Error('dist/cli.js is missing: npm run build first');
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const fixtures = await createFixtures();
  const started = new Date();
  const suites: (Suite & { goals: Goal[] })[] = [];
  let profile: ProfileReport | undefined;
  let comparison: { label: string; ms: number[]; medianMs: number }[] | undefined;
  try {
    const requested = (values.variants ?? 'baseline')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    let bundle: string | undefined;
    if (requested.includes('all') || requested.some((v) => v.startsWith('bundle'))) {
      const built = await buildBundle();
      if (built.error !== undefined) log(`no bundle variants: ${built.error}`);
      bundle = built.entry;
    }
    if (values['compare-startup']) {
      const entries: StartupEntry[] = [];
      for (const [index, node] of nodes.entries()) {
        const version = versionOf(node);
        const all = variantsFor(fixtures.dir, version, bundle);
        entries.push({ label: `${version} bare node:http`, node });
        const names = index === 0 ? (requested.includes('all') ? Object.keys(all) : requested) : ['baseline'];
        for (const name of new Set(['baseline', ...names])) {
          const variant = all[name];
          if (variant === undefined) throw new Error(`unknown variant ${name}; known: ${Object.keys(all).join(', ')}`);
          entries.push({ label: `${version} vitals ${name}`, node, variant });
        }
      }
      log(
        `\nstart → first /health 200, ${String(entries.length)} entries interleaved, ${String(plan.samples)} rounds ...`,
      );
      comparison = await compareStartups(entries, fixtures, plan.samples, log);
      log('');
      for (const [i, c] of comparison.entries()) {
        const bare = comparison
          .slice(0, i + 1)
          .reverse()
          .find((e) => e.label.endsWith('bare node:http'));
        const ratio = bare === undefined ? '' : `${(c.medianMs / bare.medianMs).toFixed(2)}× bare`;
        log(
          `  ${c.label.padEnd(30)} ${c.medianMs.toFixed(0).padStart(5)} ms  ${ratio.padEnd(10)}  (${c.ms.map((m) => m.toFixed(0)).join(', ')})`,
        );
      }
    }
    for (const [index, node] of values['compare-startup'] ? [] : nodes.entries()) {
      const version = versionOf(node);
      const all = variantsFor(fixtures.dir, version, bundle);
      const names = index === 0 ? (requested.includes('all') ? Object.keys(all) : requested) : ['baseline'];
      for (const name of names) {
        const variant = all[name];
        if (variant === undefined) throw new Error(`unknown variant ${name}; known: ${Object.keys(all).join(', ')}`);
        log(`\n${version} ${name} ...`);
        const suite = await runSuite(node, version, variant, fixtures, log);
        const rows = goals(suite);
        suites.push({ ...suite, goals: rows });
        log(`\n${table(suite, rows)}`);
      }
    }
    if (values.profile) {
      const node = nodes[0] ?? process.execPath;
      log(`\nprofile on ${versionOf(node)} ...`);
      profile = await profileStartup(
        node,
        fixtures,
        { idleSeconds: plan.idleSeconds, importSamples: quick ? 1 : 5, startSamples: plan.samples },
        log,
      );
      log(`\n${printProfile(profile)}`);
    }
  } finally {
    await fixtures.close();
    rmSync(BUNDLE_DIR, { recursive: true, force: true });
  }

  log('\nsummary (medians):');
  for (const s of suites) {
    log(
      `  ${s.nodeVersion.padEnd(9)} ${s.variant.name.padEnd(13)} start ${s.startup.vitalsMedianMs.toFixed(0)}/${s.startup.bareMedianMs.toFixed(0)} ms ` +
        `(${s.startup.ratio.toFixed(2)}×)  RSS default ${s.idle.defaultLike.medianMB.toFixed(1)} five ${s.idle.five.medianMB.toFixed(1)} ` +
        `bare ${s.idle.bare.medianMB.toFixed(1)} 1k ${s.idle.thousand.rssMB.toFixed(1)} MB  1k CPU ${s.idle.thousand.cpuPercent.toFixed(2)} %  ` +
        `/metrics p99 ${s.metrics.map((m) => m.p99Ms.toFixed(1)).join('/')} ms  met ${String(s.goals.filter((g) => g.met).length)}/${String(s.goals.length)}`,
    );
  }

  const out =
    values.out ?? path.join(ROOT, 'bench/results', `startup-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        started: started.toISOString(),
        finished: new Date().toISOString(),
        vitals: vitalsVersion(),
        packages: packageVersions(),
        machine: machine(),
        plan,
        suites: suites.map((s) => ({ ...s, startup: { ...s.startup, ratio: round(s.startup.ratio, 3) } })),
        comparison,
        profile,
      },
      null,
      2,
    )}\n`,
  );
  log(`\nwrote ${path.relative(ROOT, out)}`);
  rmSync(fixtures.dir, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllNow();
    process.exit(130);
  });
}
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    killAllNow();
    process.exit(1);
  },
);
