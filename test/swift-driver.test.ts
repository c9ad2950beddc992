import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, maskLocation, parseConfig } from '../src/index.js';
import { formatSwiftLocation, parseSwiftLocation, pyQuote } from '../src/drivers/swift/location.js';
import { selectEndpoint } from '../src/drivers/swift/auth.js';
import { containerName } from '../src/drivers/swift/tenancy.js';
import { parseReferencesText } from '../src/drivers/swift/references.js';
import { SwiftConnection } from '../src/drivers/swift/connection.js';
import { ServiceClient } from '../src/net/client.js';
import { passwordAuthenticator } from '../src/drivers/swift/auth.js';
import { runStoreConformance, readAll } from '../src/testing/index.js';
import { serviceEnv } from './services/env.js';
import { swiftContainerListing, swiftLogin, swiftRequest, swiftStoreConf, withCopiesStore, type SwiftAccount } from './services/swift-api.js';
import { reference, referenceAvailable, roundTripWithReference } from './interop/reference.js';
import { selfSignedCertificate } from './tls.js';

const swift = serviceEnv('swift');
const account: SwiftAccount | undefined = swift && { authUrl: swift['SWIFT_AUTH_URL']!, user: swift['SWIFT_USER']!, key: swift['SWIFT_KEY']! };
const MB = 1000 * 1024; // glance_store's MB

/** The host and port an http(s) URL names. */
function hostAndPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/** `url` with its host and port replaced by the fault proxy's. */
function viaProxy(url: string, proxy: { host: string; port: number }): string {
  const u = new URL(url);
  return `${u.protocol}//${proxy.host}:${proxy.port}${u.pathname}`;
}

function newContainer(): string {
  return `glance-${randomUUID().slice(0, 8)}`;
}

/** A single-tenant store on tempauth, with inline credentials (no references file). */
function tempauthConf(container: string, extra = ''): string {
  const auth = ['swift_store_auth_version = 1', `swift_store_auth_address = ${swift!['SWIFT_AUTH_URL']}`, `swift_store_user = ${swift!['SWIFT_USER']}`, `swift_store_key = ${swift!['SWIFT_KEY']}`];
  return swiftStoreConf(auth, container, extra);
}

