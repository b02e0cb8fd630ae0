import { checkKinds } from '../checks/index.js';
import { ConfigError, type Config } from '../config/load.js';
import { formatDuration } from '../config/duration.js';
import { loadWebConfig } from '../http/web-config.js';
import { createLogger } from '../log.js';
import { createVitalsService } from '../vitals.js';
import { VERSION } from '../version.js';
import { parse, type Args } from './args.js';
import type { EarlyStart } from './early-start.js';
import { load, webConfigFileOf } from './config-files.js';
import { serve } from './serve.js';
import { slo } from './slo.js';
import { EXIT_NOT_READY, EXIT_OK, EXIT_USAGE, fail, USAGE, UsageError } from './usage.js';

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
  const { monitor } = await createVitalsService(load(args.config), { logger: createLogger('silent') });
  const checks = monitor.checks();
  const results = await Promise.all(checks.map((c) => c.runOnce()));
  const rows = [['NAME', 'KIND', 'STATUS', 'LATENCY', 'REASON']];
  checks.forEach((c, i) => {
    const run = results[i];
    const reason =
      run?.status === 'pass' ? '' : `${run?.reason ?? ''}${run?.reason !== undefined ? ': ' : ''}${run?.output ?? ''}`;
    rows.push([
      c.definition.name,
      c.definition.kind,
      run?.status ?? 'unknown',
      `${(run?.durationMs ?? 0).toFixed(1)}ms`,
      reason,
    ]);
  });
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length))) ?? [];
  for (const row of rows) {
    process.stdout.write(
      `${row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0))).join('  ')}\n`,
    );
  }
  const verdict = monitor.readiness();
  process.stdout.write(`ready: ${verdict === 'fail' ? 'no' : 'yes'} (${verdict})\n`);
  return verdict === 'fail' ? EXIT_NOT_READY : EXIT_OK;
}

/**
 * Exits with `code` once stdout and stderr have handed everything to the OS. Exiting at once
 * cut a long problem list at 64 KiB when stderr is a pipe (the rest was still queued in node);
 * waiting for the event loop to empty instead could hang on a dependency's closing socket.
 */
export function exitWhenFlushed(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const flushed = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
}

/** What the entry module saw before this module was loaded. */
export interface Startup {
  /** SIGHUPs received so far. */
  readonly hangups: () => number;
  /** serve's main port, when the entry could bind it before loading the rest. */
  readonly early?: EarlyStart;
}

/** Runs the command line; resolves with the exit code, or undefined while serving. */
export async function main(argv: string[], startup: Startup): Promise<number | undefined> {
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
    if (args.command !== 'serve') await startup.early?.listener.close();
    switch (args.command) {
      case 'validate':
        return validate(args);
      case 'check':
        return await check(args);
      case 'slo':
        return slo(args);
      case 'serve':
        await serve(args, {
          exit: exitWhenFlushed,
          onSignal: (signal, handler) => process.on(signal, handler),
          logger: createLogger(),
          earlyHangups: startup.hangups,
          early: startup.early,
        });
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
