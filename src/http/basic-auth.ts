import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { bcryptCompare } from './bcrypt-thread.js';
import { KeyedBuckets } from './rate-limit.js';

/**
 * A bcrypt hash (cost 10) of a random password nobody knows: an unknown user costs the same
 * comparison as a known one, so response times do not tell which user names exist.
 */
const DUMMY_HASH = '$2b$10$0wGYxz6.J76Bj/Yknc65peskvN55F4fvMwvcmRHhzdIeFKgllC4bm';
/** Successful (user, hash, password) digests kept; a Prometheus scrape then costs one hash, not a bcrypt. */
const MAX_CACHED = 256;
/**
 * Comparisons waiting or running, in all. bcrypt costs 50-100 ms of CPU a comparison: beyond
 * this, a request with credentials not yet seen is refused without one, so a flood of wrong
 * passwords cannot queue up seconds of work (cached credentials are still accepted).
 */
const MAX_PENDING = 16;
/**
 * One comparison at a time, as the exporter-toolkit does. It runs on a worker thread, off the
 * event loop, so probes keep answering; one thread, so that bcrypt never takes more than one
 * core from the event loop. The other pending
 * comparisons wait here, not in the pool's queue.
 */
const MAX_RUNNING = 1;
/**
 * Comparisons one peer address may start: a burst of this many, then one a second. A client
 * trying passwords in a loop then costs two or three comparisons and gets refusals; a scraper
 * logs in once and is served from the cache after that.
 */
const PEER_BURST = 4;
const PEER_INTERVAL_MS = 1_000;
/**
 * A refusal without a comparison waits about as long as one would take: a client in a loop
 * does not spin the event loop with instant 401s, and a refusal looks the same either way.
 */
const REFUSAL_DELAY_MS = 100;

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
  /**
   * True when the header carries a configured user and its password. `peer` (the client's
   * address) is what the per-client budget of comparisons is kept by.
   */
  verify(authorization: string | undefined, peer?: string): Promise<boolean>;
}

/**
 * Checks basic auth credentials against bcrypt hashes (bcryptjs on a worker thread; a password is never
 * compared as plain text). Successful results are remembered by a SHA-256 digest of user, hash
 * and password, never by the plain text, as the exporter-toolkit does; failures are not.
 */
export function createBasicAuth(users: ReadonlyMap<string, string>): BasicAuth {
  const verified = new Set<string>();
  const peers = new KeyedBuckets(PEER_INTERVAL_MS, PEER_BURST);
  let pending = 0;
  let running = 0;
  const waiting: (() => void)[] = [];

  async function compare(password: string, hash: string): Promise<boolean> {
    if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    try {
      return await bcryptCompare(password, hash);
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  }

  return {
    async verify(authorization, peer = '') {
      const credentials = parseBasicAuthorization(authorization);
      if (credentials === undefined) return false;
      const hash = users.get(credentials.user);
      const key = createHash('sha256')
        .update(JSON.stringify([credentials.user, hash ?? '', credentials.password]))
        .digest('base64');
      if (hash !== undefined && verified.has(key)) return true;
      if (pending >= MAX_PENDING || !peers.take(peer)) {
        await sleep(REFUSAL_DELAY_MS);
        return false;
      }
      pending += 1;
      let ok: boolean;
      try {
        ok = await compare(credentials.password, hash ?? DUMMY_HASH);
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
