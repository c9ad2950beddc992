/**
 * cinder locations, as glance_store writes them: `cinder://<store id>/<volume id>`
 * in a multi-store config, `cinder://<volume id>` in the legacy single-store
 * form. As glance_store, the volume id is the last path segment and must
 * look like a UUID; what comes before it names the store.
 */
import { BadStoreUriError } from '../../errors.js';
import { maskLocation } from '../../location.js';

export interface CinderLocation {
  /** The store id of a multi-store location; absent in the legacy form. */
  storeId?: string;
  volumeId: string;
}

const PREFIX = 'cinder://';

export function formatCinderLocation(loc: CinderLocation): string {
  return loc.storeId ? `${PREFIX}${loc.storeId}/${loc.volumeId}` : `${PREFIX}${loc.volumeId}`;
}

export function parseCinderLocation(uri: string): CinderLocation {
  if (!uri.startsWith(PREFIX)) throw new BadStoreUriError(`Not a cinder location: ${maskLocation(uri)}`);
  const segments = uri.slice(PREFIX.length).split('/');
  const volumeId = segments[segments.length - 1]!;
  if (!isUuidLike(volumeId)) throw new BadStoreUriError(`Invalid cinder location ${maskLocation(uri)}: it does not end in a volume id (a UUID)`);
  return segments.length > 1 && segments[0] ? { storeId: segments[0], volumeId } : { volumeId };
}

/** oslo_utils.uuidutils.is_uuid_like: 32 hex digits once `urn:`, `uuid:`, braces and dashes are dropped, any case. */
export function isUuidLike(value: string): boolean {
  const hex = value.replace(/urn:/g, '').replace(/uuid:/g, '').replace(/^\{+|\}+$/g, '').replace(/-/g, '');
  return /^[0-9a-f]{32}$/i.test(hex);
}
