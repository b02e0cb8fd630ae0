import { pino, type Logger } from 'pino';

export type { Logger };

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** JSON lines on stdout; LOG_LEVEL picks the level (an unknown value falls back to info). */
export function createLogger(level = process.env.LOG_LEVEL, destination?: pino.DestinationStream): Logger {
  const chosen = level !== undefined && LEVELS.has(level.toLowerCase()) ? level.toLowerCase() : 'info';
  return pino({ level: chosen, base: { service: 'vitals' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/**
 * The forms a secret takes in output: as is, percent-encoded as a URL component, and as a URL's
 * userinfo (the WHATWG URL serializer leaves `$`, `&`, `+`, `,`, `!` and more alone, so a
 * URL printed by a library would slip past encodeURIComponent's form).
 */
function secretForms(secret: string): string[] {
  const url = new URL('http://host');
  url.password = secret;
  return [secret, encodeURIComponent(secret), url.password];
}

/** Replaces every configured secret in `text`; longest first, so one secret inside another goes too. */
export function createRedactor(): { add(secrets: readonly string[]): void; redact(text: string): string } {
  let secrets: string[] = [];
  let forms: string[] = [];
  return {
    add(more) {
      secrets = [...new Set([...secrets, ...more.filter((s) => s !== '')])];
      // Every form of every secret in one list, longest first: an encoded form can be longer
      // than another secret that it contains.
      forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length);
    },
    redact(text) {
      let out = text;
      for (const form of forms) {
        if (out.includes(form)) out = out.split(form).join('***');
      }
      return out;
    },
  };
}
