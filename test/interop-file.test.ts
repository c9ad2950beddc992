import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';
import { reference, referenceAvailable, type ReferenceAdd } from './interop/reference.js';

const available = await referenceAvailable();
if (!available && process.env['GLANCE_STORE_REQUIRE_SERVICES']) throw new Error('python3-glance-store is required for the interop tests');

describe.skipIf(!available)('file store interoperability with Python glance_store', () => {
  let root: string;
  let confFile: string;
  let ms: MultiStore;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'gs-interop-'));
    const conf = `[DEFAULT]\nenabled_backends = local:file\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${root}/images\n`;
    confFile = path.join(root, 'glance-api.conf');
    await writeFile(confFile, conf);
    ms = await MultiStore.create(parseConfig(conf));
  });
  afterAll(async () => {
    await ms?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('reads, sizes and deletes an image written by glance_store, with the same hashes', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const src = path.join(root, 'src.bin');
    await writeFile(src, bytes);
    const id = randomUUID();
    const py = await reference<ReferenceAdd>(confFile, 'add', 'local', id, src);
    expect(py.location).toBe(`file://${root}/images/${id}`);
    const got = await ms.get(py.location);
    const parts: Buffer[] = [];
    for await (const c of got.stream) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    expect(await ms.getSize(py.location)).toBe(bytes.length);
    // The same data through this library gives glance_store's checksum and multihash.
    const ours = await ms.add(randomUUID(), bytes);
    expect([ours.checksum, ours.multihash]).toEqual([py.checksum, py.multihash]);
    await ms.delete(py.location);
    await ms.delete(ours.location);
    expect(await readdir(path.join(root, 'images'))).toEqual([]);
  });

  it('writes images glance_store reads, sizes and deletes', async () => {
    const bytes = randomBytes(2 * 1024 * 1024 + 5);
    const r = await ms.add(randomUUID(), bytes);
    const out = path.join(root, 'out.bin');
    const got = await reference<{ size: number; written: number }>(confFile, 'get', 'local', r.location, out);
    expect(got.written).toBe(bytes.length);
    expect(createHash('sha512').update(await readFile(out)).digest('hex')).toBe(r.multihash);
    expect((await reference<{ size: number }>(confFile, 'size', 'local', r.location)).size).toBe(bytes.length);
    await reference(confFile, 'delete', 'local', r.location);
    await expect(ms.get(r.location)).rejects.toMatchObject({ code: 'NotFound' });
  });
});
