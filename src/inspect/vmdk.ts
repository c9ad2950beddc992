/**
 * VMDK: a sparse extent ('KDMV' header, little-endian) with its text
 * descriptor embedded at sector 1, or a descriptor file of text alone. The
 * descriptor's extent lines name the files holding the data: a host opening
 * the image opens them. Only the single-file kinds (monolithicSparse,
 * streamOptimized) whose extents are sparse and name no path, and which name
 * no parent disk (parentFileNameHint: a delta disk), are safe; the
 * descriptor is read as Glance reads it, refusing any line it does not know.
 */
import { hasMagic, MAX_REGION_BYTES, safeSize, u32le, u64le, type Capture, type Region } from './capture.js';
import { BACKING_NAME_MAX, matched, printable, problem, truncated, type Probe } from './probe.js';
import type { InspectionDetails, InspectionProblem, ProbeVerdict } from './types.js';

const HEADER_BYTES = 64;
/** Where qemu and Glance expect the embedded descriptor, and qemu's cap on its size. */
const DESCRIPTOR_AT = 512;
const DESCRIPTOR_MAX = MAX_REGION_BYTES - 1;
const TEXT_MAGIC = '# Disk DescriptorFile';
const SAFE_CREATE_TYPES = new Set(['monolithicsparse', 'streamoptimized']);
const EXTENTS_SHOWN = 64;

export class VmdkProbe implements Probe {
  readonly format = 'vmdk' as const;
  private header: Region | undefined;
  private descriptor: Region | undefined;
  private text = false;

  step(c: Capture, ended: boolean): ProbeVerdict | undefined {
    this.header ??= c.region(0, HEADER_BYTES);
    const h = this.header.bytes();
    if (!this.descriptor) {
      if (h.length < TEXT_MAGIC.length && !ended) return undefined;
      if (hasMagic(h, TEXT_MAGIC)) {
        this.text = true;
        this.descriptor = c.region(0, DESCRIPTOR_MAX);
      } else {
        if (h.length >= 4 && !hasMagic(h, 'KDMV')) return { match: false };
        if (!this.header.complete) return ended ? (h.length >= 4 ? truncated('vmdk', 'header') : { match: false }) : undefined;
        const version = u32le(h, 4)!;
        const at = safeSize(u64le(h, 28));
        const sectors = safeSize(u64le(h, 36)) ?? Number.MAX_SAFE_INTEGER;
        if (version < 1 || version > 3) return matched(null, [problem('unsupported-version', `VMDK sparse header of version ${version}`)], { version });
        if (at === undefined || at * 512 !== DESCRIPTOR_AT) return matched(null, [problem('invalid-header', 'VMDK sparse header puts its descriptor elsewhere than sector 1')], { version });
        this.descriptor = c.region(DESCRIPTOR_AT, Math.min(sectors * 512, DESCRIPTOR_MAX));
      }
    }
    if (!this.descriptor.complete && !ended) return undefined;
    if (!this.text && this.descriptor.filled === 0) return truncated('vmdk', 'descriptor');
    const details: InspectionDetails = this.text ? {} : { version: u32le(h, 4)! };
    const problems: InspectionProblem[] = [];
    const read = readDescriptor(this.descriptor.bytes(), this.text, problems, details);
    if (!this.text && !this.descriptor.complete) problems.push(problem('truncated', 'The vmdk image ends inside its descriptor'));
    const size = this.text ? read.extentSectors * 512 : (safeSize(u64le(h, 12)) ?? -1) * 512;
    if (size < 0 || !Number.isSafeInteger(size)) problems.push(problem('invalid-header', 'VMDK claims a virtual size past 2^53 bytes'));
    return matched(size >= 0 && Number.isSafeInteger(size) ? size : null, problems, details);
  }
}

/** Parses a descriptor as Glance does (every line known, or refused), noting what makes it unsafe. */
function readDescriptor(raw: Buffer, text: boolean, problems: InspectionProblem[], details: InspectionDetails): { extentSectors: number } {
  const end = raw.indexOf(0);
  const bytes = end < 0 ? raw : raw.subarray(0, end);
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(bytes.toString('latin1'))) {
    problems.push(problem('invalid-descriptor', 'VMDK descriptor is not ASCII text'));
    return { extentSectors: 0 };
  }
  const extents: string[] = [];
  let createType: string | undefined;
  let extentSectors = 0;
  let refused = 0;
  for (const rawLine of bytes.toString('latin1').split('\n')) {
    const line = rawLine.trim();
    const lower = line.toLowerCase();
    if (!line || line.startsWith('#') || lower.startsWith('ddb')) continue;
    const eq = line.indexOf('=');
    const access = lower.split(/\s+/)[0]!;
    if (eq > 0 && !/\s/.test(line.slice(0, eq).trim())) {
      const key = line.slice(0, eq).trim().toLowerCase();
      const value = line.slice(eq + 1).trim().replace(/^"|"$/g, '');
      if (key === 'createtype') createType = value;
      // A delta disk: the host opens its parent, as it opens a qcow2's backing file.
      if (key === 'parentfilenamehint' && details.backingFile === undefined) {
        details.backingFile = printable(Buffer.from(value), BACKING_NAME_MAX);
        problems.push(problem('backing-file', `VMDK image names a parent disk (${details.backingFile}): the host would open it`));
      }
    } else if (access === 'rw' || access === 'rdonly' || access === 'noaccess') {
      extents.push(line);
      const m = /^\S+\s+(\d+)\s+(\S+)(?:\s+"([^"]*)")?/.exec(line);
      const type = m?.[2]?.toLowerCase();
      if (m) extentSectors += Number(m[1]);
      if (line.includes('/') || (type !== 'sparse' && type !== 'zero') || (text && type !== 'zero')) {
        if (extents.length <= EXTENTS_SHOWN) problems.push(problem('unsafe-extent', `VMDK extent "${printable(Buffer.from(line), 200)}" names a file the host would open`));
      }
    } else if (refused++ === 0) {
      problems.push(problem('invalid-descriptor', `VMDK descriptor has a line no VMDK descriptor holds: "${printable(Buffer.from(line), 100)}"`));
    }
  }
  if (createType !== undefined) details.createType = printable(Buffer.from(createType), 64);
  details.extents = extents.slice(0, EXTENTS_SHOWN).map((e) => printable(Buffer.from(e), 200));
  if (!createType || !SAFE_CREATE_TYPES.has(createType.toLowerCase())) {
    problems.push(problem('unsupported-create-type', `VMDK createType ${createType === undefined ? 'is missing' : `"${details.createType}" is not monolithicSparse or streamOptimized`}: only a single-file VMDK stands alone`));
  }
  if (!extents.length) problems.push(problem('invalid-descriptor', 'VMDK descriptor names no extents'));
  return { extentSectors: Number.isSafeInteger(extentSectors) ? extentSectors : -1 };
}
