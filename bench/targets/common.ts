/**
 * What every bench target shares: announce the port as one JSON line on stdout, and die with
 * the harness (stdin is a pipe from it: its end means the harness is gone, however it died).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';

/** The constant JSON body of the raw node:http and bare Koa peers. */
export const CONSTANT_BODY = '{"status":"pass"}';

export const HOST = '127.0.0.1';

export async function listenOn(server: Server, port = 0): Promise<number> {
  server.listen(port, HOST);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => {
      throw error;
    }),
  ]);
  return (server.address() as AddressInfo).port;
}

export function announce(port: number, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ listening: true, port, pid: process.pid, ...extra })}\n`);
}

/**
 * Exits on SIGTERM/SIGINT (after `cleanup`, bounded to 2 s) and when the harness's end of stdin
 * closes. process.exit() (not a signal death) lets `--cpu-prof` write its profile.
 */
export function exitWithParent(cleanup: () => Promise<void> | void = () => undefined): void {
  let exiting = false;
  const exit = () => {
    if (exiting) return;
    exiting = true;
    setTimeout(() => process.exit(0), 2000).unref();
    void Promise.resolve()
      .then(cleanup)
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);
  process.stdin.on('end', exit);
  process.stdin.on('close', exit);
  process.stdin.on('error', exit);
  process.stdin.resume();
}

/** `--name value` from argv. */
export function arg(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}
