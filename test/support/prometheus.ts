/**
 * Throwaway Prometheus and Alertmanager servers, a webhook receiver, and runners for promtool
 * and amtool, for tests of the monitoring kit.
 *
 * Every server gets its own temp dir (config, storage) and a free port on 127.0.0.1, so the
 * Debian defaults (/etc/prometheus, /var/lib/prometheus, :9090, :9093, cluster gossip on :9094)
 * are never touched. Servers still running when the test process exits are SIGKILLed.
 * Node built-ins only (HTTP through ./http.ts).
 *
 * NOTE: Prometheus throttles target updates to 5 s, so the first scrape (and the first
 * notification to Alertmanager) comes about 6 s after start: call waitForFirstSample() before
 * asserting anything about scraped data or alerts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { resolveBinary } from './binaries.js';
import { liveChildren, tempDirs } from './cleanup.js';
import { get } from './http.js';
import { freePort } from './ports.js';

const live = liveChildren;

// ---------------------------------------------------------------------------- CLI tools

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions and failure messages. */
  output: string;
  ms: number;
}

/** Runs a binary (found with resolveBinary) synchronously, never through a shell. */
export function runTool(name: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): ToolResult {
  const started = Date.now();
  const r = spawnSync(resolveBinary(name), args, {
    cwd: opts.cwd,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 30_000,
  });
  if (r.error) throw r.error;
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    output: `${r.stdout}${r.stderr}`,
    ms: Date.now() - started,
  };
}

/** `promtool ARGS`. */
export function promtool(args: string[], opts: { cwd?: string } = {}): ToolResult {
  return runTool('promtool', args, opts);
}

/** `amtool ARGS`. */
export function amtool(args: string[], opts: { cwd?: string } = {}): ToolResult {
  return runTool('amtool', args, opts);
}

// ---------------------------------------------------------------------------- daemons

interface Daemon {
  port: number;
  url: string;
  dir: string;
  logTail: () => string;
  close: () => Promise<void>;
}

interface DaemonSpec {
  binary: string;
  what: string;
  /** Writes the daemon's files into `dir` and returns its arguments for `port`. */
  prepare(dir: string, port: number): Promise<string[]>;
  readyTimeoutMs: number;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(hasExited(child));
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(text: string, chars = 3_000): string {
  return text.length > chars ? `...${text.slice(-chars)}` : text;
}

/** A 2xx status, as fetch's `ok`. */
const ok = (status: number): boolean => status >= 200 && status < 300;

async function isReady(url: string): Promise<boolean> {
  try {
    return ok((await get(`${url}/-/ready`, { timeoutMs: 1_000 })).status);
  } catch {
    return false;
  }
}

/**
 * Starts the daemon on a free port and waits until `/-/ready` answers 200. A port taken
 * between freePort() and the bind makes the daemon exit at once: then it is tried again on
 * another port.
 */
async function startDaemon(spec: DaemonSpec): Promise<Daemon> {
  const bin = resolveBinary(spec.binary);
  const dir = await mkdtemp(path.join(os.tmpdir(), `vitals-${spec.binary}-`));
  tempDirs.add(dir);
  let lastLog = '';
  try {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const port = await freePort();
      const args = await spec.prepare(dir, port);
      const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      live.add(child);
      let log = '';
      const append = (d: string): void => {
        log = tail(log + d, 20_000);
      };
      child.stdout.setEncoding('utf8').on('data', append);
      child.stderr.setEncoding('utf8').on('data', append);
      child.once('exit', () => live.delete(child));
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + spec.readyTimeoutMs;
      let ready = false;
      while (!ready && !hasExited(child) && Date.now() < deadline) {
        ready = await isReady(url);
        if (!ready) await sleep(50);
      }
      if (ready) {
        let closed = false;
        return {
          port,
          url,
          dir,
          logTail: () => tail(log),
          close: async () => {
            if (closed) return;
            closed = true;
            if (!hasExited(child)) {
              child.kill('SIGTERM');
              if (!(await waitForExit(child, 5_000))) {
                child.kill('SIGKILL');
                await waitForExit(child, 5_000);
              }
            }
            live.delete(child);
            await rm(dir, { recursive: true, force: true });
            tempDirs.delete(dir);
          },
        };
      }
      child.kill('SIGKILL');
      await waitForExit(child, 5_000);
      lastLog = log;
      if (!/address already in use/i.test(log)) {
        throw new Error(`${spec.what} did not become ready within ${spec.readyTimeoutMs} ms: ${tail(log)}`);
      }
    }
    throw new Error(`${spec.what}: no free port after 3 attempts: ${tail(lastLog)}`);
  } catch (error: unknown) {
    await rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
    throw error;
  }
}

