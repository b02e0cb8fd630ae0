import { describe, expect, it } from 'vitest';
import { createLogger, createRedactor } from '../../src/log.js';

const redactorOf = (...secrets: string[]) => {
  const redactor = createRedactor();
  redactor.add(secrets);
  return redactor;
};

describe('createRedactor', () => {
  it('replaces every occurrence of a secret', () => {
    expect(redactorOf('hunter2').redact('password hunter2 rejected; hunter2 again')).toBe(
      'password *** rejected; *** again',
    );
  });

  it('leaves text without a secret unchanged', () => {
    expect(redactorOf('hunter2').redact('connect ECONNREFUSED 127.0.0.1:3306')).toBe(
      'connect ECONNREFUSED 127.0.0.1:3306',
    );
  });

  it('changes nothing before any secret is added', () => {
    expect(createRedactor().redact('anything at all')).toBe('anything at all');
  });

  it('ignores an empty secret instead of mangling the text', () => {
    expect(redactorOf('').redact('abc')).toBe('abc');
  });

  it('replaces the URL-encoded form of a secret', () => {
    expect(redactorOf('p@ss w/rd#1').redact('mysql://app:p%40ss%20w%2Frd%231@db/app')).toBe('mysql://app:***@db/app');
  });

  it("replaces the form a URL's userinfo takes, which encodes less than encodeURIComponent", () => {
    const secret = 'a$b&c+d,e@f';
    const url = new URL('mysql://app@db/app');
    url.password = secret;
    expect(url.href).toBe('mysql://app:a$b&c+d,e%40f@db/app');
    expect(redactorOf(secret).redact(`failed: ${url.href}`)).toBe('failed: mysql://app:***@db/app');
  });

  it('replaces the longest secret first, so that one inside another leaves nothing behind', () => {
    const text = 'token=abcdef password=abc';
    expect(redactorOf('abc', 'abcdef').redact(text)).toBe('token=*** password=***');
    expect(redactorOf('abcdef', 'abc').redact(text)).toBe('token=*** password=***');
  });

  it('replaces an encoded secret that contains another secret as a whole', () => {
    // "x@y" encodes to "x%40y"; the shorter secret "%40" must not cut it in pieces first.
    expect(redactorOf('%40', 'x@y').redact('url x%40y and %40')).toBe('url *** and ***');
  });

  it('keeps secrets added earlier when more are added', () => {
    const redactor = redactorOf('first-secret');
    redactor.add(['second-secret']);
    expect(redactor.redact('first-secret second-secret')).toBe('*** ***');
  });
});

describe('createLogger', () => {
  function capture(level: string | undefined): {
    lines: () => Record<string, unknown>[];
    logger: ReturnType<typeof createLogger>;
  } {
    const chunks: string[] = [];
    const logger = createLogger(level, { write: (chunk: string) => void chunks.push(chunk) });
    return {
      logger,
      lines: () =>
        chunks
          .join('')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>),
    };
  }

  it('writes one JSON line per entry, with the service name', () => {
    const { logger, lines } = capture('info');
    logger.info({ check: 'db', from: 'pass', to: 'fail' }, 'state change');
    expect(lines()).toEqual([
      expect.objectContaining({ service: 'vitals', check: 'db', from: 'pass', to: 'fail', msg: 'state change' }),
    ]);
  });

  it('honours LOG_LEVEL in any case', () => {
    const { logger, lines } = capture('WARN');
    logger.info('hidden');
    logger.warn('shown');
    expect(lines().map((l) => l.msg)).toEqual(['shown']);
  });

  it('falls back to info on an unknown level', () => {
    const { logger, lines } = capture('verbose');
    logger.debug('hidden');
    logger.info('shown');
    expect(lines().map((l) => l.msg)).toEqual(['shown']);
  });
});
