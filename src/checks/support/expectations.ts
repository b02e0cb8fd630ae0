/**
 * Assertions on what a dependency answered: `http.expectJson`, `mysql`/`postgres` `expect` and
 * `expectRows`. One operator per entry, so that a failed run names exactly the one that did not
 * hold, and every entry is checked when the config loads (a run must never be the first to learn
 * that `lt: "abc"` cannot be compared).
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { compileRe2, re2Problem, type RE2JS } from './re2.js';

const ORDERING = ['lt', 'lte', 'gt', 'gte'] as const;
const OPERATORS = ['equals', 'notEquals', 'oneOf', ...ORDERING, 'matches', 'exists'] as const;
type Ordering = (typeof ORDERING)[number];
const SYMBOL: Record<Ordering, string> = { lt: '<', lte: '≤', gt: '>', gte: '≥' };

const orderingOperand = (name: Ordering) =>
  z.number({ error: `${name} compares numbers: expected a number` }).refine(Number.isFinite, {
    message: `${name} compares numbers: expected a finite number`,
  });

/** The operators alone; `expectJson` entries add `path`. */
const operatorFields = {
  equals: z.json().optional(),
  notEquals: z.json().optional(),
  oneOf: z.array(z.json(), { error: 'oneOf takes a list of values' }).min(1).optional(),
  lt: orderingOperand('lt').optional(),
  lte: orderingOperand('lte').optional(),
  gt: orderingOperand('gt').optional(),
  gte: orderingOperand('gte').optional(),
  matches: z
    .string({ error: 'matches takes a regular expression (a string)' })
    .superRefine((source, ctx) => {
      const problem = re2Problem(source, 'matches');
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  exists: z.boolean({ error: 'exists takes true or false' }).optional(),
};

export type Operand = z.infer<z.ZodObject<typeof operatorFields>>;

/** Exactly one operator per entry: `{ gt: 0, lt: 10 }` is two entries, each named on failure. */
function oneOperator(entry: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const present = OPERATORS.filter((name) => entry[name] !== undefined);
  if (present.length === 1) return;
  ctx.addIssue({
    code: 'custom',
    message:
      present.length === 0
        ? `needs one operator (${OPERATORS.join(', ')})`
        : `has ${String(present.length)} operators (${present.join(', ')}); write one entry per operator`,
  });
}

const RFC6901 = /^(\/([^~]|~[01])*)*$/;

/** An RFC 6901 JSON Pointer: "" (the whole document) or "/a/0/b", with ~0 for ~ and ~1 for /. */
const pointer = z.string({ error: 'expected a JSON Pointer such as "/status"' }).refine((text) => RFC6901.test(text), {
  message: 'not a JSON Pointer (RFC 6901): it starts with "/" and writes "~" as "~0", "/" in a name as "~1"',
});

const operatorEntry = z.strictObject(operatorFields).superRefine(oneOperator);
const jsonEntry = z.strictObject({ path: pointer, ...operatorFields }).superRefine(oneOperator);

/** One entry or a list: all must hold. */
export const expectationSchema = oneOrMany(operatorEntry);

/**
 * An entry or a non-empty list of entries, as a list. Not a z.union: a union that fails reports
 * only "Invalid input", where the problem must name the operand at fault.
 */
function oneOrMany<T extends z.ZodType>(entry: T) {
  const list = z.array(entry).min(1);
  return z.unknown().transform((input, ctx): z.output<T>[] => {
    const parsed = Array.isArray(input) ? list.safeParse(input) : entry.safeParse(input);
    if (parsed.success) return Array.isArray(parsed.data) ? parsed.data : [parsed.data];
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, input: undefined });
    return z.NEVER;
  });
}
export const jsonExpectationSchema = z.array(jsonEntry).min(1);
/** `expectRows` takes the ordering and equality operators only: a row count is a number. */
export const rowCountSchema = oneOrMany(
  operatorEntry.superRefine((entry, ctx) => {
    for (const name of ['matches', 'exists'] as const) {
      if (entry[name] !== undefined)
        ctx.addIssue({ code: 'custom', message: `a row count cannot be tested with ${name}`, path: [name] });
    }
  }),
);

