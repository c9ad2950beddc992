import { describe, it, expect, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig, BadStoreConfigurationError, NotFoundError, type Logger } from '../src/index.js';
import { defineDriver, isWritable, type StoreDriver } from '../src/driver-kit.js';
import { readAll } from '../src/testing/index.js';

const root = await mkdtemp(path.join(tmpdir(), 'gs-multi-'));
afterAll(() => rm(root, { recursive: true, force: true }));

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (_o: unknown, msg?: string) => void lines.push(String(msg ?? _o));
  return { lines, debug: rec, info: rec, warn: rec, error: rec };
}

const seed = (dirs: { shared: string; reliable: string }) => `
[DEFAULT]
enabled_backends = shared:file, reliable:file
[glance_store]
default_backend = shared
[shared]
store_description = "Shared filesystem"
filesystem_store_datadir = ${dirs.shared}
[reliable]
store_description = Reliable filesystem
weight = 5
filesystem_store_datadirs = ${dirs.reliable}:100
[os_glance_staging_store]
filesystem_store_datadir = ${root}/staging
[os_glance_tasks_store]
filesystem_store_datadir = ${root}/tasks
`;

describe('MultiStore', () => {
  const dirs = { shared: path.join(root, 'shared'), reliable: path.join(root, 'reliable') };

  it('lists stores as Glance /v2/info/stores does, without reserved stores', async () => {
    const ms = await MultiStore.create(parseConfig(seed(dirs)));
    expect(ms.info()).toEqual([
      { id: 'shared', description: 'Shared filesystem', default: true },
      { id: 'reliable', description: 'Reliable filesystem' },
    ]);
    const detail = ms.infoDetail();
    expect(detail[1]).toMatchObject({ id: 'reliable', type: 'file', weight: 5 });
    expect(detail[1]!.properties).toHaveProperty('datadirs');
    // Reserved stores work by id.
    const staged = await ms.add(randomUUID(), Buffer.from('staged'), { store: 'os_glance_staging_store' });
    expect(staged.location.startsWith(`file://${root}/staging/`)).toBe(true);
    expect(ms.states().map((s) => s.id)).toContain('os_glance_tasks_store');
    await ms.close();
  });

  it('accepts the Rocky-era os_staging section for the staging store', async () => {
    const text = `[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${root}/a\n[os_staging]\nfilesystem_store_datadir = ${root}/old-staging\n`;
    const ms = await MultiStore.create(parseConfig(text));
    const r = await ms.add(randomUUID(), Buffer.from('x'), { store: 'os_glance_staging_store' });
    expect(r.location).toContain('/old-staging/');
    expect(ms.info().map((s) => s.id)).toEqual(['a']);
    await ms.close();
  });

  it('reports every configuration problem in one error before contacting any store', async () => {
    const text = `
[DEFAULT]
enabled_backends = a:file, a:file, b:nosuch, os_glance_staging_store:file, broken, c:fiel
[glance_store]
default_backend = zzz
[a]
weight = heavy
`;
    const err = await MultiStore.create(parseConfig(text)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadStoreConfigurationError);
    const problems = (err as BadStoreConfigurationError).problems.join('\n');
    expect(problems).toMatch(/"a" appears more than once/);
    expect(problems).toMatch(/unknown type "nosuch"/);
    expect(problems).toMatch(/"os_glance_staging_store" is reserved/);
    expect(problems).toMatch(/"broken" is not of the form id:type/);
    expect(problems).toMatch(/did you mean "file"/);
    expect(problems).toMatch(/default_backend "zzz" is not an enabled store/);
    expect(problems).toMatch(/weight/);
  });

  it('rejects an empty enabled_backends and an unset default_backend', async () => {
    await expect(MultiStore.create(parseConfig('[DEFAULT]\nenabled_backends =\n'))).rejects.toThrow(/enabled_backends is empty[\s\S]*default_backend is unset/);
    await expect(MultiStore.create(parseConfig('[DEFAULT]\n'))).rejects.toMatchObject({ code: 'BadStoreConfiguration' });
  });

  it("refuses an unknown option in a store's section, with a did-you-mean, and warns in [DEFAULT] only about likely typos", async () => {
    const text = `[DEFAULT]\nenabled_backends = a:file\nbind_host = 0.0.0.0\nimage_size_capp = 5\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadri = ${root}/x\nfilesystem_store_datadir = ${root}/a\n`;
    const err = await MultiStore.create(parseConfig(text)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadStoreConfigurationError);
    expect((err as BadStoreConfigurationError).problems).toEqual(['Unknown option "filesystem_store_datadri" in [a] (a file store): did you mean "filesystem_store_datadir"?']);
    // Nothing was written to the datadir the typo meant, nor to the default one.
    await expect(readdir(path.join(root, 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
    // [DEFAULT] holds Glance's own options: bind_host is fine, a near-miss of one of ours is a warning.
    const logger = recordingLogger();
    const ms = await MultiStore.create(parseConfig(text.replace(/filesystem_store_datadri = .*\n/, '')), { logger });
    expect(logger.lines.join('\n')).toMatch(/image_size_capp.*did you mean "image_size_cap"/);
    expect(logger.lines.join('\n')).not.toMatch(/bind_host/);
    await ms.close();
    // Reserved stores' sections are store sections too.
    await expect(MultiStore.create(parseConfig(`${text.replace(/filesystem_store_datadri = .*\n/, '')}[os_glance_tasks_store]\nfilesystem_store_datadir = ${root}/t\nfilesystem_store_chunk_sise = 5\n`))).rejects.toThrow(
      /filesystem_store_chunk_sise.*did you mean "filesystem_store_chunk_size"/,
    );
  });

  it('reads the section of a store id written with capitals, as oslo.config does', async () => {
    const text = `[DEFAULT]\nenabled_backends = Shared:file, OTHER:file\n[glance_store]\ndefault_backend = Shared\n[Shared]\nfilesystem_store_datadir = ${root}/capital\n[other]\nfilesystem_store_datadir = ${root}/lower\n`;
    const ms = await MultiStore.create(parseConfig(text));
    const r = await ms.add(randomUUID(), Buffer.from('capital'));
    expect(r.location.startsWith(`file://${root}/capital/`)).toBe(true);
    const other = await ms.add(randomUUID(), Buffer.from('other'), { store: 'OTHER' });
    expect(other.location.startsWith(`file://${root}/lower/`)).toBe(true);
    expect(await readdir(path.join(root, 'capital'))).toHaveLength(1);
    await ms.close();
    // Two ids that differ only in case would share one section: refused.
    await expect(MultiStore.create(parseConfig(text.replace('OTHER:file', 'shared:file')))).rejects.toThrow(/"Shared" and "shared" differ only in case/);
  });

  it('refuses a filesystem_store_datadirs value continued on a second line', async () => {
    const text = `[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadirs = ${root}/d1:100\n  ${root}/d2:200\n`;
    const err = await MultiStore.create(parseConfig(text)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadStoreConfigurationError);
    expect((err as Error).message).toMatch(/spans several lines: write one `filesystem_store_datadirs = path:priority` line per directory/);
    // One line per directory is the way.
    const ms = await MultiStore.create(parseConfig(text.replace('\n  ', '\nfilesystem_store_datadirs = ')));
    expect((await ms.add(randomUUID(), Buffer.from('x'))).location.startsWith(`file://${root}/d2/`)).toBe(true);
    await ms.close();
  });

  /** A driver type whose stores never start: their cluster cannot be reached. */
  const unreachable = (type: string, scheme: string) =>
    defineDriver({
      type,
      schemes: [scheme],
      options: [],
      create: (): StoreDriver => {
        throw new Error('cluster at 127.0.0.1:1 is unreachable');
      },
    });

  it('keeps working when one store cannot start, and says why', async () => {
    const flaky = unreachable('flaky', 'flaky');
    const text = `[DEFAULT]\nenabled_backends = a:file, down:flaky\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${root}/a\n`;
    const ms = await MultiStore.create(parseConfig(text), { drivers: [flaky] });
    expect(ms.states().find((s) => s.id === 'down')).toMatchObject({ ok: false, error: expect.stringMatching(/unreachable/) });
    await expect(ms.add(randomUUID(), Buffer.from('x'), { store: 'down' })).rejects.toMatchObject({ code: 'BackendUnavailable' });
    const r = await ms.add(randomUUID(), Buffer.from('still fine'));
    expect(r.metadata.store).toBe('a');
    await ms.close();
    // ...unless it is the default backend.
    await expect(MultiStore.create(parseConfig(text.replace('default_backend = a', 'default_backend = down')), { drivers: [flaky] })).rejects.toMatchObject({ code: 'BackendUnavailable' });
  });

  it('skips a store that failed to start when resolving a location by scheme', async () => {
    const images = new Map<string, Buffer>();
    const down = unreachable('down', 'mem');
    // A store that cannot tell its locations from others' (no ownsLocation).
    const up = defineDriver({
      type: 'up',
      schemes: ['mem'],
      options: [],
      create: () => ({
        capabilities: () => new Set(['read', 'write'] as const),
        async add(imageId: string, data: AsyncIterable<Uint8Array>) {
          const parts: Buffer[] = [];
          for await (const c of data) parts.push(Buffer.from(c));
          images.set(imageId, Buffer.concat(parts));
          return { location: `mem://x/${imageId}` };
        },
        async get(location: string) {
          const b = images.get(location.split('/').pop()!);
          if (!b) throw new NotFoundError(`${location} is not here`);
          const { Readable } = await import('node:stream');
          return { stream: Readable.from([b]), size: b.length };
        },
        async getSize(location: string) {
          return images.get(location.split('/').pop()!)?.length ?? 0;
        },
        async delete(location: string) {
          images.delete(location.split('/').pop()!);
        },
        async close() {},
      }),
    });
    const text = `[DEFAULT]\nenabled_backends = first:down, second:up\n[glance_store]\ndefault_backend = second\n[first]\nweight = 100\n`;
    const ms = await MultiStore.create(parseConfig(text), { drivers: [down, up] });
    const r = await ms.add(randomUUID(), Buffer.from('served'));
    const got = await ms.get(r.location);
    expect(got.store).toBe('second');
    expect((await readAll(got.stream)).toString()).toBe('served');
    await expect(ms.get(r.location, { store: 'first' })).rejects.toMatchObject({ code: 'BackendUnavailable' });
    await ms.close();
    // With no store of the scheme started, the location's store is unavailable (not unknown).
    const alone = await MultiStore.create(parseConfig(text.replace('first:down, second:up', 'first:down, second:up, third:file').replace('default_backend = second', `default_backend = third\n[third]\nfilesystem_store_datadir = ${root}/third`).replace('second:up', 'second:down')), { drivers: [down, up] });
    await expect(alone.get(r.location)).rejects.toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/No store that reads mem:\/\/x\/.* is available/) });
    await alone.close();
  });

  /** A write-only driver type whose add and delete are given, to see what MultiStore does around them. */
  function writer(type: string, add: (imageId: string, data: AsyncIterable<Uint8Array>) => Promise<void>, remove: (location: string) => Promise<void>) {
    return defineDriver({
      type,
      schemes: [type],
      options: [],
      create: (ctx) => ({
        capabilities: () => new Set(['read', 'write'] as const),
        async add(imageId: string, data: AsyncIterable<Uint8Array>) {
          await add(imageId, data);
          return { location: `${type}://${ctx.id}/${imageId}` };
        },
        async get() {
          throw new Error('not used');
        },
        async getSize() {
          return 0;
        },
        delete: remove,
        async close() {},
      }),
    });
  }

  it('removes what a driver stored when it finished an add whose data had failed', async () => {
    // A driver that takes an error in the data for its end, as a careless one would.
    const stored = new Set<string>();
    const careless = writer(
      'careless',
      async (imageId, data) => {
        try {
          for await (const c of data) void c;
        } catch {
          // swallowed
        }
        stored.add(imageId);
      },
      async (location) => void stored.delete(location.split('/').pop()!),
    );
    const ms = await MultiStore.create(parseConfig('[DEFAULT]\nenabled_backends = c:careless\n[glance_store]\ndefault_backend = c\n'), { imageSizeCap: 1000, drivers: [careless] });
    await expect(ms.add(randomUUID(), [randomBytes(600), randomBytes(600)])).rejects.toMatchObject({ code: 'ImageSizeLimitExceeded' });
    expect([...stored]).toEqual([]);
    await ms.close();
  });

  it('removes a location once when the driver resolved without reading all the data, and logs a removal that fails', async () => {
    // A driver that stops after its first block.
    const deletes: string[] = [];
    let failDelete = false;
    const hasty = writer(
      'hasty',
      async (_id, data) => {
        for await (const c of data) if (c) break;
      },
      async (location) => {
        deletes.push(location);
        if (failDelete) throw new Error('backend said no');
      },
    );
    const logger = recordingLogger();
    const ms = await MultiStore.create(parseConfig('[DEFAULT]\nenabled_backends = h:hasty\n[glance_store]\ndefault_backend = h\n'), { logger, drivers: [hasty] });
    const data = () => [randomBytes(2 * 1024 * 1024), randomBytes(2 * 1024 * 1024)];
    await expect(ms.add('img-1', data())).rejects.toMatchObject({ code: 'BackendError', message: expect.stringMatching(/before reading all of the image data/) });
    expect(deletes).toEqual(['hasty://h/img-1']);
    failDelete = true;
    await expect(ms.add('img-2', data(), { size: 4 * 1024 * 1024 })).rejects.toMatchObject({ code: 'BackendError' });
    expect(deletes).toEqual(['hasty://h/img-1', 'hasty://h/img-2']);
    expect(logger.lines.join('\n')).toMatch(/could not remove image hasty:\/\/h\/img-2 left by a failed add \(backend said no\); trying again/);
    expect(ms.pendingCleanups()).toMatchObject([{ store: 'h', kind: 'image', location: 'hasty://h/img-2', attempts: 1 }]);
    await ms.close();
    expect(logger.lines.join('\n')).toMatch(/left image hasty:\/\/h\/img-2 behind: the store closed/);
  });

  it('resolves a location among several stores of one scheme', async () => {
    const ms = await MultiStore.create(parseConfig(seed(dirs)));
    const bytes = randomBytes(1000);
    const r = await ms.add(randomUUID(), bytes, { store: 'reliable' });
    expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
    // A stream that is not read must be destroyed: it holds the file open until then.
    const unread = await ms.get(r.location);
    expect(unread.store).toBe('reliable');
    unread.stream.destroy();
    await expect(ms.get(`file://${dirs.shared}/${randomUUID()}`)).rejects.toMatchObject({ code: 'NotFound' });
    await expect(ms.get('s3://nothing/here')).rejects.toMatchObject({ code: 'UnknownScheme' });
    await expect(ms.get(r.location, { store: 'nope' })).rejects.toMatchObject({ code: 'UnknownStore' });
    await ms.delete({ url: r.location, metadata: { store: 'reliable' } });
    await ms.close();
  });

  it('copies an image between stores with hashes checked', async () => {
    const ms = await MultiStore.create(parseConfig(seed(dirs)));
    const bytes = randomBytes(3 * 1024 * 1024 + 1);
    const id = randomUUID();
    const src = await ms.add(id, bytes);
    const copy = await ms.copy(src.location, 'reliable', { checksum: src.checksum, multihash: src.multihash });
    expect(copy.location).toBe(`file://${dirs.reliable}/${id}`);
    expect(copy.checksum).toBe(src.checksum);
    expect(copy.metadata.store).toBe('reliable');
    expect((await readAll((await ms.get(copy.location)).stream)).equals(bytes)).toBe(true);
    // Copying again is a duplicate; a wrong expected checksum removes the copy.
    await expect(ms.copy(src.location, 'reliable')).rejects.toMatchObject({ code: 'Duplicate' });
    await ms.delete(copy.location);
    await expect(ms.copy(src.location, 'reliable', { checksum: 'deadbeef' })).rejects.toMatchObject({ code: 'ChecksumMismatch' });
    expect(await readdir(dirs.reliable)).toEqual([]);
    await ms.close();
  });

  it('reports progress and honours the declared size', async () => {
    const ms = await MultiStore.create(parseConfig(seed(dirs)));
    const seen: number[] = [];
    const bytes = randomBytes(5 * 1024 * 1024);
    const chunks = [0, 1, 2, 3, 4].map((i) => bytes.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
    const r = await ms.add(randomUUID(), chunks, { size: bytes.length, onProgress: (p) => seen.push(p.bytes) });
    expect(seen.at(-1)).toBe(bytes.length);
    expect(seen.length).toBeGreaterThan(1);
    expect(r.multihash).toBe(createHash('sha512').update(bytes).digest('hex'));
    await ms.delete(r.location);
    await ms.close();
  });

  it('hands out store handles that go through the checks and the pipeline; the raw driver only by name', async () => {
    const dir = path.join(root, 'handles');
    const text = `[DEFAULT]\nenabled_backends = a:file, b:file, web:http\nimage_size_cap = 1000\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${dir}/a\n[b]\nfilesystem_store_datadir = ${dir}/b\n`;
    const ms = await MultiStore.create(parseConfig(text));
    const a = ms.store('a');
    expect(a).toMatchObject({ id: 'a', type: 'file', writable: true });
    if (!a.writable) throw new Error('store a should be writable');
    // A buffer-reusing source would not matter here: the hashes are the pipeline's.
    const bytes = randomBytes(600);
    const r = await a.add(randomUUID(), bytes);
    expect(r.metadata.store).toBe('a');
    expect(r.checksum).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(r.multihash).toBe(createHash('sha512').update(bytes).digest('hex'));
    expect((await readAll((await a.get(r.location)).stream)).equals(bytes)).toBe(true);
    expect(await a.getSize(r.location)).toBe(600);
    // The size cap holds, and a failed add leaves nothing behind.
    await expect(a.add(randomUUID(), [randomBytes(600), randomBytes(600)])).rejects.toMatchObject({ code: 'ImageSizeLimitExceeded' });
    expect(await readdir(`${dir}/a`)).toEqual([path.basename(r.location)]);
    // The raw driver's add does none of that: it stores what it is given, cap or not.
    const raw = ms.rawDriver('a');
    if (!isWritable(raw)) throw new Error('the file driver writes');
    const over = await raw.add(randomUUID(), (async function* () { yield randomBytes(1200); })(), { signal: new AbortController().signal });
    await raw.delete(over.location);
    // Argument checks, image ids and the store are MultiStore's.
    await expect(a.add('../escape', bytes)).rejects.toMatchObject({ code: 'InvalidImageId' });
    await expect(a.get(r.location, { offset: -1 })).rejects.toThrow(RangeError);
    await expect(a.add(randomUUID(), bytes, 'fast' as never)).rejects.toThrow(/"options" argument must be an object/);
    // A location of another store is not looked for elsewhere: the handle asked its own store.
    await expect(ms.store('b').get(r.location)).rejects.toMatchObject({ code: 'NotFound', message: expect.stringMatching(/store b/) });
    const copy = await a.copyTo(r.location, 'b');
    expect(copy.metadata.store).toBe('b');
    expect(copy.checksum).toBe(r.checksum);
    await a.delete(r.location);
    expect(await readdir(`${dir}/a`)).toEqual([]);
    expect(a.info()).toEqual({ id: 'a', description: '', default: true });
    // An http store's handle has no add or delete, at run time as in its type.
    const web = ms.store('web');
    expect(web).toMatchObject({ writable: false, type: 'http' });
    expect('add' in web || 'delete' in web || 'setAcls' in web).toBe(false);
    expect(web.info()).toMatchObject({ id: 'web', 'read-only': true });
    expect(() => ms.writableStore('web')).toThrow(expect.objectContaining({ code: 'ReadOnlyStore' }));
    expect(() => ms.store('nope')).toThrow(/Unknown store "nope"/);
    await ms.close();
  });

  it('names the store that holds a missing file location, whichever store of the scheme answers last', async () => {
    const ms = await MultiStore.create(parseConfig(seed(dirs)));
    const missing = `file://${dirs.shared}/${randomUUID()}`;
    // One call at a time: a rejection made before its expect is awaited would be unhandled meanwhile.
    for (const call of [() => ms.get(missing), () => ms.delete(missing), () => ms.getSize(missing)]) {
      await expect(call()).rejects.toMatchObject({ code: 'NotFound', message: expect.stringMatching(/in store shared/) });
    }
    await expect(ms.get(missing)).rejects.not.toMatchObject({ message: expect.stringMatching(/reliable/) });
    // Asked by name, the store asked is the one named.
    await expect(ms.get(missing, { store: 'reliable' })).rejects.toMatchObject({ message: expect.stringMatching(/is not an image of store reliable/) });
    await ms.close();
  });

  it('reads os_hash_algo and image_size_cap from [DEFAULT]', async () => {
    const dir = path.join(root, 'cap');
    const text = `[DEFAULT]\nenabled_backends = a:file\nos_hash_algo = sha256\nimage_size_cap = 10\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${dir}\n`;
    const ms = await MultiStore.create(parseConfig(text));
    const bytes = Buffer.from('0123456789');
    const r = await ms.add(randomUUID(), bytes);
    expect(r.hashAlgo).toBe('sha256');
    expect(r.multihash).toBe(createHash('sha256').update(bytes).digest('hex'));
    await expect(ms.add(randomUUID(), Buffer.from('0123456789A'))).rejects.toMatchObject({ code: 'ImageSizeLimitExceeded' });
    // Only the image within the cap is there.
    expect(await readdir(dir)).toEqual([path.basename(r.location)]);
    await expect(MultiStore.create(parseConfig(text.replace('sha256', 'nosuchhash')))).rejects.toMatchObject({
      code: 'BadStoreConfiguration',
      problems: [expect.stringMatching(/os_hash_algo "nosuchhash"/)],
    });
    await ms.close();
  });
});
