/**
 * The bounded look-ahead of an inspection: formats ask for byte regions of
 * the image (a header, a descriptor whose offset the header gives) and get
 * them filled as the blocks of the stream go by. Nothing is read twice and
 * nothing but the requested regions is kept; every region has a length
 * cap, so a hostile header cannot make the capture large.
 */

/** The most one region may hold (a vmdk descriptor, qemu's limit, is 1 MiB - 1). */
export const MAX_REGION_BYTES = 1 << 20;
/**
 * The image's first bytes are kept while formats are undecided, so a region
 * a format asks for once it has read its header (which may have come in
 * small chunks) still gets bytes that went by.
 */
export const HEAD_BYTES = 64 * 1024;

export class Region {
  readonly data: Buffer;
  /** Bytes from `offset` captured so far (always contiguous). */
  filled = 0;
  /** Asked for after bytes of it had gone by that were not kept: it can never be filled. */
  missed = false;

  constructor(
    readonly offset: number,
    length: number,
  ) {
    this.data = Buffer.alloc(Math.max(0, Math.min(length, MAX_REGION_BYTES)));
  }

  get length(): number {
    return this.data.length;
  }

  get complete(): boolean {
    return this.filled === this.data.length;
  }

  /** What was captured (all of it once complete; less when the image ended first). */
  bytes(): Buffer {
    return this.data.subarray(0, this.filled);
  }

  /** Takes its part of the block that starts at `start`. */
  take(block: Uint8Array, start: number): void {
    if (this.missed || this.complete) return;
    const want = this.offset + this.filled;
    const end = start + block.byteLength;
    if (want < start || want >= end) return;
    const n = Math.min(this.data.length - this.filled, end - want);
    this.data.set(block.subarray(want - start, want - start + n), this.filled);
    this.filled += n;
  }
}

/** The regions of one inspection and the stream position they are filled from. */
export class Capture {
  /** Bytes of the image seen so far (the image's size, once it ended). */
  position = 0;
  private readonly pending: Region[] = [];
  private head: Buffer | undefined = Buffer.alloc(HEAD_BYTES);
  private headFilled = 0;
  /** The block being fed, so a region asked for while it is read still gets its part of it. */
  private current: { block: Uint8Array; start: number } | undefined;

  /**
   * A region of `length` bytes (capped at MAX_REGION_BYTES) at `offset`.
   * Asked for while a block is fed, it includes that block's bytes; one that
   * started before it is `missed`.
   */
  region(offset: number, length: number): Region {
    const seenBefore = this.current ? this.current.start : this.position;
    const r = new Region(offset, length);
    if (this.head && offset < this.headFilled) r.take(this.head.subarray(0, this.headFilled), 0);
    if (!r.complete && r.offset + r.filled < seenBefore) r.missed = true;
    else if (this.current) r.take(this.current.block, this.current.start);
    if (!r.complete && !r.missed) this.pending.push(r);
    return r;
  }

  /** Whether any region still waits for bytes. */
  get waiting(): boolean {
    return this.pending.length > 0;
  }

  /** Feeds one block; `during` runs while the block is still available to new regions. */
  feed(block: Uint8Array, during: () => void): void {
    const start = this.position;
    this.position += block.byteLength;
    if (this.head && this.headFilled < HEAD_BYTES) {
      const n = Math.min(HEAD_BYTES - this.headFilled, block.byteLength);
      this.head.set(block.subarray(0, n), this.headFilled);
      this.headFilled += n;
    }
    if (this.pending.length) {
      for (const r of this.pending) r.take(block, start);
      this.prune();
    }
    this.current = { block, start };
    try {
      during();
    } finally {
      // The block belongs to the pipeline: it is never kept past this call.
      this.current = undefined;
    }
    this.prune();
  }

  /** Once every format is decided: the kept head is no longer needed. */
  dropHead(): void {
    this.head = undefined;
  }

  private prune(): void {
    for (let i = this.pending.length - 1; i >= 0; i--) if (this.pending[i]!.complete) this.pending.splice(i, 1);
  }
}

/** Little- and big-endian readers that answer undefined past the captured bytes, never throw. */
export const u16le = (b: Buffer, at: number): number | undefined => (at + 2 <= b.length ? b.readUInt16LE(at) : undefined);
export const u16be = (b: Buffer, at: number): number | undefined => (at + 2 <= b.length ? b.readUInt16BE(at) : undefined);
export const u32le = (b: Buffer, at: number): number | undefined => (at + 4 <= b.length ? b.readUInt32LE(at) : undefined);
export const u32be = (b: Buffer, at: number): number | undefined => (at + 4 <= b.length ? b.readUInt32BE(at) : undefined);
export const u64le = (b: Buffer, at: number): bigint | undefined => (at + 8 <= b.length ? b.readBigUInt64LE(at) : undefined);
export const u64be = (b: Buffer, at: number): bigint | undefined => (at + 8 <= b.length ? b.readBigUInt64BE(at) : undefined);

/** A 64-bit size as a number, or undefined when it is past what a number holds exactly (a hostile header). */
export function safeSize(v: bigint | undefined): number | undefined {
  return v !== undefined && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/** Whether `b` starts with `magic` at `at`. */
export function hasMagic(b: Buffer, magic: Buffer | string, at = 0): boolean {
  const m = typeof magic === 'string' ? Buffer.from(magic, 'latin1') : magic;
  return b.length >= at + m.length && b.subarray(at, at + m.length).equals(m);
}
