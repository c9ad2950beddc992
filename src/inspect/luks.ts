/**
 * LUKS (cryptsetup's on-disk format): 'LUKS\xba\xbe' and a big-endian
 * version. The guest sees the payload: the image less its header (LUKS1:
 * the payload offset in sectors at 104; LUKS2: the first segment's offset
 * in the JSON area at 4 KiB), so its size is known at the image's end.
 */
import { hasMagic, safeSize, u16be, u32be, u64be, type Capture, type Region } from './capture.js';
import { matched, problem, truncated, type Probe } from './probe.js';
import type { InspectionDetails, ProbeVerdict } from './types.js';

const MAGIC = Buffer.from('LUKS\xba\xbe', 'latin1');
const LUKS1_HEADER = 592;
const LUKS2_JSON_AT = 4096;
/** The JSON area read at most (cryptsetup's default is 12 KiB). */
const LUKS2_JSON_MAX = 60 * 1024;

export class LuksProbe implements Probe {
  readonly format = 'luks' as const;
  private header: Region | undefined;
  private json: Region | undefined;

  step(c: Capture, ended: boolean): ProbeVerdict | undefined {
    this.header ??= c.region(0, LUKS1_HEADER);
    const h = this.header.bytes();
    if (h.length >= MAGIC.length && !hasMagic(h, MAGIC)) return { match: false };
    if (h.length < 8) return ended ? (h.length >= MAGIC.length ? truncated('luks', 'header') : { match: false }) : undefined;
    const version = u16be(h, 6)!;
    const details: InspectionDetails = { version, encrypted: true };
    if (version === 2 && !this.json) {
      const headerSize = safeSize(u64be(h, 8)) ?? 0;
      this.json = c.region(LUKS2_JSON_AT, Math.min(Math.max(0, headerSize - LUKS2_JSON_AT), LUKS2_JSON_MAX));
    }
    // The payload's size is the image's: known at its end.
    if (!ended) return undefined;
    if (version === 1) {
      if (!this.header.complete) return truncated('luks', 'header', details);
      return payload(c.position, u32be(h, 104)! * 512, details);
    }
    if (version === 2) {
      const offset = luks2Offset(this.json!.bytes());
      if (offset === undefined) return matched(null, [problem('invalid-header', 'LUKS2 header without a readable segment offset in its JSON area')], details);
      return payload(c.position, offset, details);
    }
    return matched(null, [problem('unsupported-version', `LUKS header of version ${version}`)], details);
  }
}

function payload(imageBytes: number, offset: number, details: InspectionDetails): ProbeVerdict {
  if (offset > imageBytes) return matched(null, [problem('truncated', 'The luks image ends before its payload starts')], details);
  return matched(imageBytes - offset, [], details);
}

/** The first data segment's offset from the LUKS2 JSON metadata. */
function luks2Offset(json: Buffer): number | undefined {
  const end = json.indexOf(0);
  try {
    const meta = JSON.parse(json.subarray(0, end < 0 ? json.length : end).toString('utf8')) as { segments?: Record<string, { offset?: unknown }> };
    const first = meta.segments?.['0']?.offset;
    const n = typeof first === 'string' && /^\d{1,15}$/.test(first) ? Number(first) : undefined;
    return n;
  } catch {
    return undefined;
  }
}
