import { describe, expect, it } from 'vitest';
import type { SecurityConfig } from '../../src/config/load.js';
import { createAuthorizer, type CallerFacts } from '../../src/security/authorizer.js';
import { cidrProblem, createCidrSet, normalizeAddress } from '../../src/security/cidr.js';

const TOKEN = 's3cret-Token_value.42';

const security = (overrides: Partial<SecurityConfig> = {}): SecurityConfig => ({
  details: 'authorized',
  allow: ['127.0.0.0/8', '::1/128'],
  token: '',
  trustProxy: [],
  ...overrides,
});

const caller = (peer: string | undefined, authorization?: string, forwardedFor?: string | string[]): CallerFacts => ({
  peer,
  authorization,
  forwardedFor,
});

describe('cidrProblem', () => {
  it.each(['10.0.0.0/8', '10.1.2.3', '0.0.0.0/0', '::1/128', '::/0', 'fd00::/8', '2001:db8::1'])(
    'accepts %s',
    (cidr) => {
      expect(cidrProblem(cidr)).toBeUndefined();
    },
  );

  it.each([
    ['10.0.0.0/33', 'invalid prefix length in "10.0.0.0/33" (0-32)'],
    ['::/129', 'invalid prefix length in "::/129" (0-128)'],
    ['10.0.0.0/', 'invalid prefix length in "10.0.0.0/" (0-32)'],
    ['10.0.0.0/8x', 'invalid prefix length in "10.0.0.0/8x" (0-32)'],
    ['10.0.0.0/-1', 'invalid prefix length in "10.0.0.0/-1" (0-32)'],
    ['10.0.0.0/8/8', 'invalid CIDR "10.0.0.0/8/8"'],
    ['localhost', 'invalid CIDR "localhost"'],
    ['256.0.0.0/8', 'invalid CIDR "256.0.0.0/8"'],
    ['', 'invalid CIDR ""'],
  ])('rejects %s', (cidr, problem) => {
    expect(cidrProblem(cidr)).toBe(problem);
  });
});

describe('createCidrSet', () => {
  const set = createCidrSet(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);

  it.each([
    ['10.255.0.1', true],
    ['11.0.0.1', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['::ffff:10.1.2.3', true],
    ['::FFFF:10.1.2.3', true],
    ['fd12::1', true],
    ['fe80::1', false],
    ['not an address', false],
    ['', false],
  ])('says %s is in the set: %s', (address, inSet) => {
    expect(set.has(address)).toBe(inSet);
  });

  it('unwraps only IPv4-mapped addresses', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('::1')).toBe('::1');
    expect(normalizeAddress('2001:db8::ffff:1.2.3.4')).toBe('2001:db8::ffff:1.2.3.4');
  });
});

