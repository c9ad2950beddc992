/**
 * Reads the way Glance serves an image download: the image's locations are
 * ordered by their store's weight (highest first, as glance.common.utils'
 * sort_image_locations does; a location whose store is not enabled here
 * counts as 0, with a warning), the locations of the stores the caller
 * prefers (Glance's `?prefer=fast,cheap`) are moved to the front keeping
 * that order, and each is tried in turn (glance.location's get_data): any
 * error moves on to the next; only when every location failed does the
 * call reject, with the last error and all of them.
 */
import type { LocationRecord } from './driver.js';
import { AbortedError, GlanceStoreError, NotFoundError, UnknownStoreError } from './errors.js';
import type { Logger } from './logger.js';
import type { GetOptions, GetResult } from './multistore-types.js';
import { locationUrl, maskLocation } from './location.js';
import { checkLocation, checkOptionsObject, describe, InvalidArgumentTypeError } from './arguments.js';

export interface GetFirstOptions extends Omit<GetOptions, 'store'> {
  /**
   * Store ids whose locations are tried first (Glance's `prefer`), as a list
   * or Glance's comma-separated query value. Every id must be an enabled
   * store (Glance answers 400 otherwise).
   */
  prefer?: readonly string[] | string;
}

export interface GetFirstResult extends GetResult {
  /** The location that served the image, as it was given. */
  location: string | LocationRecord;
}

/** Every location failed: the last error, with each location's error in the order tried. */
export type AllLocationsFailed = GlanceStoreError & { errors: GlanceStoreError[] };

/** What getFirst needs of MultiStore. */
export interface ReadFirstHost {
  get(location: string | LocationRecord, options: GetOptions): Promise<GetResult>;
  /** The store's weight, read from its config when the MultiStore was created; undefined for a store not enabled here. */
  weightOf(storeId: string): number | undefined;
  logger: Logger;
  /** Store ids already warned about (once per MultiStore). */
  warnedUnknown: Set<string>;
}

const storeOf = (location: string | LocationRecord): string | undefined =>
  typeof location === 'object' && typeof location.metadata?.['store'] === 'string' ? (location.metadata['store'] as string) : undefined;

/** The prefer option as a list of ids (Glance splits on commas and drops empty entries). */
function preferred(prefer: GetFirstOptions['prefer'], host: ReadFirstHost): string[] {
  if (prefer === undefined) return [];
  const list = typeof prefer === 'string' ? prefer.split(',') : Array.isArray(prefer) ? prefer : undefined;
  if (!list || list.some((p) => typeof p !== 'string')) {
    throw new InvalidArgumentTypeError(`The "prefer" option must be store ids (an array, or a comma-separated string); got ${describe(prefer)}`);
  }
  const ids = list.map((p) => p.trim()).filter((p) => p !== '');
  for (const id of ids) if (host.weightOf(id) === undefined) throw new UnknownStoreError(`Store ${JSON.stringify(id)} named in "prefer" is not enabled`);
  return ids;
}

/** The order the locations are tried in: by weight, highest first (stable), then the preferred stores' moved to the front. */
export function orderLocations(locations: ReadonlyArray<string | LocationRecord>, prefer: readonly string[], host: ReadFirstHost): Array<string | LocationRecord> {
  const weight = (loc: string | LocationRecord): number => {
    const id = storeOf(loc);
    if (id === undefined) return 0;
    const w = host.weightOf(id);
    if (w !== undefined) return w;
    if (!host.warnedUnknown.has(id)) {
      host.warnedUnknown.add(id);
      host.logger.warn({ store: id }, `store ${JSON.stringify(id)} of an image location is not enabled here: its locations count as weight 0`);
    }
    return 0;
  };
  const weighed = locations.map((loc) => ({ loc, w: weight(loc) }));
  const byWeight = weighed.sort((a, b) => b.w - a.w).map((x) => x.loc);
  if (prefer.length === 0) return byWeight;
  const wanted = new Set(prefer);
  const isPreferred = (loc: string | LocationRecord) => wanted.has(storeOf(loc) ?? '');
  return [...byWeight.filter(isPreferred), ...byWeight.filter((l) => !isPreferred(l))];
}

export async function getFirst(host: ReadFirstHost, locations: ReadonlyArray<string | LocationRecord>, options: GetFirstOptions = {}): Promise<GetFirstResult> {
  if (!Array.isArray(locations)) throw new InvalidArgumentTypeError(`The "locations" argument must be an array of locations; got ${describe(locations)}`);
  for (const loc of locations) checkLocation(loc);
  checkOptionsObject('options', options);
  const { prefer, ...getOptions } = options;
  if ('store' in getOptions) throw new InvalidArgumentTypeError('getFirst takes no "store" option: each location names its store in metadata.store');
  const order = orderLocations(locations, preferred(prefer, host), host);
  if (order.length === 0) throw new NotFoundError('The image has no locations to read');
  const errors: GlanceStoreError[] = [];
  for (const location of order) {
    if (options.signal?.aborted) break;
    try {
      const got = await host.get(location, getOptions);
      return { ...got, location };
    } catch (err) {
      // A caller's mistake (a bad argument) is the same at every location: it is not a location's failure.
      if (!(err instanceof GlanceStoreError)) throw err;
      errors.push(err);
      if (err instanceof AbortedError || options.signal?.aborted) break;
      host.logger.warn({ store: storeOf(location), code: err.code }, `reading ${maskLocation(locationUrl(location))} failed (${err.code}): trying the image's next location`);
    }
  }
  const last = errors.at(-1) ?? new AbortedError('The get was aborted');
  if (errors.length > 0 && !(last instanceof AbortedError)) host.logger.error({ tried: errors.length }, `every location of the image failed (${errors.length} tried)`);
  return Promise.reject(Object.assign(last, { errors }) as AllLocationsFailed);
}
