/**
 * Option schemas: each driver declares its options once (name, type,
 * default, help, secret), and that one list drives value conversion,
 * defaults, validation, did-you-mean warnings, secret masking and the
 * generated configuration reference.
 *
 * Values are read as oslo.config reads them (checked against oslo.config
 * itself by test/config-options.test.ts):
 * - `$name`, `${name}` and `$group.name` are replaced by other options' values
 *   before conversion; `$$` and `\$` stand for a literal `$`; a reference to
 *   an option that does not exist is an error (Glance fails on it too), so a
 *   password containing `$` must be written with `$$`;
 * - a single-valued option takes the last of repeated values; with deprecated
 *   names, the current name wins; a multistring gathers every name's values;
 * - see `convert` for each type's rules.
 *
 * One deliberate difference: an empty int/float/port value (`x =`) is `None`
 * in oslo.config; here it means "unset" and the default applies.
 */
import type { ParsedConfig } from './parse.js';
import { pyFloat, pyInt, pyStr, pyStrip } from './pystr.js';

export type OptionType = 'string' | 'int' | 'float' | 'bool' | 'list' | 'multistring' | 'dict' | 'port';

export interface OptionSpec {
  name: string;
  type: OptionType;
  default?: unknown;
  help: string;
  /** Never shown in errors, logs, info or the CLI. */
  secret?: boolean;
  /** Allowed values (for list and dict: of each item / each value). Numbers are compared as numbers. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** Older names still read (a warning says which name to use). */
  deprecatedNames?: readonly string[];
  /** An example value for the configuration reference. */
  sample?: string;
}

export type OptionValues = Record<string, unknown>;

/** The value type of one option type, as `readOptions` gives it. */
type ValueOfType<T extends OptionType> = T extends 'string'
  ? string
  : T extends 'int' | 'float' | 'port'
    ? number
    : T extends 'bool'
      ? boolean
      : T extends 'list' | 'multistring'
        ? string[]
        : Record<string, string>;

/** A string option with choices is the union of its choices. */
type ValueOfSpec<S extends OptionSpec> = S extends { type: 'string'; choices: readonly (infer C extends string)[] } ? C : ValueOfType<S['type']>;

/** An option without a default may be unset. */
type OptionValueOf<S extends OptionSpec> = S extends { default: unknown } ? ValueOfSpec<S> : ValueOfSpec<S> | undefined;

/**
 * The options object a driver's `create` receives, derived from its schema
 * declared `as const`: `OptionsOf<typeof MY_OPTIONS>`.
 */
export type OptionsOf<Schema extends readonly OptionSpec[]> = {
  readonly [S in Schema[number] as S['name']]: OptionValueOf<S>;
};

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

const TRUE_VALUES = ['true', '1', 'on', 'yes'];
const FALSE_VALUES = ['false', '0', 'off', 'no'];

/** `value: undefined` means oslo.config's `None` (an empty number). */
type Converted = { ok: true; value: unknown } | { ok: false; why: string };

function inChoices(spec: OptionSpec, item: string): boolean {
  return !spec.choices || spec.choices.includes(item);
}

/**
 * oslo's List and Dict split at commas, but when an item is refused they glue
 * the next piece on (`a,b` might be one item containing a comma) and retry,
 * until the pieces run out.
 */
function gluePieces(pieces: string[], accept: (piece: string) => string | undefined): { items: string[] } | { why: string } {
  const items: string[] = [];
  while (pieces.length > 0) {
    let piece = pieces.shift()!;
    for (;;) {
      const why = accept(piece);
      if (why === undefined) break;
      if (pieces.length === 0) return { why };
      piece += ',' + pieces.shift()!;
    }
    items.push(piece);
  }
  return { items };
}

function convertNumber(spec: OptionSpec, text: string): Converted {
  // oslo: a blank number is None, otherwise Python's int()/float() decide.
  if (pyStrip(text) === '') return { ok: true, value: undefined };
  const isFloat = spec.type === 'float';
  const n = isFloat ? pyFloat(text) : pyInt(text);
  if (n === undefined) return { ok: false, why: isFloat ? 'expected a number' : 'expected an integer' };
  if (spec.choices) {
    // With choices, oslo checks membership only (not min/max).
    if (!spec.choices.some((c) => Number(c) === n)) return { ok: false, why: `must be one of ${spec.choices.join(', ')}` };
    return { ok: true, value: n };
  }
  // A port is an integer within 0..65535, narrowed further by min/max.
  const min = spec.type === 'port' ? (spec.min ?? 0) : spec.min;
  const max = spec.type === 'port' ? (spec.max ?? 65535) : spec.max;
  if (min !== undefined && n < min) return { ok: false, why: `must be at least ${min}` };
  if (max !== undefined && n > max) return { ok: false, why: `must be at most ${max}` };
  return { ok: true, value: n };
}

