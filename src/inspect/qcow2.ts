/**
 * qcow2 (qemu's docs/interop/qcow2.txt): a big-endian header. What makes one
 * unsafe is a header that sends the host elsewhere: a backing file, an
 * external data file (incompatible feature bit 2), or incompatible features
 * this inspector does not know (qemu refuses those; a newer one might not).
 */
import { hasMagic, safeSize, u32be, u64be, type Capture, type Region } from './capture.js';
import { BACKING_NAME_MAX, fixedHeader, matched, printable, problem, type Probe } from './probe.js';
import type { InspectionDetails, InspectionProblem, ProbeVerdict } from './types.js';

const MAGIC = Buffer.from('QFI\xfb', 'latin1');
/** Header fields through the v3 header length (at 100). */
const HEADER_BYTES = 104;
/** Header extensions read at most this far into the first cluster. */
const EXTENSIONS_MAX = 64 * 1024;
/** Incompatible features qemu knows: dirty, corrupt, external data file, compression type, extended L2. */
const KNOWN_INCOMPATIBLE = 0x1fn;
const DATA_FILE_BIT = 0x4n;
const EXT_END = 0;
const EXT_DATA_FILE = 0x44415441;

export class Qcow2Probe implements Probe {
  readonly format = 'qcow2' as const;
  private header: Region | undefined;
  private first: Region | undefined;
  private backing: Region | undefined;

  step(c: Capture, ended: boolean): ProbeVerdict | undefined {
    this.header ??= c.region(0, HEADER_BYTES);
    const h = fixedHeader(this.header, 4, (b) => hasMagic(b, MAGIC), 'qcow2', ended);
    if (!Buffer.isBuffer(h)) return h;
    const version = u32be(h, 4)!;
    const clusterBits = u32be(h, 20)!;
    const details: InspectionDetails = { version };
    if ((version !== 2 && version !== 3) || clusterBits < 9 || clusterBits > 21) {
      return matched(null, [problem(version !== 2 && version !== 3 ? 'unsupported-version' : 'invalid-header', `qcow2 header with version ${version} and cluster bits ${clusterBits} is not one qemu opens`)], details);
    }
    const clusterSize = 2 ** clusterBits;
    details.clusterSize = clusterSize;
    const backingOffset = safeSize(u64be(h, 8));
    const backingSize = u32be(h, 16)!;
    // The extensions and the backing file name live in the first cluster (qemu refuses them elsewhere).
    this.first ??= c.region(0, Math.min(clusterSize, EXTENSIONS_MAX));
    if (backingOffset && backingOffset < clusterSize) this.backing ??= c.region(backingOffset, Math.min(backingSize, BACKING_NAME_MAX));
    if (!ended && (!this.first.complete || (this.backing && !this.backing.complete))) return undefined;

    const problems: InspectionProblem[] = [];
    const size = safeSize(u64be(h, 24));
    if (size === undefined) problems.push(problem('invalid-header', 'qcow2 header claims a virtual size past 2^53 bytes'));
    if (u64be(h, 8) !== 0n) {
      if (this.backing) details.backingFile = printable(this.backing.bytes(), BACKING_NAME_MAX);
      problems.push(problem('backing-file', `qcow2 image names a backing file${details.backingFile !== undefined ? ` (${details.backingFile})` : ''}: the host would open it`));
    }
    if (u32be(h, 32) !== 0) details.encrypted = true;
    if (version === 3) {
      const incompatible = u64be(h, 72)!;
      const headerLength = u32be(h, 100)!;
      if (incompatible & DATA_FILE_BIT) {
        const name = dataFileName(this.first.bytes(), headerLength);
        if (name !== undefined) details.dataFile = name;
        problems.push(problem('data-file', `qcow2 image keeps its data in an external file${name !== undefined ? ` (${name})` : ''}: the host would open it`));
      }
      const unknown = incompatible & ~KNOWN_INCOMPATIBLE;
      if (unknown) problems.push(problem('unknown-features', `qcow2 image sets unknown incompatible feature bits 0x${unknown.toString(16)}`));
    }
    // Every qcow2 holds more than its header cluster (its tables follow).
    if (!this.first.complete) problems.push(problem('truncated', 'The qcow2 image ends inside its first cluster'));
    return matched(size, problems, details);
  }
}

/** The external data file's name from the header extensions, when one is there. */
function dataFileName(cluster: Buffer, headerLength: number): string | undefined {
  // At most one extension per 8 bytes: a loop of hostile lengths still ends.
  for (let at = headerLength; at + 8 <= cluster.length; ) {
    const type = cluster.readUInt32BE(at);
    const len = cluster.readUInt32BE(at + 4);
    if (type === EXT_END) return undefined;
    if (type === EXT_DATA_FILE) return printable(cluster.subarray(at + 8, Math.min(cluster.length, at + 8 + len)), BACKING_NAME_MAX);
    at += 8 + Math.ceil(len / 8) * 8;
  }
  return undefined;
}
