/**
 * http(s) locations: the image URL itself, credentials and all, as
 * glance_store stores it. Credentials become a Basic auth header and are
 * taken out of the URL that is requested.
 */
import { BadStoreUriError } from '../../errors.js';
import { decodeComponent, maskLocation } from '../../location.js';

export interface HttpTarget {
  /** The URL to request, without credentials. */
  url: URL;
  /** `Basic ...` when the location carries user:password. */
  authorization?: string;
}

export function parseHttpLocation(location: string): HttpTarget {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new BadStoreUriError(`Invalid http location ${maskLocation(location)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BadStoreUriError(`Not an http(s) location: ${maskLocation(location)}`);
  if (url.hostname === '') throw new BadStoreUriError(`No address in http location ${maskLocation(location)}`);
  let authorization: string | undefined;
  if (url.username || url.password) {
    if (!url.password && !location.includes(':', location.indexOf('//') + 2)) {
      throw new BadStoreUriError(`Credentials in ${maskLocation(location)} are not of the form user:password`);
    }
    const user = decodeComponent(url.username, location);
    const password = decodeComponent(url.password, location);
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  url.hash = '';
  return authorization ? { url, authorization } : { url };
}
