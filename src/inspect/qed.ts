/**
 * QED (qemu's enhanced disk, deprecated): recognised so it is never taken
 * for raw, and always unsafe, as Glance has it: no hypervisor of OpenStack's
 * supports it, and it may name a backing file too.
 */
import { hasMagic, safeSize, u64le, type Capture, type Region } from './capture.js';
import { matched, problem, truncated, type Probe } from './probe.js';
import type { InspectionProblem, ProbeVerdict } from './types.js';

const HEADER_BYTES = 64;
const FEATURE_BACKING_FILE = 0x1n;

export class QedProbe implements Probe {
  readonly format = 'qed' as const;
  private header: Region | undefined;

  step(c: Capture, ended: boolean): ProbeVerdict | undefined {
    this.header ??= c.region(0, HEADER_BYTES);
    const h = this.header.bytes();
    if (h.length >= 4 && !hasMagic(h, 'QED\0')) return { match: false };
    if (!this.header.complete) return ended ? (h.length >= 4 ? truncated('qed', 'header') : { match: false }) : undefined;
    const problems: InspectionProblem[] = [problem('unsupported-format', 'QED images are not supported by the hypervisors images are stored for')];
    if (u64le(h, 16)! & FEATURE_BACKING_FILE) problems.push(problem('backing-file', 'QED image names a backing file: the host would open it'));
    return matched(safeSize(u64le(h, 48)), problems);
  }
}
