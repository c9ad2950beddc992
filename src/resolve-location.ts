/**
 * Which store answers for a location: the one the caller or the location's
 * `metadata.store` names, or else the started stores of its scheme, owners
 * first, each asked in turn while it answers NotFound. The capability the
 * call needs is checked before the store is asked. Kept apart from
 * MultiStore so the rules of that choice are read (and changed) in one place.
 */
import { BackendUnavailableError, ForbiddenError, GlanceStoreError, NotFoundError, RandomGetNotSupportedError, ReadOnlyStoreError, UnknownSchemeError } from './errors.js';
import type { LocationRecord, StoreDriver } from './driver.js';
import { locationUrl, maskLocation, schemeOf } from './location.js';
import { checkLocation, checkOptionalString } from './arguments.js';
import type { StoreEntry } from './store-entry.js';

/** What the resolution needs of MultiStore. */
export interface ResolveHost {
  /** Every store, started or not. */
  entries(): Iterable<StoreEntry>;
  /** A started store's driver; throws for a closed MultiStore, an unknown store or one that did not start. */
  driverOf(id: string): StoreDriver;
}

export type NeededCapability = 'read' | 'read-random' | 'write';

/**
 * Resolves a location to its store and runs `call` there after checking
 * the capability. A store named by the caller or by the location's
 * `metadata.store` is used as it is; otherwise the stores of the location's
 * scheme are asked (see `candidatesFor`), moving on while one answers
 * NotFound.
 */
export async function withStore<T>(
  host: ResolveHost,
  location: string | LocationRecord,
  storeId: string | undefined,
  capability: NeededCapability,
  call: (driver: StoreDriver, id: string, url: string) => Promise<T>,
): Promise<T> {
  checkLocation(location);
  checkOptionalString('store', storeId);
  const url = locationUrl(location);
  const metaStore = typeof location === 'object' && typeof location.metadata?.['store'] === 'string' ? (location.metadata['store'] as string) : undefined;
  const explicit = storeId ?? metaStore;
  const candidates = explicit ? [{ id: explicit, driver: host.driverOf(explicit), disowns: false }] : candidatesFor(host, url);
  let notFound: GlanceStoreError | undefined;
  for (const { id, driver } of candidates) {
    if (!driver.capabilities().has(capability)) {
      if (capability === 'read-random') throw new RandomGetNotSupportedError(`Store ${id} does not support ranged reads`);
      if (capability === 'write') throw new ReadOnlyStoreError(`Store ${id} is read-only`);
      throw new ForbiddenError(`Store ${id} cannot be read`);
    }
    try {
      return await call(driver, id, url);
    } catch (err) {
      if (err instanceof NotFoundError && candidates.length > 1) {
        // The first store's answer is kept: candidates come owners first, so it names the store that holds the location.
        notFound ??= err;
        continue;
      }
      throw err;
    }
  }
  if (candidates.every((c) => c.disowns)) {
    const ids = candidates.map((c) => c.id).join(', ');
    throw new NotFoundError(`No enabled store owns ${maskLocation(url)}: none of the ${schemeOf(url)} stores (${ids}) holds it`, { cause: notFound });
  }
  throw notFound ?? new NotFoundError(`No store holds ${maskLocation(url)}`);
}

/**
 * The started stores that may hold a location of this scheme: those that
 * claim it (`ownsLocation`) first, then those that cannot tell, then those
 * that disown it (a bucket or datadir of their own may still be read with
 * the location's credentials), each group by weight. A store that failed
 * to start is skipped, unless no store of the scheme started.
 */
function candidatesFor(host: ResolveHost, url: string): Array<{ id: string; driver: StoreDriver; disowns: boolean }> {
  const scheme = schemeOf(url);
  const ofScheme = [...host.entries()].filter((e) => e.spec.definition.schemes.includes(scheme));
  const shown = maskLocation(url);
  if (ofScheme.length === 0) throw new UnknownSchemeError(`No enabled store reads ${JSON.stringify(scheme)} locations (${shown})`);
  const started = ofScheme.filter((e): e is StoreEntry & { driver: StoreDriver } => e.driver !== undefined);
  if (started.length === 0) {
    const down = ofScheme[0]!;
    throw new BackendUnavailableError(`No store that reads ${shown} is available: store ${down.spec.id} could not start (${down.error?.message ?? 'not started'})`, {
      cause: down.error,
    });
  }
  const claim = (e: StoreEntry & { driver: StoreDriver }) => (e.driver.ownsLocation ? (e.driver.ownsLocation(url) ? 0 : 2) : 1);
  const ranked = started.sort((a, b) => claim(a) - claim(b) || b.spec.weight - a.spec.weight);
  return ranked.map((e) => ({ id: e.spec.id, driver: e.driver, disowns: claim(e) === 2 }));
}
