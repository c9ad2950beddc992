import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfig, ConfigParseError, type ParsedConfig } from '../src/config/parse.js';
import { readConfig, COMMON_STORE_OPTIONS, GLOBAL_OPTIONS, RESERVED_STORES, type ConfigReading, type ProblemKind } from '../src/config/stores.js';
import type { OptionSpec } from '../src/config/options.js';
import { driverRegistry } from '../src/drivers/index.js';
import { osloAvailable, revive, runOslo } from './fixtures/config/oslo.js';
import { TYPED_DRIVER, fixtureCases, handWrittenCases, mutatedCases, type DifferentialCase } from './fixtures/config/oslo-cases.js';

// The differential test against oslo.config itself: every file is read by
// Debian's python3-oslo.config as Glance reads it (oslo_glance.py: the raw
// ConfigParser, then a ConfigOpts with this library's own option schemas
// registered as the matching oslo types) and by parseConfig + readConfig.
// They are compared on the raw structure, on every typed value, and on
// whether the file is accepted. A difference is either a bug, or one of the
// deliberate differences listed in docs/config-file-format.md, each with its
// kind; hand-written cases state which they show.
const available = osloAvailable('oslo.config whole-file differential test');

const SEED = 20250612;
const MUTATIONS = 600;
const registry = driverRegistry([TYPED_DRIVER]);

/** The kinds of refusal this library makes on purpose (documented); `value` and `default-backend` Glance makes too. */
const DELIBERATE: ReadonlySet<ProblemKind> = new Set(['limit', 'integer-range', 'empty-number', 'enabled-backends', 'store-id', 'unknown-type', 'unknown-option', 'hash-algo', 'store-rule']);

type OsloRaw = { sections: Record<string, Record<string, { multi: string[]; single: string }>> } | { error: string; line: number | null };
type OsloOutcome = { ok: unknown } | { error: string };
type OsloFile = {
  raw: OsloRaw;
  typed: null | { enabled: OsloOutcome; groups: Record<string, Record<string, OsloOutcome>>; verify: string | null };
};

type Verdict = { unexpected: string[]; deliberate: Set<ProblemKind> };

const plain = (o: OptionSpec) => ({ name: o.name, type: o.type, default: o.default, choices: o.choices, min: o.min, max: o.max, deprecatedNames: o.deprecatedNames });

/** Equal as oslo's value and ours: None is unset, NaN is NaN, dicts are compared without order. */
function sameValue(oslo: unknown, ours: unknown): boolean {
  if (oslo === null || oslo === undefined) return ours === undefined || ours === null;
  if (typeof oslo === 'number' && typeof ours === 'number') return oslo === ours || (Number.isNaN(oslo) && Number.isNaN(ours));
  if (Array.isArray(oslo)) return Array.isArray(ours) && oslo.length === ours.length && oslo.every((v, i) => sameValue(v, ours[i]));
  if (typeof oslo === 'object') {
    if (typeof ours !== 'object' || ours === null || Array.isArray(ours)) return false;
    const a = Object.keys(oslo).sort();
    const b = Object.keys(ours).sort();
    return a.length === b.length && a.every((k, i) => k === b[i] && sameValue((oslo as Record<string, unknown>)[k], (ours as Record<string, unknown>)[k]));
  }
  return oslo === ours;
}

function compareRaw(oslo: Extract<OsloRaw, { sections: unknown }>['sections'], ours: ParsedConfig, v: Verdict): void {
  const a = Object.keys(oslo).sort();
  const b = Object.keys(ours).sort();
  if (JSON.stringify(a) !== JSON.stringify(b)) v.unexpected.push(`raw sections: oslo ${JSON.stringify(a)}, ours ${JSON.stringify(b)}`);
  for (const [section, keys] of Object.entries(oslo)) {
    const got = ours[section] ?? {};
    for (const [key, { multi }] of Object.entries(keys)) {
      const mine = got[key];
      if (JSON.stringify(mine === undefined ? undefined : ([] as string[]).concat(mine)) !== JSON.stringify(multi)) v.unexpected.push(`raw [${section}] ${key}: oslo ${JSON.stringify(multi)}, ours ${JSON.stringify(mine)}`);
    }
    const extra = Object.keys(got).filter((k) => !(k in keys));
    if (extra.length) v.unexpected.push(`raw [${section}]: ours has extra keys ${JSON.stringify(extra)}`);
  }
}

