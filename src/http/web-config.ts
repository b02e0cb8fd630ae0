/**
 * The listener's web config file, in the Prometheus exporter-toolkit format
 * (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md):
 * TLS (with client certificates), basic auth with bcrypt hashes, extra response headers and a
 * rate limit. Every file the toolkit loads loads here too, unless it uses a setting vitals does
 * not implement, which is then refused by name rather than ignored.
 *
 * Everything is checked at load time, the certificate files included (a TLS secure context is
 * built from them), so that a bad file is a start-up error and, at a live re-read, is refused
 * before anything changes.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { dirname, resolve as resolvePath } from 'node:path';
import { createSecureContext, type SecureVersion } from 'node:tls';
import { z } from 'zod';
import { ConfigError, firstLine, zodProblems } from '../config/problems.js';
import { readErrorCode, readRegularFile } from '../config/read-file.js';
import { parseYaml } from '../config/yaml.js';

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
const VERSION_ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** What node's https server needs, and what a live re-read hands to `setSecureContext()`. */
export interface WebTls {
  readonly clientAuth: ClientAuthType;
  /** Ask the client for a certificate (every mode but NoClientCert). */
  readonly requestCert: boolean;
  /**
   * Refuse the handshake without a certificate signed by client_ca_file (RequireAndVerifyClientCert);
   * without client_ca_file, by a root CA node trusts, as Go falls back to the system roots.
   */
  readonly rejectUnauthorized: boolean;
  readonly secureContext: {
    readonly cert: Buffer;
    readonly key: Buffer;
    readonly ca: Buffer | undefined;
    readonly minVersion: SecureVersion;
    readonly maxVersion: SecureVersion;
  };
  /** The served certificate, for logs: which one is in force after a rotation. */
  readonly certificate: { readonly serialNumber: string; readonly subject: string; readonly validTo: string };
}

export interface RateLimit {
  /** A token comes back this often. */
  readonly intervalMs: number;
  /** The bucket's size: this many requests at once. */
  readonly burst: number;
}

export interface WebConfig {
  /** The file it came from. */
  readonly source: string;
  readonly tls: WebTls | undefined;
  /** User name → bcrypt hash; empty = basic auth off. */
  readonly users: ReadonlyMap<string, string>;
  /** Extra response headers, as [name, value]. */
  readonly headers: readonly (readonly [string, string])[];
  /** The main listener's token bucket; undefined = no limit (no rate_limit, or interval 0). */
  readonly rateLimit: RateLimit | undefined;
  /** Settings that load but do nothing, for the log: the file is valid, maybe not what was meant. */
  readonly warnings: readonly string[];
  /** The web config file and every file it names (absolute): what a watcher must poll. */
  readonly files: readonly string[];
}

/**
 * bcrypt's modular crypt format: $2a$, $2b$ or $2y$, a cost of 04-31, 22 + 31 characters. The
 * original $2$ is refused: the bcrypt vitals uses cannot check it, so it would never match.
 */
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/** Exporter-toolkit keys vitals does not implement: refused by name rather than as unknown. */
const UNSUPPORTED_TLS_KEYS = [
  'cert',
  'key',
  'client_ca',
  'cipher_suites',
  'curve_preferences',
  'prefer_server_cipher_suites',
  'client_allowed_sans',
];

/**
 * Headers vitals owns or that break HTTP when set on every response. The exporter-toolkit is
 * stricter still (five security headers only); every file it accepts is accepted here.
 */
const FORBIDDEN_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'authorization',
  'www-authenticate',
  'cache-control',
  'allow',
  'date',
  'location',
  'set-cookie',
]);
/** The values the exporter-toolkit allows for its enumerated headers. */
const ENUMERATED_HEADERS: Readonly<Record<string, readonly string[]>> = {
  'x-content-type-options': ['nosniff'],
  'x-frame-options': ['deny', 'sameorigin'],
};

const tlsVersion = z.enum(Object.keys(TLS_VERSIONS) as [string, ...string[]], {
  error: `expected one of ${Object.keys(TLS_VERSIONS).join(', ')}`,
});

const tlsSchema = z
  .strictObject({
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    client_ca_file: z.string().optional(),
    client_auth_type: z
      .enum(CLIENT_AUTH_TYPES, { error: `expected one of ${CLIENT_AUTH_TYPES.join(', ')}` })
      .optional(),
    min_version: tlsVersion.optional(),
    max_version: tlsVersion.optional(),
    ...Object.fromEntries(
      UNSUPPORTED_TLS_KEYS.map((key) => [key, z.never({ error: 'not supported by vitals' }).optional()]),
    ),
  })
  .nullable();

