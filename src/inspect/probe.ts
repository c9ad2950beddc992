/** What every format's probe is: a small state machine over the capture. */
import type { Capture, Region } from './capture.js';
import { NO_MATCH, type DiskFormat, type InspectionDetails, type InspectionProblem, type ProbeVerdict, type ProblemCode } from './types.js';

export interface Probe {
  readonly format: DiskFormat;
  /**
   * Looks at what has been captured after each block (`ended` once the image
   * has ended): a verdict once the format is decided, undefined while it
   * needs more. Called no more once it returned a verdict.
   */
  step(capture: Capture, ended: boolean): ProbeVerdict | undefined;
}

/** qemu's own limit on a backing file name (qcow2, qed). */
export const BACKING_NAME_MAX = 1023;

export const problem = (code: ProblemCode, message: string): InspectionProblem => ({ code, message });

export function matched(virtualSize: number | null | undefined, problems: InspectionProblem[], details: InspectionDetails = {}): ProbeVerdict {
  return { match: true, virtualSize: virtualSize ?? null, problems, details };
}

/** The verdict on an image that matched a format's magic but ended before its header did. */
export function truncated(format: string, what: string, details: InspectionDetails = {}): ProbeVerdict {
  return matched(null, [problem('truncated', `The ${format} image ends inside its ${what}`)], details);
}

/** Text from image bytes for a message or a detail: printable ASCII only, bounded. */
export function printable(b: Buffer, max = 256): string {
  const s = b.subarray(0, max).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  return b.length > max ? `${s}...` : s;
}

/**
 * The opening of most probes: the header region, once its magic can be
 * told (`magicEnd` bytes in), is no match or is waited for whole. Gives the
 * complete header, or the verdict (no match; truncated at the image's end),
 * or undefined while more is needed.
 */
export function fixedHeader(region: Region, magicEnd: number, isMagic: (h: Buffer) => boolean, format: string, ended: boolean): Buffer | ProbeVerdict | undefined {
  const h = region.bytes();
  if (h.length >= magicEnd && !isMagic(h)) return NO_MATCH;
  if (region.complete) return h;
  if (!ended) return undefined;
  return h.length >= magicEnd ? truncated(format, 'header') : NO_MATCH;
}
