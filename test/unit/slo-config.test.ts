/** `slo` on a check and under `defaults`: how they combine, and every way they are refused. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText, type Config } from '../../src/config/load.js';

const yaml = (text: string) => parseConfigText(text, 'test.yml', { env: {} });

function problemsOf(text: string): readonly string[] {
  try {
    yaml(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError, the config was accepted');
}

const check = (name: string, extra = '') => `  - name: ${name}\n    kind: tcp\n    host: db\n    port: 3306\n${extra}`;
const slos = (config: Config) => Object.fromEntries(config.checks.map((c) => [c.name, c.slo]));
const DAY = 24 * 3600 * 1000;

describe('slo', () => {
  it('gives rules only to checks with an objective; the window defaults to 28d', () => {
    const config = yaml(
      `checks:\n${check('plain')}${check('db', '    slo: { objective: 99.9 }\n')}${check('cache', '    slo: { objective: 99, window: 7d }\n')}`,
    );
    expect(slos(config)).toEqual({
      plain: undefined,
      db: { objective: 99.9, windowMs: 28 * DAY },
      cache: { objective: 99, windowMs: 7 * DAY },
    });
  });

  it('takes each field the check leaves out from defaults.slo', () => {
    const config = yaml(
      `defaults:\n  slo: { objective: 99.5, window: 30d }\nchecks:\n${check('inherits')}${check('own_objective', '    slo: { objective: 99.95 }\n')}${check('own_window', '    slo: { window: 1d }\n')}`,
    );
    expect(slos(config)).toEqual({
      inherits: { objective: 99.5, windowMs: 30 * DAY },
      own_objective: { objective: 99.95, windowMs: 30 * DAY },
      own_window: { objective: 99.5, windowMs: DAY },
    });
    expect(config.defaults.slo).toEqual({ objective: 99.5, window: 30 * DAY });
  });

  it('lets defaults.slo set only a window, which gives no check rules by itself', () => {
    const config = yaml(`defaults:\n  slo: { window: 7d }\nchecks:\n${check('db')}`);
    expect(slos(config)).toEqual({ db: undefined });
  });

  it.each<[string, string, string[]]>([
    [
      'an objective of 100 (no error budget at all)',
      '    slo: { objective: 100 }\n',
      ['checks[0].slo.objective: must be above 0 and below 100 (a percentage such as 99.9)'],
    ],
    [
      'an objective of 0',
      '    slo: { objective: 0 }\n',
      ['checks[0].slo.objective: must be above 0 and below 100 (a percentage such as 99.9)'],
    ],
    [
      'an objective written as a ratio above 100',
      '    slo: { objective: 999 }\n',
      ['checks[0].slo.objective: must be above 0 and below 100 (a percentage such as 99.9)'],
    ],
    [
      'an objective that is a string',
      '    slo: { objective: "99.9%" }\n',
      ['checks[0].slo.objective: expected a percentage such as 99.9'],
    ],
    [
      'a window longer than 90 days',
      '    slo: { objective: 99.9, window: 91d }\n',
      ['checks[0].slo.window: duration "91d" out of range (1d to 90d)'],
    ],
    [
      'a window shorter than the slowest alert can use',
      '    slo: { objective: 99.9, window: 12h }\n',
      ['checks[0].slo.window: duration "12h" out of range (1d to 90d)'],
    ],
    [
      'a window that is no duration',
      '    slo: { objective: 99.9, window: month }\n',
      ['checks[0].slo.window: invalid duration "month" (use e.g. "500ms", "5s", "1m")'],
    ],
    ['a misspelt field', '    slo: { objectve: 99.9 }\n', ['checks[0].slo.objectve: unknown key']],
    [
      'a window without an objective anywhere',
      '    slo: { window: 7d }\n',
      ['checks[0].slo.objective: required (here or in defaults.slo.objective)'],
    ],
  ])('refuses %s, naming the path', (_, extra, problems) => {
    expect(problemsOf(`checks:\n${check('db', extra)}`)).toEqual(problems);
  });

  it('refuses a bad defaults.slo, naming the path, and still checks every check', () => {
    expect(
      problemsOf(`defaults:\n  slo: { objective: 100.5 }\nchecks:\n${check('db', '    slo: { window: 2y }\n')}`),
    ).toEqual([
      'defaults.slo.objective: must be above 0 and below 100 (a percentage such as 99.9)',
      'checks[0].slo.window: duration "2y" out of range (1d to 90d)',
    ]);
  });
});
