/**
 * `audit --verify`: an image's bytes hashed as an add hashes them, compared
 * with what Glance recorded. The hashing is the add pipeline's own (md5 and
 * the multihash, on its worker threads), run over the image as read back.
 * One switch point: once MultiStore has `verify`, this calls it instead.
 */
import type { MultiStore } from '../multistore.js';
import { openAddPipeline } from '../pipeline/add.js';

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
  const { stream } = await ms.get(url, { store, signal });
  const pipeline = openAddPipeline(stream, { hashAlgo: expected.hashAlgo, signal });
  try {
    for await (const block of pipeline.data) pipeline.release(block);
    const d = await pipeline.finish();
    return { ok: d.checksum === expected.checksum && d.multihash === expected.multihash, size: d.size, checksum: d.checksum, multihash: d.multihash };
  } finally {
    stream.destroy();
    await pipeline.close();
  }
}
