#!/usr/bin/env node
import { dirname, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, defaultConfig, loadConfigFile, type Config } from './config/load.js';
import { formatDuration, parseDuration } from './config/duration.js';
import { watchConfig } from './config/watch.js';
import { checkKinds } from './checks/index.js';
import { listen, WEB_CONFIG_POLL_MS, type RunningServer } from './http/server.js';
import { loadWebConfig } from './http/web-config.js';
import { createLogger } from './log.js';
import { createVitals, createVitalsService } from './vitals.js';
import { VERSION } from './version.js';

const EXIT_OK = 0;
const EXIT_NOT_READY = 1;
const EXIT_USAGE = 2;
const DEFAULT_PORT = 9469;

const USAGE = `usage: vitals [serve] [--config FILE] [--host ADDR] [--port N] [--watch-config DURATION]
                      [--web.config.file FILE]
       vitals validate --config FILE [--web.config.file FILE]
       vitals check --config FILE
       vitals --version

Config from --config, else VITALS_CONFIG, else the built-in default (one mysql check on MYSQL_URL).
--web.config.file (or server.webConfigFile): TLS, basic auth and headers, exporter-toolkit format.
Port from --port, else PORT, else server.port, else ${String(DEFAULT_PORT)}. Exit codes: 0 ok, 1 not ready (check), 2 usage or config error.`;

class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(message);
}

function parsePort(text: string, where: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) fail(`${where}: expected a port number (0-65535), got "${text}"`);
  return Number(text);
}

interface Args {
  command: 'serve' | 'validate' | 'check';
  config: string | undefined;
  host: string | undefined;
  port: number | undefined;
  /** --web.config.file, relative to the working directory. */
  webConfigFile: string | undefined;
  /** Parsed here, not in serve, so a bad value is a usage error before anything listens. */
  watchConfigMs: number | undefined;
}

function parse(argv: string[]): Args | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        'watch-config': { type: 'string' },
        'web.config.file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return 'help';
  if (values.version === true) return 'version';
  if (positionals.length > 1) fail(`unexpected argument "${positionals[1] ?? ''}"`);
  const command = positionals[0] ?? 'serve';
  if (command !== 'serve' && command !== 'validate' && command !== 'check') fail(`unknown command "${command}"`);
  const env = process.env;
  const config = values.config ?? (env.VITALS_CONFIG === '' ? undefined : env.VITALS_CONFIG);
  if (values.config === '') fail('--config: empty path');
  if (values['web.config.file'] === '') fail('--web.config.file: empty path');
  const port =
    values.port !== undefined
      ? parsePort(values.port, '--port')
      : env.PORT !== undefined && env.PORT !== ''
        ? parsePort(env.PORT, 'PORT')
        : undefined;
  const watch = values['watch-config'];
  return {
    command,
    config,
    host: values.host,
    port,
    webConfigFile: values['web.config.file'],
    watchConfigMs: watch !== undefined ? parseWatch(watch) : undefined,
  };
}

function load(path: string | undefined): Config {
  return path === undefined ? defaultConfig() : loadConfigFile(path);
}

function summarize(config: Config): string[] {
  return config.checks.map((check) => {
    const kind = checkKinds.get(check.kind);
    const target = kind === undefined ? '' : kind.target(check.options);
    return [
      check.name,
      `kind=${check.kind}`,
      `target=${target}`,
      `critical=${String(check.critical)}`,
      `interval=${formatDuration(check.intervalMs)}`,
      `timeout=${formatDuration(check.timeoutMs)}`,
    ].join('  ');
  });
}

/** server.webConfigFile, resolved from the config file's directory like the secret files. */
function webConfigFileOf(config: Config): string | undefined {
  const file = config.server.webConfigFile;
  if (file === undefined) return undefined;
  return config.source === 'built-in default' ? resolvePath(file) : resolvePath(dirname(resolvePath(config.source)), file);
}

function validate(args: Args): number {
  if (args.config === undefined) fail('validate: --config FILE is required');
  const config = load(args.config);
  // The web config the config names (or --web.config.file) is part of what serve would refuse.
  const webConfigPath = args.webConfigFile ?? webConfigFileOf(config);
  const webConfig = webConfigPath === undefined ? undefined : loadWebConfig(webConfigPath);
  for (const line of summarize(config)) process.stdout.write(`${line}\n`);
  if (webConfigPath !== undefined && webConfig !== undefined) {
    const tls = webConfig.tls === undefined ? 'no tls' : `tls ${webConfig.tls.clientAuth}`;
    process.stdout.write(
      `web config ${webConfigPath}: ok (${tls}, ${String(webConfig.users.size)} basic auth user(s), ${String(webConfig.headers.length)} header(s))\n`,
    );
  }
  for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
  process.stdout.write(`${args.config}: ok, ${String(config.checks.length)} check(s)\n`);
  return EXIT_OK;
}

