/**
 * Hardening: a flood of wrong basic-auth passwords must not stall the probes. bcrypt costs
 * ~70 ms of CPU a comparison at cost 10; run on the event loop, 16 concurrent bad-password
 * clients pushed /health past the kubelet's 1 s timeout. The bounds below are generous on
 * purpose: this asserts a fault behaviour (the probes stay answerable), not a speed.
 */
import bcrypt from 'bcryptjs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWebConfig } from '../../src/http/web-config.js';
import { request } from '../support/http.js';
import { startVitals, type RunningVitals } from '../support/vitals.js';

const USER = 'prometheus';
const PASSWORD = 'the right one';
const ATTACKERS = 16;
const FLOOD_MS = 5_000;
const P50_BUDGET_MS = 50;
const P99_BUDGET_MS = 200;
/** Users nobody logged in as yet, one per first login tried during a flood. */
const FRESH_USERS = 20;

interface Answer {
  readonly status: number;
  readonly ms: number;
}

/** `from`: the client's own address; all of 127.0.0.0/8 is loopback, so each is another peer. */
async function get(
  port: number,
  path: string,
  agent: http.Agent | false,
  authorization?: string,
  from?: string,
): Promise<Answer> {
  const started = performance.now();
  const { status } = await request(port, path, {
    agent,
    localAddress: from,
    headers: authorization === undefined ? {} : { authorization },
  });
  return { status, ms: performance.now() - started };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;
}

describe('a flood of wrong basic-auth passwords', () => {
  let dir: string;
  let running: RunningVitals;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitals-flood-'));
    const webFile = join(dir, 'web.yml');
    const users = [USER, ...Array.from({ length: FRESH_USERS }, (_, i) => `fresh-${String(i)}`)];
    await writeFile(
      webFile,
      `basic_auth_users:\n${users.map((user) => `  ${user}: ${bcrypt.hashSync(PASSWORD, 10)}\n`).join('')}`,
    );
    running = await startVitals(
      { checks: [] },
      [{ name: 'dep', interval: 500, timeout: 200, run: async () => undefined }],
      {
        firstResults: true,
        listen: { webConfig: loadWebConfig(webFile), webConfigPollMs: 0 },
      },
    );
  });

  afterAll(async () => {
    await running.close();
    await rm(dir, { recursive: true, force: true });
  });

  interface Flood {
    readonly p50: number;
    readonly p99: number;
    readonly probes: number;
    readonly statuses: ReadonlyMap<number, number>;
    /** Statuses of scrapes during the flood with credentials that passed before it (cached). */
    readonly cachedScrapes: readonly number[];
    /** Statuses of first logins during the flood, from an address that is not flooding. */
    readonly freshLogins: readonly number[];
  }

  /** ATTACKERS client loops, client i from `addresses[i % length]`, and a probe loop beside them. */
  async function flood(addresses: readonly string[], password: string): Promise<Flood> {
    const { port } = running;
    const right = basic(USER, password);
    expect((await get(port, '/metrics', false, right)).status).toBe(200);

    const until = performance.now() + FLOOD_MS;
    const statuses = new Map<number, number>();
    const agents: http.Agent[] = [];
    const attackers = Array.from({ length: ATTACKERS }, async (_, i) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      const wrong = basic(USER, `wrong password ${String(i)}`);
      const from = addresses[i % addresses.length];
      while (performance.now() < until) {
        const { status } = await get(port, '/metrics', agent, wrong, from);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    });

    // The kubelet: a fresh connection per probe, one probe at a time.
    const latencies: number[] = [];
    const cachedScrapes: number[] = [];
    const freshLogins: Promise<number>[] = [];
    let fresh = 0;
    const probes = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      while (performance.now() < until) {
        const probe = await get(port, '/health', false);
        expect(probe.status).toBe(200);
        latencies.push(probe.ms);
        if (latencies.length % 20 === 0) {
          cachedScrapes.push((await get(port, '/metrics', false, right)).status);
          // Another user's first login: a comparison the flood must leave room for.
          // Beside the probes, not in their loop: a login may wait its turn for bcrypt.
          if (fresh < FRESH_USERS) {
            freshLogins.push(
              get(
                port,
                '/metrics',
                false,
                basic(`fresh-${String(fresh)}`, password),
                `127.0.1.${String(fresh + 1)}`,
              ).then((login) => login.status),
            );
            fresh += 1;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      await Promise.all([...attackers, probes]);
    } finally {
      for (const agent of agents) agent.destroy();
    }
    const logins = await Promise.all(freshLogins);
    const sorted = [...latencies].sort((a, b) => a - b);
    const result = {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      probes: latencies.length,
      statuses,
      cachedScrapes,
      freshLogins: logins,
    };
    const attempts = [...statuses.values()].reduce((a, b) => a + b, 0);
    console.info(
      `bad-password flood from ${String(addresses.length)} address(es): ${String(ATTACKERS)} clients, ${String(attempts)} attempts in ` +
        `${String(FLOOD_MS / 1000)} s (statuses ${JSON.stringify(Object.fromEntries(statuses))}); /health over ${String(latencies.length)} probes: ` +
        `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms; ` +
        `fresh logins meanwhile ${JSON.stringify(logins)}`,
    );
    return result;
  }

  function expectProbesStayFast(result: Flood): void {
    expect(result.p50, '/health p50').toBeLessThan(P50_BUDGET_MS);
    expect(result.p99, '/health p99').toBeLessThan(P99_BUDGET_MS);
    expect(result.probes).toBeGreaterThanOrEqual(20);
    expect([...result.statuses.keys()]).toEqual([401]);
    expect(result.cachedScrapes.length).toBeGreaterThan(0);
    expect(
      result.cachedScrapes.every((status) => status === 200),
      'a cached scrape was refused',
    ).toBe(true);
  }

  it(
    `${String(ATTACKERS)} clients from one address hammering /metrics with wrong passwords: /health p50 < ${String(P50_BUDGET_MS)} ms, p99 < ${String(P99_BUDGET_MS)} ms`,
    async () => {
      const result = await flood(['127.0.0.1'], PASSWORD);
      expectProbesStayFast(result);
      // The flooding address uses up its own budget of comparisons, not everyone's.
      expect(result.freshLogins.length).toBeGreaterThan(0);
      expect(
        result.freshLogins.every((status) => status === 200),
        'a first login from another address was refused',
      ).toBe(true);
    },
    FLOOD_MS + 30_000,
  );

  it(
    `${String(ATTACKERS)} clients from ${String(ATTACKERS)} addresses: the probes stay as fast`,
    async () => {
      const addresses = Array.from({ length: ATTACKERS }, (_, i) => `127.0.0.${String(i + 2)}`);
      expectProbesStayFast(await flood(addresses, PASSWORD));
    },
    FLOOD_MS + 30_000,
  );
});
