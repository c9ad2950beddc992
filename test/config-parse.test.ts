import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseConfig, ConfigParseError } from '../src/index.js';

// Differential test: every fixture is parsed by oslo.config itself (through
// Debian's python3-oslo.config) and by parseConfig; both must agree, on the
// values and on refusing malformed files.
const dir = fileURLToPath(new URL('./fixtures/config/', import.meta.url));
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.conf')).sort();

function osloAvailable(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import oslo_config'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const available = osloAvailable();
if (!available && process.env['GLANCE_STORE_REQUIRE_SERVICES']) throw new Error('python3-oslo.config is required for the differential config tests');

type OsloResult = { sections: Record<string, Record<string, string[]>> } | { error: string };

describe.skipIf(!available)('parseConfig agrees with oslo.config', () => {
  const oslo = available
    ? (JSON.parse(execFileSync('/usr/bin/python3', [path.join(dir, 'oslo_dump.py'), ...fixtures.map((f) => path.join(dir, f))], { encoding: 'utf8' })) as Record<string, OsloResult>)
    : {};

  it('has at least 25 fixtures, malformed ones among them', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(25);
    expect(Object.values(oslo).filter((r) => 'error' in r).length).toBeGreaterThanOrEqual(5);
  });

  for (const f of fixtures) {
    it(f, () => {
      const expected = oslo[path.join(dir, f)]!;
      const text = readFileSync(path.join(dir, f), 'utf8');
      if ('error' in expected) {
        expect(() => parseConfig(text), `oslo refuses it: ${expected.error}`).toThrow(ConfigParseError);
        return;
      }
      const ours = parseConfig(text);
      // oslo keeps every value as a list; parseConfig keeps a single value as a string.
      const asLists = Object.fromEntries(
        Object.entries(ours).map(([s, opts]) => [s, Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]))]),
      );
      expect(asLists).toEqual(expected.sections);
    });
  }
});

describe('parseConfig errors', () => {
  it('names the line and the reason', () => {
    const err = (() => {
      try {
        parseConfig('[DEFAULT]\nok = 1\nbroken line\n');
      } catch (e) {
        return e as ConfigParseError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigParseError);
    expect(err!.line).toBe(3);
    expect(err!.code).toBe('BadStoreConfiguration');
    expect(err!.message).toMatch(/line 3.*no ':' or '='/);
  });
});
