/** A `${...}` that cannot be substituted, found at `path`. */
export interface UnsetVariable {
  readonly path: string;
  /**
   * The variable's name; undefined when the reference is not `${NAME}` or `${NAME:-default}`
   * at all (its text is not kept: it may be part of a password).
   */
  readonly variable: string | undefined;
  /**
   * Set when the default holds `${`: `${A:-${B}}` would otherwise end at the first `}` and put
   * the literal text `${B` (a token anyone can read in the config) into the value.
   */
  readonly nested?: true;
}

// `$$` is a literal `$`; `${NAME}` and `${NAME:-default}` read the environment. Any other `${`
// (`${VAR`, `${VAR-x}`, `${1X}`) is caught by the last alternative: left as it is, a typo in
// `token: ${VITALS_TOKEN` would silently become a token anyone can read in the config.
const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?/g;

/**
 * Replaces environment references inside the string values of an already-parsed YAML tree.
 * Substituting after parsing means a `#`, quote or newline in a value is taken literally and
 * can never change the structure of the document.
 */
export function substituteEnv(tree: unknown, env: NodeJS.ProcessEnv, unset: UnsetVariable[], path = ''): unknown {
  if (typeof tree === 'string') {
    return tree.replace(REFERENCE, (whole, name: string | undefined, fallback: string | undefined) => {
      if (whole === '$$') return '$';
      if (name === undefined) {
        unset.push({ path, variable: undefined });
        return '';
      }
      if (fallback?.includes('${') === true) {
        unset.push({ path, variable: name, nested: true });
        return '';
      }
      const value = env[name];
      if (fallback !== undefined) return value === undefined || value === '' ? fallback : value;
      if (value === undefined) {
        unset.push({ path, variable: name });
        return '';
      }
      return value;
    });
  }
  if (Array.isArray(tree)) {
    return tree.map((item, index) => substituteEnv(item, env, unset, `${path}[${String(index)}]`));
  }
  if (tree !== null && typeof tree === 'object') {
    return Object.fromEntries(
      Object.entries(tree).map(([key, value]) => [
        key,
        // Quoted like load.ts's paths when the key is not a plain word (empty, dotted, blank).
        substituteEnv(
          value,
          env,
          unset,
          !/^[A-Za-z0-9_$-]+$/.test(key) ? `${path}[${JSON.stringify(key)}]` : path === '' ? key : `${path}.${key}`,
        ),
      ]),
    );
  }
  return tree;
}
