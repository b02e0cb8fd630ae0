/**
 * Baseline for /metrics: a plain prom-client registry (default process metrics plus gauges)
 * holding --series N sample lines in total, rendered per request and served by node:http.
 */
import { createServer } from 'node:http';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { announce, arg, exitWithParent, listenOn } from './common.js';

const wanted = Number(arg('series') ?? '0');
if (!Number.isInteger(wanted) || wanted < 1) throw new Error('--series N is required');

function sampleLines(text: string): number {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
}

const registry = new Registry();
collectDefaultMetrics({ register: registry });
let missing = wanted - sampleLines(await registry.metrics());
const PER_FAMILY = 1000;
for (let family = 0; missing > 0; family++) {
  const gauge = new Gauge({
    name: `bench_series_${String(family)}`,
    help: 'A bench series.',
    labelNames: ['check', 'kind', 'critical'],
    registers: [registry],
  });
  const n = Math.min(PER_FAMILY, missing);
  for (let i = 0; i < n; i++)
    gauge.set({ check: `tcp-${String(i).padStart(4, '0')}`, kind: 'tcp', critical: 'true' }, i);
  missing -= n;
}
const series = sampleLines(await registry.metrics());

const server = createServer((_request, response) => {
  registry.metrics().then(
    (text) => {
      response.writeHead(200, { 'Content-Type': registry.contentType });
      response.end(text);
    },
    () => {
      response.writeHead(500);
      response.end();
    },
  );
});
exitWithParent();
announce(await listenOn(server), { series });