const webConfigSchema = z.strictObject({
  tls_server_config: tlsSchema.optional(),
  http_server_config: z
    .strictObject({
      // YAML reads `X-XSS-Protection: 1` as a number; the toolkit (Go) takes it as the text.
      headers: z
        .record(
          z.string(),
          z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string' }).transform(String),
        )
        .nullable()
        .optional(),
      /** Accepted for compatibility; vitals serves HTTP/1.1. */
      http2: z.boolean().optional(),
    })
    .nullable()
    .optional(),
  rate_limit: z
    .strictObject({
      interval: z
        .union([z.string(), z.number()])
        .optional()
        .transform((value, ctx) => {
          const ms =
            value === undefined ? 0 : typeof value === 'number' ? nanosecondsToMs(value) : parseGoDuration(value);
          if (ms === undefined) {
            ctx.addIssue({ code: 'custom', message: 'expected a duration such as 1s or 500ms' });
            return z.NEVER;
          }
          return ms;
        }),
      burst: z
        .number({ error: 'expected a whole number, 0 or more' })
        .int({ error: 'expected a whole number, 0 or more' })
        .min(0, { error: 'expected a whole number, 0 or more' })
        .optional(),
    })
    .nullable()
    .optional(),
  basic_auth_users: z
    .record(
      z.string().regex(/^[^:]+$/, 'a user name must be non-empty and contain no ":"'),
      z
        .string({ error: 'expected a bcrypt hash' })
        .regex(BCRYPT_HASH, 'expected a bcrypt hash ($2y$10$..., 60 characters); never a plain-text password'),
    )
    .nullable()
    .optional(),
});

const GO_UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const GO_DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/**
 * A duration as the toolkit reads it (Go's time.ParseDuration: "1s", "1m30s", "1.5s", "250ms"),
 * in milliseconds; undefined when it is not one. A negative one is refused: Go would make it
 * "no limit", which is what leaving rate_limit out says plainly.
 */
function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!GO_DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, value, unit] of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g))
    total += Number(value) * (GO_UNIT_MS[unit ?? ''] ?? 0);
  return Number.isFinite(total) ? total : undefined;
}

/** A bare number is nanoseconds, as Go reads an integer into a time.Duration. */
function nanosecondsToMs(value: number): number | undefined {
  return Number.isInteger(value) && value >= 0 ? value / 1e6 : undefined;
}

function readFile(path: string, at: string, baseDir: string, problems: string[], files: string[]): Buffer | undefined {
  const absolute = resolvePath(baseDir, path);
  files.push(absolute);
  try {
    return readRegularFile(absolute);
  } catch (error) {
    problems.push(`${at}: cannot read "${path}" (${readErrorCode(error)})`);
    return undefined;
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function parseTls(
  raw: NonNullable<z.infer<typeof tlsSchema>>,
  baseDir: string,
  problems: string[],
  files: string[],
  warnings: string[],
): WebTls | undefined {
  const certFile = raw.cert_file ?? '';
  const keyFile = raw.key_file ?? '';
  const caFile = raw.client_ca_file ?? '';
  const clientAuth = raw.client_auth_type ?? 'NoClientCert';
  // As in the exporter-toolkit: a certificate, a key, a client CA or a client_auth_type turns
  // TLS on; without them the listener serves plain HTTP, and min_version & co. do nothing.
  if (certFile === '' && keyFile === '' && caFile === '' && raw.client_auth_type === undefined) {
    const idle = Object.entries(raw)
      .filter(([, value]: [string, unknown]) => value !== undefined && value !== '')
      .map(([key]) => key);
    if (idle.length > 0) {
      warnings.push(
        `tls_server_config: no cert_file and key_file, so no TLS: ${idle.join(', ')} ${idle.length === 1 ? 'does' : 'do'} nothing`,
      );
    }
    return undefined;
  }
  if (certFile === '' && keyFile === '') {
    problems.push('tls_server_config: cert_file and key_file are required to serve TLS');
    return undefined;
  }
  const before = problems.length;
  if (certFile === '') problems.push('tls_server_config.cert_file: required with key_file');
  if (keyFile === '') problems.push('tls_server_config.key_file: required with cert_file');
  if (clientAuth === 'NoClientCert' && caFile !== '') {
    problems.push(
      'tls_server_config.client_auth_type: client_ca_file is set but client_auth_type is NoClientCert (set one, e.g. RequireAndVerifyClientCert)',
    );
  }
  const minVersion = TLS_VERSIONS[raw.min_version ?? 'TLS12'] ?? 'TLSv1.2';
  const maxVersion = TLS_VERSIONS[raw.max_version ?? 'TLS13'] ?? 'TLSv1.3';
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion)) {
    problems.push(
      `tls_server_config.min_version: ${raw.min_version ?? ''} is above max_version ${raw.max_version ?? ''}`,
    );
  }

  const cert =
    certFile === '' ? undefined : readFile(certFile, 'tls_server_config.cert_file', baseDir, problems, files);
  const key = keyFile === '' ? undefined : readFile(keyFile, 'tls_server_config.key_file', baseDir, problems, files);
  // Without client_ca_file the verifying modes check against node's root CAs
  // (tls.rootCertificates), as Go checks against the system roots.
  const ca = caFile === '' ? undefined : readFile(caFile, 'tls_server_config.client_ca_file', baseDir, problems, files);

  let certificate: X509Certificate | undefined;
  if (cert !== undefined) {
    try {
      certificate = new X509Certificate(cert);
    } catch (error) {
      problems.push(`tls_server_config.cert_file: "${certFile}" holds no PEM certificate (${firstLine(error)})`);
    }
  }
  if (key !== undefined) {
    try {
      createPrivateKey(key);
    } catch (error) {
      problems.push(
        `tls_server_config.key_file: "${keyFile}" holds no unencrypted PEM private key (${firstLine(error)})`,
      );
    }
  }
  if (ca !== undefined) {
    // Node's secure context silently ignores a CA file without certificates: every client
    // certificate would then be refused, or worse, none asked for. Check each block.
    const blocks = ca.toString('utf8').match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) problems.push(`tls_server_config.client_ca_file: "${caFile}" holds no PEM certificate`);
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (error) {
        problems.push(
          `tls_server_config.client_ca_file: "${caFile}" holds an invalid certificate (${firstLine(error)})`,
        );
        break;
      }
    }
  }
  if (problems.length > before || cert === undefined || key === undefined || certificate === undefined)
    return undefined;

  const secureContext = { cert, key, ca, minVersion, maxVersion };
  try {
    createSecureContext(secureContext);
  } catch (error) {
    problems.push(
      `tls_server_config: cert_file "${certFile}" and key_file "${keyFile}" cannot serve TLS (${firstLine(error)})`,
    );
    return undefined;
  }
  return {
    clientAuth,
    requestCert: clientAuth !== 'NoClientCert',
    rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert',
    secureContext,
    certificate: {
      serialNumber: certificate.serialNumber,
      subject: certificate.subject.replace(/\n/g, ', '),
      validTo: certificate.validTo,
    },
  };
}

