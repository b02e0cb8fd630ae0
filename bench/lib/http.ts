/**
 * HTTP for the benchmark's setup checks and polling (never for load): the one-shot client of
 * test/support/http.ts, and a wait for a 200.
 */
import { get, type Reply } from '../../test/support/http.js';

export { get, type Reply };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until GET answers 200; returns the reply, throws with the last answer after `timeoutMs`. */
export async function waitFor200(url: string, timeoutMs: number, everyMs = 100): Promise<Reply> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const reply = await get(url, { timeoutMs: Math.max(100, Math.min(5000, deadline - performance.now())) });
      if (reply.status === 200) return reply;
      last = `${String(reply.status)} ${reply.body.slice(0, 500)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (performance.now() > deadline) throw new Error(`${url}: no 200 within ${String(timeoutMs)} ms (last: ${last})`);
    await sleep(everyMs);
  }
}
