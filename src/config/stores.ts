/**
 * Reads the multi-store part of a parsed glance-api.conf into store specs,
 * collecting every problem Glance would refuse to start on into one
 * BadStoreConfigurationError, before any store is contacted.
 */
import { BadStoreConfigurationError } from '../errors.js';
import type { AnyDriverDefinition } from '../driver.js';
import type { DriverRegistry } from '../drivers/index.js';
import { readOptions, suggest, type OptionSpec, type OptionValues } from './options.js';
import type { ParsedConfig } from './parse.js';
import { nodeHashName } from '../pipeline/hash-algo.js';

/** Store ids Glance keeps for itself; ids starting with `os_glance_` are all reserved. */
export const RESERVED_STORES = ['os_glance_staging_store', 'os_glance_tasks_store'] as const;
/** The Rocky-era section name of the staging store. */
export const LEGACY_STAGING_SECTION = 'os_staging';
const RESERVED_PREFIX = 'os_glance_';

/** Options every store section may carry, whatever its type. */
export const COMMON_STORE_OPTIONS: readonly OptionSpec[] = [
  { name: 'store_description', type: 'string', help: 'A human-readable description of the store, shown in store info.' },
  { name: 'weight', type: 'int', default: 0, help: 'Weight of the store when ordering image locations; higher comes first.' },
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

export interface StoreSpec {
  id: string;
  type: string;
  reserved: boolean;
  description: string;
  weight: number;
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

function sectionOf(config: ParsedConfig, name: string): Record<string, string | string[]> | undefined {
  return Object.prototype.hasOwnProperty.call(config, name) ? config[name] : undefined;
}

/** Parses `enabled_backends` strictly, so each malformed entry is reported. */
function readEnabledBackends(raw: string | string[] | undefined, problems: string[]): Array<{ id: string; type: string }> {
  const text = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (text === undefined || text.trim() === '') {
    problems.push('[DEFAULT] enabled_backends is empty or unset: list the stores as `id:type, ...`');
    return [];
  }
  const out: Array<{ id: string; type: string }> = [];
  for (const entry of text.split(',')) {
    const item = entry.trim();
    if (item === '') {
      problems.push(`[DEFAULT] enabled_backends has an empty entry in ${JSON.stringify(text)}`);
      continue;
    }
    const m = /^([^:\s]+)\s*:\s*([^:\s]+)$/.exec(item);
    if (!m) {
      problems.push(`[DEFAULT] enabled_backends entry ${JSON.stringify(item)} is not of the form id:type`);
      continue;
    }
    out.push({ id: m[1]!, type: m[2]! });
  }
  return out;
}

export function readStoresConfig(config: ParsedConfig, drivers: DriverRegistry, overrides: { imageSizeCap?: number; hashAlgo?: string } = {}): StoresConfig {
  const problems: string[] = [];
  const warnings: string[] = [];

  const defaults = readOptions(GLOBAL_OPTIONS.DEFAULT, sectionOf(config, 'DEFAULT'), 'DEFAULT', { config });
  problems.push(...defaults.problems.filter((p) => !/enabled_backends/.test(p)));
  const glanceStore = readOptions(GLOBAL_OPTIONS.glance_store, sectionOf(config, 'glance_store'), 'glance_store', { config });
  problems.push(...glanceStore.problems);

  const enabled = readEnabledBackends(sectionOf(config, 'DEFAULT')?.['enabled_backends'], problems);
  const seen = new Set<string>();
  const types = [...drivers.keys()];
  const stores: StoreSpec[] = [];

  const buildStore = (id: string, type: string, reserved: boolean, sectionName: string) => {
    const definition = drivers.get(type);
    if (!definition) {
      const hint = suggest(type, types);
      problems.push(`Store ${JSON.stringify(id)} has unknown type ${JSON.stringify(type)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}; known types: ${types.join(', ')}`);
      return;
    }
    const schema = [...COMMON_STORE_OPTIONS, ...definition.options];
    const read = readOptions(schema, sectionOf(config, sectionName), sectionName, { config });
    problems.push(...read.problems);
    for (const u of read.unknown) {
      warnings.push(`Unknown option ${JSON.stringify(u.name)} in [${sectionName}] (a ${type} store)${u.suggestion ? `: did you mean ${JSON.stringify(u.suggestion)}?` : ''}`);
    }
    for (const d of read.deprecated) warnings.push(`Option ${JSON.stringify(d.name)} in [${sectionName}] is deprecated: use ${JSON.stringify(d.use)}`);
    const { store_description: description, weight, ...options } = read.values;
    stores.push({ id, type, reserved, description: typeof description === 'string' ? description : '', weight: typeof weight === 'number' ? weight : 0, options, definition });
  };

  for (const { id, type } of enabled) {
    if (seen.has(id)) {
      problems.push(`Store id ${JSON.stringify(id)} appears more than once in enabled_backends`);
      continue;
    }
    seen.add(id);
    if (id.startsWith(RESERVED_PREFIX) || id === LEGACY_STAGING_SECTION) {
      problems.push(`Store id ${JSON.stringify(id)} is reserved for Glance's own use and cannot be an enabled backend`);
      continue;
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) {
      problems.push(`Store id ${JSON.stringify(id)} may contain only letters, digits, '_', '-' and '.'`);
      continue;
    }
    buildStore(id, type, false, id);
  }

  // Reserved stores are file stores configured by their own sections.
  for (const id of RESERVED_STORES) {
    const section = sectionOf(config, id) ? id : id === 'os_glance_staging_store' && sectionOf(config, LEGACY_STAGING_SECTION) ? LEGACY_STAGING_SECTION : undefined;
    if (section) buildStore(id, 'file', true, section);
  }

  const defaultBackend = glanceStore.values['default_backend'];
  if (typeof defaultBackend !== 'string' || defaultBackend === '') {
    problems.push('[glance_store] default_backend is unset: name one of the enabled stores');
  } else if (!enabled.some((e) => e.id === defaultBackend)) {
    const hint = suggest(defaultBackend, enabled.map((e) => e.id));
    problems.push(`[glance_store] default_backend ${JSON.stringify(defaultBackend)} is not an enabled store${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`);
  }

  const hashAlgo = overrides.hashAlgo ?? (defaults.values['os_hash_algo'] as string);
  if (!nodeHashName(hashAlgo)) problems.push(`[DEFAULT] os_hash_algo ${JSON.stringify(hashAlgo)} is not a hash algorithm this Node can compute`);

  if (problems.length > 0) throw new BadStoreConfigurationError(problems);
  return {
    stores,
    defaultBackend: defaultBackend as string,
    imageSizeCap: overrides.imageSizeCap ?? (defaults.values['image_size_cap'] as number),
    hashAlgo,
    warnings,
  };
}
