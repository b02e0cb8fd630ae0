/**
 * The built CLI as a process: what reaches a pipe before it exits, and signals that arrive
 * while it is still starting. No dependency is needed: the configs hold no check, or fail
 * validation.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { liveChildren } from '../support/cleanup.js';
import { builtCliAndTempDir, CLI, startCli } from '../support/cli.js';

const tempDir = builtCliAndTempDir('vitals-cli-process-');

function start(args: readonly string[], env: Record<string, string> = {}): ReturnType<typeof startCli> {
  return startCli(args, {
    cwd: tempDir(),
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    timeoutMs: 30_000,
  });
}

describe('every problem reaches a piped stderr before the process exits', () => {
  const COUNT = 1500;
  let config = '';

  beforeAll(() => {
    // ~100 kB of problems: more than a pipe buffers (64 KiB), so an exit that does not wait for
    // stderr to drain cuts the list.
    const checks = Array.from(
      { length: COUNT },
      (_, i) => `  - { name: check-${String(i).padStart(4, '0')}, kind: no-such-kind-${String(i)} }`,
    );
    config = join(tempDir(), 'many-problems.yml');
    writeFileSync(config, `checks:\n${checks.join('\n')}\n`);
  });

  /**
   * Runs the CLI with stderr on a pipe(2) to `cat`, as `vitals validate ... 2>&1 | less` would:
   * node's own spawn gives a child a socket pair, which buffers more and hides the cut.
   */
  function throughPipe(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
    const shell = spawn(
      'bash',
      ['-c', '"$0" "$@" 2>&1 >/dev/null | cat; exit "${PIPESTATUS[0]}"', process.execPath, CLI, ...args],
      {
        cwd: tempDir(),
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 30_000,
      },
    );
    liveChildren.add(shell);
    // What the CLI wrote to its stderr arrives on the shell's stdout.
    let stderr = '';
    shell.stdout.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    return new Promise((resolve, reject) => {
      shell.once('error', reject);
      shell.once('close', (code) => {
        liveChildren.delete(shell);
        resolve({ code, stderr });
      });
    });
  }

  for (const command of ['validate', 'serve']) {
    it(`${command}: all ${String(COUNT)} problems, then exit 2`, async () => {
      const result = await throughPipe([command, '--config', config, '--port', '0', '--host', '127.0.0.1']);
      expect(result.code).toBe(2);
      const problems = result.stderr.split('\n').filter((line) => /^ {2}checks\[\d+\]\.kind: /.test(line));
      expect(problems).toHaveLength(COUNT);
      expect(problems.at(-1)).toMatch(/^ {2}checks\[1499\]\.kind: unknown kind "no-such-kind-1499"/);
      expect(Buffer.byteLength(result.stderr)).toBeGreaterThan(64 * 1024);
    });
  }
});

describe('a SIGHUP while vitals is still starting', () => {
  let config = '';
  beforeAll(() => {
    config = join(tempDir(), 'empty.yml');
    writeFileSync(config, 'server: { shutdownDelay: 0s, shutdownTimeout: 1s }\nchecks: []\n');
  });

  // Node itself takes ~0.2 s to reach the first line of cli.js on a loaded machine, and a signal
  // before that gets the default action whatever vitals does; vitals' own start-up (module loading,
  // config, listen) takes longer again. These offsets fall in the latter.
  const DELAYS_MS = [300, 400, 500, 650, 800];

  it.each(DELAYS_MS)('%i ms after spawn neither kills it nor stops it from serving and draining', async (delayMs) => {
    const { child, finished } = start(['serve', '--config', config, '--port', '0', '--host', '127.0.0.1']);
    // Listening before the SIGHUP is fine (a loaded machine's start-up is the slow part); the
    // line must not be missed then, or the test would only end at the 30 s spawn timeout.
    let stdout = '';
    child.stdout?.on('data', (chunk: string) => (stdout += chunk));
    await new Promise<void>((resolve) => child.once('spawn', resolve));
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    child.kill('SIGHUP');
    const listening = await new Promise<boolean>((resolve) => {
      const timer = setInterval(() => {
        if (stdout.includes('"msg":"listening"')) {
          clearInterval(timer);
          resolve(true);
        }
      }, 20);
      void finished.then(() => {
        clearInterval(timer);
        resolve(false);
      });
    });
    if (listening) child.kill('SIGTERM');
    const result = await finished;
    expect({ code: result.code, signal: result.signal }).toStrictEqual({ code: 0, signal: null });
    expect(result.stdout).toContain('"msg":"listening"');
    // Handled, not merely survived: the reload it asks for happens once vitals serves.
    expect(result.stdout).toMatch(/"msg":"SIGHUP[^"]*: reloading config and web config"/);
    expect(result.stdout).toContain('"msg":"config reloaded"');
  });
});
