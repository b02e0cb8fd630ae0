import { describe, expect, it } from 'vitest';
import {
  HEALTH_JSON,
  isProbeTarget,
  matchRoute,
  negotiateJson,
  parseTarget,
  PLAIN_JSON,
} from '../../../src/http/routes.js';
import { ACCEPT_CASES } from '../../support/http.js';

describe('the route table', () => {
  it.each([
    ['/health', 'health'],
    ['/health/', 'health'],
    ['/ready', 'ready'],
    ['/ready/', 'ready'],
    ['/ready/primary-db', 'ready-check'],
    ['/ready/primary-db/', 'ready-check'],
    ['/startup', 'startup'],
    ['/metrics', 'metrics'],
    ['/', 'landing'],
    ['/api/v1/summary', 'summary-api'],
    ['/api/v1/checks', 'checks-api'],
    ['/api/v1/checks/', 'checks-api'],
    ['/-/reload', 'reload'],
  ])('%s is the %s route', (path, name) => {
    expect(matchRoute(path)?.route.name).toBe(name);
  });

  it.each(['/healthz', '/health//', '/ready/a/b', '/READY', '/metrics/x', ''])('%j names no route', (path) => {
    expect(matchRoute(path)).toBeUndefined();
  });

  it('decodes the check name of /ready/NAME', () => {
    expect(matchRoute('/ready/a%2Db')?.checkName).toBe('a-b');
    expect(matchRoute('/ready/%zz')?.checkName).toBe('%zz');
  });

  it('reduces an absolute-form target to its path and query (a proxy or a probe may send it)', () => {
    expect(parseTarget('http://vitals:9469/health?x=1')).toEqual({ path: '/health', query: 'x=1' });
    expect(parseTarget('https://vitals')).toEqual({ path: '/', query: '' });
    expect(parseTarget('/ready?exclude=a&exclude=b')).toEqual({ path: '/ready', query: 'exclude=a&exclude=b' });
    expect(isProbeTarget('http://host/ready/')).toBe(true);
    expect(isProbeTarget('http://host/metrics')).toBe(false);
  });
});

describe('JSON content negotiation', () => {
  const cases: (readonly [string | undefined, string])[] = [
    ...ACCEPT_CASES,
    ['application/health+json;q=0.1, application/json;q=0.9', PLAIN_JSON],
    ['application/health+json;q=0, application/json', PLAIN_JSON],
    ['application/*', HEALTH_JSON],
  ];
  it.each(cases)('Accept %j gets %s', (accept, type) => {
    expect(negotiateJson(accept)).toBe(type);
  });
});
