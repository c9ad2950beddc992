/**
 * Reads the multi-store part of a parsed glance-api.conf into store specs,
 * collecting every problem Glance would refuse to start on into one
 * BadStoreConfigurationError, before any store is contacted.
 *
 * The reading follows Glance's order: `enabled_backends` is read first, when
 * only [DEFAULT] and [glance_store] options exist (so it may refer to those
 * alone); then every store's group is registered under its id, exactly as
 * written, reading the section of that name (sections are matched
 * lower-cased, as oslo.config matches them: `Shared:file` reads `[Shared]`).
 */
import { BadStoreConfigurationError } from '../errors.js';
import type { AnyDriverDefinition } from '../driver.js';
import type { DriverRegistry } from '../drivers/index.js';
import { configSize, readGroup, suggest, type OptionProblem } from './options.js';
import type { OptionSpec, OptionValues, RefusalKind } from './schema.js';
import type { ParsedConfig } from './parse.js';
import { convert } from './convert.js';
import { ExpansionBudget } from './interpolate.js';
import { ConfigResolver, sectionKey, type GroupSpec } from './resolve.js';
import { LEGACY_STAGING_SECTION, RESERVED_STORES, parseEnabledBackends, storeIdProblem, type BackendEntry } from './enabled-backends.js';
import { nodeHashName } from '../pipeline/hash-algo.js';
import { SHARED_GROUP, groupSchema, sharedSchema, unknownShared, type Inheritance, type SharedReading } from './backend-defaults.js';

export { RESERVED_STORES, LEGACY_STAGING_SECTION } from './enabled-backends.js';

/** Options every store section may carry, whatever its type. */
export const COMMON_STORE_OPTIONS: readonly OptionSpec[] = [
  { name: 'store_description', type: 'string', help: 'A human-readable description of the store, shown in store info.' },
  { name: 'weight', type: 'int', default: 0, help: 'Weight of the store when ordering image locations; higher comes first.' },
  {
    name: 'inspect',
    type: 'string',
    choices: ['off', 'report', 'refuse'],
    default: 'off',
    help: "This library's option, not glance_store's: inspect every image added to the store (disk format, virtual size, safety; docs/inspection.md). `refuse` fails unsafe images, `report` stores them and lists the problems; an add's own `inspect` option wins.",
  },
];

/** Options read from the [DEFAULT] and [glance_store] sections. */
export const GLOBAL_OPTIONS: Record<'DEFAULT' | 'glance_store', readonly OptionSpec[]> = {
  DEFAULT: [
    { name: 'enabled_backends', type: 'dict', help: 'Enabled stores as comma-separated `id:type` pairs, e.g. `fast:rbd, shared:file`.', sample: 'fast:rbd, shared:file' },
    {
      name: 'image_size_cap',
      type: 'int',
      default: 1099511627776,
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
      help: 'Largest image, in bytes, that an add accepts (1 TiB by default, as Glance).',
    },
    { name: 'os_hash_algo', type: 'string', default: 'sha512', help: 'Algorithm of the multihash computed on every add (hashlib names: sha512, sha256, sha3_512, blake2b, ...).' },
  ],
  glance_store: [{ name: 'default_backend', type: 'string', help: 'Id of the store an add goes to when none is named.' }],
};

/** Unknown options listed per section before the rest are only counted, and did-you-mean hints per config (for errors, for warnings). */
const LISTED_PER_SECTION = 20;
/** Problems of one kind in one error, before the rest are only counted. */
const LISTED_PER_KIND = 100;
const HINTS_PER_CONFIG = 100;
const WARNING_HINTS_PER_CONFIG = 1000;

export interface StoreSpec {
  id: string;
  type: string;
  reserved: boolean;
  description: string;
  weight: number;
  /** The store's `inspect` option (this library's). */
  inspect: 'off' | 'report' | 'refuse';
  options: OptionValues;
  definition: AnyDriverDefinition;
}

