import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnlessBinaries } from '../support/binaries.js';
import { runCli as runBuiltCli, startCli, type Finished } from '../support/cli.js';
import { startMariaDb, type MariaDb } from '../support/mariadb.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  // A CLI that should exit but serves instead must fail the test, not hang it.
  return runBuiltCli(args, { env: { ...process.env, ...env }, timeoutMs: 15_000, killSignal: 'SIGKILL' });
}

describe.skipIf(skipUnlessBinaries(['mariadbd', 'mariadb-install-db', 'mariadb'], 'CLI integration'))(
  'the vitals CLI',
  () => {
    let db: MariaDb;
    let dir: string;
    let goodConfig: string;
    let badConfig: string;

    beforeAll(async () => {
      db = await startMariaDb();
      dir = await mkdtemp(join(tmpdir(), 'vitals-cli-'));
      goodConfig = join(dir, 'good.yml');
      badConfig = join(dir, 'down.yml');
      const closed = await freePort();
      await writeFile(
        goodConfig,
        `defaults: { interval: 1s, timeout: 500ms }\nchecks:\n  - name: db\n    kind: mysql\n    url: mysql://${db.user}@127.0.0.1:${String(db.port)}/\n    password: \${DB_PASSWORD}\n  - name: optional\n    kind: mysql\n    critical: false\n    url: mysql://root@127.0.0.1:${String(closed)}/\n`,
      );
      await writeFile(
        badConfig,
        `checks:\n  - name: down\n    kind: mysql\n    url: mysql://root@127.0.0.1:${String(closed)}/\n    timeout: 500ms\n`,
      );
    });

    afterAll(async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** Writes `text` to `file` in the temp dir and runs `vitals COMMAND --config` on it. */
    async function runWithConfig(command: 'check' | 'serve', file: string, text: string): Promise<Finished> {
      const path = join(dir, file);
      await writeFile(path, text);
      return runCli([command, '--config', path]);
    }

    it('check prints a table and exits 0 when every critical check passes', async () => {
      const result = await runCli(['check', '--config', goodConfig], { DB_PASSWORD: db.password });
      expect(result.code).toBe(0);
      const lines = result.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^NAME\s+KIND\s+STATUS\s+LATENCY\s+REASON$/);
      expect(lines[1]).toMatch(/^db\s+mysql\s+pass\s+\d+\.\dms/);
      expect(lines[2]).toMatch(/^optional\s+mysql\s+fail\s+\d+\.\dms\s+refused: /);
      expect(result.stdout).not.toContain(db.password);
    });

    it('check exits 1 when a critical check fails, naming the reason', async () => {
      const result = await runCli(['check', '--config', badConfig]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/down\s+mysql\s+fail\s+.*refused: .*ECONNREFUSED/);
    });

    it('check exits 2 on a config error', async () => {
      const result = await runWithConfig('check', 'invalid.yml', 'checks:\n  - name: x\n    kind: nope\n');
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('checks[0].kind: unknown kind "nope"');
    });

    it('serve answers, then on SIGTERM drains /ready for shutdownDelay and exits 0', async () => {
      const port = await freePort();
      const config = join(dir, 'serve.yml');
      await writeFile(
        config,
        `server: { shutdownDelay: 1500ms, shutdownTimeout: 1s }\ndefaults: { interval: 1s, timeout: 500ms }\nchecks:\n  - name: db\n    kind: mysql\n    url: ${db.url()}\n`,
      );
      const { child, finished } = startCli(
        ['serve', '--config', config, '--host', '127.0.0.1', '--port', String(port)],
        { env: process.env, timeoutMs: 30_000, killSignal: 'SIGKILL' },
      );
      try {
        const base = `http://127.0.0.1:${String(port)}`;
        const readyStatus = (): Promise<number> =>
          fetch(`${base}/ready`).then(
            (r) => r.status,
            () => 0,
          );
        await waitFor(readyStatus, (s) => s === 200, 10_000);
        const signalledAt = performance.now();
        child.kill('SIGTERM');
        const draining = await waitFor(readyStatus, (s) => s === 503, 1000);
        expect(draining.value).toBe(503);
        expect((await fetch(`${base}/health`)).status).toBe(200);
        const metricsText = await (await fetch(`${base}/metrics`)).text();
        expect(metricsText).toMatch(/^vitals_draining 1$/m);
        const { code, stdout } = await finished;
        expect(code).toBe(0);
        const tookMs = performance.now() - signalledAt;
        expect(tookMs).toBeGreaterThanOrEqual(1400);
        expect(tookMs).toBeLessThan(1500 + 1000 + 1500);
        expect(stdout).toContain('"msg":"draining');
        expect(stdout).not.toContain(db.password);
      } finally {
        child.kill('SIGKILL');
      }
    });

    it('serve exits 2 naming the problem when the config is invalid', async () => {
      const result = await runWithConfig('serve', 'broken.yml', 'defaults:\n  interval: 1s\n  timeout: 2s\n');
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('defaults.timeout');
      expect(result.stderr).not.toMatch(/^\s+at /m);
    });
  },
);
