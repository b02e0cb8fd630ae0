/**
 * The `modules:` section: what `/probe?module=NAME&target=HOST:PORT` runs. A module is a check
 * without its target: the kind's own options, validated at load by the kind's own strict
 * schema, with the target filled in per request from the query.
 */
import { z } from 'zod';
import { checkKinds } from '../checks/index.js';
import { duration } from '../config/fields.js';
import { joinPath, zodProblems } from '../config/problems.js';
import type { CheckKind } from '../types.js';
import { allowEntryProblem, createTargetAllowList, type ProbeTarget, type TargetAllowList } from './target.js';

/** How the target goes into a kind's options. */
type Placement = { readonly field: 'url'; readonly prefix: string; readonly rest: string } | 'hostPort' | 'target';

// Kinds without a URL whose target is a host and a port, or (grpc) one `target` string; dns and
// disk have no network target to fill in.
const HOST_PORT_KINDS = new Set(['tcp', 'tls', 'memcached']);
const TARGET_STRING_KINDS = new Set(['grpc']);

export interface ProbeModule {
  readonly name: string;
  readonly kind: CheckKind;
  readonly timeoutMs: number;
  readonly allowTargets: TargetAllowList;
  /** The kind's fields as written, without the target ones. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Values read from the module's secret files, by the field the kind reads them from. */
  readonly secretValues: Readonly<Record<string, string>>;
  readonly placement: Placement;
}

const MODULE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const OWN_FIELDS = new Set(['kind', 'timeout', 'allowTargets']);

