import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, firstLine } from './problems.js';

/** Aliases expanded at most: a "billion laughs" document is a problem, not a hang. */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses a YAML document for any of vitals' config files. Syntax errors name the line and
 * column; duplicate keys are errors. An empty document and one that is only `null`/`~` both
 * yield null: each caller decides once what "nothing" means for its file.
 */
export function parseYaml(text: string, source: string): unknown {
  // With prettyErrors off, yaml leaves `linePos` unset; a LineCounter turns the error's offset
  // into the line and column a user needs, without yaml's multi-line excerpt of the source.
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `line ${String(line)}, column ${String(col)}: ${e.message.split('\n')[0] ?? e.code}`;
      }),
    );
  }
  if (document.contents === null) return null;
  try {
    return document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (error) {
    // yaml throws here, not in `errors`, on an alias bomb ("Excessive alias count ..."): a
    // plain exception would reach `vitals validate` without naming the problem.
    throw new ConfigError(source, [`(root): cannot expand the YAML document: ${firstLine(error)}`]);
  }
}
