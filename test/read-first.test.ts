/**
 * getFirst: an image's locations ordered by store weight, the preferred
 * stores first, each tried until one answers. Unit-level, on file stores;
 * the fall-through from a real backend that stops answering is in
 * test/process-faults/read-first.test.ts.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig, type Logger, type LocationRecord, type AllLocationsFailed } from '../src/index.js';
import { defineDriver, type Capability, type StoreDriver } from '../src/driver-kit.js';
import { readAll } from '../src/testing/index.js';

const root = await mkdtemp(path.join(tmpdir(), 'gs-first-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const conf = (weights: { heavy: number; mid: number; light: number }) => `
[DEFAULT]
enabled_backends = light:file, heavy:file, mid:file
[glance_store]
default_backend = light
[light]
weight = ${weights.light}
filesystem_store_datadir = ${root}/light
[heavy]
weight = ${weights.heavy}
filesystem_store_datadir = ${root}/heavy
[mid]
weight = ${weights.mid}
filesystem_store_datadir = ${root}/mid
`;

function recordingLogger(): Logger & { warnings: string[]; errors: string[] } {
  const warnings: string[] = [];
  const errors: string[] = [];
  const none = () => undefined;
  return { warnings, errors, debug: none, info: none, warn: (_o, m) => void warnings.push(String(m)), error: (_o, m) => void errors.push(String(m)) };
}

/** One image stored in every store, as Glance records it: one location per store. */
async function imageEverywhere(ms: MultiStore, data: Buffer): Promise<LocationRecord[]> {
  const id = randomUUID();
  const out: LocationRecord[] = [];
  for (const store of ['light', 'mid', 'heavy']) {
    const r = await ms.add(id, data, { store });
    out.push({ url: r.location, metadata: r.metadata });
  }
  return out;
}

