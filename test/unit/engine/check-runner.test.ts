import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCheckRunner, type CheckRunner, type RunEvent } from '../../../src/engine/check-runner.js';
import type { MaintenanceWindow } from '../../../src/engine/maintenance.js';
import { RESPONSE_TIME, type CheckCommon, type Probe } from '../../../src/types.js';
import { common, scripted } from './fakes.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function runner(definition: CheckCommon, probe: Probe): { runner: CheckRunner; events: RunEvent[] } {
  const events: RunEvent[] = [];
  const r = createCheckRunner({
    definition,
    componentType: 'component',
    observed: RESPONSE_TIME,
    target: '',
    probe,
    redact: (text) => text,
    onRun: (event) => events.push(event),
  });
  return { runner: r, events };
}

/** The offset a check of this name keeps, as its schedule shows it: the second run's lateness. */
async function observedOffset(name: string, intervalMs: number): Promise<number> {
  const probe = scripted();
  const { runner: r } = runner(common({ name, intervalMs, timeoutMs: 10 }), probe.run);
  const t0 = performance.now();
  r.start();
  await vi.advanceTimersByTimeAsync(intervalMs * 1.2);
  r.stop();
  const second = probe.calls[1];
  if (second === undefined) throw new Error(`${name}: no second run within 1.2 intervals`);
  return second - t0 - intervalMs;
}

describe('check runner schedule', () => {
  it('runs once at start, then on fixed slots start + offset + k × interval', async () => {
    const probe = scripted();
    const { runner: r } = runner(common({ name: 'slots', intervalMs: 1000 }), probe.run);
    const t0 = performance.now();
    r.start();
    await vi.advanceTimersByTimeAsync(5500);
    r.stop();
    const times = probe.calls.map((t) => t - t0);
    expect(times[0]).toBe(0);
    const offset = (times[1] ?? NaN) - 1000;
    expect(times).toEqual([0, 1, 2, 3, 4, 5].map((k) => (k === 0 ? 0 : k * 1000 + offset)));
  });

  it('keeps its slots when a run takes most of the interval (no drift by the run duration)', async () => {
    const probe = scripted({ pass: 900 });
    const { runner: r } = runner(common({ name: 'slow-runs', intervalMs: 1000, timeoutMs: 950 }), probe.run);
    const t0 = performance.now();
    r.start();
    await vi.advanceTimersByTimeAsync(4500);
    r.stop();
    const times = probe.calls.map((t) => t - t0);
    const offset = (times[1] ?? NaN) - 1000;
    expect(times).toEqual([0, 1000 + offset, 2000 + offset, 3000 + offset, 4000 + offset].filter((t) => t <= 4500));
  });

  it('offsets later runs by less than 10 % of the interval, the same for the same name, spread across names', async () => {
    const names = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'];
    const offsets: number[] = [];
    for (const name of names) {
      const offset = await observedOffset(name, 10_000);
      expect(offset, name).toBeGreaterThanOrEqual(0);
      expect(offset, name).toBeLessThan(1000);
      expect(await observedOffset(name, 10_000), `${name} again`).toBe(offset);
      offsets.push(offset);
    }
    // Fixed per name, not one shared offset: eight names land on several distinct ones.
    expect(new Set(offsets).size).toBeGreaterThan(4);
  });
});

describe('check runner deadline', () => {
  it('fails a hung probe at its timeout, then fails later runs without calling it while it is still running', async () => {
    const probe = scripted('ignore-deadline');
    probe.next = { pass: 0 };
    const { runner: r, events } = runner(common({ name: 'hung', intervalMs: 1000, timeoutMs: 100 }), probe.run);
    r.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(events.map((e) => [e.run.status, e.run.reason, e.run.output])).toEqual([
      ['fail', 'timeout', 'timeout after 100ms'],
    ]);
    expect(events[0]?.run.durationMs).toBe(100);

    await vi.advanceTimersByTimeAsync(2000);
    expect(probe.calls).toHaveLength(1);
    expect(events.slice(1).map((e) => [e.run.status, e.run.reason, e.run.output])).toEqual([
      ['fail', 'timeout', 'previous run still running past its deadline'],
      ['fail', 'timeout', 'previous run still running past its deadline'],
    ]);

    // Once the stuck probe returns, the next slot runs it again.
    probe.release();
    await vi.advanceTimersByTimeAsync(1000);
    expect(probe.calls).toHaveLength(2);
    expect(events.at(-1)?.run.status).toBe('pass');
    expect(r.status).toBe('pass');
    r.stop();
  });
});

