/**
 * s3 locations, written as glance_store 4.x writes them:
 * `s3://ACCESS:SECRET@host[:port][/path]/bucket/key`, with `s3+https://` when the
 * configured host is an https URL. The secret is not escaped (glance_store does
 * not), so it may hold `/`: parsing splits at the `@`, as glance_store does.
 */
import { BadStoreUriError } from '../../errors.js';
import { maskLocation, splitCredentials } from '../../location.js';

export interface S3Location {
  scheme: 's3' | 's3+http' | 's3+https';
  accessKey?: string;
  secretKey?: string;
  /** Host[:port][/path] without a scheme. */
  host: string;
  bucket: string;
  key: string;
}

/** The configured s3_store_host as glance_store reads it: scheme for locations, and the host part. */
export function splitHost(host: string): { scheme: 's3' | 's3+https'; host: string; https: boolean } {
  if (host.startsWith('https://')) return { scheme: 's3+https', host: host.slice(8).replace(/\/+$/, ''), https: true };
  if (host.startsWith('http://')) return { scheme: 's3', host: host.slice(7).replace(/\/+$/, ''), https: false };
  return { scheme: 's3', host: host.replace(/\/+$/, ''), https: false };
}

export function formatS3Location(loc: S3Location): string {
  const creds = loc.accessKey ? `${loc.accessKey}:${loc.secretKey ?? ''}@` : '';
  return `${loc.scheme}://${creds}${loc.host}/${loc.bucket}/${loc.key}`;
}

export function parseS3Location(uri: string): S3Location {
  const bad = (why: string) => new BadStoreUriError(`Invalid s3 location ${maskLocation(uri)}: ${why}`);
  const m = /^(s3|s3\+http|s3\+https):\/\/(.*)$/i.exec(uri);
  if (!m) throw bad('the scheme must be s3, s3+http or s3+https');
  const rest = m[2]!;
  if (rest.includes('://')) throw bad('a URI inside the location (use s3+https://ACCESS:SECRET@host/bucket/key instead of s3://...@https://host/...)');
  // glance_store splits at every colon, so it cannot read back an s3api `account:user` key; this reads both.
  const { user: accessKey, secret: secretKey, rest: path } = splitCredentials(rest, 'ACCESS:SECRET', bad);
  const pieces = path.replace(/^\/+|\/+$/g, '').split('/');
  const key = pieces.pop();
  const bucket = pieces.pop();
  if (!key || !bucket || pieces.length === 0) throw bad('expected host/bucket/key');
  return { scheme: m[1]!.toLowerCase() as S3Location['scheme'], accessKey, secretKey, host: pieces.join('/'), bucket, key };
}