const moduleCommon = z.object({
  kind: z.string(),
  timeout: duration({ min: 10 }).optional(),
  allowTargets: z
    .array(
      z.string().superRefine((entry, ctx) => {
        const problem = allowEntryProblem(entry);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
      { error: 'required: the CIDRs and host globs this module may probe (no open proxy into the network)' },
    )
    .min(1, 'list at least one CIDR or host glob: an empty list would refuse every target'),
});

/** A documentation address and port: it fills the target in while the module is validated. */
const PLACEHOLDER: ProbeTarget = { host: '192.0.2.1', port: 1, authority: '192.0.2.1:1' };

// scheme://[user@]host[/path?query]: the host must be left out, the target goes there.
const URL_TEMPLATE = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^@/?#]*)@)?([^/?#]*)([/?#].*)?$/i;

function urlPlacement(kind: CheckKind, url: unknown, at: string, problems: string[]): Placement | undefined {
  const firstScheme = Object.keys(kind.url?.defaultPorts ?? {})[0] ?? '';
  if (url === undefined) return { field: 'url', prefix: `${firstScheme}//`, rest: '' };
  const match = typeof url === 'string' ? URL_TEMPLATE.exec(url) : null;
  if (match === null) {
    problems.push(`${at}.url: expected a URL without its host, such as ${firstScheme}//user@/path`);
    return undefined;
  }
  const [, scheme = '', user, host = '', rest = ''] = match;
  if (host !== '') {
    problems.push(
      `${at}.url: leave the host out (${scheme}${user === undefined ? '' : '…@'}/…): /probe's target goes there`,
    );
    return undefined;
  }
  if (user?.includes(':') === true) {
    problems.push(`${at}.url: no password in the URL: use password or passwordFile`);
    return undefined;
  }
  return { field: 'url', prefix: `${scheme}${user === undefined ? '' : `${user}@`}`, rest };
}

/** The kind's raw fields with `target` filled in: what its schema parses. */
export function withTarget(
  module: Pick<ProbeModule, 'options' | 'placement'>,
  target: ProbeTarget,
): Record<string, unknown> {
  const { placement } = module;
  if (placement === 'hostPort')
    return { ...module.options, host: target.host, ...(target.port === undefined ? {} : { port: target.port }) };
  if (placement === 'target') return { ...module.options, target: target.authority };
  return { ...module.options, url: `${placement.prefix}${target.authority}${placement.rest}` };
}

/** Whether the kind needs a port in the target (a URL has its scheme's default port). */
export function needsPort(module: ProbeModule): boolean {
  return module.placement === 'hostPort' ? module.kind.kind !== 'memcached' : module.placement === 'target';
}

/** The kind's fields that /probe's target fills in: a module must leave them out. */
function targetFieldsOf(kind: CheckKind): string[] {
  if (kind.url !== undefined) return ['url'];
  return HOST_PORT_KINDS.has(kind.kind) ? ['host', 'port'] : ['target'];
}

function placementOf(
  kind: CheckKind,
  own: Record<string, unknown>,
  at: string,
  problems: string[],
): Placement | undefined {
  if (kind.url !== undefined) return urlPlacement(kind, own.url, at, problems);
  if (!HOST_PORT_KINDS.has(kind.kind) && !TARGET_STRING_KINDS.has(kind.kind)) {
    problems.push(`${at}.kind: kind ${kind.kind} has no network target, so it cannot be a /probe module`);
    return undefined;
  }
  const fixed = targetFieldsOf(kind).filter((field) => Object.hasOwn(own, field));
  for (const field of fixed) problems.push(`${at}.${field}: set by /probe's target parameter, not in the module`);
  if (fixed.length > 0) return undefined;
  return HOST_PORT_KINDS.has(kind.kind) ? 'hostPort' : 'target';
}

export interface ModuleContext {
  readonly defaultTimeoutMs: number | undefined;
  readonly problems: string[];
  readonly secrets: string[];
  /** Reads a secret file (relative to the config), recording it for reload; '' on a problem. */
  readonly readSecret: (path: string, at: string) => string;
}

function parseModule(name: string, raw: unknown, context: ModuleContext): ProbeModule | undefined {
  const { problems } = context;
  const at = joinPath([name], 'modules');
  if (!MODULE_NAME.test(name)) problems.push(`${at}: a module name must match [a-z0-9][a-z0-9_-]*`);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(`${at}: expected a mapping with kind, allowTargets and the kind's options`);
    return undefined;
  }
  const entries = Object.entries(raw);
  const common = moduleCommon.safeParse(Object.fromEntries(entries.filter(([key]) => OWN_FIELDS.has(key))));
  if (!common.success) problems.push(...zodProblems(common.error, at));
  const kindName = (raw as { kind?: unknown }).kind;
  const kind = typeof kindName === 'string' ? checkKinds.get(kindName) : undefined;
  if (typeof kindName === 'string' && kind === undefined) {
    problems.push(`${at}.kind: unknown kind "${kindName}" (known: ${[...checkKinds.keys()].join(', ')})`);
  }
  if (kind === undefined || !common.success) return undefined;
  const own = Object.fromEntries(entries.filter(([key]) => !OWN_FIELDS.has(key)));
  const targetFields = targetFieldsOf(kind);
  const placement = placementOf(kind, own, at, problems);
  if (placement === undefined) return undefined;
  const options = Object.fromEntries(Object.entries(own).filter(([key]) => !targetFields.includes(key)));
  const parsed = kind.options.safeParse(withTarget({ options, placement }, PLACEHOLDER));
  if (!parsed.success) {
    problems.push(...zodProblems(parsed.error, at));
    return undefined;
  }
  const timeoutMs = common.data.timeout ?? context.defaultTimeoutMs;
  if (timeoutMs === undefined) return undefined;
  const secretValues: Record<string, string> = {};
  const parsedOptions = { ...(parsed.data as Record<string, unknown>) };
  for (const [fileField, valueField] of Object.entries(kind.secretFiles ?? {})) {
    const file = parsedOptions[fileField];
    if (typeof file !== 'string') continue;
    secretValues[valueField] = context.readSecret(file, `${at}.${fileField}`);
    parsedOptions[valueField] = secretValues[valueField];
  }
  context.secrets.push(...(kind.secrets?.(parsedOptions) ?? []));
  return {
    name,
    kind,
    timeoutMs,
    allowTargets: createTargetAllowList(common.data.allowTargets),
    options,
    secretValues,
    placement,
  };
}

/** The `modules:` mapping, each module validated on its own; problems name `modules.NAME.field`. */
export function parseModules(raw: unknown, context: ModuleContext): ReadonlyMap<string, ProbeModule> {
  if (raw === undefined || raw === null) return new Map();
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    context.problems.push('modules: expected a mapping of module name to { kind, allowTargets, ... }');
    return new Map();
  }
  const modules = new Map<string, ProbeModule>();
  for (const [name, entry] of Object.entries(raw)) {
    const module = parseModule(name, entry, context);
    if (module !== undefined) modules.set(name, module);
  }
  return modules;
}
