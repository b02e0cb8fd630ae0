import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

/**
 * A bcrypt hash (cost 10) of a random password nobody knows: an unknown user costs the same
 * comparison as a known one, so response times do not tell which user names exist.
 */
const DUMMY_HASH = '$2b$10$0wGYxz6.J76Bj/Yknc65peskvN55F4fvMwvcmRHhzdIeFKgllC4bm';
/** Successful (user, hash, password) digests kept; a Prometheus scrape then costs one hash, not a bcrypt. */
const MAX_CACHED = 256;
/**
 * bcrypt costs 50-100 ms of CPU a comparison. Beyond this many comparisons in flight, a
 * request with credentials not yet seen is refused without one, so a flood of wrong passwords
 * cannot queue up seconds of CPU work (cached credentials are still accepted).
 */
const MAX_PENDING = 16;

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** The user and password of an `Authorization: Basic ...` header; undefined for anything else. */
export function parseBasicAuthorization(header: string | undefined): Credentials | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header);
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function hasBasicAuthorization(header: string | undefined): boolean {
  return header !== undefined && /^Basic /i.test(header);
}

export interface BasicAuth {
  /** True when the header carries a configured user and its password. */
  verify(authorization: string | undefined): Promise<boolean>;
}

/**
 * Checks basic auth credentials against bcrypt hashes (bcryptjs; a password is never compared
 * as plain text). Successful results are remembered by a SHA-256 digest of user, hash and
 * password, never by the plain text, as the exporter-toolkit does; failures are not.
 */
export function createBasicAuth(users: ReadonlyMap<string, string>): BasicAuth {
  const verified = new Set<string>();
  let pending = 0;
  return {
    async verify(authorization) {
      const credentials = parseBasicAuthorization(authorization);
      if (credentials === undefined) return false;
      const hash = users.get(credentials.user);
      const key = createHash('sha256')
        .update(JSON.stringify([credentials.user, hash ?? '', credentials.password]))
        .digest('base64');
      if (hash !== undefined && verified.has(key)) return true;
      if (pending >= MAX_PENDING) return false;
      pending += 1;
      let ok: boolean;
      try {
        ok = await bcrypt.compare(credentials.password, hash ?? DUMMY_HASH);
      } finally {
        pending -= 1;
      }
      if (!ok || hash === undefined) return false;
      if (verified.size >= MAX_CACHED) verified.clear();
      verified.add(key);
      return true;
    },
  };
}
