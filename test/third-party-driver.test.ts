/**
 * Third-party drivers: defined with defineDriver, passed to MultiStore.create
 * through `drivers`, and held to the same conformance suite as the built-in
 * ones. The driver under test (test/fixtures/memory-driver.mjs) is plain
 * JavaScript against the built package, as a driver author would write it.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import { MultiStore, parseConfig } from '../src/index.js';
import { defineDriver, BUILTIN_DRIVERS, type StoreDriver } from '../src/driver-kit.js';
import memoryDriver, { memoryImages } from './fixtures/memory-driver.mjs';
import { runStoreConformance, readAll } from '../src/testing/index.js';

const CONF = `
[DEFAULT]
enabled_backends = mem:memory, spare:memory

[glance_store]
default_backend = mem

[mem]
memory_store_label = first
`;

runStoreConformance({ describe, it, beforeAll, afterAll }, {
  name: 'memory (third-party)',
  storeId: 'mem',
  secondStoreId: 'spare',
  create: (options) => MultiStore.create(parseConfig(CONF), { ...options, drivers: [memoryDriver] }),
  listStored: async () => ['mem', 'spare'].flatMap((id) => [...(memoryImages.get(id)?.keys() ?? [])].map((k) => `${id}/${k}`)),
  // Every byte is held in memory by design: only the bound on the runtime is checked.
  streaming: { imageBytes: 16 * 1024 * 1024, maxGrowthBytes: 256 * 1024 * 1024 },
});

describe('third-party drivers', () => {
  it('reads its typed options from its section, defaults applied', async () => {
    const ms = await MultiStore.create(parseConfig(CONF), { drivers: [memoryDriver] });
    const props = Object.fromEntries(ms.infoDetail().map((s) => [s.id, s.properties]));
    expect(props['mem']).toMatchObject({ memory_store_label: 'first', memory_store_max_images: 1000, label: 'first' });
    expect(props['spare']).toMatchObject({ memory_store_label: 'none', label: 'none' });
    const r = await ms.add(randomUUID(), Buffer.from('third party'), { store: 'spare' });
    expect(r.location).toMatch(/^memory:\/\/spare\//);
    expect((await readAll((await ms.get(r.location)).stream)).toString()).toBe('third party');
    await ms.close();
  });

  it('validates its options like a built-in driver', async () => {
    const bad = `${CONF}memory_store_max_images = many\n`;
    await expect(MultiStore.create(parseConfig(bad), { drivers: [memoryDriver] })).rejects.toMatchObject({
      code: 'BadStoreConfiguration',
      problems: [expect.stringMatching(/\[mem\] memory_store_max_images = "many": expected an integer/)],
    });
  });

  it('is unknown unless passed in', async () => {
    await expect(MultiStore.create(parseConfig(CONF))).rejects.toMatchObject({
      code: 'BadStoreConfiguration',
      problems: expect.arrayContaining([expect.stringMatching(/Store "mem" has unknown type "memory"/)]),
    });
  });

  it('refuses a driver that takes a built-in type name, instead of replacing the built-in', async () => {
    const impostor = defineDriver({ type: 'file', schemes: memoryDriver.schemes, options: memoryDriver.options, create: memoryDriver.create });
    const text = `[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = /nonexistent\n`;
    await expect(MultiStore.create(parseConfig(text), { drivers: [impostor] })).rejects.toMatchObject({
      code: 'BadStoreConfiguration',
      problems: [expect.stringMatching(/options\.drivers\[0\]: driver type "file" is already taken by a built-in driver/)],
    });
    expect(BUILTIN_DRIVERS.find((d) => d.type === 'file')).not.toBe(impostor);
  });

  it('refuses two drivers of one type name', async () => {
    const twin = defineDriver({ type: 'memory', schemes: memoryDriver.schemes, options: memoryDriver.options, create: memoryDriver.create });
    await expect(MultiStore.create(parseConfig(CONF), { drivers: [memoryDriver, twin] })).rejects.toMatchObject({
      code: 'BadStoreConfiguration',
      problems: [expect.stringMatching(/options\.drivers\[1\]: driver type "memory" is already taken by another driver/)],
    });
  });

  it('takes only definitions made by defineDriver', async () => {
    const plain = { type: 'memory', schemes: ['memory'], options: [], create: () => ({}) as StoreDriver };
    await expect(MultiStore.create(parseConfig(CONF), { drivers: [plain as never] })).rejects.toMatchObject({
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringMatching(/options\.drivers\[0\] is not a driver definition: make it with defineDriver\(\)/),
    });
  });

  it('checks a definition where it is written', () => {
    const base = { schemes: ['x'], options: [] as const, create: () => ({}) as StoreDriver };
    expect(() => defineDriver({ ...base, type: 'Bad Name' })).toThrow(/type name must be lower-case/);
    expect(() => defineDriver({ ...base, type: 'x', schemes: [] })).toThrow(/schemes must be a non-empty list/);
    expect(() =>
      defineDriver({ ...base, type: 'x', options: [{ name: 'a', type: 'int', help: '' }, { name: 'a', type: 'int', help: '' }] as const }),
    ).toThrow(/option a is declared twice/);
  });
});
