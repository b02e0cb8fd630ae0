/**
 * Issue 4: a slow-loris client (many sockets sending their headers one byte per second) does
 * not starve probes, and the server's headersTimeout closes its sockets.
 *
 * Node enforces headersTimeout from a periodic sweep (`connectionsCheckingInterval`); vitals
 * sweeps every second (30 s is Node's default), so a slow socket lives between headersTimeout
 * and headersTimeout + 1 s: the bound below allows for that plus a busy CI core.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../support/raw-http.js';
import { controlled, startVitals, type RunningVitals } from '../support/vitals.js';
import { request } from '../support/http.js';

const SLOW_SOCKETS = 200;
/** src/http/listener-socket.ts */
const HEADERS_TIMEOUT_MS = 5000;
/** src/http/listener-socket.ts connectionsCheckingInterval: how often the timeouts above are enforced. */
const CHECKING_INTERVAL_MS = 1_000;
const PROBE_BUDGET_MS = 500;

interface Slow {
  readonly socket: Socket;
  closedAfterMs: number | undefined;
  answer: string;
}

describe('slow-loris', () => {
  let vitals: RunningVitals;

  beforeAll(async () => {
    const good = controlled('pass');
    vitals = await startVitals({}, [{ name: 'good', interval: 1000, timeout: 500, run: good.run }]);
  });

  afterAll(async () => {
    await vitals.close();
  });

  it(
    `${String(SLOW_SOCKETS)} sockets sending headers one byte per second: probes stay prompt, the server closes them`,
    async () => {
      const started = performance.now();
      const slow: Slow[] = [];
      for (let i = 0; i < SLOW_SOCKETS; i += 1) {
        const socket = await connect(vitals.port);
        const entry: Slow = { socket, closedAfterMs: undefined, answer: '' };
        socket.on('data', (chunk: Buffer) => {
          entry.answer += chunk.toString('latin1');
        });
        socket.on('error', () => undefined);
        socket.on('close', () => {
          entry.closedAfterMs = performance.now() - started;
        });
        socket.write(`GET /health HTTP/1.1\r\nHost: vitals\r\nX-Slow-${String(i)}: `);
        slow.push(entry);
      }
      const drip = setInterval(() => {
        for (const { socket } of slow) if (!socket.destroyed) socket.write('a');
      }, 1000);
      try {
        // While they hang: every probe answers on a fresh connection, promptly.
        const latencies: number[] = [];
        while (performance.now() - started < HEADERS_TIMEOUT_MS - 1000) {
          for (const path of ['/health', '/ready', '/startup', '/metrics']) {
            const t0 = performance.now();
            const reply = await request(vitals.port, path);
            latencies.push(performance.now() - t0);
            expect(reply.status, path).toBe(200);
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(
          slow.every((s) => s.closedAfterMs === undefined),
          'slow sockets still open while the probes ran',
        ).toBe(true);
        expect(Math.max(...latencies)).toBeLessThan(PROBE_BUDGET_MS);

        // Then the server gives up on them: 408 and close, none left hanging.
        const limit = HEADERS_TIMEOUT_MS + CHECKING_INTERVAL_MS + 2000;
        while (slow.some((s) => s.closedAfterMs === undefined) && performance.now() - started < limit) {
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        const closed = slow.map((s) => s.closedAfterMs ?? Number.POSITIVE_INFINITY);
        const first = Math.min(...closed);
        const last = Math.max(...closed);
        console.info(
          `slow-loris: ${String(SLOW_SOCKETS)} sockets closed by the server after ${(first / 1000).toFixed(1)}-${(last / 1000).toFixed(1)} s ` +
            `(headersTimeout ${String(HEADERS_TIMEOUT_MS / 1000)} s, enforced by Node's ${String(CHECKING_INTERVAL_MS / 1000)} s sweep); ` +
            `probes answered in at most ${Math.max(...latencies).toFixed(1)} ms meanwhile`,
        );
        expect(last, 'a slow socket outlived headersTimeout + the sweep interval').toBeLessThan(limit);
        expect(first, 'closed before headersTimeout').toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
        for (const s of slow) expect(s.answer).toMatch(/^HTTP\/1\.1 408 /);
        // And the probes still answer afterwards.
        expect((await request(vitals.port, '/health')).status).toBe(200);
      } finally {
        clearInterval(drip);
        for (const { socket } of slow) socket.destroy();
      }
    },
    HEADERS_TIMEOUT_MS + CHECKING_INTERVAL_MS + 20_000,
  );
});
