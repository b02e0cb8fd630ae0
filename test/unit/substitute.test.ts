import { describe, expect, it } from 'vitest';
import { substituteEnv, type UnsetVariable } from '../../src/config/substitute.js';

function substitute(tree: unknown, env: NodeJS.ProcessEnv = {}): { tree: unknown; unset: UnsetVariable[] } {
  const unset: UnsetVariable[] = [];
  return { tree: substituteEnv(tree, env, unset), unset };
}

describe('substituteEnv', () => {
  it('replaces ${VAR} with the variable', () => {
    expect(substitute('mysql://app@${HOST}:3306/', { HOST: 'db' })).toEqual({
      tree: 'mysql://app@db:3306/',
      unset: [],
    });
  });

  it('uses the default of ${VAR:-default} when the variable is unset or empty', () => {
    expect(substitute('${A:-fallback}').tree).toBe('fallback');
    expect(substitute('${A:-fallback}', { A: '' }).tree).toBe('fallback');
    expect(substitute('${A:-fallback}', { A: 'set' }).tree).toBe('set');
  });

  it('accepts an empty default', () => {
    expect(substitute('x${A:-}y')).toEqual({ tree: 'xy', unset: [] });
  });

  it('takes a value holding #, quotes, @, newlines and ${...} literally', () => {
    const value = `p#ss"w'o@rd\n: \${OTHER} $$`;
    expect(substitute({ password: '${PW}' }, { PW: value, OTHER: 'no' }).tree).toEqual({ password: value });
  });

  it('reads $$ as a literal $, also in front of a brace', () => {
    expect(substitute('a$$b').tree).toBe('a$b');
    expect(substitute('$${HOME}', { HOME: '/root' }).tree).toBe('${HOME}');
    expect(substitute('$$$$').tree).toBe('$$');
  });

  it('leaves a lone $ not followed by a brace alone', () => {
    expect(substitute('pa$word $1 end$')).toEqual({ tree: 'pa$word $1 end$', unset: [] });
  });

  it.each(['${VITALS_TOKEN:-${FALLBACK_TOKEN}}', '${X:-${}', '${X:-a${B}c}', '${X:-${Y:-z}}'])(
    'refuses a reference nested in a default (%s): it used to become the literal text of the inner one',
    (text) => {
      const { tree, unset } = substitute({ security: { token: text } }, { FALLBACK_TOKEN: 'secret', B: 'b', Y: 'y' });
      expect(unset).toEqual([
        { path: 'security.token', variable: 'X' === text.slice(2, 3) ? 'X' : 'VITALS_TOKEN', nested: true },
      ]);
      expect(JSON.stringify(tree)).not.toContain('${');
    },
  );

  it('reports an unset variable with its path and name', () => {
    const { unset } = substitute({ checks: [{ name: 'a' }, { password: 'x${DB_PASSWORD}' }] });
    expect(unset).toEqual([{ path: 'checks[1].password', variable: 'DB_PASSWORD' }]);
  });

  it('treats a variable set to the empty string as set', () => {
    expect(substitute('[${EMPTY}]', { EMPTY: '' })).toEqual({ tree: '[]', unset: [] });
  });

  it('reports every unset variable, not only the first', () => {
    const { unset } = substitute({ a: '${ONE}${TWO}', b: ['${THREE}'] });
    expect(unset).toEqual([
      { path: 'a', variable: 'ONE' },
      { path: 'a', variable: 'TWO' },
      { path: 'b[0]', variable: 'THREE' },
    ]);
  });

  it.each([
    ['an unclosed reference', 'x${VITALS_TOKEN'],
    ['a shell default without the colon', '${VAR-x}'],
    ['a name starting with a digit', '${1X}'],
    ['an empty reference', '${}'],
  ])('reports %s as malformed without echoing it', (_, text) => {
    expect(substitute({ token: text }, { VITALS_TOKEN: 't', VAR: 'v' })).toEqual({
      tree: { token: text.startsWith('x') ? 'x' : '' },
      unset: [{ path: 'token', variable: undefined }],
    });
  });

  it('substitutes inside string values only, never keys, numbers or booleans', () => {
    const { tree } = substitute({ '${KEY}': 5, on: true, nothing: null, list: ['${KEY}', 7] }, { KEY: 'k' });
    expect(tree).toEqual({ '${KEY}': 5, on: true, nothing: null, list: ['k', 7] });
  });

  it('names the root when the document itself is a string', () => {
    expect(substitute('${NOPE}').unset).toEqual([{ path: '', variable: 'NOPE' }]);
  });
});
