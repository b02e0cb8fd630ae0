import { promises as dns } from 'node:dns';
import net from 'node:net';
import { z } from 'zod';
import { RESPONSE_TIME, type CheckKind, type FailureReason } from '../types.js';
import { CheckFailure, errorCode } from './classify.js';
import { abortable } from './support/abort.js';

const DEFAULT_PORT = 53;
const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A canonical form of an IP address, so that `::1` and `0:0::1` compare equal. */
function canonicalIp(address: string): string {
  return net.isIPv6(address) ? new URL(`http://[${address}]`).hostname.slice(1, -1) : address;
}

interface Server {
  readonly address: string;
  readonly port: number;
}

/** `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port` (c-ares talks to addresses, not names). */
function parseServer(text: string): Server | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const v4 = /^([\d.]+)(?::(\d+))?$/.exec(text);
  const [address, port] =
    bracketed !== null ? [bracketed[1], bracketed[2]] : v4 !== null ? [v4[1], v4[2]] : [text, undefined];
  if (address === undefined || net.isIP(address) === 0) return undefined;
  if (bracketed !== null && !net.isIPv6(address)) return undefined;
  const number = port === undefined ? DEFAULT_PORT : Number(port);
  if (!Number.isInteger(number) || number < 1 || number > 65_535) return undefined;
  return { address: canonicalIp(address), port: number };
}

function formatServer(server: Server): string {
  return `${net.isIPv6(server.address) ? `[${server.address}]` : server.address}:${String(server.port)}`;
}

const options = z.strictObject({
  /** The name to resolve (`name` is the check's own). */
  host: z.string({ error: "expected the host name to resolve (`name` is the check's own name)" }).refine(
    (name) =>
      name.length <= 254 &&
      name
        .replace(/\.$/, '')
        .split('.')
        .every((l) => LABEL.test(l)),
    {
      message: 'expected a host name to resolve (e.g. db.example.com)',
    },
  ),
  /** When set, the name must resolve to (among others) this address. */
  expectAddress: z
    .string()
    .refine((address) => net.isIP(address) !== 0, { message: 'expected an IPv4 or IPv6 address' })
    .transform(canonicalIp)
    .optional(),
  /** `ip[:port]` of a DNS server to ask; default the system resolver (getaddrinfo). */
  server: z
    .string()
    .transform((text, ctx) => {
      const server = parseServer(text);
      if (server === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected an IP address with an optional port (10.0.0.2, 10.0.0.2:53, [::1]:53)',
        });
        return z.NEVER;
      }
      return formatServer(server);
    })
    .optional(),
});
type DnsOptions = z.infer<typeof options>;

function classify(error: unknown): FailureReason | undefined {
  switch (errorCode(error)) {
    case 'ETIMEOUT':
    case 'EAI_AGAIN': // getaddrinfo: the resolver did not answer in time
      return 'timeout';
    case 'EBADRESP':
    case 'EFORMERR':
    case 'EBADFAMILY':
      return 'protocol';
    case 'ENOTFOUND':
    case 'ENODATA':
    case 'ESERVFAIL':
    case 'EREFUSED':
      return 'error';
    case undefined:
    default:
      return undefined;
  }
}

/** A and AAAA from `server`; cancelled on abort. Passes when either has an address. */
async function resolveWith(server: string, host: string, timeoutMs: number, signal: AbortSignal): Promise<string[]> {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([server]);
  const abort = abortable(signal, () => {
    resolver.cancel();
  });
  try {
    const [v4, v6] = await abort.race(Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]));
    const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (addresses.length > 0) return addresses;
    // "No such name" says more than "no AAAA record".
    const failures = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    throw (
      failures.find((e) => errorCode(e) !== 'ENODATA') ??
      failures[0] ??
      new CheckFailure(`${host} has no address`, 'error')
    );
  } finally {
    abort.dispose();
  }
}

/**
 * Resolves `host` as the application would (getaddrinfo: /etc/hosts, nsswitch, the system's
 * resolvers), or, with `server`, asks that DNS server for A and AAAA records.
 *
 * NOTE: getaddrinfo cannot be cancelled. The probe waits for it rather than returning at the
 * deadline, so that the engine starts no new lookup while one is stuck: each occupies one of
 * libuv's four threadpool threads, which database connects and file reads need too.
 */
export const dnsCheck: CheckKind<DnsOptions> = {
  kind: 'dns',
  componentType: 'component',
  observed: RESPONSE_TIME,
  options,
  target: (o) => (o.server === undefined ? o.host : `${o.host}@${o.server}`),
  classify,
  create: (o, check) => async (signal) => {
    const addresses =
      o.server === undefined
        ? (await dns.lookup(o.host, { all: true })).map((a) => a.address)
        : await resolveWith(o.server, o.host, check.timeoutMs, signal);
    if (o.expectAddress !== undefined && !addresses.map(canonicalIp).includes(o.expectAddress)) {
      const shown = addresses.slice(0, 3).join(', ') + (addresses.length > 3 ? ', ...' : '');
      throw new CheckFailure(`${o.host} resolved to ${shown}, not ${o.expectAddress}`, 'assertion');
    }
    return undefined;
  },
};
