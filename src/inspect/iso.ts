/**
 * ISO 9660 (ECMA-119): volume descriptors of 2,048 bytes from sector 16
 * (32 KiB), each 'CD001' after its type byte; the primary one (type 1)
 * gives the volume's size in logical blocks. qemu has no ISO format (it
 * reads one as raw); Glance's disk_format has one, so it is told apart.
 */
import { hasMagic, u16le, u32le, type Capture, type Region } from './capture.js';
import { matched, problem, type Probe } from './probe.js';
import type { ProbeVerdict } from './types.js';

const DESCRIPTORS_AT = 16 * 2048;
const DESCRIPTOR_BYTES = 2048;
/** The primary descriptor comes first in practice (a boot record and a terminator follow). */
const DESCRIPTORS_READ = 4;
const PRIMARY = 1;
const TERMINATOR = 255;

export class IsoProbe implements Probe {
  readonly format = 'iso' as const;
  private descriptors: Region | undefined;

  step(c: Capture, ended: boolean): ProbeVerdict | undefined {
    this.descriptors ??= c.region(DESCRIPTORS_AT, DESCRIPTORS_READ * DESCRIPTOR_BYTES);
    const d = this.descriptors.bytes();
    if (d.length >= 6 && !hasMagic(d, 'CD001', 1)) return { match: false };
    if (!this.descriptors.complete && !ended) return undefined;
    if (d.length < 6) return { match: false };
    for (let at = 0; at + DESCRIPTOR_BYTES <= d.length && hasMagic(d, 'CD001', at + 1); at += DESCRIPTOR_BYTES) {
      const type = d[at]!;
      if (type === TERMINATOR) break;
      if (type !== PRIMARY) continue;
      const blocks = u32le(d, at + 80)!;
      const blockSize = u16le(d, at + 128)!;
      return matched(blocks * blockSize, []);
    }
    return matched(null, [problem('invalid-header', 'ISO image without a primary volume descriptor among its first ones')]);
  }
}