async function check(args: Args): Promise<number> {
  const vitals = await createVitals(load(args.config), { logger: createLogger('silent') });
  const checks = vitals.monitor.checks();
  const results = await Promise.all(checks.map((c) => c.runOnce()));
  const rows = [['NAME', 'KIND', 'STATUS', 'LATENCY', 'REASON']];
  checks.forEach((c, i) => {
    const run = results[i];
    const reason = run?.status === 'pass' ? '' : `${run?.reason ?? ''}${run?.reason !== undefined ? ': ' : ''}${run?.output ?? ''}`;
    rows.push([c.definition.name, c.definition.kind, run?.status ?? 'unknown', `${(run?.durationMs ?? 0).toFixed(1)}ms`, reason]);
  });
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
  for (const row of rows) {
    process.stdout.write(`${row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0))).join('  ')}\n`);
  }
  const verdict = vitals.monitor.readiness();
  process.stdout.write(`ready: ${verdict === 'fail' ? 'no' : 'yes'} (${verdict})\n`);
  return verdict === 'fail' ? EXIT_NOT_READY : EXIT_OK;
}

async function serve(args: Args): Promise<void> {
  const config = load(args.config);
  // Checked before anything starts: a bad web config is a config error (exit 2), never a
  // listener that silently serves without TLS or without auth.
  const webConfigPath = args.webConfigFile ?? webConfigFileOf(config);
  const webConfig = webConfigPath === undefined ? undefined : loadWebConfig(webConfigPath);
  const host = args.host ?? config.server.host ?? '0.0.0.0';
  const port = args.port ?? config.server.port ?? DEFAULT_PORT;
  const probePort = config.server.probePort;
  if (probePort !== undefined && probePort !== 0 && probePort === port) {
    fail(`server.probePort: ${String(probePort)} is the main listener's port too; pick another`);
  }
  const watchMs = args.watchConfigMs ?? config.server.watchConfigMs;
  const logger = createLogger();
  const service = await createVitalsService(config, { logger });
  const { vitals } = service;
  await vitals.start();
  let server: RunningServer;
  try {
    server = await listen(service, host, port, {
      webConfig,
      // Asked at every poll: a reloaded config may name another file.
      webConfigFile: () => args.webConfigFile ?? webConfigFileOf(vitals.config()),
      webConfigPollMs: Math.min(watchMs ?? WEB_CONFIG_POLL_MS, WEB_CONFIG_POLL_MS),
      probePort,
    });
  } catch (error) {
    await vitals.stop();
    const ports = probePort === undefined ? String(port) : `${String(port)} (probes: ${String(probePort)})`;
    fail(`cannot listen on ${host}:${ports}: ${(error as Error).message}`);
  }
  logger.info(
    {
      host,
      port: server.port,
      probePort: server.probePort ?? null,
      tls: server.tls,
      basicAuth: (webConfig?.users.size ?? 0) > 0,
      config: config.source,
      webConfig: webConfigPath ?? null,
      checks: config.checks.length,
      version: VERSION,
    },
    'listening',
  );

  const stopWatching =
    watchMs !== undefined && args.config !== undefined
      ? watchConfig(args.config, watchMs, () => vitals.config().files, () => {
          void vitals.reload();
        })
      : undefined;

  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading config and web config');
    void vitals.reload().then(() => server.reloadWebConfig());
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    const { shutdownDelayMs, shutdownTimeoutMs } = vitals.config().server;
    vitals.drain();
    logger.info({ signal, shutdownDelayMs, shutdownTimeoutMs }, 'draining: /ready answers 503 until the listener closes');
    setTimeout(() => {
      stopWatching?.();
      void server
        .close(shutdownTimeoutMs)
        .then(() => vitals.stop())
        .then(() => {
          logger.info('stopped');
          process.exit(EXIT_OK);
        });
    }, shutdownDelayMs);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

// The same bounds as server.watchConfig: above a day a Node timer overflows and fires every 1 ms.
const WATCH_MIN_MS = 100;
const WATCH_MAX_MS = 24 * 3600 * 1000;

function parseWatch(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < WATCH_MIN_MS || ms > WATCH_MAX_MS) {
    fail(`--watch-config: expected a duration from 100ms to 1d such as "10s", got "${text}"`);
  }
  return ms;
}

async function main(argv: string[]): Promise<number | undefined> {
  try {
    const args = parse(argv);
    if (args === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    if (args === 'version') {
      process.stdout.write(`vitals ${VERSION}\n`);
      return EXIT_OK;
    }
    switch (args.command) {
      case 'validate':
        return validate(args);
      case 'check':
        return await check(args);
      case 'serve':
        await serve(args);
        return undefined;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`vitals: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`vitals: ${error.message}\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`vitals: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_USAGE;
  }
}

const code = await main(process.argv.slice(2));
if (code !== undefined) {
  // Let stdout drain, then exit even if a dependency's socket is still closing.
  process.stdout.write('', () => process.exit(code));
}
