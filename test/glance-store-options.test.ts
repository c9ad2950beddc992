/**
 * Every option glance_store 5.4 has is read by this library or listed as
 * not supported (src/config/unsupported.ts, shown in docs/configuration.md).
 * glance_store 5.4's option names come from a list committed with the tag
 * it was made from (test/fixtures/glance-store-options/5.4.0.json, made by
 * extract.py beside it from glance_store's source: only 4.1 is installed).
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { BUILTIN_DRIVERS } from '../src/drivers/index.js';
import { COMMON_STORE_OPTIONS, GLOBAL_OPTIONS } from '../src/config/stores.js';
import { UNSUPPORTED_OPTIONS } from '../src/config/unsupported.js';
import type { OptionSpec } from '../src/config/schema.js';

const upstream = JSON.parse(readFileSync(new URL('./fixtures/glance-store-options/5.4.0.json', import.meta.url), 'utf8')) as { source: string; generatedBy: string; groups: Record<string, string[]> };

/** The library's option names for each of the list's groups. */
function ours(group: string): Set<string> {
  if (group === 'every store section') return new Set(COMMON_STORE_OPTIONS.map((o) => o.name));
  if (group === 'glance_store') return new Set(GLOBAL_OPTIONS.glance_store.map((o) => o.name));
  const driver = BUILTIN_DRIVERS.find((d) => d.type === group);
  if (!driver) throw new Error(`no driver ${group}`);
  return new Set((driver.options as readonly OptionSpec[]).map((o) => o.name));
}

describe("glance_store 5.4's options", () => {
  it('come from a list that names its source tag and how it was made', () => {
    expect(upstream.source).toMatch(/^openstack\/glance_store 5\.4\.0 \(commit [0-9a-f]{40}\)$/);
    expect(upstream.generatedBy).toMatch(/extract\.py .* 5\.4\.0/);
    expect(Object.keys(upstream.groups).sort()).toEqual(['cinder', 'every store section', 'file', 'glance_store', 'http', 'rbd', 's3', 'swift', 'vmware']);
  });

  it('are each read here or listed as not supported, with a reason', () => {
    const missing: string[] = [];
    for (const [group, names] of Object.entries(upstream.groups)) {
      const have = ours(group);
      const listed = new Set(UNSUPPORTED_OPTIONS.filter((u) => u.group === group).map((u) => u.name));
      for (const name of names) if (!have.has(name) && !listed.has(name)) missing.push(`${group}: ${name}`);
    }
    expect(missing).toEqual([]);
    for (const u of UNSUPPORTED_OPTIONS) expect(u.reason.length, u.name).toBeGreaterThan(20);
  });

  it('listed as not supported are not read (an option ported leaves the list), and are glance_store options', () => {
    for (const u of UNSUPPORTED_OPTIONS) {
      expect(ours(u.group).has(u.name), `${u.name} is read and listed as not supported`).toBe(false);
      if (u.since === '5.4.0') expect(upstream.groups[u.group], u.name).toContain(u.name);
      else expect(u.since).toBe('master');
    }
  });

  it('not supported are in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    const at = doc.indexOf('## glance_store options not supported');
    expect(at).toBeGreaterThan(0);
    for (const u of UNSUPPORTED_OPTIONS) expect(doc.slice(at)).toContain(`| \`${u.name}\` | ${u.group} stores |`);
  });
});
