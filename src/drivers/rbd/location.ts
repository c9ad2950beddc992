/**
 * rbd locations, as glance_store writes them: `rbd://<fsid>/<pool>/<image>/<snap>`
 * with each part percent-encoded; the legacy `rbd://<image>` form (the image in
 * the store's pool, no snapshot) is read too.
 */
import { BadStoreUriError } from '../../errors.js';
import { decodeComponent, maskLocation, pyQuote } from '../../location.js';

export interface RbdLocation {
  fsid?: string;
  pool?: string;
  image: string;
  snapshot?: string;
}

export const SNAPSHOT_NAME = 'snap';

/** Each part quoted as glance_store quotes it: urllib.parse.quote(part, ''), so a `/` is %2F. */
const quote = (part: string) => pyQuote(part, '');

export function formatRbdLocation(loc: RbdLocation): string {
  if (loc.fsid && loc.pool && loc.snapshot) return `rbd://${[loc.fsid, loc.pool, loc.image, loc.snapshot].map(quote).join('/')}`;
  return `rbd://${loc.image}`;
}

export function parseRbdLocation(uri: string): RbdLocation {
  const shown = maskLocation(uri);
  if (!uri.startsWith('rbd://')) throw new BadStoreUriError(`Not an rbd location: ${shown}`);
  const pieces = uri.slice('rbd://'.length).split('/');
  if (pieces.some((p) => p === '')) throw new BadStoreUriError(`Invalid rbd location ${shown}: empty component`);
  // As glance_store: the legacy form is taken as written, not unquoted.
  if (pieces.length === 1) return { image: pieces[0]! };
  if (pieces.length !== 4) throw new BadStoreUriError(`Invalid rbd location ${shown}: expected rbd://fsid/pool/image/snapshot or rbd://image`);
  const parts = pieces.map((p) => decodeComponent(p, uri));
  const [fsid, pool, image, snapshot] = parts as [string, string, string, string];
  return { fsid, pool, image, snapshot };
}
