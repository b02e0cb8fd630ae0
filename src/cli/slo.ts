import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderSlo, SLO_FILE_NAMES, SLO_FORMATS, type SloFormat } from '../slo/index.js';
import { load } from './config-files.js';
import { EXIT_OK, fail } from './usage.js';

export interface SloArgs {
  readonly config: string | undefined;
  readonly format: string | undefined;
  readonly out: string | undefined;
}

function parseFormat(text: string | undefined): SloFormat {
  if (text === undefined) fail(`slo: --format ${SLO_FORMATS.join('|')} is required`);
  const format = SLO_FORMATS.find((f) => f === text);
  if (format === undefined) fail(`--format: expected one of ${SLO_FORMATS.join('|')}, got "${text}"`);
  return format;
}

/** `vitals slo`: the config's SLOs as a rule file or a spec, on stdout or in --out DIR. */
export function slo(args: SloArgs): number {
  if (args.config === undefined) fail('slo: --config FILE is required');
  const format = parseFormat(args.format);
  if (args.out === '') fail('--out: empty path');
  const config = load(args.config);
  const rendered = renderSlo(config, format);
  if (rendered === undefined) {
    fail(`slo: no check in ${args.config} has an objective (set checks[].slo.objective or defaults.slo.objective)`);
  }
  if (args.out === undefined) {
    process.stdout.write(rendered.text);
    return EXIT_OK;
  }
  mkdirSync(args.out, { recursive: true });
  const file = path.join(args.out, SLO_FILE_NAMES[format]);
  writeFileSync(file, rendered.text);
  process.stdout.write(`wrote ${file} (${String(rendered.count)} check(s) with an objective)\n`);
  return EXIT_OK;
}
