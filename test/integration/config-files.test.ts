import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// A FIFO blocks a plain read until a writer appears, and a blocked synchronous read cannot be
// interrupted from inside the process: so these run the built CLI as a child with a deadline.
const CLI = join(import.meta.dirname, '../../dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'vitals-config-files-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function fifo(name: string): string {
  const path = join(dir, name);
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr.toString()}`);
  return path;
}

function validate(args: string[]) {
  const run = spawnSync(process.execPath, [CLI, 'validate', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '' },
    timeout: 10_000,
    encoding: 'utf8',
  });
  return { code: run.status, signal: run.signal, stderr: run.stderr };
}

describe('files that are not regular files', () => {
  it('a FIFO as the config: exit 2 naming it, no hang', () => {
    const path = fifo('config.yml');
    const run = validate(['--config', path]);
    expect(run.signal).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read config file "${path}" (ENOTREG)`);
  });

  it('a FIFO as a passwordFile: exit 2 naming the field, no hang', () => {
    fifo('password');
    const config = join(dir, 'with-secret.yml');
    writeFileSync(
      config,
      'checks:\n  - name: db\n    kind: mysql\n    url: mysql://app@127.0.0.1:3306/\n    passwordFile: password\n',
    );
    const run = validate(['--config', config]);
    expect(run.signal).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('checks[0].passwordFile: cannot read "password" (ENOTREG)');
  });

  it('a FIFO as the web config file: exit 2 naming it, no hang', () => {
    const web = fifo('web.yml');
    const config = join(dir, 'plain.yml');
    writeFileSync(config, 'checks: []\n');
    const run = validate(['--config', config, '--web.config.file', web]);
    expect(run.signal).toBeNull();
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read web config file "${web}" (ENOTREG)`);
  });
});
