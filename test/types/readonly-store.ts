/**
 * Type-level test, checked by `tsc --noEmit` in `npm test` (never run): a
 * read-only store has no add or delete, so writing to it does not compile.
 * Each `@ts-expect-error` fails the type check if the line below it compiles.
 */
import { MultiStore, isWritable, type StoreDriver, type WritableStoreDriver } from '../../src/index.js';
import { HttpStore } from '../../src/drivers/http/index.js';

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