export interface StoresConfig {
  stores: StoreSpec[];
  defaultBackend: string;
  imageSizeCap: number;
  hashAlgo: string;
  warnings: string[];
}

/**
 * What a problem is, so a caller (and the differential test against
 * oslo.config) can tell a value oslo.config refuses too (`value`) from the
 * checks Glance makes at startup (`default-backend`) and the ones this
 * library adds on purpose (the rest; see docs/config-file-format.md).
 */
export type ProblemKind = RefusalKind | 'enabled-backends' | 'store-id' | 'unknown-type' | 'unknown-option' | 'default-backend' | 'hash-algo';

export interface ConfigProblem {
  kind: ProblemKind;
  message: string;
  /** The group (and option) it is about, when it is about one. */
  group?: string;
  option?: string;
}

/** One group as read: [DEFAULT], [glance_store], a store, or a reserved store. */
export interface GroupOutcome {
  name: string;
  role: 'DEFAULT' | 'glance_store' | 'backend_defaults' | 'store' | 'reserved';
  values: OptionValues;
  problems: OptionProblem[];
}

export interface ConfigReading extends StoresConfig {
  /** enabled_backends' well-formed entries, in order (before ids and types are checked). */
  enabledBackends: BackendEntry[];
  groups: GroupOutcome[];
  problems: ConfigProblem[];
}

