import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProbe } from '../../../src/engine/run-probe.js';
import { createRedactor } from '../../../src/log.js';
import { FAILURE_REASONS, type Probe, type RunResult } from '../../../src/types.js';
import { common } from './fakes.js';

const SECRET = 'hunter2-secret';

/** A value made inside the property: fast-check itself would trip over a hostile proxy. */
type Make = (() => unknown) & { [fc.toStringMethod]: () => string };

function made(label: string, make: () => unknown): Make {
  return Object.assign(make, { [fc.toStringMethod]: () => label });
}

/** Values that break naive handling: throwing getters, proxies that throw on every trap, symbols. */
function hostile(): fc.Arbitrary<Make> {
  const thrown = fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.constant(new Error(`has ${SECRET} in it`)));
  const throwingGetter = fc
    .tuple(fc.constantFrom('warn', 'observedValue', 'message', 'code', 'name', 'then', 'stack'), thrown, fc.boolean())
    .map(([key, value, asError]) =>
      made(`${asError ? 'an Error' : 'an object'} whose ${key} getter throws ${fc.stringify(value)}`, () => {
        const target: object = asError ? new Error('with a getter') : {};
        Object.defineProperty(target, key, {
          get() {
            // eslint-disable-next-line @typescript-eslint/only-throw-error -- any value: that is the test
            throw value;
          },
        });
        return target;
      }),
    );
  const trapAll = fc.constant(
    made('a proxy that throws on every trap', () => {
      const fail = () => {
        throw new TypeError('trap');
      };
      return new Proxy(
        {},
        { get: fail, has: fail, getPrototypeOf: fail, ownKeys: fail, getOwnPropertyDescriptor: fail },
      );
    }),
  );
  const revoked = fc.constant(
    made('a revoked proxy', () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    }),
  );
  const errorWithOddMessage = fc.tuple(fc.anything(), fc.anything()).map(([message, code]) => {
    const error = new Error('placeholder');
    Object.defineProperty(error, 'message', { value: message });
    Object.defineProperty(error, 'code', { value: code });
    return error;
  });
  const symbol = fc.string().map((description) => Symbol(description));
  const plain = fc.oneof(
    fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withNullPrototype: true,
    }),
    fc.record({ warn: fc.anything(), observedValue: fc.anything() }, { requiredKeys: [] }),
    fc.record({ warn: fc.oneof(fc.integer(), fc.constant(SECRET), fc.string(), symbol, fc.constant(503)) }),
    errorWithOddMessage,
    symbol,
    fc.constant(SECRET),
    fc.string().map((s) => `${s}\n    at stack (frame.js:1:1)`),
  );
  return fc.oneof(
    plain.map((value) => made(fc.stringify(value), () => value)),
    throwingGetter,
    trapAll,
    revoked,
  );
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});

afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

async function runOnce(probe: Probe): Promise<RunResult> {
  const redactor = createRedactor();
  redactor.add([SECRET]);
  const run = runProbe(probe, common({ name: 'custom', kind: 'custom', timeoutMs: 1000, intervalMs: 2000 }), {
    redact: (text) => redactor.redact(text),
  });
  // Not `settled`: a value with a `then` of its own may never settle the probe; the result
  // comes at the deadline all the same.
  const result = await run.result;
  // Long enough for a rejection nobody handled to be reported.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return result;
}

function expectAResult(result: RunResult): void {
  expect(['pass', 'warn', 'fail']).toContain(result.status);
  expect(Number.isFinite(result.durationMs)).toBe(true);
  expect(Number.isFinite(result.observedValue)).toBe(true);
  expect(Number.isFinite(result.finishedAt)).toBe(true);
  if (result.status === 'pass') expect(result.output).toBeUndefined();
  else {
    expect(typeof result.output).toBe('string');
    expect(result.output).not.toBe('');
    expect(result.output).not.toContain('\n');
    expect(result.output).not.toContain(SECRET);
    expect((result.output ?? '').length).toBeLessThanOrEqual(500);
  }
  if (result.status === 'fail') expect(FAILURE_REASONS).toContain(result.reason);
  else expect(result.reason).toBeUndefined();
  expect(unhandled).toEqual([]);
}

