import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMonitor, type Monitor } from '../../../src/engine/monitor.js';
import { createLogger } from '../../../src/log.js';
import { createVitalsMetrics, type VitalsMetrics } from '../../../src/metrics/vitals-metrics.js';
import type { Probe } from '../../../src/types.js';
import { definition, fakeKinds, scripted, type ScriptedProbe, type Step } from './fakes.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

interface Harness {
  readonly monitor: Monitor;
  readonly metrics: VitalsMetrics;
  /** Registers a probe under `id`, for definitions naming it. */
  probe(id: string, first?: Step, ...rest: Step[]): ScriptedProbe;
  /** One sample of a per-check family in the text exposition, or undefined when absent. */
  sample(name: string, labels: Record<string, string>): Promise<number | undefined>;
}

function harness(): Harness {
  const probes = new Map<string, Probe>();
  const metrics = createVitalsMetrics('test');
  const monitor = createMonitor({
    kinds: fakeKinds(probes),
    metrics,
    logger: createLogger('silent'),
    redact: (text) => text,
  });
  return {
    monitor,
    metrics,
    probe(id, first, ...rest) {
      const p = scripted(first, ...rest);
      probes.set(id, p.run);
      return p;
    },
    async sample(name, labels) {
      const text = (await metrics.exposition(false)).toString();
      for (const line of text.split('\n')) {
        const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
        if (match?.[1] !== name) continue;
        if (Object.entries(labels).every(([k, v]) => (match[2] ?? '').includes(`${k}="${v}"`))) return Number(match[3]);
      }
      return undefined;
    },
  };
}

describe('monitor.apply: the diff of a reload', () => {
  it('keeps an unchanged check (same runner, counters go on), restarts a changed one, adds and removes', async () => {
    const h = harness();
    const steady = h.probe('steady');
    h.probe('tweaked');
    h.probe('leaving');
    h.probe('arriving');
    h.monitor.apply([
      definition('steady', 'steady'),
      definition('tweaked', 'tweaked'),
      definition('leaving', 'leaving'),
    ]);
    h.monitor.start();
    await vi.advanceTimersByTimeAsync(2500);
    const steadyRunner = h.monitor.get('steady');
    const runsBefore = await h.sample('vitals_check_runs_total', { check: 'steady' });
    expect(runsBefore).toBe(3);

    const report = h.monitor.apply([
      definition('steady', 'steady'),
      definition('tweaked', 'tweaked', { timeoutMs: 200 }),
      definition('arriving', 'arriving'),
    ]);
    expect(report).toEqual({ added: ['arriving'], changed: ['tweaked'], removed: ['leaving'] });
    expect(h.monitor.get('steady')).toBe(steadyRunner);
    expect(h.monitor.get('leaving')).toBeUndefined();
    expect(await h.sample('vitals_check_up', { check: 'leaving' })).toBeUndefined();
    expect(await h.sample('vitals_check_status', { check: 'arriving', status: 'unknown' })).toBe(1);

    await vi.advanceTimersByTimeAsync(1000);
    expect(await h.sample('vitals_check_runs_total', { check: 'steady' })).toBe(4);
    expect(steady.calls).toHaveLength(4);
    expect(h.monitor.get('tweaked')?.definition.timeoutMs).toBe(200);
    expect(await h.sample('vitals_check_timeout_seconds', { check: 'tweaked' })).toBe(0.2);
    h.monitor.stop();
  });

  it('a changed critical check keeps its previous status until its new definition has a result (no /ready flap)', async () => {
    const h = harness();
    h.probe('old-password', { pass: 10 });
    h.probe('new-password', { pass: 1500 });
    h.monitor.apply([definition('db', 'old-password', { intervalMs: 10_000, timeoutMs: 2000 })]);
    h.monitor.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(h.monitor.readiness()).toBe('pass');
    const readiness: string[] = [];
    const statuses: (number | undefined)[] = [];
    h.monitor.onChange(() => readiness.push(h.monitor.readiness()));

    h.monitor.apply([definition('db', 'new-password', { intervalMs: 10_000, timeoutMs: 2000 })]);
    readiness.push(h.monitor.readiness());
    for (let t = 0; t < 1400; t += 100) {
      await vi.advanceTimersByTimeAsync(100);
      readiness.push(h.monitor.readiness());
      statuses.push(await h.sample('vitals_check_status', { check: 'db', status: 'pass' }));
    }
    expect(h.monitor.get('db')?.status).toBe('pass');
    expect(
      readiness.every((r) => r === 'pass'),
      readiness.join(','),
    ).toBe(true);
    expect(
      statuses.every((s) => s === 1),
      statuses.join(','),
    ).toBe(true);

    await vi.advanceTimersByTimeAsync(200);
    expect(h.monitor.get('db')?.target).toBe('fake:new-password');
    expect(h.monitor.readiness()).toBe('pass');
    h.monitor.stop();
  });
});

