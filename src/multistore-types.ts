/**
 * What MultiStore's calls take and give: options, results, store info and
 * state. Kept apart from the class so the store handle (store-handle.ts) and
 * the command can name them without importing MultiStore itself.
 */
import type { Readable } from 'node:stream';
import type { AnyDriverDefinition, Capability, RequestContext } from './driver.js';
import type { Logger } from './logger.js';
import type { AddProgress } from './pipeline/add.js';
import type { VerifyExpected } from './verify.js';
import type { InspectSetting } from './inspect/policy.js';

export interface MultiStoreOptions {
  logger?: Logger;
  /** Overrides [DEFAULT] image_size_cap (bytes; 0 for no cap). */
  imageSizeCap?: number;
  /** Overrides [DEFAULT] os_hash_algo. */
  hashAlgo?: string;
  /**
   * Third-party driver types (made with `defineDriver`), usable in
   * enabled_backends beside the built-in ones. A type name that is already
   * taken is a BadStoreConfigurationError.
   */
  drivers?: readonly AnyDriverDefinition[];
  /**
   * Open the stores only to look at them (`glance-store check` and
   * `stores`): drivers make nothing in their backends (no datadir is
   * created) and report the capabilities they would have.
   */
  createNothing?: boolean;
  /**
   * How removal of what a failed add left is retried while the backend
   * cannot be reached (defaults: each attempt bounded at 30 s, pauses from
   * 1 s doubling to 60 s, tried for an hour). `abortGraceMs` (default
   * 1,500) is how long an aborted add waits for its driver to stop before it
   * rejects with Aborted all the same, leaving the driver's late outcome to
   * the reclaimer.
   */
  reclaim?: { attemptMs?: number; firstPauseMs?: number; maxPauseMs?: number; retryForMs?: number; abortGraceMs?: number };
}

export interface StoreInfo {
  id: string;
  description: string;
  default?: true;
  'read-only'?: true;
}

export interface StoreInfoDetail extends StoreInfo {
  type: string;
  weight: number;
  properties: Record<string, unknown>;
}

export interface StoreState {
  id: string;
  type: string;
  reserved: boolean;
  /**
   * The store started with every capability its type has: false for a store
   * that could not start, and for one that lost a capability at start (a
   * file store whose datadir cannot be written can still be read, but not
   * added to).
   */
  ok: boolean;
  /** Why the store is not ok, when it is not. */
  error?: string;
  capabilities: Capability[];
  /** What the store said while it started (a datadir that is not writable...). */
  warnings: string[];
}

export interface AddOptions {
  /** Store id; the default backend when absent. */
  store?: string;
  /**
   * Declared size in bytes (0: an empty image); absent when unknown. The add
   * fails with SizeMismatch if the data differs. A Uint8Array's size is its length.
   */
  size?: number;
  hashAlgo?: string;
  signal?: AbortSignal;
  onProgress?: (progress: AddProgress) => void;
  context?: RequestContext;
  /**
   * Inspect the image as it streams in: its disk format, virtual size and
   * safety, returned as `inspection`. `true` refuses unsafe images; `expect`
   * refuses other formats; `safety: 'report'` keeps unsafe images and lists
   * why. The store's `inspect` option applies when this is absent.
   */
  inspect?: InspectSetting;
}

export interface GetOptions {
  /**
   * First byte of a ranged get. A range that starts past the end of the
   * image is an InvalidRange error; one that runs past it is cut at the end.
   */
  offset?: number;
  /** Bytes from `offset`; to the end of the image when absent. */
  length?: number;
  /**
   * The caller's promise that it is done with each chunk (has written,
   * copied or dropped it) by the time it reads the chunk after it: the stream
   * may then read into a few buffers it reuses instead of a new one per
   * chunk, which stays in the CPU cache and costs no page faults. A chunk
   * kept beyond that is overwritten; so is the last chunk of an ended stream
   * once a later reused-buffer get has read a few chunks (an ended stream
   * leaves its buffers to the next one). For a loop that writes each chunk out
   * before it takes the next (`for await`, `pipeline` to a socket or file);
   * not for a consumer that collects chunks. Stores that do not support it
   * ignore it (the file store does).
   */
  reuseBuffers?: boolean;
  /**
   * The hashes recorded at add (`checksum`; `multihash` in `hashAlgo`, the
   * store's os_hash_algo when absent): the stream hashes what it yields and,
   * when the bytes differ, fails with ChecksumMismatch in place of its end.
   * Not with a range (rejected before anything is read).
   */
  verify?: VerifyExpected;
  store?: string;
  context?: RequestContext;
  signal?: AbortSignal;
}

export interface GetResult {
  stream: Readable;
  /**
   * Bytes the stream yields (the range's length for a ranged get); absent
   * when the backend does not say (an http server without Content-Length).
   */
  size?: number;
  /** The store that served it. */
  store: string;
}

export interface CallOptions {
  store?: string;
  context?: RequestContext;
  signal?: AbortSignal;
}

export interface CopyOptions {
  /** Image id in the target store; by default the last path segment of the source location. */
  imageId?: string;
  /** Store the source location belongs to, when it cannot be told from the URI. */
  fromStore?: string;
  /** Expected md5 checksum; the copy is removed and rejected if the data differs. */
  checksum?: string;
  /** Expected multihash (with `hashAlgo`); checked like `checksum`. */
  multihash?: string;
  /**
   * Check the copy against `checksum` and `multihash` (the source's recorded
   * hashes) as its bytes go in (default true): bytes that differ fail the
   * add before the target store has the last block, so nothing is committed.
   * `false` stores whatever the source yields (its size is still checked).
   */
  verify?: boolean;
  hashAlgo?: string;
  signal?: AbortSignal;
  onProgress?: (progress: AddProgress) => void;
  context?: RequestContext;
  /** Inspect the copy as it streams into the target store (as an add's `inspect`; the target store's option otherwise). */
  inspect?: InspectSetting;
}
