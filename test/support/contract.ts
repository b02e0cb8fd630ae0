/**
 * The contract every check kind passes, against real servers: `runCheckKindContract(fixtures)`
 * inside a `describe` whose `beforeAll` starts them. Each run goes through the engine's own
 * deadline path (`runProbe`), with a config parsed by the real loader (so registration, the
 * strict schema and `passwordFile` are exercised), and with redaction OFF: a secret must stay
 * out of the kind's target and output by construction, not because the engine scrubs it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { checkKinds } from '../../src/checks/index.js';
import { ConfigError, parseConfig, type Config } from '../../src/config/load.js';
import { runProbe } from '../../src/engine/run-probe.js';
import type { CheckDefinition, CheckKind, RunResult } from '../../src/types.js';
import { openFds, ownSocketsTo, startStoppedServer, type StoppedServer } from './fds.js';
import { startBlackhole, type BlackholeListener, type LocalServer, type TlsServerFixture } from './servers.js';
import { countBackTo, steadyCount, waitUntil } from './wait.js';

/**
 * The closed set of `vitals_check_failures_total{reason}`, written out literally (not imported from
 * src) so that a reason added or dropped in the code must also change the tests that read it.
 */
export const EXPECTED_REASONS = ['assertion', 'auth', 'error', 'protocol', 'refused', 'timeout'];

/** A check's own fields (everything but name and kind). */
export type Fields = Record<string, unknown>;

export interface ContractFixtures {
  readonly kind: string;
  /** The deadline of the runs that test it (silent server, paused server). Default 500 ms. */
  readonly timeoutMs?: number;
  /** A check against the healthy server. */
  readonly healthy: () => Fields;
  /** The `target` label `healthy` must yield. */
  readonly target: () => string;
  /** A check against a closed port: fails with `refused`. Omitted for kinds without a server. */
  readonly refused?: () => Fields;
  /**
   * A check against a server that accepts and never answers: fails with `timeout` at the deadline
   * (`expect: 'pass'` for a kind that cannot tell, tcp) and leaves no socket open on it.
   */
  readonly silent?: {
    readonly fields: () => Fields;
    /** Sockets the silent server still has open (left out for UDP, which has none). */
    readonly openSockets?: () => number;
    readonly expect?: 'timeout' | 'pass';
  };
  /** A check with a wrong password: fails with `auth`. */
  readonly wrongCredentials?: () => Fields;
  /**
   * A check whose expectation the healthy server's answer does not meet: fails with `assertion`
   * and this output. Omitted for kinds that assert nothing on the answer (tcp, disk).
   */
  readonly unexpectedAnswer?: { readonly fields: () => Fields; readonly output: string | RegExp };
  /**
   * The real server stopped with SIGSTOP, and resumed: fails with `timeout` at the deadline, and
   * while runs keep hitting it for PAUSE_WINDOW_MS the process's fds and its sockets to `port`
   * stay flat.
   */
  readonly pause?: { readonly pause: () => void; readonly resume: () => void; readonly port: () => number };
  /**
   * Hung dependencies without a process to stop: while runs keep hitting one, the process's fds
   * and sockets to it stay flat. `at` is a check of this kind against 127.0.0.1:port, which the
   * contract points at a port that drops SYNs and at a stopped listener (handshakes complete from
   * its backlog, then nothing: never a byte, never a FIN); `udp` a check against a UDP server
   * that never answers, and its port.
   */
  readonly hung?: {
    readonly at?: (port: number) => Fields;
    readonly udp?: { readonly fields: () => Fields; readonly port: () => number };
  };
  /** The server's count of client connections, for before/after comparisons. */
  readonly connections?: () => Promise<number>;
  /** Strings that must appear in no target and no output (the configured passwords). */
  readonly secrets?: () => string[];
}

export interface ContractRun {
  readonly result: RunResult;
  readonly target: string;
  readonly config: Config;
  /** ms from the run's start until the probe itself returned. */
  readonly settledMs: number;
}

/** Parses one check through the real config loader. */
/**
 * The deadline of runs that do not test it: generous, so that a loaded CI machine (a TLS
 * handshake on a busy core) turns no pass into a timeout.
 */
export const RELAXED_TIMEOUT_MS = 5000;