describe('monitor.apply: a changed check', () => {
  it("goes on counting from the old definition's counters; its gauges follow the new one from its first result", async () => {
    const h = harness();
    h.probe('v1', { pass: 0 }, { fail: 0 }, { pass: 0 });
    h.probe('v2', { pass: 300 });
    h.monitor.apply([definition('db', 'v1')]);
    h.monitor.start();
    await vi.advanceTimersByTimeAsync(2500);
    expect(await h.sample('vitals_check_runs_total', { check: 'db' })).toBe(3);
    expect(await h.sample('vitals_check_failures_total', { check: 'db', reason: 'error' })).toBe(1);

    h.monitor.apply([definition('db', 'v2', { timeoutMs: 400 })]);
    await vi.advanceTimersByTimeAsync(200);
    expect(await h.sample('vitals_check_timeout_seconds', { check: 'db' })).toBe(0.1);
    expect(await h.sample('vitals_check_runs_total', { check: 'db' })).toBe(3);
    await vi.advanceTimersByTimeAsync(100);
    expect(await h.sample('vitals_check_timeout_seconds', { check: 'db' })).toBe(0.4);
    expect(await h.sample('vitals_check_runs_total', { check: 'db' })).toBe(4);
    expect(await h.sample('vitals_check_failures_total', { check: 'db', reason: 'error' })).toBe(1);
    expect(await h.sample('vitals_check_duration_seconds', { check: 'db' })).toBe(0.3);
    h.monitor.stop();
  });

  it('whose new definition fails is reported fail at that first result, not masked', async () => {
    const h = harness();
    h.probe('good', { pass: 0 });
    h.probe('wrong-password', { fail: 50 });
    h.monitor.apply([definition('db', 'good')]);
    h.monitor.start();
    await vi.advanceTimersByTimeAsync(10);
    h.monitor.apply([definition('db', 'wrong-password')]);
    await vi.advanceTimersByTimeAsync(40);
    expect(h.monitor.readiness()).toBe('pass');
    await vi.advanceTimersByTimeAsync(10);
    expect(h.monitor.get('db')?.status).toBe('fail');
    expect(h.monitor.readiness()).toBe('fail');
    h.monitor.stop();
  });

  it('changed again before its first result: the newest definition takes over, the reported status never leaves pass', async () => {
    const h = harness();
    h.probe('a', { pass: 0 });
    const b = h.probe('b', { pass: 500 });
    const c = h.probe('c', { pass: 500 });
    h.monitor.apply([definition('db', 'a')]);
    h.monitor.start();
    await vi.advanceTimersByTimeAsync(10);
    const seen: string[] = [];
    h.monitor.onChange(() => seen.push(`${h.monitor.get('db')?.status ?? 'absent'}/${h.monitor.readiness()}`));
    const slow = { timeoutMs: 900 };
    expect(h.monitor.apply([definition('db', 'b', slow)]).changed).toEqual(['db']);
    await vi.advanceTimersByTimeAsync(300);
    expect(h.monitor.apply([definition('db', 'c', slow)]).changed).toEqual(['db']);
    // The same definition again is no change: its first run is not restarted.
    expect(h.monitor.apply([definition('db', 'c', slow)]).changed).toEqual([]);
    await vi.advanceTimersByTimeAsync(600);
    expect(b.calls).toHaveLength(1);
    expect(c.calls).toHaveLength(1);
    expect(h.monitor.get('db')?.target).toBe('fake:c');
    expect(
      seen.every((s) => s === 'pass/pass'),
      seen.join(' '),
    ).toBe(true);
    h.monitor.stop();
  });
});

describe('monitor stale-result watchdog', () => {
  it('reports fail "stale result" once the last result is older than 2 × interval + timeout, not before', async () => {
    const h = harness();
    h.probe('frozen', { pass: 0 });
    h.monitor.apply([definition('frozen', 'frozen', { intervalMs: 60_000, timeoutMs: 1000 })]);
    h.monitor.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.monitor.get('frozen')?.status).toBe('pass');
    // The wall clock jumps while no timer fires: what a stalled scheduler looks like.
    vi.setSystemTime(Date.now() + 2 * 60_000 + 1000 - 1500);
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.monitor.get('frozen')?.status).toBe('pass');
    vi.setSystemTime(Date.now() + 1000);
    await vi.advanceTimersByTimeAsync(1000);
    const check = h.monitor.get('frozen');
    expect(check?.status).toBe('fail');
    expect(check?.last).toMatchObject({ status: 'fail', output: 'stale result', reason: 'error' });
    expect(h.monitor.readiness()).toBe('fail');
    h.monitor.stop();
  });
});
