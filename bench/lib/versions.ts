/** Versions of what the benchmark ran, for the JSON report. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** The installed version of a package under the repository's node_modules, or "missing". */
export function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'missing';
  }
}

export function vitalsVersion(): string {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

const PACKAGES = [
  'koa',
  '@koa/router',
  '@godaddy/terminus',
  'lightship',
  'fastify',
  'mysql2',
  'prom-client',
  'autocannon',
  'tsx',
  'pino',
];

export function packageVersions(): Record<string, string> {
  return Object.fromEntries(PACKAGES.map((name) => [name, packageVersion(name)]));
}

export function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    platform: `${os.platform()} ${os.release()}`,
    arch: os.arch(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    loadAverage1m: os.loadavg()[0] ?? 0,
  };
}
