/**
 * Probes and definitions for engine specs under fake timers: nothing here opens a socket, and a
 * probe's duration is whatever the spec makes the fake clock do.
 */
import { z } from 'zod';
import {
  RESPONSE_TIME,
  type CheckCommon,
  type CheckDefinition,
  type CheckKind,
  type Probe,
  type ProbeSuccess,
} from '../../../src/types.js';

export function common(overrides: Partial<CheckCommon> = {}): CheckCommon {
  return {
    name: 'db',
    kind: 'fake',
    critical: true,
    intervalMs: 1000,
    timeoutMs: 100,
    failureThreshold: 1,
    successThreshold: 1,
    warnLatencyMs: undefined,
    ...overrides,
  };
}

/** What a scripted probe does on each call. */
export type Step =
  | { readonly pass: number; readonly warn?: string }
  | { readonly fail: number; readonly error?: unknown }
  /** Never settles, whatever the signal says, until `release()`. */
  | 'ignore-deadline';

export interface ScriptedProbe {
  readonly run: Probe;
  /** performance.now() at each call. */
  readonly calls: number[];
  /** The step every later call repeats once the script is used up. */
  next: Step;
  /** Settles every probe that ignored its deadline. */
  release(): void;
}

/** A probe that takes `pass`/`fail` ms of fake time, or hangs past its deadline. */
export function scripted(first: Step = { pass: 0 }, ...rest: Step[]): ScriptedProbe {
  const queue = [first, ...rest];
  const hung: (() => void)[] = [];
  const probe: ScriptedProbe = {
    calls: [],
    next: rest.length === 0 ? first : { pass: 0 },
    release() {
      for (const settle of hung.splice(0)) settle();
    },
    run: (signal) => {
      probe.calls.push(performance.now());
      const step = queue.shift() ?? probe.next;
      if (step === 'ignore-deadline') return new Promise<undefined>((resolve) => hung.push(() => resolve(undefined)));
      return new Promise<ProbeSuccess | undefined>((resolve, reject) => {
        const ms = 'pass' in step ? step.pass : step.fail;
        const timer = setTimeout(() => {
          if ('pass' in step) resolve(step.warn === undefined ? undefined : { warn: step.warn });
          else reject(step.error instanceof Error ? step.error : new Error('dependency down'));
        }, ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        });
      });
    },
  };
  return probe;
}

/**
 * A kind whose checks run the probe registered under their `probe` option, so that a spec
 * can give each definition (old and new of the same name) its own behaviour.
 */
export function fakeKinds(probes: ReadonlyMap<string, Probe>): ReadonlyMap<string, CheckKind> {
  const kind: CheckKind<{ probe: string }> = {
    kind: 'fake',
    componentType: 'component',
    observed: RESPONSE_TIME,
    options: z.strictObject({ probe: z.string() }),
    target: (o) => `fake:${o.probe}`,
    create: (o) => {
      const probe = probes.get(o.probe);
      if (probe === undefined) throw new Error(`no probe "${o.probe}"`);
      return probe;
    },
  };
  return new Map([['fake', kind]]);
}

export function definition(name: string, probe: string, overrides: Partial<CheckCommon> = {}): CheckDefinition {
  return { ...common({ name, ...overrides }), options: { probe } };
}
