/**
 * A throwaway nats-server for integration tests: its own temp dir and config, a free port on
 * 127.0.0.1 (the system server on 4222 is never touched), and one way to authenticate: a user
 * with a random password (optionally with JetStream, stored in the temp dir), or a random token
 * (optionally over TLS, which the server then requires).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
// Comes with @nats-io/transport-node, whose creds authenticator signs with it.
import { createUser } from '@nats-io/nkeys';
import { resolveBinary } from './binaries.js';
import { liveChildren, tempDirs } from './cleanup.js';
import { childServerControls } from './child-server.js';
import { freePort } from './ports.js';
import { serverSideConnections } from './fds.js';
import type { LocalServer } from './servers.js';

export interface NatsServer extends LocalServer {
  readonly user: string;
  /** The token of a server started with `auth: 'token'`; '' otherwise. */
  readonly token: string;
  /**
   * For a server started with `auth: 'user'`: the text of a .creds file for a second user, known
   * by its nkey. Its JWT is a placeholder: a server without an operator checks the nkey only.
   */
  readonly creds: string;
  /** nats://user:pass@127.0.0.1:port (percent-encoded), or nats://127.0.0.1:port for a token server. */
  url(opts?: { password?: string }): string;
}

export interface StartNatsOptions {
  readonly auth: 'user' | 'token';
  readonly jetstream?: boolean;
  /** Require TLS with this certificate. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

const USER = 'vitals';
const READY_TIMEOUT_MS = 15_000;
const START_ATTEMPTS = 5;

class AddressInUseError extends Error {}

function randomSecret(): string {
  const base = randomBytes(12).toString('base64url');
  return `${base.slice(0, 4)}#${base.slice(4, 8)}@${base.slice(8)}%x`;
}

/** A .creds file for a new nkey user, and that user's public key. */
export function newCreds(): { creds: string; publicKey: string } {
  const user = createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  return {
    publicKey: user.getPublicKey(),
    creds: [
      '-----BEGIN NATS USER JWT-----',
      'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.placeholder',
      '------END NATS USER JWT------',
      '',
      '-----BEGIN USER NKEY SEED-----',
      seed,
      '------END USER NKEY SEED------',
      '',
    ].join('\n'),
  };
}

function configText(opts: StartNatsOptions, secret: string, nkey: string): string {
  const auth =
    opts.auth === 'user'
      ? `authorization { users: [ { user: ${USER}, password: ${JSON.stringify(secret)} }, { nkey: ${nkey} } ] }`
      : `authorization { token: ${JSON.stringify(secret)} }`;
  const tls =
    opts.tls === undefined
      ? ''
      : `tls { cert_file: ${JSON.stringify(opts.tls.certFile)}, key_file: ${JSON.stringify(opts.tls.keyFile)} }`;
  return `${auth}\n${tls}\n`;
}

async function spawnNats(args: string[]): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(resolveBinary('nats-server'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server not ready after ${String(READY_TIMEOUT_MS)} ms:\n${log}`));
    }, READY_TIMEOUT_MS);
    // Keep draining the output for the server's whole life: a full pipe would block it.
    const onData = (chunk: string) => {
      log = (log + chunk).slice(-8_000);
      if (log.includes('Server is ready')) {
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
      const message = `nats-server exited early (${signal ?? `code ${String(code)}`}):\n${log}`;
      reject(/address already in use/i.test(log) ? new AddressInUseError(message) : new Error(message));
    });
  });
  return { child, log: () => log };
}

export async function startNats(opts: StartNatsOptions): Promise<NatsServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vitals-nats-'));
  tempDirs.add(dir);
  const secret = randomSecret();
  const nkeyUser = newCreds();
  const configFile = path.join(dir, 'nats.conf');
  await writeFile(configFile, configText(opts, secret, nkeyUser.publicKey));
  let started: { child: ChildProcess; log: () => string } | undefined;
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const args = ['-c', configFile, '-a', '127.0.0.1', '-p', String(port)];
    if (opts.jetstream === true) args.push('-js', '-sd', path.join(dir, 'jetstream'));
    try {
      started = await spawnNats(args);
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
  return {
    host: '127.0.0.1',
    port,
    user: USER,
    password: opts.auth === 'user' ? secret : '',
    token: opts.auth === 'token' ? secret : '',
    creds: opts.auth === 'user' ? nkeyUser.creds : '',
    url: (o = {}) => {
      if (opts.auth === 'token') return `nats://127.0.0.1:${String(port)}`;
      const pass = o.password ?? secret;
      return `nats://${USER}${pass === '' ? '' : `:${encodeURIComponent(pass)}`}@127.0.0.1:${String(port)}`;
    },
    connections: () => Promise.resolve(serverSideConnections([port])),
    logTail: log,
    ...childServerControls(child, { dir }),
  };
}
