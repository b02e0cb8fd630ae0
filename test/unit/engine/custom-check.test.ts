import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, parseConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/log.js';
import { createVitalsService } from '../../../src/vitals.js';

/** The public API plus the monitor, which these specs read to see what addCheck resolved. */
async function createVitals(...args: Parameters<typeof createVitalsService>) {
  const service = await createVitalsService(...args);
  return Object.assign({}, service.vitals, { monitor: service.monitor });
}
type Vitals = Awaited<ReturnType<typeof createVitals>>;

const quiet = { logger: createLogger('silent'), env: {} };
const run = async () => undefined;

afterEach(() => {
  vi.useRealTimers();
});

/** The problems addCheck throws for `fields`, or [] when it accepts them. */
async function addCheckProblems(
  fields: Record<string, unknown>,
  config: Record<string, unknown> = { checks: [] },
): Promise<readonly string[]> {
  const vitals = await createVitals(config, quiet);
  try {
    vitals.addCheck({ name: 'queue', run, ...fields });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/** What the config loader says of the same common fields on a config check, re-addressed. */
function configProblems(fields: Record<string, unknown>): readonly string[] {
  try {
    parseConfig({ checks: [{ name: 'queue', kind: 'tcp', host: 'h', port: 1, ...fields }] }, 'test', { env: {} });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => p.replace('checks[0]', 'addCheck("queue")'));
  }
}

describe('addCheck validates the common fields like a config check', () => {
  it.each([
    [{ interval: '10s' }, 10_000, 2000],
    [{ interval: 10_000, timeout: '1500ms' }, 10_000, 1500],
    [{ interval: '1m', timeout: 500 }, 60_000, 500],
  ])('accepts durations as strings or milliseconds: %j', async (fields, intervalMs, timeoutMs) => {
    const vitals = await createVitals({ checks: [] }, quiet);
    vitals.addCheck({ name: 'queue', run, ...fields });
    expect(vitals.monitor.get('queue')?.definition).toMatchObject({ intervalMs, timeoutMs });
  });

  it.each([
    [{ interval: 3e9 }, '3000000000ms'],
    [{ interval: 50 }, '50ms'],
    [{ timeout: 0 }, '0ms'],
    [{ interval: '10x' }, '10x'],
    [{ timeout: '3d' }, '3d'],
    [{ warnLatency: '2d' }, '2d'],
  ])("refuses %j with the config's own message for the same duration", async (fields, asString) => {
    const [field] = Object.keys(fields);
    const problems = await addCheckProblems(fields);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^addCheck\\("queue"\\)\\.${String(field)}: `));
    expect(problems).toEqual(configProblems({ [String(field)]: asString }));
  });

  it.each([
    [{ interval: Infinity }],
    [{ interval: -1 }],
    [{ timeout: -5 }],
    [{ interval: 1500.5 }],
    [{ warnLatency: Number.NaN }],
  ])('refuses a number that is not a whole, finite, non-negative count of milliseconds: %j', async (fields) => {
    const [field] = Object.keys(fields);
    const problems = await addCheckProblems(fields);
    expect(problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^addCheck\\("queue"\\)\\.${String(field)}: expected a duration string such as "500ms", "5s" or "1m", or a whole number of milliseconds`,
        ),
      ),
    ]);
  });

  it('refuses a timeout not shorter than the interval, an invalid name or threshold, an unknown key, and a run that is not a function — all at once', async () => {
    expect(await addCheckProblems({ interval: '1s', timeout: '1s' })).toEqual([
      'addCheck("queue").timeout: timeout (1s) must be shorter than interval (1s)',
    ]);
    const problems = await addCheckProblems({
      name: 'Bad Name',
      failureThreshold: 0,
      intervall: '5s',
      run: 'not a function',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'addCheck("Bad Name").run: expected a function (signal) => Promise',
        expect.stringMatching(/^addCheck\("Bad Name"\)\.name: must match \[a-z0-9\]/),
        expect.stringMatching(/^addCheck\("Bad Name"\)\.failureThreshold: /),
        'addCheck("Bad Name").intervall: unknown key',
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('refuses warnCertExpiry: a custom check makes no TLS handshake of ours', async () => {
    expect(await addCheckProblems({ warnCertExpiry: '14d' })).toEqual([
      'addCheck("queue").warnCertExpiry: unknown key',
    ]);
  });

  it('refuses the name of a config check or of another custom check', async () => {
    expect(await addCheckProblems({}, { checks: [{ name: 'queue', kind: 'tcp', host: 'h', port: 1 }] })).toEqual([
      'addCheck("queue").name: already a check in the config',
    ]);
    const vitals = await createVitals({ checks: [] }, quiet);
    vitals.addCheck({ name: 'queue', run });
    expect(() => vitals.addCheck({ name: 'queue', run })).toThrow(
      /addCheck\("queue"\)\.name: already added by addCheck/,
    );
  });
});

describe("addCheck follows the config's defaults", () => {
  it('takes interval, timeout and thresholds it leaves out from defaults; its own fields win', async () => {
    const vitals = await createVitals(
      { checks: [], defaults: { interval: '30s', timeout: '3s', failureThreshold: 3, successThreshold: 2 } },
      quiet,
    );
    vitals.addCheck({ name: 'queue', run });
    vitals.addCheck({ name: 'cache', critical: false, timeout: '1s', successThreshold: 1, warnLatency: '250ms', run });
    expect(vitals.monitor.get('queue')?.definition).toEqual({
      name: 'queue',
      kind: 'custom',
      critical: true,
      intervalMs: 30_000,
      timeoutMs: 3000,
      failureThreshold: 3,
      successThreshold: 2,
      warnLatencyMs: undefined,
    });
    expect(vitals.monitor.get('cache')?.definition).toMatchObject({
      critical: false,
      intervalMs: 30_000,
      timeoutMs: 1000,
      failureThreshold: 3,
      successThreshold: 1,
      warnLatencyMs: 250,
    });
  });

  it('with interval "10s" runs once per 10 s, not every millisecond', async () => {
    vi.useFakeTimers();
    const vitals: Vitals = await createVitals({ checks: [] }, quiet);
    let runs = 0;
    vitals.addCheck({
      name: 'queue',
      interval: '10s',
      run: async () => {
        runs += 1;
      },
    });
    await vitals.start();
    await vi.advanceTimersByTimeAsync(35_000);
    await vitals.stop();
    expect(runs).toBe(4);
  });

  it('a reload whose new defaults change a custom check restarts it; one that makes it invalid is refused whole', async () => {
    const document = { checks: [] as unknown[], defaults: { interval: '10s', timeout: '2s' } };
    const vitals = await createVitals(document, quiet);
    vitals.addCheck({ name: 'queue', timeout: '4s', run });
    document.defaults.interval = '20s';
    expect(await vitals.reload()).toMatchObject({ applied: true, changed: ['queue'] });
    expect(vitals.monitor.get('queue')?.definition).toMatchObject({ intervalMs: 20_000, timeoutMs: 4000 });

    document.defaults.interval = '3s';
    document.defaults.timeout = '1s';
    const refused = await vitals.reload();
    expect(refused).toEqual({
      applied: false,
      problems: ['addCheck("queue").timeout: timeout (4s) must be shorter than interval (3s) (under the new defaults)'],
    });
    expect(vitals.monitor.get('queue')?.definition).toMatchObject({ intervalMs: 20_000 });
  });
});
