/**
 * Child processes of the benchmark: every one is the leader of its own process group (so its CPU
 * can be summed from /proc and the whole group killed), tracked here, and SIGKILLed when the
 * harness exits for any reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || hasExited(child)) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

process.on('exit', () => {
  for (const child of live) killGroup(child, 'SIGKILL');
});

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(hasExited(child));
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

export interface Spawned {
  readonly name: string;
  readonly child: ChildProcess;
  /** The process group id (= the child's pid). */
  readonly pid: number;
  /** The port from the child's first JSON line with a numeric `port`. */
  readonly port: number;
  readonly command: readonly string[];
  /** Wall ms from spawn() to that line. */
  readonly announceMs: number;
  /** The last few KB of stdout + stderr, for error messages. */
  output(): string;
  /** Lines on stdout that parse as JSON, from the child's start. */
  readonly records: Record<string, unknown>[];
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** How long to wait for the port line. */
  readonly timeoutMs?: number;
}

const TAIL = 8000;

/**
 * Spawns `command` in its own process group and resolves once it prints a JSON line with a
 * numeric `port` (the targets print `{"listening":true,"port":N}`; vitals' CLI logs
 * `{"msg":"listening","port":N,...}`). Stdin is a pipe: the bench targets exit when it closes,
 * that is when the harness dies however it dies.
 */
export function spawnTarget(name: string, command: readonly string[], options: SpawnOptions = {}): Promise<Spawned> {
  const [file, ...args] = command;
  if (file === undefined) throw new Error('empty command');
  const started = performance.now();
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.stdin.on('error', () => undefined);
  let tail = '';
  const records: Record<string, unknown>[] = [];
  const keep = (chunk: string) => {
    tail = (tail + chunk).slice(-TAIL);
  };
  let pending = '';
  const timeoutMs = options.timeoutMs ?? 30_000;

  return new Promise<Spawned>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      killGroup(child, 'SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => {
      fail(new Error(`${name}: no port announced within ${String(timeoutMs)} ms; output:\n${tail}`));
    }, timeoutMs);
    child.once('error', (error) => {
      fail(new Error(`${name}: cannot start ${file}: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      fail(new Error(`${name}: exited before listening (${signal ?? `code ${String(code)}`}); output:\n${tail}`));
    });
    child.stderr.setEncoding('utf8').on('data', keep);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      keep(chunk);
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        records.push(record);
        if (settled || typeof record.port !== 'number') continue;
        if (record.listening !== true && record.msg !== 'listening') continue;
        settled = true;
        clearTimeout(timer);
        const port = record.port;
        const pid = child.pid;
        if (pid === undefined) {
          reject(new Error(`${name}: no pid`));
          return;
        }
        resolve({
          name,
          child,
          pid,
          port,
          command,
          announceMs: performance.now() - started,
          records,
          output: () => tail,
          async stop(graceMs = 3000) {
            if (hasExited(child)) return;
            killGroup(child, 'SIGTERM');
            child.stdin.end();
            if (!(await waitExit(child, graceMs))) {
              killGroup(child, 'SIGKILL');
              await waitExit(child, 5000);
            }
            // Members of the group that outlived the leader.
            killGroup(child, 'SIGKILL');
          },
        });
      }
    });
  });
}

/** Spawns a command without waiting for a port (the startup measurement polls instead). */
export function spawnRaw(
  command: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): {
  child: ChildProcess;
  stop(graceMs?: number): Promise<void>;
} {
  const [file, ...args] = command;
  if (file === undefined) throw new Error('empty command');
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'ignore', 'ignore'],
    detached: true,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => undefined);
  return {
    child,
    async stop(graceMs = 3000) {
      if (hasExited(child)) return;
      killGroup(child, 'SIGTERM');
      if (!(await waitExit(child, graceMs))) {
        killGroup(child, 'SIGKILL');
        await waitExit(child, 5000);
      }
    },
  };
}

/** Also used for wrk runs: tracked so that an interrupted harness kills them. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** SIGKILLs every live child group now (signal handlers, fatal errors). */
export function killAllNow(): void {
  for (const child of live) killGroup(child, 'SIGKILL');
}
