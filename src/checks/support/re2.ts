import { RE2JS, RE2JSSyntaxException } from 're2js';

/**
 * Why `source` is not a usable pattern for `field`, or undefined. RE2 (re2js) matches in time
 * linear in the input: a backtracking engine (JavaScript's RegExp) can take exponential time on a
 * hostile body (`^(a+)+$` on a few dozen bytes), blocking the whole process far past any
 * deadline, since a match cannot be interrupted. What RE2 leaves out for that (backreferences,
 * lookaround) is refused at load rather than at the first run.
 */
export function re2Problem(source: string, field: string): string | undefined {
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
