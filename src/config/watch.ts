import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A digest of the files' names and contents (an unreadable file counts by its error code). */
export function contentHash(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file).update('\0');
    try {
      hash.update(readFileSync(file));
    } catch (error) {
      hash.update(`unreadable:${(error as NodeJS.ErrnoException).code ?? ''}`);
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}

export interface PollOptions {
  /**
   * When `onChange` leaves a different list of files to watch (the new content names other
   * files), call it once more at the next poll: one of the new files may have changed between
   * the digest and the read.
   */
  readonly rereadWhenFilesChange?: boolean;
}

/**
 * Polls files for a change of content, because Kubernetes swaps mounted ConfigMaps and Secrets
 * without sending a signal. `files` is asked at every poll (what to watch may change); calls
 * `onChange` once per new content; returns a function that stops polling.
 */
export function pollFiles(
  files: () => readonly string[],
  intervalMs: number,
  onChange: () => void,
  options: PollOptions = {},
): () => void {
  let last = contentHash(files());
  const timer = setInterval(() => {
    const before = files();
    const current = contentHash(before);
    if (current === last) return;
    last = current;
    onChange();
    if (options.rereadWhenFilesChange === true && files().join('\0') !== before.join('\0')) last = '';
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}

/** Polls the config file and the secret files it names; see pollFiles. */
export function watchConfig(
  configFile: string,
  intervalMs: number,
  files: () => readonly string[],
  onChange: () => void,
): () => void {
  return pollFiles(() => [...new Set([configFile, ...files()])], intervalMs, onChange);
}