describe('swift locations', () => {
  it('are written as glance_store writes them, credentials quoted as Python quotes them', () => {
    const loc = { scheme: 'swift+http' as const, user: 'test:tester', key: "k/e y!'", authOrStoreUrl: 'http://127.0.0.1:8080/auth/v1.0/', container: 'glance', obj: 'abc' };
    expect(formatSwiftLocation(loc)).toBe("swift+http://test%3Atester:k/e%20y%21%27@127.0.0.1:8080/auth/v1.0/glance/abc");
    expect(pyQuote('a:b/c~d_e.f-g')).toBe('a%3Ab/c~d_e.f-g');
  });

  it('are parsed as glance_store parses them, and refused with the reason when malformed', () => {
    expect(parseSwiftLocation('swift+https://acct%3Auser:p%40ss@auth.example.com/v3/glance/img')).toMatchObject({
      scheme: 'swift+https',
      user: 'acct:user',
      key: 'p@ss',
      authOrStoreUrl: 'auth.example.com/v3',
      container: 'glance',
      obj: 'img',
    });
    // Old unquoted account:user:key.
    expect(parseSwiftLocation('swift://account:user:pass@authurl.com/container/obj-id')).toMatchObject({ user: 'account:user', key: 'pass', authOrStoreUrl: 'authurl.com' });
    const multiTenant = parseSwiftLocation('swift+http://example.com/v1/AUTH_p/glance_x/x');
    expect(multiTenant).toMatchObject({ authOrStoreUrl: 'example.com/v1/AUTH_p', container: 'glance_x' });
    expect(multiTenant.user).toBeUndefined();
    expect(() => parseSwiftLocation('swift://user:pass@http://authurl.com/v1/container/obj')).toThrow(/more than one scheme/);
    expect(() => parseSwiftLocation('swift://host/onlyone')).toThrow(/container\/object/);
    expect(() => parseSwiftLocation('swift+config://nosuchref/c/o', new Map())).toThrow(/reference "nosuchref"/);
    const err = (() => {
      try {
        parseSwiftLocation('swift://u:TOPSECRET@@host/c/o');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toMatchObject({ code: 'BadStoreUri' });
    expect(err!.message).not.toContain('TOPSECRET');
  });

  it('name seeded containers as glance_store does', () => {
    expect(containerName('glance', '3A1B0000-0000-4000-8000-000000000000', 3)).toBe('glance_3a1');
    expect(containerName('glance', 'fdae39a1-bac5-4238-aba4-69bcc726e848', 10)).toBe('glance_fdae39a1-ba');
    expect(containerName('glance', 'fdae39a1-bac5-4238-aba4-69bcc726e848', 0)).toBe('glance');
  });

  it('read account references as glance_store does (quotes removed, domains defaulted, incomplete ones skipped)', () => {
    const { references, skipped } = parseReferencesText(
      `[ref1]\nuser = "tenant:user1"\nkey = 'key1'\nauth_address = http://localhost:5000/v3\nauth_version = 3\n[ref2]\nuser: u\nkey: k\nauth_address: https://a/v1.0\n[broken]\nuser = x\n`,
      '2',
    );
    expect(references.get('ref1')).toMatchObject({ user: 'tenant:user1', key: 'key1', authVersion: '3', userDomainId: 'default', projectDomainId: 'default' });
    expect(references.get('ref2')).toMatchObject({ user: 'u', authVersion: '2' });
    expect(skipped).toEqual(['[broken]: missing auth_address, key']);
    // configparser's interpolation, as glance_store reads the file.
    const interpolated = parseReferencesText('[DEFAULT]\nhost = auth.example.com\n[r]\nuser = u\nkey = pa%%ss\nauth_address = https://%(host)s/v3\n[bad]\nuser = u\nkey = 50%off\nauth_address = a\n', '3');
    expect(interpolated.references.get('r')).toMatchObject({ key: 'pa%ss', authAddress: 'https://auth.example.com/v3' });
    expect(interpolated.skipped).toEqual(["[bad]: bad.key: a '%' must be written '%%' (or start %(name)s)"]);
    // A line outside any section is reported without its contents (it may hold a key).
    expect(() => parseReferencesText('key = TOPSECRET\n[r]\n', '3')).toThrow(/option key comes before any \[section\]/);
    expect(() => parseReferencesText('key = TOPSECRET\n[r]\n', '3')).not.toThrow(/TOPSECRET/);
  });

  it('pick the object-store endpoint from v2 and v3 catalogs by interface and region', () => {
    const v3 = [
      { type: 'identity', endpoints: [{ interface: 'public', region: 'RegionOne', url: 'http://k' }] },
      {
        type: 'object-store',
        endpoints: [
          { interface: 'public', region: 'RegionOne', url: 'http://s1/v1/AUTH_p' },
          { interface: 'internal', region: 'RegionOne', url: 'http://s1-int/v1/AUTH_p' },
          { interface: 'public', region: 'RegionTwo', url: 'http://s2/v1/AUTH_p' },
        ],
      },
    ];
    expect(selectEndpoint(v3, { serviceType: 'object-store', endpointType: 'internalURL', region: 'RegionOne' })).toBe('http://s1-int/v1/AUTH_p');
    expect(selectEndpoint(v3, { serviceType: 'object-store', endpointType: 'publicURL', region: 'RegionTwo' })).toBe('http://s2/v1/AUTH_p');
    expect(() => selectEndpoint(v3, { serviceType: 'object-store', endpointType: 'publicURL' })).toThrow(/several.*swift_store_region/);
    const v2 = [{ type: 'object-store', endpoints: [{ region: 'R', publicURL: 'http://p', adminURL: 'http://a' }] }];
    expect(selectEndpoint(v2, { serviceType: 'object-store', endpointType: 'adminURL' })).toBe('http://a');
    expect(() => selectEndpoint(v2, { serviceType: 'object-store', endpointType: 'publicURL', region: 'X' })).toThrow(/no object-store publicURL endpoint in region X/);
  });
});

const pythonAvailable = await referenceAvailable();

describe.skipIf(!pythonAvailable)('swift locations against glance_store', () => {
  it('parse every form to the same parts and URI as glance_store', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gs-swift-parse-'));
    try {
      const refs = path.join(dir, 'swift.conf');
      writeFileSync(refs, '[ref1]\nuser = tenant:user1\nkey = key1\nauth_address = http://auth.example.com:5000/v3\n[secure]\nuser = t:u\nkey = k\nauth_address = https://secure.example.com/v3\n');
      const conf = path.join(dir, 'glance-api.conf');
      writeFileSync(conf, `[DEFAULT]\nenabled_backends = objects:swift\n[glance_store]\ndefault_backend = objects\n[objects]\nswift_store_config_file = ${refs}\ndefault_swift_reference = ref1\n`);
      const uris = [
        'swift://user:pass@authurl.com/container/obj-id',
        'swift://account:user:pass@authurl.com/container/obj-id',
        'swift+http://user:pass@authurl.com/v1/container/obj-id',
        'swift+https://acct%3Auser:p%2Fa%40ss@auth.example.com:8443/v3/glance/3a1b',
        'swift+http://dept/ops%3Auser:pass@authurl.com/v1/container/obj-id',
        'swift+http://example.com/v1/AUTH_project/glance_x/x',
        'swift+config://ref1/glance/abc',
        'swift+config://secure/glance_3a1/3a1b',
      ];
      const theirs = await reference<Record<string, string | null>[]>(conf, 'parse', 'objects', ...uris);
      const { references } = parseReferencesText(readFileSync(refs, 'utf8'), '2');
      for (const [i, uri] of uris.entries()) {
        const ours = parseSwiftLocation(uri, references);
        const t = theirs[i]!;
        expect({ user: ours.user ?? null, key: ours.key ?? null, container: ours.container, obj: ours.obj, uri: formatSwiftLocation(ours) }, uri).toEqual({
          user: t['user'],
          key: t['key'],
          container: t['container'],
          obj: t['obj'],
          uri: t['uri'],
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

if (swift) {
  const container = newContainer();
  const copies = newContainer();
  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    {
      name: 'swift (tempauth, segments of 2 MB)',
      // Swift checks If-None-Match when an upload starts: adds of one id at once are not serialised (docs/swift.md).
      concurrentAdds: 'unserialised',
      storeId: 'objects',
      secondStoreId: 'copies',
      create: (opts) => MultiStore.create(parseConfig(withCopiesStore(tempauthConf(container), copies)), opts),
      listStored: async () => [...(await swiftContainerListing(account!, container)), ...(await swiftContainerListing(account!, copies)).map((n) => `copies/${n}`)],
      largeImageBytes: 9 * 1024 * 1024 + 7,
      timeout: 120_000,
      faults: {
        target: hostAndPort(swift['SWIFT_AUTH_URL']!),
        // Tempauth gives a storage URL on the host it was asked at: the objects go through the proxy too.
        create: (proxy, opts) => MultiStore.create(parseConfig(withCopiesStore(tempauthConf(container), copies).replaceAll(swift['SWIFT_AUTH_URL']!, viaProxy(swift['SWIFT_AUTH_URL']!, proxy))), opts),
      },
    },
  );

  const bufferDir = mkdtempSync(path.join(tmpdir(), 'gs-swift-buffer-'));
  const refsDir = mkdtempSync(path.join(tmpdir(), 'gs-swift-refs-'));
  const refsFile = path.join(refsDir, 'glance-swift.conf');
  writeFileSync(refsFile, `[store1]\nauth_version = 1\nauth_address = ${swift['SWIFT_AUTH_URL']}\nuser = ${swift['SWIFT_USER']}\nkey = "${swift['SWIFT_KEY']}"\n`);
  const bufferedContainer = newContainer();
  const refsConf = (c: string) =>
    tempauthConf(c)
      .replace(/swift_store_(auth_version|auth_address|user|key) = .*\n/g, '')
      .concat(`\nswift_store_config_file = ${refsFile}\ndefault_swift_reference = store1\nswift_buffer_on_upload = true\nswift_upload_buffer_dir = ${bufferDir}\n`);
  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    {
      name: 'swift (references file, segments buffered on disk)',
      // Swift checks If-None-Match when an upload starts: adds of one id at once are not serialised (docs/swift.md).
      concurrentAdds: 'unserialised',
      storeId: 'objects',
      create: (opts) => MultiStore.create(parseConfig(refsConf(bufferedContainer)), opts),
      listStored: async () => [...(await swiftContainerListing(account!, bufferedContainer)), ...readdirSync(bufferDir).map((f) => `buffer:${f}`)],
      largeImageBytes: 9 * 1024 * 1024 + 7,
      timeout: 120_000,
    },
  );

  describe('swift store on tempauth', () => {
    let ms: MultiStore;
    const c = newContainer();
    beforeAll(async () => {
      ms = await MultiStore.create(parseConfig(tempauthConf(c)));
    });
    afterAll(async () => {
      await ms?.close();
      rmSync(bufferDir, { recursive: true, force: true });
      rmSync(refsDir, { recursive: true, force: true });
    });

    it('writes glance_store locations and never shows the key', async () => {
      const id = randomUUID();
      const r = await ms.add(id, randomBytes(1000));
      const auth = new URL(swift['SWIFT_AUTH_URL']!);
      expect(r.location).toBe(`swift+http://${pyQuote(swift['SWIFT_USER']!)}:${swift['SWIFT_KEY']}@${auth.host}${auth.pathname}/${c}/${id}`);
      const text = JSON.stringify(ms.infoDetail()) + JSON.stringify(ms.states());
      expect(text).not.toContain(`:${swift['SWIFT_KEY']}`);
      const missing = (await ms.get(r.location.replace(id, 'missing-image')).catch((e: unknown) => e)) as Error;
      expect(missing).toMatchObject({ code: 'NotFound' });
      expect(missing.message).not.toContain(`:${swift['SWIFT_KEY']}@`);
      await ms.delete(r.location);
    });

    it('reads a location whose key is masked with the matching reference, and no other', async () => {
      const r = await ms.add(randomUUID(), randomBytes(500));
      const masked = maskLocation(r.location);
      expect(masked).toContain(':***@');
      expect(await ms.getSize(masked)).toBe(500);
      const stranger = masked.replace(`${pyQuote(swift['SWIFT_USER']!)}:`, 'someone%3Aelse:');
      await expect(ms.getSize(stranger)).rejects.toMatchObject({ code: 'BadStoreUri' });
      await ms.delete(masked);
    });

    it('lays large images out as glance_store does: <id>-00001... of the chunk size and a DLO manifest', async () => {
      const id = randomUUID();
      const bytes = randomBytes(5 * MB + 12345);
      const r = await ms.add(id, bytes, { size: bytes.length });
      const names = await swiftContainerListing(account!, c, id);
      expect(names).toEqual([id, `${id}-00001`, `${id}-00002`, `${id}-00003`]);
      const head = await swiftRequest(account!, 'HEAD', `${c}/${id}`);
      expect(head.headers.get('x-object-manifest')).toBe(`${c}/${id}-`);
      const sizes = await Promise.all(names.slice(1).map(async (n) => Number((await swiftRequest(account!, 'HEAD', `${c}/${n}`)).headers.get('content-length'))));
      expect(sizes).toEqual([2 * MB, 2 * MB, MB + 12345]);
      expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
      const part = await ms.get(r.location, { offset: 2 * MB - 10, length: 20 });
      expect((await readAll(part.stream)).equals(bytes.subarray(2 * MB - 10, 2 * MB + 10))).toBe(true);
      await ms.delete(r.location);
      expect(await swiftContainerListing(account!, c, id)).toEqual([]);
    });

    it('removes leftover segments of an unfinished add, and refuses ids another image would swallow', async () => {
      const id = randomUUID();
      await swiftRequest(account!, 'PUT', `${c}/${id}-00001`, { body: 'stale bytes of an earlier failed add' });
      const bytes = randomBytes(5 * MB + 1);
      const r = await ms.add(id, bytes, { size: bytes.length });
      expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);

      // `<id>-x` would become part of the segmented image <id> (its manifest prefix is `<id>-`).
      const inside = `${id}-x`;
      await expect(ms.add(inside, randomBytes(10))).rejects.toThrow(new RegExp(`would become part of the segmented image ${id}`));
      await ms.delete(r.location);

      // And the other way round: a segmented image must not take in an existing `<id>-x`.
      const id2 = randomUUID();
      await swiftRequest(account!, 'PUT', `${c}/${id2}-notes`, { body: 'another object' });
      await expect(ms.add(id2, randomBytes(6 * MB))).rejects.toThrow(/would take in/);
      expect(await swiftContainerListing(account!, c, id2)).toEqual([`${id2}-notes`]);
      await swiftRequest(account!, 'DELETE', `${c}/${id2}-notes`);
    });

    it('spreads images over seeded containers (swift_store_multiple_containers_seed)', async () => {
      const seeded = await MultiStore.create(parseConfig(tempauthConf(c).concat('\nswift_store_multiple_containers_seed = 3\n')));
      const id = randomUUID();
      const r = await seeded.add(id, randomBytes(100));
      const container = `${c}_${id.slice(0, 3)}`;
      expect(parseSwiftLocation(r.location).container).toBe(container);
      expect(await swiftContainerListing(account!, container)).toEqual([id]);
      await seeded.delete(r.location);
      expect(await swiftContainerListing(account!, container)).toEqual([]);
      await seeded.close();
    });

    it('answers 413 from Swift with StorageFull and leaves nothing', async () => {
      // One PUT above Swift's max_file_size (the service script sets it to 16 MiB).
      const big = await MultiStore.create(parseConfig(tempauthConf(c).replace('swift_store_large_object_size = 5', 'swift_store_large_object_size = 100')));
      const id = randomUUID();
      const bytes = randomBytes(Number(swift['SWIFT_MAX_FILE_SIZE']) + 1);
      await expect(big.add(id, bytes, { size: bytes.length })).rejects.toMatchObject({ code: 'StorageFull' });
      expect(await swiftContainerListing(account!, c, id)).toEqual([]);
      await big.close();
    });

    it('refuses wrong credentials with AuthenticationFailed, without showing them', async () => {
      const wrong = await MultiStore.create(parseConfig(tempauthConf(c).replace(`swift_store_key = ${swift['SWIFT_KEY']}`, 'swift_store_key = wrong-key-value')));
      const err = (await wrong.add(randomUUID(), randomBytes(10)).catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ code: 'AuthenticationFailed' });
      expect(err.message).not.toContain('wrong-key-value');
      await wrong.close();
    });

    it('needs the container, or swift_store_create_container_on_put', async () => {
      const strict = await MultiStore.create(parseConfig(tempauthConf('no-such-container-here').replace('swift_store_create_container_on_put = true', 'swift_store_create_container_on_put = false')));
      await expect(strict.add(randomUUID(), randomBytes(10))).rejects.toThrow(/container no-such-container-here does not exist.*swift_store_create_container_on_put/);
      await strict.close();
    });

    it('validates the configuration before contacting Swift, in one error', async () => {
      const conf = tempauthConf(c)
        .replace('swift_store_auth_version = 1', 'swift_store_auth_version = 3')
        .concat('\nswift_buffer_on_upload = true\nswift_store_multi_tenant = true\nswift_store_config_file = /nonexistent/refs.conf\n');
      const err = (await MultiStore.create(parseConfig(conf)).catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ code: 'BadStoreConfiguration' });
      expect(err.message).toMatch(/swift_store_multi_tenant and swift_store_config_file cannot be used together/);
      expect(err.message).toMatch(/swift_upload_buffer_dir is required/);
      // The references file is read once the option keeps its rules, with the whole config.
      const unreadable = (await MultiStore.create(parseConfig(tempauthConf(c).concat('\nswift_store_config_file = /nonexistent/refs.conf\n'))).catch((e: unknown) => e)) as Error;
      expect(unreadable).toMatchObject({ code: 'BadStoreConfiguration', message: expect.stringMatching(/swift_store_config_file = "\/nonexistent\/refs.conf": cannot be read \(ENOENT\)/) });
    });
  });

  describe('swift connections', () => {
    const transport = ServiceClient.create({ service: 'Swift' });
    afterAll(() => transport.close());
    const endpoint = { serviceType: 'object-store', endpointType: 'publicURL' };
    const real = passwordAuthenticator({ authAddress: swift['SWIFT_AUTH_URL']!, user: swift['SWIFT_USER']!, key: swift['SWIFT_KEY']!, authVersion: '1' }, endpoint, transport);

    it('ask for a new token before the current one expires (swift_store_expire_soon_interval)', async () => {
      let calls = 0;
      // Tokens said to expire in 5 s, with a 60 s margin: every request renews first.
      const conn = new SwiftConnection(transport, 60_000, async () => {
        calls++;
        return { ...(await real()), expiresAt: Date.now() + 5_000 };
      });
      for (let i = 0; i < 3; i++) {
        const res = await conn.request({ method: 'HEAD' });
        await res.body.dump();
        expect(res.statusCode).toBeLessThan(300);
      }
      expect(calls).toBe(3);
    });

    it('renew once after a 401, and give AuthenticationFailed when the new token is refused too', async () => {
      let calls = 0;
      const staleThenGood = new SwiftConnection(transport, 0, async () => {
        calls++;
        const r = await real();
        return calls === 1 ? { ...r, token: 'AUTH_tk_expired_or_revoked' } : r;
      });
      const res = await staleThenGood.request({ method: 'HEAD' });
      await res.body.dump();
      expect(res.statusCode).toBeLessThan(300);
      expect(calls).toBe(2);

      const alwaysBad = new SwiftConnection(transport, 0, async () => ({ ...(await real()), token: 'AUTH_tk_never_valid' }));
      await expect(alwaysBad.request({ method: 'HEAD' })).rejects.toMatchObject({ code: 'AuthenticationFailed' });
    });
  });

  describe('swift with Keystone v2.0 auth (a stand-in speaking the v2.0 tokens API)', () => {
    // Keystone no longer serves v2.0, so a stand-in answers POST /v2.0/tokens with a real
    // tempauth token and the real Swift as the catalog's object-store endpoint.
    it('authenticates with tenantName and passwordCredentials and takes the endpoint from the catalog', async () => {
      const real = await swiftLogin(account!);
      const seen: unknown[] = [];
      const standIn = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const auth = (JSON.parse(body || '{}') as { auth?: { tenantName?: string; passwordCredentials?: { username?: string; password?: string } } }).auth;
          seen.push({ method: req.method, url: req.url, auth: { ...auth, passwordCredentials: { username: auth?.passwordCredentials?.username } } });
          const [tenant, user] = swift['SWIFT_USER']!.split(':');
          if (req.method !== 'POST' || req.url !== '/v2.0/tokens' || auth?.tenantName !== tenant || auth.passwordCredentials?.username !== user || auth.passwordCredentials.password !== swift['SWIFT_KEY']) {
            res.writeHead(401).end();
            return;
          }
          const endpoint = { region: 'RegionOne', publicURL: real.storageUrl, internalURL: real.storageUrl, adminURL: real.storageUrl };
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access: { token: { id: real.token, expires: new Date(Date.now() + 3600_000).toISOString() }, serviceCatalog: [{ type: 'object-store', endpoints: [endpoint] }] } }));
        });
      });
      await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', () => resolve()));
      const authUrl = `http://127.0.0.1:${(standIn.address() as net.AddressInfo).port}/v2.0`;
      const c = newContainer();
      const conf = (key: string) =>
        tempauthConf(c)
          .replace('swift_store_auth_version = 1', 'swift_store_auth_version = 2')
          .replace(/swift_store_auth_address = .*/, `swift_store_auth_address = ${authUrl}`)
          .replace(/swift_store_key = .*/, `swift_store_key = ${key}`);
      try {
        const ms = await MultiStore.create(parseConfig(conf(swift['SWIFT_KEY']!)));
        const id = randomUUID();
        const bytes = randomBytes(2000);
        const r = await ms.add(id, bytes);
        expect(r.location).toBe(`swift+http://${pyQuote(swift['SWIFT_USER']!)}:${swift['SWIFT_KEY']}@127.0.0.1:${new URL(authUrl).port}/v2.0/${c}/${id}`);
        expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
        await ms.delete(r.location);
        await ms.close();
        expect(seen[0]).toEqual({ method: 'POST', url: '/v2.0/tokens', auth: { tenantName: swift['SWIFT_USER']!.split(':')[0], passwordCredentials: { username: swift['SWIFT_USER']!.split(':')[1] } } });

        const wrong = await MultiStore.create(parseConfig(conf('not-the-key')));
        await expect(wrong.add(randomUUID(), randomBytes(10))).rejects.toMatchObject({ code: 'AuthenticationFailed' });
        await wrong.close();
      } finally {
        standIn.close();
      }
    });
  });

  describe('swift over TLS', () => {
    it('verifies certificates: refused without swift_store_cacert, trusted with it or with swift_store_auth_insecure', async () => {
      const cert = selfSignedCertificate();
      const proxy = new URL(swift['SWIFT_AUTH_URL']!);
      // A TLS front for the Swift proxy, as deployments put one.
      const front = tls.createServer({ key: cert.key, cert: cert.cert }, (client) => {
        const upstream = net.connect(Number(proxy.port), proxy.hostname);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', () => resolve()));
      const base = `https://127.0.0.1:${(front.address() as net.AddressInfo).port}`;
      const c = newContainer();
      const conf = (extra: string) =>
        tempauthConf(c)
          .replace(/swift_store_auth_address = .*/, `swift_store_auth_address = ${base}${proxy.pathname}`)
          .concat(`\nswift_store_endpoint = ${base}/v1/AUTH_test\n${extra}`);
      try {
        const untrusted = await MultiStore.create(parseConfig(conf('')));
        const err = (await untrusted.add(randomUUID(), randomBytes(10)).catch((e: unknown) => e)) as Error;
        expect(err).toMatchObject({ code: 'BackendUnavailable' });
        expect(err.message).toMatch(/TLS verification failed.*swift_store_cacert/);
        await untrusted.close();

        for (const extra of [`swift_store_cacert = ${cert.certFile}`, 'swift_store_auth_insecure = true']) {
          const ms = await MultiStore.create(parseConfig(conf(extra)));
          const bytes = randomBytes(3 * MB);
          const r = await ms.add(randomUUID(), bytes);
          expect(r.location.startsWith(`swift+https://${pyQuote(swift['SWIFT_USER']!)}:`)).toBe(true);
          expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
          await ms.delete(r.location);
          await ms.close();
        }
      } finally {
        front.close();
        rmSync(cert.dir, { recursive: true, force: true });
      }
    });
  });

  describe('swift reads over a connection that breaks', () => {
    /** A TCP relay to the Swift proxy that cuts a connection once `cutAfter` bytes came back through it, `cuts` times. */
    function breakingRelay(target: { host: string; port: number }, cutAfter: number, cuts: { left: number }) {
      const server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        let seen = 0;
        client.on('error', () => undefined);
        upstream.on('error', () => undefined);
        client.pipe(upstream);
        upstream.on('data', (d: Buffer) => {
          seen += d.length;
          if (cuts.left > 0 && seen > cutAfter) {
            cuts.left--;
            client.destroy();
            upstream.destroy();
            return;
          }
          client.write(d);
        });
        upstream.on('end', () => client.end());
      });
      return new Promise<net.Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
    }

    it('resumes from the byte reached up to swift_store_retry_get_count times, then fails loudly, never short', async () => {
      const c = newContainer();
      const direct = await MultiStore.create(parseConfig(tempauthConf(c)));
      const bytes = randomBytes(8 * 1024 * 1024);
      const { location } = await direct.add(randomUUID(), bytes, { size: bytes.length });
      const proxy = new URL(swift['SWIFT_AUTH_URL']!);
      const cuts = { left: 0 };
      const relay = await breakingRelay({ host: proxy.hostname, port: Number(proxy.port) }, 3 * 1024 * 1024, cuts);
      const port = (relay.address() as net.AddressInfo).port;
      const { storageUrl } = await swiftLogin(account!);
      const viaRelay = (retries: number) =>
        tempauthConf(c).concat(`\nswift_store_endpoint = ${storageUrl.replace(/\/\/[^/]+/, `//127.0.0.1:${port}`)}\nswift_store_retry_get_count = ${retries}\n`);
      try {
        const patient = await MultiStore.create(parseConfig(viaRelay(3)));
        cuts.left = 2;
        const got = await patient.get(location);
        expect(got.size).toBe(bytes.length);
        expect((await readAll(got.stream)).equals(bytes)).toBe(true);
        expect(cuts.left).toBe(0);
        // A ranged read resumes inside its range.
        cuts.left = 1;
        const ranged = await patient.get(location, { offset: 1000, length: 5 * 1024 * 1024 });
        expect((await readAll(ranged.stream)).equals(bytes.subarray(1000, 1000 + 5 * 1024 * 1024))).toBe(true);
        await patient.close();

        const impatient = await MultiStore.create(parseConfig(viaRelay(1)));
        cuts.left = 5;
        const broken = await impatient.get(location);
        let received = 0;
        const err = await (async () => {
          try {
            for await (const chunk of broken.stream) received += (chunk as Buffer).length;
          } catch (e) {
            return e as Error;
          }
          return undefined;
        })();
        expect(err).toMatchObject({ code: 'BackendUnavailable' });
        expect(err!.message).toMatch(/after 1 retry/);
        expect(received).toBeLessThan(bytes.length);
        await impatient.close();
      } finally {
        relay.close();
        await direct.delete(location);
        await direct.close();
      }
    });

    it('gives BackendUnavailable within swift_store_request_timeout when Swift stops answering, and Aborted past the caller\'s AbortSignal.timeout', async () => {
      const silent = net.createServer(() => undefined); // accepts, never answers
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
      const port = (silent.address() as net.AddressInfo).port;
      const ms = await MultiStore.create(parseConfig(tempauthConf(newContainer()).concat(`\nswift_store_endpoint = http://127.0.0.1:${port}/v1/AUTH_test\nswift_store_request_timeout = 2\n`)));
      const started = Date.now();
      try {
        const location = `swift+http://${pyQuote(swift['SWIFT_USER']!)}:${swift['SWIFT_KEY']}@127.0.0.1:8080/auth/v1.0/glance/x`;
        await expect(ms.getSize(location)).rejects.toMatchObject({ code: 'BackendUnavailable' });
        expect(Date.now() - started).toBeLessThan(10_000);
        // The caller's own time limit is an abort, not an unavailable backend.
        await expect(ms.get(location, { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ code: 'Aborted' });
      } finally {
        await ms.close();
        silent.close();
      }
    });
  });
}

describe.skipIf(!swift || !pythonAvailable)('swift interoperability with Python glance_store', () => {
  it('reads and deletes small and segmented images written by glance_store, and back, leaving the container empty', async () => {
    const c = newContainer();
    // glance_store's large-object size is in its MB; 1 MB segments keep the test quick.
    const conf = tempauthConf(c).replace('swift_store_large_object_size = 5', 'swift_store_large_object_size = 3').replace('swift_store_large_object_chunk_size = 2', 'swift_store_large_object_chunk_size = 1');
    await roundTripWithReference({ conf, storeId: 'objects', sizes: [100_000, 4 * MB + 77] });
    expect(await swiftContainerListing(account!, c)).toEqual([]);
  });
});
