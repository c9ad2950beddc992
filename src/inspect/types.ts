/**
 * What an inspection finds: the disk format of an image, its virtual size
 * (what a guest sees) and the facts that make it unsafe to hand to a
 * hypervisor (CVE-2024-32498: a qcow2 naming a backing or data file, a vmdk
 * naming other files as its extents, make the host read files it can reach).
 */

/** The formats told apart (Glance's disk_format names; qemu calls vhd "vpc"). */
export const DISK_FORMATS = ['raw', 'qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso', 'qed', 'luks'] as const;
export type DiskFormat = (typeof DISK_FORMATS)[number];

/** Why an image is not safe to open (or could not be read far enough to know). */
export type ProblemCode =
  | 'backing-file'
  | 'data-file'
  | 'unknown-features'
  | 'unsupported-version'
  | 'unsupported-create-type'
  | 'unsafe-extent'
  | 'invalid-descriptor'
  | 'unsupported-format'
  | 'multiple-formats'
  | 'invalid-header'
  | 'truncated';

export interface InspectionProblem {
  code: ProblemCode;
  message: string;
}

/** Facts beyond the verdict, where the format has them. */
export interface InspectionDetails {
  /** The format's own version field (qcow2 2/3, vmdk 1-3, luks 1/2). */
  version?: number;
  /** qcow2/qed: the backing file the header names (at most 1,023 bytes of it). */
  backingFile?: string;
  /** qcow2: the external data file the header extension names. */
  dataFile?: string;
  /** qcow2 cluster size in bytes. */
  clusterSize?: number;
  /** qcow2 (AES or LUKS inside), luks: the image's data is encrypted. */
  encrypted?: boolean;
  /** vmdk: createType from the descriptor. */
  createType?: string;
  /** vmdk: the descriptor's extent lines (at most 64 shown). */
  extents?: string[];
  /** vhd: fixed, dynamic or differencing; vdi: normal, fixed, undo or diff. */
  imageType?: string;
  /** raw: the partition table its first sectors hold. */
  partitionTable?: 'mbr' | 'gpt';
}

export interface Inspection {
  format: DiskFormat;
  /** Bytes the guest sees; null when the image does not tell (truncated, unreadable). */
  virtualSize: number | null;
  /** No problem found. */
  safe: boolean;
  problems: InspectionProblem[];
  details: InspectionDetails;
}

/** A format's finding about the image: not this format, or this one with what it read. */
export type ProbeVerdict =
  | { match: false }
  | { match: true; virtualSize: number | null; problems: InspectionProblem[]; details: InspectionDetails };

export const NO_MATCH: ProbeVerdict = { match: false };