describe('getFirst: the order Glance reads an image in', () => {
  it('reads from the heaviest store; prefer moves stores to the front, among them by weight as Glance does', async () => {
    const ms = await MultiStore.create(parseConfig(conf({ heavy: 10, mid: 5, light: 0 })));
    try {
      const data = randomBytes(3000);
      const locs = await imageEverywhere(ms, data);
      const first = await ms.getFirst(locs);
      expect(first.store).toBe('heavy');
      expect(first.location).toBe(locs[2]);
      expect(Buffer.compare(await readAll(first.stream), data)).toBe(0);
      const light = await ms.getFirst(locs, { prefer: ['light'] });
      expect(light.store).toBe('light');
      light.stream.destroy();
      // Glance's ?prefer=light,mid: both move to the front, mid (weight 5) before light (weight 0).
      for (const prefer of ['light,mid', ' light , mid ,', ['light', 'mid']]) {
        const got = await ms.getFirst(locs, { prefer });
        expect(got.store).toBe('mid');
        got.stream.destroy();
      }
    } finally {
      await ms.close();
    }
  });

  it('falls through any failing location to the next, and rejects with the last error and all of them only when every one failed', async () => {
    const logger = recordingLogger();
    const ms = await MultiStore.create(parseConfig(conf({ heavy: 10, mid: 5, light: 0 })), { logger });
    try {
      const data = randomBytes(100);
      const locs = await imageEverywhere(ms, data);
      await ms.delete(locs[2]!); // heavy's copy is gone
      const got = await ms.getFirst(locs);
      expect(got.store).toBe('mid');
      expect(Buffer.compare(await readAll(got.stream), data)).toBe(0);
      expect(logger.warnings.some((w) => /failed \(NotFound\): trying the image's next location/.test(w))).toBe(true);
      await ms.delete(locs[1]!);
      await ms.delete(locs[0]!);
      const err = (await ms.getFirst(locs).catch((e: unknown) => e)) as AllLocationsFailed;
      expect(err).toMatchObject({ code: 'NotFound' });
      expect(err.errors.map((e) => e.code)).toEqual(['NotFound', 'NotFound', 'NotFound']);
      expect(err.errors.at(-1)).toBe(err);
      expect(err.errors[0]!.message).toContain('heavy');
      expect(logger.errors).toEqual(['every location of the image failed (3 tried)']);
      await expect(ms.getFirst([])).rejects.toMatchObject({ code: 'NotFound' });
    } finally {
      await ms.close();
    }
  });

  it("a location of a store not enabled here counts as weight 0, warned once; it is tried, and its error is one of them", async () => {
    const logger = recordingLogger();
    const ms = await MultiStore.create(parseConfig(conf({ heavy: -5, mid: -1, light: -3 })), { logger });
    try {
      const data = randomBytes(10);
      const locs = await imageEverywhere(ms, data);
      const stray = { url: `file://${root}/elsewhere/${randomUUID()}`, metadata: { store: 'edge-site' } };
      for (let i = 0; i < 3; i++) {
        // Weight 0 beats every negative weight here: the stray location is tried first, fails, and mid serves.
        const got = await ms.getFirst([...locs, stray]);
        expect(got.store).toBe('mid');
        got.stream.destroy();
      }
      expect(logger.warnings.filter((w) => w.includes('"edge-site"') && w.includes('weight 0'))).toHaveLength(1);
      for (const loc of locs) await ms.delete(loc);
      const err = (await ms.getFirst([stray, ...locs]).catch((e: unknown) => e)) as AllLocationsFailed;
      expect(err.errors.map((e) => e.code)).toEqual(['UnknownStore', 'NotFound', 'NotFound', 'NotFound']);
    } finally {
      await ms.close();
    }
  });

  it('refuses a preferred store that is not enabled, a store option and bad locations before reading anything', async () => {
    const ms = await MultiStore.create(parseConfig(conf({ heavy: 1, mid: 1, light: 1 })));
    try {
      const locs = await imageEverywhere(ms, Buffer.from('x'));
      await expect(ms.getFirst(locs, { prefer: 'fast,nope' })).rejects.toMatchObject({ code: 'UnknownStore', message: /"fast"/ });
      await expect(ms.getFirst(locs, { prefer: 3 as unknown as string })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      await expect(ms.getFirst(locs, { store: 'mid' } as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      await expect(ms.getFirst('file:///x' as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      await expect(ms.getFirst([42 as never])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      // Equal weights: the image's own order.
      const same = await ms.getFirst(locs);
      expect(same.store).toBe('light');
      same.stream.destroy();
      // A ranged, verified or aborted read is the same call at every location.
      await expect(ms.getFirst(locs, { offset: 1, verify: { checksum: 'a'.repeat(32) } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      const ranged = await ms.getFirst(locs, { offset: 0, length: 1 });
      expect((await readAll(ranged.stream)).toString()).toBe('x');
      await expect(ms.getFirst(locs, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'Aborted' });
    } finally {
      await ms.close();
    }
  });
});

describe('store weights are read once, when the MultiStore is created', () => {
  it('ordering reads no config and creates no driver again (glance_store 4.9)', async () => {
    let creates = 0;
    const counted = defineDriver({
      type: 'counted',
      schemes: ['counted'],
      options: [],
      create: (): StoreDriver => {
        creates++;
        return {
          capabilities: () => new Set<Capability>(['read']),
          get: () => Promise.reject(new Error('unused')),
          getSize: async () => 0,
          close: async () => undefined,
        };
      },
    });
    const config = parseConfig(`${conf({ heavy: 10, mid: 5, light: 0 })}\n[DEFAULT]\nenabled_backends = light:file, heavy:file, mid:file, c:counted\n[c]\nweight = 7\n`);
    const ms = await MultiStore.create(config, { drivers: [counted] });
    try {
      expect(creates).toBe(1);
      const locs = await imageEverywhere(ms, Buffer.from('w'));
      // The config the MultiStore was created from changes afterwards: the order does not.
      (config['heavy'] as Record<string, string>)['weight'] = '-100';
      (config['light'] as Record<string, string>)['weight'] = '100';
      for (let i = 0; i < 50; i++) {
        const got = await ms.getFirst([...locs, { url: 'counted://x/1', metadata: { store: 'c' } }]);
        expect(got.store).toBe('heavy');
        got.stream.destroy();
      }
      expect(creates).toBe(1);
      expect(ms.infoDetail().map((s) => [s.id, s.weight])).toEqual([
        ['light', 0],
        ['heavy', 10],
        ['mid', 5],
        ['c', 7],
      ]);
    } finally {
      await ms.close();
    }
  });
});
