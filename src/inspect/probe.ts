/** What every format's probe is: a small state machine over the capture. */
import type { Capture } from './capture.js';
import type { DiskFormat, InspectionDetails, InspectionProblem, ProbeVerdict, ProblemCode } from './types.js';

export interface Probe {
  readonly format: DiskFormat;
  /**
   * Looks at what has been captured after each block (`ended` once the image
   * has ended): a verdict once the format is decided, undefined while it
   * needs more. Called no more once it returned a verdict.
   */
  step(capture: Capture, ended: boolean): ProbeVerdict | undefined;
}

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
