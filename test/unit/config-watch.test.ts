/**
 * The config watcher compares with what was loaded: an edit made between the read and the
 * first poll (while vitals loads, with the port already answering /health) is a change.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { watchConfig, watchedHash } from '../../src/config/watch.js';

const dir = mkdtempSync(join(tmpdir(), 'vitals-watch-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function changes(file: string, baseline: string | undefined): Promise<number> {
  let count = 0;
  const stop = watchConfig(
    file,
    20,
    () => [],
    () => (count += 1),
    baseline,
  );
  return new Promise((resolve) =>
    setTimeout(() => {
      stop();
      resolve(count);
    }, 200),
  );
}

describe('watchConfig', () => {
  it('with the baseline of the content loaded, an edit made before polling starts is one change', async () => {
    const file = join(dir, 'edited.yml');
    const loaded = 'checks: []\n';
    writeFileSync(file, loaded);
    const baseline = watchedHash(file, [], loaded);
    writeFileSync(file, 'checks: [edited]\n');
    expect(await changes(file, baseline)).toBe(1);
  });

  it('with the baseline of the content loaded and no edit, nothing', async () => {
    const file = join(dir, 'same.yml');
    writeFileSync(file, 'checks: []\n');
    expect(await changes(file, watchedHash(file, [], 'checks: []\n'))).toBe(0);
  });

  it('without a baseline, the file as it is when polling starts', async () => {
    const file = join(dir, 'late.yml');
    writeFileSync(file, 'checks: [edited]\n');
    expect(await changes(file, undefined)).toBe(0);
  });
});
