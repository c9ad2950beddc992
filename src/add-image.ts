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
import { maskLocation } from './location.js';
import type { Logger } from './logger.js';
import { openAddPipeline, type AddDigest, type AddPipelineOptions } from './pipeline/add.js';
import type { ImageData } from './pipeline/source.js';

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
  /** Judges the digest once the last byte is in (a copy's expected hashes); throwing fails the add. */
  expect?: (digest: AddDigest) => void;
}

export async function addImage(r: AddImageRequest): Promise<AddResult> {
  // A Uint8Array's length is its size: drivers then pick their whole-object path.
  const size = r.pipeline.size ?? (r.data instanceof Uint8Array ? r.data.byteLength : undefined);
  const add = openAddPipeline(r.data, { ...r.pipeline, size });
  try {
    let written: DriverAddResult;
    try {
      written = await r.driver.add(r.imageId, add.data, { size, signal: add.signal, context: r.context });
    } catch (err) {
      throw add.failed(err);
    }
    let digest: AddDigest;
    try {
      digest = await add.finish();
      r.expect?.(digest);
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
  try {
    await r.driver.delete(location, { context: r.context });
  } catch (err) {
    // The add's own error is what the caller needs; what could not be removed is for the operator.
    const shown = maskLocation(location);
    r.logger.error({ store: r.storeId, location: shown, err }, `could not remove ${shown} after a failed add: ${(err as Error)?.message ?? String(err)}`);
  }
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
    if (mismatch) throw new ChecksumMismatchError(`${what} was removed: ${mismatch}`);
  };
}
