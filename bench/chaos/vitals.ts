/** vitals under test: built, started as a child process, observed over HTTP, garbage-collected on demand. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnTarget, type Spawned } from '../lib/children.js';
import { get, sleep, waitFor200 } from '../lib/http.js';
import { ROOT } from '../lib/versions.js';
import type { Truth } from './types.js';

const CLI = join(ROOT, 'dist/cli.js');

/** Rebuilds dist/ when any source file is newer than its output (or missing). */
export function ensureBuilt(log: (line: string) => void): void {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), path)).replace(/\.ts$/, '.js');
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(path).mtimeMs) stale.push(path);
      }
    }
  };
  walk(join(ROOT, 'src'));
  if (stale.length === 0) return;
  log(`building dist/ (${String(stale.length)} stale file(s))`);
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
}

export interface VitalsChild {
  readonly pid: number;
  readonly port: number;
  /** vitals' JSON log lines, from its start. */
  readonly records: readonly Record<string, unknown>[];
  /** The inspector's WebSocket URL. */
  readonly inspector: string;
  readonly output: () => string;
  /** SIGTERM, SIGKILL after 5 s; the exit code (null when killed). */
  stop(): Promise<number | null>;
}

export async function startVitalsChild(configPath: string, port: number, env: NodeJS.ProcessEnv): Promise<VitalsChild> {
  // The inspector (loopback, random port) is only there to ask for a full GC before RSS is
  // read: see collectGarbage.
  const spawned: Spawned = await spawnTarget(
    'vitals',
    [
      process.execPath,
      '--inspect=127.0.0.1:0',
      CLI,
      'serve',
      '--config',
      configPath,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
    ],
    { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env }, timeoutMs: 15_000 },
  );
  const { child } = spawned;
  try {
    await waitFor200(`http://127.0.0.1:${String(port)}/health`, 15_000, 50).catch((error: unknown) => {
      throw new Error(`vitals: ${(error as Error).message}; output:\n${spawned.output()}`);
    });
    // The inspector prints its URL on stderr, which races the "listening" line on stdout.
    let inspector: string | undefined;
    const deadline = performance.now() + 2000;
    while ((inspector = /Debugger listening on (ws:\/\/\S+)/.exec(spawned.output())?.[1]) === undefined) {
      if (performance.now() > deadline) throw new Error(`vitals printed no inspector URL:\n${spawned.output()}`);
      await sleep(20);
    }
    return {
      pid: spawned.pid,
      port,
      records: spawned.records,
      inspector,
      output: () => spawned.output(),
      async stop() {
        await spawned.stop(5000);
        return child.exitCode;
      },
    };
  } catch (error) {
    await spawned.stop(0);
    throw error;
  }
}

interface Observation {
  readonly ready: number;
  readonly up: number | undefined;
  readonly slowestMs: number;
}

async function timedGet(port: number, path: string): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  const reply = await get(`http://127.0.0.1:${String(port)}${path}`, { timeoutMs: 5000 });
  return { status: reply.status, body: reply.body, ms: performance.now() - t0 };
}

function checkUp(metrics: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith('vitals_check_up{') && l.includes('check="db"'));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/** /ready and vitals_check_up, asked at the same time. */
export async function observe(port: number): Promise<Observation> {
  const [ready, metrics] = await Promise.all([timedGet(port, '/ready'), timedGet(port, '/metrics')]);
  return { ready: ready.status, up: checkUp(metrics.body), slowestMs: Math.max(ready.ms, metrics.ms) };
}

export const agrees = (o: Observation, truth: Truth) =>
  truth === 'up' ? o.ready === 200 && o.up === 1 : o.ready === 503 && o.up === 0;

/**
 * A full garbage collection in vitals, through its inspector (HeapProfiler.collectGarbage).
 * V8 lets the old generation grow for a minute or so before its first full collection (RSS
 * 110 -> 137 MB, then back to 113 MB, at 300 req/s): RSS read at two arbitrary moments
 * measures where that sawtooth is, not what is retained. Read after a full GC at both ends,
 * the growth is what the run left behind. The client is a throwaway node with a WebSocket.
 */
export function collectGarbage(inspectorUrl: string): Promise<void> {
  const flags =
    typeof WebSocket === 'undefined' && process.allowedNodeEnvironmentFlags.has('--experimental-websocket')
      ? ['--experimental-websocket']
      : [];
  const script = `
    const ws = new WebSocket(${JSON.stringify(inspectorUrl)});
    const done = (code) => { try { ws.close(); } catch {} process.exit(code); };
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
    ws.onmessage = (event) => { if (JSON.parse(String(event.data)).id === 1) done(0); };
    ws.onerror = () => done(1);
    setTimeout(() => done(2), 10000);`;
  return new Promise((resolve, reject) => {
    const gc = spawn(process.execPath, [...flags, '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    gc.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    gc.once('error', reject);
    gc.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`full GC through the inspector failed (${String(code)}): ${stderr}`));
    });
  });
}
