/** A `${VAR}` that is unset and has no default, found at `path`. */
export interface UnsetVariable {
  readonly path: string;
  readonly variable: string;
}

// `$$` is a literal `$`; `${NAME}` and `${NAME:-default}` read the environment.
const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces environment references inside the string values of an already-parsed YAML tree.
 * Substituting after parsing means a `#`, quote or newline in a value is taken literally and
 * can never change the structure of the document.
 */
export function substituteEnv(
  tree: unknown,
  env: NodeJS.ProcessEnv,
  unset: UnsetVariable[],
  path = '',
): unknown {
  if (typeof tree === 'string') {
    return tree.replace(REFERENCE, (whole, name: string | undefined, fallback: string | undefined) => {
      if (whole === '$$' || name === undefined) return '$';
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
        substituteEnv(value, env, unset, path === '' ? key : `${path}.${key}`),
      ]),
    );
  }
  return tree;
}
