import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { SecurityConfig } from '../types.js';
import { createCidrSet, normalizeAddress } from './cidr.js';
import { createHostCheck } from './host.js';

export interface CallerFacts {
  /** The TCP peer's address. */
  readonly peer: string | undefined;
  readonly forwardedFor: string | string[] | undefined;
  readonly authorization: string | undefined;
  /** The Host header: authorization by address holds only for a Host no web page can rebind. */
  readonly host?: string | undefined;
}

export interface Authorizer {
  /**
   * The client's address: the peer, or the rightmost untrusted X-Forwarded-For hop behind
   * trusted proxies; undefined when that hop is not an address.
   */
  clientAddress(facts: CallerFacts): string | undefined;
  /**
   * True when the caller may see per-check details and reload the config: a matching bearer
   * token, or a client address in `security.allow` reached through a Host a page cannot rebind.
   */
  isAuthorized(facts: CallerFacts): boolean;
  /** True when per-check details are shown to this caller. */
  showsDetails(facts: CallerFacts): boolean;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** `allowedHosts`: server.allowedHosts, the DNS names vitals is reached by (see createHostCheck). */
export function createAuthorizer(security: SecurityConfig, allowedHosts: readonly string[] = []): Authorizer {
  const allow = createCidrSet(security.allow);
  const trustedHost = createHostCheck(allowedHosts);
  const proxies = createCidrSet(security.trustProxy);
  // Hashing both sides gives equal-length buffers, so the comparison time says nothing about
  // the token's length or its first differing character.
  const tokenDigest = security.token === '' ? undefined : digest(security.token);

  function clientAddress({ peer, forwardedFor }: CallerFacts): string | undefined {
    if (peer === undefined) return undefined;
    let client = normalizeAddress(peer);
    if (forwardedFor === undefined || !proxies.has(client)) return client;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
      .split(',')
      .map((hop) => normalizeAddress(hop.trim()))
      .filter((hop) => hop !== '');
    for (let i = hops.length - 1; i >= 0; i -= 1) {
      const hop = hops[i] ?? '';
      // A hop that is not an address is the rightmost untrusted entry: the client is unknown,
      // and must not be taken for the trusted proxy that relayed it (which may be allowed).
      if (isIP(hop) === 0) return undefined;
      client = hop;
      if (!proxies.has(hop)) return hop;
    }
    return client;
  }

  function hasToken(authorization: string | undefined): boolean {
    if (tokenDigest === undefined || authorization === undefined) return false;
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) return false;
    return timingSafeEqual(digest(match[1]), tokenDigest);
  }

  function isAuthorized(facts: CallerFacts): boolean {
    if (hasToken(facts.authorization)) return true;
    // A token cannot be sent by a page that does not know it; an address can (DNS rebinding).
    if (!trustedHost(facts.host)) return false;
    const address = clientAddress(facts);
    return address !== undefined && allow.has(address);
  }

  return {
    clientAddress,
    isAuthorized,
    showsDetails(facts) {
      switch (security.details) {
        case 'always':
          return true;
        case 'never':
          return false;
        case 'authorized':
          return isAuthorized(facts);
      }
    },
  };
}
