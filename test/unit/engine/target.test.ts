import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkKinds } from '../../../src/checks/index.js';
import { parseConfig } from '../../../src/config/load.js';
import { createMonitor } from '../../../src/engine/monitor.js';
import { createLogger, createRedactor } from '../../../src/log.js';
import { createVitalsMetrics } from '../../../src/metrics/vitals-metrics.js';

const HOST = 'db-host';

/** Per kind: a check carrying `password` wherever the kind takes credentials, and the target it must yield. */
const FIXTURES: Record<string, { fields: (password: string) => Record<string, unknown>; target: string }> = {
  mysql: {
    fields: (p) => ({ url: `mysql://app:${encodeURIComponent(p)}@${HOST}/app`, password: p }),
    target: `${HOST}:3306`,
  },
  postgres: {
    fields: (p) => ({ url: `postgres://app:${encodeURIComponent(p)}@${HOST}:5433/app`, password: p }),
    target: `${HOST}:5433`,
  },
  redis: { fields: (p) => ({ url: `redis://:${encodeURIComponent(p)}@${HOST}/0` }), target: `${HOST}:6379` },
  http: {
    fields: (p) => ({ url: `http://user:${encodeURIComponent(p)}@${HOST}:8080/status?token=${encodeURIComponent(p)}` }),
    target: `http://${HOST}:8080`,
  },
  tcp: { fields: () => ({ host: HOST, port: 5432 }), target: `${HOST}:5432` },
  tls: { fields: () => ({ host: HOST, port: 465 }), target: `${HOST}:465` },
  dns: { fields: () => ({ host: HOST }), target: HOST },
  memcached: { fields: () => ({ host: HOST }), target: `${HOST}:11211` },
  amqp: {
    fields: (p) => ({ url: `amqp://app:${encodeURIComponent(p)}@${HOST}/orders`, password: p }),
    target: `${HOST}:5672/orders`,
  },
  mqtt: {
    fields: (p) => ({ url: `mqtt://app:${encodeURIComponent(p)}@${HOST}`, password: p }),
    target: `${HOST}:1883`,
  },
  nats: {
    fields: (p) => ({ url: `nats://app:${encodeURIComponent(p)}@${HOST}`, password: p }),
    target: `${HOST}:4222`,
  },
  grpc: { fields: () => ({ target: `${HOST}:50051`, service: 'payments' }), target: `${HOST}:50051` },
  disk: { fields: () => ({ path: `/${HOST}`, minFreeRatio: 0.1 }), target: `/${HOST}` },
};

/** The `target` label of one check in the text exposition. */
function infoTarget(text: string, check: string): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`vitals_check_info{check="${check}"`));
  return line === undefined ? undefined : /target="([^"]*)"/.exec(line)?.[1];
}

describe('the target label carries no credential by construction, and is not redacted', () => {
  it('has a fixture for every kind', () => {
    expect(Object.keys(FIXTURES).sort()).toEqual([...checkKinds.keys()].sort());
  });

  it('is the host:port (scheme://host:port, name, path) for every kind, whatever the password, even one equal to the host', async () => {
    // A `$` in a config value is an environment reference (or a config error): not a password this test means.
    const passwords = fc.oneof(
      fc.constantFrom(HOST, 'db', 'host', '-', '3306', '5433', 'local', `${HOST}:3306`, 'http', '/'),
      fc.string({ minLength: 1, maxLength: 12 }).filter((p) => !/\s/.test(p) && !p.includes('$')),
    );
    await fc.assert(
      fc.asyncProperty(passwords, async (password) => {
        const config = parseConfig(
          {
            security: { token: password },
            checks: Object.entries(FIXTURES).map(([kind, f]) => ({ name: kind, kind, ...f.fields(password) })),
          },
          'target test',
          { env: {} },
        );
        expect(config.secrets).toContain(password);
        const redactor = createRedactor();
        redactor.add(config.secrets);
        const metrics = createVitalsMetrics('test');
        const monitor = createMonitor({
          kinds: checkKinds,
          metrics,
          logger: createLogger('silent'),
          redact: (t) => redactor.redact(t),
        });
        monitor.apply(config.checks);
        const text = (await metrics.exposition(false)).toString();
        for (const [kind, f] of Object.entries(FIXTURES)) {
          expect(monitor.get(kind)?.target, kind).toBe(f.target);
          expect(infoTarget(text, kind), kind).toBe(f.target);
          if (!f.target.includes(password)) expect(infoTarget(text, kind), kind).not.toContain(password);
        }
      }),
      { numRuns: 60 },
    );
  });
});
