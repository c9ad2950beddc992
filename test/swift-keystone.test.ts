/**
 * The swift store against Swift behind a real Keystone v3 (test/services/keystone.sh):
 * password auth with the service catalog, region and interface choice, and
 * multi-tenant stores working with users' own tokens.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { MultiStore, parseConfig, type RequestContext } from '../src/index.js';
import { runStoreConformance, readAll } from '../src/testing/index.js';
import { serviceEnv } from './services/env.js';
import { swiftStoreConf, withCopiesStore } from './services/swift-api.js';
import { referenceAvailable, roundTripWithReference } from './interop/reference.js';

const ks = serviceEnv('keystone');
const MB = 1000 * 1024;

interface UserToken {
  token: string;
  projectId: string;
  catalog: unknown[];
}

/** A project-scoped v3 token, as Glance's request context would carry it. */
async function userToken(user: string, password: string, project: string): Promise<UserToken> {
  const r = await fetch(`${ks!['KEYSTONE_AUTH_URL']}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, password, domain: { id: 'default' } } } },
        scope: { project: { name: project, domain: { id: 'default' } } },
      },
    }),
  });
  if (r.status !== 201) throw new Error(`keystone token for ${user}: HTTP ${r.status}`);
  const body = (await r.json()) as { token: { project: { id: string }; catalog: unknown[] } };
  return { token: r.headers.get('x-subject-token')!, projectId: body.token.project.id, catalog: body.token.catalog };
}

const glanceUser = () => userToken(ks!['KEYSTONE_USER']!, ks!['KEYSTONE_PASSWORD']!, ks!['KEYSTONE_PROJECT']!);
const tenant2User = () => userToken(ks!['KEYSTONE_TENANT2_USER']!, ks!['KEYSTONE_TENANT2_PASSWORD']!, ks!['KEYSTONE_TENANT2_PROJECT']!);
const context = (u: UserToken): RequestContext => ({ authToken: u.token, projectId: u.projectId, serviceCatalog: u.catalog });

/** Names in a container of the glance-test account, [] when it does not exist. */
async function listing(container: string, storageUrl = ks!['SWIFT_KS_ENDPOINT']!): Promise<string[]> {
  const { token } = await glanceUser();
  const r = await fetch(`${storageUrl}/${container}?format=json`, { headers: { 'X-Auth-Token': token } });
  if (r.status === 404) return [];
  if (r.status === 204) return [];
  if (!r.ok) throw new Error(`listing ${container}: HTTP ${r.status}`);
  return ((await r.json()) as { name: string }[]).map((o) => o.name);
}

function keystoneConf(container: string, extra = ''): string {
  const auth = [
    'swift_store_auth_version = 3',
    `swift_store_auth_address = ${ks!['KEYSTONE_AUTH_URL']}`,
    `swift_store_user = ${ks!['KEYSTONE_PROJECT']}:${ks!['KEYSTONE_USER']}`,
    `swift_store_key = ${ks!['KEYSTONE_PASSWORD']}`,
    `swift_store_region = ${ks!['KEYSTONE_REGION']}`,
  ];
  return swiftStoreConf(auth, container, extra);
}

if (ks) {
  const container = `glance-${randomUUID().slice(0, 8)}`;
  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    {
      name: 'swift (Keystone v3, endpoint from the catalog)',
      // Swift checks If-None-Match when an upload starts: adds of one id at once are not serialised (docs/swift.md).
      concurrentAdds: 'unserialised',
      storeId: 'objects',
      secondStoreId: 'copies',
      create: (opts) => MultiStore.create(parseConfig(withCopiesStore(keystoneConf(container), `${container}-copies`)), opts),
      listStored: async () => [...(await listing(container)), ...(await listing(`${container}-copies`)).map((n) => `copies/${n}`)],
      largeImageBytes: 9 * 1024 * 1024 + 7,
      timeout: 120_000,
    },
  );

  describe('swift store on Keystone v3', () => {
    const c = `glance-${randomUUID().slice(0, 8)}`;

    it('picks the endpoint by region and interface, and says why when it cannot', async () => {
      const internal = await MultiStore.create(parseConfig(keystoneConf(c, 'swift_store_endpoint_type = internalURL')));
      const r = await internal.add(randomUUID(), randomBytes(1234));
      expect(await internal.getSize(r.location)).toBe(1234);
      await internal.delete(r.location);
      await internal.close();

      // Two regions hold a public object-store endpoint: without a region the choice is ambiguous.
      const anyRegion = await MultiStore.create(parseConfig(keystoneConf(c).replace(/swift_store_region = .*\n/, '')));
      await expect(anyRegion.add(randomUUID(), randomBytes(10))).rejects.toThrow(/several object-store publicURL endpoints; set swift_store_region/);
      await anyRegion.close();

      // RegionTwo's endpoint does not answer.
      const regionTwo = await MultiStore.create(parseConfig(keystoneConf(c).replace(/swift_store_region = .*/, 'swift_store_region = RegionTwo')));
      await expect(regionTwo.add(randomUUID(), randomBytes(10))).rejects.toMatchObject({ code: 'BackendUnavailable' });
      await regionTwo.close();
    });

    it('refuses a wrong password with AuthenticationFailed, without showing it', async () => {
      const wrong = await MultiStore.create(parseConfig(keystoneConf(c).replace(/swift_store_key = .*/, 'swift_store_key = not-the-password')));
      const err = (await wrong.add(randomUUID(), randomBytes(10)).catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ code: 'AuthenticationFailed' });
      expect(err.message).not.toContain('not-the-password');
      await wrong.close();
    });
  });

  describe('multi-tenant swift store', () => {
    let ms: MultiStore;
    const multiTenantConf = (extra = '') =>
      [
        '[DEFAULT]',
        'enabled_backends = tenants:swift',
        '[glance_store]',
        'default_backend = tenants',
        '[tenants]',
        'swift_store_multi_tenant = true',
        `swift_store_auth_address = ${ks!['KEYSTONE_AUTH_URL']}`,
        `swift_store_region = ${ks!['KEYSTONE_REGION']}`,
        'swift_store_create_container_on_put = true',
        'swift_store_large_object_size = 5',
        'swift_store_large_object_chunk_size = 2',
        extra,
      ].join('\n');
    beforeAll(async () => {
      ms = await MultiStore.create(parseConfig(multiTenantConf()));
    });
    afterAll(() => ms?.close());

    it("stores each image in a container of its own in the user's account, and deletes both", async () => {
      const user = await glanceUser();
      for (const size of [1000, 5 * MB + 3]) {
        const id = randomUUID();
        const bytes = randomBytes(size);
        const r = await ms.add(id, bytes, { context: context(user) });
        expect(r.location).toBe(`${ks!['SWIFT_KS_ENDPOINT']!.replace('http://', 'swift+http://')}/glance_${id}/${id}`);
        expect((await readAll((await ms.get(r.location, { context: context(user) })).stream)).equals(bytes)).toBe(true);
        expect((await listing(`glance_${id}`)).length).toBe(size > 5 * MB ? 4 : 1);
        await ms.delete(r.location, { context: context(user) });
        expect(await listing(`glance_${id}`)).toEqual([]);
        const head = await fetch(`${ks!['SWIFT_KS_ENDPOINT']}/glance_${id}`, { method: 'HEAD', headers: { 'X-Auth-Token': user.token } });
        expect(head.status).toBe(404);
      }
    });

    it("gives other projects access only through set_acls", async () => {
      const owner = await glanceUser();
      const other = await tenant2User();
      const bytes = randomBytes(4096);
      const r = await ms.add(randomUUID(), bytes, { context: context(owner) });
      await expect(ms.get(r.location, { context: context(other) })).rejects.toMatchObject({ code: 'Forbidden' });
      await ms.setAcls(r.location, { readTenants: [other.projectId] }, { context: context(owner) });
      expect((await readAll((await ms.get(r.location, { context: context(other) })).stream)).equals(bytes)).toBe(true);
      // Read access is not write access.
      await expect(ms.delete(r.location, { context: context(other) })).rejects.toMatchObject({ code: 'Forbidden' });
      await ms.setAcls(r.location, {}, { context: context(owner) });
      await expect(ms.get(r.location, { context: context(other) })).rejects.toMatchObject({ code: 'Forbidden' });
      await ms.delete(r.location, { context: context(owner) });
    });

    it('gives swift_store_admin_tenants write access to every image container', async () => {
      const owner = await glanceUser();
      const admin = await tenant2User();
      const withAdmins = await MultiStore.create(parseConfig(multiTenantConf(`swift_store_admin_tenants = ${admin.projectId}`)));
      const r = await withAdmins.add(randomUUID(), randomBytes(100), { context: context(owner) });
      const container = r.location.split('/').at(-2)!;
      const put = (token: string) =>
        fetch(`${ks!['SWIFT_KS_ENDPOINT']}/${container}/note`, { method: 'PUT', body: 'x', headers: { 'X-Auth-Token': token } }).then((res) => res.status);
      expect(await put(admin.token)).toBe(403);
      await withAdmins.setAcls(r.location, {}, { context: context(owner) });
      expect(await put(admin.token)).toBe(201);
      await fetch(`${ks!['SWIFT_KS_ENDPOINT']}/${container}/note`, { method: 'DELETE', headers: { 'X-Auth-Token': owner.token } });
      await withAdmins.delete(r.location, { context: context(owner) });
      await withAdmins.close();
    });

    it("finds the user's account with Keystone token auth when the context has no catalog", async () => {
      const user = await glanceUser();
      const r = await ms.add(randomUUID(), randomBytes(100), { context: { authToken: user.token, projectId: user.projectId } });
      expect(r.location.startsWith(ks!['SWIFT_KS_ENDPOINT']!.replace('http://', 'swift+http://'))).toBe(true);
      await ms.delete(r.location, { context: context(user) });
    });

    it('leaves no container behind when a multi-tenant add fails', async () => {
      const user = await glanceUser();
      const id = randomUUID();
      await expect(ms.add(id, randomBytes(1000), { size: 2000, context: context(user) })).rejects.toMatchObject({ code: 'SizeMismatch' });
      await expect(ms.add(id, randomBytes(6 * MB), { size: 6 * MB + 1, context: context(user) })).rejects.toMatchObject({ code: 'SizeMismatch' });
      const head = await fetch(`${ks!['SWIFT_KS_ENDPOINT']}/glance_${id}`, { method: 'HEAD', headers: { 'X-Auth-Token': user.token } });
      expect(head.status).toBe(404);
    });

    it('needs a request context', async () => {
      await expect(ms.add(randomUUID(), randomBytes(10))).rejects.toThrow(/multi-tenant swift store needs a request context/);
      const expired = { authToken: 'gAAAA-not-a-token', projectId: 'x', serviceCatalog: (await glanceUser()).catalog };
      await expect(ms.add(randomUUID(), randomBytes(10), { context: expired })).rejects.toMatchObject({ code: 'AuthenticationFailed' });
    });
  });
}

const pythonKs = ks && (await referenceAvailable());
describe.skipIf(!pythonKs)('swift on Keystone: interoperability with Python glance_store', () => {
  it('reads and deletes what glance_store writes through Keystone, and back', async () => {
    const c = `glance-${randomUUID().slice(0, 8)}`;
    const conf = keystoneConf(c).replace('swift_store_large_object_size = 5', 'swift_store_large_object_size = 3').replace('swift_store_large_object_chunk_size = 2', 'swift_store_large_object_chunk_size = 1');
    await roundTripWithReference({ conf, storeId: 'objects', sizes: [50_000, 3 * MB + 5] });
    expect(await listing(c)).toEqual([]);
  });
});
