/**
 * `[backend_defaults]` (glance_store 5.0): every driver option may be set
 * there as the fallback for all stores. glance_store registers each
 * driver's options in that group and, in each store's group, the same
 * options with no default (oslo's None), then reads a store's option from
 * its own group and only when that gives None from [backend_defaults]. So:
 * - a value written in the store's section always wins, also `False`, `0`
 *   or an empty string or list; an empty number is None and falls back;
 * - `$name` naming an unset driver option of a store's group gives the
 *   empty string (None), not the default;
 * - `store_description` and `weight` are per store: they are not read from
 *   [backend_defaults].
 * The store's own group is read with the defaults removed (`groupSchema`),
 * and `inherit` then fills what it leaves unset.
 */
import type { AnyDriverDefinition } from '../driver.js';
import type { OptionSpec, OptionValues, RefusalKind } from './schema.js';

/** The group glance_store calls SHARED_CONF_GROUP. */
export const SHARED_GROUP = 'backend_defaults';

/** Options a store's section may carry that [backend_defaults] does not (glance_store registers them per store only). */
export const PER_STORE_OPTIONS = ['store_description', 'weight'] as const;

/** What [backend_defaults] gave, read once for every store. */
export interface SharedReading {
  values: OptionValues;
  /** Options the section sets, read without a problem. */
  set: ReadonlySet<string>;
  /** Why an option of [backend_defaults] was refused, by option (already labelled with the group). */
  refused: ReadonlyMap<string, { kind: RefusalKind; message: string }>;
}

/** How one store group inherits: its driver's options with their defaults, and the shared reading. */
export interface Inheritance {
  /** The schema with its defaults, as the driver declares it (the group itself is read without them). */
  schema: readonly OptionSpec[];
  shared: SharedReading;
  /** For stores with no section of their own: their values, computed once. */
  unsectioned?: { values: OptionValues; origin: ReadonlyMap<string, string> };
}

const STRIPPED = new WeakMap<readonly OptionSpec[], readonly OptionSpec[]>();

/**
 * A store group's schema as glance_store 5 registers it: the driver's
 * options without defaults (the per-store options keep theirs).
 */
export function groupSchema(schema: readonly OptionSpec[]): readonly OptionSpec[] {
  let stripped = STRIPPED.get(schema);
  if (!stripped) {
    const perStore = new Set<string>(PER_STORE_OPTIONS);
    stripped = schema.map((s) => (perStore.has(s.name) || s.default === undefined ? s : { ...s, default: undefined }));
    STRIPPED.set(schema, stripped);
  }
  return stripped;
}

/**
 * The options [backend_defaults] holds: those of the drivers that have a
 * store in this config, the file driver's always (Glance's reserved stores
 * are file stores). An option two drivers both declare is the first one's.
 */
export function sharedSchema(definitions: readonly AnyDriverDefinition[]): readonly OptionSpec[] {
  const byName = new Map<string, OptionSpec>();
  for (const d of definitions) for (const o of d.options as readonly OptionSpec[]) if (!byName.has(o.name)) byName.set(o.name, o);
  return [...byName.values()];
}

/**
 * A store's values: its own where its section sets them, else what
 * [backend_defaults] sets, else the driver's defaults (an option whose own
 * value was `refused` takes the default). `origin` names the options taken
 * from [backend_defaults].
 */
export function inherit(own: OptionValues, ownSet: ReadonlySet<string>, how: Inheritance, refused: ReadonlySet<string> = new Set()): { values: OptionValues; origin: Map<string, string> } {
  const values: OptionValues = { ...own };
  const origin = new Map<string, string>();
  for (const spec of how.schema) {
    if (ownSet.has(spec.name) && own[spec.name] !== undefined) continue;
    const perStore = (PER_STORE_OPTIONS as readonly string[]).includes(spec.name);
    if (!perStore && !refused.has(spec.name) && how.shared.set.has(spec.name) && how.shared.values[spec.name] !== undefined) {
      values[spec.name] = how.shared.values[spec.name];
      origin.set(spec.name, SHARED_GROUP);
    } else {
      values[spec.name] = spec.default;
    }
  }
  return { values, origin };
}

export interface UnknownShared {
  /** Keys no driver declares, or that only a store's section may carry: errors. */
  errors: { name: string; message: string }[];
  /** Keys of a driver no store uses: they have no effect. */
  warnings: string[];
}

/**
 * Sorts the keys of [backend_defaults] that its schema lacks: an option of
 * a driver with no store here is a warning (it has no effect, and is not
 * checked); anything else is an error, with a did-you-mean over every
 * driver's options.
 */
export function unknownShared(keys: readonly string[], drivers: readonly AnyDriverDefinition[], hint: (name: string, candidates: readonly string[]) => string | undefined): UnknownShared {
  const out: UnknownShared = { errors: [], warnings: [] };
  if (keys.length === 0) return out;
  const owner = new Map<string, string>();
  for (const d of drivers) for (const o of d.options as readonly OptionSpec[]) if (!owner.has(o.name)) owner.set(o.name, d.type);
  const names = [...owner.keys()];
  for (const name of keys) {
    const type = owner.get(name);
    if (type !== undefined) {
      out.warnings.push(`Option ${JSON.stringify(name)} in [${SHARED_GROUP}] has no effect: no ${type} store is enabled`);
    } else if ((PER_STORE_OPTIONS as readonly string[]).includes(name)) {
      out.errors.push({ name, message: `Option ${JSON.stringify(name)} cannot be set in [${SHARED_GROUP}]: it is set in each store's own section` });
    } else {
      const h = hint(name, names);
      out.errors.push({ name, message: `Unknown option ${JSON.stringify(name)} in [${SHARED_GROUP}] (the defaults of every store)${h ? `: did you mean ${JSON.stringify(h)}?` : ''}` });
    }
  }
  return out;
}