export type Expectation = Operand;
export type JsonExpectation = z.infer<typeof jsonEntry>;

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Values as outputs show them: JSON, cut short. */
export function describeValue(value: unknown, fromDatabase = false): string {
  // A DECIMAL the driver handed over as "12.50" reads as the number it is.
  const numeric = fromDatabase && typeof value === 'string' && NUMERIC.test(value.trim());
  const text = numeric
    ? value.trim()
    : typeof value === 'bigint'
      ? String(value)
      : ((JSON.stringify(value) as string | undefined) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const describeList = (values: readonly unknown[]) => values.map((v) => describeValue(v)).join(', ');

/**
 * A database hands DECIMAL and BIGINT over as strings (mysql2, pg) and BIGINT sometimes as a
 * bigint: those compare as the numbers they are. A JSON body is taken as it is typed.
 */
function asNumber(value: unknown, lenient: boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (!lenient) return undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && NUMERIC.test(value.trim())) return Number(value);
  return undefined;
}

function same(actual: unknown, expected: unknown, lenient: boolean): boolean {
  if (typeof expected === 'number') {
    const n = asNumber(actual, lenient);
    return n !== undefined && n === expected;
  }
  if (lenient && typeof actual === 'bigint') return false;
  return isDeepStrictEqual(actual, expected);
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return undefined;
}

export interface UnmetOptions {
  /** Values from a database: numeric strings and bigints compare as numbers, NULL is no value. */
  readonly fromDatabase: boolean;
  /** How the output names a value that is not there ("missing", "no rows"). */
  readonly absent?: string;
  readonly compiled?: RE2JS;
}

/**
 * Why `value` does not satisfy `entry`, or undefined when it does. `subject` opens the sentence
 * ("/status is", "query returned"); `value` is undefined when there is nothing there.
 */
export function unmet(entry: Expectation, value: unknown, subject: string, options: UnmetOptions): string | undefined {
  const lenient = options.fromDatabase;
  const shown = `${subject} ${value === undefined ? (options.absent ?? 'missing') : describeValue(value, options.fromDatabase)}`;
  if (entry.exists !== undefined) {
    // In JSON a null is there; in a database NULL is the absence of a value.
    const present = value !== undefined && !(options.fromDatabase && value === null);
    if (present === entry.exists) return undefined;
    return entry.exists ? `${shown}, expected a value` : `${shown}, expected none`;
  }
  if (value === undefined) return `${shown}, expected ${expectedText(entry)}`;
  if (entry.equals !== undefined)
    return same(value, entry.equals, lenient) ? undefined : `${shown}, expected ${describeValue(entry.equals)}`;
  if (entry.notEquals !== undefined)
    return same(value, entry.notEquals, lenient)
      ? `${shown}, expected anything but ${describeValue(entry.notEquals)}`
      : undefined;
  if (entry.oneOf !== undefined)
    return entry.oneOf.some((candidate) => same(value, candidate, lenient))
      ? undefined
      : `${shown}, expected one of ${describeList(entry.oneOf)}`;
  if (entry.matches !== undefined) {
    const text = textOf(value);
    const regex = options.compiled ?? compileRe2(entry.matches);
    if (text !== undefined && regex.test(text)) return undefined;
    return `${shown}, expected to match /${shortPattern(entry.matches)}/`;
  }
  for (const name of ORDERING) {
    const limit = entry[name];
    if (limit === undefined) continue;
    const n = asNumber(value, lenient);
    if (n !== undefined && compare(n, name, limit)) return undefined;
    return `${shown}, expected ${n === undefined ? 'a number ' : ''}${SYMBOL[name]} ${String(limit)}`;
  }
  return undefined;
}

function compare(n: number, name: Ordering, limit: number): boolean {
  switch (name) {
    case 'lt':
      return n < limit;
    case 'lte':
      return n <= limit;
    case 'gt':
      return n > limit;
    case 'gte':
      return n >= limit;
  }
}

function shortPattern(source: string): string {
  return source.length > 40 ? `${source.slice(0, 40)}...` : source;
}

function expectedText(entry: Expectation): string {
  if (entry.equals !== undefined) return describeValue(entry.equals);
  if (entry.notEquals !== undefined) return `anything but ${describeValue(entry.notEquals)}`;
  if (entry.oneOf !== undefined) return `one of ${describeList(entry.oneOf)}`;
  if (entry.matches !== undefined) return `to match /${shortPattern(entry.matches)}/`;
  const name = ORDERING.find((n) => entry[n] !== undefined);
  return name === undefined ? 'a value' : `${SYMBOL[name]} ${String(entry[name])}`;
}

/** Compiles every `matches` once, at check creation. */
export function compileMatches<E extends Expectation>(entries: readonly E[]): (E & { compiled?: RE2JS })[] {
  return entries.map((entry) =>
    entry.matches === undefined ? entry : { ...entry, compiled: compileRe2(entry.matches) },
  );
}

/** The first entry that does not hold, described, or undefined when all do. */
export function firstUnmet(
  entries: readonly (Expectation & { compiled?: RE2JS })[],
  value: unknown,
  subject: string,
  options: Omit<UnmetOptions, 'compiled'>,
): string | undefined {
  for (const entry of entries) {
    const problem = unmet(entry, value, subject, entry.compiled ? { ...options, compiled: entry.compiled } : options);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * What `expect` and `expectRows` make of a query's rows (each an array of columns): the first
 * problem, or undefined. `expect` reads the first column of the first row.
 */
export function rowsProblem(
  expected: { value: ReturnType<typeof compileMatches> | undefined; rows: readonly Expectation[] | undefined },
  rows: readonly (readonly unknown[])[],
): string | undefined {
  if (expected.rows !== undefined) {
    const problem = firstUnmet(expected.rows, rows.length, 'query returned', { fromDatabase: true });
    if (problem !== undefined) return problem.replace(/^(query returned \d+)/, '$1 rows');
  }
  if (expected.value === undefined) return undefined;
  const first = rows[0];
  return firstUnmet(expected.value, first === undefined ? undefined : databaseValue(first[0]), 'query returned', {
    fromDatabase: true,
    absent: 'no rows',
  });
}

/** Binary strings (VARBINARY, BLOB, most of SHOW's columns) read as text, dates as ISO 8601. */
function databaseValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  return value;
}

/** `expect` and `expectRows` test what `query` returns: they need one that returns rows. */
export function queryAnswersExpectations(
  o: { query?: string | undefined; expect?: unknown; expectRows?: unknown },
  ctx: z.RefinementCtx,
): void {
  for (const field of ['expect', 'expectRows'] as const) {
    if (o[field] === undefined) continue;
    if (o.query === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `${field} needs a query (the default SELECT 1 always returns 1)`,
      });
    else if (/^\s*do\b/i.test(o.query))
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `${field} needs a query that returns rows (DO returns none)`,
      });
  }
}

/** Resolves an RFC 6901 pointer (validated at load); undefined when nothing is there. */
export function resolvePointer(document: unknown, path: string): unknown {
  if (path === '') return document;
  let current: unknown = document;
  for (const raw of path.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.hasOwn(current, token)) return undefined;
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}
