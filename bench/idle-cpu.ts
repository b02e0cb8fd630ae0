/**
 * npm run bench:idle-cpu [-- --baseline DIR]... [--seconds S] [--rounds N] [--node PATH]... [--cpu-prof DIR]
 *
 * One figure of issue 14: the CPU of vitals idling with 1,000 `tcp` checks at 10 s against a
 * local listener, in % of one core (user + sys from /proc over `seconds`, after every check has
 * had its first result). Each round starts side by side this checkout's dist/cli.js, the
 * baseline build's DIR/dist/cli.js (e.g. `git archive main | tar -x -C DIR`, a node_modules
 * symlink and `npx tsc -p tsconfig.build.json` there) and two floors: a bare node loop making the
 * same 1,000 connects every 10 s all at once (bare-loop), and one making each at its check's own
 * offset as vitals does (spread-loop, the floor a spread schedule can reach); they run at once so that a busy machine weighs on all alike,
 * and the order they start in rotates. Suites: Node 24 plain, Node 24 with the image's
 * --max-semi-space-size=1, the `node` on PATH plain. Prints medians and the spread per suite and
 * the median of the per-round differences; JSON in bench/results/idle-cpu-*.json. Not a test.
 *
 *   --baseline DIR  another build to run beside this one (repeatable; named by DIR's last part
 *                   when there are several)
 *   --seconds S     measured window per round (default 30, a multiple of the 10 s interval)
 *   --rounds N      rounds per suite (default 3)
 *   --node PATH     node binaries (default: Node 24 from .ci/node24, then `node` on PATH); the
 *                   first one also runs with --max-semi-space-size=1
 *   --cpu-prof DIR  writes a --cpu-prof of this build's process of every round into DIR
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killAllNow, spawnTarget, type Spawned } from './lib/children.js';
import { sleep, waitFor200 } from './lib/http.js';
import { node24, onPath } from './lib/nodes.js';
import { CLK_TCK, sampleGroup, type GroupSample } from './lib/procfs.js';
import { median } from './lib/stats.js';
import { ROOT } from './lib/versions.js';
import { createFixtures, serveArgs, type Fixtures } from './startup/fixtures.js';
import { wholeNumberFlag } from './lib/flags.js';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string', multiple: true },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    node: { type: 'string', multiple: true },
    'cpu-prof': { type: 'string' },
    out: { type: 'string' },
  },
});
const seconds = wholeNumberFlag(values.seconds, '--seconds', 30);
const rounds = wholeNumberFlag(values.rounds, '--rounds', 3);
const profileDir = values['cpu-prof'] === undefined ? undefined : path.resolve(values['cpu-prof']);
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });

const nodes = [...new Set(values.node ?? [node24(), onPath('node')].filter((n): n is string => n !== undefined))];
if (nodes.length === 0) throw new Error('no node binary: pass --node PATH');
const versionOf = (node: string) => execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();

interface Suite {
  readonly label: string;
  readonly node: string;
  readonly flags: readonly string[];
}
const suites: Suite[] = nodes.flatMap((node, i) => {
  const version = versionOf(node);
  const plain = { label: `${version} plain`, node, flags: [] };
  return i === 0 ? [plain, { label: `${version} semi1`, node, flags: ['--max-semi-space-size=1'] }] : [plain];
});

/** What runs in a round: a vitals build, or the bare loop (no cli). */
interface Contender {
  readonly name: string;
  readonly cli?: string;
}
const baselines = values.baseline ?? [];
const contenders: Contender[] = [
  { name: 'current', cli: path.join(ROOT, 'dist/cli.js') },
  ...baselines.map((dir) => ({
    name: baselines.length === 1 ? 'baseline' : path.basename(path.resolve(dir)),
    cli: path.resolve(dir, 'dist/cli.js'),
  })),
  { name: 'bare-loop' },
  { name: 'spread-loop' },
];

const loadavg = () => execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');

