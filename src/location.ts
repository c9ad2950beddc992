/**
 * Location URIs: the scheme lookup shared by every driver, and the masking of
 * credentials that glance_store puts inside some URIs (swift single-tenant
 * `user:key@`, s3 `access:secret@`). Each driver formats and parses its own
 * scheme in its folder; this module holds only what they all share.
 */
import { BadStoreUriError } from './errors.js';
import type { LocationRecord } from './driver.js';

export const MASK = '***';

/** The URI scheme, lower-cased (`swift+https`, `file`, ...). */
export function schemeOf(url: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  if (!m) throw new BadStoreUriError(`Location has no URI scheme: ${maskLocation(url)}`);
  return m[1]!.toLowerCase();
}

export function locationUrl(location: string | LocationRecord): string {
  if (typeof location === 'string') return location;
  if (location && typeof location.url === 'string') return location.url;
  throw new BadStoreUriError('Location must be a URI string or an object with a url');
}

// Credentials sit between `://` and the LAST `@` of the URI, as glance_store
// splits them (the secret itself may hold `/` or `@`). The user part before
// the first `:` is kept so messages still say whose credentials they were; it may hold a
// `/` (glance_store leaves `/` unquoted in swift user names).
const CREDENTIALS = /([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^:\s@]*):(\S*)@(?=[^@\s]*(?:\s|$|["'),\]]))/g;

// A user name with no password (`http://TOKEN@host/`) is often a token itself.
const LONE_USERINFO = /([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^:/\s@]+)@(?=[^@\s]*(?:\s|$|["'),\]]))/g;

// Query parameters that carry credentials: signed URLs (X-Amz-Signature, X-Amz-Credential,
// temp_url_sig), tokens, keys, passwords.
const QUERY_SECRET = /([?&;](?:[\w.-]*(?:sig|signature|token|secret|password|passwd|pwd|credential|key|auth)[\w.-]*)=)([^&;#\s"'),\]]*)/gi;

/**
 * The URI with any password, secret key, token or credential parameter
 * replaced by `***`; given free text (an error message, a log line), every
 * URI inside it is masked so.
 */
export function maskLocation(url: string): string {
  return url
    .replace(CREDENTIALS, (_m, scheme: string, user: string, secret: string) => {
      // s3 access keys may hold a colon (Swift's s3api: `account:user`) and secrets never do,
      // so s3 credentials split at the last colon, as the s3 driver reads them.
      if (/^s3(\+https?)?:\/\/$/i.test(scheme)) {
        const creds = `${user}:${secret}`;
        return `${scheme}${creds.slice(0, creds.lastIndexOf(':'))}:${MASK}@`;
      }
      return `${scheme}${user}:${MASK}@`;
    })
    .replace(LONE_USERINFO, (m, scheme: string, user: string) => (user === MASK ? m : `${scheme}${MASK}@`))
    .replace(QUERY_SECRET, (_m, name: string) => `${name}${MASK}`);
}

/**
 * One %-escaped component of a location, decoded; a malformed escape is a
 * BadStoreUriError naming the location (masked), never a raw URIError.
 */
export function decodeComponent(text: string, location: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new BadStoreUriError(`Location ${maskLocation(location)} has a malformed %-escape`);
  }
}

/**
 * Splits `user:secret@rest` as glance_store splits the credentials of s3
 * and swift locations: at the one `@`, then user from secret at the last raw
 * `:` (s3api access keys are `account:user`; swift quotes a `:` inside user
 * or key as %3A). s3 passes all that follows `s3://` (a secret may hold
 * `/`), swift its host part. The parts stay as written (still
 * percent-encoded); `bad` makes the caller's error.
 */
export function splitCredentials(afterScheme: string, form: string, bad: (why: string) => Error): { user?: string; secret?: string; rest: string } {
  const parts = afterScheme.split('@');
  if (parts.length === 1) return { rest: afterScheme };
  if (parts.length !== 2) throw bad('more than one @ in the credentials');
  const creds = parts[0]!;
  const colon = creds.lastIndexOf(':');
  if (colon < 0) throw bad(`credentials must be ${form}`);
  return { user: creds.slice(0, colon), secret: creds.slice(colon + 1), rest: parts[1]! };
}

/**
 * Percent-encodes as Python's urllib.parse.quote(text, safe) does: letters,
 * digits and `_.-~` stay, and the characters of `safe` (`/` by default, as
 * Python's), every other byte of the UTF-8 is %XX in upper case.
 */
export function pyQuote(text: string, safe = '/'): string {
  let quoted = encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${hex(c)}`);
  for (const c of new Set(safe)) quoted = quoted.replaceAll(`%${hex(c)}`, c);
  return quoted;
}

function hex(c: string): string {
  return c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
}

/** Masks credential-bearing URIs in every string inside a value (option values, properties). */
export function maskDeep<T>(value: T): T {
  if (typeof value === 'string') return maskLocation(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => maskDeep(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskDeep(v)])) as T;
  }
  return value;
}

/** The image id a location names: its last path segment, as glance_store's locations end in the id. */
export function imageIdFromLocation(url: string): string {
  const path = url.replace(/[?#].*$/, '').replace(/\/snap$/, '');
  const last = path.split('/').filter(Boolean).pop() ?? '';
  return decodeComponent(last, url);
}
