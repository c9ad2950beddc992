/**
 * Option values as oslo.config's ConfigOpts gives them to glance_store:
 * each option of a registered group read from its section, `$` references
 * substituted with the *converted* value of the option they name (its
 * default when unset, `''` for None), then converted by the option's type.
 *
 * References resolve as oslo's StrSubWrapper resolves them:
 * - `$name` is an option of the group being read, else of [DEFAULT];
 * - `${group.name}` is an option of that group, named exactly as it is
 *   registered (case-sensitive: a store's group is its id as written in
 *   enabled_backends, other groups are lower-case); `DEFAULT` is not a group;
 *   if the group has no such option, [DEFAULT]'s option `group.name` is tried;
 * - a group name where an option is expected (`$fast`) is refused.
 * Options the library does not declare (Glance's own) are read as strings,
 * which is what they are for oslo.config until Glance registers a type.
 *
 * Every reference is resolved once, and before any value is computed the
 * references are checked as a graph: cycles and chains deeper than the
 * limit are refused without recursing into them, so no file can exhaust the
 * stack or take more than linear time.
 */
import type { ParsedConfig } from './parse.js';
import type { OptionSpec, RefusalKind } from './schema.js';
import { convert } from './convert.js';
import { INTERPOLATION_LIMITS, isFailure, referencesIn, substitute, type ExpansionBudget, type Failure } from './interpolate.js';
import { pyStr } from './pystr.js';

export interface GroupSpec {
  /** The name references use: case-sensitive, as the group is registered. */
  name: string;
  /** The section it reads, as parseConfig keys it (lower-case except DEFAULT). */
  section: string;
  schema: readonly OptionSpec[];
  /** Keys the schema does not declare are read as string options (Glance's own options). */
  appOptions: boolean;
}

export type Outcome =
  | { ok: true; value: unknown; set: boolean }
  | {
      ok: false;
      kind: RefusalKind;
      why: string;
      /** The value as written. */
      text: string;
      /** For a reference to a refused option: that option and why, however deep (secret values are never in `why`). */
      root?: string;
    };

/** One option of one group, with what the graph analysis and the reading learn about it. */
interface Slot {
  group: GroupSpec;
  spec: OptionSpec;
  /** Tarjan's bookkeeping: -1 until visited. */
  index: number;
  low: number;
  onStack: boolean;
  cyclic: boolean;
  /** 1 + the longest chain of references below it. */
  height: number;
  outcome?: Outcome;
}
type Lookup = { slot: Slot } | { missing: 'group' | 'option' | 'is-group' };

