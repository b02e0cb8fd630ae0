/**
 * npm run bench:compare -- --baseline DIR [--samples N] [--idle S]
 *
 * Start → first /health 200 and idle RSS of this checkout's dist/cli.js against another build's
 * (DIR/dist/cli.js, e.g. a `git worktree` of an older commit after `npx tsc -p
 * tsconfig.build.json`), with the bench's default-like (one mysql check) and five-check configs,
 * on the same node, interleaved start by start so that a busy machine weighs on both alike. For
 * "a change costs nothing when its option is unused": the medians should agree within noise.
 * Not a test: it asserts nothing.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killAllNow, spawnTarget } from './lib/children.js';
import { sleep } from './lib/http.js';
import { sampleGroup } from './lib/procfs.js';
import { median } from './lib/stats.js';
import { ROOT } from './lib/versions.js';
import { createFixtures } from './startup/fixtures.js';
import { timeToHealth, vitalsCommand, type Variant } from './startup/measure.js';
import { freePort } from './startup/fixtures.js';
import { wholeNumberFlag } from './lib/flags.js';

const { values } = parseArgs({
  options: { baseline: { type: 'string' }, samples: { type: 'string' }, idle: { type: 'string' } },
});
if (values.baseline === undefined) throw new Error('--baseline: the directory of the build to compare with');
const samples = wholeNumberFlag(values.samples, '--samples', 7);
const idleSeconds = wholeNumberFlag(values.idle, '--idle', 15);

const builds: Record<string, Variant> = {
  baseline: { name: 'baseline', nodeFlags: [], env: {}, about: '', cli: path.resolve(values.baseline, 'dist/cli.js') },
  current: { name: 'current', nodeFlags: [], env: {}, about: '', cli: path.join(ROOT, 'dist/cli.js') },
};
const fixtures = await createFixtures();
const env = { ...process.env, LOG_LEVEL: 'info' };
const startMs: Record<string, number[]> = { baseline: [], current: [] };
const rssMB: Record<string, number[]> = {
  'baseline default': [],
  'current default': [],
  'baseline five': [],
  'current five': [],
};
try {
  for (let i = 0; i < samples; i++) {
    for (const name of Object.keys(builds)) {
      const build = builds[name] as Variant;
      const port = await freePort();
      startMs[name]?.push(
        await timeToHealth(vitalsCommand(process.execPath, build, fixtures.defaultConfig, port), port, env),
      );
    }
  }
  // Both builds idle side by side, each config once per round.
  for (let i = 0; i < Math.max(1, Math.floor(samples / 2)); i++) {
    const running = await Promise.all(
      Object.keys(builds).flatMap((name) =>
        (['default', 'five'] as const).map(async (config) => ({
          key: `${name} ${config}`,
          child: await spawnTarget(
            `${name}-${config}`,
            vitalsCommand(
              process.execPath,
              builds[name] as Variant,
              config === 'default' ? fixtures.defaultConfig : fixtures.fiveConfig,
              0,
            ),
            { cwd: ROOT, env, timeoutMs: 60_000 },
          ),
        })),
      ),
    );
    await sleep(idleSeconds * 1000);
    for (const { key, child } of running) rssMB[key]?.push(sampleGroup(child.pid).rss / (1024 * 1024));
    await Promise.all(running.map(({ child }) => child.stop()));
  }
  const f = (xs: number[]) => (median(xs) ?? Number.NaN).toFixed(1);
  console.log(`node ${process.version}, ${String(samples)} starts each, RSS after ${String(idleSeconds)} s`);
  for (const name of Object.keys(builds)) {
    console.log(
      `${name.padEnd(8)} start→/health median ${f(startMs[name] ?? [])} ms (${(startMs[name] ?? []).map((x) => x.toFixed(0)).join(' ')}); ` +
        `idle RSS default ${f(rssMB[`${name} default`] ?? [])} MB, five checks ${f(rssMB[`${name} five`] ?? [])} MB`,
    );
  }
} finally {
  await fixtures.close();
  killAllNow();
}
