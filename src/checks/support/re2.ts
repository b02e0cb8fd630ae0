import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

type Re2Module = typeof import('re2js');
let re2: Re2Module | undefined;

/**
 * re2js, loaded on first use: only a config with `bodyRegex` or `matches` needs it, and start-up
 * is mostly module loading. Its CommonJS build is loaded so that config validation, which is
 * synchronous, can compile patterns.
 */
function re2js(): Re2Module {
  re2 ??= createRequire(import.meta.url)('re2js') as Re2Module;
  return re2;
}

export type { RE2JS };

/** A compiled RE2 pattern; the caller has validated `source` with re2Problem. */
export function compileRe2(source: string): RE2JS {
  return re2js().RE2JS.compile(source);
}

/**
 * Why `source` is not a usable pattern for `field`, or undefined. RE2 (re2js) matches in time
 * linear in the input: a backtracking engine (JavaScript's RegExp) can take exponential time on a
 * hostile body (`^(a+)+$` on a few dozen bytes), blocking the whole process far past any
 * deadline, since a match cannot be interrupted. What RE2 leaves out for that (backreferences,
 * lookaround) is refused at load rather than at the first run.
 */
export function re2Problem(source: string, field: string): string | undefined {
  const { RE2JS, RE2JSSyntaxException } = re2js();
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (error) {
    // Anything re2js throws is a problem of this pattern: none may escape config validation.
    const pattern = error instanceof RE2JSSyntaxException ? error.getPattern() : null;
    const description = error instanceof RE2JSSyntaxException ? error.getDescription() : (error as Error).message;
    const detail = pattern === null ? description : `${description}: \`${pattern}\``;
    return `not a valid RE2 regular expression (${detail}); ${field} uses RE2 syntax, without backreferences or lookaround`;
  }
}
