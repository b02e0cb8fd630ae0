/**
 * Issue 4, config fuzzing: random YAML, truncations of a valid config, wrong types, huge values
 * and unset `${VAR}`s.
 *
 * In process, over many inputs: parseConfigText returns a Config or throws ConfigError, never
 * anything else, and every problem is one line that starts with where it is (a path, `(root)`
 * or `line N, column M`).
 * Through the real CLI (`vitals validate`, a child process per input, fewer runs): exit 0 or
 * 2 only; on 2 a message naming a problem; never a stack trace; never a hang.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { ConfigError, parseConfigText, type Config } from '../../src/config/load.js';
import { runCli } from '../support/cli.js';

const CLI_TIMEOUT_MS = 10_000;
const SECTIONS = ['server', 'security', 'defaults', 'checks'];
const STACK_FRAME = /^\s+at /m;
/** Where a problem is: `(root)`, `line N, column M`, or a path that starts at a root key. */
const LOCATED = /^(\(root\)|line \d+, column \d+|[^\s:][^\n]*?): \S/;

/** Every env var the configs below reference, set, so only the `UNSET_*` ones are missing. */
const ENV = { DB_PASSWORD: 'pw', VITALS_TOKEN: 'tok', EMPTY: '' };

const VALID = `# a valid config with every kind
server:
  port: 9469
  probePort: 9470
  grpcPort: 9471
  shutdownDelay: 1s
  shutdownTimeout: 5s
  watchConfig: 10s
security:
  details: authorized
  allow: [127.0.0.0/8, "::1/128"]
  token: \${VITALS_TOKEN}
  trustProxy: [10.0.0.0/8]
defaults:
  interval: 10s
  timeout: 2s
  failureThreshold: 2
  successThreshold: 1
checks:
  - name: primary-db
    kind: mysql
    url: mysql://app@db:3306/app
    password: \${DB_PASSWORD}
    query: SELECT 1
    interval: 5s
    timeout: 1s
    warnLatency: 250ms
  - name: pg
    kind: postgres
    url: postgres://app@pg:5432/app
    critical: false
  - name: cache
    kind: redis
    url: redis://cache:6379/0
  - name: sessions
    kind: memcached
    host: sessions-cache
    port: 11211
    tls: { serverName: sessions.example.com }
  - name: api
    kind: http
    url: https://api.example.com/healthz
    expectStatus: [200, 204]
    headers: { X-Probe: vitals }
  - name: smtp
    kind: tcp
    host: mail
    port: 25
  - name: resolver
    kind: dns
    host: example.com
  - name: smtps
    kind: tls
    host: mail
    port: 465
    serverName: mail.example.com
    warnCertExpiry: 14d
  - name: payments-grpc
    kind: grpc
    target: payments:50051
    service: payments.v1.Payments
    authority: payments.internal
    tls: { caFile: /etc/ssl/payments-ca.pem, certFile: /etc/ssl/vitals.pem, keyFile: /etc/ssl/vitals-key.pem }
  - name: data
    kind: disk
    path: /
    minFreeRatio: 0.05
  - name: broker
    kind: amqp
    url: amqp://vitals@rabbitmq:5672/orders
    queue: orders
    maxMessages: 10000
  - name: telemetry
    kind: mqtt
    url: mqtts://vitals@broker:8883
    password: \${DB_PASSWORD}
    clientId: vitals-probe
  - name: bus
    kind: nats
    url: tls://bus:4222
    token: bus-token
    jetstream: true
`;

function validTree(): Record<string, unknown> {
  return parseYaml(VALID) as Record<string, unknown>;
}

/** The outcome of parseConfigText: a config, or the ConfigError's problems; rethrows anything else. */
function parseOutcome(text: string): { config?: Config; problems?: readonly string[] } {
  try {
    return { config: parseConfigText(text, 'fuzz.yml', { env: ENV, baseDir: tmpdir() }) };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw new Error(`not a ConfigError: ${String(error)} for ${JSON.stringify(text.slice(0, 300))}`, { cause: error });
  }
}

