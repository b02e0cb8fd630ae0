import { z } from 'zod';
import type { UrlSpec } from '../../types.js';

/** `[::1]` → `::1`: node's URL keeps the brackets of an IPv6 host, sockets want none. */
export function unbracket(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** `host:port` as the `target` label writes it: IPv6 in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${String(port)}`;
}

function schemes(spec: UrlSpec): string[] {
  return Object.keys(spec.defaultPorts);
}

/** The parsed URL, or why it is unusable; the reason never repeats the URL (it may hold a password). */
export function parseUrl(text: string, spec: UrlSpec): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a valid URL';
  }
  const protocols = schemes(spec);
  if (!protocols.includes(url.protocol)) {
    return `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  }
  if (url.hostname === '') return 'URL has no host';
  // The WHATWG parser keeps a malformed escape ("%zz") as it is, and decodeURIComponent throws a
  // URIError on it ("URI malformed", naming nothing) when the probe decodes the user, the
  // password or a database's name: found here, it is a config problem with a path instead.
  const decoded: [string, string][] = [
    ['user', url.username],
    ['password', url.password],
  ];
  if (spec.pathIsDatabase) decoded.push(['database name', url.pathname]);
  for (const [part, encoded] of decoded) {
    try {
      decodeURIComponent(encoded);
    } catch {
      return `invalid percent-encoding in the URL's ${part} (write a literal % as %25)`;
    }
  }
  return url;
}

/** A URL string of the kind's schemes, checked at load. */
export function urlString(spec: UrlSpec) {
  return z.string({ error: 'expected a URL string' }).superRefine((text, ctx) => {
    const parsed = parseUrl(text, spec);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  });
}

/** A kind's URL taken apart: decoded, the brackets off the host, the default port filled in. */
export interface Endpoint {
  readonly url: URL;
  readonly host: string;
  readonly port: number;
  /** Decoded; '' when the URL has none. */
  readonly user: string;
  /** Decoded; '' when the URL has none. */
  readonly password: string;
  /** The path without its leading slash, as written. */
  readonly path: string;
  /** The path decoded, for kinds whose path names a database; undefined when empty or not one. */
  readonly database: string | undefined;
}

/** Only for a URL the kind's schema has accepted: anything else is a bug, and throws. */
export function endpoint(text: string, spec: UrlSpec): Endpoint {
  const url = parseUrl(text, spec);
  if (typeof url === 'string') throw new Error(`unvalidated URL: ${url}`);
  const path = url.pathname.replace(/^\//, '');
  const database = spec.pathIsDatabase ? decodeURIComponent(path) : '';
  return {
    url,
    host: unbracket(url.hostname),
    port: url.port === '' ? (spec.defaultPorts[url.protocol] ?? 0) : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    path,
    database: database === '' ? undefined : database,
  };
}

/** A URL's password decoded and as written (a user's own percent-encoding may differ from ours). */
export function urlPasswords(text: string, spec: UrlSpec): string[] {
  const url = parseUrl(text, spec);
  return typeof url === 'string' ? [] : [decodeURIComponent(url.password), url.password].filter((s) => s !== '');
}
