import { dirname, resolve as resolvePath } from 'node:path';
import { defaultConfig, loadConfigFile, type Config } from '../config/load.js';

/** `alreadyRead`: the config file's content, when the entry read it before binding the port. */
export function load(path: string | undefined, alreadyRead?: string): Config {
  return path === undefined ? defaultConfig() : loadConfigFile(path, {}, alreadyRead);
}

/** server.webConfigFile, resolved from the config file's directory like the secret files. */
export function webConfigFileOf(config: Config): string | undefined {
  const file = config.server.webConfigFile;
  if (file === undefined) return undefined;
  return config.source === 'built-in default'
    ? resolvePath(file)
    : resolvePath(dirname(resolvePath(config.source)), file);
}
