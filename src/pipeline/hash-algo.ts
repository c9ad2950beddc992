/**
 * os_hash_algo names. Glance takes Python hashlib names (`sha512`,
 * `sha3_256`, `blake2b`); Node's OpenSSL spells some differently. Both
 * spellings are accepted, and the name the caller gave is the one reported,
 * so the image record matches what Glance would store.
 */
import { getHashes } from 'node:crypto';

const ALIASES: Record<string, string> = {
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  'blake2b-512': 'blake2b512',
  blake2s: 'blake2s256',
  'blake2s-256': 'blake2s256',
  sha512_224: 'sha512-224',
  sha512_256: 'sha512-256',
};

export const DEFAULT_HASH_ALGO = 'sha512';

/** Node's name for a hash algorithm, or undefined when Node cannot compute it. */
export function nodeHashName(algo: string): string | undefined {
  const lower = algo.trim().toLowerCase();
  const name = ALIASES[lower] ?? lower;
  return getHashes().includes(name) && name !== 'md5-sha1' ? name : undefined;
}
