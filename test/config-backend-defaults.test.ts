/**
 * [backend_defaults] (glance_store 5.0): the fallback of every store's
 * driver options. These tests read configs through the library alone; the
 * same precedence is compared with oslo.config itself in
 * test/config-oslo.test.ts (cases "backend_defaults ...").
 */
import { describe, it, expect } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig, BadStoreConfigurationError } from '../src/index.js';
import { readConfig } from '../src/config/stores.js';
import { driverRegistry } from '../src/drivers/index.js';
import { configurationReference } from '../src/config/reference.js';
import { BUILTIN_DRIVERS } from '../src/drivers/index.js';

const registry = driverRegistry([]);

function read(text: string) {
  return readConfig(parseConfig(text), registry);
}

function store(reading: ReturnType<typeof read>, id: string) {
  const s = reading.stores.find((x) => x.id === id);
  if (!s) throw new Error(`no store ${id}`);
  return s.options;
}

const HEAD = '[DEFAULT]\nenabled_backends = fast:rbd, cheap:rbd, shared:file\n[glance_store]\ndefault_backend = fast\n[shared]\nfilesystem_store_datadir = /srv/images\n';

describe('[backend_defaults]', () => {
  it('gives every store what its own section leaves unset, and the default after that', () => {
    const r = read(`${HEAD}[backend_defaults]\nrbd_store_user = glance\nrbd_store_chunk_size = 16\n[fast]\nrbd_store_pool = fast-images\n[cheap]\nrbd_store_pool = cheap-images\nrbd_store_chunk_size = 4\n`);
    expect(r.problems).toEqual([]);
    expect(store(r, 'fast')).toMatchObject({ rbd_store_user: 'glance', rbd_store_chunk_size: 16, rbd_store_pool: 'fast-images', rbd_store_ceph_conf: '/etc/ceph/ceph.conf' });
    expect(store(r, 'cheap')).toMatchObject({ rbd_store_user: 'glance', rbd_store_chunk_size: 4, rbd_store_pool: 'cheap-images' });
  });

  it("keeps a store's own false, 0, empty string and empty list over the shared value", () => {
    const r = read(
      `${HEAD}[backend_defaults]\nrbd_thin_provisioning = true\nrbd_store_user = glance\nfilesystem_store_file_perm = 640\nfilesystem_thin_provisioning = yes\n` +
        '[fast]\nrbd_thin_provisioning = false\nrbd_store_user =\n[shared]\nfilesystem_store_file_perm = 0\nfilesystem_thin_provisioning = no\n',
    );
    expect(r.problems).toEqual([]);
    expect(store(r, 'fast')).toMatchObject({ rbd_thin_provisioning: false, rbd_store_user: '' });
    expect(store(r, 'cheap')).toMatchObject({ rbd_thin_provisioning: true, rbd_store_user: 'glance' });
    expect(store(r, 'shared')).toMatchObject({ filesystem_store_file_perm: 0, filesystem_thin_provisioning: false });
    const lists = readConfig(
      parseConfig(
        '[DEFAULT]\nenabled_backends = a:swift, b:swift\n[glance_store]\ndefault_backend = a\n' +
          '[backend_defaults]\nswift_store_admin_tenants = admin, service\nswift_store_auth_version = 1\nswift_store_auth_address = http://127.0.0.1:8080/auth/v1.0\nswift_store_user = test:tester\nswift_store_key = testing\n' +
          '[a]\nswift_store_admin_tenants =\n[b]\n',
      ),
      registry,
    );
    expect(lists.problems).toEqual([]);
    expect(store(lists, 'a')['swift_store_admin_tenants']).toEqual([]);
    expect(store(lists, 'b')['swift_store_admin_tenants']).toEqual(['admin', 'service']);
  });

  it('lets an empty number in a store section fall back, as glance_store 5 reads None', () => {
    const r = read(`${HEAD}[backend_defaults]\nrbd_store_chunk_size = 32\n[fast]\nrbd_store_chunk_size =\n`);
    expect(r.problems).toEqual([]);
    expect(store(r, 'fast')['rbd_store_chunk_size']).toBe(32);
  });

  it('names [backend_defaults] in the error for a bad value there, once, even though two stores inherit it', () => {
    const r = read(`${HEAD}[backend_defaults]\nrbd_store_chunk_size = many\n`);
    expect(r.problems.map((p) => p.message)).toEqual(['[backend_defaults] rbd_store_chunk_size = "many": expected an integer']);
    expect(r.problems[0]!.group).toBe('backend_defaults');
  });

  it('names [backend_defaults] and the store for a driver rule broken by an inherited value, and the store for its own', () => {
    const r = read(`${HEAD}[backend_defaults]\nrbd_store_chunk_size = 3\n[cheap]\nrbd_store_chunk_size = 5\n`);
    expect(r.problems.map((p) => p.message).sort()).toEqual([
      '[backend_defaults] rbd_store_chunk_size = 3: must be a power of two (MiB) (read by store "fast")',
      '[cheap] rbd_store_chunk_size = 5: must be a power of two (MiB)',
    ]);
  });

  it('refuses an unknown option with a did-you-mean, and the per-store options; warns of a driver no store uses', () => {
    const r = read(`${HEAD}[backend_defaults]\nrbd_store_pol = images\nweight = 3\nswift_store_container = images\n`);
    expect(r.problems.map((p) => p.message)).toEqual([
      'Unknown option "rbd_store_pol" in [backend_defaults] (the defaults of every store): did you mean "rbd_store_pool"?',
      `Option "weight" cannot be set in [backend_defaults]: it is set in each store's own section`,
    ]);
    expect(r.problems.every((p) => p.kind === 'unknown-option')).toBe(true);
    expect(r.warnings).toContain('Option "swift_store_container" in [backend_defaults] has no effect: no swift store is enabled');
  });

  it('never shows a secret value from [backend_defaults] in an error', () => {
    const r = read(
      '[DEFAULT]\nenabled_backends = a:swift\n[glance_store]\ndefault_backend = a\n[backend_defaults]\nswift_store_auth_version = 3\nswift_store_auth_address = http://127.0.0.1:5000/v3\nswift_store_user = no-project-S3CRETUSER\nswift_store_key = S3CRETKEY\n',
    );
    const text = r.problems.map((p) => p.message).join('\n');
    expect(text).toContain('[backend_defaults] swift_store_user (value hidden)');
    expect(text).not.toMatch(/S3CRET/);
  });

  it('refuses a store id that would read [backend_defaults]', () => {
    const r = read('[DEFAULT]\nenabled_backends = s:file, Backend_Defaults:file\n[glance_store]\ndefault_backend = s\n[s]\nfilesystem_store_datadir = /srv/s\n');
    expect(r.problems.map((p) => p.kind)).toEqual(['store-id']);
  });

  it('reaches the driver: a file store created with only a shared datadir writes there', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gs-shared-'));
    try {
      const ms = await MultiStore.create(parseConfig(`[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[backend_defaults]\nfilesystem_store_datadir = ${dir}\n[a]\n`));
      const r = await ms.add('3d5d6fa1-7a0c-4d8b-9c1e-2f3a4b5c6d7e', Buffer.from('shared'));
      expect(r.location).toBe(`file://${dir}/3d5d6fa1-7a0c-4d8b-9c1e-2f3a4b5c6d7e`);
      await ms.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('MultiStore.create refuses a bad shared value before any store starts', async () => {
    await expect(MultiStore.create(parseConfig(`${HEAD}[backend_defaults]\nrbd_store_chunk_size = many\n`))).rejects.toBeInstanceOf(BadStoreConfigurationError);
  });

  it('is explained in the configuration reference', () => {
    const md = configurationReference(BUILTIN_DRIVERS);
    expect(md).toContain('## [backend_defaults]');
    expect(md).toMatch(/\[backend_defaults\]\nrbd_store_user = glance/);
  });
});
