import { watchConfig, watchedHash } from '../config/watch.js';
import { listen, WEB_CONFIG_POLL_MS, type RunningServer } from '../http/server.js';
import { loadWebConfig } from '../http/web-config.js';
import type { Logger } from '../log.js';
import { createVitalsService } from '../vitals.js';
import { VERSION } from '../version.js';
import { load, webConfigFileOf } from './config-files.js';
import type { EarlyStart } from './early-start.js';
import { DEFAULT_PORT, EXIT_OK, fail } from './usage.js';

export interface ServeOptions {
  readonly config: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** --web.config.file, relative to the working directory. */
  readonly webConfigFile: string | undefined;
  readonly watchConfigMs: number | undefined;
}

export type ServeSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

/** What serve needs from the process, injected so that the shutdown sequence can be tested. */
export interface ServeProcess {
  /** Ends the process (lightship injects `terminate` the same way). */
  readonly exit: (code: number) => void;
  /** Registers a handler for a signal. */
  readonly onSignal: (signal: ServeSignal, handler: () => void) => void;
  readonly logger: Logger;
  /**
   * How many SIGHUPs arrived before serve could handle them. The config may have changed after
   * it was read, so one reload once serving covers them all.
   */
  readonly earlyHangups?: () => number;
  /** The main port, bound by the entry before vitals loaded (answering /health, holding the rest). */
  readonly early?: EarlyStart;
}

/**
 * Serves until a signal: SIGHUP reloads the config and the web config; SIGTERM or SIGINT drain
 * (/ready 503 at once), close the listener after shutdownDelay, give in-flight requests
 * shutdownTimeout, stop the checks and exit 0; a second SIGTERM or SIGINT exits 1 at once.
 */
export async function serve(options: ServeOptions, proc: ServeProcess): Promise<RunningServer> {
  const { logger } = proc;
  const config = load(options.config, proc.early?.configText);
  // Checked before anything starts: a bad web config is a config error (exit 2), never a
  // listener that silently serves without TLS or without auth.
  const webConfigPath = options.webConfigFile ?? webConfigFileOf(config);
  const webConfig = webConfigPath === undefined ? undefined : loadWebConfig(webConfigPath);
  const host = options.host ?? config.server.host ?? '0.0.0.0';
  const port = options.port ?? config.server.port ?? DEFAULT_PORT;
  const probePort = config.server.probePort;
  if (probePort !== undefined && probePort !== 0 && probePort === port) {
    fail(`server.probePort: ${String(probePort)} is the main listener's port too; pick another`);
  }
  const grpcPort = config.server.grpcPort;
  if (grpcPort !== undefined && grpcPort !== 0) {
    if (grpcPort === port) fail(`server.grpcPort: ${String(grpcPort)} is the main listener's port too; pick another`);
    if (grpcPort === probePort) fail(`server.grpcPort: ${String(grpcPort)} is server.probePort too; pick another`);
  }
  const watchMs = options.watchConfigMs ?? config.server.watchConfigMs;
  // Taken now, of what was loaded: an edit made while vitals loads is a change to pick up.
  const watchBaseline =
    watchMs !== undefined && options.config !== undefined
      ? watchedHash(options.config, config.files, proc.early?.configText)
      : undefined;
  let early = proc.early?.listener;
  // The entry read the address without validating the config; the validated one decides.
  if (early !== undefined && (webConfig !== undefined || early.host !== host || early.requestedPort !== port)) {
    await early.close();
    early = undefined;
  }
  const service = await createVitalsService(config, { logger, startedAt: early?.startedAt });
  const { vitals } = service;
  // The checks start before the port answers, on purpose: their first runs load the kinds'
  // client libraries (mysql2: ~80 modules) inside their deadline, and requests arriving at the
  // same time (a load balancer, the chaos test's load) made that first run time out.
  await vitals.start();
  let server: RunningServer;
  try {
    server = await listen(service, host, port, {
      webConfig,
      // Asked at every poll: a reloaded config may name another file.
      webConfigFile: () => options.webConfigFile ?? webConfigFileOf(vitals.config()),
      webConfigPollMs: Math.min(watchMs ?? WEB_CONFIG_POLL_MS, WEB_CONFIG_POLL_MS),
      probePort,
      grpcPort,
      adopt: early,
    });
  } catch (error) {
    await vitals.stop();
    const extra = [
      probePort === undefined ? undefined : `probes: ${String(probePort)}`,
      grpcPort === undefined ? undefined : `gRPC health: ${String(grpcPort)}`,
    ].filter((part) => part !== undefined);
    const ports = extra.length === 0 ? String(port) : `${String(port)} (${extra.join(', ')})`;
    fail(`cannot listen on ${host}:${ports}: ${(error as Error).message}`);
  }

  const stopWatching =
    watchMs !== undefined && options.config !== undefined
      ? watchConfig(
          options.config,
          watchMs,
          () => vitals.config().files,
          () => {
            void vitals.reload();
          },
          watchBaseline,
        )
      : undefined;

  const reload = () => {
    void vitals.reload().then(() => server.reloadWebConfig());
  };
  proc.onSignal('SIGHUP', () => {
    logger.info('SIGHUP: reloading config and web config');
    reload();
  });
  let stopping = false;
  const shutdown = (signal: ServeSignal) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      proc.exit(1);
      return;
    }
    stopping = true;
    const { shutdownDelayMs, shutdownTimeoutMs } = vitals.config().server;
    service.drain();
    logger.info(
      { signal, shutdownDelayMs, shutdownTimeoutMs },
      'draining: /ready answers 503 until the listener closes',
    );
    setTimeout(() => {
      stopWatching?.();
      void server
        .close(shutdownTimeoutMs)
        .then(() => vitals.stop())
        .then(() => {
          logger.info('stopped');
          proc.exit(EXIT_OK);
        });
    }, shutdownDelayMs);
  };
  proc.onSignal('SIGTERM', () => {
    shutdown('SIGTERM');
  });
  proc.onSignal('SIGINT', () => {
    shutdown('SIGINT');
  });
  // Announced only once every signal has its handler: a supervisor that stops vitals as soon as
  // it listens must see it drain, not die of the default action.
  logger.info(
    {
      host,
      port: server.port,
      probePort: server.probePort ?? null,
      grpcPort: server.grpcPort ?? null,
      tls: server.tls,
      basicAuth: (webConfig?.users.size ?? 0) > 0,
      config: config.source,
      webConfig: webConfigPath ?? null,
      checks: config.checks.length,
      version: VERSION,
    },
    'listening',
  );
  const hangups = proc.earlyHangups?.() ?? 0;
  if (hangups > 0) {
    logger.info({ signals: hangups }, 'SIGHUP during start-up: reloading config and web config');
    reload();
  }
  return server;
}