/** oslo's `_normalize_group_name`: how a group finds its section. */
export function sectionKey(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

function lastOf<T>(v: T[]): T {
  return v[v.length - 1]!;
}

/** A schema's options by name and by deprecated name (the current name first), built once per schema. */
const SPEC_INDEX = new WeakMap<readonly OptionSpec[], Map<string, OptionSpec>>();
export function specsByName(schema: readonly OptionSpec[]): Map<string, OptionSpec> {
  let index = SPEC_INDEX.get(schema);
  if (!index) {
    index = new Map(schema.map((s) => [s.name, s]));
    for (const s of schema) for (const d of s.deprecatedNames ?? []) if (!index.has(d)) index.set(d, s);
    SPEC_INDEX.set(schema, index);
  }
  return index;
}

export class ConfigResolver {
  private readonly groups = new Map<string, GroupSpec>();
  /** One slot object per option, so a reference finds the same state every time. */
  private readonly slots = new Map<GroupSpec, Map<string, Slot>>();
  private readonly deprecated = new Map<string, { name: string; use: string }[]>();

  constructor(
    private readonly config: ParsedConfig,
    private readonly defaults: GroupSpec,
    groups: readonly GroupSpec[],
    private readonly budget: ExpansionBudget,
  ) {
    for (const g of groups) this.groups.set(g.name, g);
    // Only options the file sets can refer to anything: they are where the analysis starts.
    const roots: Slot[] = [];
    for (const g of [defaults, ...groups]) {
      const index = specsByName(g.schema);
      for (const key of Object.keys(this.rawSection(g) ?? {})) {
        const spec = index.get(key);
        if (spec) roots.push(this.slot(g, spec));
      }
    }
    this.analyse(roots);
  }

  /** Whether the group's section is in the file at all (if not, every option has its default). */
  hasSection(group: GroupSpec): boolean {
    return this.rawSection(group) !== undefined;
  }

  /** An option of a group (null: [DEFAULT]) as oslo gives it, or why it is refused. */
  read(group: string | null, name: string): Outcome {
    const found = this.lookup(group, name);
    if (!('slot' in found)) throw new Error(`no option ${name} in group ${group ?? 'DEFAULT'}`);
    return this.valueOf(found.slot);
  }

  /** Deprecated names the file uses in a group's section. */
  deprecatedIn(group: string | null): { name: string; use: string }[] {
    return this.deprecated.get(group ?? '') ?? [];
  }

  private slot(group: GroupSpec, spec: OptionSpec): Slot {
    let byName = this.slots.get(group);
    if (!byName) this.slots.set(group, (byName = new Map()));
    let slot = byName.get(spec.name);
    if (!slot) byName.set(spec.name, (slot = { group, spec, index: -1, low: 0, onStack: false, cyclic: false, height: 1 }));
    return slot;
  }

  private lookup(groupName: string | null, name: string): Lookup {
    if (groupName === null && this.groups.has(name)) return { missing: 'is-group' };
    const group = groupName === null ? this.defaults : this.groups.get(groupName);
    if (!group) return { missing: 'group' };
    // A deprecated name finds its option too, as oslo's _find_deprecated_opts.
    const spec = specsByName(group.schema).get(name);
    if (spec) return { slot: this.slot(group, spec) };
    // oslo refuses option names starting with '_': no application can have registered one.
    const section = this.rawSection(group);
    if (group.appOptions && !name.startsWith('_') && section?.[name] !== undefined) return { slot: this.slots.get(group)?.get(name) ?? this.slot(group, { name, type: 'string', help: '' }) };
    return { missing: 'option' };
  }

  /** What a reference read from an option of `current` names, as StrSubWrapper finds it. */
  private target(ref: string, current: GroupSpec): Lookup {
    const dot = ref.indexOf('.');
    const first = dot >= 0 ? this.lookup(ref.slice(0, dot), ref.slice(dot + 1)) : this.lookup(current === this.defaults ? null : current.name, ref);
    return 'missing' in first && first.missing === 'option' ? this.lookup(null, ref) : first;
  }

  private rawSection(group: GroupSpec): Record<string, string | string[]> | undefined {
    return Object.prototype.hasOwnProperty.call(this.config, group.section) ? this.config[group.section] : undefined;
  }

  /** The names a slot's section sets for it, in oslo's order of preference: the current name, then deprecated ones. */
  private namesSet(slot: Slot): string[] {
    const section = this.rawSection(slot.group);
    if (!section) return [];
    return [slot.spec.name, ...(slot.spec.deprecatedNames ?? [])].filter((n) => section[n] !== undefined);
  }

  /**
   * The raw values oslo would convert for a slot, or undefined if the file
   * does not set it. A single-valued option takes the last value of the
   * first name found; a multi-valued one gathers every name, the later
   * names' values first (oslo's `rvalue = val + rvalue`).
   */
  private rawValues(slot: Slot): string[] | undefined {
    const names = this.namesSet(slot);
    if (names.length === 0) return undefined;
    const section = this.rawSection(slot.group)!;
    const all = (n: string) => ([] as string[]).concat(section[n]!);
    if (slot.spec.type !== 'multistring') return [lastOf(all(names[0]!))];
    const values: string[] = [];
    for (let i = names.length - 1; i >= 0; i--) for (const v of all(names[i]!)) values.push(v);
    return values;
  }

  private edges(slot: Slot): Slot[] {
    const out: Slot[] = [];
    for (const text of this.rawValues(slot) ?? []) {
      for (const ref of referencesIn(text)) {
        const t = this.target(ref, slot.group);
        if ('slot' in t) out.push(t.slot);
      }
    }
    return out;
  }

  /**
   * Tarjan's strongly connected components, iteratively: slots on a cycle
   * are marked, and every other slot gets its height, before any value is
   * computed. Components complete in reverse topological order, so a slot's
   * successors all have their height when its own is set.
   */
  private analyse(roots: Slot[]): void {
    const stack: Slot[] = [];
    const frames: { slot: Slot; edges: Slot[]; i: number }[] = [];
    let next = 0;
    const enter = (s: Slot) => {
      s.index = s.low = next++;
      s.onStack = true;
      stack.push(s);
      frames.push({ slot: s, edges: this.edges(s), i: 0 });
    };
    for (const root of roots) {
      if (root.index >= 0) continue;
      enter(root);
      while (frames.length) {
        const f = frames[frames.length - 1]!;
        const slot = f.slot;
        if (f.i < f.edges.length) {
          const t = f.edges[f.i++]!;
          if (t.index < 0) enter(t);
          else if (t.onStack) slot.low = Math.min(slot.low, t.index);
          continue;
        }
        frames.pop();
        const parent = frames[frames.length - 1];
        if (parent) parent.slot.low = Math.min(parent.slot.low, slot.low);
        if (slot.low !== slot.index) continue;
        const component: Slot[] = [];
        let s: Slot;
        do {
          s = stack.pop()!;
          s.onStack = false;
          component.push(s);
        } while (s !== slot);
        if (component.length > 1 || f.edges.includes(slot)) for (const c of component) c.cyclic = true;
        else for (const e of f.edges) slot.height = Math.max(slot.height, 1 + (e.cyclic ? 1 : e.height));
      }
    }
  }

  private valueOf(slot: Slot): Outcome {
    return (slot.outcome ??= this.compute(slot));
  }

  private compute(slot: Slot): Outcome {
    const given = this.rawValues(slot);
    if (given === undefined) return { ok: true, value: slot.spec.default, set: false };
    const { spec, group } = slot;
    const used = spec.type === 'multistring' ? given : given.slice(-1);
    const refuse = (kind: RefusalKind, why: string, text: string): Outcome => ({ ok: false, kind, why, text });
    if (slot.cyclic) return refuse('value', 'its references lead back to itself', lastOf(used));
    if (slot.height > INTERPOLATION_LIMITS.depth + 1) {
      return refuse('limit', `references nest more than ${INTERPOLATION_LIMITS.depth} deep`, lastOf(used));
    }
    const names = this.namesSet(slot);
    for (const n of spec.type === 'multistring' ? names : names.slice(0, 1)) {
      if (n === spec.name) continue;
      const groupKey = group === this.defaults ? '' : group.name;
      this.deprecated.set(groupKey, [...(this.deprecated.get(groupKey) ?? []), { name: n, use: spec.name }]);
    }
    const values: unknown[] = [];
    for (const text of used) {
      const expanded = substitute(text, (ref) => this.reference(ref, group), this.budget);
      if (isFailure(expanded)) return { ...refuse(expanded.kind, expanded.why, text), ...(expanded.root ? { root: expanded.root } : {}) };
      const c = convert(spec, expanded);
      if (!c.ok) return refuse(c.kind, c.why, text);
      values.push(c.value);
    }
    return { ok: true, value: spec.type === 'multistring' ? values : values[0], set: true };
  }

  /** A reference's text: str() of the named option's converted value. */
  private reference(ref: string, current: GroupSpec): string | Failure {
    const t = this.target(ref, current);
    if ('missing' in t) {
      const dot = ref.indexOf('.');
      if (t.missing === 'is-group') return { why: `$${ref} names a group, not an option`, kind: 'value' };
      if (t.missing === 'group') return { why: `$${ref}: there is no group ${JSON.stringify(ref.slice(0, dot))} (group names are case-sensitive; [DEFAULT] options are written $name)`, kind: 'value' };
      return { why: `$${ref} is not an option (write $$ for a literal $)`, kind: 'value' };
    }
    const got = this.valueOf(t.slot);
    if (!got.ok) {
      const where = `${t.slot.group === this.defaults ? 'DEFAULT' : t.slot.group.name}.${t.slot.spec.name}`;
      const root = got.root ?? `${where}: ${got.why}`;
      return { why: `$${ref} cannot be substituted (${root})`, kind: got.kind, root };
    }
    return pyStr(got.value, t.slot.spec.type === 'float');
  }
}
