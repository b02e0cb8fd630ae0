import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { prefersOpenMetrics, toOpenMetrics } from '../../src/metrics/openmetrics.js';

const PROMETHEUS_2_42 =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('prefersOpenMetrics', () => {
  it.each<[string, string | undefined, boolean]>([
    ["Prometheus 2.42's Accept header", PROMETHEUS_2_42, true],
    ['OpenMetrics alone', 'application/openmetrics-text; version=1.0.0; charset=utf-8', true],
    ['OpenMetrics in another case', 'Application/OpenMetrics-Text', true],
    ['OpenMetrics ranked above text', 'text/plain;q=0.3, application/openmetrics-text;q=0.9', true],
    ['a kubelet or curl', '*/*', false],
    ['plain text', 'text/plain', false],
    ['text ranked above OpenMetrics', 'application/openmetrics-text;q=0.2,text/plain;version=0.0.4', false],
    ['text/* ranked above OpenMetrics', 'application/openmetrics-text;q=0.2,text/*', false],
    ['OpenMetrics refused with q=0', 'application/openmetrics-text;q=0', false],
    ['OpenMetrics with a nonsense weight', 'application/openmetrics-text;q=high', false],
    ['JSON', 'application/json', false],
    ['garbage', ';;,,=q=,garbage/', false],
    ['an empty header', '', false],
    ['no header', undefined, false],
  ])('answers for %s', (_, accept, expected) => {
    expect(prefersOpenMetrics(accept)).toBe(expected);
  });
});

async function exposition(): Promise<string> {
  const registry = new Registry();
  const runs = new Counter({
    name: 'vitals_check_runs_total',
    help: 'Runs of the check.',
    labelNames: ['check'],
    registers: [registry],
  });
  const bare = new Counter({ name: 'legacy_requests', help: 'A counter named without _total.', registers: [registry] });
  const up = new Gauge({
    name: 'vitals_check_up',
    help: '1 while the check is "up".',
    labelNames: ['check'],
    registers: [registry],
  });
  const latency = new Histogram({ name: 'latency_seconds', help: 'Latency.', buckets: [0.1], registers: [registry] });
  runs.inc({ check: 'db' }, 3);
  bare.inc(2);
  up.set({ check: 'db' }, 1);
  latency.observe(0.05);
  return registry.metrics();
}

describe('toOpenMetrics', () => {
  it('translates a real prom-client exposition', async () => {
    expect(toOpenMetrics(await exposition())).toBe(
      [
        '# HELP vitals_check_runs Runs of the check.',
        '# TYPE vitals_check_runs counter',
        'vitals_check_runs_total{check="db"} 3',
        '# HELP legacy_requests A counter named without _total.',
        '# TYPE legacy_requests counter',
        'legacy_requests_total 2',
        '# HELP vitals_check_up 1 while the check is \\"up\\".',
        '# TYPE vitals_check_up gauge',
        'vitals_check_up{check="db"} 1',
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{le="0.1"} 1',
        'latency_seconds_bucket{le="+Inf"} 1',
        'latency_seconds_sum 0.05',
        'latency_seconds_count 1',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it('drops _total from counter families in HELP and TYPE but keeps it on samples', () => {
    const out = toOpenMetrics('# HELP a_total Help.\n# TYPE a_total counter\na_total{x="1"} 1\n');
    expect(out.split('\n')).toEqual(['# HELP a Help.', '# TYPE a counter', 'a_total{x="1"} 1', '# EOF', '']);
  });

  it('leaves _total on a gauge alone', () => {
    const out = toOpenMetrics('# HELP g_total Help.\n# TYPE g_total gauge\ng_total 1\n');
    expect(out).toBe('# HELP g_total Help.\n# TYPE g_total gauge\ng_total 1\n# EOF\n');
  });

  it('ends with exactly one # EOF line and contains no blank line', async () => {
    const out = toOpenMetrics(`${await exposition()}\n\n`);
    expect(out.endsWith('\n# EOF\n')).toBe(true);
    expect(out.match(/# EOF/g)).toHaveLength(1);
    expect(out.slice(0, -1).split('\n')).not.toContain('');
  });

  it('keeps escaped label values intact', () => {
    const sample = 'a_total{path="C:\\\\x",msg="say \\"hi\\"\\n"} 1';
    const out = toOpenMetrics(`# TYPE a_total counter\n${sample}\n`);
    expect(out).toBe(`# TYPE a counter\n${sample}\n# EOF\n`);
  });

  it('turns an empty exposition into a lone # EOF', () => {
    expect(toOpenMetrics('')).toBe('# EOF\n');
  });
});
