import { dirname, resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { checkKinds } from '../checks/index.js';
import { RESERVED_SERVICES } from '../grpc/services.js';
import { parseModules, type ProbeModule } from '../probe/modules.js';
import { cidrProblem } from '../security/cidr.js';
import { DEFAULT_DURATION_BUCKETS, type CheckDefinition, type SecurityConfig } from '../types.js';
import { formatDuration } from './duration.js';
import { duration, port } from './fields.js';
import { ConfigError, joinPath, zodProblems } from './problems.js';
import { maintenanceSectionSchema, parseMaintenance, type MaintenanceSchedule } from './maintenance.js';
import { resolveSlo, sloSchema, type SloFields } from './slo.js';
import { readErrorCode, readRegularFile } from './read-file.js';
import { substituteEnv, type UnsetVariable } from './substitute.js';
import { parseYaml } from './yaml.js';

export { ConfigError } from './problems.js';

const MINUTE_MS = 60_000;
/** Kubernetes' default terminationGracePeriodSeconds is 30 s; leave room for the SIGKILL race. */
const GRACE_WARNING_MS = 25_000;

const cidr = z.string().superRefine((text, ctx) => {
  const problem = cidrProblem(text);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const serverSchema = z.strictObject({
  host: z.string().min(1).optional(),
  port: port.optional(),
  probePort: port.optional(),
  grpcPort: port.optional(),
  shutdownDelay: duration({ max: 10 * MINUTE_MS }).default(5000),
  shutdownTimeout: duration({ max: 10 * MINUTE_MS }).default(10_000),
  webConfigFile: z.string().min(1).optional(),
  watchConfig: duration({ min: 100 }).optional(),
  probesWithoutAuth: z.boolean().default(true),
  /** /probe runs at most this many probes at once; more are answered 429. */
  maxConcurrentProbes: z.int().min(1).max(10_000).default(32),
  allowedHosts: z
    .array(
      z
        .string()
        .regex(
          /^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i,
          'must be a host name without scheme or port, such as vitals.example.com (a leading dot covers its subdomains)',
        ),
    )
    .default([]),
});

const securitySchema = z
  .strictObject({
    details: z.enum(['always', 'authorized', 'never']).default('authorized'),
    allow: z.array(cidr).default(['127.0.0.0/8', '::1/128']),
    token: z.string().default(''),
    tokenFile: z.string().min(1).optional(),
    trustProxy: z.array(cidr).default([]),
  })
  .refine((s) => !(s.token !== '' && s.tokenFile !== undefined), {
    message: 'set either token or tokenFile, not both',
  });

const MAX_BUCKETS = 30;

const metricsSchema = z.strictObject({
  histogram: z.boolean().default(true),
  durationBuckets: z
    .array(z.number().positive(), { error: 'must be a list of upper bounds in seconds' })
    .min(1, 'at least one upper bound')
    .max(MAX_BUCKETS, `at most ${String(MAX_BUCKETS)} buckets: each is a series for every check`)
    .refine((bounds) => bounds.every((bound, i) => i === 0 || bound > (bounds[i - 1] ?? 0)), {
      message: 'upper bounds must be strictly increasing, such as [0.01, 0.1, 1]',
    })
    .default([...DEFAULT_DURATION_BUCKETS]),
});
export type MetricsConfig = z.infer<typeof metricsSchema>;

const threshold = z.int().min(1).max(1000);
const defaultsSchema = z.strictObject({
  interval: duration({ min: 100 }).default(10_000),
  timeout: duration({ min: 10 }).default(2000),
  failureThreshold: threshold.default(1),
  successThreshold: threshold.default(1),
  slo: sloSchema.optional(),
});

// Each section is validated on its own (see `section`), so that a mistake in `server` does not
// hide the mistakes in `checks`: every problem is reported at once.
const rootSections = {
  server: serverSchema.default(serverSchema.parse({})),
  security: securitySchema.default(securitySchema.parse({})),
  defaults: defaultsSchema.default(defaultsSchema.parse({})),
  metrics: metricsSchema.default(metricsSchema.parse({})),
  checks: z.array(z.unknown()).default([]),
  // Validated module by module in src/probe/modules.ts, each with its kind's own schema.
  modules: z.unknown(),
  maintenance: maintenanceSectionSchema,
};

/**
 * Label names vitals sets itself on a per-check series, or that Prometheus and its shipped rules
 * own: an extra label by one of these names would overwrite a fact or be overwritten by one.
 */
const RESERVED_LABELS = new Set([
  'check',
  'kind',
  'critical',
  'status',
  'reason',
  'target',
  'le',
  'phase',
  'job',
  'instance',
]);
const MAX_EXTRA_LABELS = 10;

const extraLabels = z
  .record(
    z
      .string()
      .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a label name must match [a-zA-Z_][a-zA-Z0-9_]*')
      .refine((name) => !name.startsWith('__'), 'names starting with __ are reserved by Prometheus')
      .refine((name) => !RESERVED_LABELS.has(name), {
        message: `reserved: vitals sets ${[...RESERVED_LABELS].join(', ')} itself`,
      }),
    z.string().max(128, 'a label value is at most 128 characters'),
  )
  .refine((labels) => Object.keys(labels).length <= MAX_EXTRA_LABELS, {
    message: `at most ${String(MAX_EXTRA_LABELS)} labels: each rides on every series of the check`,
  });

/** The fields every check has, config or custom (`addCheck`); kinds add their own. */
export const commonSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must match [a-z0-9][a-z0-9_-]* (it becomes a metric label)')
    .max(63),
  kind: z.string(),
  critical: z.boolean().default(true),
  interval: duration({ min: 100 }).optional(),
  timeout: duration({ min: 10 }).optional(),
  failureThreshold: threshold.optional(),
  successThreshold: threshold.optional(),
  warnLatency: duration().optional(),
  // Not a timer delay, so not bound by duration()'s one-day limit: certificates live for months.
  warnCertExpiry: duration({ max: 365 * 24 * 3600 * 1000 }).optional(),
  /** Added to every series of the check (`team: payments`), for routing and grouping. */
  labels: extraLabels.optional(),
  slo: sloSchema.optional(),
});
const COMMON_KEYS = new Set(Object.keys(commonSchema.shape));

export type ServerConfig = Omit<z.infer<typeof serverSchema>, 'shutdownDelay' | 'shutdownTimeout' | 'watchConfig'> & {
  readonly shutdownDelayMs: number;
  readonly shutdownTimeoutMs: number;
  readonly watchConfigMs: number | undefined;
};

export type { SecurityConfig };

/** `defaults` resolved: what a check that leaves these fields out gets, custom checks included. */
export interface CheckDefaults {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
  /** `defaults.slo`: what a check's own `slo` falls back on, field by field. */
  readonly slo?: SloFields | undefined;
}

export interface Config {
  /** The file it came from, or "built-in default". */
  readonly source: string;
  readonly defaults: CheckDefaults;
  readonly server: ServerConfig;
  readonly security: SecurityConfig;
  /** How the per-check series are shaped; fixed for the life of the process. */
  readonly metrics: MetricsConfig;
  readonly checks: readonly CheckDefinition[];
  /** What /probe may run, by module name. */
  readonly modules: ReadonlyMap<string, ProbeModule>;
  /** The `maintenance:` section: recurring windows in which a failure is reported warn. */
  readonly maintenance: readonly MaintenanceSchedule[];
  /** Valid but risky settings, printed by `validate` and logged at start. */
  readonly warnings: readonly string[];
  /** Every secret the config holds, to scrub from all output. */
  readonly secrets: readonly string[];
  /** The config file and every secret file it read: what a watcher must poll. */
  readonly files: readonly string[];
}

export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Where relative secret-file paths are resolved from. */
  readonly baseDir?: string;
  /** The file the document came from, if any. */
  readonly configFile?: string;
}

