/**
 * The driver conformance suite, published as `glance-store/testing`. Any
 * driver, built in or third-party, runs it against a real configured store:
 *
 * ```ts
 * import { describe, it, beforeAll, afterAll } from 'vitest';
 * import { runStoreConformance } from 'glance-store/testing';
 * runStoreConformance({ describe, it, beforeAll, afterAll }, {
 *   name: 'my-driver',
 *   storeId: 'mine',
 *   create: (opts) => MultiStore.create(parseConfig(conf), opts),
 *   listStored: async () => [...names of what the backend holds],
 * });
 * ```
 *
 * It is framework-neutral (assertions use node:assert) and checks what a
 * user would: bytes round-trip, hashes match, every failure leaves nothing
 * behind in the backend, a duplicate never overwrites.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { MultiStore, MultiStoreOptions } from '../../src/multistore.js';

export interface TestApi {
  describe: (name: string, fn: () => void) => void;
  it: (name: string, fn: () => Promise<void>, timeout?: number) => void;
  beforeAll: (fn: () => Promise<void>, timeout?: number) => void;
  afterAll: (fn: () => Promise<void>, timeout?: number) => void;
}

export interface WritableFixture {
  /** Shown in test names. */
  name: string;
  /** Id of the store under test inside the MultiStore that `create` returns. */
  storeId: string;
  /** Builds a MultiStore holding the store; the suite passes a size cap etc. */
  create(options: MultiStoreOptions): Promise<MultiStore>;
  /**
   * Everything the backend holds for this store (file names, objects, rbd
   * images, segments, pending multipart uploads...), so the suite can assert
   * that failures leave nothing behind. Order does not matter.
   */
  listStored(): Promise<string[]>;
  /** A size that crosses the driver's chunk, part or segment boundaries (default 9 MiB + 7). */
  largeImageBytes?: number;
  /** Per-test timeout in ms (default 60 s). */
  timeout?: number;
  /**
   * Streams an image of this many bytes, of unknown size, and checks that the
   * process grows by less than `maxGrowthBytes` meanwhile (default: 64 MiB
   * image, 32 MiB growth). Drivers that must buffer set what they hold in
   * flight (parts x part size) plus room for the runtime.
   */
  streaming?: { imageBytes?: number; maxGrowthBytes?: number };
}

export interface ReadOnlyFixture {
  name: string;
  storeId: string;
  create(options: MultiStoreOptions): Promise<MultiStore>;
  /** Makes `bytes` readable through the store and returns its location. */
  seed(imageId: string, bytes: Buffer): Promise<string>;
  /** A location of the store's scheme that holds nothing. */
  missingLocation(): string;
  timeout?: number;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');

/** Every byte of a stream, in one Buffer (for tests that compare images). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

/** A source that yields `bytes` in pieces, then optionally fails or stalls. */
function pieces(bytes: Buffer, piece: number, after?: { fail?: Error; onChunk?: (i: number) => void }): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      let i = 0;
      for (let off = 0; off < bytes.length; off += piece) {
        after?.onChunk?.(i++);
        yield bytes.subarray(off, Math.min(off + piece, bytes.length));
        await new Promise((r) => setImmediate(r));
      }
      if (after?.fail) throw after.fail;
    },
  };
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal((err as { code?: string }).code, code, `expected code ${code}, got ${(err as { code?: string }).code}: ${(err as Error).message}`);
    return true;
  });
}

const sorted = (xs: string[]) => [...xs].sort();

