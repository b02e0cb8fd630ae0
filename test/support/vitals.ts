import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';
import { listen, type RunningServer } from '../../src/http/server.js';
import { createVitalsService, type Vitals } from '../../src/vitals.js';

/** Log lines a test can read back, parsed from pino's JSON. */
export interface LogCapture {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
  readonly text: () => string;
}

export function captureLogs(level = 'info'): LogCapture {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger(level, stream);
  return {
    logger,
    get lines() {
      return raw
        .join('')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

export interface ServedVitals {
  readonly vitals: Vitals;
  readonly server: RunningServer;
  readonly url: string;
  readonly logs: LogCapture;
  close(): Promise<void>;
}

/** A started vitals on a random loopback port, with its logs captured. */
export async function serveVitals(config: Record<string, unknown>): Promise<ServedVitals> {
  const logs = captureLogs();
  const service = await createVitalsService(config, { logger: logs.logger });
  const { vitals } = service;
  await vitals.start();
  const server = await listen(service, '127.0.0.1', 0);
  return {
    vitals,
    server,
    url: `http://127.0.0.1:${String(server.port)}`,
    logs,
    async close() {
      await vitals.stop();
      await server.close(0);
    },
  };
}
