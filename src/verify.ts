/**
 * Verified reads: the bytes a get yields are hashed on their way to the
 * caller and compared, at the end of the image, with the hashes recorded
 * when it was added (Glance's `checksum`, and `os_hash_value` in
 * `os_hash_algo`). A mismatch is the stream's error in place of its end, so a
 * consumer that waits for the end (a download written to a file, a copy
 * into another store) never takes corrupt data for a whole image.
 *
 * Hashing runs on the add pipeline's two hash workers (md5 on one, the
 * multihash on the other), so a verified get costs one memory copy per byte
 * on the main thread and holds one block of the shared ring at a time: its
 * memory stays flat whatever the image size.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { LocationRecord } from './driver.js';
import { locationUrl, maskLocation } from './location.js';
import { BackendError, ChecksumMismatchError } from './errors.js';
import { BLOCK_BYTES, hashWorkers, type HeldBlock } from './pipeline/hash-worker.js';
import { nodeHashName } from './pipeline/hash-algo.js';
import { checkOptionalString, checkOptionsObject, InvalidArgumentValueError } from './arguments.js';

/** What the image's record says its bytes hash to; `hashAlgo` is the multihash's algorithm (os_hash_algo). */
export interface VerifyExpected {
  /** md5, hex (Glance's `checksum`). */
  checksum?: string;
  /** The multihash, hex (Glance's `os_hash_value`). */
  multihash?: string;
  /** The multihash's algorithm (Glance's `os_hash_algo`); the store's os_hash_algo when absent. */
  hashAlgo?: string;
}

/** Expected hashes, checked and lower-cased, with the algorithm settled. */
export interface Expectation {
  checksum?: string;
  multihash?: string;
  hashAlgo: string;
}

/** What one pass over the image found. */
export interface ImageDigest {
  size: number;
  checksum: string;
  multihash: string;
  hashAlgo: string;
}

export type HashName = 'checksum' | 'multihash';

/** `ms.verify`'s answer: what the bytes hash to, and which of the expected hashes they match. */
export interface VerifyResult extends ImageDigest {
  /** The store that served the bytes. */
  store: string;
  /** Every expected hash matched (true also when none was given: the result is then the digest alone). */
  ok: boolean;
  /** The expected hashes the bytes match. */
  matched: HashName[];
  /** The expected hashes the bytes do not match. */
  mismatched: HashName[];
}

const HEX = /^[0-9a-f]+$/;

/**
 * The `verify` argument (of get, copy or ms.verify) checked before anything
 * is read: hex strings of the algorithm's length, an algorithm this Node can
 * compute. `requireOne`: a verified get with nothing to compare is a mistake.
 */
export function checkExpectation(name: string, value: unknown, defaultAlgo: string, requireOne: boolean): Expectation {
  checkOptionsObject(name, value);
  const v = (value ?? {}) as VerifyExpected;
  for (const key of ['checksum', 'multihash', 'hashAlgo'] as const) checkOptionalString(`${name}.${key}`, v[key]);
  const hashAlgo = v.hashAlgo ?? defaultAlgo;
  const nodeAlgo = nodeHashName(hashAlgo);
  if (!nodeAlgo) throw new InvalidArgumentValueError(`The "${name}.hashAlgo" option must be a hash algorithm this Node can compute; got ${JSON.stringify(hashAlgo)}`);
  if (requireOne && v.checksum === undefined && v.multihash === undefined) {
    throw new InvalidArgumentValueError(`The "${name}" option needs "checksum" or "multihash" (with "hashAlgo") to compare the image's bytes with`);
  }
  const hex = (key: HashName, given: string | undefined, bytes: number): string | undefined => {
    if (given === undefined) return undefined;
    const lower = given.trim().toLowerCase();
    if (lower.length !== bytes * 2 || !HEX.test(lower)) {
      throw new InvalidArgumentValueError(`The "${name}.${key}" option must be ${bytes * 2} hex digits (${key === 'checksum' ? 'md5' : hashAlgo}); got ${JSON.stringify(given)}`);
    }
    return lower;
  };
  const checksum = hex('checksum', v.checksum, 16);
  const multihash = hex('multihash', v.multihash, createHash(nodeAlgo).digest().length);
  return { hashAlgo, ...(checksum ? { checksum } : {}), ...(multihash ? { multihash } : {}) };
}

/** Which expected hashes the digest matches and which it does not. */
export function compareDigest(expected: Expectation, digest: ImageDigest): { matched: HashName[]; mismatched: HashName[] } {
  const matched: HashName[] = [];
  const mismatched: HashName[] = [];
  for (const key of ['checksum', 'multihash'] as const) {
    const want = expected[key];
    if (want === undefined) continue;
    (want === digest[key] ? matched : mismatched).push(key);
  }
  return { matched, mismatched };
}

/** The error for a digest that differs from what was expected, naming both values of each hash that differs. */
export function mismatchError(what: string, expected: Expectation, digest: ImageDigest): ChecksumMismatchError | undefined {
  const { mismatched } = compareDigest(expected, digest);
  if (mismatched.length === 0) return undefined;
  const parts = mismatched.map((k) => `${k === 'checksum' ? 'checksum (md5)' : `multihash (${digest.hashAlgo})`} ${digest[k]} differs from the recorded ${expected[k]}`);
  return new ChecksumMismatchError(`${what}: the ${digest.size} bytes read are not the image's: ${parts.join('; ')}`);
}

/**
 * md5 and the multihash of a byte stream, a chunk at a time: chunks are
 * copied into blocks of the hash workers' ring (the caller may reuse its
 * buffer once `update` resolves), each full block hashed on both workers
 * while the next fills. An image that fits in one block is hashed here.
 */
