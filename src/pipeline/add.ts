/**
 * The add pipeline: every driver's add receives the image through here, so
 * drivers never hash or count. It counts bytes, computes the md5 checksum
 * and the multihash (in parallel, see hash-worker.ts), enforces the image
 * size cap and the declared size, reports progress and honours an
 * AbortSignal. Every check fails *inside* the iteration the driver is
 * consuming, before the last byte is handed out, so a driver can never
 * commit an image that failed a check: it sees the error and cleans up.
 * What is left (a driver that resolved although the add failed) is for the
 * caller to remove: see `AddPipeline.finish`.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  AbortedError,
  BackendError,
  GlanceStoreError,
  ImageSizeLimitExceededError,
  SizeMismatchError,
  SourceError,
} from '../errors.js';
import { checkByteCount, checkCallOptions, checkOptionalFunction, checkOptionalString, InvalidArgumentValueError } from '../arguments.js';
import { BLOCK_BYTES, hashWorkers, type HeldBlock } from './hash-worker.js';
import { DEFAULT_HASH_ALGO, nodeHashName } from './hash-algo.js';
import { openSource, type ImageData } from './source.js';
import { abortError } from '../abandon.js';

/**
 * Every chunk is gathered into (or cut into) blocks of this size before
 * hashing and writing: hashing and writing in 1 MiB steps is several times
 * faster than in the 16-64 KiB chunks a request body or Node's file streams
 * deliver, and the cost per byte is then the same whatever the source's chunks.
 */
export const COALESCE_BYTES = BLOCK_BYTES;

/**
 * Blocks lent at once to a driver that gives them back (`lend`); past this, it
 * gets copies, so a driver that holds on to blocks cannot exhaust the ring
 * every add shares.
 */
const LEND_LIMIT = 8;

export interface AddProgress {
  /** Bytes received so far. */
  bytes: number;
  /** The declared size, when known. */
  total?: number;
}

export interface AddPipelineOptions {
  /** Declared size in bytes (0: an empty image); absent when unknown. */
  size?: number;
  /** Largest image accepted, in bytes (Glance's image_size_cap); 0 means no cap. */
  sizeCap?: number;
  /** Multihash algorithm (os_hash_algo); sha512 by default. */
  hashAlgo?: string;
  signal?: AbortSignal;
  onProgress?: (progress: AddProgress) => void;
  /**
   * The driver gives each block back through `AddPipeline.release` once it is
   * done with it, so the block's memory is reused; otherwise each block it gets
   * is a copy of its own.
   */
  lend?: boolean;
  /**
   * Judges the digest once the last byte is in, before the last block goes
   * to the driver (a copy's expected hashes): throwing fails the add there.
   */
  expect?: (digest: AddDigest) => void;
}

export interface AddDigest {
  size: number;
  checksum: string;
  multihash: string;
  hashAlgo: string;
}

/** The add's abort as its caller and driver see it (the signal's reason when it is a library error). */
const abortReason = (signal: AbortSignal): GlanceStoreError => abortError(signal, 'The add');

/**
 * The options of an add (MultiStore's add and copy, and openAddPipeline),
 * checked before any data is read, so bad input costs nothing: a mistyped or
 * unacceptable argument is a Node-style TypeError or RangeError (see
 * arguments.ts), an image declared larger than the cap is
 * ImageSizeLimitExceeded. Returns the multihash algorithm.
 */
export function checkAddOptions(options: AddPipelineOptions & { store?: string; context?: object }): string {
  checkCallOptions(options);
  checkByteCount('size', options.size);
  checkByteCount('sizeCap', options.sizeCap);
  checkOptionalString('hashAlgo', options.hashAlgo);
  checkOptionalFunction('onProgress', options.onProgress);
  const algo = options.hashAlgo ?? DEFAULT_HASH_ALGO;
  if (!nodeHashName(algo)) {
    throw new InvalidArgumentValueError(`The "hashAlgo" option must be a hash algorithm this Node can compute (hashlib names: sha512, sha256, sha3_512, blake2b, ...); got ${JSON.stringify(algo)}`);
  }
  if (options.size !== undefined && options.sizeCap && options.size > options.sizeCap) {
    throw new ImageSizeLimitExceededError(`Image size ${options.size} exceeds the image size cap of ${options.sizeCap} bytes`);
  }
  return algo;
}

/** One add's pass over the image data, from `openAddPipeline`. */
export interface AddPipeline {
  /** The checked image data, for the driver's add. */
  readonly data: AsyncIterable<Buffer>;
  /** Aborted when the add must stop (a failed check, the caller's abort): the driver's signal. */
  readonly signal: AbortSignal;
  /** The error to report when the driver rejected: the image's own failure, when it had one, explains more. */
  failed(err: unknown): unknown;
  /**
   * Once the driver resolved: the digest, or rejects with why the add failed
   * all the same (a check or the caller's abort after the last byte went out,
   * or data the driver did not read to the end). The caller then removes what
   * the driver stored.
   */
  finish(): Promise<AddDigest>;
  /** A block the driver was lent (`lend`) and no longer needs; anything else is ignored. */
  release(block: Uint8Array): void;
  /** Stops reading the source and releases it; call once the driver has settled. */
  close(): Promise<void>;
}

