/**
 * Option schemas: each driver declares its options once (name, type,
 * default, help, secret), and that one list drives value conversion (as
 * oslo.config converts), defaults, validation, did-you-mean warnings, secret
 * masking and the generated configuration reference.
 */

export type OptionType = 'string' | 'int' | 'float' | 'bool' | 'list' | 'multistring' | 'dict' | 'port';

export interface OptionSpec {
  name: string;
  type: OptionType;
  default?: unknown;
  help: string;
  /** Never shown in errors, logs, info or the CLI. */
  secret?: boolean;
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** Older names still read (a warning says which name to use). */
  deprecatedNames?: readonly string[];
  /** An example value for the configuration reference. */
  sample?: string;
}

export type OptionValues = Record<string, unknown>;

export interface ReadOptionsResult {
  values: OptionValues;
  problems: string[];
  unknown: { name: string; suggestion?: string }[];
  /** Deprecated names in use. */
  deprecated: { name: string; use: string }[];
}

const TRUE_VALUES = ['true', '1', 'on', 'yes'];
const FALSE_VALUES = ['false', '0', 'off', 'no'];

type Converted = { ok: true; value: unknown } | { ok: false; why: string };

function convertOne(spec: OptionSpec, raw: string): Converted {
  const text = raw.trim();
  switch (spec.type) {
    case 'bool': {
      const l = text.toLowerCase();
      if (TRUE_VALUES.includes(l)) return { ok: true, value: true };
      if (FALSE_VALUES.includes(l)) return { ok: true, value: false };
      return { ok: false, why: `expected a boolean (${TRUE_VALUES.join('/')} or ${FALSE_VALUES.join('/')})` };
    }
    case 'int':
    case 'port': {
      if (!/^[+-]?\d+$/.test(text)) return { ok: false, why: 'expected an integer' };
      const n = Number(text);
      const min = spec.type === 'port' ? Math.max(spec.min ?? 0, 0) : spec.min;
      const max = spec.type === 'port' ? Math.min(spec.max ?? 65535, 65535) : spec.max;
      if (min !== undefined && n < min) return { ok: false, why: `must be at least ${min}` };
      if (max !== undefined && n > max) return { ok: false, why: `must be at most ${max}` };
      return { ok: true, value: n };
    }
    case 'float': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) return { ok: false, why: 'expected a number' };
      if (spec.min !== undefined && n < spec.min) return { ok: false, why: `must be at least ${spec.min}` };
      if (spec.max !== undefined && n > spec.max) return { ok: false, why: `must be at most ${spec.max}` };
      return { ok: true, value: n };
    }
    case 'list':
      return { ok: true, value: text === '' ? [] : text.split(',').map((s) => s.trim()) };
    case 'dict': {
      const out: Record<string, string> = {};
      if (text === '') return { ok: true, value: out };
      for (const pair of text.split(',')) {
        const colon = pair.indexOf(':');
        if (colon < 0) return { ok: false, why: `expected key:value pairs separated by commas (${JSON.stringify(pair.trim())} has no ':')` };
        out[pair.slice(0, colon).trim()] = pair.slice(colon + 1).trim();
      }
      return { ok: true, value: out };
    }
    case 'string':
    case 'multistring':
      if (spec.choices && !spec.choices.includes(raw)) return { ok: false, why: `must be one of ${spec.choices.join(', ')}` };
      return { ok: true, value: raw };
  }
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

/** The closest candidate, if it is close enough to be a likely typo. */
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
  const allowed = Math.max(2, Math.floor(name.length / 4));
  return best !== undefined && bestDistance <= allowed ? best : undefined;
}

/**
 * Reads one section's raw values against a schema: defaults applied, values
 * converted, every problem collected (never only the first). Single-valued
 * options take the last of repeated values, as oslo.config does. Problem
 * messages never include the value of a secret option.
 */
export function readOptions(schema: readonly OptionSpec[], raw: Record<string, string | string[]> | undefined, sectionName: string): ReadOptionsResult {
  const values: OptionValues = {};
  const problems: string[] = [];
  const deprecated: { name: string; use: string }[] = [];
  const known = new Set<string>();
  const section = raw ?? {};

  for (const spec of schema) {
    known.add(spec.name);
    let given = section[spec.name];
    for (const old of spec.deprecatedNames ?? []) {
      known.add(old);
      if (given === undefined && section[old] !== undefined) {
        given = section[old];
        deprecated.push({ name: old, use: spec.name });
      }
    }
    if (given === undefined) {
      values[spec.name] = spec.default;
      continue;
    }
    const all = Array.isArray(given) ? given : [given];
    const shown = (v: string) => (spec.secret ? '(secret value hidden)' : JSON.stringify(v));
    if (spec.type === 'multistring') {
      const out: string[] = [];
      for (const v of all) {
        const c = convertOne(spec, v);
        if (c.ok) out.push(c.value as string);
        else problems.push(`[${sectionName}] ${spec.name} = ${shown(v)}: ${c.why}`);
      }
      values[spec.name] = out;
      continue;
    }
    const last = all[all.length - 1]!;
    // An empty value for a typed option means "not set", so the default applies.
    if (last.trim() === '' && spec.type !== 'string' && spec.type !== 'list' && spec.type !== 'dict') {
      values[spec.name] = spec.default;
      continue;
    }
    const c = convertOne(spec, last);
    if (c.ok) values[spec.name] = c.value;
    else {
      problems.push(`[${sectionName}] ${spec.name} = ${shown(last)}: ${c.why}`);
      values[spec.name] = spec.default;
    }
  }

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
