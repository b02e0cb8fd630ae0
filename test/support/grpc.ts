/**
 * The gRPC health server of test/support/grpc-health-server.ts, started as a child process (so
 * that it can be paused with SIGSTOP) with a server certificate and a client CA of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { liveChildren, tempDirs } from './cleanup.js';
import { makeSelfSignedCert, type SelfSigned } from './servers.js';

export interface GrpcHealthServer {
  /** Plaintext, TLS (server certificate only) and mTLS ports of the HealthImplementation. */
  readonly plain: number;
  readonly tls: number;
  readonly mtls: number;
  /** The port of the server that refuses (UNAUTHENTICATED, …) and echoes `:authority`. */
  readonly odd: number;
  /** A client certificate the mTLS port accepts (self-signed, trusted as the client CA). */
  readonly client: SelfSigned;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const SCRIPT = path.join(import.meta.dirname, 'grpc-health-server.ts');

export async function startGrpcHealthServer(cert: SelfSigned): Promise<GrpcHealthServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vitals-grpc-client-'));
  tempDirs.add(dir);
  const client = makeSelfSignedCert(dir);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', SCRIPT, JSON.stringify({ ...cert, clientCaFile: client.certFile })],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  let log = '';
  const ports = await new Promise<{ plain: number; tls: number; mtls: number; odd: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the gRPC server did not start in ${String(READY_TIMEOUT_MS)} ms:\n${log}`));
    }, READY_TIMEOUT_MS);
    // Drained for the child's whole life: a full pipe would block it.
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-8000)));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      log = (log + chunk).slice(-8000);
      const line = /^\{.*\}$/m.exec(log)?.[0];
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(JSON.parse(line) as { plain: number; tls: number; mtls: number; odd: number });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the gRPC server exited early (${signal ?? `code ${String(code)}`}):\n${log}`));
    });
  });
  let closed = false;
  return {
    ...ports,
    client,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async close() {
      if (closed) return;
      closed = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}
