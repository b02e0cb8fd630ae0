import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { configProblems, runCheck, runCheckKindContract } from '../../support/contract.js';
import { startVitals } from '../../support/vitals.js';
import { waitFor } from '../../support/wait.js';

const path = os.tmpdir();

describe('the disk check kind', () => {
  describe('contract', () => {
    runCheckKindContract({
      kind: 'disk',
      healthy: () => ({ path, minFreeRatio: 0 }),
      target: () => path,
    });
  });

  it('reports utilization in percent as df does (used over used + available)', async () => {
    const { result } = await runCheck('disk', { path, minFreeRatio: 0 });
    const s = await statfs(path);
    const expected = (100 * (s.blocks - s.bfree)) / (s.blocks - s.bfree + s.bavail);
    expect(result.observedValue).toBeCloseTo(expected, 0);
    expect(result.observedValue).toBeGreaterThan(0);
    expect(result.observedValue).toBeLessThan(100);
  });

  it('warns below warnFreeRatio and fails with reason error below minFreeRatio', async () => {
    const warn = await runCheck('disk', { path, minFreeRatio: 0, warnFreeRatio: 1 });
    expect(warn.result).toMatchObject({
      status: 'warn',
      reason: undefined,
      output: expect.stringMatching(/^\d+\.\d% free, below warnFreeRatio 100\.0%$/) as string,
    });
    const fail = await runCheck('disk', { path, minFreeRatio: 1 });
    // A failing run still reports the utilization it measured, not its duration, under '%'.
    expect(fail.result.observedValue).toBeCloseTo(warn.result.observedValue, 0);
    expect(fail.result).toMatchObject({
      status: 'fail',
      reason: 'error',
      output: expect.stringMatching(/^\d+\.\d% free, below minFreeRatio 100\.0%$/) as string,
    });
  });

  it('fails with reason error on a path that does not exist', async () => {
    const { result } = await runCheck('disk', { path: '/no/such/vitals/path', minFreeRatio: 0.1 });
    expect(result).toMatchObject({
      status: 'fail',
      reason: 'error',
      output: expect.stringMatching(/ENOENT/) as string,
    });
  });

  it('validates its options at config time', () => {
    expect(configProblems('disk', { path: 'data', minFreeRatio: 0.1 })).toEqual([
      'checks[0].path: must be an absolute path',
    ]);
    expect(configProblems('disk', { path, minFreeRatio: 1.5 })[0]).toMatch(/^checks\[0\]\.minFreeRatio: /);
    expect(configProblems('disk', { path })[0]).toMatch(/^checks\[0\]\.minFreeRatio: /);
    expect(configProblems('disk', { path, minFreeRatio: 0.2, warnFreeRatio: 0.1 })).toEqual([
      'checks[0].warnFreeRatio: must be at least minFreeRatio',
    ]);
  });

  it('is served as NAME:utilization in percent with componentType system', async () => {
    const served = await startVitals({
      checks: [{ name: 'tmp', kind: 'disk', path, minFreeRatio: 0, warnFreeRatio: 1, critical: false }],
    });
    try {
      type Body = {
        checks?: Record<
          string,
          { componentType: string; observedUnit?: string; observedValue?: number; status: string }[]
        >;
      };
      const { value } = await waitFor(
        async () => (await (await fetch(`${served.url}/ready`)).json()) as Body,
        (body) => body.checks?.['tmp:utilization']?.[0]?.status === 'warn',
        3000,
      );
      expect(value.checks?.['tmp:utilization']?.[0]).toMatchObject({ componentType: 'system', observedUnit: '%' });
      const metrics = await (await fetch(`${served.url}/metrics`)).text();
      expect(metrics).toContain(`vitals_check_info{check="tmp",kind="disk",critical="false",target="${path}"} 1`);
    } finally {
      await served.close();
    }
  });
});
