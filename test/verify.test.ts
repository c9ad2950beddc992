import { describe, it, expect, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MultiStore, parseConfig } from '../src/index.js';

const root = await mkdtemp(path.join(tmpdir(), 'gs-verify-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const config = () =>
  parseConfig(`
[DEFAULT]
enabled_backends = a:file, b:file
[glance_store]
default_backend = a
[a]
filesystem_store_datadir = ${root}/a
[b]
filesystem_store_datadir = ${root}/b
`);

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const sha = (algo: string, b: Uint8Array) => createHash(algo).update(b).digest('hex');

/** Flips one byte of the stored file behind the library's back. */
async function flipByte(location: string, at: number): Promise<void> {
  const fh = await open(fileURLToPath(location), 'r+');
  try {
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, at);
    one[0] = one[0]! ^ 0xff;
    await fh.write(one, 0, 1, at);
  } finally {
    await fh.close();
  }
}

describe('ms.verify: reads and hashes without keeping the bytes', () => {
  it('names what matched, for correct bytes (small and multi-block images)', async () => {
    const ms = await MultiStore.create(config());
    try {
      for (const size of [0, 1000, 5 * 1024 * 1024 + 17]) {
        const data = randomBytes(size);
        const image = await ms.add(randomUUID(), data);
        const r = await ms.verify(image.location, { checksum: image.checksum, multihash: image.multihash, hashAlgo: image.hashAlgo });
        expect(r).toEqual({
          store: 'a',
          size,
          checksum: md5(data),
          multihash: sha('sha512', data),
          hashAlgo: 'sha512',
          ok: true,
          matched: ['checksum', 'multihash'],
          mismatched: [],
        });
      }
    } finally {
      await ms.close();
    }
  });

  it("checks Glance's validation_data (os_hash_algo, os_hash_value) in another algorithm than the store's", async () => {
    const ms = await MultiStore.create(config());
    try {
      const data = randomBytes(3 * 1024 * 1024);
      const image = await ms.add(randomUUID(), data);
      const r = await ms.verify(image.location, { hashAlgo: 'sha3_256', multihash: sha('sha3-256', data) });
      expect(r).toMatchObject({ ok: true, hashAlgo: 'sha3_256', matched: ['multihash'], mismatched: [], checksum: image.checksum });
      // Nothing expected: the digest alone.
      expect(await ms.verify(image.location)).toMatchObject({ ok: true, matched: [], mismatched: [], multihash: image.multihash });
    } finally {
      await ms.close();
    }
  });

  it('finds a byte flipped in the stored file, and names which hash differs', async () => {
    const ms = await MultiStore.create(config());
    try {
      const data = randomBytes(2 * 1024 * 1024 + 5);
      const image = await ms.add(randomUUID(), data);
      await flipByte(image.location, 1024 * 1024 + 3);
      const r = await ms.verify(image.location, { checksum: image.checksum, multihash: image.multihash });
      expect(r.ok).toBe(false);
      expect(r.mismatched).toEqual(['checksum', 'multihash']);
      expect(r.matched).toEqual([]);
      expect(r.checksum).not.toBe(image.checksum);
      // Only the md5 recorded wrongly: the multihash still matches.
      const half = await ms.verify(image.location, { checksum: image.checksum, multihash: r.multihash });
      expect(half).toMatchObject({ ok: false, matched: ['multihash'], mismatched: ['checksum'] });
    } finally {
      await ms.close();
    }
  });

  it('refuses hashes that cannot be right before reading anything', async () => {
    const ms = await MultiStore.create(config());
    try {
      const image = await ms.add(randomUUID(), Buffer.from('x'));
      await expect(ms.verify(image.location, { checksum: 'abc' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: /32 hex digits/ });
      await expect(ms.verify(image.location, { multihash: image.checksum })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: /128 hex digits/ });
      await expect(ms.verify(image.location, { hashAlgo: 'crc-nope', multihash: 'aa' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(ms.verify(`file://${root}/a/${randomUUID()}`, { checksum: image.checksum })).rejects.toMatchObject({ code: 'NotFound' });
    } finally {
      await ms.close();
    }
  });

  it('works through a store handle', async () => {
    const ms = await MultiStore.create(config());
    try {
      const image = await ms.add(randomUUID(), Buffer.from('handle'), { store: 'b' });
      expect(await ms.store('b').verify(image.location, { checksum: image.checksum })).toMatchObject({ ok: true, store: 'b' });
    } finally {
      await ms.close();
    }
  });

  it('keeps memory flat over a large image', async () => {
    const ms = await MultiStore.create(config());
    try {
      const block = randomBytes(1024 * 1024);
      const image = await ms.add(randomUUID(), (function* () {
        for (let i = 0; i < 256; i++) yield block;
      })());
      global.gc?.();
      const before = process.memoryUsage().rss;
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const r = await ms.verify(image.location, { checksum: image.checksum, multihash: image.multihash });
      clearInterval(timer);
      expect(r.ok).toBe(true);
      expect(r.size).toBe(256 * 1024 * 1024);
      // 256 MiB read; what stays resident is a few blocks of the ring and the file stream's buffers.
      expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await ms.close();
    }
  });
});