/** Reads the whole config; problems are returned, not thrown (readStoresConfig throws them). */
export function readConfig(config: ParsedConfig, drivers: DriverRegistry, overrides: { imageSizeCap?: number; hashAlgo?: string } = {}): ConfigReading {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const groups: GroupOutcome[] = [];
  const budget = new ExpansionBudget(configSize(config));
  let hintsLeft = HINTS_PER_CONFIG;
  let warningHintsLeft = WARNING_HINTS_PER_CONFIG;
  const hint = (name: string, candidates: readonly string[]) => (hintsLeft-- > 0 ? suggest(name, candidates) : undefined);

  const defaults: GroupSpec = { name: 'DEFAULT', section: 'DEFAULT', schema: GLOBAL_OPTIONS.DEFAULT, appOptions: true };
  const glanceStore: GroupSpec = { name: 'glance_store', section: 'glance_store', schema: GLOBAL_OPTIONS.glance_store, appOptions: true };

  // enabled_backends first, read as text so its entries can be checked one by one.
  const early = new ConfigResolver(
    config,
    { ...defaults, schema: GLOBAL_OPTIONS.DEFAULT.map((s) => (s.name === 'enabled_backends' ? { ...s, type: 'string' as const } : s)) },
    [glanceStore],
    budget,
  );
  const enabledText = early.read(null, 'enabled_backends');
  const entries: BackendEntry[] = [];
  /** As oslo's DictOpt gives it, once substituted. */
  let enabledValue: unknown;
  if (!enabledText.ok) {
    problems.push({ kind: enabledText.kind, message: `[DEFAULT] enabled_backends = ${JSON.stringify(enabledText.text)}: ${enabledText.why}`, group: 'DEFAULT', option: 'enabled_backends' });
  } else {
    const text = typeof enabledText.value === 'string' ? enabledText.value : '';
    // Every malformed entry is reported; those oslo's DictOpt refuses as well are marked so.
    const oslo = convert(GLOBAL_OPTIONS.DEFAULT[0]!, text);
    if (oslo.ok) enabledValue = enabledText.set ? oslo.value : undefined;
    const parsed = parseEnabledBackends(text);
    const ids = new Set<string>();
    for (const e of parsed.entries) {
      if (ids.has(e.id)) parsed.problems.push({ kind: 'enabled-backends', message: `Store id ${JSON.stringify(e.id)} appears more than once in enabled_backends` });
      else entries.push(e);
      ids.add(e.id);
    }
    for (const p of parsed.problems) problems.push({ ...p, kind: oslo.ok ? p.kind : 'value', group: 'DEFAULT', option: 'enabled_backends' });
    if (!oslo.ok && parsed.problems.length === 0) problems.push({ kind: 'value', message: `[DEFAULT] enabled_backends = ${JSON.stringify(text)}: ${oslo.why}`, group: 'DEFAULT', option: 'enabled_backends' });
  }

  // Every store id, valid or not, claims its section: it is not one of Glance's own groups.
  const claimed = new Set<string>(['DEFAULT', 'glance_store', SHARED_GROUP, ...RESERVED_STORES, ...entries.map((e) => sectionKey(e.id))]);
  const types = [...drivers.keys()];
  const storeGroups: { group: GroupSpec; entry: BackendEntry; definition: AnyDriverDefinition; reserved: boolean }[] = [];
  // One schema per driver type, shared by its stores; a store's group reads it without defaults (see backend-defaults.ts).
  const schemas = new Map<AnyDriverDefinition, readonly OptionSpec[]>();
  const fullSchemaOf = (d: AnyDriverDefinition) => schemas.get(d) ?? schemas.set(d, [...COMMON_STORE_OPTIONS, ...d.options]).get(d)!;
  const schemaOf = (d: AnyDriverDefinition) => groupSchema(fullSchemaOf(d));
  const sectionsTaken = new Map<string, string>();
  for (const entry of entries) {
    const { id, type } = entry;
    const taken = sectionsTaken.get(sectionKey(id));
    if (taken !== undefined) {
      problems.push({ kind: 'store-id', message: `Store ids ${JSON.stringify(taken)} and ${JSON.stringify(id)} differ only in case: both would read the section [${sectionKey(id)}]`, group: id });
      continue;
    }
    sectionsTaken.set(sectionKey(id), id);
    const idProblem = storeIdProblem(id);
    if (idProblem) {
      problems.push({ kind: 'store-id', message: idProblem, group: id });
      continue;
    }
    const definition = drivers.get(type);
    if (!definition) {
      const h = hint(type, types);
      problems.push({ kind: 'unknown-type', message: `Store ${JSON.stringify(id)} has unknown type ${JSON.stringify(type)}${h ? ` (did you mean ${JSON.stringify(h)}?)` : ''}; known types: ${types.join(', ')}`, group: id });
      continue;
    }
    storeGroups.push({ group: { name: id, section: sectionKey(id), schema: schemaOf(definition), appOptions: false }, entry, definition, reserved: false });
  }

  // Reserved stores are file stores configured by their own sections (the staging store also by its Rocky-era one).
  const fileDriver = drivers.get('file');
  if (fileDriver) {
    const group = (name: string): GroupSpec => ({ name, section: name, schema: schemaOf(fileDriver), appOptions: false });
    for (const id of RESERVED_STORES) storeGroups.push({ group: group(id), entry: { id, type: 'file' }, definition: fileDriver, reserved: true });
    if (!has(config, 'os_glance_staging_store') && has(config, LEGACY_STAGING_SECTION)) {
      const staging = storeGroups.find((s) => s.entry.id === 'os_glance_staging_store')!;
      staging.group = group(LEGACY_STAGING_SECTION);
      storeGroups.push({ group: group('os_glance_staging_store'), entry: staging.entry, definition: fileDriver, reserved: true });
      claimed.add(LEGACY_STAGING_SECTION);
    }
  }

  // Other sections are Glance's own groups: their options are strings to us.
  const appGroups = Object.keys(config)
    .filter((k) => !claimed.has(k))
    .map((k): GroupSpec => ({ name: k, section: k, schema: [], appOptions: true }));
  // [backend_defaults] holds the options of every driver a store here uses (the file driver's always: the reserved stores are file stores).
  const usedDrivers = [...new Set([...(fileDriver ? [fileDriver] : []), ...storeGroups.map((s) => s.definition)])];
  const sharedGroup: GroupSpec = { name: SHARED_GROUP, section: SHARED_GROUP, schema: sharedSchema(usedDrivers), appOptions: false };
  const resolver = new ConfigResolver(config, defaults, [glanceStore, sharedGroup, ...storeGroups.map((s) => s.group), ...appGroups], budget);

  const readGlobal = (group: GroupSpec, role: 'DEFAULT' | 'glance_store') => {
    // enabled_backends was read above; it stays in the schema so that $enabled_backends resolves.
    const read = readGroup(resolver, group, group.name, config, { skip: 'enabled_backends' });
    if (role === 'DEFAULT') read.values['enabled_backends'] = enabledValue;
    for (const p of read.problems) problems.push({ ...p, group: group.name });
    groups.push({ name: group.name, role, values: read.values, problems: read.problems });
    // Glance's own options live here too: only a likely misspelling of ours is worth a warning.
    const names = group.schema.map((s) => s.name);
    for (const name of read.unknown) {
      const h = warningHintsLeft-- > 0 ? suggest(name, names) : undefined;
      if (h) warnings.push(`Unknown option ${JSON.stringify(name)} in [${group.name}]: did you mean ${JSON.stringify(h)}?`);
    }
    for (const d of resolver.deprecatedIn(role === 'DEFAULT' ? null : group.name)) warnings.push(`Option ${JSON.stringify(d.name)} in [${group.name}] is deprecated: use ${JSON.stringify(d.use)}`);
    return read.values;
  };
  const defaultValues = readGlobal(defaults, 'DEFAULT');
  const glanceStoreValues = readGlobal(glanceStore, 'glance_store');
  const shared = readShared(resolver, sharedGroup, config, [...drivers.values()], hint, problems, warnings, groups);
  const inheritances = new Map<AnyDriverDefinition, Inheritance>();
  const inheritanceOf = (d: AnyDriverDefinition) => inheritances.get(d) ?? inheritances.set(d, { schema: fullSchemaOf(d), shared }).get(d)!;

  const stores: StoreSpec[] = [];
  for (const { group, entry, definition, reserved } of storeGroups) {
    const read = readGroup(resolver, group, group.name, config, { inherit: inheritanceOf(definition) });
    // The group's values include what it inherits, and so do its problems (reported once, under [backend_defaults]).
    groups.push({ name: group.name, role: reserved ? 'reserved' : 'store', values: read.values, problems: [...read.problems, ...read.inherited] });
    // Reserved stores exist only when their section does (the legacy one stands in for the staging store's).
    if (reserved && (!has(config, group.section) || stores.some((s) => s.id === entry.id))) continue;
    for (const p of read.problems) problems.push({ ...p, group: group.name });
    // A store's section holds only that store's options: anything else is a mistake.
    const names = read.unknown.length ? group.schema.map((s) => s.name) : [];
    for (const name of read.unknown.slice(0, LISTED_PER_SECTION)) {
      const h = hint(name, names);
      problems.push({ kind: 'unknown-option', message: `Unknown option ${JSON.stringify(name)} in [${group.name}] (a ${entry.type} store)${h ? `: did you mean ${JSON.stringify(h)}?` : ''}`, group: group.name, option: name });
    }
    const more = read.unknown.length - LISTED_PER_SECTION;
    if (more > 0) problems.push({ kind: 'unknown-option', message: `[${group.name}] has ${more} more unknown options`, group: group.name });
    for (const d of resolver.deprecatedIn(group.name)) warnings.push(`Option ${JSON.stringify(d.name)} in [${group.name}] is deprecated: use ${JSON.stringify(d.use)}`);
    const { store_description: description, weight, inspect, ...options } = read.values;
    const inspection = inspect === 'report' || inspect === 'refuse' ? inspect : 'off';
    stores.push({ id: entry.id, type: entry.type, reserved, description: typeof description === 'string' ? description : '', weight: typeof weight === 'number' ? weight : 0, inspect: inspection, options, definition });
  }

  // As Glance's verify_store at startup.
  const defaultBackend = glanceStoreValues['default_backend'];
  if (typeof defaultBackend !== 'string' || defaultBackend === '') {
    problems.push({ kind: 'default-backend', message: '[glance_store] default_backend is unset: name one of the enabled stores' });
  } else if (!entries.some((e) => e.id === defaultBackend)) {
    const h = hint(defaultBackend, entries.map((e) => e.id));
    problems.push({ kind: 'default-backend', message: `[glance_store] default_backend ${JSON.stringify(defaultBackend)} is not an enabled store${h ? ` (did you mean ${JSON.stringify(h)}?)` : ''}` });
  }

  const hashAlgo = overrides.hashAlgo ?? (defaultValues['os_hash_algo'] as string);
  if (!nodeHashName(hashAlgo)) problems.push({ kind: 'hash-algo', message: `[DEFAULT] os_hash_algo ${JSON.stringify(hashAlgo)} is not a hash algorithm this Node can compute` });

  return {
    enabledBackends: entries,
    stores,
    defaultBackend: typeof defaultBackend === 'string' ? defaultBackend : '',
    imageSizeCap: overrides.imageSizeCap ?? (defaultValues['image_size_cap'] as number),
    hashAlgo,
    warnings,
    groups,
    problems,
  };
}