function readSecretFile(path: string, at: string, baseDir: string, problems: string[], files: string[]): string {
  const absolute = resolvePath(baseDir, path);
  files.push(absolute);
  try {
    return readRegularFile(absolute)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  } catch (error) {
    problems.push(`${at}: cannot read "${path}" (${readErrorCode(error)})`);
    return '';
  }
}

function section<T>(schema: z.ZodType<T>, value: unknown, at: string, problems: string[]): T | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  problems.push(...zodProblems(parsed.error, at));
  return undefined;
}

type Defaults = { readonly [K in keyof z.infer<typeof defaultsSchema>]: z.infer<typeof defaultsSchema>[K] | undefined };

/**
 * The defaults field by field: an invalid field is undefined (already reported), so that the
 * valid ones still serve to check every check, and an invalid one raises no second, misleading
 * "timeout must be shorter" problem.
 */
function parseDefaults(raw: unknown, problems: string[]): Defaults {
  const whole = section(rootSections.defaults, raw, 'defaults', problems);
  if (whole !== undefined) return whole;
  const fields = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const field = <K extends keyof Defaults>(key: K): Defaults[K] => {
    const parsed = defaultsSchema.shape[key].safeParse(fields[key]);
    return (parsed.success ? parsed.data : undefined) as Defaults[K];
  };
  return {
    interval: field('interval'),
    timeout: field('timeout'),
    failureThreshold: field('failureThreshold'),
    successThreshold: field('successThreshold'),
    slo: field('slo'),
  };
}

