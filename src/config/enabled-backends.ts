/**
 * `enabled_backends` read strictly: oslo.config's DictOpt accepts entries
 * that can only be mistakes (`fast:` with no type, `fast:rbd:x`, an inline
 * `; comment` that becomes part of a type), and Glance then silently runs
 * without that store. Here each malformed entry is reported, and store ids
 * are checked for what would make their section or group ambiguous.
 * docs/config-file-format.md lists each case beside oslo's reading.
 */
import { pyStrip } from './pystr.js';

/** Store ids Glance keeps for itself; ids starting with `os_glance_` are all reserved. */
export const RESERVED_STORES = ['os_glance_staging_store', 'os_glance_tasks_store'] as const;
/** The Rocky-era section name of the staging store. */
export const LEGACY_STAGING_SECTION = 'os_staging';
const RESERVED_PREFIX = 'os_glance_';

export type EntryProblemKind = 'enabled-backends' | 'store-id';

export interface BackendEntry {
  id: string;
  type: string;
}

/** Malformed entries described one by one before the rest are only counted: a hostile value can hold a million. */
const DESCRIBED_ENTRIES = 20;

/** The entries of an (already substituted) enabled_backends value, and every malformed one. */
export function parseEnabledBackends(text: string): { entries: BackendEntry[]; problems: { kind: EntryProblemKind; message: string }[] } {
  const problems: { kind: EntryProblemKind; message: string }[] = [];
  const entries: BackendEntry[] = [];
  if (pyStrip(text) === '') {
    problems.push({ kind: 'enabled-backends', message: '[DEFAULT] enabled_backends is empty or unset: list the stores as `id:type, ...`' });
    return { entries, problems };
  }
  let malformed = 0;
  const bad = (message: () => string) => {
    if (malformed++ < DESCRIBED_ENTRIES) problems.push({ kind: 'enabled-backends', message: message() });
  };
  text.split(',').forEach((entry, i) => {
    const item = pyStrip(entry);
    if (item === '') return bad(() => `[DEFAULT] enabled_backends entry ${i + 1} is empty`);
    const m = /^([^:\s]+)\s*:\s*([^:\s]+)$/.exec(item);
    if (!m) return bad(() => `[DEFAULT] enabled_backends entry ${JSON.stringify(item)} is not of the form id:type`);
    entries.push({ id: m[1]!, type: m[2]! });
  });
  if (malformed > DESCRIBED_ENTRIES) problems.push({ kind: 'enabled-backends', message: `...and ${malformed - DESCRIBED_ENTRIES} more malformed enabled_backends entries` });
  return { entries, problems };
}

/**
 * Why an id cannot name a store, if it cannot. Ids are compared as their
 * sections are (lower-cased): `OS_GLANCE_X` would read a reserved store's
 * section, `Glance_Store` the [glance_store] section.
 */
export function storeIdProblem(id: string): string | undefined {
  const lower = id.toLowerCase();
  if (lower.startsWith(RESERVED_PREFIX) || lower === LEGACY_STAGING_SECTION) return `Store id ${JSON.stringify(id)} is reserved for Glance's own use and cannot be an enabled backend`;
  if (lower === 'backend_defaults') return `Store id ${JSON.stringify(id)} would read the [backend_defaults] section, which holds the defaults of every store`;
  if (id === 'DEFAULT' || lower === 'glance_store') return `Store id ${JSON.stringify(id)} would read the [${id === 'DEFAULT' ? id : 'glance_store'}] section, which holds Glance's own options`;
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) return `Store id ${JSON.stringify(id)} may contain only letters, digits, '_', '-' and '.'`;
  return undefined;
}