function parseHeaders(raw: Readonly<Record<string, string>>, problems: string[]): [string, string][] {
  const headers: [string, string][] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(raw)) {
    const at = `http_server_config.headers.${name}`;
    const lower = name.toLowerCase();
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      problems.push(`${at}: ${firstLine(error)}`);
      continue;
    }
    if (FORBIDDEN_HEADERS.has(lower) || (lower.startsWith('content-') && lower !== 'content-security-policy')) {
      problems.push(`${at}: this header cannot be configured (vitals sets it, or it would break HTTP)`);
      continue;
    }
    const allowed = ENUMERATED_HEADERS[lower];
    if (allowed !== undefined && !allowed.includes(value.toLowerCase())) {
      problems.push(`${at}: expected one of ${allowed.join(', ')}, got "${value}"`);
      continue;
    }
    if (seen.has(lower)) {
      problems.push(`${at}: set twice (header names are case-insensitive)`);
      continue;
    }
    seen.add(lower);
    headers.push([name, value]);
  }
  return headers;
}

/** Validates a parsed web config document; relative paths are resolved from `baseDir`. */
export function parseWebConfig(document: unknown, source: string, baseDir: string, files: string[] = []): WebConfig {
  // An empty file is valid and configures nothing, as in the exporter-toolkit.
  const parsed = webConfigSchema.safeParse(document ?? {});
  if (!parsed.success) throw new ConfigError(source, zodProblems(parsed.error));
  const problems: string[] = [];
  const warnings: string[] = [];
  const {
    tls_server_config: rawTls,
    http_server_config: http,
    basic_auth_users: users,
    rate_limit: rawLimit,
  } = parsed.data;
  const tls =
    rawTls === undefined || rawTls === null ? undefined : parseTls(rawTls, baseDir, problems, files, warnings);
  const headers = parseHeaders(http?.headers ?? {}, problems);
  // As in the toolkit: an interval of 0 is no limit at all, whatever the burst.
  const intervalMs = rawLimit?.interval ?? 0;
  const rateLimit = intervalMs > 0 ? { intervalMs, burst: rawLimit?.burst ?? 0 } : undefined;
  if (rateLimit?.burst === 0)
    warnings.push('rate_limit.burst: 0 refuses every request but the probes (429); set burst to 1 or more');
  if (problems.length > 0) throw new ConfigError(source, problems);
  return { source, tls, users: new Map(Object.entries(users ?? {})), headers, rateLimit, warnings, files };
}

/**
 * Reads, parses and validates the web config file; throws ConfigError listing every problem.
 * `files` receives the files read (also when it throws), for a watcher to poll.
 */
export function loadWebConfig(path: string, files: string[] = []): WebConfig {
  const absolute = resolvePath(path);
  files.push(absolute);
  let text: string;
  try {
    text = readRegularFile(absolute).toString('utf8');
  } catch (error) {
    throw new ConfigError(path, [`cannot read web config file "${path}" (${readErrorCode(error)})`]);
  }
  return parseWebConfig(parseYaml(text, path), path, dirname(absolute), files);
}