export function readStoresConfig(config: ParsedConfig, drivers: DriverRegistry, overrides: { imageSizeCap?: number; hashAlgo?: string } = {}): StoresConfig {
  const { stores, defaultBackend, imageSizeCap, hashAlgo, warnings, problems } = readConfig(config, drivers, overrides);
  if (problems.length > 0) {
    // Every problem of a real file, but not a million of one kind from a hostile one.
    const shown = new Map<ProblemKind, number>();
    const messages: string[] = [];
    for (const p of problems) {
      const n = (shown.get(p.kind) ?? 0) + 1;
      shown.set(p.kind, n);
      if (n <= LISTED_PER_KIND) messages.push(p.message);
    }
    for (const [kind, n] of shown) if (n > LISTED_PER_KIND) messages.push(`...and ${n - LISTED_PER_KIND} more problems of the kind ${kind}`);
    throw new BadStoreConfigurationError(messages, { warnings });
  }
  return { stores, defaultBackend, imageSizeCap, hashAlgo, warnings };
}

/** Reads [backend_defaults] once for every store: its values, refused values and unknown keys. */
function readShared(
  resolver: ConfigResolver,
  group: GroupSpec,
  config: ParsedConfig,
  drivers: readonly AnyDriverDefinition[],
  hint: (name: string, candidates: readonly string[]) => string | undefined,
  problems: ConfigProblem[],
  warnings: string[],
  groups: GroupOutcome[],
): SharedReading {
  const read = readGroup(resolver, group, SHARED_GROUP, config, { rules: false });
  for (const p of read.problems) problems.push({ ...p, group: SHARED_GROUP });
  groups.push({ name: SHARED_GROUP, role: 'backend_defaults', values: read.values, problems: read.problems });
  const unknown = unknownShared(read.unknown.slice(0, LISTED_PER_SECTION), drivers, hint);
  for (const e of unknown.errors) problems.push({ kind: 'unknown-option', message: e.message, group: SHARED_GROUP, option: e.name });
  const more = read.unknown.length - LISTED_PER_SECTION;
  if (more > 0) problems.push({ kind: 'unknown-option', message: `[${SHARED_GROUP}] has ${more} more unknown options`, group: SHARED_GROUP });
  warnings.push(...unknown.warnings);
  for (const d of resolver.deprecatedIn(SHARED_GROUP)) warnings.push(`Option ${JSON.stringify(d.name)} in [${SHARED_GROUP}] is deprecated: use ${JSON.stringify(d.use)}`);
  return { values: read.values, set: read.set, refused: new Map(read.problems.map((p) => [p.option, { kind: p.kind, message: p.message }])) };
}

function has(config: ParsedConfig, section: string): boolean {
  return Object.prototype.hasOwnProperty.call(config, section);
}