/** One value converted as the oslo.config type of the option converts it. */
function convert(spec: OptionSpec, text: string): Converted {
  switch (spec.type) {
    case 'bool': {
      // oslo neither strips nor accepts empty: `x =` is an error for a boolean.
      const l = text.toLowerCase();
      if (TRUE_VALUES.includes(l)) return { ok: true, value: true };
      if (FALSE_VALUES.includes(l)) return { ok: true, value: false };
      return { ok: false, why: `expected a boolean (${TRUE_VALUES.join('/')} or ${FALSE_VALUES.join('/')})` };
    }
    case 'int':
    case 'port':
    case 'float':
      return convertNumber(spec, text);
    case 'list': {
      // Trailing commas are dropped (all of them); empty items elsewhere are kept.
      const s = pyStrip(text).replace(/,+$/, '');
      if (s === '') return { ok: true, value: [] };
      const r = gluePieces(s.split(','), (p) => (inChoices(spec, pyStrip(p)) ? undefined : `each item must be one of ${spec.choices!.join(', ')}`));
      return 'why' in r ? { ok: false, why: r.why } : { ok: true, value: r.items.map(pyStrip) };
    }
    case 'dict': {
      const s = pyStrip(text);
      const out: Record<string, string> = Object.create(null) as Record<string, string>;
      if (s === '') return { ok: true, value: out };
      const r = gluePieces(s.split(','), (p) => {
        const colon = p.indexOf(':');
        if (colon < 0) return 'expected key:value pairs separated by commas';
        return inChoices(spec, pyStrip(p.slice(colon + 1))) ? undefined : `each value must be one of ${spec.choices!.join(', ')}`;
      });
      if ('why' in r) return { ok: false, why: r.why };
      for (const pair of r.items) {
        const colon = pair.indexOf(':');
        const k = pyStrip(pair.slice(0, colon));
        if (k === '') return { ok: false, why: 'a key is empty' };
        if (k in out) return { ok: false, why: `key ${JSON.stringify(k)} appears twice` };
        out[k] = pyStrip(pair.slice(colon + 1));
      }
      return { ok: true, value: { ...out } };
    }
    case 'string':
    case 'multistring':
      // oslo compares choices exactly (case and whitespace matter).
      if (!inChoices(spec, text)) return { ok: false, why: `must be one of ${spec.choices!.join(', ')}` };
      return { ok: true, value: text };
  }
}

/** Python's string.Template pattern with oslo's identifiers (dots allowed, any case). */
const TEMPLATE = /\$(?:(\$)|([_a-z][._a-z0-9]*)|\{([_a-z][._a-z0-9]*)\}|)/gi;

type Failure = { why: string };

/**
 * `$` substitution as oslo.config's `_substitute` does it (Python's
 * string.Template, safe_substitute): `\$` is first turned into `$$`, `$$`
 * gives `$`, a `$` not followed by a name stays as it is, and each reference
 * is replaced by what `resolve` gives; the first failure is returned.
 */
function expand(text: string, resolve: (ref: string) => string | Failure): string | Failure {
  let failure: Failure | undefined;
  const out = text.replace(/\\\$/g, '$$$$').replace(TEMPLATE, (whole, dollar?: string, named?: string, braced?: string) => {
    if (dollar) return '$';
    const ref = named ?? braced;
    if (ref === undefined) return whole;
    const got = resolve(ref);
    if (typeof got === 'string') return got;
    failure ??= got;
    return whole;
  });
  return failure ?? out;
}

function lastOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function sectionOf(config: ParsedConfig | undefined, name: string): Record<string, string | string[]> | undefined {
  return config && Object.prototype.hasOwnProperty.call(config, name) ? config[name] : undefined;
}

/** Damerau-Levenshtein distance (optimal string alignment). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The closest candidate, if it is close enough to be a likely typo: one edit
 * for short names (else every short name "resembles" every other), about one
 * edit per four characters for longer ones. Case is ignored.
 */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = distance(name.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) {
      bestDistance = dist;
      best = c;
    }
  }
  const allowed = name.length <= 4 ? 1 : Math.max(2, Math.floor(name.length / 4));
  return best !== undefined && bestDistance <= allowed ? best : undefined;
}

/**
 * Reads one section's raw values against a schema: defaults applied, `$`
 * references substituted, values converted, every problem collected (never
 * only the first). Problem messages name the section, the option and the
 * value as written, except for secret options, whose value is never shown.
 */
