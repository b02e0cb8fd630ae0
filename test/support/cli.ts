/**
 * The built CLI (`dist/cli.js`) as a child process: build it when it is older than `src/`, start
 * it, and collect what it writes until it closes its pipes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { liveChildren } from './cleanup.js';

export const ROOT = join(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli.js');

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** The child's whole environment. */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Killed with `killSignal` after this long: a CLI that hangs fails its test instead of hanging it. */
  readonly timeoutMs: number;
  /** Default SIGTERM. */
  readonly killSignal?: NodeJS.Signals;
}

function newestSource(path: string): number {
  return Math.max(
    ...readdirSync(path, { withFileTypes: true }).map((entry) =>
      entry.isDirectory() ? newestSource(join(path, entry.name)) : statSync(join(path, entry.name)).mtimeMs,
    ),
  );
}

/** `npm run build` unless dist/cli.js is newer than every file in src/: run alone after an edit, a test file would otherwise test the previous build. */
export function buildIfStale(): void {
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newestSource(join(ROOT, 'src'))) return;
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
}

/**
 * For a test file that runs the CLI: a `beforeAll` that builds it if stale and makes a temp dir
 * named `prefix...`, an `afterAll` that removes the dir. Returns the dir (throws before `beforeAll`).
 */
export function builtCliAndTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(() => {
    buildIfStale();
    dir = mkdtempSync(join(tmpdir(), prefix));
  }, 120_000);
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (dir === undefined) throw new Error('beforeAll has not run');
    return dir;
  };
}

/** Starts `node dist/cli.js ...args` with stdin closed; `finished` settles once it has exited and its pipes are drained. */
export function startCli(
  args: readonly string[],
  opts: CliOptions,
): { child: ChildProcess; finished: Promise<Finished> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeoutMs,
    killSignal: opts.killSignal ?? 'SIGTERM',
  });
  liveChildren.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const finished = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      liveChildren.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, finished };
}

/** `startCli`, awaited. */
export function runCli(args: readonly string[], opts: CliOptions): Promise<Finished> {
  return startCli(args, opts).finished;
}
