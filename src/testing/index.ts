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
 *   secondStoreId: 'mine2',
 *   create: (opts) => MultiStore.create(parseConfig(conf), opts),
 *   listStored: async () => [...names of what the backend holds],
 * });
 * ```
 *
 * It is framework-neutral (assertions use node:assert; any runner with
 * describe/it/beforeAll/afterAll will do) and checks what a user would:
 * bytes round-trip, hashes match, every failure leaves nothing behind in
 * the backend, a duplicate never overwrites.
 */
export { runStoreConformance } from './writable.js';
export { runReadOnlyConformance } from './readonly.js';
export { readAll, type TestApi } from './helpers.js';
export type { WritableFixture, ReadOnlyFixture, FaultFixture, FaultCase } from './fixtures.js';
export { FaultProxy, type Fault, type FaultAddress, type Direction } from './fault-proxy.js';
