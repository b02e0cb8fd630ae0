/**
 * The contract every check kind passes, against real servers: `runCheckKindContract(fixtures)`
 * inside a `describe` whose `beforeAll` starts them. Each run goes through the engine's own
 * deadline path (`runProbe`), with a config parsed by the real loader (so registration, the
 * strict schema and `passwordFile` are exercised), and with redaction OFF: a secret must stay
 * out of the kind's target and output by construction, not because the engine scrubs it.
 */
import { expect, it } from 'vitest';
import { checkKinds } from '../../src/checks/index.js';
import { ConfigError, parseConfig, type Config } from '../../src/config/load.js';
import { runProbe } from '../../src/engine/run-probe.js';
import type { CheckDefinition, CheckKind, RunResult } from '../../src/types.js';
import { waitFor } from './wait.js';

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
  /** The real server stopped with SIGSTOP, and resumed: fails with `timeout` at the deadline. */
  readonly pause?: { readonly pause: () => void; readonly resume: () => void };
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
    { defaults: { interval: `${String(timeoutMs * 4)}ms`, timeout: `${String(timeoutMs)}ms` }, checks: [{ name: 'contract', kind, ...fields }] },
    'contract test',
    { env: {} },
  );
}

/** The config problems for one check, or [] when it is valid. */
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

/** Every form a secret may take in output. */
function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret)];
}

export function runCheckKindContract(f: ContractFixtures): void {
  const timeoutMs = f.timeoutMs ?? 500;
  /** Everything each run showed, for the final secrets test. */
  const shown: string[] = [];
  const run = async (fields: Fields, deadlineMs = RELAXED_TIMEOUT_MS) => {
    const r = await runCheck(f.kind, fields, deadlineMs);
    shown.push(r.target, r.result.output ?? '');
    return r;
  };
  const settle = async (baseline: number | undefined, what: string) => {
    if (f.connections === undefined || baseline === undefined) return;
    await waitFor(async () => (await f.connections?.()) === baseline, 3000, `${what}: server connections back to ${String(baseline)}`);
  };

  it('is registered, and its strict schema rejects an unknown key with its path', () => {
    expect(checkKinds.has(f.kind)).toBe(true);
    expect(configProblems(f.kind, { ...f.healthy(), bogus: 1 })).toEqual(['checks[0].bogus: unknown key']);
    expect(configProblems(f.kind, f.healthy())).toEqual([]);
  });

  it('passes against a healthy server, with the SPEC §4 target, and leaves no connection open', async () => {
    const before = await f.connections?.();
    const { result, target } = await run(f.healthy());
    expect(result, result.output).toMatchObject({ status: 'pass', reason: undefined, output: undefined });
    expect(target).toBe(f.target());
    await settle(before, 'after a pass');
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
        expect(result).toMatchObject({ status: 'fail', reason: 'timeout', output: `timeout after ${String(timeoutMs)}ms` });
        expect(result.durationMs).toBeGreaterThanOrEqual(timeoutMs - 5);
        expect(result.durationMs).toBeLessThan(timeoutMs + 250);
        // The probe honoured its signal: it returned right after the deadline...
        expect(settledMs).toBeLessThan(timeoutMs + 250);
        // ...and let go of the server.
        const { openSockets } = silent;
        if (openSockets !== undefined) await waitFor(() => openSockets() === 0, 2000, 'the silent server to see every socket closed');
      });
    } else {
      it('passes against a server that accepts and never answers (it cannot tell), and closes its socket', async () => {
        const { result } = await run(silent.fields());
        expect(result).toMatchObject({ status: 'pass' });
        const { openSockets } = silent;
        if (openSockets !== undefined) await waitFor(() => openSockets() === 0, 2000, 'the silent server to see every socket closed');
      });
    }
  }

  if (f.wrongCredentials !== undefined) {
    const wrong = f.wrongCredentials;
    it('fails with reason auth on a wrong password, and leaves no connection open', async () => {
      const before = await f.connections?.();
      const { result } = await run(wrong());
      expect(result).toMatchObject({ status: 'fail', reason: 'auth' });
      await settle(before, 'after an auth failure');
    });
  }

  if (f.pause !== undefined) {
    const { pause, resume } = f.pause;
    it('fails with reason timeout at the deadline while the server is stopped (SIGSTOP), and leaves no connection once it resumes', async () => {
      const before = await f.connections?.();
      pause();
      try {
        const { result, settledMs } = await run(f.healthy(), timeoutMs);
        expect(result).toMatchObject({ status: 'fail', reason: 'timeout', output: `timeout after ${String(timeoutMs)}ms` });
        expect(result.durationMs).toBeLessThan(timeoutMs + 250);
        expect(settledMs).toBeLessThan(timeoutMs + 250);
      } finally {
        resume();
      }
      await settle(before, 'after the server resumed');
      const { result } = await run(f.healthy());
      expect(result.status).toBe('pass');
    });
  }

  it('declares its secrets to the engine, and no run showed one in its target or output', () => {
    const secrets = f.secrets?.() ?? [];
    if (secrets.length > 0) {
      const declared = [f.healthy, f.wrongCredentials].flatMap((fields) => (fields === undefined ? [] : checkConfig(f.kind, fields()).secrets));
      for (const secret of secrets) expect(declared).toContain(secret);
    }
    const everything = shown.join('\n');
    for (const secret of secrets) {
      for (const form of forms(secret)) expect(everything).not.toContain(form);
    }
    expect(shown.length).toBeGreaterThan(0);
  });
}
