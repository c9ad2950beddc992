/**
 * One add, from the caller's data to a stored image: the add pipeline around
 * the driver's add, and the one place that cleans up after a driver (for
 * MultiStore's add and copy alike). A driver that rejects has removed what it
 * wrote. A driver that resolved although the add failed all the same (a check
 * after the last byte, the caller's abort, `expect` refusing the digest, or
 * data the driver did not read to the end) gave a location: it is removed
 * here, once.
 */
import type { DriverAddResult, RequestContext, WritableStoreDriver } from './driver.js';
import { ChecksumMismatchError } from './errors.js';
import type { Logger } from './logger.js';
import { openAddPipeline, type AddDigest, type AddPipelineOptions } from './pipeline/add.js';
import type { ImageData } from './pipeline/source.js';
import type { Reclaimer } from './pipeline/reclaim.js';
import { abandonOnAbort } from './abandon.js';

export interface AddResult {
  location: string;
  size: number;
  checksum: string;
  multihash: string;
  hashAlgo: string;
  metadata: { store: string; [key: string]: unknown };
}

export interface AddImageRequest {
  driver: WritableStoreDriver;
  storeId: string;
  imageId: string;
  data: ImageData;
  /** What the pipeline checks: declared size (a Uint8Array's length when absent), cap, algorithm... */
  pipeline: AddPipelineOptions;
  context?: RequestContext;
  logger: Logger;
  /** Judges the digest once the last byte is in, before the driver has the last block (a copy's expected hashes); throwing fails the add. */
  expect?: (digest: AddDigest) => void;
  /** The store's reclaimer: it removes what an abandoned or failed add leaves once the backend answers. */
  reclaimer: Reclaimer;
  /** How long an aborted add waits for its driver to stop (default 1,500 ms). */
  abortGraceMs?: number;
}

/**
 * The driver's add, or, once the add is aborted (the caller's signal, a
 * failed check) and the driver has not stopped within the grace period, a
 * rejection all the same: a driver waiting on a backend that stopped
 * answering must not hold the caller. A location the abandoned add still
 * resolves with is removed through the reclaimer; a rejection means the
 * driver cleaned up itself.
 */
function settleOrAbandon(r: AddImageRequest, adding: Promise<DriverAddResult>, signal: AbortSignal): Promise<DriverAddResult> {
  return abandonOnAbort(adding, 'The add', {
    signal,
    graceMs: r.abortGraceMs,
    abandoned: () =>
      r.logger.warn({ store: r.storeId, image: r.imageId }, `abandoned the aborted add of ${r.imageId} to store ${r.storeId}: its backend has not answered; it is cleaned up when it does`),
    late: (written) => void r.reclaimer.reclaim({ kind: 'image', location: written.location }, (s) => r.driver.delete(written.location, { context: r.context, signal: s })),
  });
}

export async function addImage(r: AddImageRequest): Promise<AddResult> {
  // A Uint8Array's length is its size: drivers then pick their whole-object path.
  const size = r.pipeline.size ?? (r.data instanceof Uint8Array ? r.data.byteLength : undefined);
  const lend = r.driver.releasesBlocks === true;
  const add = openAddPipeline(r.data, { ...r.pipeline, size, lend, expect: r.expect });
  try {
    let written: DriverAddResult;
    try {
      written = await settleOrAbandon(r, r.driver.add(r.imageId, add.data, { size, signal: add.signal, context: r.context, ...(lend ? { release: (b: Uint8Array) => add.release(b) } : {}) }), add.signal);
    } catch (err) {
      throw add.failed(err);
    }
    let digest: AddDigest;
    try {
      digest = await add.finish();
    } catch (err) {
      await removeFailedAdd(r, written.location);
      throw err;
    }
    r.logger.info({ store: r.storeId, image: r.imageId, size: digest.size }, `added image ${r.imageId} to store ${r.storeId}`);
    return { location: written.location, ...digest, metadata: { ...(written.metadata ?? {}), store: r.storeId } };
  } finally {
    await add.close();
  }
}

async function removeFailedAdd(r: AddImageRequest, location: string): Promise<void> {
  // The add's own error is what the caller needs; what could not be removed is
  // tried again later and logged, for the operator.
  await r.reclaimer.reclaim({ kind: 'image', location }, (signal) => r.driver.delete(location, { context: r.context, signal }));
}

/** A copy's check of the digest against the hashes the caller expects (either may be absent). */
export function expectHashes(expected: { checksum?: string; multihash?: string }, what: string): (digest: AddDigest) => void {
  return (digest) => {
    const mismatch =
      expected.checksum && expected.checksum.toLowerCase() !== digest.checksum
        ? `checksum ${digest.checksum} differs from the expected ${expected.checksum}`
        : expected.multihash && expected.multihash.toLowerCase() !== digest.multihash
          ? `multihash ${digest.multihash} differs from the expected ${expected.multihash}`
          : undefined;
    if (mismatch) throw new ChecksumMismatchError(`${what} failed: ${mismatch}`);
  };
}
