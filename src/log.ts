import { pino, type Logger } from 'pino';

export type { Logger };

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** JSON lines on stdout; LOG_LEVEL picks the level (an unknown value falls back to info). */
export function createLogger(level = process.env.LOG_LEVEL, destination?: pino.DestinationStream): Logger {
  const chosen = level !== undefined && LEVELS.has(level.toLowerCase()) ? level.toLowerCase() : 'info';
  return pino({ level: chosen, base: { service: 'vitals' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** Replaces every configured secret in `text`; longest first, so one secret inside another goes too. */
export function createRedactor(): { add(secrets: readonly string[]): void; redact(text: string): string } {
  let secrets: string[] = [];
  return {
    add(more) {
      secrets = [...new Set([...secrets, ...more.filter((s) => s !== '')])].sort((a, b) => b.length - a.length);
    },
    redact(text) {
      let out = text;
      for (const secret of secrets) {
        if (out.includes(secret)) out = out.split(secret).join('***');
        const encoded = encodeURIComponent(secret);
        if (encoded !== secret && out.includes(encoded)) out = out.split(encoded).join('***');
      }
      return out;
    },
  };
}
