import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig, type ListedImage } from '../src/index.js';
import { formatRbdLocation, parseRbdLocation } from '../src/drivers/rbd/location.js';
import { rbdError } from '../src/drivers/rbd/errors.js';
import { BackendError, BackendUnavailableError, DuplicateError, GlanceStoreError, InUseError, NotFoundError, StorageFullError } from '../src/errors.js';
import { runStoreConformance, readAll } from '../src/testing/index.js';
import { serviceEnv } from './services/env.js';
import { reference, referenceAvailable, type ReferenceAdd } from './interop/reference.js';

const ceph = serviceEnv('ceph');

function conf(env: Record<string, string>, extra = ''): string {
  return `[DEFAULT]\nenabled_backends = fast:rbd\n[glance_store]\ndefault_backend = fast\n[fast]\nstore_description = Fast rbd backend\nrbd_store_pool = ${env['CEPH_POOL']}\nrbd_store_user = ${env['CEPH_USER']}\nrbd_store_ceph_conf = ${env['CEPH_CONF']}\nrbd_store_chunk_size = 1\nrados_connect_timeout = 10\n${extra}`;
}

/** With a second store `wide` in the same pool (the test user may use no other), of 4 MiB objects. */
function twoStoresConf(env: Record<string, string>, extra = ''): string {
  return `${conf(env, extra).replace('enabled_backends = fast:rbd', 'enabled_backends = fast:rbd, wide:rbd')}\n[wide]\nrbd_store_pool = ${env['CEPH_POOL']}\nrbd_store_user = ${env['CEPH_USER']}\nrbd_store_ceph_conf = ${env['CEPH_CONF']}\nrbd_store_chunk_size = 4\n`;
}

/** What the pool holds: images (and their snapshots) a failed add must not leave. */
function listStored(env: Record<string, string>): Promise<string[]> {
  const out = execFileSync('rbd', ['-c', env['CEPH_CONF']!, '--id', env['CEPH_USER']!, 'ls', '-l', '--format', 'json', env['CEPH_POOL']!], { encoding: 'utf8' });
  return Promise.resolve((JSON.parse(out) as Array<{ image: string; snapshot?: string }>).map((i) => (i.snapshot ? `${i.image}@${i.snapshot}` : i.image)));
}

function rbdAdmin(env: Record<string, string>, ...args: string[]): string {
  return execFileSync('rbd', ['-c', env['CEPH_CONF']!, '-n', 'client.admin', '-k', env['CEPH_ADMIN_KEYRING']!, ...args], { encoding: 'utf8' });
}

describe('librbd errors', () => {
  it('become the library\'s error classes, for the rbd and the cinder store alike', () => {
    const librbd = (code: string) => Object.assign(new Error(`librbd failed (${code})`), { code, errno: 1 });
    const cases: [string, new (...a: never[]) => GlanceStoreError, string][] = [
      ['ENOENT', NotFoundError, 'image abc was not found in store fast'],
      ['EBUSY', InUseError, 'image abc is in use'],
      ['ENOTEMPTY', InUseError, 'image abc still has snapshots'],
      ['EEXIST', DuplicateError, 'image abc already exists'],
      ['ENOSPC', StorageFullError, 'image abc in store fast: no space left on the store'],
      ['EIO', BackendError, 'image abc in store fast: librbd failed (EIO)'],
      ['ETIMEDOUT', BackendUnavailableError, 'image abc: store fast did not answer in time (ETIMEDOUT)'],
      ['ESHUTDOWN', BackendUnavailableError, 'image abc: store fast is unreachable (ESHUTDOWN)'],
    ];
    for (const [code, kind, message] of cases) {
      const err = rbdError(librbd(code), 'image abc', 'store fast');
      expect(err, code).toBeInstanceOf(kind);
      expect(err.message, code).toBe(message);
      expect(err.cause, code).toMatchObject({ code });
    }
    const own = new InUseError('kept');
    expect(rbdError(own, 'image abc', 'Ceph')).toBe(own);
  });
});

