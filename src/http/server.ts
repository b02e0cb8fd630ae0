/**
 * vitals' own listeners: the main one (TLS, basic auth and headers from the web config), with
 * probePort a plain one for the probe routes, and with grpcPort the gRPC health service. Each job has a module of its own so that
 * one can change (a TLS mode, a reload rule) without reading the others.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Monitor } from '../engine/monitor.js';
import type { GrpcHealthServer } from '../grpc/health-server.js';
import type { Logger } from '../log.js';
import { createGate, guardOf } from './basic-auth-gate.js';
import type { VitalsRequestHandler } from './handler.js';
import { bind, closeServer } from './listener-socket.js';
import type { EarlyListener } from './early-listener.js';
import { adoptPlainServer, createMainServer } from './listener-tls.js';
import { listenForProbes, type ProbeListener } from './probe-listener.js';
import type { WebConfig } from './web-config.js';
import { createWebConfigReloader } from './web-config-reload.js';

/** How often the web config file and the certificate files it names are polled by default. */
export const WEB_CONFIG_POLL_MS = 5_000;

export interface ListenOptions {
  /** The web config in force at start, already loaded: an invalid file is a start-up error. */
  readonly webConfig?: WebConfig;
  /**
   * Where to re-read the web config from, asked at every poll (a config reload may change
   * server.webConfigFile); default: webConfig.source.
   */
  readonly webConfigFile?: () => string | undefined;
  /** Poll the web config file and the files it names this often (default 5 s); 0 = never. */
  readonly webConfigPollMs?: number;
  /** A second, plain-HTTP listener on the same host serving only the probe routes. */
  readonly probePort?: number;
  /** grpc.health.v1 over plaintext HTTP/2 on the same host (loads @grpc/grpc-js only when set). */
  readonly grpcPort?: number;
  /**
   * The main port, already bound (plain HTTP) by the entry: served from here on instead of a
   * new server, with the requests it held. Only without a web config.
   */
  readonly adopt?: EarlyListener;
}

/** What a listener serves: vitals' routes, and the two settings of the config it reads. */
export interface ListenInputs {
  readonly handle: VitalsRequestHandler;
  readonly logger: Logger;
  /** Asked per request: probe routes answer without basic auth (a reload may change it). */
  readonly probesWithoutAuth: () => boolean;
  /** The checks and their state, which the gRPC health service reads. */
  readonly monitor: Monitor;
}

export interface RunningServer {
  readonly server: Server | HttpsServer;
  readonly port: number;
  /** The probe listener's port, when server.probePort is set. */
  readonly probePort: number | undefined;
  /** The gRPC health service's port, when server.grpcPort is set. */
  readonly grpcPort: number | undefined;
  /** Whether the main listener serves TLS (fixed for the life of the process). */
  readonly tls: boolean;
  /** The web config in force. */
  webConfig(): WebConfig | undefined;
  /**
   * Re-reads the web config file now and applies it; the problems when it was refused (the
   * last good one then stays, and the problems are logged once), else an empty list.
   */
  reloadWebConfig(): readonly string[];
  /**
   * Closes the listeners, lets in-flight requests finish within `graceMs`, then cuts the rest;
   * gRPC Watch streams end with status OK.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * Serves vitals on host:port: over TLS when the web config says so, behind its basic auth,
 * with its extra headers; plus, with `probePort`, a plain listener for the probe routes only.
 */
export async function listen(
  inputs: ListenInputs,
  host: string,
  port: number,
  options: ListenOptions = {},
): Promise<RunningServer> {
  const { handle, logger, probesWithoutAuth } = inputs;
  let guard = guardOf(options.webConfig);
  const startWarnings = options.webConfig?.warnings ?? [];
  if (startWarnings.length > 0)
    logger.warn(
      { webConfig: options.webConfig?.source, warnings: startWarnings },
      'web config: settings that do nothing',
    );
  const gate = createGate(handle, probesWithoutAuth);
  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    gate(guard, request, response);
  };
  const { adopt } = options;
  if (adopt !== undefined && options.webConfig !== undefined)
    throw new Error('an early listener cannot serve a web config');
  const main =
    adopt === undefined ? createMainServer(options.webConfig?.tls, onRequest) : adoptPlainServer(adopt.server);
  const boundPort = adopt === undefined ? await bind(main.server, port, host) : adopt.port;
  let probes: ProbeListener | undefined;
  let grpc: GrpcHealthServer | undefined;
  try {
    if (options.probePort !== undefined) probes = await listenForProbes(handle, host, options.probePort);
    if (options.grpcPort !== undefined) {
      const { serveGrpcHealth } = await import('../grpc/health-server.js');
      grpc = await serveGrpcHealth(inputs.monitor, host, options.grpcPort, logger);
    }
  } catch (error) {
    await Promise.all([closeServer(main.server, 0), probes === undefined ? undefined : closeServer(probes.server, 0)]);
    throw error;
  }
  adopt?.adopt(onRequest);

  const reloader = createWebConfigReloader({
    logger,
    initial: options.webConfig,
    file: options.webConfigFile ?? (() => options.webConfig?.source),
    apply(next) {
      const problems = main.applyTls(next?.tls);
      if (problems.length === 0) guard = guardOf(next, guard);
      return problems;
    },
  });
  const pollMs = options.webConfigPollMs ?? WEB_CONFIG_POLL_MS;
  const stopPolling =
    pollMs > 0 && (options.webConfigFile !== undefined || options.webConfig !== undefined)
      ? reloader.watch(pollMs)
      : undefined;

  return {
    server: main.server,
    port: boundPort,
    probePort: probes?.port,
    grpcPort: grpc?.port,
    tls: main.tls,
    webConfig: () => guard?.config,
    reloadWebConfig: () => reloader.reload(),
    async close(graceMs) {
      stopPolling?.();
      await Promise.all([
        closeServer(main.server, graceMs),
        probes === undefined ? undefined : closeServer(probes.server, graceMs),
        grpc?.close(graceMs),
      ]);
    },
  };
}
