/**
 * What every throwaway server started as a child process (redis, memcached, mosquitto, nats)
 * does the same way: SIGSTOP/SIGCONT for the fault tests, and a close that wakes a paused
 * server before asking it to stop (a stopped process never handles SIGTERM), kills it after
 * 5 s, and removes its temp dir.
 */
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tempDirs } from './cleanup.js';

const STOP_GRACE_MS = 5_000;

export interface ChildServerControls {
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export interface ChildServerOptions {
  /** Its temp dir, removed after it has exited. */
  readonly dir?: string;
  /** Releases what the test holds on the server (an admin connection) before it stops. */
  readonly beforeClose?: () => void;
}

export function childServerControls(child: ChildProcess, options: ChildServerOptions = {}): ChildServerControls {
  const { dir, beforeClose } = options;
  let closed = false;
  return {
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async close() {
      if (closed) return;
      closed = true;
      beforeClose?.();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const exited = new Promise((resolve) => child.once('exit', resolve));
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      if (dir === undefined) return;
      await rm(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}