describe('rbd locations', () => {
  it('are written and parsed as glance_store writes them', () => {
    expect(formatRbdLocation({ fsid: 'f-1', pool: 'images', image: 'abc', snapshot: 'snap' })).toBe('rbd://f-1/images/abc/snap');
    expect(formatRbdLocation({ fsid: 'f', pool: 'my pool', image: 'a/b', snapshot: 'snap' })).toBe('rbd://f/my%20pool/a%2Fb/snap');
    expect(parseRbdLocation('rbd://f/my%20pool/a%2Fb/snap')).toEqual({ fsid: 'f', pool: 'my pool', image: 'a/b', snapshot: 'snap' });
    expect(parseRbdLocation('rbd://legacy-image')).toEqual({ image: 'legacy-image' });
    expect(() => parseRbdLocation('rbd://a/b')).toThrow(/1 or 4|fsid\/pool\/image\/snapshot/);
    expect(() => parseRbdLocation('rbd://a//c/d')).toThrow(/empty/);
  });
});

if (ceph) {
  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    { name: 'rbd (Ceph)', storeId: 'fast', secondStoreId: 'wide', create: (opts) => MultiStore.create(parseConfig(twoStoresConf(ceph)), opts), listStored: () => listStored(ceph), largeImageBytes: 5 * 1024 * 1024 + 7, timeout: 120_000 },
  );
  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    { name: 'rbd (Ceph, thin provisioning)', storeId: 'fast', secondStoreId: 'wide', create: (opts) => MultiStore.create(parseConfig(twoStoresConf(ceph, 'rbd_thin_provisioning = true\n')), opts), listStored: () => listStored(ceph), largeImageBytes: 3 * 1024 * 1024 + 7, timeout: 120_000 },
  );
}

