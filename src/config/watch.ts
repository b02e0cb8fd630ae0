import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * A digest of the files' names and contents (an unreadable file counts by its error code);
 * `known`: contents already read, used instead of reading the file again.
 */
export function contentHash(files: readonly string[], known: ReadonlyMap<string, string> = new Map()): string {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file).update('\0');
    try {
      hash.update(known.get(file) ?? readFileSync(file));
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
  /**
   * The digest of what is in force (contentHash), when it was read before polling starts: a
   * change in between then counts as a change. Default: the files as they are now.
   */
  readonly baseline?: string;
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
  let last = options.baseline ?? contentHash(files());
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

/**
 * Polls the config file and the secret files it names; see pollFiles. `baseline`: watchedHash()
 * of the config in force, taken when it was read.
 */
export function watchConfig(
  configFile: string,
  intervalMs: number,
  files: () => readonly string[],
  onChange: () => void,
  baseline?: string,
): () => void {
  return pollFiles(() => [...new Set([configFile, ...files()])], intervalMs, onChange, { baseline });
}

/** The digest watchConfig compares with, of the config file (`text`: its content as loaded) and its secret files. */
export function watchedHash(configFile: string, files: readonly string[], text?: string): string {
  const known = new Map<string, string>(text === undefined ? [] : [[configFile, text]]);
  return contentHash([...new Set([configFile, ...files])], known);
}
