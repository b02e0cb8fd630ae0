/**
 * Where vitals' start-up and idle memory go (`--profile`): a --cpu-prof of `serve` until the
 * first /health 200, the modules it loads by package (a module.registerHooks preload), what each
 * heavy import costs alone, and V8's heap spaces after the idle window (a preload that reads
 * them from inside the process). The preloads are Node 22.15+/24 APIs: run on Node 24.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { spawnRaw, spawnTarget } from '../lib/children.js';
import { get, sleep } from '../lib/http.js';
import { summariseProfiles, type ProfileSummary } from '../lib/profile.js';
import { median, round } from '../lib/stats.js';
import { ROOT } from '../lib/versions.js';
import { freePort, serveArgs, type Fixtures } from './fixtures.js';
import { bareCommand, CLI, measureStartup } from './measure.js';

// ---------------------------------------------------------------- packages

/** "zod", "@koa/router", "dist/http", "node:internal", "(program)"… for a module URL. */
export function packageOf(url: string): string {
  if (url === '') return '(V8/native)';
  if (url.startsWith('node:')) return url.startsWith('node:internal') ? 'node:internal' : 'node:builtins';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? file);
  }
  if (file.startsWith(ROOT)) {
    const parts = path.relative(ROOT, file).split('/');
    return parts.length > 2 ? `${parts[0] ?? ''}/${parts[1] ?? ''}` : parts.join('/');
  }
  return file;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; hitCount?: number }[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface PackageTime {
  readonly name: string;
  readonly selfMs: number;
  readonly selfPercent: number;
}

/** Self time of a profile's busy samples grouped by the package of the sampled function. */
export function selfTimeByPackage(file: string): { busyMs: number; packages: PackageTime[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let busy = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i] ?? -1);
    // A sample's delta is the time since the previous one: charge it to the next sample.
    const dt = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    if (node === undefined) continue;
    const fn = node.callFrame.functionName;
    if (fn === '(idle)') continue;
    const key =
      fn === '(garbage collector)'
        ? '(garbage collector)'
        : fn === '(program)'
          ? '(program)'
          : packageOf(node.callFrame.url);
    ms.set(key, (ms.get(key) ?? 0) + dt);
    busy += dt;
  }
  return {
    busyMs: round(busy, 1),
    packages: [...ms]
      .sort((a, b) => b[1] - a[1])
      .map(([name, t]) => ({ name, selfMs: round(t, 1), selfPercent: round((t / busy) * 100, 1) })),
  };
}

// ---------------------------------------------------------------- preloads

const MODULES_PRELOAD = `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
const loaded = [];
let listeningAt;
registerHooks({
  load(url, context, nextLoad) {
    const result = nextLoad(url, context);
    const source = result.source;
    loaded.push({ url, at: performance.now(), bytes: source == null ? 0 : typeof source === 'string' ? Buffer.byteLength(source) : source.byteLength });
    return result;
  },
});
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  this.once('listening', () => { listeningAt ??= performance.now(); });
  return listen.apply(this, args);
};
process.on('exit', () => {
  writeFileSync(process.env.STARTUP_MODULES_OUT, JSON.stringify({ listeningAt, loaded }));
});
`;

const HEAP_PRELOAD = `import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';
setTimeout(() => {
  const mb = (n) => Math.round((n / 1048576) * 10) / 10;
  const usage = process.memoryUsage();
  writeFileSync(process.env.STARTUP_HEAP_OUT, JSON.stringify({
    memoryUsageMB: Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, mb(v)])),
    spacesMB: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: mb(s.space_size), used: mb(s.space_used_size) }])),
    codeMB: Object.fromEntries(Object.entries(v8.getHeapCodeStatistics()).map(([k, v]) => [k, mb(v)])),
  }));
}, Number(process.env.STARTUP_HEAP_AFTER_MS)).unref();
`;

// ---------------------------------------------------------------- the profile

export interface ModulePackage {
  readonly name: string;
  readonly modules: number;
  readonly kB: number;
}

export interface ImportCost {
  readonly specifier: string;
  /** In-process ms of `await import(specifier)` alone in a fresh node, median. */
  readonly ms: number;
  /** RSS after that import minus RSS of the same script importing nothing, MB, median. */
  readonly rssMB: number;
  /** V8 heap still used after a full GC, minus the same for nothing imported, MB, median. */
  readonly heapMB: number;
}

export interface HeapReport {
  readonly target: string;
  readonly afterSeconds: number;
  readonly memoryUsageMB: Record<string, number>;
  readonly spacesMB: Record<string, { size: number; used: number }>;
  readonly codeMB: Record<string, number>;
}