export function runStoreConformance(t: TestApi, fixture: WritableFixture): void {
  const timeout = fixture.timeout ?? 60_000;
  const large = fixture.largeImageBytes ?? 9 * 1024 * 1024 + 7;
  let ms: MultiStore;
  let capped: MultiStore;
  const CAP = 3 * 1024 * 1024;
  const store = fixture.storeId;

  /** Runs a failing add and checks the backend holds exactly what it held before. */
  async function failsCleanly(run: () => Promise<unknown>, code: string): Promise<void> {
    const before = sorted(await fixture.listStored());
    await rejectsWithCode(run(), code);
    const after = sorted(await fixture.listStored());
    const added = after.filter((x) => !before.includes(x));
    const removed = before.filter((x) => !after.includes(x));
    assert.deepEqual({ added, removed }, { added: [], removed: [] }, 'a failed add changed what the backend holds');
  }

  t.describe(`conformance: ${fixture.name}`, () => {
    t.beforeAll(async () => {
      ms = await fixture.create({});
      capped = await fixture.create({ imageSizeCap: CAP });
    }, 120_000);
    t.afterAll(async () => {
      await ms?.close();
      await capped?.close();
    });

    t.it('adds and gets back the same bytes, with md5 and sha512 that match', async () => {
      for (const size of [1, 1000, large]) {
        const id = randomUUID();
        const bytes = randomBytes(size);
        const r = await ms.add(id, Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]), { store, size });
        assert.equal(r.size, size);
        assert.equal(r.checksum, md5(bytes));
        assert.equal(r.multihash, sha('sha512', bytes));
        assert.equal(r.hashAlgo, 'sha512');
        assert.equal(r.metadata.store, store);
        const got = await ms.get(r.location, { store });
        assert.equal(got.size, size);
        assert.ok((await readAll(got.stream)).equals(bytes), `bytes differ for a ${size}-byte image`);
        assert.equal(await ms.getSize(r.location, { store }), size);
        // Resolved by location alone too, as Glance does for legacy locations.
        assert.ok((await readAll((await ms.get({ url: r.location, metadata: r.metadata })).stream)).equals(bytes));
        await ms.delete(r.location, { store });
      }
    }, timeout);

    t.it('streams an image of unknown size without holding it in memory', async () => {
      const total = fixture.streaming?.imageBytes ?? 64 * 1024 * 1024;
      const limit = fixture.streaming?.maxGrowthBytes ?? 32 * 1024 * 1024;
      const chunk = randomBytes(1024 * 1024);
      const hash = createHash('md5');
      const source = (async function* () {
        for (let sent = 0; sent < total; sent += chunk.length) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
          hash.update(piece);
          yield piece;
        }
      })();
      const before = process.memoryUsage().rss;
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      const r = await ms.add(randomUUID(), source, { store }).finally(() => clearInterval(timer));
      try {
        assert.equal(r.size, total);
        assert.equal(r.checksum, hash.digest('hex'));
        assert.ok(peak - before < limit, `memory grew by ${((peak - before) / 2 ** 20).toFixed(0)} MiB while streaming ${(total / 2 ** 20).toFixed(0)} MiB (limit ${(limit / 2 ** 20).toFixed(0)} MiB)`);
        assert.equal(await ms.getSize(r.location, { store }), total);
      } finally {
        await ms.delete(r.location, { store });
      }
    }, timeout);

    t.it('stores an image of unknown size (no declared size)', async () => {
      const bytes = randomBytes(large);
      const r = await ms.add(randomUUID(), pieces(bytes, 256 * 1024), { store });
      assert.equal(r.size, large);
      assert.ok((await readAll((await ms.get(r.location, { store })).stream)).equals(bytes));
      await ms.delete(r.location, { store });
    }, timeout);

    t.it('stores a 0-byte image', async () => {
      const r = await ms.add(randomUUID(), Buffer.alloc(0), { store });
      assert.equal(r.size, 0);
      assert.equal(r.checksum, md5(Buffer.alloc(0)));
      assert.equal(r.multihash, sha('sha512', Buffer.alloc(0)));
      assert.equal((await readAll((await ms.get(r.location, { store })).stream)).length, 0);
      assert.equal(await ms.getSize(r.location, { store }), 0);
      await ms.delete(r.location, { store });
    }, timeout);

    t.it('computes the multihash with the requested algorithm', async () => {
      const bytes = randomBytes(5000);
      for (const [algo, node] of [['sha256', 'sha256'], ['sha3_512', 'sha3-512']] as const) {
        const r = await ms.add(randomUUID(), bytes, { store, hashAlgo: algo });
        assert.equal(r.hashAlgo, algo);
        assert.equal(r.multihash, sha(node, bytes));
        await ms.delete(r.location, { store });
      }
    }, timeout);

    t.it('serves ranged reads', async () => {
      const bytes = randomBytes(large);
      const r = await ms.add(randomUUID(), bytes, { store });
      try {
        const caps = ms.store(store).capabilities();
        if (!caps.has('read-random')) {
          await rejectsWithCode(ms.get(r.location, { store, offset: 1, length: 2 }), 'RandomGetNotSupported');
          return;
        }
        for (const [offset, length] of [
          [0, 1],
          [1, 10],
          [1024 * 1024 - 3, 7],
          [large - 5, 5],
          [12345, 2 * 1024 * 1024],
        ] as const) {
          const got = await ms.get(r.location, { store, offset, length });
          assert.equal(got.size, length);
          assert.ok((await readAll(got.stream)).equals(bytes.subarray(offset, offset + length)), `range ${offset}+${length}`);
        }
        const tail = await ms.get(r.location, { store, offset: large - 10 });
        assert.ok((await readAll(tail.stream)).equals(bytes.subarray(large - 10)));
        // A range running past the end is cut at the end; one starting at the end is empty.
        const clipped = await ms.get(r.location, { store, offset: large - 3, length: 10 });
        assert.equal(clipped.size, 3);
        assert.ok((await readAll(clipped.stream)).equals(bytes.subarray(large - 3)));
        const past = await ms.get(r.location, { store, offset: large, length: 10 });
        assert.equal(past.size, 0);
        assert.equal((await readAll(past.stream)).length, 0);
      } finally {
        await ms.delete(r.location, { store });
      }
    }, timeout);

    t.it('deletes, and a deleted or missing image is NotFound', async () => {
      const r = await ms.add(randomUUID(), randomBytes(100), { store });
      await ms.delete(r.location, { store });
      await rejectsWithCode(ms.get(r.location, { store }), 'NotFound');
      await rejectsWithCode(ms.getSize(r.location, { store }), 'NotFound');
      await rejectsWithCode(ms.delete(r.location, { store }), 'NotFound');
    }, timeout);

    t.it('rejects a duplicate image id without touching the stored image', async () => {
      const id = randomUUID();
      const bytes = randomBytes(2000);
      const r = await ms.add(id, bytes, { store });
      try {
        await failsCleanly(() => ms.add(id, randomBytes(3000), { store }), 'Duplicate');
        assert.ok((await readAll((await ms.get(r.location, { store })).stream)).equals(bytes), 'the duplicate add changed the stored image');
      } finally {
        await ms.delete(r.location, { store });
      }
    }, timeout);

    t.it('enforces the image size cap and leaves nothing behind', async () => {
      await failsCleanly(() => capped.add(randomUUID(), pieces(randomBytes(CAP + 1), 512 * 1024), { store }), 'ImageSizeLimitExceeded');
      await failsCleanly(() => capped.add(randomUUID(), randomBytes(10), { store, size: CAP + 1 }), 'ImageSizeLimitExceeded');
      const ok = await capped.add(randomUUID(), randomBytes(CAP), { store });
      assert.equal(ok.size, CAP);
      await capped.delete(ok.location, { store });
    }, timeout);

    t.it('rejects data shorter or longer than the declared size and leaves nothing behind', async () => {
      await failsCleanly(() => ms.add(randomUUID(), pieces(randomBytes(large - 1), 1024 * 1024), { store, size: large }), 'SizeMismatch');
      await failsCleanly(() => ms.add(randomUUID(), pieces(randomBytes(large + 1), 1024 * 1024), { store, size: large }), 'SizeMismatch');
      await failsCleanly(() => ms.add(randomUUID(), randomBytes(10), { store, size: 11 }), 'SizeMismatch');
    }, timeout);

    t.it('stops on abort mid-stream and leaves nothing behind', async () => {
      const ac = new AbortController();
      await failsCleanly(
        () => ms.add(randomUUID(), pieces(randomBytes(large), 1024 * 1024, { onChunk: (i) => i === 3 && ac.abort() }), { store, signal: ac.signal }),
        'Aborted',
      );
      // A source that stalls forever cannot hold an aborted add.
      const stalled = new AbortController();
      const never: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator]() {
          yield randomBytes(2 * 1024 * 1024);
          await new Promise(() => undefined);
        },
      };
      setTimeout(() => stalled.abort(), 300);
      await failsCleanly(() => ms.add(randomUUID(), never, { store, signal: stalled.signal }), 'Aborted');
      const pre = new AbortController();
      pre.abort();
      await failsCleanly(() => ms.add(randomUUID(), randomBytes(10), { store, signal: pre.signal }), 'Aborted');
    }, timeout);

    t.it('fails on a source error mid-stream and leaves nothing behind', async () => {
      await failsCleanly(() => ms.add(randomUUID(), pieces(randomBytes(large), 1024 * 1024, { fail: new Error('disk read error') }), { store }), 'SourceError');
      await failsCleanly(() => {
        // The stream breaks 50 ms after the add starts reading it.
        const broken = new Readable({ read() {} });
        broken.push(randomBytes(1500 * 1024));
        setTimeout(() => broken.destroy(new Error('connection reset')), 50);
        return ms.add(randomUUID(), broken, { store });
      }, 'SourceError');
    }, timeout);

    t.it('handles 16 concurrent adds', async () => {
      const images = Array.from({ length: 16 }, (_, i) => ({ id: randomUUID(), bytes: randomBytes(64 * 1024 + i * 77_777) }));
      const results = await Promise.all(images.map((im) => ms.add(im.id, pieces(im.bytes, 100_000), { store })));
      await Promise.all(
        results.map(async (r, i) => {
          assert.equal(r.checksum, md5(images[i]!.bytes));
          assert.ok((await readAll((await ms.get(r.location, { store })).stream)).equals(images[i]!.bytes));
        }),
      );
      await Promise.all(results.map((r) => ms.delete(r.location, { store })));
    }, timeout);

    t.it('accepts a web ReadableStream and rejects string chunks', async () => {
      const bytes = randomBytes(3000);
      const r = await ms.add(randomUUID(), Readable.toWeb(Readable.from([bytes])) as ReadableStream<Uint8Array>, { store });
      assert.equal(r.checksum, md5(bytes));
      await ms.delete(r.location, { store });
      await failsCleanly(() => ms.add(randomUUID(), ['not bytes'] as unknown as Iterable<Uint8Array>, { store }), 'SourceError');
    }, timeout);

    t.it('rejects unsafe image ids before storing anything', async () => {
      for (const bad of ['../escape', 'a/b', '', '.hidden', 'nul\0byte']) {
        await failsCleanly(() => ms.add(bad, randomBytes(10), { store }), 'InvalidImageId');
      }
    }, timeout);

    t.it('leaves the backend as it found it', async () => {
      assert.deepEqual(await fixture.listStored(), [], 'images or partial data remain in the backend after the suite');
    }, timeout);
  });
}

