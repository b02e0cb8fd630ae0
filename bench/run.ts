/**
 * `npm run bench`: vitals against its peers, side by side, on this machine (issue 8).
 *
 * Starts a throwaway MariaDB and every target in its own process group on 127.0.0.1 random
 * ports, loads each (target, route) pair with wrk (else autocannon) in interleaved rounds with a
 * rotated order and a discarded warm-up, reads each target's CPU from /proc and MariaDB's
 * statement counters around every run, then measures /metrics and idle cost with 1,000 checks
 * and the start-up time. Prints a table and the issue's targets, writes JSON. Stops everything it
 * started on success, on error and on Ctrl-C/SIGTERM.
 *
 *   npx tsx bench/run.ts [--quick] [--rounds N] [--duration S] [--connections C] [--warmup S]
 *                        [--out FILE] [--cpu-prof] [--tool wrk|autocannon]
 *                        [--targets NAME,...] [--baseline DIR]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { requireBinaries } from '../test/support/binaries.js';
import { startMariaDb, type MariaDb } from '../test/support/mariadb.js';
import { killAllNow, spawnTarget, type Spawned } from './lib/children.js';
import { dbCounter, READ_OVERHEAD, type DbCounter } from './lib/db.js';
import {
  CLI,
  measureManyChecks,
  measureStartup,
  targetFile,
  TSX_IMPORT,
  type ManyChecksResult,
  type StartupResult,
} from './lib/extras.js';
import { get, sleep, waitFor200 } from './lib/http.js';
import { detectTool, runLoad, type LoadTool, type ToolName } from './lib/load.js';
import { cpuMicros, sampleGroup, sampleProcess, CLK_TCK } from './lib/procfs.js';
import { summariseProfiles, type ProfileSummary } from './lib/profile.js';
import { deriveDbFigures, evaluateGoals, goalLines, koaRatiosByRound, summarise, table } from './lib/report.js';
import type { IdleWindow, RunRecord } from './lib/types.js';
import { machine, packageVersions, ROOT, vitalsVersion } from './lib/versions.js';
import { wholeNumberFlag } from './lib/flags.js';

/** `vitals serve` of the CLI at `cli` on a port of its choosing (announced in its "listening" line). */
function serveCommand(cli: string, configFile: string): string[] {
  return [cli, 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0'];
}

// ---------------------------------------------------------------- arguments

const USAGE = `usage: npx tsx bench/run.ts [--quick] [--rounds N] [--duration S] [--connections C] [--warmup S]
                            [--out FILE] [--cpu-prof] [--tool wrk|autocannon]
                            [--targets NAME,...] [--baseline DIR]
  --quick        1 round, 1 s runs, fewer pairs, no idle measurement (well under a minute)
  --rounds N     interleaved rounds (default 3)
  --duration S   seconds per measured run, whole seconds (default 5)
  --connections  concurrent connections per run (default 50)
  --warmup S     seconds of discarded warm-up per run (default 1)
  --out FILE     JSON report (default bench/results/<timestamp>.json)
  --cpu-prof     run the vitals targets with node --cpu-prof and summarise the profiles
  --tool         force wrk or autocannon (default: wrk when installed)
  --targets      load only these targets, comma-separated (e.g. bare-koa,vitals-embedded), and
                 skip the start-up and 1,000-check measurements
  --baseline DIR also run vitals-standalone-baseline (DIR/dist/cli.js) and vitals-embedded-baseline
                 (DIR/bench/targets/embedded.ts, so DIR/src), interleaved with this build: DIR is
                 a checkout of another commit with node_modules and a built dist/`;

interface Args {
  readonly quick: boolean;
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly out: string | undefined;
  readonly cpuProf: boolean;
  readonly tool: ToolName | undefined;
  /** Undefined: every target, and the extras. */
  readonly targets: readonly string[] | undefined;
  readonly baseline: string | undefined;
}

function positiveInt(text: string | undefined, flag: string, fallback: number): number {
  try {
    return wholeNumberFlag(text, flag, fallback);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
}

function parse(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      out: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      tool: { type: 'string' },
      targets: { type: 'string' },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  const tool = values.tool;
  if (tool !== undefined && tool !== 'wrk' && tool !== 'autocannon')
    throw new Error(`--tool: expected wrk or autocannon, got "${tool}"`);
  return {
    quick,
    rounds: positiveInt(values.rounds, '--rounds', quick ? 1 : 3),
    seconds: positiveInt(values.duration, '--duration', quick ? 1 : 5),
    warmupSeconds: positiveInt(values.warmup, '--warmup', 1),
    connections: positiveInt(values.connections, '--connections', 50),
    out: values.out,
    cpuProf: values['cpu-prof'],
    tool,
    targets: values.targets?.split(',').map((name) => name.trim()),
    baseline: values.baseline === undefined ? undefined : path.resolve(values.baseline),
  };
}

// ---------------------------------------------------------------- targets

interface RouteDef {
  readonly path: string;
  /** Also run in --quick. */
  readonly quick: boolean;
}

interface TargetDef {
  readonly name: string;
  readonly description: string;
  readonly routes: readonly RouteDef[];
  /** Paths that must answer 200 before any load (and the routes themselves). */
  readonly waitFor: readonly string[];
  /** The target has vitals mysql checks whose runs count in its /metrics. */
  readonly vitals: boolean;
  command(context: Context): string[];
  env?(context: Context): NodeJS.ProcessEnv;
}

interface Context {
  readonly db: MariaDb;
  readonly configFile: string;
  readonly profDir: string | undefined;
}

const profFlags = (context: Context, name: string): string[] =>
  context.profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.join(context.profDir, name)];

const TARGETS: readonly TargetDef[] = [
  {
    name: 'raw-http',
    description: 'raw node:http answering a constant JSON body',
    routes: [{ path: '/health', quick: true }],
    waitFor: [],
    vitals: false,
    command: () => [process.execPath, ...TSX_IMPORT, targetFile('raw-http')],
  },
  {
    name: 'bare-koa',
    description: 'bare Koa + @koa/router, constant JSON /health',
    routes: [{ path: '/health', quick: true }],
    waitFor: [],
    vitals: false,
    command: () => [process.execPath, ...TSX_IMPORT, targetFile('bare-koa')],
  },
  {
    name: 'terminus',
    description: '@godaddy/terminus on a Koa app: /health constant, /ready = SELECT 1 on a mysql2 pool per request',
    routes: [
      { path: '/health', quick: true },
      { path: '/ready', quick: true },
    ],
    waitFor: [],
    vitals: false,
    command: () => [process.execPath, ...TSX_IMPORT, targetFile('terminus')],
    env: (c) => ({ MYSQL_URL: c.db.url() }),
  },
  {
    name: 'lightship',
    description: 'lightship 9.0.3 (Fastify on its own port, state-based readiness), bound to 127.0.0.1',
    routes: [{ path: '/ready', quick: true }],
    waitFor: [],
    vitals: false,
    command: () => [process.execPath, ...TSX_IMPORT, targetFile('lightship')],
    env: (c) => ({ MYSQL_URL: c.db.url() }),
  },
  {
    name: 'vitals-standalone',
    description:
      'vitals CLI (node dist/cli.js serve), 5 mysql checks at 10 s; /ready as an authorized caller (loopback: details on)',
    routes: [
      { path: '/health', quick: true },
      { path: '/ready', quick: true },
      { path: '/ready/db1', quick: false },
      { path: '/startup', quick: false },
    ],
    waitFor: ['/startup'],
    vitals: true,
    // Info level: the CLI announces its port in its "listening" log line.
    env: () => ({ LOG_LEVEL: 'info' }),
    command: (c) => [process.execPath, ...profFlags(c, 'vitals-standalone'), ...serveCommand(CLI, c.configFile)],
  },
  {
    name: 'vitals-embedded',
    description: "vitals.router().routes() mounted in a user's Koa app, the same 5 mysql checks",
    routes: [
      { path: '/health', quick: true },
      { path: '/ready', quick: false },
    ],
    waitFor: ['/startup'],
    vitals: true,
    command: (c) => [
      process.execPath,
      ...TSX_IMPORT,
      ...profFlags(c, 'vitals-embedded'),
      targetFile('embedded'),
      '--config',
      c.configFile,
    ],
  },
];

/**
 * The vitals targets again, run from another checkout (`--baseline DIR`): the embedded one imports
 * DIR/src through DIR's copy of the target, the standalone one runs DIR/dist/cli.js.
 */
function baselineTargets(dir: string): TargetDef[] {
  const twin = (name: string, command: TargetDef['command']): TargetDef => {
    const original = TARGETS.find((t) => t.name === name);
    if (original === undefined) throw new Error(`no target ${name}`);
    return { ...original, name: `${name}-baseline`, description: `${original.description}; from ${dir}`, command };
  };
  return [
    twin('vitals-standalone', (c) => [process.execPath, ...serveCommand(path.join(dir, 'dist/cli.js'), c.configFile)]),
    twin('vitals-embedded', (c) => [
      process.execPath,
      ...TSX_IMPORT,
      path.join(dir, 'bench/targets/embedded.ts'),
      '--config',
      c.configFile,
    ]),
  ];
}

/** The targets to start: all of them, or those --targets names (in the table's order). */
function selectTargets(args: Args): TargetDef[] {
  const all = [...TARGETS, ...(args.baseline === undefined ? [] : baselineTargets(args.baseline))];
  if (args.targets === undefined) return all;
  const unknown = args.targets.filter((name) => !all.some((t) => t.name === name));
  if (unknown.length > 0)
    throw new Error(
      `--targets: unknown ${unknown.join(', ')}; known: ${all.map((t) => t.name).join(', ')}${args.baseline === undefined ? ' (the -baseline twins need --baseline DIR)' : ''}`,
    );
  return all.filter((t) => args.targets?.includes(t.name));
}

/** After a run, before the counters are read again: in-flight requests and check runs finish. */
const SETTLE_MS = 250;

/** The targets that run one `SELECT 1` at startup. */
const QUERY_AT_STARTUP = new Set(['terminus', 'lightship']);

// ---------------------------------------------------------------- build

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** `npm run build` when dist/cli.js is missing or older than any file under src/. */
function ensureBuilt(log: (line: string) => void): void {
  let built = 0;
  try {
    built = statSync(CLI).mtimeMs;
  } catch {
    built = 0;
  }
  const source = Math.max(
    newestMtime(path.join(ROOT, 'src')),
    statSync(path.join(ROOT, 'tsconfig.build.json')).mtimeMs,
    statSync(path.join(ROOT, 'package.json')).mtimeMs,
  );
  if (built >= source) return;
  log(built === 0 ? 'dist/ is missing: npm run build' : 'dist/ is older than src/: npm run build');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0)
    throw new Error(`npm run build failed (${result.signal ?? `exit ${String(result.status)}`})`);
}