export interface ProfileReport {
  readonly node: string;
  readonly cpu: { summary: ProfileSummary | undefined; busyMs: number; byPackage: PackageTime[] };
  readonly modules: {
    beforeListening: number;
    total: number;
    kBBeforeListening: number;
    byPackage: ModulePackage[];
    afterListening: ModulePackage[];
  };
  readonly imports: ImportCost[];
  readonly heap: HeapReport[];
  /** Start → first /health with the default-like config against one tcp check (no mysql2 import). */
  readonly driverOnStartPath: { samples: number; bareMs: number; defaultLikeMs: number; tcpOnlyMs: number };
}

async function untilHealth(port: number, child: { exitCode: number | null }, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if ((await get(`http://127.0.0.1:${String(port)}/health`, { timeoutMs: 2000 })).status === 200) return;
    } catch {
      // not yet
    }
    if (child.exitCode !== null) throw new Error('exited before /health answered');
    if (performance.now() > deadline) throw new Error('no /health 200');
    await sleep(2);
  }
}

function groupModules(entries: readonly { url: string; bytes: number }[]): ModulePackage[] {
  const by = new Map<string, { modules: number; bytes: number }>();
  for (const { url, bytes } of entries) {
    const key = packageOf(url);
    const entry = by.get(key) ?? { modules: 0, bytes: 0 };
    entry.modules += 1;
    entry.bytes += bytes;
    by.set(key, entry);
  }
  return [...by]
    .map(([name, e]) => ({ name, modules: e.modules, kB: round(e.bytes / 1024, 0) }))
    .sort((a, b) => b.kB - a.kB || b.modules - a.modules);
}

/** Import probes resolve from dist/ exactly as dist's own modules do. */
const IMPORT_SPECIFIERS = [
  'zod',
  'yaml',
  'koa',
  '@koa/router',
  'prom-client',
  'pino',
  're2js',
  'bcryptjs',
  'mysql2',
  './config/load.js',
  './checks/index.js',
  './http/app.js',
  './http/web-config.js',
  './http/basic-auth.js',
  './http/server.js',
  './metrics/vitals-metrics.js',
  './vitals.js',
];

