/**
 * npm run bench:histogram [-- --seconds S] [--rounds N]
 *
 * /metrics with 1,000 tcp checks, one scraper back to back, with the run duration histogram on
 * (the default) and off (`metrics.histogram: false`), interleaved round by round so that a busy
 * machine weighs on both alike. Same servers and scraper as `npm run bench:startup`; prints p50,
 * p99, series and bytes per format. Not a test: it asserts nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { killAllNow, spawnTarget } from './lib/children.js';
import { median } from './lib/stats.js';
import { ROOT } from './lib/versions.js';
import { createFixtures } from './startup/fixtures.js';
import { scrapeBackToBack, vitalsCommand, type ScrapeFigures } from './startup/measure.js';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, rounds: { type: 'string' } } });
const seconds = Number(values.seconds ?? '10');
const rounds = Number(values.rounds ?? '2');
if (!Number.isInteger(seconds) || seconds < 1)
  throw new Error(`--seconds: expected a whole number ≥ 1, got ${String(values.seconds)}`);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds: expected a whole number ≥ 1, got ${String(values.rounds)}`);

const fixtures = await createFixtures();
const withHistogram = (histogram: boolean) => {
  const file = fixtures.thousandConfig.replace(/\.yml$/, `-histogram-${String(histogram)}.yml`);
  const document = JSON.parse(readFileSync(fixtures.thousandConfig, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...document, metrics: { histogram } }));
  return file;
};
const configs = { on: withHistogram(true), off: withHistogram(false) };
const plain = { name: 'baseline', nodeFlags: [], env: {}, about: '' };
const figures: Record<'on' | 'off', ScrapeFigures[]> = { on: [], off: [] };
try {
  for (let round = 1; round <= rounds; round++) {
    for (const variant of ['on', 'off'] as const) {
      const server = await spawnTarget(
        `vitals-${variant}`,
        vitalsCommand(process.execPath, plain, configs[variant], 0),
        {
          cwd: ROOT,
          timeoutMs: 60_000,
        },
      );
      try {
        // The first runs of a thousand checks land within the first interval: scrape after them.
        await new Promise((resolve) => setTimeout(resolve, 11_000));
        for (const format of ['text', 'openmetrics'] as const) {
          const f = await scrapeBackToBack(server.port, format, seconds);
          figures[variant].push(f);
          console.log(
            `round ${String(round)} histogram ${variant} ${format}: p50 ${f.p50Ms.toFixed(1)} ms, p99 ${f.p99Ms.toFixed(1)} ms, ` +
              `${String(f.series)} series, ${(f.bytes / 1e6).toFixed(2)} MB, ${String(f.scrapes)} scrapes`,
          );
        }
      } finally {
        await server.stop();
      }
    }
  }
  for (const variant of ['on', 'off'] as const) {
    for (const format of ['text', 'openmetrics'] as const) {
      const runs = figures[variant].filter((f) => f.format === format);
      console.log(
        `node ${process.version} histogram ${variant} ${format}: median p99 ${(median(runs.map((f) => f.p99Ms)) ?? NaN).toFixed(1)} ms, ` +
          `median p50 ${(median(runs.map((f) => f.p50Ms)) ?? NaN).toFixed(1)} ms, ${String(runs[0]?.series)} series, ${((runs[0]?.bytes ?? 0) / 1e6).toFixed(2)} MB`,
      );
    }
  }
} finally {
  await fixtures.close();
  killAllNow();
}