describe('createAuthorizer', () => {
  describe('by address', () => {
    const authorizer = createAuthorizer(security({ allow: ['127.0.0.0/8', '::1/128', '10.20.0.0/16'] }));

    it.each([
      ['IPv4 loopback', '127.0.0.1', true],
      ['another loopback address', '127.9.9.9', true],
      ['IPv6 loopback', '::1', true],
      ['IPv4-mapped loopback', '::ffff:127.0.0.1', true],
      ['an address in a configured CIDR', '10.20.3.4', true],
      ['an IPv4-mapped address in a configured CIDR', '::ffff:10.20.3.4', true],
      ['an address outside every CIDR', '10.21.0.1', false],
      ['a public address', '203.0.113.9', false],
      ['an unknown peer', undefined, false],
    ])('authorizes %s: %s', (_, peer, authorized) => {
      expect(authorizer.isAuthorized(caller(peer))).toBe(authorized);
    });

    it('allows loopback by default', () => {
      const defaults = createAuthorizer(security());
      expect(defaults.isAuthorized(caller('127.0.0.1'))).toBe(true);
      expect(defaults.isAuthorized(caller('::1'))).toBe(true);
      expect(defaults.isAuthorized(caller('192.0.2.1'))).toBe(false);
    });

    it('authorizes nobody by address with an empty allow list', () => {
      expect(createAuthorizer(security({ allow: [] })).isAuthorized(caller('127.0.0.1'))).toBe(false);
    });
  });

  describe('by token', () => {
    const authorizer = createAuthorizer(security({ allow: [], token: TOKEN }));
    const remote = '203.0.113.9';

    it.each([
      ['the exact token', `Bearer ${TOKEN}`, true],
      ['a lower-case scheme', `bearer ${TOKEN}`, true],
      ['an upper-case scheme', `BEARER ${TOKEN}`, true],
      ['extra blanks around the token', `Bearer   ${TOKEN} `, true],
      ['the token differing in its last character', `Bearer ${TOKEN.slice(0, -1)}3`, false],
      ['the token differing in its first character', `Bearer S${TOKEN.slice(1)}`, false],
      ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`, false],
      ['the token with more after it', `Bearer ${TOKEN}x`, false],
      ['the token and a second word', `Bearer ${TOKEN} extra`, false],
      ['the token without a scheme', TOKEN, false],
      ['the token under another scheme', `Basic ${TOKEN}`, false],
      ['the scheme glued to the token', `Bearer${TOKEN}`, false],
      ['a scheme and no token', 'Bearer ', false],
      ['an empty header', '', false],
      ['no header', undefined, false],
    ])('authorizes %s: %s', (_, authorization, authorized) => {
      expect(authorizer.isAuthorized(caller(remote, authorization))).toBe(authorized);
    });

    it('authorizes by token without any peer address', () => {
      expect(authorizer.isAuthorized(caller(undefined, `Bearer ${TOKEN}`))).toBe(true);
    });

    it.each([
      ['an empty bearer token', 'Bearer '],
      ['a bearer token of blanks', 'Bearer    '],
      ['any bearer token', 'Bearer anything'],
      ['the header "Bearer" alone', 'Bearer'],
    ])('never authorizes %s when no token is configured', (_, authorization) => {
      const open = createAuthorizer(security({ allow: [], token: '' }));
      expect(open.isAuthorized(caller('203.0.113.9', authorization))).toBe(false);
    });

    it('still authorizes an allowed address that sends a wrong token', () => {
      const both = createAuthorizer(security({ token: TOKEN }));
      expect(both.isAuthorized(caller('127.0.0.1', 'Bearer wrong'))).toBe(true);
    });
  });

  describe('behind proxies', () => {
    const direct = createAuthorizer(security());
    const proxied = createAuthorizer(
      security({ allow: ['127.0.0.0/8', '10.0.0.0/8'], trustProxy: ['10.0.0.1', '10.0.0.2'] }),
    );

    it('ignores a spoofed X-Forwarded-For when the peer is not a trusted proxy', () => {
      const spoofed = caller('203.0.113.9', undefined, '127.0.0.1');
      expect(direct.clientAddress(spoofed)).toBe('203.0.113.9');
      expect(direct.isAuthorized(spoofed)).toBe(false);
      expect(proxied.clientAddress(spoofed)).toBe('203.0.113.9');
      expect(proxied.isAuthorized(spoofed)).toBe(false);
    });

    it('takes the rightmost address that is not a trusted proxy', () => {
      const facts = caller('10.0.0.1', undefined, '127.0.0.1, 198.51.100.7, 10.0.0.2');
      expect(proxied.clientAddress(facts)).toBe('198.51.100.7');
      expect(proxied.isAuthorized(facts)).toBe(false);
    });

    it('believes a forwarded client in the allow list', () => {
      const facts = caller('10.0.0.1', undefined, '10.9.9.9');
      expect(proxied.clientAddress(facts)).toBe('10.9.9.9');
      expect(proxied.isAuthorized(facts)).toBe(true);
    });

    it('reads several X-Forwarded-For headers as one list, in order', () => {
      expect(proxied.clientAddress(caller('10.0.0.1', undefined, ['198.51.100.1, 198.51.100.2', '10.0.0.2']))).toBe(
        '198.51.100.2',
      );
    });

    it('unwraps IPv4-mapped peers and hops', () => {
      expect(proxied.clientAddress(caller('::ffff:10.0.0.1', undefined, '::ffff:198.51.100.7'))).toBe('198.51.100.7');
    });

    it('takes the leftmost hop when every hop is a trusted proxy', () => {
      expect(proxied.clientAddress(caller('10.0.0.1', undefined, '10.0.0.2'))).toBe('10.0.0.2');
    });

    it('takes the proxy itself when it forwards no address', () => {
      expect(proxied.clientAddress(caller('10.0.0.1'))).toBe('10.0.0.1');
      expect(proxied.clientAddress(caller('10.0.0.1', undefined, ' , '))).toBe('10.0.0.1');
    });

    it.each([
      ['a word', 'garbage'],
      ['garbage to the right of an allowed address', '127.0.0.1, garbage'],
      ['an address with a port', '127.0.0.1:4711'],
      ['a hostname', 'localhost'],
    ])('knows no client, and authorizes none, when the rightmost untrusted hop is %s', (_, forwardedFor) => {
      const facts = caller('10.0.0.1', undefined, forwardedFor);
      expect(proxied.clientAddress(facts)).toBeUndefined();
      expect(proxied.isAuthorized(facts)).toBe(false);
    });

    it('believes the addresses to the right of garbage', () => {
      expect(proxied.clientAddress(caller('10.0.0.1', undefined, 'garbage, 198.51.100.7'))).toBe('198.51.100.7');
    });
  });

  describe('details', () => {
    const local = caller('127.0.0.1');
    const remote = caller('203.0.113.9');

    it('shows details to authorized callers only by default', () => {
      const authorizer = createAuthorizer(security({ token: TOKEN }));
      expect(authorizer.showsDetails(local)).toBe(true);
      expect(authorizer.showsDetails(remote)).toBe(false);
      expect(authorizer.showsDetails(caller('203.0.113.9', `Bearer ${TOKEN}`))).toBe(true);
    });

    it('shows details to everyone with details: always', () => {
      const authorizer = createAuthorizer(security({ details: 'always' }));
      expect(authorizer.showsDetails(remote)).toBe(true);
      expect(authorizer.isAuthorized(remote)).toBe(false);
    });

    it('shows details to no one with details: never, not even an authorized caller', () => {
      const authorizer = createAuthorizer(security({ details: 'never', token: TOKEN }));
      expect(authorizer.showsDetails(local)).toBe(false);
      expect(authorizer.showsDetails(caller('127.0.0.1', `Bearer ${TOKEN}`))).toBe(false);
      expect(authorizer.isAuthorized(local)).toBe(true);
    });
  });
});