describe('check runner stop()', () => {
  it('does not record a run that started before stop(), even one that ignores its abort and returns later', async () => {
    const probe = scripted('ignore-deadline');
    const { runner: r, events } = runner(common({ name: 'stopped', timeoutMs: 500 }), probe.run);
    r.start();
    await vi.advanceTimersByTimeAsync(10);
    r.stop();
    probe.release();
    await vi.advanceTimersByTimeAsync(5000);
    expect(events).toEqual([]);
    expect(r.last).toBeUndefined();
    expect(r.status).toBe('unknown');
    expect(probe.calls).toHaveLength(1);
  });

  it("after stop() and start(), only the new generation's runs are recorded, and an aborted run does not count as still running", async () => {
    const probe = scripted({ fail: 50 }, { pass: 10 });
    const { runner: r, events } = runner(common({ name: 'restarted', timeoutMs: 500 }), probe.run);
    r.start();
    await vi.advanceTimersByTimeAsync(20);
    r.stop();
    r.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(events.map((e) => e.run.status)).toEqual(['pass']);
    r.stop();
  });
});

describe('check runner thresholds and warnings', () => {
  it('takes the first result as it is, then needs failureThreshold fails and successThreshold passes to flip', async () => {
    const probe = scripted({ pass: 0 }, { fail: 0 }, { fail: 0 }, { fail: 0 }, { pass: 0 }, { pass: 0 });
    const { runner: r } = runner(common({ name: 'flaky', failureThreshold: 3, successThreshold: 2 }), probe.run);
    const reported: string[] = [];
    r.start();
    await vi.advanceTimersByTimeAsync(0);
    reported.push(r.status);
    // Past the offset (under 100 ms here), then one slot at a time: one status per run.
    await vi.advanceTimersByTimeAsync(100);
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1000);
      reported.push(r.status);
    }
    r.stop();
    expect(reported).toEqual(['pass', 'pass', 'pass', 'fail', 'fail', 'pass']);
  });

  it('a first result of fail is reported at once, whatever failureThreshold says', async () => {
    const probe = scripted({ fail: 0 });
    const { runner: r } = runner(common({ name: 'down', failureThreshold: 5 }), probe.run);
    r.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(r.status).toBe('fail');
    r.stop();
  });

  it('reports a pass slower than warnLatency as warn, naming both numbers, and keeps it a success', async () => {
    const probe = scripted({ pass: 60 });
    const { runner: r, events } = runner(common({ name: 'sluggish', warnLatencyMs: 50 }), probe.run);
    r.start();
    await vi.advanceTimersByTimeAsync(60);
    expect(events[0]?.run).toMatchObject({ status: 'warn', output: 'slow: 60ms above warnLatency 50ms' });
    expect(r.lastSuccessAt).toBe(events[0]?.run.finishedAt);
    r.stop();
  });
});

/** One runOnce(), with the fake clock moved past the scripted probe's few ms. */
async function settled(r: CheckRunner) {
  const run = r.runOnce();
  await vi.advanceTimersByTimeAsync(5);
  return run;
}

describe('check runner in a maintenance window', () => {
  it('reports a failure as warn while a window covers it, keeps its reason, and fails again after', async () => {
    const probe = scripted({ pass: 1 }, { fail: 1 }, { fail: 1 });
    probe.next = { fail: 1 };
    let window: MaintenanceWindow | undefined;
    const events: RunEvent[] = [];
    const r = createCheckRunner({
      definition: common({ name: 'db', intervalMs: 1000, timeoutMs: 100 }),
      componentType: 'datastore',
      observed: RESPONSE_TIME,
      target: '',
      probe: probe.run,
      redact: (text) => text,
      onRun: (event) => events.push(event),
      maintenanceWindow: () => window,
    });
    await settled(r);
    const lastSuccess = r.lastSuccessAt;
    window = {
      id: 'w',
      checks: 'all',
      start: Date.now(),
      end: Date.now() + 3_600_000,
      reason: 'x',
      source: 'on-demand',
    };
    const softened = await settled(r);
    expect(softened).toMatchObject({ status: 'warn', reason: 'error' });
    expect(softened.output).toMatch(/^in maintenance until .*Z: dependency down$/);
    expect(r.status).toBe('warn');
    // The truth: no success since the window opened.
    expect(r.lastSuccessAt).toBe(lastSuccess);
    window = undefined;
    expect((await settled(r)).status).toBe('fail');
    expect(r.status).toBe('fail');
    expect(events.map((e) => e.run.status)).toEqual(['pass', 'warn', 'fail']);
  });

  it('joins a run in flight instead of probing twice', async () => {
    const probe = scripted({ pass: 50 });
    const { runner: r, events } = runner(common({ name: 'joined', timeoutMs: 500 }), probe.run);
    const first = r.runOnce();
    const second = r.runOnce();
    await vi.advanceTimersByTimeAsync(60);
    expect(await first).toBe(await second);
    expect(probe.calls).toHaveLength(1);
    expect(events).toHaveLength(1);
  });
});
