/**
 * swift locations, written and read as glance_store does:
 *
 *   swift+https://USER:KEY@auth.example.com/v3/container/image   single tenant, credentials inside
 *   swift+config://ref1/container/image                          single tenant with swift_store_config_file
 *   swift+http://swift.example.com/v1/AUTH_project/glance_image/image   multi-tenant: the storage URL
 *
 * `swift://` means https, as in glance_store. User and key are percent-quoted
 * as Python's urllib.parse.quote quotes them (`/` left as is), so a
 * `project:user` name is written `project%3Auser`.
 */
import { BadStoreUriError } from '../../errors.js';
import { maskLocation, pyQuote, splitCredentials } from '../../location.js';
import type { SwiftReference } from './references.js';

export type SwiftScheme = 'swift' | 'swift+http' | 'swift+https' | 'swift+config';
export const SWIFT_SCHEMES: readonly SwiftScheme[] = ['swift', 'swift+http', 'swift+https', 'swift+config'];

export interface SwiftLocation {
  scheme: SwiftScheme;
  user?: string;
  key?: string;
  /** Auth URL (single tenant) or storage URL (multi-tenant), with or without http(s)://. */
  authOrStoreUrl: string;
  container: string;
  obj: string;
  /** The reference name of a swift+config location. */
  reference?: string;
  /** For swift+config: whether the reference's auth address is https. */
  ssl?: boolean;
}

/** Container and object names, user and key: Python's urllib.parse.quote with its default safe='/'. */
export { pyQuote };

function stripScheme(url: string): string {
  return url.replace(/^https?:\/\//, '');
}

/** The location URI with credentials, as glance_store's get_uri() writes it. */
export function formatSwiftLocation(loc: SwiftLocation): string {
  let scheme = loc.scheme;
  if (scheme === 'swift+config') scheme = loc.ssl === false ? 'swift+http' : 'swift+https';
  const creds = loc.user && loc.key ? `${pyQuote(loc.user)}:${pyQuote(loc.key)}@` : '';
  const url = stripScheme(loc.authOrStoreUrl).replace(/^\/+|\/+$/g, '');
  return `${scheme}://${creds}${url}/${loc.container.replace(/^\/+|\/+$/g, '')}/${loc.obj.replace(/^\/+|\/+$/g, '')}`;
}

/** The credential-free form written when swift_store_config_file is in use. */
export function formatSwiftConfigLocation(reference: string, container: string, obj: string): string {
  return `swift+config://${reference}/${container}/${obj}`;
}

/**
 * Parses a swift location. `swift+config` references are resolved with
 * `references`; an unknown reference is a BadStoreUri, as in glance_store.
 */
export function parseSwiftLocation(uri: string, references?: ReadonlyMap<string, SwiftReference>): SwiftLocation {
  const bad = (why: string) => new BadStoreUriError(`Invalid swift location ${maskLocation(uri)}: ${why}`);
  if (uri.split('://').length !== 2) {
    throw bad('more than one scheme; write swift+http://user:key@host/... instead of swift://user:key@http://host/...');
  }
  const m = /^([a-z+]+):\/\/(.*)$/i.exec(uri);
  const scheme = m?.[1]?.toLowerCase() as SwiftScheme | undefined;
  if (!m || !scheme || !SWIFT_SCHEMES.includes(scheme)) throw bad('the scheme must be swift, swift+http, swift+https or swift+config');
  const rest = m[2]!;
  const slash = rest.indexOf('/');
  let netloc = slash < 0 ? rest : rest.slice(0, slash);
  const path = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/^\/+/, '');
  const loc: Partial<SwiftLocation> = { scheme };
  if (scheme === 'swift+config') {
    const ref = references?.get(netloc);
    if (!ref) throw bad(`no account reference ${JSON.stringify(netloc)} in swift_store_config_file`);
    loc.reference = netloc;
    loc.user = ref.user;
    loc.key = ref.key;
    loc.ssl = !ref.authAddress.startsWith('http://');
    netloc = stripScheme(ref.authAddress);
  } else {
    // As glance_store, credentials are looked for in the host part only (a user name written with `/` is not read back, there either).
    const split = splitCredentials(netloc, 'USER:KEY', bad);
    netloc = split.rest;
    if (split.user !== undefined) {
      // glance_store quotes both, so a colon inside them is %3A; older unquoted `account:user:key` splits the same way.
      try {
        loc.user = decodeURIComponent(split.user);
        loc.key = decodeURIComponent(split.secret!);
      } catch {
        throw bad('badly escaped credentials');
      }
    }
  }
  const pieces = path.split('/');
  const obj = pieces.pop();
  const container = pieces.pop();
  if (!obj || !container) throw bad('expected .../container/object');
  loc.obj = obj;
  loc.container = container;
  loc.authOrStoreUrl = [netloc, ...pieces].join('/');
  return loc as SwiftLocation;
}

/** The full http(s) URL of a location's auth or storage address: https unless the scheme says http. */
export function swiftUrl(loc: SwiftLocation): string {
  if (/^https?:\/\//.test(loc.authOrStoreUrl)) return loc.authOrStoreUrl;
  const https = loc.scheme === 'swift+config' ? loc.ssl !== false : loc.scheme !== 'swift+http';
  return `${https ? 'https' : 'http'}://${loc.authOrStoreUrl}`;
}
