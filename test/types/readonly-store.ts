/**
 * Type-level test, checked by `tsc --noEmit` in `npm test` (never run): a
 * read-only store has no add or delete, so writing to it does not compile.
 * Each `@ts-expect-error` fails the type check if the line below it compiles.
 */
import { Readable } from 'node:stream';
import { MultiStore, type ReadOnlyStoreHandle, type StoreHandle, type WritableStoreHandle } from '../../src/index.js';
import { defineDriver, isWritable, type StoreDriver, type WritableStoreDriver } from '../../src/driver-kit.js';
import { HttpStore } from '../../src/drivers/http/driver.js';

export async function readOnlyHandlesDoNotTypeCheckWrites(ms: MultiStore, web: ReadOnlyStoreHandle, data: Buffer): Promise<void> {
  // @ts-expect-error: a handle from ms.store() may be on a read-only store, so it has no add
  await ms.store('web').add('id', data);
  // @ts-expect-error: nor delete
  await ms.store('web').delete('http://example.com/x');
  // @ts-expect-error: a read-only handle (an http store's) has no add at all
  await web.add('id', data);
  // @ts-expect-error: nor setAcls
  await web.setAcls('http://example.com/x', { public: true });
  // @ts-expect-error: and is not a writable handle
  const writable: WritableStoreHandle = web;
  void writable;

  // What does compile: reads and copies on any handle, writes once narrowed on `writable`.
  const store: StoreHandle = ms.store('web');
  await store.get('http://example.com/x', { offset: 0, length: 10 });
  await store.copyTo('http://example.com/x', 'shared');
  if (store.writable) await store.add('id', data, { size: data.length });
  await ms.writableStore('shared').add('id', data);
  await ms.writableStore('shared').delete('file:///x');
  // @ts-expect-error: a handle's calls are on its store: no other store can be named
  await ms.writableStore('shared').add('id', data, { store: 'web' });
}

export async function rawDriversAreReadOnlyUntilNarrowed(ms: MultiStore, http: HttpStore, data: Buffer): Promise<void> {
  // @ts-expect-error: the raw driver of a store may be read-only
  await ms.rawDriver('web').add('id', data, { signal: new AbortController().signal });
  // @ts-expect-error: the http driver is not a WritableStoreDriver
  const writable: WritableStoreDriver = http;
  // @ts-expect-error: and has no add method at all
  void http.add;
  void writable;
  const driver: StoreDriver = ms.rawDriver('shared');
  if (isWritable(driver)) await driver.delete('file:///x');
}

/** A driver's options are typed from its schema; a renamed option does not compile. */
export const typedOptions = defineDriver({
  type: 'typed',
  schemes: ['typed'],
  options: [
    { name: 'typed_count', type: 'int', default: 3, help: '' },
    { name: 'typed_mode', type: 'string', default: 'a', choices: ['a', 'b'], help: '' },
    { name: 'typed_label', type: 'string', help: '' },
    { name: 'typed_dirs', type: 'multistring', help: '' },
  ] as const,
  create({ options }) {
    const count: number = options.typed_count;
    const mode: 'a' | 'b' = options.typed_mode;
    // @ts-expect-error: an option without a default may be unset
    const label: string = options.typed_label;
    const dirs: string[] | undefined = options.typed_dirs;
    // @ts-expect-error: no such option
    void options.typed_cuont;
    void [count, mode, label, dirs];
    return { capabilities: () => new Set<'read'>(['read']), get: async () => ({ stream: Readable.from([]), size: 0 }), getSize: async () => 0, close: async () => {} };
  },
});

/** A read-only driver type cannot build a store that writes. */
// @ts-expect-error: a writable store from a read-only driver type
export const readOnlyDriver = defineDriver({
  type: 'ro',
  schemes: ['ro'],
  readOnly: true,
  options: [],
  create: (): WritableStoreDriver => ({}) as WritableStoreDriver,
});