describe.skipIf(!ceph)('rbd store on Ceph', () => {
  let ms: MultiStore;
  beforeAll(async () => {
    ms = await MultiStore.create(parseConfig(conf(ceph!)));
  });
  afterAll(() => ms?.close());

  it('writes rbd://fsid/pool/image/snap with a protected snapshot, and reads the legacy form', async () => {
    const id = randomUUID();
    const bytes = randomBytes(2 * 1024 * 1024 + 3);
    const r = await ms.add(id, bytes);
    expect(r.location).toBe(`rbd://${ceph!['CEPH_FSID']}/${ceph!['CEPH_POOL']}/${id}/snap`);
    const snaps = JSON.parse(rbdAdmin(ceph!, 'snap', 'ls', '--format', 'json', `${ceph!['CEPH_POOL']}/${id}`)) as Array<{ name: string }>;
    expect(snaps.map((s) => s.name)).toEqual(['snap']);
    expect(rbdAdmin(ceph!, 'info', `${ceph!['CEPH_POOL']}/${id}@snap`)).toMatch(/protected: True/);
    expect((await readAll((await ms.get(`rbd://${id}`)).stream)).equals(bytes)).toBe(true);
    expect(ms.infoDetail()[0]!.properties).toMatchObject({ pool: ceph!['CEPH_POOL'], fsid: ceph!['CEPH_FSID'], chunk_size_mib: 1 });
    await ms.delete(r.location);
  });

  it('lists through the binding (rbd_list2) with each image\'s creation time, as rbd info tells it', async () => {
    const id = randomUUID();
    const r = await ms.add(id, randomBytes(1000));
    try {
      const listed: ListedImage[] = [];
      for await (const i of ms.list('fast')) if (i.id === id) listed.push(i);
      expect(listed.map((i) => i.location)).toEqual([r.location]);
      const info = JSON.parse(rbdAdmin(ceph!, 'info', '--format', 'json', `${ceph!['CEPH_POOL']}/${id}`)) as { create_timestamp: string };
      // rbd info prints whole seconds.
      expect(Math.abs(listed[0]!.since!.getTime() - Date.parse(info.create_timestamp))).toBeLessThan(1000);
    } finally {
      await ms.delete(r.location);
    }
  });

  it('leaves an image with clones untouched and says it is in use', async () => {
    const id = randomUUID();
    const r = await ms.add(id, randomBytes(100_000));
    const pool = ceph!['CEPH_POOL'];
    rbdAdmin(ceph!, 'clone', `${pool}/${id}@snap`, `${pool}/clone-${id}`);
    await expect(ms.delete(r.location)).rejects.toMatchObject({ code: 'InUse' });
    // Nothing changed: the snapshot is still there and still protected.
    expect(rbdAdmin(ceph!, 'info', `${pool}/${id}@snap`)).toMatch(/protected: True/);
    rbdAdmin(ceph!, 'rm', `${pool}/clone-${id}`);
    await ms.delete(r.location);
    await expect(ms.getSize(r.location)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('with rbd_store_trash_cloned_images, moves an image whose snapshot has a clone to the RBD trash; without it, InUse and nothing changes', async () => {
    const id = randomUUID();
    const bytes = randomBytes(3 * 1024 * 1024 + 1);
    const r = await ms.add(id, bytes);
    const pool = ceph!['CEPH_POOL']!;
    rbdAdmin(ceph!, 'clone', `${pool}/${id}@snap`, `${pool}/clone-${id}`);
    const trash = () => (JSON.parse(rbdAdmin(ceph!, 'trash', 'ls', '--format', 'json', pool)) as Array<{ id: string; name: string }>).filter((t) => t.name === id);
    // The default (4.1's behaviour): InUse, and the location still reads in full.
    await expect(ms.delete(r.location)).rejects.toMatchObject({ code: 'InUse', message: expect.stringContaining('clone') });
    expect(createHash('md5').update(await readAll((await ms.get(r.location)).stream)).digest('hex')).toBe(r.checksum);
    expect(trash()).toEqual([]);

    const trashing = await MultiStore.create(parseConfig(conf(ceph!, 'rbd_store_trash_cloned_images = true\n')));
    try {
      await trashing.delete(r.location);
      // Gone from the pool's listing, in its trash; the location is NotFound; the clone still reads its parent.
      expect((await listStored(ceph!)).filter((n) => n.startsWith(id))).toEqual([]);
      expect(trash()).toHaveLength(1);
      await expect(trashing.getSize(r.location)).rejects.toMatchObject({ code: 'NotFound' });
      expect(execFileSync('rbd', ['-c', ceph!['CEPH_CONF']!, '-n', 'client.admin', '-k', ceph!['CEPH_ADMIN_KEYRING']!, 'export', `${pool}/clone-${id}`, '-'], { maxBuffer: 8 * 1024 * 1024 }).equals(bytes)).toBe(true);
      // What an operator does once the clones are gone (docs/rbd-trash.md): restore it, and the delete goes through.
      rbdAdmin(ceph!, 'rm', `${pool}/clone-${id}`);
      rbdAdmin(ceph!, 'trash', 'restore', '-p', pool, trash()[0]!.id);
      await trashing.delete(r.location);
      expect((await listStored(ceph!)).filter((n) => n.startsWith(id))).toEqual([]);
      expect(trash()).toEqual([]);
    } finally {
      await trashing.close();
    }
  });

  it('reads through a read-only handle: a get stream registers no watcher on the image', async () => {
    const id = randomUUID();
    const bytes = randomBytes(2 * 1024 * 1024 + 9);
    const r = await ms.add(id, bytes);
    const reading = (await ms.get(r.location)).stream[Symbol.asyncIterator]();
    const first = await reading.next();
    expect(first.done).toBe(false);
    const status = JSON.parse(rbdAdmin(ceph!, 'status', '--format', 'json', `${ceph!['CEPH_POOL']}/${id}`)) as { watchers: unknown[] };
    expect(status.watchers).toEqual([]);
    // A client holding it open read-write (a watcher) does not keep a get from reading it.
    const { default: rbd } = await import('glance-store-rbd');
    const cluster = await rbd.connect({ confFile: ceph!['CEPH_CONF'], user: ceph!['CEPH_USER'] });
    const io = await rbd.openPool(cluster, ceph!['CEPH_POOL']!);
    const writer = await rbd.open(io, id, null);
    try {
      expect((JSON.parse(rbdAdmin(ceph!, 'status', '--format', 'json', `${ceph!['CEPH_POOL']}/${id}`)) as { watchers: unknown[] }).watchers).toHaveLength(1);
      expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
    } finally {
      await rbd.close(writer);
      await rbd.close(io);
      await rbd.close(cluster);
    }
    for (let c = await reading.next(); !c.done; c = await reading.next());
    await ms.delete(r.location);
  });

  it('refuses to delete an image a get stream has open, changing nothing: the location still reads in full', async () => {
    const id = randomUUID();
    const bytes = randomBytes(8 * 1024 * 1024 + 5);
    const r = await ms.add(id, bytes);
    const reading = (await ms.get(r.location)).stream[Symbol.asyncIterator]();
    const first = await reading.next();
    expect(first.done).toBe(false);
    await expect(ms.delete(r.location)).rejects.toMatchObject({ code: 'InUse' });
    // The snapshot the location names is still there, still protected, and reads the whole image.
    expect(rbdAdmin(ceph!, 'info', `${ceph!['CEPH_POOL']}/${id}@snap`)).toMatch(/protected: True/);
    const again = await readAll((await ms.get(r.location)).stream);
    expect(createHash('md5').update(again).digest('hex')).toBe(r.checksum);
    expect(again.equals(bytes)).toBe(true);
    // The open stream goes on to the end; once it closed, the delete goes through.
    const rest: Buffer[] = [Buffer.from(first.value as Uint8Array)];
    for (let c = await reading.next(); !c.done; c = await reading.next()) rest.push(Buffer.from(c.value as Uint8Array));
    expect(Buffer.concat(rest).equals(bytes)).toBe(true);
    await ms.delete(r.location);
    await expect(ms.getSize(r.location)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('reports a cluster it cannot reach without taking other stores down', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gs-rbd-'));
    writeFileSync(path.join(dir, 'ceph.conf'), '[global]\nmon host = 127.0.0.1:1\n');
    const text = `[DEFAULT]\nenabled_backends = local:file, dead:rbd\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${dir}/images\n[dead]\nrbd_store_ceph_conf = ${dir}/ceph.conf\nrados_connect_timeout = 2\n`;
    const multi = await MultiStore.create(parseConfig(text));
    expect(multi.states().find((s) => s.id === 'dead')).toMatchObject({ ok: false, error: expect.stringMatching(/could not connect/) });
    expect((await multi.add(randomUUID(), Buffer.from('ok'))).metadata.store).toBe('local');
    await multi.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs several binding calls of the glance-store-rbd package at once off the main thread', async () => {
    const { default: rbd } = await import('glance-store-rbd');
    const cluster = await rbd.connect({ confFile: ceph!['CEPH_CONF'], user: ceph!['CEPH_USER'] });
    const io = await rbd.openPool(cluster, ceph!['CEPH_POOL']!);
    const name = `native-${randomUUID()}`;
    await rbd.create(io, name, 8 * 1024 * 1024, 22, rbd.FEATURE_LAYERING);
    const img = await rbd.open(io, name, null);
    const parts = Array.from({ length: 8 }, () => randomBytes(1024 * 1024));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await Promise.all(parts.map((p, i) => rbd.write(img, i * p.length, p)));
    clearInterval(timer);
    const back = await Promise.all(parts.map((p, i) => rbd.read(img, i * p.length, p.length)));
    expect(Buffer.concat(back).equals(Buffer.concat(parts))).toBe(true);
    await expect(rbd.open(io, `missing-${name}`, null)).rejects.toMatchObject({ code: 'ENOENT', errno: 2 });
    await expect(rbd.create(io, name, 1, 22, rbd.FEATURE_LAYERING)).rejects.toMatchObject({ code: 'EEXIST' });
    await rbd.close(img);
    await rbd.remove(io, name);
    await rbd.close(io);
    await rbd.close(cluster);
    // The event loop kept turning while eight writes were in flight on the binding's threads.
    expect(ticks).toBeGreaterThan(0);
  });
});

const pythonRbd = ceph && (await referenceAvailable());
describe.skipIf(!pythonRbd)('rbd interoperability with Python glance_store', () => {
  let dir: string;
  let confFile: string;
  let ms: MultiStore;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gs-rbd-interop-'));
    confFile = path.join(dir, 'glance-api.conf');
    writeFileSync(confFile, conf(ceph!));
    ms = await MultiStore.create(parseConfig(conf(ceph!)));
  });
  afterAll(async () => {
    await ms?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads and deletes images written by glance_store, and glance_store reads and deletes ours', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 11);
    const src = path.join(dir, 'src.bin');
    writeFileSync(src, bytes);
    const py = await reference<ReferenceAdd>(confFile, 'add', 'fast', randomUUID(), src);
    expect(py.location.startsWith(`rbd://${ceph!['CEPH_FSID']}/`)).toBe(true);
    expect((await readAll((await ms.get(py.location)).stream)).equals(bytes)).toBe(true);
    const ours = await ms.add(randomUUID(), bytes);
    expect([ours.checksum, ours.multihash]).toEqual([py.checksum, py.multihash]);
    await ms.delete(py.location);

    const out = path.join(dir, 'out.bin');
    await reference(confFile, 'get', 'fast', ours.location, out);
    expect(createHash('md5').update(readFileSync(out)).digest('hex')).toBe(ours.checksum);
    await reference(confFile, 'delete', 'fast', ours.location);
    expect(await listStored(ceph!)).toEqual([]);
  });
});
