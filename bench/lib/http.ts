/** A tiny HTTP client for setup checks and polling (never for load). */
import http from 'node:http';

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

export function get(url: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers });
      });
    });
    request.on('error', reject);
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`GET ${url} timed out`)));
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until GET answers 200; returns the reply, throws with the last answer after `timeoutMs`. */
export async function waitFor200(url: string, timeoutMs: number, everyMs = 100): Promise<Reply> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const reply = await get(url, {}, Math.max(100, Math.min(5000, deadline - performance.now())));
      if (reply.status === 200) return reply;
      last = `${String(reply.status)} ${reply.body.slice(0, 500)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (performance.now() > deadline) throw new Error(`${url}: no 200 within ${String(timeoutMs)} ms (last: ${last})`);
    await sleep(everyMs);
  }
}
