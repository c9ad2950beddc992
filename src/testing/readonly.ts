/**
 * The conformance suite for read-only stores (http): gets, sizes and ranges,
 * images whose size the backend does not tell, copies out of the store, and
 * refused writes.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { MultiStore } from '../multistore.js';
import type { ReadOnlyFixture } from './fixtures.js';
import { faultCases } from './faults.js';
import { md5, optionalCase, readAll, rejectsWithCode, type TestApi } from './helpers.js';

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

    t.it('serves ranged reads, to the very end; one past the end is cut, one starting past it is InvalidRange', async () => {
      const bytes = randomBytes(2 * 1024 * 1024 + 11);
      const n = bytes.length;
      const location = await fixture.seed(randomUUID(), bytes);
      for (const [offset, length] of [[0, 1], [100, 1000], [n - 3, 3], [n - 1, 1], [n - 3, 10], [n, 10]] as const) {
        const got = await ms.get(location, { store, offset, length });
        const expected = bytes.subarray(offset, offset + length);
        assert.equal(got.size, expected.length, `size of range ${offset}+${length}`);
        assert.ok((await readAll(got.stream)).equals(expected), `bytes of range ${offset}+${length}`);
      }
      await rejectsWithCode(ms.get(location, { store, offset: n + 1, length: 1 }), 'InvalidRange', new RegExp(`\\(${n} bytes\\)`));
    }, timeout);

    const noUnknownSize = fixture.seedOfUnknownSize ? undefined : 'the fixture has no seedOfUnknownSize';
    const noCopyTarget = fixture.copyTarget ? undefined : 'the fixture has no copyTarget';
    optionalCase(t, 'serves an image whose size the backend does not tell', noUnknownSize, async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 5);
      const location = await fixture.seedOfUnknownSize!(randomUUID(), bytes);
      const got = await ms.get(location, { store });
      assert.equal(got.size, undefined, 'a size the backend did not tell');
      assert.ok((await readAll(got.stream)).equals(bytes));
      assert.equal(await ms.getSize(location, { store }), undefined);
      const part = await ms.get(location, { store, offset: 100, length: 1000 });
      assert.ok((await readAll(part.stream)).equals(bytes.subarray(100, 1100)));
    }, timeout);

    optionalCase(t, 'copies an image whose size the backend does not tell into a writable store', noUnknownSize ?? noCopyTarget, async () => {
      const bytes = randomBytes(3 * 1024 * 1024 + 5);
      const location = await fixture.seedOfUnknownSize!(randomUUID(), bytes);
      const copy = await ms.copy(location, fixture.copyTarget!, { imageId: randomUUID(), checksum: md5(bytes) });
      try {
        assert.equal(copy.size, bytes.length);
        assert.ok((await readAll((await ms.get(copy.location, { store: fixture.copyTarget! })).stream)).equals(bytes));
      } finally {
        await ms.delete(copy.location, { store: fixture.copyTarget! });
      }
    }, timeout);

    optionalCase(t, 'copies an image of known size into a writable store', noCopyTarget, async () => {
      for (const bytes of [randomBytes(1024 * 1024 + 3), Buffer.alloc(0)]) {
        const location = await fixture.seed(randomUUID(), bytes);
        const copy = await ms.copy(location, fixture.copyTarget!, { imageId: randomUUID(), checksum: md5(bytes) });
        assert.equal(copy.size, bytes.length);
        await ms.delete(copy.location, { store: fixture.copyTarget! });
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

    faultCases({
      t,
      store,
      timeout,
      fixture: fixture.faults,
      imageBytes: 3 * 1024 * 1024 + 5,
      seed: async (_ms, bytes, proxy) => ({ location: await fixture.faults!.seed(randomUUID(), bytes, proxy), remove: async () => undefined }),
    });

    t.it('closes twice without error', async () => {
      const own = await fixture.create({});
      const location = await fixture.seed(randomUUID(), randomBytes(100));
      assert.equal((await readAll((await own.get(location, { store })).stream)).length, 100);
      await own.rawDriver(store).close();
      await own.rawDriver(store).close();
      await own.close();
      await own.close();
    }, timeout);
  });
}
