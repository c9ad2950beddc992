/**
 * VHD (Microsoft's Virtual Hard Disk, qemu's "vpc"): a 512-byte big-endian
 * footer, copied to the start of dynamic and differencing images. A fixed
 * VHD has its footer at the end alone: qemu probes the start only, so it
 * reads one as raw, and so does this inspector (docs/inspection.md).
 * A differencing VHD has a parent disk: unsafe, as a qcow2 backing file is.
 */
import { hasMagic, safeSize, u16be, u32be, u64be, type Capture, type Region } from './capture.js';
import { matched, problem, truncated, type Probe } from './probe.js';
import type { InspectionProblem, ProbeVerdict } from './types.js';

const FOOTER_BYTES = 512;
const DISK_TYPES: Record<number, string> = { 2: 'fixed', 3: 'dynamic', 4: 'differencing' };
/** The largest CHS geometry: an image this big takes its size from the footer (qemu's rule). */
const MAX_GEOMETRY_SECTORS = 65535 * 16 * 255;
/** Creators whose images give their size in the footer rather than by geometry (qemu's list). */
const SIZE_FROM_FOOTER = new Set(['win ', 'qem2', 'd2v ', 'CTXS', 'tap\0']);

export class VhdProbe implements Probe {
  readonly format = 'vhd' as const;
  private footer: Region | undefined;

  step(c: Capture, ended: boolean): ProbeVerdict | undefined {
    this.footer ??= c.region(0, FOOTER_BYTES);
    const f = this.footer.bytes();
    if (f.length >= 8 && !hasMagic(f, 'conectix')) return { match: false };
    if (f.length < 8) return ended ? { match: false } : undefined;
    if (f.length < 64) return ended ? truncated('vhd', 'footer') : undefined;
    const type = u32be(f, 60)!;
    const imageType = DISK_TYPES[type] ?? `type ${type}`;
    const problems: InspectionProblem[] = [];
    if (type === 4) problems.push(problem('backing-file', 'Differencing VHD image: it names a parent disk the host would open'));
    else if (!DISK_TYPES[type]) problems.push(problem('invalid-header', `VHD footer with unknown disk type ${type}`));
    return matched(virtualSize(f, problems), problems, { imageType });
  }
}

/** The size qemu gives a guest: by CHS geometry, unless the creator or the geometry says the footer's size. */
function virtualSize(f: Buffer, problems: InspectionProblem[]): number | undefined {
  const creator = f.subarray(28, 32).toString('latin1');
  const sectors = u16be(f, 56)! * f[58]! * f[59]!;
  const current = safeSize(u64be(f, 48));
  if (!SIZE_FROM_FOOTER.has(creator) && sectors !== MAX_GEOMETRY_SECTORS) return sectors * 512;
  if (current === undefined) problems.push(problem('invalid-header', 'VHD footer claims a virtual size past 2^53 bytes'));
  return current === undefined ? undefined : Math.floor(current / 512) * 512;
}
