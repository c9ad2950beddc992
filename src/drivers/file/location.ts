/**
 * `file://` locations, written as glance_store writes them: `file://` followed
 * by the absolute path of the image file (`file:///var/lib/glance/images/<id>`).
 */
import path from 'node:path';
import { BadStoreUriError } from '../../errors.js';
import { maskLocation } from '../../location.js';

export function formatFileLocation(filePath: string): string {
  return `file://${filePath}`;
}

/** The absolute, normalised path a `file://` location names. */
export function parseFileLocation(url: string): string {
  // glance_store also reads the old `filesystem://` scheme.
  const m = /^(file|filesystem):\/\//i.exec(url);
  if (!m) throw new BadStoreUriError(`Not a file location: ${maskLocation(url)}`);
  // glance_store joins netloc and path, so `file:///a/b` is `/a/b`.
  const raw = url.slice(m[0].length);
  if (raw === '' || raw.includes('\0')) throw new BadStoreUriError(`Invalid file location: ${JSON.stringify(maskLocation(url))}`);
  if (!raw.startsWith('/')) throw new BadStoreUriError(`File location must hold an absolute path: ${maskLocation(url)}`);
  return path.resolve(raw);
}
