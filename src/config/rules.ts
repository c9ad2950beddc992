/**
 * The checks a driver declares beyond an option's type and range: options
 * it cannot start without (`required`) and rules of its own (`check`). They
 * run on a group's converted values, with the config's other problems, so
 * that MultiStore.create reports them all in one error before any store is
 * contacted, whatever store they are in.
 */
import { maskLocation } from '../location.js';
import type { OptionSpec, OptionValues } from './schema.js';
import { pathNote, pathProblem } from './paths.js';

/** A rule broken, about one option (`message` without the group's label). */
export interface RuleProblem {
  option: string;
  message: string;
}

/** Unset for a rule: absent, empty text or an empty list. */
export function isUnset(value: unknown): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

/** How a problem shows an option's value: never a secret one, never a credential inside a URI. */
export function shownValue(spec: OptionSpec, text: string): string {
  return spec.secret ? `${spec.name} (value hidden)` : `${spec.name} = ${maskLocation(JSON.stringify(text))}`;
}

function shownConverted(spec: OptionSpec, value: unknown): string {
  if (spec.secret) return `${spec.name} (value hidden)`;
  return `${spec.name} = ${maskLocation(JSON.stringify(value) ?? String(value))}`;
}

/** Whether a schema declares any rule at all (most of Glance's own groups do not). */
const HAS_RULES = new WeakMap<readonly OptionSpec[], boolean>();
function hasRules(schema: readonly OptionSpec[]): boolean {
  let has = HAS_RULES.get(schema);
  if (has === undefined) HAS_RULES.set(schema, (has = schema.some((s) => s.required !== undefined || s.check !== undefined || s.path !== undefined)));
  return has;
}

/** The rules of a schema broken by its defaults alone, computed once: a config may hold a hundred thousand stores with no section. */
const DEFAULTS_BROKEN = new WeakMap<readonly OptionSpec[], RuleProblem[]>();

/**
 * Every required option left unset and every rule broken by `values`.
 * Options in `refused` (their value was already refused by its type or
 * range) are not checked again.
 */
export function ruleProblems(schema: readonly OptionSpec[], values: OptionValues, refused: ReadonlySet<string> = new Set()): RuleProblem[] {
  if (!hasRules(schema)) return [];
  const problems: RuleProblem[] = [];
  for (const spec of schema) {
    if (refused.has(spec.name)) continue;
    const value = values[spec.name];
    if (isUnset(value)) {
      const req = spec.required;
      if (req === true) problems.push({ option: spec.name, message: `${spec.name} is required` });
      else if (req && req.test(values)) problems.push({ option: spec.name, message: `${spec.name} is required ${req.when}` });
      continue;
    }
    // A path is looked at only once the value keeps its rule.
    const why = spec.check?.problem(value, values) ?? (spec.path ? pathProblem(spec.path, value, values) : undefined);
    if (why !== undefined) problems.push({ option: spec.name, message: `${shownConverted(spec, value)}: ${why}` });
  }
  return problems;
}

/**
 * `ruleProblems` of the schema's defaults, remembered per schema, unless a
 * default names a path to check: what is on the machine may change.
 */
export function defaultRuleProblems(schema: readonly OptionSpec[]): RuleProblem[] {
  let problems = DEFAULTS_BROKEN.get(schema);
  if (!problems) {
    problems = ruleProblems(schema, Object.fromEntries(schema.map((s) => [s.name, s.default])));
    if (!schema.some((s) => s.path !== undefined && !isUnset(s.default))) DEFAULTS_BROKEN.set(schema, problems);
  }
  return problems;
}

/** How the configuration reference states an option's requirement and rule. */
export function ruleNotes(spec: OptionSpec): string[] {
  const notes: string[] = [];
  if (spec.required === true) notes.push('**required**');
  else if (spec.required) notes.push(`**required** ${spec.required.when}`);
  if (spec.check) notes.push(`must be ${spec.check.rule}`);
  if (spec.path) notes.push(pathNote(spec.path));
  return notes;
}