function compareTyped(typed: NonNullable<OsloFile['typed']>, reading: ConfigReading, v: Verdict): void {
  const deliberate = (kind: ProblemKind, what: string) => (DELIBERATE.has(kind) ? v.deliberate.add(kind) : v.unexpected.push(`${what}: oslo accepts, ours refuses (${kind})`));

  // enabled_backends, as Glance reads it before any store group exists.
  const enabledProblems = reading.problems.filter((p) => p.group === 'DEFAULT' && p.option === 'enabled_backends');
  if ('error' in typed.enabled) {
    if (enabledProblems.length === 0) v.unexpected.push(`enabled_backends: oslo refuses (${typed.enabled.error}), ours accepts`);
  } else if (enabledProblems.length) {
    for (const p of enabledProblems) deliberate(p.kind, `enabled_backends (${p.message})`);
  } else {
    const oslo = (typed.enabled.ok as [string, string][] | null) ?? [];
    const ours = reading.enabledBackends.map((e) => [e.id, e.type]);
    if (JSON.stringify(oslo) !== JSON.stringify(ours)) v.unexpected.push(`enabled_backends: oslo ${JSON.stringify(oslo)}, ours ${JSON.stringify(ours)}`);
  }

  // Every option of every group oslo registered.
  const refusedIds = new Set(reading.problems.filter((p) => p.kind === 'store-id' || p.kind === 'unknown-type').map((p) => p.group));
  for (const [name, options] of Object.entries(typed.groups)) {
    const group = reading.groups.find((g) => g.name === name);
    if (!group) {
      if (!refusedIds.has(name) && enabledProblems.length === 0) v.unexpected.push(`group ${name}: oslo has it, ours does not`);
      continue;
    }
    for (const [option, oslo] of Object.entries(options)) {
      const problem = group.problems.find((p) => p.option === option);
      if ('error' in oslo) {
        if (!problem) v.unexpected.push(`[${name}] ${option}: oslo refuses (${oslo.error}), ours gives ${JSON.stringify(group.values[option])}`);
      } else if (problem) {
        if (problem.kind === 'value') v.unexpected.push(`[${name}] ${option}: oslo gives ${JSON.stringify(oslo.ok)}, ours refuses (${problem.message})`);
        else deliberate(problem.kind, `[${name}] ${option}`);
      } else if (!sameValue(revive(oslo.ok), group.values[option])) {
        v.unexpected.push(`[${name}] ${option}: oslo ${JSON.stringify(oslo.ok)}, ours ${JSON.stringify(group.values[option])}`);
      }
    }
  }

  // Accepted or refused as a whole (Glance also runs verify_store at startup).
  const osloAccepts = !('error' in typed.enabled) && typed.verify === null && Object.values(typed.groups).every((g) => Object.values(g).every((o) => 'ok' in o));
  const oursAccepts = reading.problems.length === 0;
  if (oursAccepts && !osloAccepts) v.unexpected.push(`oslo refuses the file (${typed.verify ?? 'a value'}), ours accepts it`);
  if (!oursAccepts && osloAccepts) for (const p of reading.problems) deliberate(p.kind, p.message);
}

