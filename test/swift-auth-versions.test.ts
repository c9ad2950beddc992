/**
 * Keystone v1/v2.0 auth for swift (removed in glance_store 5.0): configs
 * using them are still read (v1 is tempauth's and swauth's), and a store
 * authenticating with Keystone v2.0 is warned about once, at create, naming
 * the replacement. No backend is contacted: the warning comes from create.
 */
import { describe, it, expect } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';

function conf(version: string, user = 'service:glance'): string {
  return [
    '[DEFAULT]',
    'enabled_backends = objects:swift',
    '[glance_store]',
    'default_backend = objects',
    '[objects]',
    ...(version ? [`swift_store_auth_version = ${version}`] : []),
    'swift_store_auth_address = http://127.0.0.1:1/v2.0',
    `swift_store_user = ${user}`,
    'swift_store_key = k3y-n0t-sh0wn',
  ].join('\n');
}

async function warningsOf(text: string): Promise<string[]> {
  const warnings: string[] = [];
  const keep = () => {};
  const ms = await MultiStore.create(parseConfig(text), { logger: { debug: keep, info: keep, error: keep, warn: (o, msg) => void warnings.push(String(msg ?? o)) } });
  await ms.close();
  return warnings;
}

describe('swift Keystone v2.0 auth', () => {
  it('warns once at create, naming Keystone v3, for v2.0 set or left as the default', async () => {
    for (const version of ['2', '']) {
      const warnings = (await warningsOf(conf(version))).filter((w) => /v2\.0/.test(w));
      expect(warnings).toEqual(['[objects] account reference "ref1" authenticates with Keystone v2.0, which glance_store 5.0 no longer supports for swift: use auth_version 3 (Keystone v3; swift_store_auth_version = 3 for the swift_store_* account)']);
      expect(warnings.join('\n')).not.toContain('k3y-n0t-sh0wn');
    }
  });

  it('says nothing for tempauth (v1) or Keystone v3', async () => {
    expect((await warningsOf(conf('1', 'test:tester'))).filter((w) => /v2\.0/.test(w))).toEqual([]);
    expect((await warningsOf(conf('3'))).filter((w) => /v2\.0/.test(w))).toEqual([]);
  });

  it('names each v2.0 reference of a references file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gs-v2-'));
    try {
      const refs = path.join(dir, 'glance-swift.conf');
      const ref = (name: string, v: string) => `[${name}]\nauth_version = ${v}\nauth_address = http://127.0.0.1:1/v3\nuser = p:u\nkey = k\n`;
      await writeFile(refs, ref('ref1', '3') + ref('old', '2') + ref('tempauth', '1'));
      const text = `[DEFAULT]\nenabled_backends = objects:swift\n[glance_store]\ndefault_backend = objects\n[objects]\nswift_store_config_file = ${refs}\n`;
      expect((await warningsOf(text)).filter((w) => /v2\.0/.test(w))).toEqual([expect.stringMatching(/^\[objects\] account reference "old" authenticates with Keystone v2\.0/)]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
