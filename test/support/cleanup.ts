import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Servers a test helper started that may still be running, and temp dirs not yet removed:
 * both go when the test process exits, so an aborted test leaves no daemon or datadir behind.
 * Helpers add on start and delete on a clean close.
 */
export const liveChildren = new Set<ChildProcess>();
export const tempDirs = new Set<string>();

process.on('exit', () => {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
});
