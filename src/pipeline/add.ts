/**
 * The add pipeline: every driver's add receives the image through here, so
 * drivers never hash or count. It counts bytes, computes the md5 checksum
 * and the multihash (in parallel, see hash-worker.ts), enforces the image
 * size cap and the declared size, reports progress and honours an
 * AbortSignal. Every check fails *inside* the iteration the driver is
 * consuming, before the iterator reports the end, so a driver can never
 * commit an image that failed a check: it sees the error and cleans up.
 */
import { createHash, type Hash } from 'node:crypto';
import {
  AbortedError,
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
  /** Declared size in bytes; 0 or absent when unknown. */
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

/** What a driver's add is called with by `runAddPipeline`. */
export type PipelineWriter<T> = (data: AsyncIterable<Buffer>, signal: AbortSignal) => Promise<T>;

export interface PipelineRun<T> {
  result: T;
  digest: AddDigest;
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
  if (options.size && options.sizeCap && options.size > options.sizeCap) {
    throw new ImageSizeLimitExceededError(`Image size ${options.size} exceeds the image size cap of ${options.sizeCap} bytes`);
  }
  return algo;
}

/**
 * Runs `write` (a driver's add) over the checked data. Resolves with the
 * driver's result and the digest only when the driver consumed the whole,
 * valid stream; otherwise rejects with the error that stopped it. Callers
 * must remove what `write` stored if this rejects after `write` resolved
 * (`PipelineIncomplete` below tells them).
 */
export async function runAddPipeline<T>(data: ImageData, options: AddPipelineOptions, write: PipelineWriter<T>): Promise<PipelineRun<T>> {
  const hashAlgo = checkAddOptions(options);
  const nodeAlgo = nodeHashName(hashAlgo)!;
  const declared = options.size || 0;
  const cap = options.sizeCap || 0;
  const userSignal = options.signal;
  if (userSignal?.aborted) throw abortReason(userSignal);

  const source = openSource(data);
  const controller = new AbortController();
  const onUserAbort = () => controller.abort(abortReason(userSignal!));
  userSignal?.addEventListener('abort', onUserAbort, { once: true });

  let failure: GlanceStoreError | undefined;
  let digest: AddDigest | undefined;

  const fail = (err: GlanceStoreError): GlanceStoreError => {
    failure ??= err;
    if (!controller.signal.aborted) controller.abort(err);
    return failure;
  };

  async function* checkedData(): AsyncGenerator<Buffer, void, undefined> {
    const md5: Hash = createHash('md5');
    let multi: Hash | undefined; // on this thread, for images smaller than one block
    let job: number | undefined; // on the worker thread, for everything larger
    let count = 0;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;

    const hashBlock = async (block: Buffer, last: boolean) => {
      md5.update(block);
      if (job === undefined && !multi) {
        if (last) multi = createHash(nodeAlgo);
        else job = hashWorker.start(nodeAlgo);
      }
      if (multi) multi.update(block);
      else await hashWorker.update(job!, block);
      options.onProgress?.({ bytes: count, ...(declared ? { total: declared } : {}) });
    };
    const takePending = (): Buffer => {
      const block = pending.length === 1 ? toBuffer(pending[0]!) : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      return block;
    };

    try {
      for (;;) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await nextOrAbort(source.iterator, controller.signal);
        } catch (err) {
          if (err instanceof GlanceStoreError) throw fail(err);
          throw fail(new SourceError(`Reading the image data failed: ${(err as Error)?.message ?? String(err)}`, { cause: err }));
        }
        if (step.done) break;
        const chunk = step.value as unknown;
        if (!(chunk instanceof Uint8Array)) {
          throw fail(new SourceError(`Image data chunks must be bytes (Buffer or Uint8Array), got ${typeof chunk === 'string' ? 'a string' : typeof chunk}`));
        }
        if (chunk.byteLength === 0) continue;
        count += chunk.byteLength;
        if (cap && count > cap) {
          throw fail(new ImageSizeLimitExceededError(`Image exceeds the image size cap of ${cap} bytes`));
        }
        if (declared && count > declared) {
          throw fail(new SizeMismatchError(`Image data is longer than the declared size of ${declared} bytes`));
        }
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= COALESCE_BYTES) {
          const block = takePending();
          await hashBlock(block, false);
          if (controller.signal.aborted) throw fail(abortReason(controller.signal));
          yield block;
        }
      }
      if (declared && count !== declared) {
        throw fail(new SizeMismatchError(`Image data is ${count} bytes, shorter than the declared size of ${declared} bytes`));
      }
      if (pendingBytes > 0) {
        const block = takePending();
        await hashBlock(block, true);
        yield block;
      }
      if (controller.signal.aborted) throw fail(abortReason(controller.signal));
      const multihash = multi ? multi.digest('hex') : job !== undefined ? await hashWorker.digest(job) : createHash(nodeAlgo).digest('hex');
      job = undefined;
      digest = { size: count, checksum: md5.digest('hex'), multihash, hashAlgo };
      if (count === 0) options.onProgress?.({ bytes: 0, ...(declared ? { total: declared } : {}) });
    } finally {
      if (job !== undefined) hashWorker.cancel(job);
      if (!digest) await source.release(failure);
    }
  }

  try {
    let result: T;
    try {
      result = await write(checkedData(), controller.signal);
    } catch (err) {
      throw failure ?? err;
    }
    if (controller.signal.aborted && !digest) {
      // The store finished although the image failed (a driver that took an error for the
      // end of the data): the caller removes what it stored.
      throw markStored(failure ?? abortReason(controller.signal), result);
    }
    if (!digest) throw new PipelineIncomplete(result);
    return { result, digest };
  } finally {
    userSignal?.removeEventListener('abort', onUserAbort);
    if (!controller.signal.aborted) controller.abort(new AbortedError('add finished'));
    await source.release();
  }
}

const STORED = Symbol('stored');

/** Notes on a failure what the driver stored all the same, for the caller to remove. */
function markStored<E extends object>(err: E, result: unknown): E {
  Object.defineProperty(err, STORED, { value: result, enumerable: false });
  return err;
}

/**
 * What a driver stored for an add that failed anyway (it finished without
 * reading all the data, or despite an error in it): the caller removes it.
 */
export function storedDespiteFailure(err: unknown): unknown {
  return err && typeof err === 'object' ? (err as { [STORED]?: unknown })[STORED] : undefined;
}

/**
 * Thrown when a driver's add resolved without consuming the whole stream:
 * a driver bug, but the caller must still remove what was stored.
 */
export class PipelineIncomplete<T = unknown> extends GlanceStoreError {
  constructor(readonly result: T) {
    super('BackendError', 'The store finished the add before reading all of the image data');
    markStored(this, result);
  }
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

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
