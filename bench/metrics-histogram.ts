/**
 * npm run bench:histogram [-- --seconds S] [--rounds N] [--baseline DIR] [--node PATH]...
 *                            [--histogram on,off] [--node-flags "FLAGS"]
 *
 * /metrics with 1,000 tcp checks, one scraper back to back, with the run duration histogram on
 * (the default) and off (`metrics.histogram: false`), interleaved round by round so that a busy
 * machine weighs on both alike. Same servers and scraper as `npm run bench:startup`; prints p50,
 * p99, the server's CPU per scrape (user + sys from /proc, steadier than latency when other
 * processes share the two cores; the checks' own runs are in it, alike for both builds), series
 * and bytes per format. Not a test: it asserts nothing.
 *
 *   --baseline DIR   also run DIR/dist/cli.js (another checkout, built with
 *                    `npx tsc -p tsconfig.build.json`), alternating with this build in every
 *                    round, the order rotated, and print the two side by side
 *   --node PATH      the node binary (repeatable); by default Node 24 from .ci/node24, then the
 *                    `node` on PATH, one after the other
 *   --histogram      which of on, off (default both)
 *   --node-flags     flags for the vitals processes, e.g. "--trace-gc" or
 *                    "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where a scrape goes
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killAllNow, spawnTarget } from './lib/children.js';
import { node24, onPath } from './lib/nodes.js';
import { cpuMicros, sampleProcess } from './lib/procfs.js';
import { median } from './lib/stats.js';
import { ROOT } from './lib/versions.js';
import { createFixtures } from './startup/fixtures.js';
import { CLI, scrapeBackToBack, vitalsCommand, type ScrapeFigures } from './startup/measure.js';
import { wholeNumberFlag } from './lib/flags.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    baseline: { type: 'string' },
    node: { type: 'string', multiple: true },
    histogram: { type: 'string' },
    'node-flags': { type: 'string' },
  },
});
const seconds = wholeNumberFlag(values.seconds, '--seconds', 10);
const rounds = wholeNumberFlag(values.rounds, '--rounds', 2);
const histograms = (values.histogram ?? 'on,off').split(',').map((h) => {
  if (h !== 'on' && h !== 'off') throw new Error(`--histogram: expected on and/or off, got ${h}`);
  return h;
});
const builds = [
  { name: 'this', cli: CLI },
  ...(values.baseline === undefined
    ? []
    : [{ name: 'baseline', cli: path.join(path.resolve(values.baseline), 'dist/cli.js') }]),
];
const nodeFlags = (values['node-flags'] ?? '').split(' ').filter((flag) => flag !== '');
const nodes = [...new Set(values.node ?? [node24(), onPath('node')].filter((n): n is string => n !== undefined))];
if (nodes.length === 0) throw new Error('no node binary: pass --node PATH');
const versionOf = (node: string) => execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
const formats = ['text', 'openmetrics'] as const;

const fixtures = await createFixtures();
const withHistogram = (histogram: boolean) => {
  const file = fixtures.thousandConfig.replace(/\.yml$/, `-histogram-${String(histogram)}.yml`);
  const document = JSON.parse(readFileSync(fixtures.thousandConfig, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...document, metrics: { histogram } }));
  return file;
};
const configs = { on: withHistogram(true), off: withHistogram(false) };
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

interface Figure extends ScrapeFigures {
  /** The server's CPU over the timed scrapes (and the warm-up), per timed scrape. */
  readonly cpuMsPerScrape: number;
  readonly node: string;
  readonly build: string;
  readonly histogram: string;
}
const figures: Figure[] = [];
const spread = (numbers: number[]) =>
  numbers.length < 2 ? '' : ` (${Math.min(...numbers).toFixed(1)}–${Math.max(...numbers).toFixed(1)})`;
try {
  for (const node of nodes) {
    const version = versionOf(node);
    console.log(`node ${version} (${node}), load ${loadavg()}`);
    for (let round = 1; round <= rounds; round++) {
      for (const histogram of histograms) {
        // Rotated so that neither build always runs right after the other's server stopped.
        const order = round % 2 === 1 ? builds : [...builds].reverse();
        for (const build of order) {
          const variant = { name: build.name, nodeFlags, env: {}, about: '', cli: build.cli };
          const server = await spawnTarget(
            `vitals-${build.name}-${histogram}`,
            vitalsCommand(node, variant, configs[histogram], 0),
            { cwd: ROOT, timeoutMs: 60_000 },
          );
          try {
            // The first runs of a thousand checks land within the first interval: scrape after them.
            await new Promise((resolve) => setTimeout(resolve, 11_000));
            for (const format of formats) {
              const before = sampleProcess(server.pid);
              const scraped = await scrapeBackToBack(server.port, format, seconds);
              const cpuMsPerScrape = cpuMicros(before, sampleProcess(server.pid)) / 1000 / scraped.scrapes;
              const f = { ...scraped, cpuMsPerScrape, node: version, build: build.name, histogram };
              figures.push(f);
              console.log(
                `round ${String(round)} ${build.name} histogram ${histogram} ${format}: p50 ${f.p50Ms.toFixed(1)} ms, ` +
                  `p99 ${f.p99Ms.toFixed(1)} ms, CPU ${cpuMsPerScrape.toFixed(2)} ms/scrape, ` +
                  `${String(f.series)} series, ${(f.bytes / 1e6).toFixed(2)} MB, ` +
                  `${String(f.scrapes)} scrapes, load ${loadavg()}`,
              );
            }
          } finally {
            await server.stop();
          }
        }
      }
    }
  }
  console.log('\nmedians over rounds (min–max):');
  for (const node of new Set(figures.map((f) => f.node))) {
    for (const histogram of histograms) {
      for (const format of formats) {
        for (const build of builds) {
          const runs = figures.filter(
            (f) => f.node === node && f.histogram === histogram && f.format === format && f.build === build.name,
          );
          const p99s = runs.map((f) => f.p99Ms);
          const p50s = runs.map((f) => f.p50Ms);
          const cpus = runs.map((f) => f.cpuMsPerScrape);
          console.log(
            `node ${node} ${build.name.padEnd(8)} histogram ${histogram.padEnd(3)} ${format.padEnd(11)}: ` +
              `p50 ${(median(p50s) ?? NaN).toFixed(1)} ms${spread(p50s)}, p99 ${(median(p99s) ?? NaN).toFixed(1)} ms${spread(p99s)}, ` +
              `CPU ${(median(cpus) ?? NaN).toFixed(2)} ms/scrape, ` +
              `${String(runs[0]?.series)} series, ${((runs[0]?.bytes ?? 0) / 1e6).toFixed(2)} MB`,
          );
        }
      }
    }
  }
  console.log(`load at the end: ${loadavg()}`);
} finally {
  await fixtures.close();
  killAllNow();
}
