/**
 * Conformance cases about the data: what goes in comes back, byte for byte
 * and range by range, whatever the size (none declared, 0, large) and
 * however the source delivers it; copies between stores; closing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { MultiStore } from '../multistore.js';
import type { ImageData } from '../pipeline/source.js';
import { md5, optionalCase, pieces, readAll, rejectsWithCode, sha } from './helpers.js';
import { heldBytes } from './held-memory.js';
import type { SuiteContext } from './fixtures.js';

export function dataCases(ctx: SuiteContext): void {
  const { t, store, timeout, large, fixture } = ctx;

  /** Reads back what `add` stored, whole, by location alone, and its size. */
  async function readsBack(ms: MultiStore, location: string, bytes: Buffer, storeId = store): Promise<void> {
    const got = await ms.get(location, { store: storeId });
    assert.equal(got.size, bytes.length);
    assert.ok((await readAll(got.stream)).equals(bytes), `bytes differ for a ${bytes.length}-byte image`);
    assert.equal(await ms.getSize(location, { store: storeId }), bytes.length);
  }

  /** Adds `data` (the bytes `bytes`), checks the result and what reads back, and deletes it. */
  async function roundTrip(data: ImageData, bytes: Buffer, size?: number): Promise<void> {
    const ms = ctx.ms();
    const r = await ms.add(randomUUID(), data, { store, ...(size === undefined ? {} : { size }) });
    assert.deepEqual([r.size, r.checksum], [bytes.length, md5(bytes)]);
    await readsBack(ms, r.location, bytes);
    await ms.delete(r.location, { store });
  }

  t.it('adds and gets back the same bytes, with md5 and sha512 that match', async () => {
    const ms = ctx.ms();
    for (const size of [1, 1000, large]) {
      const bytes = randomBytes(size);
      const r = await ms.add(randomUUID(), Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]), { store, size });
      assert.equal(r.size, size);
      assert.equal(r.checksum, md5(bytes));
      assert.equal(r.multihash, sha('sha512', bytes));
      assert.equal(r.hashAlgo, 'sha512');
      assert.equal(r.metadata.store, store);
      await readsBack(ms, r.location, bytes);
      // Resolved by location alone too, as Glance does for legacy locations.
      assert.ok((await readAll((await ms.get({ url: r.location, metadata: r.metadata })).stream)).equals(bytes));
      await ms.delete(r.location, { store });
    }
  }, timeout);

  t.it('completes an add of declared size whose source reports its end late', async () => {
    // A client that stops reading at the declared size (a PUT with Content-Length) must still
    // complete the add: the data's end arrives a moment after its last byte, as over a network.
    // 2 MiB: the last byte completes a whole block of the pipeline, handed on at once.
    for (const size of [1000, 2 * 1024 * 1024, large]) {
      const bytes = randomBytes(size);
      await roundTrip(pieces(bytes, 256 * 1024, { endDelay: 200 }), bytes, size);
    }
  }, timeout);

  const streaming = fixture.streaming;
  optionalCase(t, 'streams an image of unknown size without holding it in memory', streaming?.skip, async () => {
    const ms = ctx.ms();
    const total = streaming?.imageBytes ?? 64 * 1024 * 1024;
    const limit = streaming?.maxGrowthBytes ?? 32 * 1024 * 1024;
    const chunk = randomBytes(1024 * 1024);
    const hash = createHash('md5');
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    // What the process allocates once, at its first add (the hash worker's ring, a driver's
    // connections), is not what this add holds: a small add first, so the baseline includes it.
    // Two blocks of unknown size, as the image below comes, so it takes the same path.
    const warm = await ms.add(randomUUID(), [chunk, chunk], { store });
    await ms.delete(warm.location, { store });
    // What earlier calls still reference for a moment (streams that end on a later turn) goes first.
    await new Promise((resolve) => setImmediate(resolve));
    // What the process references, after a full collection, at each quarter of the image: a
    // figure that does not depend on the heap earlier cases left (as a resident-set peak does).
    const baseline = heldBytes();
    let held = 0;
    let heldAt = 0;
    const source = (async function* () {
      let nextSample = total / 4;
      for (let sent = 0; sent < total; sent += chunk.length) {
        if (sent >= nextSample) {
          const now = heldBytes() - baseline;
          if (now > held) [held, heldAt] = [now, sent];
          nextSample += total / 4;
        }
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        hash.update(piece);
        yield piece;
      }
    })();
    // The resident set as well, for memory outside the JavaScript heap (a native client's buffers).
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const r = await ms.add(randomUUID(), source, { store }).finally(() => clearInterval(timer));
    try {
      assert.equal(r.size, total);
      assert.equal(r.checksum, hash.digest('hex'));
      assert.ok(held < limit, `${mib(held)} were held after ${mib(heldAt)} of a ${mib(total)} image had been read (limit ${mib(limit)})`);
      assert.ok(peak - before < limit, `memory grew by ${mib(peak - before)} while streaming ${mib(total)} (limit ${mib(limit)})`);
      assert.equal(await ms.getSize(r.location, { store }), total);
    } finally {
      await ms.delete(r.location, { store });
    }
  }, timeout);

  t.it('stores what a source that reuses its buffer meant, and hashes what it stored', async () => {
    // A source may refill the buffer it handed over as soon as the next chunk is asked for:
    // what is stored, and what checksum and multihash describe, is what each chunk held when given.
    const ms = ctx.ms();
    const piece = 64 * 1024 + 3;
    const count = Math.ceil(large / piece);
    const meant = randomBytes(count * piece);
    const refilled = (i: number, into: Buffer) => meant.copy(into, 0, i * piece, (i + 1) * piece);
    const generator = (async function* () {
      const one = Buffer.alloc(piece);
      for (let i = 0; i < count; i++) {
        refilled(i, one);
        yield one;
      }
    })();
    const one = Buffer.alloc(piece);
    let i = 0;
    const pushed = new Readable({
      read() {
        if (i === count) return void this.push(null);
        refilled(i++, one);
        this.push(one);
      },
    });
    for (const [kind, source] of [['an async generator', generator], ['a Readable', pushed]] as const) {
      const r = await ms.add(randomUUID(), source, { store });
      try {
        const stored = await readAll((await ms.get(r.location, { store })).stream);
        // A Readable may refill its buffer inside read(), before any consumer sees it: what it
        // meant is then not defined, but the hashes must still describe what was stored.
        if (kind === 'an async generator') assert.ok(stored.equals(meant), `${kind} that reuses its buffer: the stored bytes are not the bytes it gave`);
        assert.equal(stored.length, meant.length, `${kind}: the stored size`);
        assert.equal(r.checksum, md5(stored), `${kind}: the checksum does not describe the stored bytes`);
        assert.equal(r.multihash, sha('sha512', stored), `${kind}: the multihash does not describe the stored bytes`);
      } finally {
        await ms.delete(r.location, { store });
      }
    }
  }, timeout);

  t.it('stores an image added with no size at all', async () => {
    for (const size of [1, large]) {
      const bytes = randomBytes(size);
      await roundTrip(pieces(bytes, 256 * 1024), bytes);
    }
  }, timeout);

  t.it('stores a 0-byte image, with size 0 declared or no size', async () => {
    const ms = ctx.ms();
    const empty = Buffer.alloc(0);
    const ranged = ms.store(store).capabilities().has('read-random');
    for (const [data, size] of [[empty, undefined], [[] as Uint8Array[], 0], [[] as Uint8Array[], undefined]] as const) {
      const r = await ms.add(randomUUID(), data, { store, ...(size === undefined ? {} : { size }) });
      assert.equal(r.size, 0);
      assert.equal(r.checksum, md5(empty));
      assert.equal(r.multihash, sha('sha512', empty));
      await readsBack(ms, r.location, empty);
      if (ranged) {
        assert.equal((await readAll((await ms.get(r.location, { store, offset: 0 })).stream)).length, 0);
        await rejectsWithCode(ms.get(r.location, { store, offset: 1 }), 'InvalidRange', /\(0 bytes\)/);
      }
      await ms.delete(r.location, { store });
    }
  }, timeout);

  t.it('computes the multihash with the requested algorithm', async () => {
    const ms = ctx.ms();
    const bytes = randomBytes(5000);
    for (const [algo, node] of [['sha256', 'sha256'], ['sha3_512', 'sha3-512']] as const) {
      const r = await ms.add(randomUUID(), bytes, { store, hashAlgo: algo });
      assert.equal(r.hashAlgo, algo);
      assert.equal(r.multihash, sha(node, bytes));
      await ms.delete(r.location, { store });
    }
  }, timeout);

  t.it('serves ranged reads, to the very end; one past the end is cut, one starting past it is InvalidRange', async () => {
    const ms = ctx.ms();
    const bytes = randomBytes(large);
    const r = await ms.add(randomUUID(), bytes, { store });
    try {
      if (!ms.store(store).capabilities().has('read-random')) {
        await rejectsWithCode(ms.get(r.location, { store, offset: 1, length: 2 }), 'RandomGetNotSupported');
        return;
      }
      const range = async (offset: number, length: number | undefined, expected: Buffer) => {
        const got = await ms.get(r.location, { store, offset, ...(length === undefined ? {} : { length }) });
        assert.equal(got.size, expected.length, `size of range ${offset}+${length}`);
        assert.ok((await readAll(got.stream)).equals(expected), `bytes of range ${offset}+${length}`);
      };
      for (const [offset, length] of [[0, 1], [1, 10], [1024 * 1024 - 3, 7], [large - 5, 5], [12345, 2 * 1024 * 1024], [large - 1, 1]] as const) {
        await range(offset, length, bytes.subarray(offset, offset + length));
      }
      await range(large - 10, undefined, bytes.subarray(large - 10));
      // Past the end: cut at the end; from the end itself: empty; starting past it: an error naming the size.
      await range(large - 3, 10, bytes.subarray(large - 3));
      await range(large, 10, Buffer.alloc(0));
      await range(large, undefined, Buffer.alloc(0));
      await rejectsWithCode(ms.get(r.location, { store, offset: large + 1 }), 'InvalidRange', new RegExp(`\\(${large} bytes\\)`));
      await rejectsWithCode(ms.get(r.location, { store, offset: large + 1, length: 1 }), 'InvalidRange');
      // Not a byte count: refused with the other arguments, before any I/O.
      for (const [offset, length] of [[-1, 1], [1.5, 1], [0, -1], [0, 0.5]]) {
        await rejectsWithCode(ms.get(r.location, { store, offset, length }), 'ERR_OUT_OF_RANGE');
      }
    } finally {
      await ms.delete(r.location, { store });
    }
  }, timeout);

  const second = fixture.secondStoreId;
  optionalCase(t, 'copies an image to another store of the driver, hashes checked', second ? undefined : 'the fixture has no secondStoreId', async () => {
    const second = fixture.secondStoreId!;
    const ms = ctx.ms();
    for (const bytes of [randomBytes(large), Buffer.alloc(0)]) {
      const r = await ms.add(randomUUID(), bytes, { store });
      const copy = await ms.copy(r.location, second, { fromStore: store, imageId: randomUUID(), checksum: r.checksum, multihash: r.multihash });
      try {
        assert.deepEqual([copy.size, copy.checksum, copy.multihash, copy.metadata.store], [bytes.length, r.checksum, r.multihash, second]);
        assert.notEqual(copy.location, r.location);
        await readsBack(ms, copy.location, bytes, second);
      } finally {
        await ms.delete(copy.location, { store: second });
        await ms.delete(r.location, { store });
      }
    }
  }, timeout);

  t.it('handles 16 concurrent adds', async () => {
    const ms = ctx.ms();
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
    const ms = ctx.ms();
    const bytes = randomBytes(3000);
    const r = await ms.add(randomUUID(), Readable.toWeb(Readable.from([bytes])) as ReadableStream<Uint8Array>, { store });
    assert.equal(r.checksum, md5(bytes));
    await ms.delete(r.location, { store });
    await ctx.failsCleanly(() => ms.add(randomUUID(), ['not bytes'] as unknown as Iterable<Uint8Array>, { store }), 'SourceError');
  }, timeout);

  t.it('closes twice without error, and refuses calls once closed', async () => {
    const ms = await fixture.create({});
    const r = await ms.add(randomUUID(), randomBytes(1000), { store });
    assert.equal((await readAll((await ms.get(r.location, { store })).stream)).length, 1000);
    await ms.delete(r.location, { store });
    const driver = ms.rawDriver(store);
    await driver.close();
    await driver.close();
    await ms.close();
    await ms.close();
    await rejectsWithCode(ms.add(randomUUID(), randomBytes(10), { store }), 'BackendUnavailable');
  }, timeout);
}
