import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig, mergeConfigs, ConfigParseError, type ParsedConfig } from '../src/config/parse.js';
import { FIXTURES, osloAvailable, runOslo } from './fixtures/config/oslo.js';

// Differential test: every fixture is read by oslo.config itself (Debian's
// python3-oslo.config, through test/fixtures/config/oslo_dump.py) and by
// parseConfig; both must give the same sections, keys and values (as a
// MultiStrOpt sees them and as a single-valued option sees them), and refuse
// the same files at the same line.
const dir = FIXTURES;
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.conf')).sort();
const available = osloAvailable('oslo.config differential parse tests');

type OsloValue = { multi: string[]; single: string };
type OsloResult = { sections: Record<string, Record<string, OsloValue>> } | { error: string; line: number | null };

/** Files read together (as several --config-file options), later ones winning. */
const MERGES = [
  ['01-seed.conf', '47-glance-api-sample.conf'],
  ['11-dup-sections.conf', '12-repeated-keys.conf', '11-dup-sections.conf'],
  ['13-case.conf', '48-default-repeated.conf', '17-default-lowercase.conf'],
];

function readAllWithOslo(): Record<string, OsloResult> {
  const files = [...fixtures, ...MERGES.map((m) => m.join('+'))].map((f) => f.split('+').map((p) => path.join(dir, p)).join('+'));
  return runOslo<Record<string, OsloResult>>('oslo_dump.py', files);
}

describe.skipIf(!available)('parseConfig agrees with oslo.config', () => {
  const oslo = available ? readAllWithOslo() : {};

  it('has at least 25 fixtures, malformed ones among them', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(25);
    expect(Object.values(oslo).filter((r) => 'error' in r).length).toBeGreaterThanOrEqual(8);
  });

  for (const f of fixtures) {
    it(f, () => {
      const expected = oslo[path.join(dir, f)]!;
      const text = readFileSync(path.join(dir, f), 'utf8');
      if ('error' in expected) {
        let err: unknown;
        try {
          parseConfig(text);
        } catch (e) {
          err = e;
        }
        expect(err, `oslo refuses it: ${expected.error}`).toBeInstanceOf(ConfigParseError);
        const e = err as ConfigParseError;
        expect(e.code).toBe('BadStoreConfiguration');
        // oslo notices a key before any section only when the key's value ends
        // (the next line); parseConfig names the key's own line.
        if (/Section must be started/.test(expected.error)) expect(e.line).toBeLessThanOrEqual(expected.line!);
        else expect(e.line).toBe(expected.line);
        return;
      }
      sameAsOslo(parseConfig(text), expected.sections);
    });
  }

  for (const m of MERGES) {
    it(`read together: ${m.join(' + ')}`, () => {
      const expected = oslo[m.map((f) => path.join(dir, f)).join('+')]!;
      if ('error' in expected) throw new Error(expected.error);
      sameAsOslo(mergeConfigs(...m.map((f) => parseConfig(readFileSync(path.join(dir, f), 'utf8')))), expected.sections);
    });
  }
});

function sameAsOslo(ours: ParsedConfig, expected: Record<string, Record<string, OsloValue>>): void {
  expect(Object.keys(ours).sort()).toEqual(Object.keys(expected).sort());
  for (const [section, keys] of Object.entries(expected)) {
    const got = ours[section]!;
    expect(Object.keys(got).sort(), `keys of [${section}]`).toEqual(Object.keys(keys).sort());
    for (const [key, { multi, single }] of Object.entries(keys)) {
      const v = got[key]!;
      // A repeated key is an array of every value, a single one a string.
      expect(Array.isArray(v) ? v : [v], `[${section}] ${key} as a multi-valued option`).toEqual(multi);
      expect(Array.isArray(v) ? v[v.length - 1] : v, `[${section}] ${key} as a single-valued option`).toBe(single);
      if (multi.length === 1) expect(typeof v).toBe('string');
    }
  }
}

describe('parseConfig', () => {
  const fail = (text: string | Uint8Array): ConfigParseError => {
    try {
      parseConfig(text);
    } catch (e) {
      return e as ConfigParseError;
    }
    throw new Error('expected a ConfigParseError');
  };

  it('names the line and the reason, but never quotes a line that may be a secret', () => {
    const err = fail('[DEFAULT]\nok = 1\nhunter2-password\n');
    expect(err).toBeInstanceOf(ConfigParseError);
    expect(err).toBeInstanceOf(Error);
    expect(err.line).toBe(3);
    expect(err.code).toBe('BadStoreConfiguration');
    expect(err.message).toBe("Config parse error at line 3: No ':' or '=' found in assignment");
    for (const text of ['[s]\nk = v\n\n  hunter2-password\n', '[s]\n= hunter2-password\n']) {
      const e = fail(text);
      expect(JSON.stringify({ ...e, message: e.message })).not.toContain('hunter2');
    }
    expect(fail('[DEFAULT] # note\n').message).toMatch(/Invalid section.*"\[DEFAULT\] # note"/);
  });

  it('refuses bytes that are not UTF-8, naming the line and offset', () => {
    const err = fail(Buffer.concat([Buffer.from('[s]\nk = v\npassword = caf'), Buffer.from([0xe9, 0x0a])]));
    expect(err.line).toBe(3);
    expect(err.message).toBe('Config parse error at line 3: The file is not valid UTF-8 (byte 0xe9 at offset 24)');
    expect(parseConfig(Buffer.from('[s]\nk = caf\u00e9\n'))).toEqual({ s: { k: 'caf\u00e9' } });
    // A lone surrogate cannot come from any UTF-8 file.
    expect(fail('[s]\nk = \ud800\n').line).toBe(2);
  });

  it('reports a key before any section at its own line', () => {
    expect(fail('\n\nkey = v\n[DEFAULT]\n').line).toBe(3);
  });

  it('keeps keys such as __proto__ and constructor as plain data', () => {
    const c = parseConfig('[DEFAULT]\n__proto__ = x\n[constructor]\ntoString = y\n');
    expect(c['DEFAULT']!['__proto__']).toBe('x');
    expect(c['constructor']!['toString']).toBe('y');
    expect(c['hasOwnProperty']).toBeUndefined();
    expect(Object.keys(c)).toEqual(['DEFAULT', 'constructor']);
  });

  it('reads the seed example', () => {
    const seed = readFileSync(path.join(dir, '01-seed.conf'), 'utf8');
    expect(parseConfig(seed)).toEqual({
      DEFAULT: { enabled_backends: 'fast:rbd, cheap:rbd, shared:file, reliable:file' },
      glance_store: { default_backend: 'fast' },
      fast: { store_description: 'Fast rbd backend', rbd_store_pool: 'images' },
      cheap: { store_description: 'Cheap rbd backend' },
      shared: { filesystem_store_datadir: '/var/lib/glance/images' },
      reliable: { filesystem_store_datadirs: ['/mnt/a:100', '/mnt/b:200'] },
    });
  });

  it('merges files in order and leaves its inputs alone', () => {
    const a = parseConfig('[s]\nk = 1\nm = x\n');
    const b = parseConfig('[S]\nk = 2\n[t]\nn = y\n');
    expect(mergeConfigs(a, b)).toEqual({ s: { k: ['1', '2'], m: 'x' }, t: { n: 'y' } });
    expect(a).toEqual({ s: { k: '1', m: 'x' } });
    expect(mergeConfigs()).toEqual({});
  });

  it('rejects what is not text', () => {
    expect(() => parseConfig(undefined as unknown as string)).toThrow(TypeError);
  });
});