export function timeoutProblem(at: string, timeoutMs: number, intervalMs: number): string {
  return `${at}: timeout (${formatDuration(timeoutMs)}) must be shorter than interval (${formatDuration(intervalMs)})`;
}

function substitutionProblems(unset: readonly UnsetVariable[]): string[] {
  return unset.map(({ path, variable, nested }) => {
    const at = path === '' ? '(root)' : path;
    if (variable === undefined)
      return `${at}: "\${" starts no \${VAR} or \${VAR:-default} reference (write $$ for a literal $)`;
    if (nested === true) {
      return `${at}: the default of \${${variable}:-...} holds "\${"; nested references are not supported (set ${variable}, or write $$ for a literal $)`;
    }
    return `${at}: environment variable ${variable} is not set (use \${${variable}:-default} for a default)`;
  });
}

/** What every check's validation shares: where problems go, and what it found so far. */
interface CheckContext {
  readonly defaults: Defaults;
  readonly baseDir: string;
  readonly problems: string[];
  readonly secrets: string[];
  readonly files: string[];
  /** Names seen so far, with the index of their first check. */
  readonly firstIndexOfName: Map<string, number>;
}

/** One entry of `checks`: its problems are pushed to the context; undefined when it has any. */
function parseCheck(raw: unknown, index: number, context: CheckContext): CheckDefinition | undefined {
  const { defaults, problems } = context;
  const at = `checks[${String(index)}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${at}: expected a mapping with name and kind`);
    return undefined;
  }
  // Names are compared before anything else is validated: a duplicate is a problem of its
  // own, whatever else is wrong with either entry.
  const name = (raw as { name?: unknown }).name;
  if (typeof name === 'string') {
    const previous = context.firstIndexOfName.get(name);
    if (previous !== undefined) {
      problems.push(`${at}.name: duplicate check name "${name}" (also checks[${String(previous)}])`);
    } else {
      context.firstIndexOfName.set(name, index);
    }
  }
  const entries = Object.entries(raw);
  const commonPart = Object.fromEntries(entries.filter(([key]) => COMMON_KEYS.has(key)));
  const ownPart = Object.fromEntries(entries.filter(([key]) => !COMMON_KEYS.has(key)));
  const common = commonSchema.safeParse(commonPart);
  if (!common.success) problems.push(...zodProblems(common.error, at));
  const kindName = (raw as { kind?: unknown }).kind;
  const kind = typeof kindName === 'string' ? checkKinds.get(kindName) : undefined;
  if (typeof kindName === 'string' && kind === undefined) {
    problems.push(`${at}.kind: unknown kind "${kindName}" (known: ${[...checkKinds.keys()].join(', ')})`);
  }
  let own: Record<string, unknown> | undefined;
  if (kind !== undefined) {
    const parsed = kind.options.safeParse(ownPart);
    if (parsed.success) own = { ...(parsed.data as Record<string, unknown>) };
    else problems.push(...zodProblems(parsed.error, at));
  }
  if (!common.success) return undefined;

  const c = common.data;
  if (c.warnCertExpiry !== undefined && kind !== undefined && kind.speaksTls !== true) {
    problems.push(`${at}.warnCertExpiry: kind ${kind.kind} does not speak TLS`);
    return undefined;
  }
  const intervalMs = c.interval ?? defaults.interval;
  const timeoutMs = c.timeout ?? defaults.timeout;
  // With neither overridden, the defaults' own comparison has said it once.
  if (
    (c.interval !== undefined || c.timeout !== undefined) &&
    intervalMs !== undefined &&
    timeoutMs !== undefined &&
    timeoutMs >= intervalMs
  ) {
    problems.push(timeoutProblem(c.timeout !== undefined ? `${at}.timeout` : `${at}.interval`, timeoutMs, intervalMs));
  }
  const slo = resolveSlo(c.slo, defaults.slo, at, problems);
  const failureThreshold = c.failureThreshold ?? defaults.failureThreshold;
  const successThreshold = c.successThreshold ?? defaults.successThreshold;
  if (
    own === undefined ||
    kind === undefined ||
    intervalMs === undefined ||
    timeoutMs === undefined ||
    failureThreshold === undefined ||
    successThreshold === undefined
  ) {
    return undefined;
  }
  for (const [fileField, valueField] of Object.entries(kind.secretFiles ?? {})) {
    const file = own[fileField];
    if (typeof file === 'string')
      own[valueField] = readSecretFile(file, `${at}.${fileField}`, context.baseDir, problems, context.files);
  }
  context.secrets.push(...(kind.secrets?.(own) ?? []));
  return {
    name: c.name,
    kind: kind.kind,
    critical: c.critical,
    intervalMs,
    timeoutMs,
    failureThreshold,
    successThreshold,
    warnLatencyMs: c.warnLatency,
    warnCertExpiryMs: c.warnCertExpiry,
    ...(c.labels !== undefined ? { labels: c.labels } : {}),
    slo,
    options: own,
  };
}

