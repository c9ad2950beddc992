/**
 * `audit --verify`: an image's bytes hashed as an add hashes them (md5 and
 * the multihash, by the add pipeline, through `ms.verify`), compared with
 * what Glance recorded.
 */
import type { MultiStore } from '../multistore.js';

export interface Expected {
  checksum: string;
  multihash: string;
  hashAlgo: string;
}

export interface Verdict {
  ok: boolean;
  size: number;
  checksum: string;
  multihash: string;
}

export async function verifyImage(ms: MultiStore, url: string, store: string, expected: Expected, signal: AbortSignal): Promise<Verdict> {
  const r = await ms.verify(url, { ...expected, store, signal });
  return { ok: r.ok, size: r.size, checksum: r.checksum, multihash: r.multihash };
}
