import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/**
 * Reads a file that must be a regular file. A FIFO (or a device) given as a config, web config
 * or secret file would block the read until a writer appears: `vitals validate` hung on one.
 * O_NONBLOCK makes the open itself return at once, and the check happens on what was opened.
 * Throws an errno-style error whose `code` is ENOTREG for anything but a regular file.
 */
export function readRegularFile(path: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) {
      throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTREG' });
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The errno code of a failed read, for a problem line: `cannot read "x" (ENOENT)`. */
export function readErrorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unreadable';
}
