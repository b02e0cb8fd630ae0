import { isIP } from 'node:net';

/**
 * Whether a Host header may accompany authorization by client address. A browser page that
 * rebinds its own DNS name to 127.0.0.1 reaches vitals from loopback, so its address proves
 * nothing; what gives it away is the Host it sends: its own name. An IP literal, `localhost`
 * (and names under `.localhost`, which browsers resolve to loopback themselves) and the names
 * the operator lists cannot be rebound by a page. A missing Host is no browser's.
 */
export function createHostCheck(allowedHosts: readonly string[]): (host: string | undefined) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of allowedHosts) {
    const name = entry.toLowerCase();
    if (name.startsWith('.')) suffixes.push(name);
    else exact.add(name);
  }
  return (host) => {
    if (host === undefined || host === '') return true;
    const name = hostName(host);
    if (name === undefined) return false;
    if (isIP(name) !== 0) return true;
    if (name === 'localhost' || name.endsWith('.localhost')) return true;
    return exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix));
  };
}

/** The name or address of a Host header, lower-cased, without port, brackets or final dot. */
function hostName(host: string): string | undefined {
  const text = host.trim().toLowerCase();
  if (text.startsWith('[')) {
    const match = /^\[([0-9a-f:.]+)\](?::\d*)?$/.exec(text);
    return match?.[1];
  }
  const match = /^([^:]+)(?::\d*)?$/.exec(text);
  const name = match?.[1];
  return name?.endsWith('.') === true ? name.slice(0, -1) : name;
}
