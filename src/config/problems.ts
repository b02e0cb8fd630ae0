import type { z } from 'zod';

/**
 * One problem, one line: a key, a kind or a name from the file may hold a newline or a control
 * character, which printed as it is would forge more problems (or a line that looks like a
 * stack frame) under `vitals validate`. They are written as JSON escapes instead.
 */
function oneLine(problem: string): string {
  return problem.replace(
    /[\u0000-\u001f\u007f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A config file (the main config or the web config) that cannot be used, with every problem in it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(
    readonly source: string,
    problems: readonly string[],
  ) {
    const lines = problems.map(oneLine);
    super(`invalid config ${source}:\n${lines.map((p) => `  ${p}`).join('\n')}`);
    this.problems = lines;
  }
}

// A key that is not a plain word is quoted (`headers["X Probe"]`, `[""]`): left bare, an
// empty key printed the problem as ": unknown key", naming nothing, and a key with a dot,
// bracket or colon would read as a different path.
const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

/** `checks[2].tls.caFile`: where in the document a problem is. */
export function joinPath(path: readonly PropertyKey[], prefix = ''): string {
  let text = prefix;
  for (const key of path) {
    if (typeof key === 'number') text += `[${String(key)}]`;
    else if (typeof key !== 'string' || !PLAIN_KEY.test(key)) text += `[${JSON.stringify(String(key))}]`;
    else text += text === '' ? key : `.${key}`;
  }
  return text;
}

/** zod's issues as `path: message` lines; each unknown key is a problem of its own. */
export function zodProblems(error: z.ZodError, prefix = ''): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${joinPath([...issue.path, key], prefix)}: unknown key`);
    }
    const at = joinPath(issue.path, prefix);
    // A record key that fails its schema: the key's own message, not zod's "Invalid key in record".
    const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return [`${at === '' ? '(root)' : at}: ${message}`];
  });
}

/** The first line of an error's message: enough to say what is wrong, never a stack. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