async function getJson(url: string): Promise<unknown> {
  const reply = await get(url, { timeoutMs: 5_000 });
  if (!ok(reply.status)) throw new Error(`GET ${url}: ${String(reply.status)} ${reply.body}`);
  return JSON.parse(reply.body) as unknown;
}

// ---------------------------------------------------------------------------- Prometheus

/** One element of an instant vector from /api/v1/query. */
export interface PromSample {
  metric: Record<string, string>;
  /** [unix seconds, value as a string] */
  value: [number, string];
}

/** One element of /api/v1/alerts. */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

interface PromResponse<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

export interface StartPrometheusOptions {
  /** prometheus.yml. A function gets the port Prometheus will listen on (to scrape itself). */
  configYaml: string | ((port: number) => string);
  /** Files written next to prometheus.yml, by relative path: refer to them from `rule_files`. */
  ruleFiles?: Record<string, string>;
  /** Extra command-line flags. */
  extraArgs?: string[];
  /** Default 15 s. */
  readyTimeoutMs?: number;
}

export interface PrometheusServer {
  port: number;
  /** http://127.0.0.1:PORT (lifecycle API enabled: POST /-/reload, /-/quit). */
  url: string;
  /** Temp dir holding prometheus.yml, the rule files and the TSDB. */
  dir: string;
  /** Instant query; throws unless the result is an instant vector. */
  query(expr: string): Promise<PromSample[]>;
  /** Pending and firing alerts (/api/v1/alerts). */
  alerts(): Promise<PromAlert[]>;
  /** Polls `expr` until it returns at least one sample; throws (with targets and log) at timeout. Default 20 s. */
  waitForFirstSample(expr: string, timeoutMs?: number): Promise<PromSample[]>;
  logTail(): string;
  /** SIGTERM (SIGKILL after 5 s), remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const file = path.resolve(dir, name);
    if (!file.startsWith(dir + path.sep)) throw new Error(`file outside the temp dir: ${name}`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

interface ConfiguredDaemonSpec {
  binary: string;
  what: string;
  /** Default 15 s. */
  readyTimeoutMs: number | undefined;
  /** The config file's name in the temp dir, passed as --config.file. */
  configName: string;
  /** Its content; a function gets the port the daemon will listen on. */
  configYaml: string | ((port: number) => string);
  /** More files written next to it, by relative path. */
  otherFiles?: Record<string, string>;
  /** The daemon's own flags, given its data dir (in the temp dir). */
  flags: (data: string) => string[];
  extraArgs: string[] | undefined;
}

/** A Prometheus-family daemon: writes its config into the temp dir, listens on 127.0.0.1:PORT. */
function startConfiguredDaemon(spec: ConfiguredDaemonSpec): Promise<Daemon> {
  return startDaemon({
    binary: spec.binary,
    what: spec.what,
    readyTimeoutMs: spec.readyTimeoutMs ?? 15_000,
    async prepare(dir, port) {
      const config = typeof spec.configYaml === 'function' ? spec.configYaml(port) : spec.configYaml;
      await writeFiles(dir, { ...spec.otherFiles, [spec.configName]: config });
      return [
        `--config.file=${path.join(dir, spec.configName)}`,
        ...spec.flags(path.join(dir, 'data')),
        `--web.listen-address=127.0.0.1:${String(port)}`,
        ...(spec.extraArgs ?? []),
      ];
    },
  });
}

/** The fields every daemon handle shares. */
function daemonHandle(daemon: Daemon): Daemon {
  const { port, url, dir, logTail, close } = daemon;
  return { port, url, dir, logTail, close };
}