// ---------------------------------------------------------------- main

interface Running {
  readonly def: TargetDef;
  readonly proc: Spawned;
  readonly base: string;
  readonly detailsShown?: boolean;
}

const resources: {
  db?: MariaDb;
  counter?: DbCounter;
  targets: Running[];
  tmpDir?: string;
  cpuProf: boolean;
} = { targets: [], cpuProf: false };

let cleaning: Promise<void> | undefined;
let interrupted = false;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const grace = resources.cpuProf && !interrupted ? 10_000 : 3000;
    await Promise.all(resources.targets.map((t) => t.proc.stop(grace).catch(() => undefined)));
    await resources.counter?.close().catch(() => undefined);
    // A throwaway: SIGKILL is enough, and close() then only removes its directory.
    await resources.db?.kill().catch(() => undefined);
    await resources.db?.close().catch(() => undefined);
    if (resources.tmpDir !== undefined)
      await rm(resources.tmpDir, { recursive: true, force: true }).catch(() => undefined);
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupted) {
      killAllNow();
      process.exit(1);
    }
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping every target and the database ...\n`);
    killAllNow();
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

function checkInterrupted(): void {
  if (interrupted) throw new Error('interrupted');
}

const t0 = performance.now();
const log = (line: string) =>
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);

/** Σ vitals_check_runs_total{kind="mysql"} over every vitals target. */
async function checkRuns(targets: readonly Omit<Running, 'detailsShown'>[]): Promise<number> {
  let total = 0;
  for (const t of targets) {
    if (!t.def.vitals) continue;
    const text = (await get(`${t.base}/metrics`, { timeoutMs: 10_000 })).body;
    for (const line of text.split('\n')) {
      if (!line.startsWith('vitals_check_runs_total{') || !line.includes('kind="mysql"')) continue;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  resources.cpuProf = args.cpuProf;
  const startedAt = new Date();
  const loadAverageAtStart = os.loadavg()[0] ?? 0;
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const outFile = path.resolve(args.out ?? path.join(ROOT, 'bench/results', `${stamp}.json`));
  const profDir = args.cpuProf ? path.join(ROOT, 'bench/results', `profiles-${stamp}`) : undefined;
  if (profDir !== undefined) mkdirSync(profDir, { recursive: true });

  const missing = requireBinaries(['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-admin']).missing;
  if (missing.length > 0)
    throw new Error(`missing binaries: ${missing.join(', ')} (apt-get install mariadb-server mariadb-client)`);
  ensureBuilt(log);
  const tool: LoadTool = detectTool(args.tool);
  log(
    `load: ${tool.name} ${tool.version}, ${String(args.connections)} connections, ${String(args.seconds)} s runs, ${String(args.warmupSeconds)} s warm-up, ${String(args.rounds)} round(s)${args.quick ? ' (--quick)' : ''}`,
  );

  log('starting MariaDB ...');
  const db = await startMariaDb();
  resources.db = db;
  checkInterrupted();
  const counter = await dbCounter(db.url());
  resources.counter = counter;
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'vitals-bench-'));
  resources.tmpDir = tmpDir;
  const configFile = path.join(tmpDir, 'vitals.yml');
  const configDocument = {
    server: { shutdownDelay: '0s', shutdownTimeout: '1s' },
    defaults: { interval: '10s', timeout: '2s' },
    checks: [1, 2, 3, 4, 5].map((i) => ({ name: `db${String(i)}`, kind: 'mysql', url: db.url() })),
  };
  await writeFile(configFile, JSON.stringify(configDocument, null, 2)); // JSON is YAML
  const context: Context = { db, configFile, profDir };

  log('starting targets ...');
  // Calibration of what one vitals mysql check run costs in the counters (SELECT 1 + COM_QUIT):
  // the counters from before any target starts to after every vitals check has a first result.
  const calibrationQ0 = await counter.read();
  const selected = selectTargets(args);
  const procs = await Promise.allSettled(
    selected.map((def) =>
      spawnTarget(def.name, def.command(context), {
        cwd: ROOT,
        env: { ...process.env, LOG_LEVEL: 'warn', ...def.env?.(context) },
        timeoutMs: 60_000,
      }),
    ),
  );
  // Registered before any failure is thrown, so that cleanup stops those that did start.
  for (const [i, settled] of procs.entries()) {
    const def = selected[i];
    if (settled.status === 'fulfilled' && def !== undefined) {
      resources.targets.push({ def, proc: settled.value, base: `http://127.0.0.1:${String(settled.value.port)}` });
    }
  }
  const failed = procs.filter((p): p is PromiseRejectedResult => p.status === 'rejected');
  if (failed.length > 0) throw new Error(failed.map((f) => (f.reason as Error).message).join('\n'));
  checkInterrupted();

  for (const t of resources.targets) {
    for (const p of t.def.waitFor) await waitFor200(`${t.base}${p}`, 30_000);
  }
  await sleep(300); // the first runs' COM_QUIT
  const calibrationQ1 = await counter.read();
  const calibrationRuns = await checkRuns(resources.targets);
  const calibrationDelta =
    calibrationQ1 - calibrationQ0 - READ_OVERHEAD - selected.filter((t) => QUERY_AT_STARTUP.has(t.name)).length;
  const queriesPerCheckRun = calibrationRuns > 0 ? calibrationDelta / calibrationRuns : 1;
  log(
    `  one vitals mysql check run = ${queriesPerCheckRun.toFixed(2)} in Questions + Com_admin_commands (${String(calibrationDelta)} over ${String(calibrationRuns)} runs)`,
  );

  // Every route answers 200 before any load; vitals' /ready must show details (authorized caller).
  const running: Running[] = [];
  for (const t of resources.targets) {
    let detailsShown: boolean | undefined;
    for (const route of t.def.routes) {
      const reply = await waitFor200(`${t.base}${route.path}`, 30_000);
      if (t.def.vitals && route.path === '/ready') {
        detailsShown = typeof (JSON.parse(reply.body) as { checks?: unknown }).checks === 'object';
        if (!detailsShown)
          throw new Error(`${t.def.name} /ready shows no details to a loopback caller: ${reply.body.slice(0, 300)}`);
      }
    }
    running.push({ ...t, ...(detailsShown === undefined ? {} : { detailsShown }) });
    log(
      `  ${t.def.name.padEnd(18)} pid ${String(t.proc.pid)}  port ${String(t.proc.port)}  (up in ${t.proc.announceMs.toFixed(0)} ms)`,
    );
  }

  const pairs = running.flatMap((t) =>
    t.def.routes.filter((r) => !args.quick || r.quick).map((r) => ({ target: t.def.name, route: r.path, running: t })),
  );
  const runs: RunRecord[] = [];
  const idle: IdleWindow[] = [];

  for (let round = 0; round < args.rounds; round++) {
    checkInterrupted();
    // The checks' own background: an idle window as long as a measured run.
    const idleRuns0 = await checkRuns(running);
    const idleQ0 = await counter.read();
    const idleT0 = performance.now();
    await sleep(args.seconds * 1000);
    const idleQ1 = await counter.read();
    const idleT1 = performance.now();
    const idleRuns1 = await checkRuns(running);
    idle.push({
      round,
      seconds: (idleT1 - idleT0) / 1000,
      delta: idleQ1 - idleQ0 - READ_OVERHEAD,
      checkRuns: idleRuns1 - idleRuns0,
    });

    const shift = Math.floor((pairs.length * round) / args.rounds);
    const order = [...pairs.slice(shift), ...pairs.slice(0, shift)];
    log(`round ${String(round + 1)}/${String(args.rounds)}`);
    for (const [seq, pair] of order.entries()) {
      checkInterrupted();
      const url = `${pair.running.base}${pair.route}`;
      const warm = await runLoad(tool, { url, connections: args.connections, seconds: args.warmupSeconds });
      const runs0 = await checkRuns(running);
      const q0 = await counter.read();
      const tq0 = performance.now();
      const dbPid = db.pid ?? 0;
      const cpu0 = sampleGroup(pair.running.proc.pid);
      const dbCpu0 = sampleProcess(dbPid);
      const result = await runLoad(tool, { url, connections: args.connections, seconds: args.seconds });
      const cpu1 = sampleGroup(pair.running.proc.pid);
      const dbCpu1 = sampleProcess(dbPid);
      await sleep(SETTLE_MS);
      const q1 = await counter.read();
      const tq1 = performance.now();
      const runs1 = await checkRuns(running);
      const cpu = cpuMicros(cpu0, cpu1);
      const record: RunRecord = {
        round,
        seq,
        target: pair.target,
        route: pair.route,
        url,
        warmup: { seconds: args.warmupSeconds, requests: warm.requests, rps: warm.rps },
        requests: result.requests,
        seconds: result.seconds,
        rps: result.rps,
        latencyMs: result.latencyMs,
        non2xx: result.non2xx,
        errors: result.errors,
        cpuMicros: cpu,
        ...(result.requests > 0
          ? { cpuUsPerReq: cpu / result.requests, dbCpuUsPerReq: cpuMicros(dbCpu0, dbCpu1) / result.requests }
          : {}),
        db: { seconds: (tq1 - tq0) / 1000, delta: q1 - q0 - READ_OVERHEAD, checkRuns: runs1 - runs0 },
      };
      runs.push(record);
      log(
        `  ${pair.target.padEnd(18)} ${pair.route.padEnd(11)} ${result.rps.toFixed(0).padStart(7)} req/s  ` +
          `${(record.cpuUsPerReq ?? 0).toFixed(1).padStart(6)} µs/req  p99 ${result.latencyMs.p99.toFixed(2).padStart(7)} ms` +
          `${result.non2xx > 0 ? `  non-2xx ${String(result.non2xx)}` : ''}${result.errors.connect > 0 ? `  connect errors ${String(result.errors.connect)}` : ''}`,
      );
    }
  }
  const background = {
    ...deriveDbFigures(runs, idle, queriesPerCheckRun),
    calibration: { delta: calibrationDelta, checkRuns: calibrationRuns },
  };

  // Extras.
  checkInterrupted();
  let startup: StartupResult | undefined;
  let many: ManyChecksResult | undefined;
  const extrasErrors: Record<string, string> = {};
  if (args.targets === undefined) {
    const startupSamples = args.quick ? 1 : 5;
    log(`start → first /health 200 (${String(startupSamples)} sample(s)) ...`);
    try {
      startup = await measureStartup(configFile, startupSamples);
    } catch (error) {
      extrasErrors.startup = (error as Error).message;
      log(`  failed: ${(error as Error).message}`);
    }
    checkInterrupted();
    log('1,000 checks: /metrics latency and idle cost ...');
    try {
      many = await measureManyChecks(
        {
          checks: 1000,
          tool,
          warmupSeconds: args.quick ? 0 : args.warmupSeconds,
          seconds: args.seconds,
          rounds: args.quick ? 1 : Math.min(args.rounds, 2),
          idleSeconds: args.quick ? 0 : 30,
          tmpDir,
          ...(profDir === undefined ? {} : { cpuProfDir: profDir }),
        },
        log,
      );
    } catch (error) {
      extrasErrors.manyChecks = (error as Error).message;
      log(`  failed: ${(error as Error).message}`);
    }
  }
  checkInterrupted();

  const mariadbVersion = await counter.version();
  // Stop the targets now: --cpu-prof profiles are written as they exit.
  await cleanup();
  const profiles: Record<string, ProfileSummary> | undefined =
    profDir === undefined ? undefined : summariseProfiles(profDir, ROOT);

  const summaryPairs = pairs.map(({ target, route }) => ({ target, route }));
  const summary = summarise(runs, summaryPairs);
  const goals = evaluateGoals({
    summary,
    quick: args.quick,
    ...(startup === undefined ? {} : { startup }),
    ...(many === undefined ? {} : { many }),
  });
  const finishedAt = new Date();
  const notRun = args.targets === undefined ? 'not run' : 'not run with --targets';

  const report = {
    schema: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    arguments: { argv: process.argv.slice(2), ...args, out: outFile },
    versions: {
      node: process.version,
      vitals: vitalsVersion(),
      mariadb: mariadbVersion,
      loadTool: `${tool.name} ${tool.version}`,
      packages: packageVersions(),
    },
    machine: { ...machine(), loadAverage1mAtStart: loadAverageAtStart, clkTck: CLK_TCK },
    method: {
      load: `${tool.name}${tool.name === 'wrk' ? ' -t1' : ''} -c${String(args.connections)} -d${String(args.seconds)}s${tool.name === 'wrk' ? ' --latency' : ''}; ${String(args.warmupSeconds)} s discarded warm-up before every run`,
      order:
        'every round runs every (target, route) pair once, the order rotated by round; every target runs the whole time',
      cpu: "/proc/PID/stat utime+stime+cutime+cstime summed over the target's process group, before and after the measured run, divided by its requests",
      ratios:
        'taken within one round (vs raw-http /health and bare-koa /health of the same round), then the median over rounds',
      dependencies:
        "Δ(Questions + Com_admin_commands) from SHOW GLOBAL STATUS around each run, minus the read itself. dbQueriesPerReq subtracts the idle-window background rate × run time (the issue's method); dbQueriesPerReqCounted subtracts the vitals checks' own runs counted from their vitals_check_runs_total × the cost of one run (calibrated from the counters before the targets start to after every check has a first result), which removes the noise of a burst of 5 checks landing in a run or not",
      background,
    },
    targets: running.map((t) => ({
      name: t.def.name,
      description: t.def.description,
      pid: t.proc.pid,
      port: t.proc.port,
      command: t.proc.command.map((part) => part.replace(ROOT, '')),
      startMs: t.proc.announceMs,
      routes: t.def.routes.filter((r) => !args.quick || r.quick).map((r) => r.path),
      ...(t.detailsShown === undefined ? {} : { readyDetailsShown: t.detailsShown }),
    })),
    idleWindows: idle,
    runs,
    summary,
    extras: {
      startup: startup ?? { skipped: extrasErrors.startup ?? notRun },
      manyChecks: many ?? { skipped: extrasErrors.manyChecks ?? notRun },
      ...(profiles === undefined || profDir === undefined ? {} : { cpuProfiles: { dir: profDir, byTarget: profiles } }),
    },
    goals,
  };
  mkdirSync(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(report, null, 2)}\n`);

  // Output.
  const out: string[] = [];
  out.push('');
  out.push(
    `vitals benchmark — ${tool.name} ${tool.version}, -c${String(args.connections)}, ${String(args.seconds)} s runs, ${String(args.rounds)} round(s), medians; node ${process.version}, ${String(os.cpus().length)} CPUs`,
  );
  out.push('');
  out.push(table(summary));
  out.push('');
  const byRound = koaRatiosByRound(runs, summaryPairs);
  if (byRound.length > 0) {
    out.push('  ×Koa by round:');
    out.push(...byRound);
    out.push('');
  }
  out.push(
    "  ×raw, ×Koa: req/s over raw node:http /health and bare Koa /health of the same round. CPU: the target's process group, user+sys.",
  );
  out.push(
    "  dep q/req: MariaDB Questions+Com_admin_commands per request, background subtracted (idle-rate estimate | checks' runs counted).",
  );
  if (startup !== undefined) {
    out.push(
      `  start → first /health 200: ${startup.medianHealthMs.toFixed(0)} ms median (${startup.healthMs.map((v) => v.toFixed(0)).join(', ')}); first /ready 200: ${startup.medianReadyMs.toFixed(0)} ms`,
    );
  }
  if (many !== undefined) {
    const m = many.metrics;
    out.push(`  1,000 checks via ${many.via}`);
    out.push(
      `  /metrics (${String(many.series)} series, ${(many.metricsBytes / 1024).toFixed(0)} KB), one scraper: vitals p99 ${m.vitalsP99Ms.toFixed(2)} ms (${m.vitalsRps.toFixed(0)}/s), with Prometheus' Accept ${m.vitalsOpenMetricsP99Ms.toFixed(2)} ms; prom-client (${String(many.baselineSeries)} series) p99 ${m.promClientP99Ms.toFixed(2)} ms (${m.promClientRps.toFixed(0)}/s)`,
    );
    if (many.idle !== undefined) {
      out.push(
        `  idle: ${many.idle.cpuPercent.toFixed(2)} % of one core, RSS ${many.idle.rssMaxMB.toFixed(1)} MB max over ${many.idle.seconds.toFixed(0)} s; the sink saw ${many.idle.sinkConnectionsPerSecond.toFixed(0)} connections/s`,
      );
    }
  }
  for (const [what, message] of Object.entries(extrasErrors)) out.push(`  ${what} FAILED: ${message}`);
  out.push('');
  out.push('Targets (issue 8):');
  // With --targets most goals have nothing measured: show only those that have.
  out.push(goalLines(args.targets === undefined ? goals : goals.filter((g) => g.status !== 'skipped')));
  if (profiles !== undefined) {
    out.push('');
    out.push(`CPU profiles (figures above were taken under the profiler) in ${profDir ?? ''}:`);
    for (const [target, p] of Object.entries(profiles)) {
      out.push(
        `  ${target} (${p.file}): busy ${p.busyPercent.toFixed(1)} % of ${String(p.samples)} samples; self time, share of busy:`,
      );
      for (const f of p.hot) out.push(`    ${f.selfPercent.toFixed(1).padStart(5)} %  ${f.name}  ${f.where}`);
    }
  }
  out.push('');
  out.push(`JSON: ${outFile}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  // A signal handler sets it while main() runs: TypeScript cannot see that.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  if (interrupted) process.stderr.write('bench: interrupted\n');
  else process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by a signal handler
  code = interrupted ? 130 : 1;
} finally {
  await cleanup();
}
process.exit(code);