function command(suite: Suite, contender: Contender, fixtures: Fixtures, round: number): string[] {
  if (contender.cli === undefined) {
    return [suite.node, ...(contender.name === 'bare-loop' ? fixtures.bareTcpLoop : fixtures.spreadTcpLoop)];
  }
  const profile =
    profileDir !== undefined && contender.name === 'current'
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${profileDir}`,
          `--cpu-prof-name=${suite.label.replace(/\W+/g, '-')}-${String(round)}.cpuprofile`,
        ]
      : [];
  return [suite.node, ...suite.flags, ...profile, contender.cli, ...serveArgs(fixtures.thousandConfig, 0)];
}

/** % of one core of each contender over one window, all of them running at once. */
async function measureRound(suite: Suite, fixtures: Fixtures, round: number): Promise<Record<string, number>> {
  // The order of the start rotates: the one started first gets its first runs in a quieter second.
  const order = contenders.map((_, i) => contenders[(i + round) % contenders.length] as Contender);
  const running: { contender: Contender; child: Spawned }[] = [];
  try {
    for (const contender of order) {
      const child = await spawnTarget(contender.name, command(suite, contender, fixtures, round), {
        cwd: ROOT,
        env: { ...process.env, LOG_LEVEL: 'info' },
        timeoutMs: 60_000,
      });
      running.push({ contender, child });
    }
    for (const { contender, child } of running) {
      if (contender.cli !== undefined) await waitFor200(`http://127.0.0.1:${String(child.port)}/startup`, 60_000, 50);
    }
    // The first round's lazy work (module loads, first encodings) is not idle.
    await sleep(2000);
    const first = running.map(({ child }) => sampleGroup(child.pid));
    await sleep(seconds * 1000);
    const last = running.map(({ child }) => sampleGroup(child.pid));
    const percent = (a: GroupSample, b: GroupSample) => ((b.ticks - a.ticks) / CLK_TCK / ((b.at - a.at) / 1000)) * 100;
    return Object.fromEntries(
      running.map(({ contender }, i) => [contender.name, percent(first[i] as GroupSample, last[i] as GroupSample)]),
    );
  } finally {
    // SIGTERM first: a --cpu-prof is written as the process exits.
    for (const { child } of running) await child.stop(5000);
  }
}

const f = (x: number | undefined, digits = 2) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const fixtures = await createFixtures();
const report: Record<string, unknown>[] = [];
try {
  console.log(
    `idle CPU, 1,000 tcp checks at 10 s: ${String(rounds)} rounds × ${String(seconds)} s per suite; load ${loadavg()}`,
  );
  for (const suite of suites) {
    const samples: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
    const loads: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const figures = await measureRound(suite, fixtures, round);
      loads.push(loadavg());
      for (const [name, value] of Object.entries(figures)) samples[name]?.push(value);
      console.log(
        `  ${suite.label} round ${String(round + 1)}: ` +
          Object.entries(figures)
            .map(([name, value]) => `${name} ${f(value)} %`)
            .join(', ') +
          ` (load ${loads.at(-1) ?? ''})`,
      );
    }
    const line = (name: string) => {
      const xs = samples[name] ?? [];
      return `${name.padEnd(9)} ${f(median(xs)).padStart(6)} %  (${xs.map((x) => f(x)).join(', ')})`;
    };
    console.log(`${suite.label}:`);
    for (const contender of contenders) console.log(`  ${line(contender.name)}`);
    const current = samples.current ?? [];
    for (const { name, cli } of contenders) {
      if (name === 'current' || cli === undefined) continue;
      const deltas = current.map((x, i) => x - (samples[name]?.[i] ?? Number.NaN));
      console.log(
        `  current − ${name}, per round: median ${f(median(deltas))} points (${deltas.map((d) => f(d)).join(', ')})`,
      );
    }
    report.push({ suite: suite.label, node: suite.node, flags: suite.flags, seconds, samples, loads });
  }
} finally {
  await fixtures.close();
  killAllNow();
}
const out =
  values.out ?? path.join(ROOT, 'bench/results', `idle-cpu-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ baseline: values.baseline, rounds, seconds, suites: report }, null, 2));
console.log(`results: ${path.relative(ROOT, out)}`);