export function checkConfig(kind: string, fields: Fields, timeoutMs = RELAXED_TIMEOUT_MS): Config {
  return parseConfig(
    {
      defaults: { interval: `${String(timeoutMs * 4)}ms`, timeout: `${String(timeoutMs)}ms` },
      checks: [{ name: 'contract', kind, ...fields }],
    },
    'contract test',
    { env: {} },
  );
}

/** The config problems for one check, or [] when it is valid. */
/** Asserts the exact problems of each `[fields, problems]` case of one kind's config. */
export function expectConfigProblems(kind: string, cases: readonly (readonly [Fields, readonly string[]])[]): void {
  for (const [fields, problems] of cases)
    expect(configProblems(kind, fields), JSON.stringify(fields)).toEqual(problems);
}

export function configProblems(kind: string, fields: Fields): readonly string[] {
  try {
    checkConfig(kind, fields);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/** The `target` label a check's fields yield. */
export function targetOf(kindName: string, fields: Fields): string {
  const definition = checkConfig(kindName, fields).checks[0] as CheckDefinition;
  return (checkKinds.get(kindName) as CheckKind).target(definition.options);
}

/** One run of one check, under the engine's deadline, with redaction off. */
export async function runCheck(kindName: string, fields: Fields, timeoutMs = RELAXED_TIMEOUT_MS): Promise<ContractRun> {
  const config = checkConfig(kindName, fields, timeoutMs);
  const definition = config.checks[0] as CheckDefinition;
  const kind = checkKinds.get(kindName) as CheckKind;
  const started = performance.now();
  const run = runProbe(kind.create(definition.options, definition), definition, {
    classify: kind.classify?.bind(kind),
    redact: (text) => text,
  });
  const result = await run.result;
  await run.settled;
  return { result, target: kind.target(definition.options), config, settledMs: performance.now() - started };
}

/** How long runs keep hitting a paused server: ~33 runs at the 300 ms deadline, so that a per-run leak is unmistakable. */
export const PAUSE_WINDOW_MS = 10_000;
/** The same for the hung servers the contract starts itself: short, as they cost no database. */
const HUNG_WINDOW_MS = 4000;
/** Runs against a hung dependency use a short deadline, so that a window holds many of them. */
const HUNG_TIMEOUT_MS = 300;
/**
 * Descriptors the process may gain during a window for reasons of its own (the test runner's
 * IPC, a lazily opened file): far below one per run, which is what a leak costs.
 */
const FD_SLACK = 3;

export interface FdAudit {
  readonly runs: number;
  readonly fdsBefore: number;
  readonly fdsMax: number;
  readonly fdsAfter: number;
  /** The most sockets to the port the process held after a run, beyond those it held before. */
  readonly socketsMax: number;
  /** Every state seen among the process's sockets to the port (those held before included). */
  readonly states: readonly string[];
  readonly results: readonly RunResult[];
}

/**
 * Runs one check back to back for `windowMs` (each under `timeoutMs`), counting after every
 * run the process's fds and its own sockets to `port`. A probe that releases its connection at
 * the deadline leaves nothing behind; one that only half-closes it, or leaves a connect pending,
 * leaves one socket (and fd) per run for as long as the dependency stays hung.
 */
export async function auditFds(
  kind: string,
  fields: Fields,
  target: { port: number; protocol?: 'tcp' | 'udp' },
  windowMs: number,
  timeoutMs = HUNG_TIMEOUT_MS,
): Promise<FdAudit> {
  const fdsBefore = openFds();
  let fdsMax = fdsBefore;
  // The test's own sockets to the port (a blackhole's backlog fillers) are there before it starts.
  const socketsBefore = ownSocketsTo(target.port, target.protocol).length;
  let socketsMax = 0;
  const states = new Set<string>();
  const results: RunResult[] = [];
  const until = performance.now() + windowMs;
  while (performance.now() < until) {
    const { result } = await runCheck(kind, fields, timeoutMs);
    results.push(result);
    // A destroyed socket's descriptor is closed at once; one turn lets a deferred close run.
    await new Promise((resolve) => setImmediate(resolve));
    const sockets = ownSocketsTo(target.port, target.protocol);
    for (const state of sockets) states.add(state);
    socketsMax = Math.max(socketsMax, sockets.length - socketsBefore);
    fdsMax = Math.max(fdsMax, openFds());
  }
  return { runs: results.length, fdsBefore, fdsMax, fdsAfter: openFds(), socketsMax, states: [...states], results };
}

function describeAudit(a: FdAudit): string {
  return (
    `${String(a.runs)} runs: fds ${String(a.fdsBefore)} -> max ${String(a.fdsMax)}, ${String(a.fdsAfter)} at the end; ` +
    `at most ${String(a.socketsMax)} more own sockets to the port (states seen: ${a.states.join(', ') || 'none'})`
  );
}

function expectFlat(a: FdAudit, minRuns: number): void {
  const summary = describeAudit(a);
  expect(a.runs, summary).toBeGreaterThanOrEqual(minRuns);
  expect(a.socketsMax, summary).toBe(0);
  expect(a.fdsMax - a.fdsBefore, summary).toBeLessThanOrEqual(FD_SLACK);
}

/** Every form a secret may take in output. */
function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret)];
}