export async function startPrometheus(opts: StartPrometheusOptions): Promise<PrometheusServer> {
  const daemon = await startConfiguredDaemon({
    binary: 'prometheus',
    what: 'prometheus',
    readyTimeoutMs: opts.readyTimeoutMs,
    configName: 'prometheus.yml',
    configYaml: opts.configYaml,
    otherFiles: opts.ruleFiles,
    flags: (data) => [`--storage.tsdb.path=${data}`, '--web.enable-lifecycle'],
    extraArgs: opts.extraArgs,
  });

  async function api<T>(pathAndQuery: string): Promise<T> {
    const body = (await getJson(`${daemon.url}${pathAndQuery}`)) as PromResponse<T>;
    if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error ?? 'error'}`);
    return body.data;
  }

  async function query(expr: string): Promise<PromSample[]> {
    const data = await api<{ resultType: string; result: unknown }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (data.resultType !== 'vector') throw new Error(`${expr}: expected a vector, got ${data.resultType}`);
    return data.result as PromSample[];
  }

  return {
    ...daemonHandle(daemon),
    query,
    async alerts() {
      return (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
    },
    async waitForFirstSample(expr, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const samples = await query(expr);
        if (samples.length > 0) return samples;
        if (Date.now() >= deadline) {
          const targets = await api<unknown>('/api/v1/targets').catch((e: unknown) => String(e));
          throw new Error(
            `no sample of ${expr} within ${timeoutMs} ms; targets: ${JSON.stringify(targets)}; log: ${daemon.logTail()}`,
          );
        }
        await sleep(200);
      }
    },
  };
}

// ---------------------------------------------------------------------------- Alertmanager

/** An alert as posted to Alertmanager's /api/v2/alerts. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

/** An alert as returned by Alertmanager's GET /api/v2/alerts. */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  fingerprint: string;
  receivers: { name: string }[];
  status: { state: 'active' | 'suppressed' | 'unprocessed'; inhibitedBy: string[]; silencedBy: string[] };
}

export interface StartAlertmanagerOptions {
  configYaml: string;
  extraArgs?: string[];
  /** Default 15 s. */
  readyTimeoutMs?: number;
}

export interface AlertmanagerServer {
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  dir: string;
  /** POST /api/v2/alerts. */
  postAlerts(alerts: PostableAlert[]): Promise<void>;
  /** GET /api/v2/alerts, including inhibited and silenced ones. */
  alerts(): Promise<GettableAlert[]>;
  logTail(): string;
  /** SIGTERM (SIGKILL after 5 s), remove the temp dir. Idempotent. */
  close(): Promise<void>;
}

export async function startAlertmanager(opts: StartAlertmanagerOptions): Promise<AlertmanagerServer> {
  const daemon = await startConfiguredDaemon({
    binary: 'prometheus-alertmanager',
    what: 'alertmanager',
    readyTimeoutMs: opts.readyTimeoutMs,
    configName: 'alertmanager.yml',
    configYaml: opts.configYaml,
    flags: (data) => [`--storage.path=${data}`, '--cluster.listen-address='], // no HA gossip on :9094
    extraArgs: opts.extraArgs,
  });
  return {
    ...daemonHandle(daemon),
    async postAlerts(alerts) {
      const reply = await get(`${daemon.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
        timeoutMs: 5_000,
      });
      if (!ok(reply.status)) throw new Error(`POST /api/v2/alerts: ${String(reply.status)} ${reply.body}`);
    },
    async alerts() {
      return (await getJson(`${daemon.url}/api/v2/alerts?inhibited=true&silenced=true`)) as GettableAlert[];
    },
  };
}

// ---------------------------------------------------------------------------- webhook receiver

/** Alertmanager's webhook payload (version "4"). */
export interface WebhookPayload {
  version: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    fingerprint: string;
  }[];
}

/** One POST the receiver got. */
export interface WebhookDelivery {
  /** Request path, e.g. /pager. */
  path: string;
  body: WebhookPayload;
  /** Date.now() on arrival. */
  at: number;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:PORT — any path is accepted. */
  url: string;
  received: WebhookDelivery[];
  /** The first delivery (already received or future) matching `pred`; throws at timeout. Default 10 s. */
  waitFor(pred: (d: WebhookDelivery) => boolean, timeoutMs?: number): Promise<WebhookDelivery>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: WebhookDelivery[] = [];
  const waiters = new Set<(d: WebhookDelivery) => void>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      try {
        const delivery: WebhookDelivery = {
          path: req.url ?? '/',
          body: JSON.parse(body) as WebhookPayload,
          at: Date.now(),
        };
        received.push(delivery);
        for (const w of waiters) w(delivery);
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    waitFor(pred, timeoutMs = 10_000) {
      const seen = received.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise<WebhookDelivery>((resolve, reject) => {
        const waiter = (d: WebhookDelivery): void => {
          if (!pred(d)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(d);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching webhook within ${timeoutMs} ms; received: ${JSON.stringify(received)}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
