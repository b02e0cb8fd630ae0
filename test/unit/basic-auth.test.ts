import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { createBasicAuth, parseBasicAuthorization } from '../../src/http/basic-auth.js';

const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('basic auth', () => {
  const hash = bcrypt.hashSync('pa:ss wörd', 4);

  it('parses the user and everything after the first colon as the password', () => {
    expect(parseBasicAuthorization(header('alice', 'pa:ss wörd'))).toEqual({ user: 'alice', password: 'pa:ss wörd' });
    expect(parseBasicAuthorization(`basic   ${Buffer.from('a:').toString('base64')}`)).toEqual({
      user: 'a',
      password: '',
    });
    for (const bad of [
      undefined,
      '',
      'Basic',
      'Bearer abc',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      'Basic !!!',
    ]) {
      expect(parseBasicAuthorization(bad)).toBeUndefined();
    }
  });

  it('accepts the right password only, for a configured user only', async () => {
    const auth = createBasicAuth(new Map([['alice', hash]]));
    expect(await auth.verify(header('alice', 'pa:ss wörd'))).toBe(true);
    expect(await auth.verify(header('alice', 'pa:ss word'))).toBe(false);
    expect(await auth.verify(header('bob', 'pa:ss wörd'))).toBe(false);
    expect(await auth.verify(undefined)).toBe(false);
    // A cached success does not carry over to another user with the same password.
    const two = createBasicAuth(
      new Map([
        ['alice', hash],
        ['bob', bcrypt.hashSync('other', 4)],
      ]),
    );
    expect(await two.verify(header('alice', 'pa:ss wörd'))).toBe(true);
    expect(await two.verify(header('bob', 'pa:ss wörd'))).toBe(false);
  });

  it('remembers a success, so the next check costs no bcrypt run', async () => {
    const slow = bcrypt.hashSync('secret', 10);
    const auth = createBasicAuth(new Map([['alice', slow]]));
    const first = performance.now();
    expect(await auth.verify(header('alice', 'secret'))).toBe(true);
    const firstMs = performance.now() - first;
    const second = performance.now();
    for (let i = 0; i < 10; i += 1) expect(await auth.verify(header('alice', 'secret'))).toBe(true);
    expect((performance.now() - second) / 10).toBeLessThan(firstMs / 10);
    // Failures are not remembered as successes.
    expect(await auth.verify(header('alice', 'secreT'))).toBe(false);
  });

  it('gives each peer address a budget of comparisons: past it, even the right password waits for the next one', async () => {
    const auth = createBasicAuth(
      new Map([
        ['alice', hash],
        ['bob', hash],
      ]),
    );
    for (let i = 0; i < 4; i += 1)
      expect(await auth.verify(header('alice', `wrong ${String(i)}`), '10.0.0.1')).toBe(false);
    expect(await auth.verify(header('alice', 'pa:ss wörd'), '10.0.0.1')).toBe(false);
    // Another address has a budget of its own; a success is cached for everyone.
    expect(await auth.verify(header('alice', 'pa:ss wörd'), '10.0.0.2')).toBe(true);
    expect(await auth.verify(header('alice', 'pa:ss wörd'), '10.0.0.1')).toBe(true);
    expect(await auth.verify(header('bob', 'pa:ss wörd'), '10.0.0.1')).toBe(false);
  });

  it('refuses beyond the budget after a delay, not at once, so that a client in a loop does not spin', async () => {
    const auth = createBasicAuth(new Map([['alice', hash]]));
    for (let i = 0; i < 4; i += 1) await auth.verify(header('alice', `wrong ${String(i)}`), '10.0.0.1');
    const started = performance.now();
    expect(await auth.verify(header('alice', 'wrong again'), '10.0.0.1')).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });
});
