/**
 * Swift account references: the sections of swift_store_config_file, or,
 * without that file, one reference built from swift_store_user/key/
 * auth_address under the name default_swift_reference (as glance_store does).
 */
import { readFileSync } from 'node:fs';
import type { OptionValues } from '../../config/schema.js';

/** The swift options references are made of (declared here, not taken from SWIFT_OPTIONS, which checks the file with this module). */
interface ReferenceOptions {
  readonly swift_store_multi_tenant: boolean;
  readonly swift_store_config_file: string | undefined;
  readonly swift_store_auth_version: string;
  readonly swift_store_user: string | undefined;
  readonly swift_store_key: string | undefined;
  readonly swift_store_application_credential_id: string | undefined;
  readonly swift_store_application_credential_secret: string | undefined;
  readonly swift_store_auth_address: string | undefined;
  readonly default_swift_reference: string;
}

export interface SwiftReference {
  authAddress: string;
  /** Empty for an application credential reference. */
  user: string;
  key: string;
  /** A Keystone v3 application credential, used instead of user and key (glance_store 5.4). */
  applicationCredential?: { id: string; secret: string };
  authVersion: string;
  userDomainId?: string;
  userDomainName?: string;
  projectDomainId?: string;
  projectDomainName?: string;
}

export interface LoadedReferences {
  references: Map<string, SwiftReference>;
  /** Sections skipped, with why (glance_store skips them too, logging an error). */
  skipped: string[];
}

/** Reads a Python configparser file as glance_store's SwiftConfigParser does (quotes around values removed). */
export function parseReferencesText(text: string, defaultAuthVersion: string): LoadedReferences {
  const sections = new Map<string, Map<string, string>>();
  const defaults = new Map<string, string>();
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*([#;].*)?$/.test(raw)) continue;
    if (/^\s/.test(raw) && current && lastKey) {
      current.set(lastKey, `${current.get(lastKey)}\n${raw.trim()}`); // a continuation line
      continue;
    }
    const section = /^\[([^\]]+)\]\s*$/.exec(raw);
    if (section) {
      const name = section[1]!;
      current = name === 'DEFAULT' ? defaults : (sections.get(name) ?? new Map());
      if (name !== 'DEFAULT') sections.set(name, current);
      lastKey = undefined;
      continue;
    }
    const kv = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    // The line itself is not quoted: it may hold a key.
    if (!kv) throw new Error(`a line is neither a [section] nor key = value`);
    if (!current) throw new Error(`option ${kv[1]!.trim()} comes before any [section]`);
    lastKey = kv[1]!.trim().toLowerCase();
    current.set(lastKey, kv[2]!.trim());
  }
  const references = new Map<string, SwiftReference>();
  const skipped: string[] = [];
  for (const [name, values] of sections) {
    const raw = (k: string): string | undefined => values.get(k) ?? defaults.get(k);
    const get = (k: string): string | undefined => {
      const v = raw(k);
      return v === undefined ? undefined : unquote(interpolate(v, raw, `${name}.${k}`), `${name}.${k}`);
    };
    try {
      // As glance_store 5.4: a reference with an application credential id is one, and needs its secret.
      const appCred = get('application_credential_id') !== undefined;
      const missing = ['auth_address', ...(appCred ? ['application_credential_secret'] : ['user', 'key'])].filter((k) => get(k) === undefined);
      if (missing.length) throw new Error(`missing ${missing.join(', ')}`);
      const ref: SwiftReference = appCred
        ? { authAddress: get('auth_address')!, user: '', key: '', applicationCredential: { id: get('application_credential_id')!, secret: get('application_credential_secret')! }, authVersion: get('auth_version') ?? defaultAuthVersion }
        : { authAddress: get('auth_address')!, user: get('user')!, key: get('key')!, authVersion: get('auth_version') ?? defaultAuthVersion };
      ref.projectDomainName = get('project_domain_name');
      ref.projectDomainId = get('project_domain_id') ?? (ref.projectDomainName ? undefined : 'default');
      ref.userDomainName = get('user_domain_name');
      ref.userDomainId = get('user_domain_id') ?? (ref.userDomainName ? undefined : 'default');
      references.set(name, ref);
    } catch (err) {
      skipped.push(`[${name}]: ${(err as Error).message}`);
    }
  }
  return { references, skipped };
}

/**
 * configparser's basic interpolation, as glance_store's parser applies it:
 * `%%` is a literal `%`, `%(name)s` the value of another option of the
 * section (or [DEFAULT]).
 */
function interpolate(value: string, lookup: (key: string) => string | undefined, where: string, depth = 0): string {
  if (depth > 10) throw new Error(`${where}: interpolation nested too deeply`);
  return value.replace(/%(%|\(([^)]*)\)s|.?)/g, (_m, what: string, ref: string | undefined) => {
    if (what === '%') return '%';
    if (ref !== undefined) {
      const v = lookup(ref.toLowerCase());
      if (v === undefined) throw new Error(`${where} refers to %(${ref})s, which is not set`);
      return interpolate(v, lookup, where, depth + 1);
    }
    throw new Error(`${where}: a '%' must be written '%%' (or start %(name)s)`);
  });
}