function expectLocated(problems: readonly string[], text: string): void {
  expect(problems.length, text).toBeGreaterThan(0);
  for (const problem of problems) {
    expect(problem, text).not.toContain('\n');
    expect(problem, text).toMatch(LOCATED);
  }
}

// ---- generators ---------------------------------------------------------------------------

/** Characters that mean something to YAML, plus letters, blanks and the odd non-ASCII one. */
const yamlChar = fc.constantFrom(
  ...':-[]{},&*!|>%@`#\'"?\n\n\n  \t$\\~=.0123456789abcxyz\u00e9\u2028\ufeff'.split(''),
  'checks',
  'name',
  'kind',
  '${',
  '}',
  '<<',
  '---',
  '...',
);
const randomYaml = fc.array(yamlChar, { maxLength: 120 }).map((parts) => parts.join(''));

/** A line-level remix of the valid config: lines dropped, duplicated, swapped, re-indented. */
const remixed = fc
  .array(fc.tuple(fc.nat(VALID.split('\n').length - 1), fc.constantFrom('', ' ', '  ', '\t', '- ')), {
    minLength: 1,
    maxLength: 40,
  })
  .map((picks) => {
    const lines = VALID.split('\n');
    return picks.map(([i, indent]) => indent + (lines[i] ?? '')).join('\n');
  });

const truncated = fc.nat(VALID.length).map((n) => VALID.slice(0, n));

const hugeOrOdd = fc.oneof(
  fc.constantFrom(
    1e400,
    -1e400,
    Number.MAX_SAFE_INTEGER + 2,
    -1,
    0,
    0.5,
    '99999999999999999y',
    '1e400s',
    '-5s',
    '0s',
    '1.5s',
    '5S',
    '',
    ' ',
    'x'.repeat(100_000),
    '${UNSET_VAR}',
    '${UNSET_VAR:-}',
    '${',
    '${1BAD}',
    '$${UNSET_VAR}',
    'mysql://u:%zz@h/',
    'mysql://u@h/%E0%A4%A',
    'mysql://[::1',
    'http://',
    '%',
    '\u0000',
    'a\nb',
    '10.0.0.0/33',
    '::1/129',
    '256.0.0.1',
    true,
    null,
    [],
    {},
    [[[]]],
    { a: { b: { c: 1 } } },
  ),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

/** Every path (key or index) in a tree, for mutation. */
function paths(tree: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (tree === null || typeof tree !== 'object') return [prefix];
  const entries = Array.isArray(tree) ? tree.map((v, i) => [i, v] as const) : Object.entries(tree);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function setAt(tree: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(tree)) return tree.map((v: unknown, i) => (i === head ? setAt(v, rest, value) : v));
  if (tree !== null && typeof tree === 'object' && head !== undefined)
    return { ...tree, [head]: setAt((tree as Record<string, unknown>)[head], rest, value) };
  return tree;
}

const ALL_PATHS = paths(validTree());

/** The valid config with 1-4 values replaced by wrong types, huge values or unset variables. */
const mutated = fc
  .array(fc.tuple(fc.constantFrom(...ALL_PATHS), hugeOrOdd), { minLength: 1, maxLength: 4 })
  .map((edits) => stringify(edits.reduce<unknown>((tree, [path, value]) => setAt(tree, path, value), validTree())));

/** The valid config with keys added: unknown keys, wrong sections, odd key text. */
const extraKeys = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        [],
        ['server'],
        ['security'],
        ['defaults'],
        ['checks', 0],
        ['checks', 3],
        ['checks', 3, 'headers'],
      ),
      fc.oneof(
        fc.string({ maxLength: 12 }),
        fc.constantFrom('__proto__', 'constructor', 'toString', 'a\nb', '    at x', 'checks'),
      ),
      hugeOrOdd,
    ),
    { minLength: 1, maxLength: 3 },
  )
  .map((edits) =>
    stringify(
      edits.reduce<unknown>((tree, [at, key, value]) => {
        const path: (string | number)[] = [...at, key];
        return setAt(tree, path, value);
      }, validTree()),
    ),
  );

