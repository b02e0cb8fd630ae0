/**
 * Re-reading the web config while vitals runs: on a poll of the file and of every file it
 * names (a rotated certificate is a change too), and when asked (SIGHUP, a config reload). A
 * file that cannot be used is refused before anything changes; the last good one stays.
 */
import { resolve as resolvePath } from 'node:path';
import { ConfigError } from '../config/problems.js';
import { pollFiles } from '../config/watch.js';
import type { Logger } from '../log.js';
import { loadWebConfig, type WebConfig } from './web-config.js';

export interface WebConfigReloaderOptions {
  readonly logger: Logger;
  /** The web config in force at start. */
  readonly initial: WebConfig | undefined;
  /** Where to read it from, asked at every read (a config reload may name another file). */
  readonly file: () => string | undefined;
  /** Puts a loaded web config in force; the reasons it cannot be, else []. */
  readonly apply: (next: WebConfig | undefined) => string[];
}

export interface WebConfigReloader {
  /** Reads and applies the file now; the problems when it was refused, else []. */
  reload(): readonly string[];
  /** Polls the file and the files it names every `intervalMs`; returns a function that stops it. */
  watch(intervalMs: number): () => void;
}

export function createWebConfigReloader(options: WebConfigReloaderOptions): WebConfigReloader {
  const { logger, file, apply } = options;
  /** The files the last read named (also a failed one), to be polled with the file itself. */
  let lastFiles: readonly string[] = options.initial?.files ?? [];
  let lastProblems = '';

  const watched = () => {
    const path = file();
    return path === undefined ? [] : [...new Set([resolvePath(path), ...lastFiles])];
  };

  function reload(): readonly string[] {
    const path = file();
    const files: string[] = [];
    let next: WebConfig | undefined;
    let problems: readonly string[];
    try {
      next = path === undefined ? undefined : loadWebConfig(path, files);
      problems = apply(next);
    } catch (error) {
      problems = error instanceof ConfigError ? error.problems : [String(error)];
    }
    lastFiles = files;
    if (problems.length > 0) {
      const text = problems.join('\n');
      // Logged once: a watcher that sees the same broken content again stays quiet.
      if (text !== lastProblems)
        logger.error({ webConfig: path, problems }, 'web config rejected; the last good one stays');
      lastProblems = text;
      return problems;
    }
    lastProblems = '';
    const tls = next?.tls;
    logger.info(
      {
        webConfig: path ?? null,
        tls:
          tls === undefined
            ? null
            : {
                clientAuth: tls.clientAuth,
                certSerial: tls.certificate.serialNumber,
                certNotAfter: tls.certificate.validTo,
              },
        basicAuthUsers: next?.users.size ?? 0,
        headers: next?.headers.length ?? 0,
        rateLimit: next?.rateLimit ?? null,
      },
      'web config applied',
    );
    const warnings = next?.warnings ?? [];
    if (warnings.length > 0) logger.warn({ webConfig: path, warnings }, 'web config: settings that do nothing');
    return [];
  }

  return {
    reload,
    watch: (intervalMs) => pollFiles(watched, intervalMs, reload, { rereadWhenFilesChange: true }),
  };
}
