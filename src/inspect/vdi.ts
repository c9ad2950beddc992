/**
 * VirtualBox VDI (qemu's block/vdi.c): a little-endian 512-byte header with
 * its signature at 0x40. qemu opens normal (dynamic) and fixed images only;
 * undo and differencing ones have a parent.
 */
import { safeSize, u32le, u64le, type Capture, type Region } from './capture.js';
import { fixedHeader, matched, problem, type Probe } from './probe.js';
import type { InspectionProblem, ProbeVerdict } from './types.js';

const SIGNATURE = 0xbeda107f;
const HEADER_BYTES = 0x180;
const IMAGE_TYPES: Record<number, string> = { 1: 'normal', 2: 'fixed', 3: 'undo', 4: 'diff' };

export class VdiProbe implements Probe {
  readonly format = 'vdi' as const;
  private header: Region | undefined;

  step(c: Capture, ended: boolean): ProbeVerdict | undefined {
    this.header ??= c.region(0, HEADER_BYTES);
    const h = fixedHeader(this.header, 0x44, (b) => u32le(b, 0x40) === SIGNATURE, 'vdi', ended);
    if (!Buffer.isBuffer(h)) return h;
    const type = u32le(h, 0x4c)!;
    const imageType = IMAGE_TYPES[type] ?? `type ${type}`;
    const problems: InspectionProblem[] = [];
    if (type !== 1 && type !== 2) problems.push(problem(type === 3 || type === 4 ? 'backing-file' : 'invalid-header', `VDI image of ${imageType} kind: only normal and fixed images stand alone`));
    const size = safeSize(u64le(h, 0x170));
    if (size === undefined) problems.push(problem('invalid-header', 'VDI header claims a virtual size past 2^53 bytes'));
    return matched(size, problems, { imageType });
  }
}
