/**
 * `vitals serve` binds its port before loading the rest of vitals (see http/early-listener.ts),
 * when the address is known without it: from the flags, PORT and the config file's `server`
 * section read as plain YAML. Anything this module is not sure of (a `${VAR}` in the address, a
 * web config, a file that does not parse, a port in use) means no early port: the usual start
 * then reports the problem exactly as before. The config is still validated in full before a
 * check runs; a config error exits 2 as it always did, having answered only `/health` meanwhile.
 */
import { readRegularFile } from '../config/read-file.js';
import { listenEarly, type EarlyListener } from '../http/early-listener.js';
import { parse } from './args.js';
import { DEFAULT_PORT } from './usage.js';

interface EarlyAddress {
  readonly host?: string;
  readonly port?: number;
}

/** What the entry did before loading the rest of vitals. */
export interface EarlyStart {
  readonly listener: EarlyListener;
  /**
   * The config file as read before the port answered. serve validates this content, not the
   * file read again later: a script that waits for /health and then edits the file gets the
   * edit through a reload, as it always did, never as the config vitals started with.
   */
  readonly configText: string | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The config file's host and port (when they are plain literals), or undefined when the file
 * names a web config or cannot be read this way. `needAddress` false (both given by flags): only
 * whether a web config is named matters, and a key spells `webConfigFile` in the text unless it
 * is written with a backslash escape, so a file with neither is not parsed here (yaml is 70
 * modules: a third of what the early port saves).
 */
async function peekServer(text: string, file: string, needAddress: boolean): Promise<EarlyAddress | undefined> {
  if (!needAddress && !text.includes('webConfigFile') && !text.includes('\\')) return {};
  let tree: unknown;
  try {
    const { parseYaml } = await import('../config/yaml.js');
    tree = parseYaml(text, file);
  } catch {
    return undefined;
  }
  if (tree === null) return {};
  if (!isRecord(tree)) return undefined;
  const server = tree.server;
  if (server === undefined) return {};
  if (!isRecord(server) || 'webConfigFile' in server) return undefined;
  const { host, port } = server;
  if (host !== undefined && (typeof host !== 'string' || host === '' || host.includes('$'))) return undefined;
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535))
    return undefined;
  return { host, port };
}

/** The main port bound and answering /health, or undefined when serve should start as usual. */
export async function startEarly(argv: string[], version: string): Promise<EarlyStart | undefined> {
  let args;
  try {
    args = parse(argv);
  } catch {
    return undefined;
  }
  if (args === 'help' || args === 'version' || args.command !== 'serve' || args.webConfigFile !== undefined)
    return undefined;
  let configText: string | undefined;
  if (args.config !== undefined) {
    try {
      configText = readRegularFile(args.config).toString('utf8');
    } catch {
      return undefined;
    }
  }
  const needAddress = args.host === undefined || args.port === undefined;
  const server = configText === undefined ? {} : await peekServer(configText, args.config ?? '', needAddress);
  if (server === undefined) return undefined;
  try {
    const host = args.host ?? server.host ?? '0.0.0.0';
    const listener = await listenEarly(host, args.port ?? server.port ?? DEFAULT_PORT, version);
    return { listener, configText };
  } catch {
    return undefined;
  }
}