export function readOptions(
  schema: readonly OptionSpec[],
  raw: Record<string, string | string[]> | undefined,
  sectionName: string,
  context: ReadOptionsContext = {},
): ReadOptionsResult {
  const section = raw ?? {};
  const problems: string[] = [];
  const deprecated: { name: string; use: string }[] = [];
  const byName = new Map(schema.map((s) => [s.name, s]));
  const done = new Map<string, unknown>();
  const busy = new Set<string>();
  /** Options whose value was refused: references to them fail too, as in oslo. */
  const failed = new Set<string>();

  const shown = (spec: OptionSpec, v: string) => (spec.secret ? `${spec.name} (value hidden)` : `${spec.name} = ${JSON.stringify(v)}`);

  /** The raw values oslo would use for a spec, or undefined if the file does not set it. */
  const rawValues = (spec: OptionSpec): string[] | undefined => {
    const found = [spec.name, ...(spec.deprecatedNames ?? [])].filter((n) => section[n] !== undefined);
    if (found.length === 0) return undefined;
    const all = (n: string) => ([] as string[]).concat(section[n]!);
    // A multi-valued option gathers every name, the later names' values first (as oslo);
    // a single-valued one takes the first name found, the current name before deprecated ones.
    const used = spec.type === 'multistring' ? found : found.slice(0, 1);
    for (const n of used) if (n !== spec.name) deprecated.push({ name: n, use: spec.name });
    return used.reduce<string[]>((acc, n) => [...all(n), ...acc], []);
  };

  /** A section of the file by its normalized name; the one being read is at hand even without `context.config`. */
  const ownKey = sectionName === 'DEFAULT' ? sectionName : sectionName.toLowerCase();
  const rawSection = (groupKey: string) => (groupKey === ownKey ? section : sectionOf(context.config, groupKey));

  /**
   * A reference outside this schema: `$group.name` in that section, `$name`
   * in [DEFAULT]. Only values set in the file can be seen here (Glance would
   * also see its own options' defaults).
   */
  const lookupElsewhere = (ref: string, seen: ReadonlySet<string>): string | Failure => {
    const dot = ref.indexOf('.');
    const group = dot >= 0 ? ref.slice(0, dot) : 'DEFAULT';
    const name = dot >= 0 ? ref.slice(dot + 1) : ref;
    const groupKey = group === 'DEFAULT' ? group : group.toLowerCase();
    const where = `${groupKey}.${name}`;
    if (seen.has(where)) return { why: `$${ref} refers back to itself` };
    const text = lastOf(rawSection(groupKey)?.[name]);
    if (text === undefined) return { why: `$${ref} is not an option set in this file (write $$ for a literal $)` };
    const next = new Set(seen).add(where);
    // Its own references resolve within its section first, then in [DEFAULT].
    return expand(text, (inner) =>
      !inner.includes('.') && groupKey !== 'DEFAULT' && lastOf(rawSection(groupKey)?.[inner]) !== undefined
        ? lookupElsewhere(`${groupKey}.${inner}`, next)
        : lookupElsewhere(inner, next),
    );
  };

  /** The converted value of one option of this schema (computed once; references may ask early). */
  const valueOf = (spec: OptionSpec): unknown => {
    if (done.has(spec.name)) return done.get(spec.name);
    busy.add(spec.name);
    const given = rawValues(spec);
    let value: unknown = spec.default;
    if (given !== undefined) {
      const lookup = (ref: string): string | Failure => {
        const own = ref.includes('.') ? undefined : byName.get(ref);
        if (!own) return lookupElsewhere(ref, new Set());
        if (busy.has(own.name)) return { why: `$${ref} refers back to itself` };
        const v = valueOf(own);
        if (failed.has(own.name)) return { why: `$${ref} has no valid value` };
        // oslo inserts str() of the converted value, and '' for None.
        return v === undefined || v === null ? '' : Array.isArray(v) || typeof v === 'object' ? { why: `$${ref} is not a single value` } : pyStr(v, own.type === 'float');
      };
      const converted: unknown[] = [];
      let bad = false;
      // A single-valued option converts only its last value, as oslo.
      for (const v of spec.type === 'multistring' ? given : given.slice(-1)) {
        const text = expand(v, lookup);
        if (typeof text !== 'string') {
          bad = true;
          problems.push(`[${sectionName}] ${shown(spec, v)}: ${text.why}`);
          continue;
        }
        const c = convert(spec, text);
        if (c.ok) converted.push(c.value);
        else {
          bad = true;
          problems.push(`[${sectionName}] ${shown(spec, v)}: ${c.why}`);
        }
      }
      if (bad) failed.add(spec.name);
      if (spec.type === 'multistring') value = bad ? spec.default : converted;
      else if (!bad && converted[0] !== undefined) value = converted[0];
    }
    busy.delete(spec.name);
    done.set(spec.name, value);
    return value;
  };

  const values: OptionValues = {};
  for (const spec of schema) values[spec.name] = valueOf(spec);

  const known = new Set(schema.flatMap((s) => [s.name, ...(s.deprecatedNames ?? [])]));
  const names = schema.map((s) => s.name);
  const unknown = Object.keys(section)
    .filter((k) => !known.has(k))
    .map((name) => {
      const suggestion = suggest(name, names);
      return suggestion ? { name, suggestion } : { name };
    });
  return { values, problems, unknown, deprecated };
}

/** The values with every secret option replaced by `***` (unset ones stay unset). */
export function maskSecrets(schema: readonly OptionSpec[], values: OptionValues): OptionValues {
  const secret = new Set(schema.filter((s) => s.secret).map((s) => s.name));
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, secret.has(k) && v !== undefined && v !== null && v !== '' ? '***' : v]));
}
