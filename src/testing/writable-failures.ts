/**
 * Conformance cases about failures: every failed add leaves the backend as
 * it was, whoever cleans up (the driver when it rejects, MultiStore when the
 * add fails after the driver finished), and a duplicate never overwrites,
 * also when adds of one id race.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AddResult } from '../multistore.js';
import { barrier, changes, md5, pieces, readAll, rejectsWithCode } from './helpers.js';
import type { SuiteContext } from './fixtures.js';

export function failureCases(ctx: SuiteContext): void {
  const { t, store, timeout, large, fixture } = ctx;

  t.it('deletes, and a deleted or missing image is NotFound', async () => {
    const ms = ctx.ms();
    const r = await ms.add(randomUUID(), randomBytes(100), { store });
    await ms.delete(r.location, { store });
    await rejectsWithCode(ms.get(r.location, { store }), 'NotFound');
    await rejectsWithCode(ms.getSize(r.location, { store }), 'NotFound');
    await rejectsWithCode(ms.delete(r.location, { store }), 'NotFound');
  }, timeout);

  t.it('rejects a duplicate image id without touching the stored image', async () => {
    const ms = ctx.ms();
    const id = randomUUID();
    const bytes = randomBytes(2000);
    const r = await ms.add(id, bytes, { store });
    try {
      await ctx.failsCleanly(() => ms.add(id, randomBytes(3000), { store }), 'Duplicate');
      assert.ok((await readAll((await ms.get(r.location, { store })).stream)).equals(bytes), 'the duplicate add changed the stored image');
    } finally {
      await ms.delete(r.location, { store });
    }
  }, timeout);

  t.it('lets one of several adds of one id at once win, and the winner\'s bytes are intact', async () => {
    // Separate store instances, as separate Glance workers: nothing in-process can serialise them.
    const adds = 3;
    const exclusive = (fixture.concurrentAdds ?? 'exclusive') === 'exclusive';
    const stores = await Promise.all(Array.from({ length: adds }, () => fixture.create({})));
    try {
      // A backend without exclusive writes is held only to what it guarantees: one-object images.
      for (const size of exclusive ? [1000, large] : [1000]) {
        const id = randomUUID();
        const images = stores.map(() => randomBytes(size));
        // Every add has read its first piece (and so checked for the image) before any goes on.
        const started = barrier(adds);
        const before = await fixture.listStored();
        const outcomes = await Promise.allSettled(
          stores.map((ms, i) => {
            const arrive = started.party();
            // An add refused before it read anything arrives when it ends, so it holds no one.
            return ms.add(id, pieces(images[i]!, 256 * 1024, { onChunk: arrive, hold: started.reached }), { store, size }).finally(arrive);
          }),
        );
        const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ i, r: o.value }] : []));
        for (const o of outcomes) {
          if (o.status === 'rejected') assert.equal((o.reason as { code?: string }).code, 'Duplicate', `a losing add failed with ${(o.reason as Error).message}`);
        }
        if (exclusive) assert.equal(won.length, 1, `${won.length} of ${adds} adds of one id succeeded`);
        else assert.ok(won.length >= 1, 'no add of the id succeeded');
        const stored = await readAll((await stores[0]!.get(won[0]!.r.location, { store })).stream);
        const owner = images.findIndex((b) => b.equals(stored));
        assert.ok(owner >= 0 && won.some((w) => w.i === owner), 'the stored image is not the bytes of an add that succeeded');
        assert.equal(md5(stored), (won.find((w) => w.i === owner)!.r as AddResult).checksum);
        await stores[0]!.delete(won[0]!.r.location, { store });
        assert.deepEqual(changes(before, await fixture.listStored()), { added: [], removed: [] }, 'the adds left something behind');
      }
    } finally {
      await Promise.all(stores.map((ms) => ms.close()));
    }
  }, timeout * 2);

  t.it('enforces the image size cap and leaves nothing behind', async () => {
    const capped = ctx.capped();
    const cap = ctx.cap;
    await ctx.failsCleanly(() => capped.add(randomUUID(), pieces(randomBytes(cap + 1), 512 * 1024), { store }), 'ImageSizeLimitExceeded');
    await ctx.failsCleanly(() => capped.add(randomUUID(), randomBytes(10), { store, size: cap + 1 }), 'ImageSizeLimitExceeded');
    const ok = await capped.add(randomUUID(), randomBytes(cap), { store });
    assert.equal(ok.size, cap);
    await capped.delete(ok.location, { store });
  }, timeout);

  t.it('rejects data shorter or longer than the declared size and leaves nothing behind', async () => {
    const ms = ctx.ms();
    await ctx.failsCleanly(() => ms.add(randomUUID(), pieces(randomBytes(large - 1), 1024 * 1024), { store, size: large }), 'SizeMismatch');
    await ctx.failsCleanly(() => ms.add(randomUUID(), pieces(randomBytes(large + 1), 1024 * 1024), { store, size: large }), 'SizeMismatch');
    await ctx.failsCleanly(() => ms.add(randomUUID(), randomBytes(10), { store, size: 11 }), 'SizeMismatch');
    await ctx.failsCleanly(() => ms.add(randomUUID(), randomBytes(10), { store, size: 0 }), 'SizeMismatch');
  }, timeout);

  t.it('stops on abort mid-stream and leaves nothing behind', async () => {
    const ms = ctx.ms();
    const ac = new AbortController();
    await ctx.failsCleanly(
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
    await ctx.failsCleanly(() => ms.add(randomUUID(), never, { store, signal: stalled.signal }), 'Aborted');
    const pre = new AbortController();
    pre.abort();
    await ctx.failsCleanly(() => ms.add(randomUUID(), randomBytes(10), { store, signal: pre.signal }), 'Aborted');
  }, timeout);

  t.it('fails on a source error mid-stream and leaves nothing behind', async () => {
    const ms = ctx.ms();
    await ctx.failsCleanly(() => ms.add(randomUUID(), pieces(randomBytes(large), 1024 * 1024, { fail: new Error('disk read error') }), { store }), 'SourceError');
    await ctx.failsCleanly(() => {
      // The stream breaks 50 ms after the add starts reading it.
      const broken = new Readable({ read() {} });
      broken.push(randomBytes(1500 * 1024));
      setTimeout(() => broken.destroy(new Error('connection reset')), 50);
      return ms.add(randomUUID(), broken, { store });
    }, 'SourceError');
  }, timeout);

  t.it('fails on a source error right after the last byte, and the driver leaves nothing behind', async () => {
    // The driver has every byte when the error comes: it must still reject and remove what it wrote.
    const ms = ctx.ms();
    for (const size of [1000, large]) {
      for (const declared of [size, undefined]) {
        const source = pieces(randomBytes(size), 1024 * 1024, { fail: new Error('connection reset after the last byte'), endDelay: 50 });
        await ctx.failsCleanly(() => ms.add(randomUUID(), source, { store, ...(declared === undefined ? {} : { size: declared }) }), 'SourceError');
      }
    }
  }, timeout);

  t.it('removes an image the driver finished when the add then fails (a copy whose checksum differs)', async () => {
    // The other half of the cleanup rule: the driver resolved, a check after the last byte
    // failed, and MultiStore removes the location the driver gave.
    const ms = ctx.ms();
    const r = await ms.add(randomUUID(), randomBytes(large), { store });
    try {
      const target = fixture.secondStoreId ?? store;
      await ctx.failsCleanly(() => ms.copy(r.location, target, { fromStore: store, imageId: randomUUID(), checksum: md5(Buffer.from('something else')) }), 'ChecksumMismatch');
    } finally {
      await ms.delete(r.location, { store });
    }
  }, timeout);

  t.it('rejects unsafe image ids before storing anything', async () => {
    const ms = ctx.ms();
    for (const bad of ['../escape', 'a/b', '', '.hidden', 'nul\0byte']) {
      await ctx.failsCleanly(() => ms.add(bad, randomBytes(10), { store }), 'InvalidImageId');
    }
  }, timeout);
}