function unquote(value: string, where: string): string {
  if (value && (value[0] === '"' || value[0] === "'")) {
    if (value.length === 1 || value.at(-1) !== value[0]) throw new Error(`${where} has an unclosed quote`);
    return value.slice(1, -1);
  }
  return value;
}

/** What swift_store_config_file must hold, as the configuration reference states it. */
export const REFERENCES_FILE_RULE = 'account references in INI sections, default_swift_reference among them unless swift_store_multi_tenant is set';

/**
 * Why the text of swift_store_config_file is refused, checked with the
 * whole config: it does not parse, or (single tenant) it lacks the reference
 * new images are written with.
 */
export function referencesFileProblem(text: string, values: OptionValues): string | undefined {
  let loaded: LoadedReferences;
  try {
    loaded = parseReferencesText(text, String(values['swift_store_auth_version']));
  } catch (err) {
    return `does not parse: ${(err as Error).message}`;
  }
  const name = String(values['default_swift_reference']);
  if (values['swift_store_multi_tenant'] !== true && !loaded.references.has(name)) return `has no complete reference ${JSON.stringify(name)} (auth_address, user, key), the default_swift_reference`;
  return undefined;
}

export function loadReferencesFile(file: string, defaultAuthVersion: string): LoadedReferences {
  return parseReferencesText(readFileSync(file, 'utf8'), defaultAuthVersion);
}

/**
 * The account references (swift_store_config_file, or the one made of
 * swift_store_user/key/auth_address) and the one new images are written
 * with, checked as glance_store checks them at start-up.
 */
export function storeReferences(o: ReferenceOptions, warn: (message: string) => void): { references: Map<string, SwiftReference>; defaultReference: SwiftReference | undefined; problems: string[] } {
  const problems: string[] = [];
  let references = new Map<string, SwiftReference>();
  // The options' own rules (SWIFT_OPTIONS: not multi-tenant with a references file, the account options
  // required without one) were checked with the whole config; the references read here are checked below.
  if (o.swift_store_config_file) {
    try {
      const loaded = loadReferencesFile(o.swift_store_config_file, o.swift_store_auth_version);
      references = loaded.references;
      for (const why of loaded.skipped) warn(`swift_store_config_file ${o.swift_store_config_file}: reference ${why}; skipped`);
    } catch (err) {
      problems.push(`swift_store_config_file ${o.swift_store_config_file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else if (o.swift_store_application_credential_id && o.swift_store_application_credential_secret && o.swift_store_auth_address) {
    // An application credential wins over a user and key, as in glance_store 5.4.
    references.set(o.default_swift_reference, {
      authAddress: o.swift_store_auth_address,
      user: '',
      key: '',
      applicationCredential: { id: o.swift_store_application_credential_id, secret: o.swift_store_application_credential_secret },
      authVersion: o.swift_store_auth_version,
    });
  } else if (o.swift_store_user && o.swift_store_key && o.swift_store_auth_address) {
    references.set(o.default_swift_reference, {
      authAddress: o.swift_store_auth_address,
      user: o.swift_store_user,
      key: o.swift_store_key,
      authVersion: o.swift_store_auth_version,
      userDomainId: 'default',
      projectDomainId: 'default',
    });
  }
  const defaultReference = references.get(o.default_swift_reference);
  if (!o.swift_store_multi_tenant) {
    if (!defaultReference) {
      if (o.swift_store_config_file) problems.push(`default_swift_reference ${o.default_swift_reference} is not a complete reference (auth_address, user, key) in ${o.swift_store_config_file}`);
    } else {
      if (!['1', '2', '3'].includes(defaultReference.authVersion)) problems.push(`auth_version ${JSON.stringify(defaultReference.authVersion)} of reference ${o.default_swift_reference} must be 1, 2 or 3`);
      if (defaultReference.applicationCredential && defaultReference.authVersion !== '3') {
        problems.push(`reference ${o.default_swift_reference} has an application credential, which needs Keystone v3 (auth_version 3, not ${defaultReference.authVersion})`);
      } else if (!defaultReference.applicationCredential && defaultReference.authVersion !== '1' && !defaultReference.user.includes(':')) {
        problems.push(`the user of reference ${o.default_swift_reference} must be project:user for Keystone (auth_version ${defaultReference.authVersion})`);
      }
      if (!/^https?:\/\//.test(defaultReference.authAddress)) problems.push(`the auth address of reference ${o.default_swift_reference} must be an http:// or https:// URL`);
    }
  }
  return { references, defaultReference, problems };
}

/**
 * The references that authenticate with Keystone v2.0, named for the warning
 * given once at create: glance_store 5.0 removed v1 and v2.0 auth for swift.
 * Their configs are still read (v1 stays: tempauth and swauth speak it).
 */
export function keystoneV2References(references: ReadonlyMap<string, SwiftReference>): string[] {
  return [...references].filter(([, r]) => r.authVersion === '2').map(([name]) => `account reference ${JSON.stringify(name)}`);
}
