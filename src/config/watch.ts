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

/**
 * Polls the config file and the secret files it names, because Kubernetes swaps mounted
 * ConfigMaps and Secrets without sending a signal. Calls `onChange` once per new content;
 * returns a function that stops polling.
 */
export function watchConfig(
  configFile: string,
  intervalMs: number,
  files: () => readonly string[],
  onChange: () => void,
): () => void {
  const watched = () => [...new Set([configFile, ...files()])];
  let last = contentHash(watched());
  const timer = setInterval(() => {
    const current = contentHash(watched());
    if (current === last) return;
    last = current;
    onChange();
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
