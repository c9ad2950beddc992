/**
 * The partition table of a raw image, where it costs nothing to tell: a GPT
 * header ('EFI PART' in sector 1, behind a protective MBR) or an MBR's
 * 0x55aa signature. A fact about a raw image, never a format of its own.
 */
import { hasMagic, type Capture, type Region } from './capture.js';

export class PartitionTableProbe {
  private sectors: Region | undefined;

  /** 'gpt', 'mbr', undefined when there is none, null while undecided. */
  step(c: Capture, ended: boolean): 'gpt' | 'mbr' | undefined | null {
    this.sectors ??= c.region(0, 1024);
    if (!this.sectors.complete && !ended) return null;
    const s = this.sectors.bytes();
    if (hasMagic(s, 'EFI PART', 512)) return 'gpt';
    if (s.length >= 512 && s[510] === 0x55 && s[511] === 0xaa) return 'mbr';
    return undefined;
  }
}
