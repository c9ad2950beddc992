/**
 * QED (qemu's enhanced disk, deprecated): recognised so it is never taken
 * for raw, and always unsafe, as Glance has it: no hypervisor of OpenStack's
 * supports it, and it may name a backing file too.
 */
import { hasMagic, safeSize, u32le, u64le, type Capture, type Region } from './capture.js';
import { BACKING_NAME_MAX, fixedHeader, matched, printable, problem, type Probe } from './probe.js';
import type { InspectionDetails, InspectionProblem, ProbeVerdict } from './types.js';

const HEADER_BYTES = 64;
const FEATURE_BACKING_FILE = 0x1n;

export class QedProbe implements Probe {
  readonly format = 'qed' as const;
  private header: Region | undefined;
  private backing: Region | undefined;

  step(c: Capture, ended: boolean): ProbeVerdict | undefined {
    this.header ??= c.region(0, HEADER_BYTES);
    const h = fixedHeader(this.header, 4, (b) => hasMagic(b, 'QED\0'), 'qed', ended);
    if (!Buffer.isBuffer(h)) return h;
    const hasBacking = (u64le(h, 16)! & FEATURE_BACKING_FILE) !== 0n;
    if (hasBacking && !this.backing) this.backing = c.region(u32le(h, 56)!, Math.min(u32le(h, 60)!, BACKING_NAME_MAX));
    if (this.backing && !this.backing.complete && !ended) return undefined;
    const problems: InspectionProblem[] = [problem('unsupported-format', 'QED images are not supported by the hypervisors images are stored for')];
    const details: InspectionDetails = {};
    if (hasBacking) {
      details.backingFile = printable(this.backing!.bytes(), BACKING_NAME_MAX);
      problems.push(problem('backing-file', `QED image names a backing file (${details.backingFile}): the host would open it`));
    }
    return matched(safeSize(u64le(h, 48)), problems, details);
  }
}
