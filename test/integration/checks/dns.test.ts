import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectConfigProblems, runCheck, runCheckKindContract, targetOf } from '../../support/contract.js';
import { startDnsServer, startSilentUdpServer, type UdpServer } from '../../support/servers.js';
import { closedUdpPort } from '../../support/ports.js';

const TIMEOUT_MS = 500;

describe('the dns check kind', () => {
  let dns: UdpServer;
  let silent: UdpServer;
  let closed: number;
  const server = () => `127.0.0.1:${String(dns.port)}`;

  beforeAll(async () => {
    [dns, silent, closed] = await Promise.all([
      startDnsServer({ 'db.test': ['10.0.0.7', '10.0.0.8'], 'v6only.test': ['2001:db8::1'], 'empty.test': [] }),
      startSilentUdpServer(),
      closedUdpPort(),
    ]);
  });

  afterAll(async () => {
    await dns.close();
    await silent.close();
  });

  describe('contract', () => {
    runCheckKindContract({
      kind: 'dns',
      timeoutMs: TIMEOUT_MS,
      healthy: () => ({ host: 'db.test', server: server(), expectAddress: '10.0.0.8' }),
      target: () => `db.test@${server()}`,
      unexpectedAnswer: {
        fields: () => ({ host: 'db.test', server: server(), expectAddress: '10.0.0.9' }),
        output: /10\.0\.0\.9/,
      },
      refused: () => ({ host: 'db.test', server: `127.0.0.1:${String(closed)}` }),
      silent: { fields: () => ({ host: 'db.test', server: `127.0.0.1:${String(silent.port)}` }) },
      hung: {
        udp: {
          fields: () => ({ host: 'db.test', server: `127.0.0.1:${String(silent.port)}` }),
          port: () => silent.port,
        },
      },
    });
  });

  it('stops asking a silent server once the deadline has passed (the resolver is cancelled)', async () => {
    const { result } = await runCheck('dns', { host: 'db.test', server: `127.0.0.1:${String(silent.port)}` }, 200);
    expect(result.reason).toBe('timeout');
    const asked = silent.received();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(silent.received()).toBe(asked);
  });

  it('resolves with the system resolver (getaddrinfo, /etc/hosts) when no server is set', async () => {
    const { result, target } = await runCheck('dns', { host: 'localhost' });
    expect(result.status).toBe('pass');
    expect(target).toBe('localhost');
  });

  it('fails with reason error on an unknown name (ENOTFOUND) and on a name without addresses', async () => {
    const unknown = await runCheck('dns', { host: 'nope.test', server: server() });
    expect(unknown.result).toMatchObject({
      status: 'fail',
      reason: 'error',
      output: expect.stringMatching(/ENOTFOUND nope\.test/) as string,
    });
    const empty = await runCheck('dns', { host: 'empty.test', server: server() });
    expect(empty.result).toMatchObject({
      status: 'fail',
      reason: 'error',
      output: expect.stringMatching(/ENODATA/) as string,
    });
  });

  it('passes on AAAA records alone, and compares IPv6 addresses in canonical form', async () => {
    expect((await runCheck('dns', { host: 'v6only.test', server: server() })).result.status).toBe('pass');
    const expanded = await runCheck('dns', {
      host: 'v6only.test',
      server: server(),
      expectAddress: '2001:0db8:0:0::1',
    });
    expect(expanded.result.status).toBe('pass');
  });

  it('fails with reason assertion when expectAddress is not among the answers', async () => {
    const { result } = await runCheck('dns', { host: 'db.test', server: server(), expectAddress: '10.0.0.9' });
    expect(result).toMatchObject({
      status: 'fail',
      reason: 'assertion',
      output: 'db.test resolved to 10.0.0.7, 10.0.0.8, not 10.0.0.9',
    });
  });

  it('validates its options at config time, and names the server in the target with its port', () => {
    expectConfigProblems('dns', [
      [{ host: 'https://x.test/' }, ['checks[0].host: expected a host name to resolve (e.g. db.example.com)']],
      [
        { host: 'x.test', server: 'dns.google' },
        ['checks[0].server: expected an IP address with an optional port (10.0.0.2, 10.0.0.2:53, [::1]:53)'],
      ],
      [{ host: 'x.test', expectAddress: 'x.test' }, ['checks[0].expectAddress: expected an IPv4 or IPv6 address']],
      // The name to resolve is `host`; `name` is the check's own.
      [{ name: 'x' }, ["checks[0].host: expected the host name to resolve (`name` is the check's own name)"]],
    ]);
    expect(targetOf('dns', { host: 'x.test', server: '10.0.0.2' })).toBe('x.test@10.0.0.2:53');
    expect(targetOf('dns', { host: 'x.test', server: '::1' })).toBe('x.test@[::1]:53');
    expect(targetOf('dns', { host: 'x.test', server: '[::1]:5353' })).toBe('x.test@[::1]:5353');
  });
});
