import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readOptions, suggest, maskSecrets, type OptionSpec } from '../src/config/options.js';

const script = fileURLToPath(new URL('./fixtures/config/oslo_types.py', import.meta.url));
const available = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import oslo_config'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const SPECS: Record<string, OptionSpec> = {
  bool: { name: 'o', type: 'bool', help: '' },
  int: { name: 'o', type: 'int', help: '' },
  int0to10: { name: 'o', type: 'int', min: 0, max: 10, help: '' },
  float: { name: 'o', type: 'float', help: '' },
  list: { name: 'o', type: 'list', help: '' },
  dict: { name: 'o', type: 'dict', help: '' },
  port: { name: 'o', type: 'port', help: '' },
};

const CASES: Array<[string, string]> = [
  ['bool', 'true'], ['bool', 'TRUE'], ['bool', 'Yes'], ['bool', 'on'], ['bool', '1'], ['bool', 'false'], ['bool', 'No'], ['bool', 'OFF'], ['bool', '0'], ['bool', 'maybe'],
  ['int', '42'], ['int', ' 7 '], ['int', '-3'], ['int', '+5'], ['int', '4.5'], ['int', 'ten'],
  ['int0to10', '10'], ['int0to10', '11'], ['int0to10', '-1'],
  ['float', '1.5'], ['float', '3'], ['float', 'x'],
  ['list', 'a,b, c'], ['list', 'single'],
  ['dict', 'fast:rbd, shared:file'], ['dict', 'a:1'], ['dict', 'http:http://proxy:3128'], ['dict', 'novalue'],
  ['port', '8080'], ['port', '70000'], ['port', '-1'],
];

describe.skipIf(!available)('option values are converted as oslo.config converts them', () => {
  const oslo = available
    ? (JSON.parse(execFileSync('/usr/bin/python3', [script], { input: JSON.stringify(CASES), encoding: 'utf8' })) as Array<{ ok?: unknown; error?: string }>)
    : [];
  CASES.forEach(([kind, value], i) => {
    it(`${kind} ${JSON.stringify(value)}`, () => {
      const r = readOptions([SPECS[kind]!], { o: value }, 'sec');
      const expected = oslo[i]!;
      if ('error' in expected) expect(r.problems, `oslo refuses it: ${expected.error}`).toHaveLength(1);
      else {
        expect(r.problems).toEqual([]);
        expect(r.values['o']).toEqual(expected.ok);
      }
    });
  });
});

describe('readOptions', () => {
  const schema: OptionSpec[] = [
    { name: 'pool', type: 'string', default: 'images', help: '' },
    { name: 'secret_key', type: 'string', secret: true, help: '' },
    { name: 'chunk', type: 'int', default: 8, min: 1, help: '' },
    { name: 'dirs', type: 'multistring', help: '' },
    { name: 'mode', type: 'string', choices: ['auto', 'path'], default: 'auto', help: '' },
    { name: 'new_name', type: 'string', deprecatedNames: ['old_name'], help: '' },
  ];

  it('applies defaults, keeps repeats for multi-valued options and the last for others', () => {
    const r = readOptions(schema, { pool: ['a', 'b'], dirs: ['/x', '/y'] }, 's');
    expect(r.values).toMatchObject({ pool: 'b', dirs: ['/x', '/y'], chunk: 8, mode: 'auto' });
  });

  it('collects every problem and never shows a secret value', () => {
    const r = readOptions(schema, { chunk: '0', mode: 'virtual-ish', secret_key: ['ok', 'hunter2'] }, 's');
    expect(r.problems).toHaveLength(2);
    expect(r.problems.join('\n')).toMatch(/chunk.*at least 1/);
    expect(r.problems.join('\n')).toMatch(/mode.*one of auto, path/);
    const bad = readOptions([{ name: 'k', type: 'int', secret: true, help: '' }], { k: 'hunter2' }, 's');
    expect(bad.problems[0]).not.toContain('hunter2');
    expect(maskSecrets(schema, { secret_key: 'hunter2', pool: 'p' })).toEqual({ secret_key: '***', pool: 'p' });
  });

  it('reads deprecated names and suggests names for typos', () => {
    const r = readOptions(schema, { old_name: 'v', chnk: '3' }, 's');
    expect(r.values['new_name']).toBe('v');
    expect(r.deprecated).toEqual([{ name: 'old_name', use: 'new_name' }]);
    expect(r.unknown).toEqual([{ name: 'chnk', suggestion: 'chunk' }]);
    expect(suggest('rbd_store_pol', ['rbd_store_pool', 'rbd_store_user'])).toBe('rbd_store_pool');
    expect(suggest('completely_else', ['rbd_store_pool'])).toBeUndefined();
  });
});