/** Waits (2 s) until the silent server has no socket open, where it can count them. */
async function expectSilentSocketsClosed(openSockets: (() => number) | undefined): Promise<void> {
  if (openSockets === undefined) return;
  await waitUntil(() => openSockets() === 0, 2000, 'the silent server to see every socket closed');
}

/** A wrong password, for `wrongCredentials`. */
const WRONG_PASSWORD = 'not-the-password#1';

/**
 * The fixtures a `tlsServerFixture` of a URL-configured kind gives alike: the healthy URL and its
 * target, a wrong password (overriding one in the URL), pausing the real server, its connection
 * count, and the passwords as secrets.
 */
export function serverFixtures(
  fx: TlsServerFixture<LocalServer & { url(opts?: { password?: string }): string }>,
): Pick<ContractFixtures, 'healthy' | 'target' | 'wrongCredentials' | 'pause' | 'connections' | 'secrets'> {
  return {
    healthy: () => ({ url: fx.server.url() }),
    target: () => `127.0.0.1:${String(fx.server.port)}`,
    wrongCredentials: () => ({ url: fx.server.url({ password: 'in-url' }), password: WRONG_PASSWORD }),
    secrets: () => [fx.server.password, WRONG_PASSWORD, 'in-url'],
    pause: {
      pause: () => {
        fx.server.pause();
      },
      resume: () => {
        fx.server.resume();
      },
      port: () => fx.server.port,
    },
    connections: () => fx.server.connections(),
  };
}