export function runReadOnlyConformance(t: TestApi, fixture: ReadOnlyFixture): void {
  const timeout = fixture.timeout ?? 60_000;
  let ms: MultiStore;
  const store = fixture.storeId;
  t.describe(`conformance (read-only): ${fixture.name}`, () => {
    t.beforeAll(async () => {
      ms = await fixture.create({});
    }, 120_000);
    t.afterAll(async () => {
      await ms?.close();
    });

    t.it('gets the bytes and size of an image', async () => {
      for (const size of [0, 1, 3 * 1024 * 1024 + 5]) {
        const bytes = randomBytes(size);
        const location = await fixture.seed(randomUUID(), bytes);
        const got = await ms.get(location, { store });
        assert.equal(got.size, size);
        assert.ok((await readAll(got.stream)).equals(bytes));
        assert.equal(await ms.getSize(location, { store }), size);
        assert.ok((await readAll((await ms.get(location)).stream)).equals(bytes), 'resolving by scheme');
      }
    }, timeout);

    t.it('serves ranged reads', async () => {
      const bytes = randomBytes(2 * 1024 * 1024 + 11);
      const location = await fixture.seed(randomUUID(), bytes);
      for (const [offset, length] of [
        [0, 1],
        [100, 1000],
        [bytes.length - 3, 3],
      ] as const) {
        const got = await ms.get(location, { store, offset, length });
        assert.equal(got.size, length);
        assert.ok((await readAll(got.stream)).equals(bytes.subarray(offset, offset + length)));
      }
    }, timeout);

    t.it('reports a missing image as NotFound', async () => {
      await rejectsWithCode(ms.get(fixture.missingLocation(), { store }), 'NotFound');
      await rejectsWithCode(ms.getSize(fixture.missingLocation(), { store }), 'NotFound');
    }, timeout);

    t.it('refuses writes before reading any data', async () => {
      let read = false;
      const source: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator]() {
          read = true;
          yield Buffer.from('x');
        },
      };
      await rejectsWithCode(ms.add(randomUUID(), source, { store }), 'ReadOnlyStore');
      assert.equal(read, false, 'the read-only store read the data');
      const location = await fixture.seed(randomUUID(), randomBytes(10));
      await rejectsWithCode(ms.delete(location, { store }), 'ReadOnlyStore');
      assert.equal(ms.info().find((s) => s.id === store)?.['read-only'], true);
    }, timeout);
  });
}
