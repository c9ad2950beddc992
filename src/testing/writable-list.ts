/**
 * Conformance cases for a driver that declares `list` (and `leftovers`):
 * an added image is listed once, with its size and location, a deleted one
 * is not, and an add that has not finished (what a process that died
 * mid-add leaves) is never listed as an image, while `leftovers` lists it.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { MultiStore } from '../multistore.js';
import type { ListedImage, StoreLeftover } from '../driver.js';
import type { SuiteContext } from './fixtures.js';

async function collect<T>(entries: AsyncIterable<T>, keep: (e: T) => boolean): Promise<T[]> {
  const found: T[] = [];
  for await (const e of entries) if (keep(e)) found.push(e);
  return found;
}

const listedAs = (ms: MultiStore, store: string, id: string): Promise<ListedImage[]> => collect(ms.list(store), (i) => i.id === id);
const leftoversOf = (ms: MultiStore, store: string, id: string): Promise<StoreLeftover[]> =>
  collect(ms.leftovers(store), (l) => l.imageId === id || l.location.includes(id));

export function listCases(ctx: SuiteContext): void {
  const { t, store, timeout, large } = ctx;
  const driver = () => ctx.ms().rawDriver(store);
  // Whether the driver lists is known once the store has started. One that cannot must say so.
  const refusesToList = async () => {
    await assert.rejects(collect(ctx.ms().list(store), () => true), (err: { code?: string }) => err.code === 'Forbidden');
  };

  t.it('lists an added image once, with its size and location, and a deleted one not at all', async () => {
    if (!driver().list) return refusesToList();
    const ms = ctx.ms();
    const id = randomUUID();
    const r = await ms.add(id, randomBytes(large), { store });
    try {
      const listed = await listedAs(ms, store, id);
      assert.equal(listed.length, 1, `the image was listed ${listed.length} times`);
      const { since, ...image } = listed[0]!;
      assert.deepEqual(image, { id, size: large, location: r.location });
      // An age, where given, is the add's: not in the future, not long past (clocks a few seconds apart).
      if (since) assert.ok(Math.abs(Date.now() - since.getTime()) < 120_000, `listed as written at ${since.toISOString()}`);
      assert.equal(await ms.locationFor(store, id).catch(() => r.location), r.location, 'locationFor names another location than the add wrote');
    } finally {
      await ms.delete(r.location, { store });
    }
    assert.deepEqual(await listedAs(ms, store, id), [], 'a deleted image is still listed');
  }, timeout);

  t.it('never lists an add that has not finished as an image; leftovers() lists what it wrote', async () => {
    if (!driver().list) return refusesToList();
    const ms = ctx.ms();
    const id = randomUUID();
    const bytes = randomBytes(large);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let sent = 0;
    const source = (async function* () {
      // Most of the image, then nothing until the case has looked: an add a crash would stop here.
      for (; sent < bytes.length - 1024; sent += 256 * 1024) yield bytes.subarray(sent, Math.min(sent + 256 * 1024, bytes.length - 1024));
      await held;
      throw new Error('the source failed on purpose');
    })();
    const add = ms.add(id, source, { store });
    add.catch(() => undefined);
    try {
      let seen: StoreLeftover[] = [];
      const until = Date.now() + 15_000;
      do {
        await new Promise((r) => setTimeout(r, 250));
        assert.deepEqual(await listedAs(ms, store, id), [], 'an add still running is listed as an image');
        if (!driver().leftovers) break;
        seen = await leftoversOf(ms, store, id);
      } while (seen.length === 0 && Date.now() < until);
      if (driver().leftovers) {
        assert.ok(seen.length > 0, 'leftovers() does not list what an unfinished add wrote');
        for (const l of seen) assert.ok(l.kind && (l.since === undefined || l.since instanceof Date), `a leftover without kind or age: ${JSON.stringify(l)}`);
      }
    } finally {
      release();
      await assert.rejects(add);
    }
    assert.deepEqual(await listedAs(ms, store, id), [], 'a failed add is listed as an image');
  }, timeout);
}