export class ImageHasher {
  private readonly nodeAlgo: string;
  private readonly stop = new AbortController();
  private block: HeldBlock | undefined;
  private filled = 0;
  private job: number | undefined;
  private size = 0;
  private done = false;

  constructor(readonly hashAlgo: string) {
    this.nodeAlgo = nodeHashName(hashAlgo)!;
    hashWorkers.prepare();
  }

  async update(chunk: Uint8Array): Promise<void> {
    this.size += chunk.byteLength;
    for (let at = 0; at < chunk.byteLength; ) {
      this.block ??= await this.acquire();
      const n = Math.min(BLOCK_BYTES - this.filled, chunk.byteLength - at);
      this.block.buf.set(n === chunk.byteLength ? chunk : chunk.subarray(at, at + n), this.filled);
      this.filled += n;
      at += n;
      if (this.filled === BLOCK_BYTES) this.hashBlock();
    }
  }

  async digest(): Promise<ImageDigest> {
    this.done = true;
    let checksum: string;
    let multihash: string;
    if (this.job === undefined) {
      // Nothing went to the workers: the image fits in the block being filled.
      const md5: Hash = createHash('md5');
      const multi: Hash = createHash(this.nodeAlgo);
      if (this.block) {
        const bytes = this.block.buf.subarray(0, this.filled);
        md5.update(bytes);
        multi.update(bytes);
      }
      this.close();
      [checksum, multihash] = [md5.digest('hex'), multi.digest('hex')];
    } else {
      if (this.filled > 0) this.hashBlock();
      const job = this.job;
      this.job = undefined;
      try {
        [checksum, multihash] = (await hashWorkers.digest(job)) as [string, string];
      } catch (err) {
        throw new BackendError(`Hashing the image failed: ${(err as Error).message}`, { cause: err });
      }
    }
    return { size: this.size, checksum, multihash, hashAlgo: this.hashAlgo };
  }

  /** Lets the ring's block and the workers' job go (a read that ended early); safe to call twice. */
  close(): void {
    this.stop.abort(new BackendError('hashing stopped'));
    this.block?.release();
    this.block = undefined;
    if (this.job !== undefined) hashWorkers.cancel(this.job);
    this.job = undefined;
  }

  private hashBlock(): void {
    const ready = this.block!;
    this.job ??= hashWorkers.start(['md5', this.nodeAlgo]);
    try {
      hashWorkers.update(this.job, ready, this.filled);
    } catch (err) {
      throw new BackendError(`Hashing the image failed: ${(err as Error).message}`, { cause: err });
    } finally {
      // The workers hold the block until both have hashed it; this hold is let go now.
      ready.release();
      this.block = undefined;
      this.filled = 0;
    }
  }

  private async acquire(): Promise<HeldBlock> {
    if (this.done) throw new BackendError('The image hasher was used after its digest');
    try {
      return await hashWorkers.acquire(this.stop.signal);
    } catch (err) {
      throw new BackendError(`Hashing the image failed: ${(err as Error).message}`, { cause: err });
    }
  }
}

/**
 * The stream a verified get gives: the source's chunks as they come (not
 * held back, so a file store's reused buffers stay valid as long as they
 * would have), hashed on the way; at the source's end, the digest is compared
 * with the expected hashes, and a mismatch is the stream's error instead of
 * its end. Destroying it destroys the source.
 */
export function verifiedStream(source: Readable, expected: Expectation, what: string): Readable {
  async function* checked(): AsyncGenerator<Uint8Array, void, undefined> {
    const hasher = new ImageHasher(expected.hashAlgo);
    try {
      for await (const chunk of source as AsyncIterable<Uint8Array>) {
        await hasher.update(chunk);
        yield chunk;
      }
      const mismatch = mismatchError(what, expected, await hasher.digest());
      if (mismatch) throw mismatch;
    } finally {
      hasher.close();
      source.destroy();
    }
  }
  return Readable.from(checked(), { objectMode: false });
}

/** Reads a stream to its end, hashing it and keeping none of it (ms.verify). */
export async function digestStream(source: Readable, hashAlgo: string): Promise<ImageDigest> {
  const hasher = new ImageHasher(hashAlgo);
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) await hasher.update(chunk);
    return await hasher.digest();
  } finally {
    hasher.close();
    source.destroy();
  }
}

/** What a get gives, as far as verifying needs it. */
interface Opened {
  stream: Readable;
  store: string;
}

/**
 * A get with `verify` (MultiStore.get): the expectation checked and a ranged
 * get refused before anything is read, then the unverified get's stream
 * wrapped in the check.
 */
export async function verifiedGet<T extends Opened>(location: string | LocationRecord, verify: unknown, ranged: boolean, defaultAlgo: string, open: () => Promise<T>): Promise<T> {
  const expected = checkExpectation('verify', verify, defaultAlgo, true);
  if (ranged) throw new InvalidArgumentValueError('A ranged get cannot be verified: the recorded hashes are of the whole image (drop "verify", or read the whole image)');
  const got = await open();
  return { ...got, stream: verifiedStream(got.stream, expected, `The image at ${maskLocation(locationUrl(location))} in store ${got.store}`) };
}

/** MultiStore.verify: the whole image read and hashed, none of it kept, compared with what the caller expects. */
export async function verifyImage(options: VerifyExpected, defaultAlgo: string, open: () => Promise<Opened>): Promise<VerifyResult> {
  const expected = checkExpectation('options', { checksum: options.checksum, multihash: options.multihash, hashAlgo: options.hashAlgo }, defaultAlgo, false);
  const got = await open();
  const digest = await digestStream(got.stream, expected.hashAlgo);
  const { matched, mismatched } = compareDigest(expected, digest);
  return { ...digest, store: got.store, ok: mismatched.length === 0, matched, mismatched };
}
