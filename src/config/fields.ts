import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * A Prometheus-style duration string, yielding milliseconds. The upper bound keeps every
 * value a valid Node timer delay (a longer one would fire at once and spin).
 */
export function duration(bounds: { min?: number; max?: number } = {}) {
  const min = bounds.min ?? 0;
  const max = bounds.max ?? DAY_MS;
  return z.string({ error: 'expected a duration string such as "500ms", "5s" or "1m"' }).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid duration "${text}" (use e.g. "500ms", "5s", "1m")` });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({
        code: 'custom',
        message: `duration "${text}" out of range (${formatDuration(min)} to ${formatDuration(max)})`,
      });
      return z.NEVER;
    }
    return ms;
  });
}

export const port = z.int({ error: 'expected a port number (0-65535)' }).min(0).max(65_535);

/** TLS options shared by every kind that speaks TLS. */
export const tlsOptions = z
  .strictObject({
    ca: z.string().optional(),
    caFile: z.string().optional(),
    serverName: z.string().optional(),
    insecureSkipVerify: z.boolean().default(false),
  })
  .refine((tls) => !(tls.ca !== undefined && tls.caFile !== undefined), {
    message: 'set either ca or caFile, not both',
  });
export type TlsOptions = z.infer<typeof tlsOptions>;

/** `password` / `passwordFile`, shared by every kind with credentials. */
export const credentialOptions = {
  password: z.string().optional(),
  passwordFile: z.string().min(1).optional(),
};

/** Schemes whose path is a database name, decoded by their kind. */
const DATABASE_PATH_PROTOCOLS = new Set(['mysql:', 'postgres:', 'postgresql:']);

export function parseUrl(text: string, protocols: readonly string[]): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a valid URL';
  }
  if (!protocols.includes(url.protocol)) {
    return `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  }
  if (url.hostname === '') return 'URL has no host';
  // The WHATWG parser keeps a malformed escape ("%zz") as it is; the kinds decode the user and
  // password (and a database's name from the path) with decodeURIComponent, whose URIError
  // ("URI malformed", no path) escaped config validation and crashed `vitals validate`.
  // The message never repeats the part: it may be a password.
  const decoded: [string, string][] = [
    ['user', url.username],
    ['password', url.password],
  ];
  if (DATABASE_PATH_PROTOCOLS.has(url.protocol)) decoded.push(['database name', url.pathname]);
  for (const [part, text] of decoded) {
    try {
      decodeURIComponent(text);
    } catch {
      return `invalid percent-encoding in the URL's ${part} (write a literal % as %25)`;
    }
  }
  return url;
}

/** A URL string of one of `protocols`; the error never repeats the URL, which may hold a password. */
export function urlString(protocols: readonly string[]) {
  return z.string({ error: 'expected a URL string' }).superRefine((text, ctx) => {
    const parsed = parseUrl(text, protocols);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  });
}

/** `host:port` as SPEC §4's `target` label writes it: IPv6 in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${String(port)}`;
}

/** A URL's password decoded and as written: both must be scrubbed from output. */
export function urlPasswords(text: string, protocols: readonly string[]): string[] {
  const url = parseUrl(text, protocols);
  return typeof url === 'string' ? [] : [decodeURIComponent(url.password), url.password];
}