function importCost(
  node: string,
  probe: string,
  specifier: string | undefined,
): { ms: number; rss: number; heap: number } {
  const out = execFileSync(node, ['--expose-gc', probe, specifier ?? ''], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { ms: number; rss: number; heap: number };
}

export async function profileStartup(
  node: string,
  fixtures: Fixtures,
  options: { idleSeconds: number; importSamples: number; startSamples: number },
  log: (line: string) => void,
): Promise<ProfileReport> {
  const dir = path.join(fixtures.dir, 'profile');
  mkdirSync(path.join(dir, 'cpu', 'vitals-serve'), { recursive: true });
  const env = { ...process.env, LOG_LEVEL: 'warn' };

  // 1. --cpu-prof until the first /health 200, then SIGTERM (vitals exits 0: the profile is written).
  log('  --cpu-prof of serve until the first /health 200 ...');
  {
    const port = await freePort();
    const proc = spawnRaw(
      [
        node,
        '--cpu-prof',
        '--cpu-prof-interval',
        '200',
        '--cpu-prof-dir',
        path.join(dir, 'cpu', 'vitals-serve'),
        CLI,
        ...serveArgs(fixtures.defaultConfig, port),
      ],
      { cwd: ROOT, env },
    );
    try {
      await untilHealth(port, proc.child);
    } finally {
      await proc.stop(10_000);
    }
  }
  const summaries = summariseProfiles(path.join(dir, 'cpu'), ROOT);
  const profileFile = readdirSync(path.join(dir, 'cpu', 'vitals-serve')).find((f) => f.endsWith('.cpuprofile'));
  const byPackage =
    profileFile === undefined
      ? { busyMs: 0, packages: [] }
      : selfTimeByPackage(path.join(dir, 'cpu', 'vitals-serve', profileFile));

  // 2. Modules loaded, by package, before and after the listener is up.
  log('  modules loaded until the first /health 200 ...');
  const modulesPreload = path.join(dir, 'modules-preload.mjs');
  writeFileSync(modulesPreload, MODULES_PRELOAD);
  const modulesOut = path.join(dir, 'modules.json');
  {
    const port = await freePort();
    const proc = spawnRaw([node, '--import', modulesPreload, CLI, ...serveArgs(fixtures.defaultConfig, port)], {
      cwd: ROOT,
      env: { ...env, STARTUP_MODULES_OUT: modulesOut },
    });
    try {
      await untilHealth(port, proc.child);
      await sleep(1000); // the first check run's lazy imports (mysql2)
    } finally {
      await proc.stop(10_000);
    }
  }
  const recorded = JSON.parse(readFileSync(modulesOut, 'utf8')) as {
    listeningAt?: number;
    loaded: { url: string; at: number; bytes: number }[];
  };
  const listeningAt = recorded.listeningAt ?? Number.POSITIVE_INFINITY;
  const before = recorded.loaded.filter(
    (m) => m.at <= listeningAt && !m.url.startsWith('node:') && m.url !== `file://${modulesPreload}`,
  );
  const after = recorded.loaded.filter((m) => m.at > listeningAt && !m.url.startsWith('node:'));

  // 3. Each heavy import alone in a fresh process (in-process time and RSS growth).
  log(`  import costs (${String(IMPORT_SPECIFIERS.length)} modules × ${String(options.importSamples)}) ...`);
  const probe = path.join(ROOT, 'dist', '.startup-import-probe.mjs');
  writeFileSync(
    probe,
    `const spec = process.argv[2];
const t = performance.now();
if (spec) await import(spec);
const ms = performance.now() - t;
const rss = process.memoryUsage().rss;
globalThis.gc();
console.log(JSON.stringify({ ms, rss, heap: process.memoryUsage().heapUsed }));
`,
  );
  const imports: ImportCost[] = [];
  try {
    const empty = Array.from({ length: options.importSamples }, () => importCost(node, probe, undefined));
    const emptyRss = median(empty.map((r) => r.rss)) ?? 0;
    const emptyHeap = median(empty.map((r) => r.heap)) ?? 0;
    for (const specifier of IMPORT_SPECIFIERS) {
      const runs = Array.from({ length: options.importSamples }, () => importCost(node, probe, specifier));
      imports.push({
        specifier,
        ms: round(median(runs.map((r) => r.ms)) ?? 0, 1),
        rssMB: round(((median(runs.map((r) => r.rss)) ?? 0) - emptyRss) / 1024 / 1024, 1),
        heapMB: round(((median(runs.map((r) => r.heap)) ?? 0) - emptyHeap) / 1024 / 1024, 1),
      });
    }
  } finally {
    rmSync(probe, { force: true });
  }

  // 4. The first run's driver import: it happens before the listener is up.
  log(`  start-up with one tcp check instead of one mysql check (${String(options.startSamples)} starts each) ...`);
  const baseline = { name: 'baseline', nodeFlags: [], env: {}, about: '' };
  const withMysql = await measureStartup(node, baseline, fixtures, options.startSamples);
  const withTcp = await measureStartup(node, baseline, fixtures, options.startSamples, fixtures.tcpOnlyConfig);
  const driverOnStartPath = {
    samples: options.startSamples,
    bareMs: round(median([...withMysql.bareMs, ...withTcp.bareMs]) ?? 0, 1),
    defaultLikeMs: round(withMysql.vitalsMedianMs, 1),
    tcpOnlyMs: round(withTcp.vitalsMedianMs, 1),
  };

  // 5. V8's heap after the idle window, from inside the process.
  log(`  heap spaces after ${String(options.idleSeconds)} s idle (bare, default-like, 1,000 checks) ...`);
  const heapPreload = path.join(dir, 'heap-preload.mjs');
  writeFileSync(heapPreload, HEAP_PRELOAD);
  const heapTargets: { target: string; command: string[] }[] = [
    { target: 'bare', command: bareCommand(node, fixtures, 0) },
    {
      target: 'vitals default-like',
      command: [node, CLI, 'serve', '--config', fixtures.defaultConfig, '--host', '127.0.0.1', '--port', '0'],
    },
    {
      target: 'vitals 1,000 tcp',
      command: [node, CLI, 'serve', '--config', fixtures.thousandConfig, '--host', '127.0.0.1', '--port', '0'],
    },
  ];
  const heap: HeapReport[] = [];
  const running = await Promise.all(
    heapTargets.map(async ({ target, command }, i) => {
      const out = path.join(dir, `heap-${String(i)}.json`);
      const [file, ...args] = command;
      const child = await spawnTarget(`heap-${String(i)}`, [file ?? node, '--import', heapPreload, ...args], {
        cwd: ROOT,
        env: {
          ...process.env,
          LOG_LEVEL: 'info',
          STARTUP_HEAP_OUT: out,
          STARTUP_HEAP_AFTER_MS: String(options.idleSeconds * 1000),
        },
        timeoutMs: 60_000,
      });
      return { target, out, child };
    }),
  );
  try {
    await sleep(options.idleSeconds * 1000 + 1500);
    for (const { target, out } of running) {
      try {
        heap.push({
          target,
          afterSeconds: options.idleSeconds,
          ...(JSON.parse(readFileSync(out, 'utf8')) as Omit<HeapReport, 'target' | 'afterSeconds'>),
        });
      } catch (error) {
        log(`  ${target}: no heap report (${(error as Error).message})`);
      }
    }
  } finally {
    for (const { child } of running) await child.stop();
  }

  return {
    node,
    cpu: { summary: summaries['vitals-serve'], busyMs: byPackage.busyMs, byPackage: byPackage.packages },
    modules: {
      beforeListening: before.length,
      total: recorded.loaded.filter((m) => !m.url.startsWith('node:')).length,
      kBBeforeListening: round(before.reduce((s, m) => s + m.bytes, 0) / 1024, 0),
      byPackage: groupModules(before),
      afterListening: groupModules(after),
    },
    imports,
    heap,
    driverOnStartPath,
  };
}