describe('runProbe: whatever a custom check does is a result, never a crash', () => {
  it('any value a probe resolves with is a pass or warn (or a fail naming a result it could not read)', async () => {
    await fc.assert(
      fc.asyncProperty(hostile(), async (make) => {
        const result = await runOnce(async () => make() as never);
        expectAResult(result);
      }),
      { numRuns: 300 },
    );
  });

  it('any value a probe throws, or rejects with, is a fail with a one-line reason', async () => {
    await fc.assert(
      fc.asyncProperty(hostile(), fc.boolean(), async (make, synchronous) => {
        const probe: Probe = synchronous
          ? () => {
              throw make();
            }
          : // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- any value: that is the test
            () => Promise.reject(make());
        const result = await runOnce(probe);
        expectAResult(result);
        expect(result.status).toBe('fail');
      }),
      { numRuns: 300 },
    );
  });

  it('an Error with an empty message and an empty or multi-line code still gets a one-line reason', async () => {
    for (const code of ['', '  ', '\nE_X']) {
      const error = new Error('');
      Object.defineProperty(error, 'code', { value: code });
      const result = await runOnce(() => Promise.reject(error));
      expectAResult(result);
    }
  });

  it('an error code that names an Object.prototype member (toString, constructor, __proto__) is reason error', async () => {
    // fast-check found `code: "toString"` reported as a function in the closed reason label set.
    for (const code of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const error = new Error('odd code');
      Object.defineProperty(error, 'code', { value: code });
      const result = await runOnce(() => Promise.reject(error));
      expectAResult(result);
      expect(result.reason, code).toBe('error');
    }
  });

  it('the reported cases: { warn: 503 } with a secret configured, an Error whose message is not a string, null', async () => {
    const warned = await runOnce(async () => ({ warn: 503 }) as never);
    expectAResult(warned);
    expect(warned).toMatchObject({ status: 'warn', output: '503' });

    const odd = new Error('x');
    Object.defineProperty(odd, 'message', { value: { not: 'a string' } });
    const failed = await runOnce(() => Promise.reject(odd));
    expectAResult(failed);
    expect(failed).toMatchObject({ status: 'fail', reason: 'error', output: 'Error' });

    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what a careless check does
    const nothing = await runOnce(() => Promise.reject(null));
    expectAResult(nothing);
    expect(nothing).toMatchObject({ status: 'fail', output: 'unknown error' });
  });

  it('a message carrying a configured secret is scrubbed, and only its first line is kept', async () => {
    const result = await runOnce(() =>
      Promise.reject(new Error(`login failed for ${SECRET}\n    at frame (x.js:1:1)`)),
    );
    expect(result).toMatchObject({ status: 'fail', output: 'login failed for ***' });
  });
});

