import type { Config } from '../config/load.js';
import { prometheusRules } from './prometheus.js';
import { pyrraObjectives } from './pyrra.js';
import { slothSpecs } from './sloth.js';
import { sloChecks } from './windows.js';

export const SLO_FORMATS = ['prometheus', 'sloth', 'pyrra'] as const;
export type SloFormat = (typeof SLO_FORMATS)[number];

/** The file name `vitals slo --out DIR` writes each format to. */
export const SLO_FILE_NAMES: Readonly<Record<SloFormat, string>> = {
  prometheus: 'vitals-slo.yml',
  sloth: 'vitals-sloth.yml',
  pyrra: 'vitals-pyrra.yml',
};

const RENDERERS = { prometheus: prometheusRules, sloth: slothSpecs, pyrra: pyrraObjectives } as const;

/** The config's SLOs in `format`; undefined when no check has an objective. */
export function renderSlo(config: Config, format: SloFormat): { text: string; count: number } | undefined {
  const checks = sloChecks(config.checks);
  if (checks.length === 0) return undefined;
  return { text: RENDERERS[format](checks), count: checks.length };
}
