import { describe, it, expect, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { consume } from './streams.js';
import { MultiStore, parseConfig, ChecksumMismatchError } from '../src/index.js';

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

describe('get with verify: the stream fails at its end when the bytes are not the recorded ones', () => {
  it('yields correct bytes unchanged and ends cleanly (with and without reused buffers)', async () => {
    const ms = await MultiStore.create(config());
    try {
      for (const size of [0, 10, 4 * 1024 * 1024 + 1]) {
        const data = randomBytes(size);
        const image = await ms.add(randomUUID(), data);
        for (const reuseBuffers of [false, true]) {
          const { stream, size: told } = await ms.get(image.location, { verify: { checksum: image.checksum, multihash: image.multihash }, reuseBuffers });
          expect(told).toBe(size);
          const hash = createHash('sha512');
          stream.on('data', (c: Buffer) => hash.update(c));
          const seen = await consume(stream);
          expect(seen).toEqual({ bytes: size, ended: true });
          expect(hash.digest('hex')).toBe(image.multihash);
        }
      }
    } finally {
      await ms.close();
    }
  });

  it('a byte flipped in the stored file: ChecksumMismatch instead of the end, the consumer never sees a clean end', async () => {
    const ms = await MultiStore.create(config());
    try {
      for (const [size, at] of [
        [100, 50],
        [3 * 1024 * 1024 + 7, 2 * 1024 * 1024 + 1],
        [3 * 1024 * 1024 + 7, 3 * 1024 * 1024 + 6],
      ] as const) {
        const image = await ms.add(randomUUID(), randomBytes(size));
        await flipByte(image.location, at);
        for (const verify of [{ checksum: image.checksum }, { multihash: image.multihash }]) {
          const { stream } = await ms.get(image.location, { verify });
          const seen = await consume(stream);
          expect(seen.ended).toBe(false);
          expect(seen.error).toBeInstanceOf(ChecksumMismatchError);
          expect(seen.error).toMatchObject({ code: 'ChecksumMismatch', message: new RegExp(`store a: the ${size} bytes read are not the image's`) });
        }
        // Piped to a file, the pipeline rejects: the download is not taken for a whole image.
        const { stream } = await ms.get(image.location, { verify: { checksum: image.checksum } });
        const { pipeline } = await import('node:stream/promises');
        const { createWriteStream } = await import('node:fs');
        await expect(pipeline(stream, createWriteStream(path.join(root, 'download')))).rejects.toMatchObject({ code: 'ChecksumMismatch' });
      }
    } finally {
      await ms.close();
    }
  });

  it('a ranged get with verify, or verify with nothing to compare, is refused before anything is read', async () => {
    const ms = await MultiStore.create(config());
    try {
      const image = await ms.add(randomUUID(), randomBytes(1000));
      await expect(ms.get(image.location, { offset: 10, verify: { checksum: image.checksum } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: /ranged get cannot be verified/ });
      await expect(ms.get(image.location, { length: 10, verify: { checksum: image.checksum } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      await expect(ms.get(image.location, { verify: {} })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', message: /needs "checksum" or "multihash"/ });
      await expect(ms.get(image.location, { verify: { checksum: 'zz' } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    } finally {
      await ms.close();
    }
  });

  it('a consumer that stops early releases the image and the hash workers', async () => {
    const ms = await MultiStore.create(config());
    try {
      const image = await ms.add(randomUUID(), randomBytes(8 * 1024 * 1024));
      for (let i = 0; i < 40; i++) {
        const { stream } = await ms.get(image.location, { verify: { checksum: image.checksum } });
        for await (const _chunk of stream) break;
        expect(stream.destroyed).toBe(true);
      }
      // The ring's 32 blocks are all free again: an add and a verified read still go through.
      expect((await ms.verify(image.location, { checksum: image.checksum })).ok).toBe(true);
    } finally {
      await ms.close();
    }
  });
});

describe('copy checks the copy against the source\'s hashes as its bytes go in', () => {
  it('a corrupted source is not copied: ChecksumMismatch, nothing in the target; verify: false copies it as it is', async () => {
    const ms = await MultiStore.create(config());
    try {
      const data = randomBytes(3 * 1024 * 1024 + 11);
      const image = await ms.add(randomUUID(), data);
      const good = await ms.copy(image.location, 'b', { checksum: image.checksum, multihash: image.multihash, imageId: randomUUID() });
      expect(good).toMatchObject({ checksum: image.checksum, multihash: image.multihash, size: data.length });
      await ms.delete(good.location);
      await flipByte(image.location, 1234);
      for (const expected of [{ checksum: image.checksum }, { multihash: image.multihash }]) {
        await expect(ms.copy(image.location, 'b', expected)).rejects.toMatchObject({ code: 'ChecksumMismatch', message: /differs from the expected/ });
        expect(await readdir(path.join(root, 'b'))).toEqual([]);
      }
      const stale = await ms.copy(image.location, 'b', { checksum: image.checksum, verify: false });
      expect(stale.checksum).not.toBe(image.checksum);
      expect(await readdir(path.join(root, 'b'))).toHaveLength(1);
      await ms.delete(stale.location);
      await expect(ms.copy(image.location, 'b', { verify: 'no' as unknown as boolean })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    } finally {
      await ms.close();
    }
  });
});

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

  it('keeps memory flat over a large image (ms.verify and a verified get)', async () => {
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
      // A verified get, read to its end by a consumer that keeps nothing.
      const seen = await consume((await ms.get(image.location, { verify: { checksum: image.checksum, multihash: image.multihash } })).stream);
      clearInterval(timer);
      expect(r.ok).toBe(true);
      expect(r.size).toBe(256 * 1024 * 1024);
      expect(seen).toEqual({ bytes: 256 * 1024 * 1024, ended: true });
      // 256 MiB read; what stays resident is a few blocks of the ring and the file stream's buffers.
      expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await ms.close();
    }
  });
});
