/**
 * What MultiStore does around a driver's optional `list` and `leftovers`
 * (src/driver.ts): the store is checked, the caller's signal stops the
 * listing between pages, and a backend's failure half-way names how far the
 * listing got, so an operator knows the answer is partial.
 */
import type { DriverListOptions, ListedImage, StoreDriver, StoreLeftover } from './driver.js';
import { AbortedError, ForbiddenError, GlanceStoreError, BackendUnavailableError } from './errors.js';
import { checkImageId } from './image-id.js';
import { maskLocation } from './location.js';

export type { ListedImage, StoreLeftover };

export interface ListOptions {
  signal?: AbortSignal;
  context?: DriverListOptions['context'];
}

/** Raised when a listing fails part-way: `listed` entries had been given out before. */
export interface PartialListing {
  listed: number;
}

type Listing = 'list' | 'leftovers';

const WHAT: Record<Listing, string> = { list: 'its images', leftovers: 'what failed adds left' };

/** Whether a store's driver can give this listing. */
export function canList(driver: StoreDriver, listing: Listing): boolean {
  return typeof driver[listing] === 'function';
}

/**
 * The driver's listing, through the checks: a store whose driver cannot
 * list is Forbidden (before anything is asked of the backend); an error
 * half-way is a library error that says how many entries came before it
 * (`err.listed`).
 */
export async function* listingOf<T extends ListedImage | StoreLeftover>(
  driverOf: () => StoreDriver,
  storeId: string,
  listing: Listing,
  options: ListOptions = {},
): AsyncGenerator<T, void, undefined> {
  const driver = driverOf();
  const call = driver[listing]?.bind(driver) as ((o: DriverListOptions) => AsyncIterable<T>) | undefined;
  if (!call) throw new ForbiddenError(`Store ${storeId} cannot list ${WHAT[listing]}: its driver has no ${listing}()`);
  const { signal, context } = options;
  signal?.throwIfAborted();
  let listed = 0;
  try {
    for await (const entry of call({ signal, context })) {
      if (signal?.aborted) break;
      listed++;
      yield entry;
    }
  } catch (err) {
    throw partial(err, storeId, listing, listed, signal);
  }
  if (signal?.aborted) throw Object.assign(new AbortedError(`Listing ${WHAT[listing]} of store ${storeId} was interrupted after ${listed} entries`), { listed });
}

function partial(err: unknown, storeId: string, listing: Listing, listed: number, signal: AbortSignal | undefined): GlanceStoreError & PartialListing {
  const why = maskLocation((err as Error)?.message ?? String(err));
  const message = `Listing ${WHAT[listing]} of store ${storeId} failed after ${listed} entries: ${why}`;
  if (signal?.aborted) return Object.assign(new AbortedError(message, { cause: err }), { listed });
  const code = err instanceof GlanceStoreError ? err.code : 'BackendUnavailable';
  const e = err instanceof GlanceStoreError ? new GlanceStoreError(code, message, { cause: err }) : new BackendUnavailableError(message, { cause: err });
  return Object.assign(e, { listed });
}

/** The location an image of this id has in a store, where its driver can tell it from the id alone. */
export async function locationIn(driver: StoreDriver, storeId: string, type: string, imageId: string, options: ListOptions = {}): Promise<string> {
  checkImageId(imageId);
  if (!driver.locationFor) {
    throw new ForbiddenError(`Store ${storeId} (${type}) cannot tell an image's location from its id alone; give the location URI Glance recorded for it`);
  }
  return driver.locationFor(imageId, options);
}
