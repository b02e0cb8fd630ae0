/**
 * "Adding a kind is one file and one line" holds only if nothing else has to know about it, and
 * if what a kind needs besides its code does not get forgotten. Every registered kind must come
 * with its contract suite, its README section and a place in the all-kinds fuzzing config; and
 * what other modules need from it (its unit, its URL, its secret files) is declared on the kind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { checkKinds } from '../../src/checks/index.js';

const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The kinds of the `VALID` config in the fuzzing test, which must name every kind. */
function fuzzedKinds(): string[] {
  const source = read('test/integration/config-fuzz.test.ts');
  const literal = /const VALID = `([^`]*)`;/.exec(source)?.[1];
  if (literal === undefined) throw new Error('config-fuzz.test.ts has no `const VALID = `...`;` config');
  const config = parseYaml(literal.replaceAll('\\$', '$')) as { checks?: { kind?: unknown }[] };
  return (config.checks ?? []).map((check) => String(check.kind));
}

/** The kind's own field names, from its strict schema. */
function fieldsOf(options: z.ZodType): string[] {
  return options instanceof z.ZodObject ? Object.keys(options.shape) : [];
}

const kinds = [...checkKinds.values()];

describe('every registered check kind', () => {
  it('is registered under its own name', () => {
    for (const [name, kind] of checkKinds) expect(kind.kind).toBe(name);
    expect(kinds.length).toBeGreaterThan(0);
  });

  it.each(kinds.map((k) => [k.kind, k] as const))('%s has a contract suite file that runs the contract', (name) => {
    const file = `test/integration/checks/${name}.test.ts`;
    expect(existsSync(join(ROOT, file)), `${file} is missing`).toBe(true);
    const source = read(file);
    expect(source, `${file} does not call runCheckKindContract`).toMatch(/\brunCheckKindContract\(/);
    expect(source, `${file} runs the contract for another kind`).toMatch(new RegExp(`kind: '${name}'`));
  });

  it.each(kinds.map((k) => [k.kind] as const))('%s has its section in the README', (name) => {
    expect(read('README.md').split('\n'), `README.md has no "### \`${name}\`" heading`).toContain(`### \`${name}\``);
  });

  it('is in the all-kinds config of the config fuzzing test', () => {
    const fuzzed = fuzzedKinds();
    for (const kind of kinds)
      expect(fuzzed, `config-fuzz.test.ts VALID has no check of kind ${kind.kind}`).toContain(kind.kind);
  });

  it.each(kinds.map((k) => [k.kind, k] as const))(
    '%s declares what other modules need: unit, URL, secret files',
    (_name, kind) => {
      expect(['ms', '%']).toContain(kind.observed.unit);
      const fields = fieldsOf(kind.options);
      expect(fields.length, 'the options schema should be a strict object').toBeGreaterThan(0);
      // The loader reads a secret file only for a kind that says which field it fills.
      for (const [file, value] of Object.entries(kind.secretFiles ?? {})) {
        expect(fields).toContain(file);
        expect(fields).toContain(value);
      }
      if (fields.includes('passwordFile')) expect(kind.secretFiles).toMatchObject({ passwordFile: 'password' });
      if (fields.includes('url')) expect(Object.keys(kind.url?.defaultPorts ?? {}).length).toBeGreaterThan(0);
      else expect(kind.url).toBeUndefined();
    },
  );
});