/** The bearer token, from tokenFile when that is set; its problems are pushed to `problems`. */
function resolveToken(
  security: z.infer<typeof securitySchema>,
  baseDir: string,
  problems: string[],
  files: string[],
): string {
  const fromFile = security.tokenFile !== undefined;
  const token = fromFile
    ? readSecretFile(security.tokenFile ?? '', 'security.tokenFile', baseDir, problems, files)
    : security.token;
  // The Bearer header's token is one run of non-blank characters: a token with a blank could
  // never match, and token auth would be silently off.
  if (/\s/.test(token))
    problems.push(`${fromFile ? 'security.tokenFile' : 'security.token'}: the token must not contain whitespace`);
  return token;
}

/** Valid but risky settings, printed by `validate` and logged at start. */
function configWarnings(
  server: z.infer<typeof serverSchema>,
  security: z.infer<typeof securitySchema>,
  checks: readonly CheckDefinition[],
): string[] {
  const warnings: string[] = [];
  if (server.shutdownDelay + server.shutdownTimeout > GRACE_WARNING_MS) {
    warnings.push(
      `server: shutdownDelay + shutdownTimeout is ${formatDuration(server.shutdownDelay + server.shutdownTimeout)}, ` +
        'above 25s: raise terminationGracePeriodSeconds (30s by default in Kubernetes) to match',
    );
  }
  if (security.details === 'always') {
    warnings.push('security.details: "always" shows every check\'s target and error to any caller');
  }
  if (server.grpcPort !== undefined) {
    const reserved: readonly string[] = RESERVED_SERVICES;
    checks.forEach((check, index) => {
      if (reserved.includes(check.name))
        warnings.push(
          `checks[${String(index)}].name: "${check.name}" is also a gRPC health service of vitals itself; ` +
            `gRPC answers that one, and the check is reachable on /ready/${check.name} only`,
        );
    });
  }
  return warnings;
}

