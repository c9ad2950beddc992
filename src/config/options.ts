/**
 * Option schemas: each driver declares its options once (name, type,
 * default, help, secret), and that one list drives value conversion,
 * defaults, validation, did-you-mean hints, secret masking and the
 * generated configuration reference.
 *
 * Values are read as oslo.config reads them (checked against oslo.config
 * itself by test/config-oslo.test.ts): references resolve as in resolve.ts,
 * values convert as in convert.ts, with the deliberate differences listed in
 * docs/config-file-format.md.
 */
import type { ParsedConfig } from './parse.js';
import type { OptionSpec, OptionValues, RefusalKind } from './schema.js';
import { ExpansionBudget } from './interpolate.js';
import { ConfigResolver, sectionKey, specsByName, type GroupSpec } from './resolve.js';
import { suggest } from './suggest.js';
import { defaultRuleProblems, ruleProblems, shownValue, type RuleProblem } from './rules.js';
import { inherit, type Inheritance } from './backend-defaults.js';

export { suggest } from './suggest.js';
export type { OptionCheck, OptionRequirement, OptionSpec, OptionType, OptionValues, OptionsOf, RefusalKind } from './schema.js';

export interface ReadOptionsResult {
  values: OptionValues;
  problems: string[];
  unknown: { name: string; suggestion?: string }[];
  /** Deprecated names in use. */
  deprecated: { name: string; use: string }[];
}

export interface ReadOptionsContext {
  /** The whole parsed file, so `$name` can fall back to [DEFAULT] and `$group.name` can reach other sections. */
  config?: ParsedConfig;
}

/** An option value refused, with why and whether oslo.config refuses it too (`kind: 'value'`). */
export interface OptionProblem {
  option: string;
  kind: RefusalKind;
  message: string;
}

/** One group read against its schema: values (defaults applied), refused options, unknown keys. */
export interface GroupReading {
  values: OptionValues;
  problems: OptionProblem[];
  unknown: string[];
  /** Options the section sets (read without a problem). */
  set: Set<string>;
  /** Problems of [backend_defaults] values this group inherits (reported once, under that group). */
  inherited: OptionProblem[];
}

export interface ReadGroupOptions {
  /** An option read elsewhere (enabled_backends). */
  skip?: string;
  /** Whether the driver's rules are checked (not for [backend_defaults], which is no store). */
  rules?: boolean;
  /** A store group's fallback to [backend_defaults]. */
  inherit?: Inheritance;
}

/**
 * Reads every option of a group through the resolver. Problem messages name
 * the section, the option and the value as written, except for secret
 * options, whose value is never shown. A rule broken by a value the group
 * inherits names [backend_defaults], where the value was written.
 */
