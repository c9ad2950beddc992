/** Disk-format inspection: what the add pipeline runs with `inspect`, and the same over any stream. */
import { inspectStream } from './inspector.js';
import type { Inspection } from './types.js';

export { DISK_FORMATS } from './types.js';
export type { DiskFormat, Inspection, InspectionDetails, InspectionProblem, ProblemCode } from './types.js';
export type { InspectOptions, InspectSetting } from './policy.js';

/**
 * Inspects an image given as chunks of bytes (a file's read stream, a
 * stored image's get stream): the same facts an inspected add returns. It
 * reads to the end (a raw image's virtual size is its length) holding only
 * the bounded regions the formats need.
 */
export function inspectImage(data: AsyncIterable<Uint8Array>): Promise<Inspection> {
  return inspectStream(data);
}