/** Validates an already-parsed document (YAML or a config object) into a Config. */
export function parseConfig(document: unknown, source: string, options: LoadOptions = {}): Config {
  const baseDir = options.baseDir ?? process.cwd();
  const unset: UnsetVariable[] = [];
  const tree = substituteEnv(document ?? {}, options.env ?? process.env, unset);
  const problems = substitutionProblems(unset);
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) {
    throw new ConfigError(source, [
      ...problems,
      '(root): expected a mapping with server, security, defaults and checks',
    ]);
  }
  const root = tree as Record<string, unknown>;
  for (const key of Object.keys(root)) {
    if (!Object.hasOwn(rootSections, key)) problems.push(`${joinPath([key])}: unknown key`);
  }
  const server = section(rootSections.server, root.server, 'server', problems);
  const security = section(rootSections.security, root.security, 'security', problems);
  const metrics = section(rootSections.metrics, root.metrics, 'metrics', problems);
  const defaults = parseDefaults(root.defaults, problems);
  const rawChecks = section(rootSections.checks, root.checks, 'checks', problems) ?? [];
  if (defaults.timeout !== undefined && defaults.interval !== undefined && defaults.timeout >= defaults.interval) {
    problems.push(timeoutProblem('defaults.timeout', defaults.timeout, defaults.interval));
  }

  const context: CheckContext = {
    defaults,
    baseDir,
    problems,
    secrets: [],
    files: options.configFile !== undefined ? [options.configFile] : [],
    firstIndexOfName: new Map(),
  };
  const checks = rawChecks.flatMap((raw, index) => parseCheck(raw, index, context) ?? []);
  const modules = parseModules(root.modules, {
    defaultTimeoutMs: defaults.timeout,
    problems,
    secrets: context.secrets,
    readSecret: (path, at) => readSecretFile(path, at, baseDir, problems, context.files),
  });
  const rawMaintenance = section(rootSections.maintenance, root.maintenance, 'maintenance', problems) ?? [];
  // Names from the raw entries, so that a check with another mistake is not also "unknown" here.
  const checkNames = new Set(context.firstIndexOfName.keys());
  const maintenance = parseMaintenance(rawMaintenance, checkNames, problems);

  if (server === undefined || security === undefined || metrics === undefined) throw new ConfigError(source, problems);
  const token = resolveToken(security, baseDir, problems, context.files);
  const { interval, timeout, failureThreshold, successThreshold } = defaults;
  if (
    problems.length > 0 ||
    interval === undefined ||
    timeout === undefined ||
    failureThreshold === undefined ||
    successThreshold === undefined
  ) {
    throw new ConfigError(source, problems);
  }
  const secrets = [...context.secrets, token];
  const { shutdownDelay, shutdownTimeout, watchConfig, ...serverRest } = server;
  return {
    source,
    defaults: { intervalMs: interval, timeoutMs: timeout, failureThreshold, successThreshold, slo: defaults.slo },
    server: {
      ...serverRest,
      shutdownDelayMs: shutdownDelay,
      shutdownTimeoutMs: shutdownTimeout,
      watchConfigMs: watchConfig,
    },
    security: { details: security.details, allow: security.allow, token, trustProxy: security.trustProxy },
    metrics,
    checks,
    modules,
    maintenance,
    warnings: configWarnings(server, security, checks),
    secrets: [...new Set(secrets.filter((s) => s !== ''))],
    files: context.files,
  };
}

/** Parses YAML text; syntax errors name the line and column. */
export function parseConfigText(text: string, source: string, options: LoadOptions = {}): Config {
  const tree = parseYaml(text, source);
  // A truncated ConfigMap must not start a vitals that checks nothing: an empty file and a
  // file that is only `~` are the same mistake, and both are refused.
  if (tree === null) throw new ConfigError(source, ['(root): the config file is empty']);
  return parseConfig(tree, source, options);
}

/** `alreadyRead`: the file's content as the caller read it (the CLI's early start). */
export function loadConfigFile(path: string, options: LoadOptions = {}, alreadyRead?: string): Config {
  let text: string;
  try {
    text = alreadyRead ?? readRegularFile(path).toString('utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read config file "${path}" (${readErrorCode(error)})`]);
  }
  return parseConfigText(text, path, {
    baseDir: dirname(resolvePath(path)),
    configFile: resolvePath(path),
    ...options,
  });
}

/** With no config file: one critical mysql check against MYSQL_URL (default: root on 127.0.0.1:3306). */
export const DEFAULT_CONFIG_DOCUMENT = {
  checks: [{ name: 'mysql', kind: 'mysql', url: '${MYSQL_URL:-mysql://root@127.0.0.1:3306/}' }],
};

/** The `source` of the built-in default config: no file to re-read on reload. */
export const DEFAULT_CONFIG_SOURCE = 'built-in default';

export function defaultConfig(options: LoadOptions = {}): Config {
  return parseConfig(DEFAULT_CONFIG_DOCUMENT, DEFAULT_CONFIG_SOURCE, options);
}
