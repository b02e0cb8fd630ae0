export const EXIT_OK = 0;
export const EXIT_NOT_READY = 1;
export const EXIT_USAGE = 2;
export const DEFAULT_PORT = 9469;

export const USAGE = `usage: vitals [serve] [--config FILE] [--host ADDR] [--port N] [--watch-config DURATION]
                      [--web.config.file FILE]
       vitals validate --config FILE [--web.config.file FILE]
       vitals check --config FILE
       vitals slo --config FILE --format prometheus|sloth|pyrra [--out DIR]
       vitals --version

Config from --config, else VITALS_CONFIG, else the built-in default (one mysql check on MYSQL_URL).
--web.config.file (or server.webConfigFile): TLS, basic auth and headers, exporter-toolkit format.
slo: the burn-rate rules (prometheus) or the Sloth or Pyrra specs of the checks with an slo
objective, on stdout, or written to DIR (vitals-slo.yml, vitals-sloth.yml, vitals-pyrra.yml).
Port from --port, else PORT, else server.port, else ${String(DEFAULT_PORT)}. Exit codes: 0 ok, 1 not ready (check), 2 usage or config error.`;

/** A mistake in how vitals was invoked: printed with the usage, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function fail(message: string): never {
  throw new UsageError(message);
}
