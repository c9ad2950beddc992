/**
 * VHDX (Microsoft's [MS-VHDX]): little-endian structures linked by offsets.
 * The region table at 192 KiB gives the metadata region; its table (at most
 * 2,047 entries) gives the virtual disk size item. Each step is a bounded
 * region further on in the stream: one behind the stream cannot be read
 * and is reported. A parent locator makes it a differencing image: unsafe.
 */
import { hasMagic, safeSize, u16le, u32le, u64le, type Capture, type Region } from './capture.js';
import { matched, problem, truncated, type Probe } from './probe.js';
import type { InspectionProblem, ProbeVerdict } from './types.js';

const REGION_TABLE_AT = 192 * 1024;
const TABLE_BYTES = 64 * 1024;
const MAX_ENTRIES = 2047;

/** A GUID as the file stores it: the first three fields little-endian. */
function guid(text: string): Buffer {
  const hex = text.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.concat([Buffer.from(b.subarray(0, 4)).reverse(), Buffer.from(b.subarray(4, 6)).reverse(), Buffer.from(b.subarray(6, 8)).reverse(), b.subarray(8)]);
}
const METADATA_REGION = guid('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const VIRTUAL_DISK_SIZE = guid('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
const PARENT_LOCATOR = guid('A8D35F2D-B30B-454D-ABF7-D3D84834AB0C');

export class VhdxProbe implements Probe {
  readonly format = 'vhdx' as const;
  private ident: Region | undefined;
  private regions: Region | undefined;
  private metadata: Region | undefined;
  private size: Region | undefined;
  private parent = false;

  step(c: Capture, ended: boolean): ProbeVerdict | undefined {
    this.ident ??= c.region(0, 8);
    if (!this.ident.complete) return ended ? { match: false } : undefined;
    if (!hasMagic(this.ident.bytes(), 'vhdxfile')) return { match: false };
    this.regions ??= c.region(REGION_TABLE_AT, TABLE_BYTES);
    if (!this.regions.complete) return ended ? truncated('vhdx', 'region table') : undefined;
    if (!this.metadata) {
      const found = findEntry(this.regions.bytes(), 'regi', 16, METADATA_REGION, (t, at) => safeSize(u64le(t, at + 16)));
      if (typeof found === 'string') return bad(found);
      this.metadata = c.region(found, TABLE_BYTES);
      if (this.metadata.missed) return bad(`its metadata region (at ${found}) lies before the region table`);
    }
    if (!this.metadata.complete && !ended) return undefined;
    if (!this.size) {
      const table = this.metadata.bytes();
      const found = findEntry(table, 'metadata', 32, VIRTUAL_DISK_SIZE, (t, at) => u32le(t, at + 16));
      if (typeof found === 'string') return this.metadata.complete ? bad(found) : truncated('vhdx', 'metadata table');
      this.parent = typeof findEntry(table, 'metadata', 32, PARENT_LOCATOR, () => 0) === 'number';
      this.size = c.region(this.metadata.offset + found, 8);
      if (this.size.missed) return bad('its virtual size item lies before its metadata table');
    }
    if (!this.size.complete) return ended ? truncated('vhdx', 'metadata') : undefined;
    const problems: InspectionProblem[] = [];
    if (this.parent) problems.push(problem('backing-file', 'Differencing VHDX image: its parent locator names a disk the host would open'));
    const size = safeSize(u64le(this.size.bytes(), 0));
    if (size === undefined) problems.push(problem('invalid-header', 'VHDX metadata claims a virtual size past 2^53 bytes'));
    return matched(size, problems, { imageType: this.parent ? 'differencing' : 'standalone' });
  }
}

const bad = (why: string): ProbeVerdict => matched(null, [problem('invalid-header', `VHDX image cannot be read: ${why}`)]);

/**
 * The value `read` takes from the table entry with `id` (entries of 32 bytes
 * after a header of `headerBytes`, its signature first, its count as u32 at
 * 8 (region table) or u16 at 10 (metadata table)); a reason when there is none.
 */
function findEntry(table: Buffer, signature: string, headerBytes: number, id: Buffer, read: (t: Buffer, at: number) => number | undefined): number | string {
  if (!hasMagic(table, signature)) return `no ${signature} signature where its ${signature === 'regi' ? 'region' : 'metadata'} table should be`;
  const count = (signature === 'regi' ? u32le(table, 8) : u16le(table, 10)) ?? 0;
  if (count > MAX_ENTRIES) return `its ${signature} table claims ${count} entries (at most ${MAX_ENTRIES})`;
  for (let i = 0; i < count; i++) {
    const at = headerBytes + i * 32;
    if (at + 32 > table.length) break;
    if (table.subarray(at, at + 16).equals(id)) {
      const v = read(table, at);
      return v === undefined ? `an entry of its ${signature} table is out of range` : v;
    }
  }
  return `no entry for ${signature === 'regi' ? 'the metadata region' : 'the item'} in its ${signature} table`;
}
