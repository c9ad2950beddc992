/**
 * The streaming inspector: every format's probe over one capture, fed the
 * blocks of the image once, in order. Once every probe has decided, a block
 * costs a byte count and nothing else; what is held is the regions the
 * formats asked for (each bounded) and, until then, the image's first 64 KiB.
 */
import { Capture } from './capture.js';
import { problem, type Probe } from './probe.js';
import { PartitionTableProbe } from './partitions.js';
import { Qcow2Probe } from './qcow2.js';
import { QedProbe } from './qed.js';
import { VmdkProbe } from './vmdk.js';
import { VhdProbe } from './vhd.js';
import { VhdxProbe } from './vhdx.js';
import { VdiProbe } from './vdi.js';
import { IsoProbe } from './iso.js';
import { LuksProbe } from './luks.js';
import type { DiskFormat, Inspection, InspectionDetails, ProbeVerdict } from './types.js';

type Matched = Extract<ProbeVerdict, { match: true }>;

export class ImageInspector {
  private readonly capture = new Capture();
  /** Probes still undecided, in the order their formats win a tie. */
  private undecided: Probe[] = [new Qcow2Probe(), new VmdkProbe(), new VhdxProbe(), new VhdProbe(), new VdiProbe(), new QedProbe(), new LuksProbe(), new IsoProbe()];
  private readonly order = this.undecided.map((p) => p.format);
  private readonly matches = new Map<DiskFormat, Matched>();
  private readonly partitions = new PartitionTableProbe();
  private partitionTable: 'gpt' | 'mbr' | undefined | null = null;
  private ended = false;

  /** Bytes inspected so far. */
  get bytes(): number {
    return this.capture.position;
  }

  /** Every format decided: the format and the problems are known (a raw image's size is not, until its end). */
  get decided(): boolean {
    return this.undecided.length === 0 && this.partitionTable !== null;
  }

  /** One block of the image, in order. The block is not kept. */
  feed(block: Uint8Array): void {
    if (this.ended) throw new RangeError('the inspection has ended');
    if (this.decided && !this.capture.waiting) {
      this.capture.position += block.byteLength;
      return;
    }
    this.capture.feed(block, () => this.step(false));
  }

  /** The image has ended: the inspection's result. */
  end(): Inspection {
    if (!this.ended) {
      this.ended = true;
      this.step(true);
    }
    return this.result()!;
  }

  /** The result so far: undefined until every format is decided. */
  result(): Inspection | undefined {
    if (!this.decided) return undefined;
    const found = this.order.filter((f) => this.matches.has(f));
    if (found.length === 0) {
      const details: InspectionDetails = this.partitionTable ? { partitionTable: this.partitionTable } : {};
      return { format: 'raw', virtualSize: this.ended ? this.capture.position : null, safe: true, problems: [], details };
    }
    const first = this.matches.get(found[0]!)!;
    const problems = [...first.problems];
    if (found.length > 1) problems.push(problem('multiple-formats', `The image reads as several formats at once (${found.join(', ')}): a host may open it as any of them`));
    return { format: found[0]!, virtualSize: first.virtualSize, safe: problems.length === 0, problems, details: first.details };
  }

  private step(ended: boolean): void {
    if (this.undecided.length) {
      this.undecided = this.undecided.filter((p) => {
        let v: ProbeVerdict | undefined;
        try {
          v = p.step(this.capture, ended);
        } catch (err) {
          // A probe's own fault must not fail the add: the image is then unsafe, saying why.
          v = { match: true, virtualSize: null, problems: [problem('invalid-header', `The ${p.format} header could not be read: ${(err as Error)?.message ?? String(err)}`)], details: {} };
        }
        if (v === undefined) return !ended;
        if (v.match) this.matches.set(p.format, v);
        return false;
      });
    }
    if (this.partitionTable === null) this.partitionTable = this.partitions.step(this.capture, ended);
    if (this.decided) this.capture.dropHead();
  }
}

/** Inspects a whole image given as chunks (a file's, a stored image's): what the add reports. */
export async function inspectStream(chunks: AsyncIterable<Uint8Array>): Promise<Inspection> {
  const inspector = new ImageInspector();
  for await (const chunk of chunks) inspector.feed(chunk);
  return inspector.end();
}