/**
 * Opens the pipeline over `data`; nothing is read until the driver iterates
 * `data`. Options are checked first, and an already aborted signal rejects,
 * so bad input costs nothing.
 *
 * With a declared size, every check and both hashes are done by the time
 * the last byte is handed out: the pipeline reads the end of the source
 * before it gives the driver the last block. A driver whose client stops
 * reading at Content-Length (a single PUT) has then completed the add, and
 * an image that is too long or fails right after its last byte fails while
 * the driver still holds its iteration.
 */
export function openAddPipeline(data: ImageData, options: AddPipelineOptions): AddPipeline {
  const hashAlgo = checkAddOptions(options);
  const nodeAlgo = nodeHashName(hashAlgo)!;
  const declared = options.size;
  const cap = options.sizeCap || 0;
  const userSignal = options.signal;
  if (userSignal?.aborted) throw abortReason(userSignal);

  // A worker thread takes tens of milliseconds to start: it does so while the first block is read.
  if (declared === undefined || declared > BLOCK_BYTES) hashWorkers.prepare();
  const source = openSource(data);
  const controller = new AbortController();
  const onUserAbort = () => controller.abort(abortReason(userSignal!));
  userSignal?.addEventListener('abort', onUserAbort, { once: true });

  let failure: unknown;
  let digest: AddDigest | undefined;

  const fail = (err: unknown): unknown => {
    failure ??= err;
    if (!controller.signal.aborted) controller.abort(err);
    return failure;
  };

  /** Blocks the driver holds, by the Buffer it was given. */
  const lent = new Map<Uint8Array, HeldBlock>();

  async function* checkedData(): AsyncGenerator<Buffer, void, undefined> {
    // Both hashes on this thread, for images that fit in one block.
    let small: { md5: Hash; multi: Hash } | undefined;
    let job: number | undefined; // both hashes on the worker threads, for everything larger
    let count = 0;
    // The block being filled: pipeline-owned memory, so a source that reuses its buffer once a
    // chunk is handed over cannot change bytes already counted and hashed. A block, once
    // hashed, is handed to the driver (lent, or as a copy) and never written again until the
    // driver and both hashes are done with it.
    let block: HeldBlock | undefined;
    let filled = 0;

    const progress = () => {
      try {
        options.onProgress?.({ bytes: count, ...(declared !== undefined ? { total: declared } : {}) });
      } catch (err) {
        // The caller's own error, as it threw it.
        throw fail(err);
      }
    };
    const acquire = async (): Promise<HeldBlock> => {
      try {
        return await hashWorkers.acquire(controller.signal);
      } catch (err) {
        if (controller.signal.aborted) throw fail(abortReason(controller.signal));
        throw fail(new BackendError(`Hashing the image failed: ${(err as Error).message}`, { cause: err }));
      }
    };
    const hashBlock = (held: HeldBlock, len: number, last: boolean) => {
      if (job === undefined && !small) {
        if (last) small = { md5: createHash('md5'), multi: createHash(nodeAlgo) };
        else job = hashWorkers.start(['md5', nodeAlgo]);
      }
      if (small) {
        const bytes = held.buf.subarray(0, len);
        small.md5.update(bytes);
        small.multi.update(bytes);
      } else {
        try {
          hashWorkers.update(job!, held, len);
        } catch (err) {
          throw fail(new BackendError(`Hashing the image failed: ${(err as Error).message}`, { cause: err }));
        }
      }
      progress();
    };
    /** The block as the driver gets it: lent, or copied when lending is off or at its limit. */
    const handOver = (held: HeldBlock, len: number): Buffer => {
      const view = held.buf.subarray(0, len);
      if (options.lend && lent.size < LEND_LIMIT) {
        lent.set(view, held);
        return view;
      }
      const copy = Buffer.from(view);
      held.release();
      return copy;
    };
    /** The source's next non-empty chunk, checked; undefined at its end. */
    const nextChunk = async (): Promise<Uint8Array | undefined> => {
      for (;;) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await nextOrAbort(source.iterator, controller.signal);
        } catch (err) {
          if (err instanceof GlanceStoreError) throw fail(err);
          throw fail(new SourceError(`Reading the image data failed: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
        }
        if (step.done) return undefined;
        const chunk = step.value as unknown;
        if (!(chunk instanceof Uint8Array)) {
          throw fail(new SourceError(`Image data chunks must be bytes (Buffer or Uint8Array), got ${typeof chunk === 'string' ? 'a string' : typeof chunk}`));
        }
        if (chunk.byteLength > 0) return chunk;
      }
    };
    const tooLong = () => fail(new SizeMismatchError(`Image data is longer than the declared size of ${declared} bytes`));

    try {
      for (let chunk = await nextChunk(); chunk; chunk = await nextChunk()) {
        count += chunk.byteLength;
        if (cap && count > cap) {
          throw fail(new ImageSizeLimitExceededError(`Image exceeds the image size cap of ${cap} bytes`));
        }
        if (declared !== undefined && count > declared) throw tooLong();
        const endsImage = count === declared;
        // Copied a block at a time, each full block handed on before the next is taken: an add
        // waits for a free block holding none, so adds sharing the ring cannot starve each other.
        for (let at = 0; at < chunk.byteLength; ) {
          block ??= await acquire();
          const n = Math.min(BLOCK_BYTES - filled, chunk.byteLength - at);
          block.buf.set(n === chunk.byteLength ? chunk : chunk.subarray(at, at + n), filled);
          filled += n;
          at += n;
          // The image's last block waits for the end of the source (below).
          if (filled === BLOCK_BYTES && !(endsImage && at === chunk.byteLength)) {
            const ready = block;
            block = undefined;
            filled = 0;
            hashBlock(ready, BLOCK_BYTES, false);
            if (controller.signal.aborted) {
              ready.release();
              throw fail(abortReason(controller.signal));
            }
            yield handOver(ready, BLOCK_BYTES);
          }
        }
        if (endsImage) {
          // The source must end here: its end is read before the last block goes out.
          if (await nextChunk()) throw tooLong();
          break;
        }
      }
      if (declared !== undefined && count !== declared) {
        throw fail(new SizeMismatchError(`Image data is ${count} bytes, shorter than the declared size of ${declared} bytes`));
      }
      // The digest is complete before the last block is handed out.
      const last = block;
      const lastBytes = filled;
      block = undefined;
      filled = 0;
      if (last) hashBlock(last, lastBytes, true);
      if (count === 0) progress();
      try {
        if (controller.signal.aborted) throw fail(abortReason(controller.signal));
        const [checksum, multihash] = small
          ? [small.md5.digest('hex'), small.multi.digest('hex')]
          : job !== undefined
            ? await hashWorkers.digest(job).catch((err: unknown) => {
                throw fail(new BackendError(`Hashing the image failed: ${(err as Error).message}`, { cause: err }));
              })
            : [createHash('md5').digest('hex'), createHash(nodeAlgo).digest('hex')];
        job = undefined;
        const complete = { size: count, checksum: checksum!, multihash: multihash!, hashAlgo };
        // A copy's expected hashes are judged while the driver still waits for the last block, so it never commits bytes that differ.
        try {
          options.expect?.(complete);
        } catch (err) {
          throw fail(err);
        }
        digest = complete;
      } catch (err) {
        last?.release();
        throw err;
      }
      if (last) yield handOver(last, lastBytes);
      if (controller.signal.aborted) throw fail(abortReason(controller.signal));
    } finally {
      block?.release();
      if (job !== undefined) hashWorkers.cancel(job);
      await source.release(failure);
    }
  }

  const iterator = checkedData();
  let closed = false;
  return {
    data: { [Symbol.asyncIterator]: () => iterator },
    signal: controller.signal,
    failed: (err) => failure ?? err,
    release(block) {
      const held = lent.get(block);
      if (!held) return;
      lent.delete(block);
      held.release();
    },
    async finish() {
      // A driver with nothing to read (a declared size of 0) need not have asked for data: the
      // end of the source is checked here.
      if (declared === 0 && !digest && failure === undefined) await iterator.next().catch(() => undefined);
      if (failure !== undefined) throw failure;
      if (controller.signal.aborted) throw abortReason(controller.signal);
      if (!digest) throw new BackendError('The store finished the add before reading all of the image data');
      return digest;
    },
    async close() {
      if (closed) return;
      closed = true;
      userSignal?.removeEventListener('abort', onUserAbort);
      if (!controller.signal.aborted) controller.abort(new AbortedError('add finished'));
      // Ends a generator the driver left suspended (its hash job, its source). Not awaited:
      // a generator still inside a read finishes once the abort above reaches it.
      iterator.return(undefined).catch(() => undefined);
      // The driver has settled: what it still holds is given back.
      for (const held of lent.values()) held.release();
      lent.clear();
      await source.release();
    },
  };
}

/**
 * The source's next chunk, or a rejection as soon as the add is aborted, so a
 * stalled source cannot hang it. The abort listener is removed after each
 * step: racing every step against one long-lived promise would keep every
 * chunk reachable until the add ends.
 */
function nextOrAbort(iterator: AsyncIterator<Uint8Array>, signal: AbortSignal): Promise<IteratorResult<Uint8Array>> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    iterator.next().then(
      (step) => {
        signal.removeEventListener('abort', onAbort);
        resolve(step);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
