/**
 * The command line, parsed. A module of its own, with nothing heavier than node:util behind it,
 * because the entry reads the arguments before loading the rest of vitals (see early-start.ts).
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/duration.js';
import type { ServeOptions } from './serve.js';
import { fail } from './usage.js';

function parsePort(text: string, where: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535)
    fail(`${where}: expected a port number (0-65535), got "${text}"`);
  return Number(text);
}

export const COMMANDS = ['serve', 'validate', 'check', 'slo'] as const;

export interface Args extends ServeOptions {
  readonly command: (typeof COMMANDS)[number];
  readonly format: string | undefined;
  readonly out: string | undefined;
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

export function parse(argv: string[]): Args | 'help' | 'version' {
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
        format: { type: 'string' },
        out: { type: 'string' },
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
  const name = positionals[0] ?? 'serve';
  const command = COMMANDS.find((c) => c === name);
  if (command === undefined) fail(`unknown command "${name}"`);
  for (const flag of ['format', 'out'] as const) {
    if (command !== 'slo' && values[flag] !== undefined) fail(`--${flag}: only for the slo command`);
  }
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
    // Parsed here, not in serve, so a bad value is a usage error before anything listens.
    watchConfigMs: watch !== undefined ? parseWatch(watch) : undefined,
    format: values.format,
    out: values.out,
  };
}