describe('certificate expiry', () => {
  const DAY_MS = 86_400_000;
  const recording =
    (notAfter: number, commonName: string | undefined, result?: Awaited<ReturnType<Probe>>): Probe =>
    async (_signal, recorder) => {
      recorder.certificate({ notAfter, commonName });
      return Promise.resolve(result);
    };
  const run = (probe: Probe, warnCertExpiryMs: number | undefined, warnLatencyMs?: number) =>
    runProbe(probe, common({ warnCertExpiryMs, warnLatencyMs }), { redact: (t) => t }).result;

  it('warns below warnCertExpiry in whole days rounded down, names the CN, and keeps the earliest of several handshakes', async () => {
    const now = Date.now();
    expect(await run(recording(now + 9.9 * DAY_MS, 'db.internal'), 14 * DAY_MS)).toMatchObject({
      status: 'warn',
      output: 'certificate expires in 9d (CN=db.internal)',
    });
    expect(await run(recording(now + 20 * DAY_MS, 'db.internal'), 14 * DAY_MS)).toMatchObject({ status: 'pass' });
    expect(await run(recording(now + 2 * DAY_MS, 'x'), undefined)).toMatchObject({
      status: 'pass',
      certificate: { notAfter: now + 2 * DAY_MS },
    });
    expect(await run(recording(now + 3.5 * DAY_MS, undefined), 14 * DAY_MS)).toMatchObject({
      output: 'certificate expires in 3d',
    });
    const twoHops: Probe = async (_signal, recorder) => {
      recorder.certificate({ notAfter: now + 30 * DAY_MS, commonName: 'first' });
      recorder.certificate({ notAfter: now + 5.5 * DAY_MS, commonName: 'second' });
      recorder.certificate({ notAfter: now + 40 * DAY_MS, commonName: 'third' });
      return Promise.resolve();
    };
    expect(await run(twoHops, 14 * DAY_MS)).toMatchObject({
      output: 'certificate expires in 5d (CN=second)',
      certificate: { commonName: 'second' },
    });
  });

  it("a probe's own warning comes first, the certificate before slowness; a failed run keeps the certificate and fails", async () => {
    const now = Date.now();
    expect(
      await run(recording(now + DAY_MS * 1.5, 'a', { warn: 'replication lag 9s above 5s' }), 14 * DAY_MS),
    ).toMatchObject({
      output: 'replication lag 9s above 5s',
    });
    const slow: Probe = async (_signal, recorder) => {
      recorder.certificate({ notAfter: now + DAY_MS * 1.5, commonName: 'a' });
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    expect(await run(slow, 14 * DAY_MS, 1)).toMatchObject({ output: 'certificate expires in 1d (CN=a)' });
    const failing: Probe = async (_signal, recorder) => {
      recorder.certificate({ notAfter: now + DAY_MS, commonName: 'a' });
      return Promise.reject(Object.assign(new Error('Access denied'), { code: 'ER_ACCESS_DENIED_ERROR' }));
    };
    expect(await run(failing, 14 * DAY_MS)).toMatchObject({ status: 'fail', certificate: { notAfter: now + DAY_MS } });
  });
});

describe('phases', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const run = (probe: Probe, timeoutMs = 1000) =>
    runProbe(probe, common({ timeoutMs, intervalMs: 2000 }), { redact: (t) => t }).result;

  it('each phase lasts from the end of the one before; one reached twice adds up; a run without phases has none', async () => {
    const result = await run(async (_signal, recorder) => {
      await sleep(30);
      recorder.phase('connect');
      await sleep(60);
      recorder.phase('query');
      await sleep(30);
      recorder.phase('connect');
    });
    expect(Object.keys(result.phases ?? {})).toStrictEqual(['connect', 'query']);
    const { connect = 0, query = 0 } = result.phases ?? {};
    expect(connect).toBeGreaterThanOrEqual(58);
    expect(query).toBeGreaterThanOrEqual(59);
    expect(query).toBeLessThan(result.durationMs - 50);
    expect(connect + query).toBeLessThanOrEqual(result.durationMs);
    expect((await run(async () => undefined)).phases).toBeUndefined();
  });

  it('a failed run keeps the phases it reached; a probe past its deadline changes nothing', async () => {
    const failed = await run(async (_signal, recorder) => {
      recorder.phase('connect');
      throw new Error('Access denied');
    });
    expect(failed).toMatchObject({ status: 'fail', phases: { connect: expect.any(Number) as number } });
    let late: (() => void) | undefined;
    const timedOut = await run(async (_signal, recorder) => {
      recorder.phase('connect');
      late = () => {
        recorder.phase('query');
      };
      await sleep(200);
    }, 50);
    late?.();
    expect(timedOut.reason).toBe('timeout');
    expect(Object.keys(timedOut.phases ?? {})).toStrictEqual(['connect']);
  });
});

describe('the signal when the run is decided', () => {
  const definition = common({ name: 'held', kind: 'custom', timeoutMs: 50, intervalMs: 1000 });
  const start = (probe: Probe) => runProbe(probe, definition, { redact: (text) => text });

  it('aborts once the run passes, fails or times out, so that what the probe still holds is released', async () => {
    const seen: { reason: unknown; whenDecided: boolean }[] = [];
    const holding =
      (outcome: 'resolve' | 'reject' | 'hang'): Probe =>
      async (signal) => {
        signal.addEventListener('abort', () => seen.push({ reason: signal.reason, whenDecided: true }));
        if (outcome === 'reject') throw new Error('refused');
        if (outcome === 'hang') await new Promise(() => undefined);
        return undefined;
      };
    const passed = await start(holding('resolve')).result;
    const failed = await start(holding('reject')).result;
    const timedOut = await start(holding('hang')).result;
    expect([passed.status, failed.status, timedOut.reason]).toStrictEqual(['pass', 'fail', 'timeout']);
    expect(seen).toHaveLength(3);
    expect(seen.map(({ reason }) => (reason as Error).message)).toStrictEqual([
      'run finished',
      'run finished',
      expect.stringContaining('timeout') as string,
    ]);
  });

  it('a probe that throws before returning a promise fails its run, and has returned', async () => {
    const run = start(() => {
      throw new Error('thrown at once');
    });
    expect(await run.result).toMatchObject({ status: 'fail', output: 'thrown at once' });
    await run.settled;
    expect(run.returned()).toBe(true);
  });

  it('cancel() fails the run at once and aborts the probe with the reason', async () => {
    let reason: unknown;
    const run = start(async (signal) => {
      await new Promise<void>((resolve) => {
        signal.addEventListener('abort', () => {
          reason = signal.reason;
          resolve();
        });
      });
    });
    run.cancel();
    expect(await run.result).toMatchObject({ status: 'fail', output: 'check stopped' });
    expect((reason as Error).message).toBe('check stopped');
    expect(run.returned()).toBe(false);
    await run.settled;
    expect(run.returned()).toBe(true);
  });
});
