/**
 * Type-level test, checked by `tsc --noEmit` in `npm test` (never run): a
 * read-only store has no add or delete, so writing to it does not compile.
 * Each `@ts-expect-error` fails the type check if the line below it compiles.
 */
import { Readable } from 'node:stream';
import { MultiStore, defineDriver, isWritable, type StoreDriver, type WritableStoreDriver } from '../../src/index.js';
import { HttpStore } from '../../src/drivers/http/driver.js';

export async function readOnlyStoresDoNotTypeCheckWrites(ms: MultiStore, http: HttpStore, data: Buffer): Promise<void> {
  // @ts-expect-error: a store returned by ms.store() may be read-only, so it has no add
  await ms.store('web').add('id', data, { signal: new AbortController().signal });
  // @ts-expect-error: nor delete
  await ms.store('web').delete('http://example.com/x');
  // @ts-expect-error: the http driver is not a WritableStoreDriver
  const writable: WritableStoreDriver = http;
  // @ts-expect-error: and has no add method at all
  http.add;
  void writable;

  // What does compile: reads on any store, writes once narrowed.
  const store: StoreDriver = ms.store('web');
  await store.get('http://example.com/x');
  if (isWritable(store)) await store.delete('file:///x');
  await ms.writableStore('shared').delete('file:///x');
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