const anyInput = fc.oneof(randomYaml, remixed, truncated, mutated, extraKeys);

describe('config fuzzing, in process (parseConfigText)', () => {
  it('the valid base config is valid (control)', () => {
    const { config, problems } = parseOutcome(VALID);
    expect(problems).toBeUndefined();
    // Every check of the literal, whatever kinds it lists: none was dropped on the way.
    const listed = (parseYaml(VALID) as { checks: unknown[] }).checks.length;
    expect(listed).toBeGreaterThanOrEqual(10);
    expect(config?.checks).toHaveLength(listed);
  });

  it('returns a config or throws ConfigError whose every problem is located, on one line', () => {
    fc.assert(
      fc.property(anyInput, (text) => {
        const { problems } = parseOutcome(text);
        if (problems !== undefined) expectLocated(problems, text);
      }),
      { numRuns: 2000 },
    );
  });

  it('every truncation of the valid config', () => {
    for (let n = 0; n <= VALID.length; n += 1) {
      const { problems } = parseOutcome(VALID.slice(0, n));
      if (problems !== undefined) expectLocated(problems, VALID.slice(0, n));
    }
  });

  it('a mutated known section is reported under its own path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ALL_PATHS.filter((p) => p.length >= 2)),
        fc.constantFrom(1e400, '${UNSET_VAR}', [], { a: 1 }, 'x'.repeat(10_000)),
        (path, value) => {
          const text = stringify(setAt(validTree(), path, value));
          const { problems } = parseOutcome(text);
          if (problems === undefined) return; // some fields accept any string, or 1e400 as a ratio bound fails elsewhere
          expectLocated(problems, text);
          // Every problem is under a root section, or the root itself.
          for (const problem of problems)
            expect(SECTIONS.some((s) => problem.startsWith(s)) || problem.startsWith('(root)'), problem).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an unset ${VAR} is named with its path', () => {
    const text = VALID.replace('${DB_PASSWORD}', '${UNSET_DB_PASSWORD}').replace('${VITALS_TOKEN}', '${UNSET_TOKEN}');
    expect(parseOutcome(text).problems).toEqual([
      'security.token: environment variable UNSET_TOKEN is not set (use ${UNSET_TOKEN:-default} for a default)',
      'checks[0].password: environment variable UNSET_DB_PASSWORD is not set (use ${UNSET_DB_PASSWORD:-default} for a default)',
    ]);
  });

  it('malformed percent-encoding in a URL is a located problem, not "URI malformed"', () => {
    for (const [kind, url] of [
      ['mysql', 'mysql://u:%zz@h:3306/'],
      ['mysql', 'mysql://%E0%A4%A@h/'],
      ['mysql', 'mysql://u@h/%zz'],
      ['postgres', 'postgres://u:%@h/'],
      ['redis', 'redis://:%zz@h:6379/0'],
      ['amqp', 'amqp://u:%zz@h/'],
      ['http', 'http://u:%zz@h/'],
    ] as const) {
      const { problems } = parseOutcome(`checks:\n  - name: x\n    kind: ${kind}\n    url: "${url}"\n`);
      expect(problems, url).toEqual([
        expect.stringMatching(/^checks\[0\]\.url: invalid percent-encoding in the URL's (user|password|database name)/),
      ]);
      // The message never repeats the URL's userinfo.
      expect(problems?.join(' ')).not.toContain('%zz');
    }
  });

  it('an alias bomb, deep nesting and a huge document are config errors, quickly', () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [${Array(10).fill('*a').join(',')}]\nc: &c [${Array(10).fill('*b').join(',')}]\nd: [${Array(10).fill('*c').join(',')}]\n`;
    for (const text of [
      bomb,
      `checks: ${'['.repeat(5000)}${']'.repeat(5000)}`,
      `checks: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}`,
      `checks:\n${'  - {name: n, kind: tcp, host: h, port: 1}\n'.repeat(5000)}`,
    ]) {
      const started = performance.now();
      const { problems } = parseOutcome(text);
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(problems).toBeDefined();
      expectLocated(problems ?? [], text.slice(0, 200));
      expect((problems ?? []).length).toBeLessThan(20_000);
    }
  });
});

interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

async function validate(file: string): Promise<CliResult> {
  const started = performance.now();
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries({ ...process.env, ...ENV }).filter(([name]) => !name.startsWith('UNSET_')),
  );
  // A validate that hangs fails the property (code null, signal SIGKILL), not the suite.
  const finished = await runCli(['validate', '--config', file], {
    env,
    timeoutMs: CLI_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  return { ...finished, ms: performance.now() - started };
}

/** Runs `work` over `items`, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const item = items[next] as T;
        next += 1;
        await work(item);
      }
    }),
  );
}

describe('config fuzzing through `vitals validate` (child process)', () => {
  let dir: string;
  let count = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vitals-config-fuzz-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function expectCliHandles(text: string | Buffer, origin = 'hand-picked'): Promise<CliResult> {
    count += 1;
    const file = join(dir, `config-${String(count)}.yml`);
    await writeFile(file, text);
    const result = await validate(file);
    const shown = `${JSON.stringify(text.toString().slice(0, 300))} (${origin})`;
    expect(result.signal, `validate hung on ${shown}`).toBeNull();
    expect([0, 2], `exit ${String(result.code)} on ${shown}: ${result.stderr}`).toContain(result.code);
    expect(result.stderr + result.stdout, `stack trace on ${shown}`).not.toMatch(STACK_FRAME);
    if (result.code === 2) {
      // "vitals: invalid config FILE:" then one indented, located problem per line.
      const problems = result.stderr
        .split('\n')
        .filter((line) => line.startsWith('  '))
        .map((line) => line.slice(2));
      expect(result.stderr, shown).toContain(`invalid config ${file}:`);
      expect(problems.length, `${shown}: ${result.stderr}`).toBeGreaterThan(0);
      for (const problem of problems) expect(problem, shown).toMatch(LOCATED);
    } else {
      expect(result.stdout, shown).toContain(`${file}: ok`);
    }
    return result;
  }

  it('random YAML, truncations, wrong types, huge values and ${UNSET}: exit 0 or 2 with a located problem, never a stack or a hang', async () => {
    // Sampled rather than fc.assert'ed: a spawn costs a few hundred ms, so the inputs run three
    // at a time (the in-process property above shrinks a failure; this checks the process edge).
    const seed = Date.now();
    const inputs = fc.sample(anyInput, { numRuns: 36, seed });
    await pool(inputs, 3, async (text) => {
      await expectCliHandles(text, `seed ${String(seed)}`);
    });
  }, 120_000);

  it('hand-picked hostile files', async () => {
    const cases: (string | Buffer)[] = [
      '',
      '\n\n# only a comment\n',
      '---\n---\n',
      'checks: [',
      VALID.slice(0, VALID.length / 2),
      VALID.replace('${DB_PASSWORD}', '${UNSET_DB_PASSWORD}'),
      VALID.replace('port: 9469', 'port: 1e400'),
      VALID.replace('interval: 10s', 'interval: 99999999999999999y'),
      VALID.replace('mysql://app@db:3306/app', 'mysql://app:%zz@db:3306/app'),
      `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [${Array(10).fill('*a').join(',')}]\nc: [${Array(200).fill('*b').join(',')}]\n`,
      `checks: ${'['.repeat(20_000)}`,
      Buffer.from([0xff, 0xfe, 0x00, 0x63, 0x00, 0x68]),
      Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from(VALID)]),
      '"\\u0000": 1',
      '"a\\n    at Object.<anonymous> (x.js:1:1)": 1',
    ];
    await pool(cases, 3, async (text) => {
      await expectCliHandles(text);
    });
    // The valid config passes (a control for the assertions above).
    expect((await expectCliHandles(VALID)).code).toBe(0);
  }, 60_000);
});
