/**
 * Helpers for test suites that need external binaries (database servers,
 * CLIs, ...).
 *
 * Policy: a missing binary in CI (`CI=true`) is a hard failure, never a silent
 * skip. On a developer machine the suite is skipped with a loud warning.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** Directories searched in addition to $PATH (sbin is often missing from a user's PATH). */
const EXTRA_DIRS = ['/usr/sbin', '/usr/bin', '/sbin'];

/** Debian/Ubuntu packages providing the binaries we know about (for the hint message). */
const DEBIAN_PACKAGES: Record<string, string> = {
  mariadbd: 'mariadb-server',
  'mariadb-install-db': 'mariadb-server',
  mariadb: 'mariadb-client',
  'mariadb-admin': 'mariadb-client',
  mysqld: 'mariadb-server',
  mysql: 'mariadb-client',
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  postgres: 'postgresql',
  psql: 'postgresql-client',
  mosquitto: 'mosquitto',
  'nats-server': 'nats-server',
  'rabbitmq-server': 'rabbitmq-server',
  rabbitmqctl: 'rabbitmq-server',
  mosquitto_passwd: 'mosquitto',
  memcached: 'memcached',
  chromium: 'chromium',
};

function searchDirs(): string[] {
  const fromPath = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  return [...new Set([...fromPath, ...EXTRA_DIRS])];
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of `name` found on $PATH, /usr/sbin, /usr/bin or /sbin, or
 * `undefined`. A name containing a slash is checked as-is.
 */
export function findBinary(name: string): string | undefined {
  if (name.includes('/')) return isExecutableFile(name) ? path.resolve(name) : undefined;
  for (const dir of searchDirs()) {
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Same as {@link findBinary} but throws when the binary cannot be found. */
export function resolveBinary(name: string): string {
  const found = findBinary(name);
  if (found === undefined) {
    throw new Error(`binary not found: ${name} (searched $PATH and ${EXTRA_DIRS.join(', ')})`);
  }
  return found;
}

export interface BinaryCheck {
  available: boolean;
  missing: string[];
}

/** Looks every name up; `available` is true when none is missing. */
export function requireBinaries(names: string[]): BinaryCheck {
  const missing = names.filter((n) => findBinary(n) === undefined);
  return { available: missing.length === 0, missing };
}

function installHint(missing: string[]): string {
  const pkgs = [...new Set(missing.map((m) => DEBIAN_PACKAGES[m]).filter((p) => p !== undefined))];
  return pkgs.length > 0
    ? `install the Debian packages: apt-get install ${pkgs.join(' ')}`
    : 'install the Debian packages providing them';
}

/**
 * For `describe.skipIf(skipUnlessBinaries([...], 'suite name'))(...)`.
 *
 * - all binaries present: returns false (run the suite);
 * - some missing and `CI=true`: throws (a missing binary in CI is a failure);
 * - some missing elsewhere: warns loudly on stderr and returns true (skip).
 */
export function skipUnlessBinaries(names: string[], suite = 'suite'): boolean {
  const { available, missing } = requireBinaries(names);
  if (available) return false;
  const message = `missing binaries ${missing.join(', ')} (${installHint(missing)})`;
  if (process.env.CI === 'true') {
    throw new Error(`${suite}: ${message}; missing binaries are a failure in CI, not a skip`);
  }
  console.warn(`\n*** SKIPPING ${suite}: ${message} ***\n`);
  return true;
}
