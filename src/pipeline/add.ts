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
import { hashWorker } from './hash-worker.js';
import { DEFAULT_HASH_ALGO, nodeHashName } from './hash-algo.js';
import { openSource, type ImageData } from './source.js';

/**
 * Chunks smaller than this are gathered before hashing and writing: hashing
 * and writing in 1 MiB steps or more is several times faster than in the
 * 64 KiB chunks Node's streams deliver by default.
 */
export const COALESCE_BYTES = 1024 * 1024;

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
}

export interface AddDigest {
  size: number;
  checksum: string;
  multihash: string;
  hashAlgo: string;
}

function abortReason(signal: AbortSignal): GlanceStoreError {
  const r = signal.reason as unknown;
  if (r instanceof GlanceStoreError) return r;
  return new AbortedError('The add was aborted', { cause: r });
}

/** Checks options before any data is read, so bad input costs nothing. */
export function checkAddOptions(options: AddPipelineOptions): string {
  const algo = options.hashAlgo ?? DEFAULT_HASH_ALGO;
  if (!nodeHashName(algo)) {
    throw new GlanceStoreError('BadStoreConfiguration', `Unsupported hash algorithm ${JSON.stringify(algo)} (os_hash_algo)`);
  }
  if (options.size !== undefined && (!Number.isSafeInteger(options.size) || options.size < 0)) {
    throw new TypeError(`size must be a non-negative integer, got ${String(options.size)}`);
  }
  if (options.sizeCap !== undefined && (!Number.isSafeInteger(options.sizeCap) || options.sizeCap < 0)) {
    throw new TypeError(`image size cap must be a non-negative integer, got ${String(options.sizeCap)}`);
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

  async function* checkedData(): AsyncGenerator<Buffer, void, undefined> {
    const md5: Hash = createHash('md5');
    let multi: Hash | undefined; // on this thread, for images smaller than one block
    let job: number | undefined; // on the worker thread, for everything larger
    let count = 0;
    // The block being filled: pipeline-owned memory, so a source that reuses its buffer once a
    // chunk is handed over cannot change bytes already counted and hashed. Each block, once
    // hashed, is handed to the driver and never touched again (its ownership goes with it).
    let block: Buffer | undefined;
    let filled = 0;
    const full: Buffer[] = [];

    /** Copies a chunk into pipeline blocks; a chunk of a block's size or more is copied whole. */
    const own = (chunk: Uint8Array) => {
      let at = 0;
      if (filled === 0 && chunk.byteLength >= COALESCE_BYTES) {
        full.push(Buffer.from(chunk));
        return;
      }
      while (at < chunk.byteLength) {
        block ??= Buffer.allocUnsafe(COALESCE_BYTES);
        const n = Math.min(COALESCE_BYTES - filled, chunk.byteLength - at);
        block.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
        if (filled === COALESCE_BYTES) {
          full.push(block);
          block = undefined;
          filled = 0;
        }
      }
    };

    const progress = () => {
      try {
        options.onProgress?.({ bytes: count, ...(declared !== undefined ? { total: declared } : {}) });
      } catch (err) {
        // The caller's own error, as it threw it.
        throw fail(err);
      }
    };
    const hashBlock = async (block: Buffer, last: boolean) => {
      md5.update(block);
      if (job === undefined && !multi) {
        if (last) multi = createHash(nodeAlgo);
        else job = hashWorker.start(nodeAlgo);
      }
      if (multi) multi.update(block);
      else await hashWorker.update(job!, block);
      progress();
    };
    /** The partly filled block, as a block of its own length; undefined when empty. */
    const takePartial = (): Buffer | undefined => {
      if (filled === 0) return undefined;
      const partial = block!.subarray(0, filled);
      block = undefined;
      filled = 0;
      return partial;
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
        own(chunk);
        if (count === declared) {
          // The source must end here: its end is read before the last block goes out.
          if (await nextChunk()) throw tooLong();
          break;
        }
        while (full.length > 0) {
          const ready = full.shift()!;
          await hashBlock(ready, false);
          if (controller.signal.aborted) throw fail(abortReason(controller.signal));
          yield ready;
        }
      }
      if (declared !== undefined && count !== declared) {
        throw fail(new SizeMismatchError(`Image data is ${count} bytes, shorter than the declared size of ${declared} bytes`));
      }
      // The digest is complete before the last blocks are handed out.
      const partial = takePartial();
      if (partial) full.push(partial);
      const rest = full.splice(0);
      for (let i = 0; i < rest.length; i++) await hashBlock(rest[i]!, i === rest.length - 1);
      if (count === 0) progress();
      if (controller.signal.aborted) throw fail(abortReason(controller.signal));
      const multihash = multi ? multi.digest('hex') : job !== undefined ? await hashWorker.digest(job) : createHash(nodeAlgo).digest('hex');
      job = undefined;
      digest = { size: count, checksum: md5.digest('hex'), multihash, hashAlgo };
      for (const ready of rest) yield ready;
      if (controller.signal.aborted) throw fail(abortReason(controller.signal));
    } finally {
      if (job !== undefined) hashWorker.cancel(job);
      await source.release(failure);
    }
  }

  const iterator = checkedData();
  let closed = false;
  return {
    data: { [Symbol.asyncIterator]: () => iterator },
    signal: controller.signal,
    failed: (err) => failure ?? err,
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