function compare(c: DifferentialCase, oslo: OsloFile): Verdict {
  const v: Verdict = { unexpected: [], deliberate: new Set() };
  let parsed: ParsedConfig | undefined;
  let parseError: ConfigParseError | undefined;
  try {
    parsed = parseConfig(c.bytes);
  } catch (err) {
    if (!(err instanceof ConfigParseError)) throw err;
    parseError = err;
  }
  if ('error' in oslo.raw) {
    if (parsed) v.unexpected.push(`oslo cannot parse it (${oslo.raw.error}), ours can`);
    // oslo notices a key before any section only when its value ends; ours names the key's line.
    else if (oslo.raw.line !== null && parseError!.line !== oslo.raw.line && !/Section must be started/.test(oslo.raw.error)) v.unexpected.push(`parse error at line ${parseError!.line}, oslo's at ${oslo.raw.line}`);
    return v;
  }
  if (!parsed) {
    v.unexpected.push(`ours cannot parse it (${parseError!.message}), oslo can`);
    return v;
  }
  compareRaw(oslo.raw.sections, parsed, v);
  compareTyped(oslo.typed!, readConfig(parsed, registry), v);
  return v;
}

const verdictOf = (v: Verdict) => (v.unexpected.length ? 'unexpected' : v.deliberate.size ? 'deliberate' : 'agree');

describe.skipIf(!available)('glance-api.conf is read as oslo.config reads it', () => {
  const started = performance.now();
  const hand = handWrittenCases();
  const cases = [...hand, ...fixtureCases(), ...mutatedCases(SEED, MUTATIONS)];
  const schemas = {
    DEFAULT: GLOBAL_OPTIONS.DEFAULT.map(plain),
    glance_store: GLOBAL_OPTIONS.glance_store.map(plain),
    common: COMMON_STORE_OPTIONS.map(plain),
    drivers: Object.fromEntries([...registry].map(([type, d]) => [type, (d.options as readonly OptionSpec[]).map(plain)])),
  };
  const oslo = available ? runOslo<OsloFile[]>('oslo_glance.py', [], { schemas, reserved: RESERVED_STORES, files: cases.map((c) => c.bytes.toString('base64')) }) : [];
  const verdicts = cases.map((c, i) => compare(c, oslo[i]!));

  hand.forEach((c, i) => {
    it(c.name, () => {
      const v = verdicts[i]!;
      expect(v.unexpected, 'differences that are not deliberate').toEqual([]);
      expect([...v.deliberate].sort(), 'deliberate differences').toEqual(c.expect === 'agree' || !c.expect ? [] : [...c.expect].sort());
    });
  });

  it(`has no unexpected difference in ${cases.length - hand.length} fixtures and seeded mutations of the example`, () => {
    const bad = cases.map((c, i) => [c, verdicts[i]!] as const).slice(hand.length).filter(([, v]) => v.unexpected.length);
    expect(bad.map(([c, v]) => `${c.name}: ${v.unexpected.join('; ')}\n${c.bytes.toString('latin1')}`).slice(0, 5)).toEqual([]);
  });

  it('documents every deliberate difference it finds, and prints how many files agree', () => {
    const kinds = new Map<ProblemKind, number>();
    for (const v of verdicts) if (verdictOf(v) === 'deliberate') for (const k of v.deliberate) kinds.set(k, (kinds.get(k) ?? 0) + 1);
    const count = (what: string) => verdicts.filter((v) => verdictOf(v) === what).length;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `oslo.config differential: ${count('agree')}/${cases.length} files agree, ${count('deliberate')} differ only deliberately (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}), ${count('unexpected')} unexpected; ${seconds} s`,
    );
    const doc = readFileSync(new URL('../docs/config-file-format.md', import.meta.url), 'utf8');
    const at = doc.indexOf('## Deliberate differences from oslo.config');
    expect(at, 'docs/config-file-format.md has the section').toBeGreaterThan(0);
    const section = doc.slice(at);
    for (const k of DELIBERATE) expect(section, `the kind ${k} is documented`).toContain(`\`${k}\``);
    expect(count('agree')).toBeGreaterThan(cases.length / 2);
  });
});
