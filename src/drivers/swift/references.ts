/**
 * Swift account references: the sections of swift_store_config_file, or,
 * without that file, one reference built from swift_store_user/key/
 * auth_address under the name default_swift_reference (as glance_store does).
 */
import { readFileSync } from 'node:fs';

export interface SwiftReference {
  authAddress: string;
  user: string;
  key: string;
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
    if (!kv || !current) throw new Error(`line ${JSON.stringify(raw.slice(0, 40))} is neither a [section] nor key = value`);
    lastKey = kv[1]!.trim().toLowerCase();
    current.set(lastKey, kv[2]!.trim());
  }
  const references = new Map<string, SwiftReference>();
  const skipped: string[] = [];
  for (const [name, values] of sections) {
    const get = (k: string): string | undefined => {
      const v = values.get(k) ?? defaults.get(k);
      return v === undefined ? undefined : unquote(v, `${name}.${k}`);
    };
    try {
      const missing = ['auth_address', 'user', 'key'].filter((k) => get(k) === undefined);
      if (missing.length) throw new Error(`missing ${missing.join(', ')}`);
      const ref: SwiftReference = { authAddress: get('auth_address')!, user: get('user')!, key: get('key')!, authVersion: get('auth_version') ?? defaultAuthVersion };
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

function unquote(value: string, where: string): string {
  if (value && (value[0] === '"' || value[0] === "'")) {
    if (value.length === 1 || value.at(-1) !== value[0]) throw new Error(`${where} has an unclosed quote`);
    return value.slice(1, -1);
  }
  return value;
}

export function loadReferencesFile(file: string, defaultAuthVersion: string): LoadedReferences {
  return parseReferencesText(readFileSync(file, 'utf8'), defaultAuthVersion);
}