export function readGroup(resolver: ConfigResolver, group: GroupSpec, label: string, config: ParsedConfig, how: ReadGroupOptions = {}): GroupReading {
  let values: OptionValues = {};
  const set = new Set<string>();
  const problems: OptionProblem[] = [];
  const broken = (found: RuleProblem[], origin?: ReadonlyMap<string, string>) => {
    for (const p of found) {
      const from = origin?.get(p.option);
      problems.push({ option: p.option, kind: 'store-rule', message: from ? `[${from}] ${p.message} (read by store ${JSON.stringify(label)})` : `[${label}] ${p.message}` });
    }
  };
  /** The refused [backend_defaults] values this group falls back to (its own section does not set them). */
  const inherited = (own: OptionValues, refusedOwn: ReadonlySet<string> = new Set()) => {
    const found: OptionProblem[] = [];
    for (const spec of group.schema) {
      const refused = how.inherit?.shared.refused.get(spec.name);
      if (refused && !refusedOwn.has(spec.name) && !(set.has(spec.name) && own[spec.name] !== undefined)) found.push({ option: spec.name, ...refused });
    }
    return found;
  };
  if (!resolver.hasSection(group)) {
    // Nothing set: every option has its default (a config may hold a hundred thousand such stores).
    if (!how.inherit) {
      for (const spec of group.schema) values[spec.name] = spec.default;
      if (how.rules !== false) broken(defaultRuleProblems(group.schema));
      return { values, problems, unknown: [], set, inherited: [] };
    }
    const once = (how.inherit.unsectioned ??= inherit({}, set, how.inherit));
    if (once.origin.size === 0) broken(defaultRuleProblems(how.inherit.schema));
    else broken(ruleProblems(group.schema, once.values), once.origin);
    return { values: { ...once.values }, problems, unknown: [], set, inherited: inherited({}) };
  }
  for (const spec of group.schema) {
    if (spec.name === how.skip) continue;
    const r = resolver.read(group.name === 'DEFAULT' ? null : group.name, spec.name);
    if (r.ok) {
      values[spec.name] = r.value;
      if (r.set) set.add(spec.name);
      continue;
    }
    values[spec.name] = spec.default;
    problems.push({ option: spec.name, kind: r.kind, message: `[${label}] ${shownValue(spec, r.text)}: ${r.why}` });
  }
  const refused = new Set(problems.map((p) => p.option));
  let origin = new Map<string, string>();
  const own = values;
  if (how.inherit) {
    // A refused own value is reported and takes the default, never the shared value.
    ({ values, origin } = inherit(own, set, how.inherit, refused));
  }
  // The driver's own rules, on values that passed their type and range.
  if (how.rules !== false) broken(ruleProblems(group.schema, values, refused), origin);
  const known = specsByName(group.schema);
  const raw = Object.prototype.hasOwnProperty.call(config, group.section) ? config[group.section]! : {};
  return { values, problems, unknown: Object.keys(raw).filter((k) => !known.has(k)), set, inherited: how.inherit ? inherited(own, refused) : [] };
}

/** The characters of a parsed config (names and values): the base of its substitution budget. */
export function configSize(config: ParsedConfig): number {
  let n = 0;
  for (const section of Object.keys(config)) {
    n += section.length;
    const options = config[section]!;
    for (const k of Object.keys(options)) {
      n += k.length;
      for (const v of ([] as string[]).concat(options[k]!)) n += v.length;
    }
  }
  return n;
}

/**
 * Reads one section's raw values against a schema: defaults applied, `$`
 * references substituted, values converted, every problem collected (never
 * only the first). Other sections of `context.config` are read as the
 * application's own options (strings) when referred to.
 */
export function readOptions(
  schema: readonly OptionSpec[],
  raw: Record<string, string | string[]> | undefined,
  sectionName: string,
  context: ReadOptionsContext = {},
): ReadOptionsResult {
  const own = sectionKey(sectionName);
  const config: ParsedConfig = Object.assign(Object.create(null) as ParsedConfig, context.config ?? {}, { [own]: raw ?? {} });
  const isDefault = sectionName === 'DEFAULT';
  const defaults: GroupSpec = { name: 'DEFAULT', section: 'DEFAULT', schema: isDefault ? schema : [], appOptions: true };
  const group: GroupSpec = isDefault ? defaults : { name: sectionName, section: own, schema, appOptions: false };
  const others = Object.keys(config)
    .filter((k) => k !== 'DEFAULT' && k !== own)
    .map((k): GroupSpec => ({ name: k, section: k, schema: [], appOptions: true }));
  const resolver = new ConfigResolver(config, defaults, isDefault ? others : [group, ...others], new ExpansionBudget(configSize(config)));
  const read = readGroup(resolver, group, sectionName, config);
  const names = schema.map((s) => s.name);
  return {
    values: read.values,
    problems: read.problems.map((p) => p.message),
    unknown: (isDefault ? [] : read.unknown).map((name) => {
      const suggestion = suggest(name, names);
      return suggestion ? { name, suggestion } : { name };
    }),
    deprecated: resolver.deprecatedIn(isDefault ? null : sectionName),
  };
}

/** The values with every secret option replaced by `***` (unset ones stay unset). */
export function maskSecrets(schema: readonly OptionSpec[], values: OptionValues): OptionValues {
  const secret = new Set(schema.filter((s) => s.secret).map((s) => s.name));
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, secret.has(k) && v !== undefined && v !== null && v !== '' ? '***' : v]));
}
