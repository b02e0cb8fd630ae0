/**
 * vitals with N custom checks that each open a TCP connection to --sink HOST:PORT and close it
 * (what a `tcp` check does), served by vitals' own standalone server (src/http/server.ts
 * `listen`, as the CLI does). Used when the config kind `tcp` does not exist.
 * argv: --checks N --sink HOST:PORT [--interval MS] [--timeout MS]
 */
import net from 'node:net';
import { listen } from '../../src/http/server.js';
import { createVitalsService } from '../../src/vitals.js';
import { announce, arg, exitWithParent, HOST } from './common.js';

const count = Number(arg('checks') ?? '1000');
const [sinkHost = HOST, sinkPort = ''] = (arg('sink') ?? '').split(':');
const interval = Number(arg('interval') ?? '10000');
const timeout = Number(arg('timeout') ?? '2000');
if (!Number.isInteger(count) || count < 1 || sinkPort === '') throw new Error('usage: --checks N --sink HOST:PORT');

function connectOnce(signal: AbortSignal): Promise<undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: sinkHost, port: Number(sinkPort) });
    const onAbort = () => {
      socket.destroy();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.end();
      socket.resume();
      resolve(undefined);
    });
    socket.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(error);
    });
  });
}

const service = await createVitalsService({ checks: [] });
const { vitals } = service;
const width = String(count).length;
for (let i = 1; i <= count; i++) {
  vitals.addCheck({ name: `tcp-${String(i).padStart(width, '0')}`, interval, timeout, run: connectOnce });
}
await vitals.start();
const server = await listen(service, HOST, 0);
exitWithParent(async () => {
  await server.close(0);
  await vitals.stop();
});
announce(server.port, { checks: count, via: 'custom checks' });
