/**
 * The conformance suite for stores that can be written: what every
 * writable driver must do, checked against its real backend.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { MultiStore } from '../multistore.js';
import type { SuiteContext, WritableFixture } from './fixtures.js';
import { failsCleanly, type TestApi } from './helpers.js';
import { dataCases } from './writable-data.js';
import { failureCases } from './writable-failures.js';
import { faultCases } from './faults.js';
import { listCases } from './writable-list.js';

export function runStoreConformance(t: TestApi, fixture: WritableFixture): void {
  let ms: MultiStore | undefined;
  let capped: MultiStore | undefined;
  const ctx: SuiteContext = {
    t,
    fixture,
    store: fixture.storeId,
    timeout: fixture.timeout ?? 60_000,
    large: fixture.largeImageBytes ?? 9 * 1024 * 1024 + 7,
    cap: 3 * 1024 * 1024,
    ms: () => ms!,
    capped: () => capped!,
    failsCleanly: (run, code) => failsCleanly(() => fixture.listStored(), run, code),
  };

  t.describe(`conformance: ${fixture.name}`, () => {
    t.beforeAll(async () => {
      ms = await fixture.create({});
      capped = await fixture.create({ imageSizeCap: ctx.cap });
    }, 120_000);
    t.afterAll(async () => {
      await ms?.close();
      await capped?.close();
    });

    dataCases(ctx);
    failureCases(ctx);
    listCases(ctx);
    faultCases({
      t,
      store: ctx.store,
      timeout: ctx.timeout,
      fixture: fixture.faults,
      imageBytes: ctx.large,
      listStored: () => fixture.listStored(),
      seed: async (ms, bytes) => {
        const r = await ms.add(randomUUID(), bytes, { store: ctx.store });
        return { location: r.location, remove: () => ms.delete(r.location, { store: ctx.store }) };
      },
    });

    t.it('leaves the backend as it found it', async () => {
      assert.deepEqual(await fixture.listStored(), [], 'images or partial data remain in the backend after the suite');
    }, ctx.timeout);
  });
}
