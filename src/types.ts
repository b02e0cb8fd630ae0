import type { z } from 'zod';
import type { SloObjective } from './config/slo.js';

/** The status of one run, or of a check as reported after thresholds. */
export type Status = 'unknown' | 'pass' | 'warn' | 'fail';

/** Why a run failed. A closed set: it is the `reason` label of `vitals_check_failures_total`. */
export const FAILURE_REASONS = ['timeout', 'refused', 'auth', 'protocol', 'assertion', 'error'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Bounds of vitals_check_run_duration_seconds unless `metrics.durationBuckets` says otherwise (seconds). */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** IETF health-check draft component types. */
export type ComponentType = 'datastore' | 'component' | 'system';

/** What `/ready` shows as a check's observed value: the key suffix (`NAME:<key>`) and the unit. */
export interface Observed {
  readonly key: 'responseTime' | 'utilization';
  readonly unit: 'ms' | '%';
}
/** The run's duration: what most kinds observe. */
export const RESPONSE_TIME: Observed = { key: 'responseTime', unit: 'ms' };
/** A share of a resource in use, in percent (disk). */
export const UTILIZATION: Observed = { key: 'utilization', unit: '%' };

/** How a kind's `url` reads. */
export interface UrlSpec {
  /** The schemes the kind accepts (`'mysql:'`), each with the port used when the URL has none. */
  readonly defaultPorts: Readonly<Record<string, number>>;
  /**
   * The path names a database, which the kind decodes: its percent-encoding is then checked at
   * load, like the user's and the password's.
   */
  readonly pathIsDatabase: boolean;
}

/** What a probe may report when it succeeds. */
export interface ProbeSuccess {
  /** A reason to report `warn` instead of `pass` (a replica lagging, little free space). */
  readonly warn?: string;
  /** Overrides the run's duration as the observed value (disk reports utilization in percent). */
  readonly observedValue?: number;
}

/** The certificate of a peer's chain that expires first. */
export interface CertificateExpiry {
  /** Its notAfter, ms since the epoch. */
  readonly notAfter: number;
  readonly commonName: string | undefined;
}

/**
 * What a probe records during a run, whether the run then passes or fails: a handshake that
 * succeeded before a wrong password still showed the certificate.
 */
export interface RunRecorder {
  /** A TLS handshake's chain; of several in one run (redirects), the earliest expiry counts. */
  certificate(expiry: CertificateExpiry): void;
  /**
   * Phase `name` (one of the kind's `phases`) ended now: it lasted since the previous phase
   * ended, or since the run began. A phase reached twice (a redirect's second connection)
   * adds up.
   */
  phase(name: string): void;
}

/**
 * One attempt against a dependency. Resolves when it is healthy, throws when it is not.
 * It must stop its I/O when `signal` aborts: the engine aborts it at the check's deadline.
 */
// `void` so that `async () => { ... }` with no return is a probe as it is written.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type Probe = (signal: AbortSignal, recorder: RunRecorder) => Promise<ProbeSuccess | undefined | void>;

/** The common fields every check has, resolved (defaults applied, durations in ms). */
export interface CheckCommon {
  readonly name: string;
  readonly kind: string;
  readonly critical: boolean;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
  readonly warnLatencyMs: number | undefined;
  /** A pass whose peer certificate expires sooner than this is reported `warn`. */
  readonly warnCertExpiryMs?: number | undefined;
  /** Extra labels on every per-check series (`labels` in the config). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Its service level objective, for `vitals slo`; undefined when neither it nor `defaults.slo` sets one. */
  readonly slo?: SloObjective | undefined;
}

/** A check as the config describes it: common fields plus the kind's own, validated options. */
export interface CheckDefinition extends CheckCommon {
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * A kind of check: one file under src/checks/ plus one line in src/checks/index.ts. Everything
 * the rest of vitals needs to know about it is declared here, not inferred elsewhere; what it
 * must come with (its contract suite, its README section, a check in the fuzzed all-kinds
 * config) is held to by test/unit/check-kinds.test.ts. Shared probe plumbing (abort, URL, TLS,
 * credentials) is in src/checks/support/.
 * `Options` is what the kind's strict schema yields from the check's own fields.
 */
export interface CheckKind<Options = unknown> {
  readonly kind: string;
  readonly componentType: ComponentType;
  /** What its runs observe; RESPONSE_TIME unless a probe reports a value of its own. */
  readonly observed: Observed;
  /** How its `url` field reads, for kinds that take one. */
  readonly url?: UrlSpec;
  /**
   * Fields that name a file holding a secret, each with the field the loader puts the file's
   * content into (`{ passwordFile: 'password' }`); the file is re-read on every reload.
   */
  readonly secretFiles?: Readonly<Record<string, string>>;
  /** It may speak TLS, and so take warnCertExpiry. */
  readonly speaksTls?: boolean;
  /**
   * The phases its probe reports through `recorder.phase`, in order: each is a series of
   * `vitals_check_phase_duration_seconds{phase}`, 0 when the last run did not reach it.
   */
  readonly phases?: readonly string[];
  /** Strict schema of the kind's own fields (the common fields are removed before parsing). */
  readonly options: z.ZodType<Options>;
  /** The `target` label of `vitals_check_info`; never carries a credential. */
  target(options: Options): string;
  /** Strings that must never appear in an answer, a metric or a log line. */
  secrets?(options: Options): string[];
  /** Classifies an error thrown by this kind's probe; the generic classifier handles the rest. */
  classify?(error: unknown): FailureReason | undefined;
  create(options: Options, check: CheckCommon): Probe;
}

/** One finished run, before thresholds. */
export interface RunResult {
  readonly status: Exclude<Status, 'unknown'>;
  readonly durationMs: number;
  readonly observedValue: number;
  /** Wall-clock time the run finished, ms since the epoch. */
  readonly finishedAt: number;
  /** Short reason on warn/fail; never a stack or a secret. */
  readonly output: string | undefined;
  readonly reason: FailureReason | undefined;
  /** The peer certificate the run saw, when it made a TLS handshake. */
  readonly certificate?: CertificateExpiry | undefined;
  /** ms spent in each phase the run reached, by name. */
  readonly phases?: Readonly<Record<string, number>> | undefined;
}

/** A check as the routes, the metrics and an embedder see it. */
export interface CheckView {
  readonly definition: CheckCommon;
  readonly componentType: CheckKind['componentType'];
  readonly observed: CheckKind['observed'];
  /** The kind's phases; empty for kinds (and custom checks) that report none. */
  readonly phases: readonly string[];
  readonly target: string;
  readonly status: Status;
  readonly last: RunResult | undefined;
  /** ms since the epoch of the last pass or warn; 0 = never. */
  readonly lastSuccessAt: number;
  readonly awaitingFirstResult: boolean;
}

/** The `security` section, resolved: who is authorized, and who sees per-check details. */
export interface SecurityConfig {
  readonly details: 'always' | 'authorized' | 'never';
  readonly allow: readonly string[];
  /** The bearer token, read from tokenFile when that is set; '' means token auth is off. */
  readonly token: string;
  readonly trustProxy: readonly string[];
}

/** What a reload did: applied (with the checks it added, changed and removed) or not, and why. */
export interface ReloadOutcome {
  readonly applied: boolean;
  readonly problems: readonly string[];
  readonly added?: readonly string[];
  readonly changed?: readonly string[];
  readonly removed?: readonly string[];
}
