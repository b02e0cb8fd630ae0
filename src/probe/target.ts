import { isIP } from 'node:net';
import { cidrProblem, createCidrSet } from '../security/cidr.js';

/** A `/probe?target=` taken apart: a host (brackets off an IPv6 address) and maybe a port. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number | undefined;
  /** As it goes into a URL or a `host:port` field: IPv6 in brackets. */
  readonly authority: string;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const DNS_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
const BRACKETED = /^\[([^\]]+)\](?::([^:]*))?$/;
const PLAIN = /^([^:[\]]+)(?::([^:]*))?$/;

function parsePort(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65_535) return 'the port must be 1-65535';
  return Number(text);
}

/**
 * `HOST[:PORT]`, or why it is refused. Only a host and a port: whatever else a URL could carry
 * (credentials, a path, a query, a scheme) would let a caller steer the probe past the module.
 */
export function parseProbeTarget(text: string): ProbeTarget | string {
  if (text === '') return 'target is empty';
  if (SCHEME.test(text)) return 'target must be HOST:PORT, without a scheme';
  if (text.includes('@')) return 'target must not carry credentials (user@): they belong in the module';
  if (text.includes('/')) return 'target must not carry a path';
  if (text.includes('?') || text.includes('#')) return 'target must not carry a query or a fragment';
  if (text.length > 260) return 'target is too long';
  const bracketed = BRACKETED.exec(text);
  const plain = bracketed === null ? PLAIN.exec(text) : null;
  const match = bracketed ?? plain;
  if (match?.[1] === undefined) return 'target must be HOST:PORT (an IPv6 address in brackets: [::1]:3306)';
  const host = match[1];
  if (bracketed !== null ? isIP(host) !== 6 : isIP(host) === 0 && !DNS_NAME.test(host))
    return 'target host is not an IP address or a DNS name';
  const port = parsePort(match[2]);
  if (typeof port === 'string') return port;
  const hostPart = isIP(host) === 6 ? `[${host}]` : host;
  return { host, port, authority: port === undefined ? hostPart : `${hostPart}:${String(port)}` };
}

/** A module's `allowTargets`: CIDRs for IP targets, host names or `*.suffix` globs for names. */
export interface TargetAllowList {
  allows(target: ProbeTarget): boolean;
}

const HOST_GLOB = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/** Undefined when `entry` is a CIDR, an address, a host name or a `*.suffix` glob. */
export function allowEntryProblem(entry: string): string | undefined {
  const [address = ''] = entry.split('/');
  if (isIP(address) !== 0) return cidrProblem(entry);
  if (HOST_GLOB.test(entry)) return undefined;
  return `"${entry}" is neither a CIDR (10.0.0.0/8) nor a host name or glob (*.db.internal)`;
}

export function createTargetAllowList(entries: readonly string[]): TargetAllowList {
  const cidrs = createCidrSet(entries.filter((entry) => isIP(entry.split('/')[0] ?? '') !== 0));
  const names = entries.filter((entry) => isIP(entry.split('/')[0] ?? '') === 0).map((entry) => entry.toLowerCase());
  return {
    allows({ host }) {
      // An address is held to the CIDRs only: a glob names hosts, never an address range.
      if (isIP(host) !== 0) return cidrs.has(host);
      const name = host.toLowerCase().replace(/\.$/, '');
      return names.some((entry) =>
        entry.startsWith('*.') ? name.endsWith(entry.slice(1)) && name.length > entry.length - 1 : name === entry,
      );
    },
  };
}
