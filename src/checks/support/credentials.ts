import { z } from 'zod';
import { RESPONSE_TIME, type CheckKind } from '../../types.js';
import type { UrlSpec } from '../../types.js';
import { endpoint, hostPort, urlPasswords } from './url.js';

/** `password` / `passwordFile` of every kind with credentials; either overrides the URL's. */
export const credentialOptions = {
  password: z.string().optional(),
  passwordFile: z.string().min(1).optional(),
};

/** The loader reads `passwordFile` and puts its content (one trailing newline off) in `password`. */
export const PASSWORD_FILE: NonNullable<CheckKind['secretFiles']> = { passwordFile: 'password' };

/** A refinement for a kind's options: at most one of the two. */
export const onePassword = [
  (o: { password?: string | undefined; passwordFile?: string | undefined }) =>
    !(o.password !== undefined && o.passwordFile !== undefined),
  { message: 'set either password or passwordFile, not both' },
] as const;

/**
 * What every datastore kind addressed by a URL with credentials declares the same way: its
 * component type and observed response time, its URL,
 * its password file, a `host:port` target (never a credential), and its secrets (the override
 * and the URL's password, decoded and as written, which a user's own percent-encoding may differ
 * from: both are in the config).
 */
export function urlDatastoreKind(spec: UrlSpec) {
  return {
    componentType: 'datastore' as const,
    observed: RESPONSE_TIME,
    url: spec,
    secretFiles: PASSWORD_FILE,
    target: (o: { url: string }) => {
      const e = endpoint(o.url, spec);
      return hostPort(e.host, e.port);
    },
    secrets: (o: { url: string; password?: string | undefined }) =>
      [o.password ?? '', ...urlPasswords(o.url, spec)].filter((s) => s !== ''),
  } satisfies Partial<CheckKind<{ url: string; password?: string | undefined }>>;
}
