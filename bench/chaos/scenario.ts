/**
 * The chaos run itself: MariaDB and vitals up, the load started, the starting levels taken,
 * then every cycle's transitions (kill -> restart -> pause -> resume -> wrong password -> fixed),
 * each detected, held and logged, and the levels taken again after every cycle.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMariaDb, type MariaDb } from '../../test/support/mariadb.js';
import { freePort } from '../../test/support/ports.js';
import { sleep } from '../lib/http.js';
import { openFds, sampleProcess, tcpSocketsTo } from '../lib/procfs.js';
import { watchFds, type FdWatch } from './leaks.js';
import { startLoad, type LoadChild } from './load.js';
import { assess, mb, renderTable } from './report.js';
import {
  BUDGET_MS,
  DB_SOCKET_SLACK,
  FD_SLACK,
  GC_PHASE,
  INTERVAL_MS,
  MIN_FAULT_MS,
  POLL_MS,
  SETTLE_MS,
  TIMEOUT_MS,
  TRANSITIONS,
  TRUTH_AFTER,
  type ChaosOptions,
  type ChaosReport,
  type CycleResources,
  type TransitionKind,
  type TransitionResult,
} from './types.js';
import { agrees, collectGarbage, ensureBuilt, observe, startVitalsChild, type VitalsChild } from './vitals.js';

/** Temp dirs still there if the orchestrator exits early (vitals is killed by bench/lib/children). */
const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const rssBytes = (pid: number) => sampleProcess(pid).rss;

/** Polls `read` until it is at most `limit` (or SETTLE_MS passes); returns the last value. */
async function settleTo(read: () => number | Promise<number>, limit: number): Promise<number> {
  const deadline = performance.now() + SETTLE_MS;
  let value = await read();
  while (value > limit && performance.now() < deadline) {
    await sleep(100);
    value = await read();
  }
  return value;
}

function vitalsConfig(db: MariaDb): string {
  return [
    'server:',
    '  shutdownDelay: 0s',
    '  shutdownTimeout: 1s',
    'defaults:',
    `  interval: ${String(INTERVAL_MS)}ms`,
    `  timeout: ${String(TIMEOUT_MS)}ms`,
    'checks:',
    '  - name: db',
    '    kind: mysql',
    `    url: mysql://${db.user}@127.0.0.1:${String(db.port)}/`,
    '    password: ${CHAOS_DB_PASSWORD}',
    '',
  ].join('\n');
}

