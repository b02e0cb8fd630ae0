/**
 * A throwaway Mosquitto broker for integration tests: its own temp dir and config, a listener on
 * a free port on 127.0.0.1 (the system broker on 1883 is never touched), no anonymous clients,
 * one user with a random password in a `mosquitto_passwd` file, and optionally a TLS listener.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveBinary } from './binaries.js';
import { liveChildren, tempDirs } from './cleanup.js';
import { childServerControls } from './child-server.js';
import { freePort } from './ports.js';
import { serverSideConnections } from './fds.js';
import type { LocalServer } from './servers.js';

export interface Mosquitto extends LocalServer {
  readonly user: string;
  /** The TLS listener's port when started with `tls`, else undefined. */
  readonly tlsPort: number | undefined;
  /** mqtt://user:pass@127.0.0.1:port, percent-encoded; `password: ''` leaves the password out. */
  url(opts?: { password?: string }): string;
}

export interface StartMosquittoOptions {
  /** Also listen with TLS on a second port with this certificate. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

const USER = 'vitals';
const READY_TIMEOUT_MS = 15_000;
const START_ATTEMPTS = 5;

class AddressInUseError extends Error {}

function randomPassword(): string {
  const base = randomBytes(12).toString('base64url');
  return `${base.slice(0, 4)}#${base.slice(4, 8)}@${base.slice(8)}%x`;
}

function configText(dir: string, port: number, tls: StartMosquittoOptions['tls'], tlsPort: number): string {
  return [
    'per_listener_settings false',
    'allow_anonymous false',
    `password_file ${path.join(dir, 'passwd')}`,
    'persistence false',
    // stderr: unbuffered, where stdout to a pipe would hold the lines back.
    'log_dest stderr',
    ...['error', 'warning', 'notice', 'information'].map((type) => `log_type ${type}`),
    // Run as root (as CI does), it would drop to the mosquitto user, who cannot read the temp dir.
    'user root',
    `listener ${String(port)} 127.0.0.1`,
    ...(tls === undefined
      ? []
      : [`listener ${String(tlsPort)} 127.0.0.1`, `certfile ${tls.certFile}`, `keyfile ${tls.keyFile}`]),
    '',
  ].join('\n');
}

async function spawnMosquitto(configFile: string): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(resolveBinary('mosquitto'), ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mosquitto not ready after ${String(READY_TIMEOUT_MS)} ms:\n${log}`));
    }, READY_TIMEOUT_MS);
    // Keep draining the output for the broker's whole life: a full pipe would block it.
    const onData = (chunk: string) => {
      log = (log + chunk).slice(-8_000);
      if (/mosquitto version \S+ running/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const message = `mosquitto exited early (${signal ?? `code ${String(code)}`}):\n${log}`;
      reject(/address already in use/i.test(log) ? new AddressInUseError(message) : new Error(message));
    });
  });
  return { child, log: () => log };
}

export async function startMosquitto(opts: StartMosquittoOptions = {}): Promise<Mosquitto> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vitals-mosquitto-'));
  tempDirs.add(dir);
  const password = randomPassword();
  execFileSync(resolveBinary('mosquitto_passwd'), ['-b', '-c', path.join(dir, 'passwd'), USER, password], {
    stdio: 'ignore',
  });
  const configFile = path.join(dir, 'mosquitto.conf');
  let started: { child: ChildProcess; log: () => string } | undefined;
  let port = 0;
  let tlsPort = 0;
  for (let attempt = 1; ; attempt++) {
    [port, tlsPort] = await Promise.all([freePort(), freePort()]);
    await writeFile(configFile, configText(dir, port, opts.tls, tlsPort));
    try {
      started = await spawnMosquitto(configFile);
      break;
    } catch (error) {
      if (!(error instanceof AddressInUseError) || attempt >= START_ATTEMPTS) {
        await rm(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
        throw error;
      }
    }
  }
  const { child, log } = started;
  const ports = opts.tls === undefined ? [port] : [port, tlsPort];
  return {
    host: '127.0.0.1',
    port,
    tlsPort: opts.tls === undefined ? undefined : tlsPort,
    user: USER,
    password,
    url: (o = {}) => {
      const secret = o.password ?? password;
      return `mqtt://${USER}${secret === '' ? '' : `:${encodeURIComponent(secret)}`}@127.0.0.1:${String(port)}`;
    },
    connections: () => Promise.resolve(serverSideConnections(ports)),
    logTail: log,
    ...childServerControls(child, { dir }),
  };
}