export function runCheckKindContract(f: ContractFixtures): void {
  const timeoutMs = f.timeoutMs ?? 500;
  const run = (fields: Fields, deadlineMs = RELAXED_TIMEOUT_MS) => runCheck(f.kind, fields, deadlineMs);
  const quietConnections = async () => (f.connections === undefined ? undefined : steadyCount(f.connections));
  const settle = async (baseline: number | undefined, what: string) => {
    if (f.connections === undefined || baseline === undefined) return;
    await countBackTo(f.connections, baseline, `${what}: server connections`);
  };

  it('is registered, and its strict schema rejects an unknown key with its path', () => {
    expect(checkKinds.has(f.kind)).toBe(true);
    expect(configProblems(f.kind, { ...f.healthy(), bogus: 1 })).toEqual(['checks[0].bogus: unknown key']);
    expect(configProblems(f.kind, f.healthy())).toEqual([]);
  });

  it('passes against a healthy server, with its target label (no credential in it), and leaves no connection open', async () => {
    const before = await quietConnections();
    const { result, target } = await run(f.healthy());
    expect(result, result.output).toMatchObject({ status: 'pass', reason: undefined, output: undefined });
    expect(target).toBe(f.target());
    await settle(before, 'after a pass');
  });

  it('reports every phase it declares on a healthy run, in order (tls only where it spoke TLS), and nothing else', async () => {
    const declared = checkKinds.get(f.kind)?.phases ?? [];
    const { result } = await run(f.healthy());
    const reported = Object.keys(result.phases ?? {});
    const usedTls = result.certificate !== undefined;
    expect(reported).toStrictEqual(declared.filter((phase) => usedTls || phase !== 'tls'));
    for (const phase of reported) expect(result.phases?.[phase], phase).toBeGreaterThanOrEqual(0);
    const total = reported.reduce((sum, phase) => sum + (result.phases?.[phase] ?? 0), 0);
    expect(total).toBeLessThanOrEqual(result.durationMs);
  });

  if (f.refused !== undefined) {
    const refused = f.refused;
    it('fails with reason refused when nothing listens, without waiting for the deadline', async () => {
      const { result } = await run(refused());
      expect(result).toMatchObject({ status: 'fail', reason: 'refused' });
      expect(result.durationMs).toBeLessThan(RELAXED_TIMEOUT_MS / 5);
    });
  }

  if (f.silent !== undefined) {
    const silent = f.silent;
    if ((silent.expect ?? 'timeout') === 'timeout') {
      it('fails with reason timeout at the deadline against a server that accepts and never answers, and closes its socket', async () => {
        const { result, settledMs } = await run(silent.fields(), timeoutMs);
        expect(result).toMatchObject({
          status: 'fail',
          reason: 'timeout',
          output: `timeout after ${String(timeoutMs)}ms`,
        });
        expect(result.durationMs).toBeGreaterThanOrEqual(timeoutMs - 5);
        expect(result.durationMs).toBeLessThan(timeoutMs + 250);
        // The probe honoured its signal: it returned right after the deadline...
        expect(settledMs).toBeLessThan(timeoutMs + 250);
        // ...and let go of the server.
        await expectSilentSocketsClosed(silent.openSockets);
      });
    } else {
      it('passes against a server that accepts and never answers (it cannot tell), and closes its socket', async () => {
        const { result } = await run(silent.fields());
        expect(result).toMatchObject({ status: 'pass' });
        await expectSilentSocketsClosed(silent.openSockets);
      });
    }
  }

  if (f.wrongCredentials !== undefined) {
    const wrong = f.wrongCredentials;
    it('fails with reason auth on a wrong password, and leaves no connection open', async () => {
      const before = await quietConnections();
      const { result } = await run(wrong());
      expect(result).toMatchObject({ status: 'fail', reason: 'auth' });
      await settle(before, 'after an auth failure');
    });
  }

  if (f.unexpectedAnswer !== undefined) {
    const unexpected = f.unexpectedAnswer;
    it('fails with reason assertion when the answer is not the expected one, says why, and leaves no connection open', async () => {
      const before = await quietConnections();
      const { result } = await run(unexpected.fields());
      expect(result).toMatchObject({ status: 'fail', reason: 'assertion' });
      if (typeof unexpected.output === 'string') expect(result.output).toBe(unexpected.output);
      else expect(result.output).toMatch(unexpected.output);
      await settle(before, 'after an assertion failure');
    });
  }

  if (f.pause !== undefined) {
    const { pause, resume, port } = f.pause;
    it(
      'fails with reason timeout at the deadline while the server is stopped (SIGSTOP), holds no more fds or sockets ' +
        'however long it stays stopped, and leaves no connection once it resumes',
      async () => {
        const before = await quietConnections();
        pause();
        let audit: FdAudit;
        try {
          const { result, settledMs } = await run(f.healthy(), timeoutMs);
          expect(result).toMatchObject({
            status: 'fail',
            reason: 'timeout',
            output: `timeout after ${String(timeoutMs)}ms`,
          });
          expect(result.durationMs).toBeLessThan(timeoutMs + 250);
          expect(settledMs).toBeLessThan(timeoutMs + 250);
          audit = await auditFds(f.kind, f.healthy(), { port: port() }, PAUSE_WINDOW_MS);
        } finally {
          resume();
        }
        for (const r of audit.results) expect(r).toMatchObject({ status: 'fail', reason: 'timeout' });
        expectFlat(audit, PAUSE_WINDOW_MS / HUNG_TIMEOUT_MS / 3);
        await settle(before, 'after the server resumed');
        const { result } = await run(f.healthy());
        expect(result.status).toBe('pass');
      },
      PAUSE_WINDOW_MS + 30_000,
    );
  }

  const at = f.hung?.at;
  if (at !== undefined) {
    let blackhole: BlackholeListener | undefined;
    let stopped: StoppedServer | undefined;
    beforeAll(async () => {
      [blackhole, stopped] = await Promise.all([startBlackhole(), startStoppedServer()]);
    });
    afterAll(async () => {
      await blackhole?.close();
      await stopped?.close();
    });
    it('holds no more fds or sockets while runs keep hitting a port that drops connects (SYN-SENT)', async () => {
      const port = (blackhole as BlackholeListener).port;
      const audit = await auditFds(f.kind, at(port), { port }, HUNG_WINDOW_MS);
      for (const r of audit.results) expect(r).toMatchObject({ status: 'fail', reason: 'timeout' });
      expectFlat(audit, HUNG_WINDOW_MS / HUNG_TIMEOUT_MS / 3);
    });
    it('holds no more fds or sockets while runs keep hitting a stopped server (connects complete, nothing else ever happens)', async () => {
      const server = stopped as StoppedServer;
      const audit = await auditFds(f.kind, at(server.port), { port: server.port }, HUNG_WINDOW_MS);
      // tcp cannot tell a mute server from a healthy one; every other kind waits for an answer.
      const expected = f.silent?.expect === 'pass' ? { status: 'pass' } : { status: 'fail', reason: 'timeout' };
      for (const r of audit.results) expect(r).toMatchObject(expected);
      expectFlat(audit, HUNG_WINDOW_MS / HUNG_TIMEOUT_MS / 3);
    });
  }

  const udp = f.hung?.udp;
  if (udp !== undefined) {
    it('holds no more fds or sockets while runs keep hitting a server that never answers', async () => {
      const audit = await auditFds(f.kind, udp.fields(), { port: udp.port(), protocol: 'udp' }, HUNG_WINDOW_MS);
      for (const r of audit.results) expect(r).toMatchObject({ status: 'fail', reason: 'timeout' });
      expectFlat(audit, HUNG_WINDOW_MS / HUNG_TIMEOUT_MS / 3);
    });
  }

  /** Every check the fixtures describe that runs quickly: where a secret could leak. */
  const quickChecks = (): { what: string; fields: Fields; deadlineMs: number }[] => [
    { what: 'healthy', fields: f.healthy(), deadlineMs: RELAXED_TIMEOUT_MS },
    ...(f.wrongCredentials !== undefined
      ? [{ what: 'wrong credentials', fields: f.wrongCredentials(), deadlineMs: RELAXED_TIMEOUT_MS }]
      : []),
    ...(f.refused !== undefined ? [{ what: 'refused', fields: f.refused(), deadlineMs: RELAXED_TIMEOUT_MS }] : []),
    ...(f.silent !== undefined ? [{ what: 'silent', fields: f.silent.fields(), deadlineMs: timeoutMs }] : []),
  ];

  const secretsOf = f.secrets;
  if (secretsOf !== undefined) {
    it('declares its secrets to the engine, and none shows in the target or output of a pass, a failure or a timeout', async () => {
      const secrets = secretsOf();
      expect(secrets.length, 'a kind with a secrets fixture names at least one').toBeGreaterThan(0);
      const checks = quickChecks();
      const declared = checks.flatMap((c) => checkConfig(f.kind, c.fields).secrets);
      for (const secret of secrets) expect(declared, 'declared by some config of the fixtures').toContain(secret);
      const shown: string[] = [];
      for (const c of checks) {
        const r = await runCheck(f.kind, c.fields, c.deadlineMs);
        shown.push(`${c.what} target: ${r.target}`, `${c.what} output: ${r.result.output ?? ''}`);
      }
      const everything = shown.join('\n');
      for (const secret of secrets) {
        for (const form of forms(secret)) expect(everything).not.toContain(form);
      }
    });
  } else {
    it('has no secret fields: it takes no credential, reads no secret file, and its configs declare no secret', () => {
      const kind = checkKinds.get(f.kind) as CheckKind;
      expect(kind.secretFiles).toBeUndefined();
      const fields = kind.options instanceof z.ZodObject ? Object.keys(kind.options.shape) : [];
      expect(fields.length).toBeGreaterThan(0);
      // A URL can carry a password, and these names are credentials: such a kind needs a secrets fixture.
      expect(fields.filter((field) => /pass|secret|token|credential|auth(?!ority)|key|url/i.test(field))).toEqual([]);
      for (const c of quickChecks()) expect(checkConfig(f.kind, c.fields).secrets, c.what).toEqual([]);
    });
  }
}
