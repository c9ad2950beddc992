/**
 * sheepdog locations, as glance_store writes them:
 * `sheepdog://<addr>:<port>:<image>`. The older `sheepdog://<image>` is read
 * too, with the address and port of the store's config, as glance_store
 * read it. Parts are not quoted: glance_store wrote them as they are.
 */
import { BadStoreUriError } from '../../errors.js';
import { maskLocation } from '../../location.js';

export const SHEEPDOG_SCHEME = 'sheepdog';
const PREFIX = 'sheepdog://';

export interface SheepdogLocation {
  /** Absent in the old form: the store's sheepdog_store_address. */
  addr?: string;
  port?: number;
  image: string;
}

export function formatSheepdogLocation(loc: Required<SheepdogLocation>): string {
  return `${PREFIX}${loc.addr}:${loc.port}:${loc.image}`;
}

export function parseSheepdogLocation(uri: string): SheepdogLocation {
  const shown = maskLocation(uri);
  if (!uri.startsWith(PREFIX)) throw new BadStoreUriError(`Not a sheepdog location: ${shown}`);
  const pieces = uri.slice(PREFIX.length).split(':');
  if (pieces.some((p) => p === '')) throw new BadStoreUriError(`Invalid sheepdog location ${shown}: empty component`);
  if (pieces.length === 1) return { image: pieces[0]! };
  if (pieces.length !== 3) throw new BadStoreUriError(`Invalid sheepdog location ${shown}: expected sheepdog://addr:port:image or sheepdog://image`);
  const [addr, port, image] = pieces as [string, string, string];
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) throw new BadStoreUriError(`Invalid sheepdog location ${shown}: port ${JSON.stringify(port)} is not a port number`);
  return { addr, port: n, image };
}