function faults(db: MariaDb): Record<TransitionKind, () => Promise<void>> {
  const wrongPassword = `wrong-${db.password.replace(/[^A-Za-z0-9]/g, '')}`;
  return {
    kill: () => db.kill(),
    restart: () => db.restart(),
    pause: async () => {
      db.pause();
    },
    resume: async () => {
      db.resume();
    },
    'wrong-password': async () => {
      await db.sql(
        `ALTER USER '${db.user}'@'%' IDENTIFIED BY '${wrongPassword}'; ALTER USER '${db.user}'@'localhost' IDENTIFIED BY '${wrongPassword}'`,
      );
    },
    fixed: async () => {
      // FLUSH TABLES makes the fix durable before the next cycle's SIGKILL.
      await db.sql(
        `ALTER USER '${db.user}'@'%' IDENTIFIED BY '${db.password}'; ALTER USER '${db.user}'@'localhost' IDENTIFIED BY '${db.password}'; FLUSH TABLES`,
      );
    },
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  ensureBuilt(log);
  const began = performance.now();
  const db = await startMariaDb();
  const dir = await mkdtemp(join(tmpdir(), 'vitals-chaos-'));
  tempDirs.add(dir);
  let vitals: VitalsChild | undefined;
  let load: LoadChild | undefined;
  let watch: FdWatch | undefined;
  try {
    const configPath = join(dir, 'vitals.yml');
    await writeFile(configPath, vitalsConfig(db));
    const port = await freePort();
    vitals = await startVitalsChild(configPath, port, { CHAOS_DB_PASSWORD: db.password });
    const v = vitals;
    log(`MariaDB on ${String(db.port)}, vitals pid ${String(v.pid)} on ${String(port)}`);

    // The first result: unknown -> pass.
    const firstDeadline = performance.now() + 10_000;
    while (!agrees(await observe(port), 'up')) {
      if (performance.now() > firstDeadline) throw new Error(`vitals never reported the database up:\n${v.output()}`);
      await sleep(POLL_MS);
    }

    const cycleSeconds = 6 * (BUDGET_MS + options.holdMs + 3000);
    const maxSeconds = 60 + options.warmupMs / 1000 + options.cycles * cycleSeconds;
    load = await startLoad({
      port,
      rate: options.rate,
      connections: options.connections,
      maxSeconds,
      maxRequests: Math.ceil(options.rate * maxSeconds),
    });
    // Warm-up: let the keep-alive sockets open, the JIT and the heap settle, then take the
    // starting levels (minimums: a check run in flight holds one more fd and thread).
    await sleep(options.warmupMs);
    const rssBeforeGc = rssBytes(v.pid);
    load.phase(GC_PHASE);
    await collectGarbage(v.inspector);
    await sleep(300);
    const rssStart = rssBytes(v.pid);
    const fdSamples: number[] = [];
    const socketSamples: number[] = [];
    const threadSamples: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      fdSamples.push(openFds(v.pid));
      socketSamples.push((await tcpSocketsTo(v.pid, db.port)).length);
      threadSamples.push(await db.threadsConnected());
      await sleep(200);
    }
    const fdStart = Math.min(...fdSamples);
    const socketStart = Math.min(...socketSamples);
    const threadStart = Math.min(...threadSamples);
    const rssRawStart = rssBeforeGc;
    let rssMax = rssRawStart;
    log(
      `starting levels: ${String(fdStart)} fds, ${String(socketStart)} socket(s) to MariaDB, ${String(threadStart)} Threads_connected, ` +
        `RSS ${mb(rssStart)} after a full GC (${mb(rssRawStart)} before)`,
    );
    watch = watchFds(v.pid, db.port);
    const w = watch;

    const actions = faults(db);
    const transitions: TransitionResult[] = [];
    const perCycle: CycleResources[] = [];
    let slowestPoll = 0;
    for (let cycle = 1; cycle <= options.cycles; cycle += 1) {
      for (const kind of TRANSITIONS) {
        const truth = TRUTH_AFTER[kind];
        load.phase(`${String(cycle)}:${kind}`);
        const mark = v.records.length;
        const window = await w.open();
        const t0 = performance.now();
        await actions[kind]();
        const acted = performance.now();
        let detectionMs: number | undefined;
        // Detection: poll until both /ready and vitals_check_up tell the truth.
        while (performance.now() - acted < 2 * BUDGET_MS) {
          const o = await observe(port);
          slowestPoll = Math.max(slowestPoll, o.slowestMs);
          if (agrees(o, truth)) {
            detectionMs = performance.now() - acted;
            break;
          }
          await sleep(POLL_MS);
        }
        // Hold: the state must stay reported (no flapping) until the next transition. A fault
        // also lasts long enough for a per-run leak to pass its bound.
        let disagreements = 0;
        const holdUntil = Math.max(performance.now() + options.holdMs, truth === 'down' ? acted + MIN_FAULT_MS : 0);
        while (detectionMs !== undefined && performance.now() < holdUntil) {
          await sleep(100);
          const o = await observe(port);
          slowestPoll = Math.max(slowestPoll, o.slowestMs);
          if (!agrees(o, truth)) disagreements += 1;
        }
        const held = await window.close();
        const logged = v.records
          .slice(mark)
          .filter((r) => r.msg === 'check status changed' && r.check === 'db')
          .map((r) => ({
            from: String(r.from),
            to: String(r.to),
            reason: typeof r.reason === 'string' ? r.reason : null,
          }));
        const result: TransitionResult = {
          cycle,
          kind,
          truth,
          detectionMs,
          disagreements,
          logged,
          actionMs: acted - t0,
          held,
        };
        transitions.push(result);
        log(
          `cycle ${String(cycle)} ${kind.padEnd(14)} -> ${truth.padEnd(4)} detected in ${detectionMs === undefined ? 'NEVER' : `${detectionMs.toFixed(0)} ms`}` +
            `, logged ${logged.map((l) => `${l.from}->${l.to}${l.reason === null ? '' : ` (${l.reason})`}`).join(', ') || 'nothing'}` +
            (disagreements > 0 ? `, ${String(disagreements)} disagreement(s) after detection` : '') +
            `; fds ${String(held.fds.start)}/${String(held.fds.max)}/${String(held.fds.end)}` +
            `, MariaDB sockets ${String(held.dbSockets.start)}/${String(held.dbSockets.max)}/${String(held.dbSockets.end)} (start/max/end)`,
        );
      }
      // After a full cycle the database is up with the right password: no connection and no
      // descriptor may remain from the faults.
      load.phase(`${String(cycle)}:settle`);
      const fds = await settleTo(() => openFds(v.pid), fdStart);
      const threads = await settleTo(() => db.threadsConnected(), threadStart);
      const rss = rssBytes(v.pid);
      rssMax = Math.max(rssMax, rss);
      perCycle.push({ cycle, fds, threads, rss });
      log(`cycle ${String(cycle)} done: ${String(fds)} fds, ${String(threads)} Threads_connected, RSS ${mb(rss)}`);
    }

    watch.stop();
    watch = undefined;
    load.phase('end');
    const loadStats = await load.stop();
    load = undefined;
    const fdEnd = openFds(v.pid);
    const threadEnd = await db.threadsConnected();
    const rssRawEnd = rssBytes(v.pid);
    rssMax = Math.max(rssMax, rssRawEnd);
    await collectGarbage(v.inspector);
    await sleep(300);
    const rssEnd = rssBytes(v.pid);
    const statusLog = v.records
      .filter((r) => r.msg === 'check status changed')
      .map((r) => `${String(r.from)}->${String(r.to)}`);
    const exitCode = await v.stop();
    vitals = undefined;

    const partial = {
      cycles: options.cycles,
      seconds: (performance.now() - began) / 1000,
      transitions,
      load: { ...loadStats, rate: options.rate, connections: options.connections },
      resources: {
        fds: {
          start: fdStart,
          end: fdEnd,
          max: Math.max(fdStart, ...perCycle.map((c) => c.fds)),
          bound: fdStart + FD_SLACK,
        },
        dbSockets: { start: socketStart, bound: socketStart + DB_SOCKET_SLACK },
        threads: { start: threadStart, end: threadEnd, max: Math.max(threadStart, ...perCycle.map((c) => c.threads)) },
        rss: { start: rssStart, end: rssEnd, max: rssMax, rawStart: rssRawStart, rawEnd: rssRawEnd },
        perCycle,
      },
    };
    const assertions = assess(partial, { slowestPollMs: slowestPoll, statusLog, exitCode });
    return { ...partial, assertions, passed: assertions.every((a) => a.passed), table: renderTable(partial) };
  } finally {
    watch?.stop();
    if (load !== undefined) await load.stop().catch(() => undefined);
    if (vitals !== undefined) await vitals.stop();
    await db.close();
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}
