import { describe, expect, it } from 'vitest';
import type { CheckView } from '../../src/engine/check-runner.js';
import { createVitalsMetrics, type MaintenanceSource, type VitalsMetrics } from '../../src/metrics/vitals-metrics.js';
import { RESPONSE_TIME, type RunResult, type Status } from '../../src/types.js';

type MutableView = { -readonly [K in keyof CheckView]: CheckView[K] };

function view(name: string, critical = true): MutableView {
  const fresh: MutableView = {
    definition: {
      name,
      kind: 'tcp',
      critical,
      intervalMs: 10_000,
      timeoutMs: 2_000,
      failureThreshold: 1,
      successThreshold: 1,
      warnLatencyMs: undefined,
      labels: { team: 'a' },
    },
    componentType: 'component',
    observed: RESPONSE_TIME,
    phases: ['connect'],
    target: `${name}:5432`,
    status: 'unknown',
    last: undefined,
    lastSuccessAt: 0,
    awaitingFirstResult: true,
  };
  return fresh;
}

type Event =
  | { readonly type: 'add'; readonly view: CheckView }
  | { readonly type: 'remove'; readonly view: CheckView }
  | { readonly type: 'replace'; readonly previous: CheckView; readonly next: CheckView }
  | { readonly type: 'run'; readonly view: CheckView; readonly run: RunResult };

function apply(metrics: VitalsMetrics, event: Event): void {
  if (event.type === 'add') metrics.addCheck(event.view);
  else if (event.type === 'remove') metrics.removeCheck(event.view);
  else if (event.type === 'replace') metrics.replaceCheck(event.previous, event.next);
  else metrics.recordRun(event.view, event.run);
}

/** The per-check families: the process metrics before them differ from one call to the next. */
async function checkFamilies(metrics: VitalsMetrics, openMetrics: boolean): Promise<string> {
  const text = (await metrics.exposition(openMetrics)).toString();
  return text.slice(text.indexOf('# HELP vitals_check_up '));
}

describe('the exposition kept in blocks between scrapes', () => {
  it('is byte for byte what a fresh instance renders from the same events, across blocks, reloads and maintenance', async () => {
    let covered = new Set<string>();
    let key = '';
    const maintenance: MaintenanceSource = { covers: (check) => covered.has(check), key: () => key };
    const kept = createVitalsMetrics('test');
    kept.setMaintenance(maintenance);
    const events: Event[] = [];
    const record = (event: Event) => {
      events.push(event);
      apply(kept, event);
    };
    let clock = 1_700_000_000_000;
    const run = (target: MutableView, status: Exclude<Status, 'unknown'>) => {
      clock += 1234;
      const result: RunResult = {
        status,
        durationMs: 3 + (clock % 97),
        observedValue: 3,
        finishedAt: clock,
        output: status === 'pass' ? undefined : 'refused',
        reason: status === 'pass' ? undefined : 'refused',
        phases: { connect: 2 },
      };
      target.status = status;
      target.last = result;
      target.awaitingFirstResult = false;
      if (status === 'pass') target.lastSuccessAt = clock;
      record({ type: 'run', view: target, run: result });
    };
    const compare = async () => {
      const fresh = createVitalsMetrics('test');
      fresh.setMaintenance(maintenance);
      for (const event of events) apply(fresh, event);
      for (const openMetrics of [false, true, false]) {
        expect(await checkFamilies(kept, openMetrics)).toBe(await checkFamilies(fresh, openMetrics));
      }
      const { chunks, length } = await kept.expositionChunks(false);
      expect(chunks.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(length);
    };

    // Three blocks and a bit: 100 checks.
    const views = Array.from({ length: 100 }, (_, i) => view(`c${String(i).padStart(3, '0')}`, i % 3 === 0));
    for (const v of views) record({ type: 'add', view: v });
    await compare();
    run(views[5] as MutableView, 'pass');
    await compare();
    // One check in each of the other blocks, a scrape of each format in between.
    run(views[40] as MutableView, 'fail');
    expect(await checkFamilies(kept, true)).toContain('c040');
    run(views[99] as MutableView, 'pass');
    run(views[64] as MutableView, 'warn');
    await compare();
    // Nothing ran: the same check chunks again, not copies (the first is the process metrics).
    const [, ...before] = (await kept.expositionChunks(false)).chunks;
    const [, ...after] = (await kept.expositionChunks(false)).chunks;
    expect(after.length).toBeGreaterThan(50);
    expect(after.every((chunk, i) => chunk === before[i])).toBe(true);

    record({ type: 'remove', view: views[33] as MutableView });
    const late = view('late');
    record({ type: 'add', view: late });
    run(late, 'fail');
    const replaced = view('c010', false);
    record({ type: 'replace', previous: views[10] as MutableView, next: replaced });
    run(replaced, 'pass');
    await compare();

    covered = new Set(['c020', 'c070']);
    key = 'window-1';
    await compare();
    run(views[20] as MutableView, 'fail');
    await compare();
  });
});
