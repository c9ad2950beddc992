/**
 * Sheepdog's client wire protocol (sheepdog 1.0, as QEMU's block driver
 * speaks it): fixed 48-byte little-endian headers, a request id echoed in
 * the response, object ids built from a VDI id, and the inode layout the
 * driver reads and writes. Pure encoding: no sockets here.
 */

export const HEADER_BYTES = 48;
/** The request protocol version; sheep answers VER_MISMATCH above it. */
export const PROTO_VER = 2;
/**
 * The version of sheep's own opcodes (0x80 and up, which dog speaks): sheep
 * takes them only at exactly this version, the one of sheepdog 1.0.x.
 */
export const SHEEP_PROTO_VER = 0x0a;
/** The payload of NEW_VDI, GET_VDI_INFO and DEL_VDI: the name, NUL-padded to exactly this. */
export const VDI_NAME_BYTES = 256;
export const VDI_TAG_BYTES = 256;
/** READ_VDIS answers with the in-use bitmap of every vid: exactly this buffer. */
export const VDI_BITMAP_BYTES = (1 << 24) / 8;
/** vids are 24 bits. */
export const VID_MASK = 0xffffff;

export const Op = {
  CREATE_AND_WRITE_OBJ: 0x01,
  READ_OBJ: 0x02,
  WRITE_OBJ: 0x03,
  NEW_VDI: 0x11,
  GET_VDI_INFO: 0x14,
  READ_VDIS: 0x15,
  DEL_VDI: 0x17,
  REMOVE_OBJ: 0x04,
  /** Looks up, creates (CREAT, exclusively with EXCL) a VDI attribute: one of sheep's own opcodes. */
  GET_VDI_ATTR: 0x89,
} as const;

export const FLAG_WRITE = 0x01;
export const FLAG_CREAT = 0x0100;
export const FLAG_EXCL = 0x0200;

/** The result codes the driver tells apart; any other is a protocol error. */
export const Result = {
  SUCCESS: 0x00,
  UNKNOWN: 0x01,
  NO_OBJ: 0x02,
  EIO: 0x03,
  VDI_EXIST: 0x04,
  INVALID_PARMS: 0x05,
  SYSTEM_ERROR: 0x06,
  NO_VDI: 0x08,
  STARTUP: 0x0f,
  SHUTDOWN: 0x11,
  NO_MEM: 0x12,
  FULL_VDI: 0x13,
  VER_MISMATCH: 0x14,
  NO_SPACE: 0x15,
  WAIT_FOR_FORMAT: 0x16,
  WAIT_FOR_JOIN: 0x17,
  HALT: 0x19,
  READONLY: 0x1a,
} as const;

const RESULT_NAMES = new Map<number, string>(Object.entries(Result).map(([k, v]) => [v, k]));

/** The name of a known result code, undefined for one the driver does not know. */
export function resultName(code: number): string | undefined {
  return RESULT_NAMES.get(code);
}

/** Inode layout (struct sd_inode): offsets of the fields the driver uses. */
export const Inode = {
  NAME: 0,
  /** Seconds since the epoch in the high 32 bits, as sheep sets it (dog prints create_time >> 32). */
  CREATE_TIME: 512,
  /** Non-zero for a snapshot: the time it was taken. */
  SNAP_CTIME: 520,
  VDI_SIZE: 536,
  COPY_POLICY: 552,
  STORE_POLICY: 553,
  NR_COPIES: 554,
  BLOCK_SIZE_SHIFT: 555,
  SNAP_ID: 556,
  VDI_ID: 560,
  PARENT_VDI_ID: 564,
  DATA_VDI_ID: 4664,
  /** Entries of data_vdi_id: the most objects one VDI has. */
  MAX_OBJECTS: 1 << 20,
} as const;

/**
 * A VDI attribute object (struct sheepdog_vdi_attr): the VDI's name and tag,
 * the VDI's creation time (sheep sets it), the value's length, the key, the
 * value. A request carries this much, the value after it.
 */
export const Attr = {
  NAME: 0,
  TAG: 256,
  CTIME: 512,
  SNAP_ID: 520,
  VALUE_LEN: 524,
  KEY: 528,
  VALUE: 784,
  KEY_BYTES: 256,
} as const;

/** An attribute object: sheep places it by the hash vid of the VDI's name (nameHashVid), not by the VDI's own vid. */
export function attrOid(hashVid: number, attrId: number): bigint {
  return (BigInt(hashVid) << 32n) | (1n << 61n) | BigInt(attrId >>> 0);
}

/** The payload of GET_VDI_ATTR: attribute `key` of the current VDI `name`, with `value`. */
export function attrPayload(name: string, key: string, value: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(Attr.VALUE + value.length);
  b.write(name, Attr.NAME, 'utf8');
  b.writeUInt32LE(value.length, Attr.VALUE_LEN);
  b.write(key, Attr.KEY, 'utf8');
  value.copy(b, Attr.VALUE);
  return b;
}

/** The inode object of a VDI. */
export function inodeOid(vid: number): bigint {
  return (1n << 63n) | (BigInt(vid) << 32n);
}

/** Data object `index` of a VDI. */
export function dataOid(vid: number, index: number): bigint {
  return (BigInt(vid) << 32n) | BigInt(index);
}

/** The vid sheep tries first for a new name: FNV-1a-64 of its bytes, low 24 bits. */
export function nameHashVid(name: string): number {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(name, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h & BigInt(VID_MASK));
}

/** An object request (CREATE_AND_WRITE_OBJ, READ_OBJ, WRITE_OBJ). */
export interface ObjectRequest {
  kind: 'obj';
  opcode: number;
  flags: number;
  dataLength: number;
  oid: bigint;
  cowOid?: bigint;
  copies?: number;
  copyPolicy?: number;
  offset: number;
}

/** A VDI request (NEW_VDI, GET_VDI_INFO, DEL_VDI, READ_VDIS). */
export interface VdiRequest {
  kind: 'vdi';
  opcode: number;
  flags: number;
  dataLength: number;
  vdiSize?: bigint;
  baseVdiId?: number;
  copies?: number;
  copyPolicy?: number;
  storePolicy?: number;
  blockSizeShift?: number;
  snapId?: number;
}

export type Request = ObjectRequest | VdiRequest;

export function encodeRequest(req: Request, id: number, epoch = 0): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt8(req.opcode >= 0x80 ? SHEEP_PROTO_VER : PROTO_VER, 0);
  b.writeUInt8(req.opcode, 1);
  b.writeUInt16LE(req.flags, 2);
  b.writeUInt32LE(epoch, 4);
  b.writeUInt32LE(id, 8);
  b.writeUInt32LE(req.dataLength, 12);
  if (req.kind === 'obj') {
    b.writeBigUInt64LE(req.oid, 16);
    b.writeBigUInt64LE(req.cowOid ?? 0n, 24);
    b.writeUInt8(req.copies ?? 0, 32);
    b.writeUInt8(req.copyPolicy ?? 0, 33);
    b.writeUInt32LE(req.offset, 40);
  } else {
    b.writeBigUInt64LE(req.vdiSize ?? 0n, 16);
    b.writeUInt32LE(req.baseVdiId ?? 0, 24);
    b.writeUInt8(req.copies ?? 0, 28);
    b.writeUInt8(req.copyPolicy ?? 0, 29);
    b.writeUInt8(req.storePolicy ?? 0, 30);
    b.writeUInt8(req.blockSizeShift ?? 0, 31);
    b.writeUInt32LE(req.snapId ?? 0, 32);
  }
  return b;
}

/** What a request header says, as a server reads it (the stand-in, tests). */
export interface DecodedRequest {
  protoVer: number;
  opcode: number;
  flags: number;
  epoch: number;
  id: number;
  dataLength: number;
  /** Object fields. */
  oid: bigint;
  cowOid: bigint;
  copies: number;
  offset: number;
  /** VDI fields. */
  vdiSize: bigint;
  baseVdiId: number;
  vdiCopies: number;
  blockSizeShift: number;
  snapId: number;
}

export function decodeRequest(b: Buffer): DecodedRequest {
  return {
    protoVer: b.readUInt8(0),
    opcode: b.readUInt8(1),
    flags: b.readUInt16LE(2),
    epoch: b.readUInt32LE(4),
    id: b.readUInt32LE(8),
    dataLength: b.readUInt32LE(12),
    oid: b.readBigUInt64LE(16),
    cowOid: b.readBigUInt64LE(24),
    copies: b.readUInt8(32),
    offset: b.readUInt32LE(40),
    vdiSize: b.readBigUInt64LE(16),
    baseVdiId: b.readUInt32LE(24),
    vdiCopies: b.readUInt8(28),
    blockSizeShift: b.readUInt8(31),
    snapId: b.readUInt32LE(32),
  };
}

export interface Response {
  opcode: number;
  id: number;
  dataLength: number;
  result: number;
  /** VDI responses. */
  vdiId: number;
  /** GET_VDI_ATTR's answer: the attribute's id (its object is attrOid(vdiId, attrId)). */
  attrId: number;
  copies: number;
  blockSizeShift: number;
}

export function decodeResponse(b: Buffer): Response {
  return {
    opcode: b.readUInt8(1),
    id: b.readUInt32LE(8),
    dataLength: b.readUInt32LE(12),
    result: b.readUInt32LE(16),
    vdiId: b.readUInt32LE(24),
    attrId: b.readUInt32LE(28),
    copies: b.readUInt8(32),
    blockSizeShift: b.readUInt8(33),
  };
}

/** A response header as a server writes it (the response's proto_ver byte is 0, as sheep sends it). */
export function encodeResponse(r: { opcode: number; id: number; dataLength: number; result: number; vdiId?: number; attrId?: number; copies?: number; blockSizeShift?: number }): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt8(r.opcode, 1);
  b.writeUInt32LE(r.id, 8);
  b.writeUInt32LE(r.dataLength, 12);
  b.writeUInt32LE(r.result, 16);
  b.writeUInt32LE(r.vdiId ?? 0, 24);
  b.writeUInt32LE(r.attrId ?? 0, 28);
  b.writeUInt8(r.copies ?? 0, 32);
  b.writeUInt8(r.blockSizeShift ?? 0, 33);
  return b;
}

/** A VDI name as NEW_VDI / GET_VDI_INFO / DEL_VDI carry it: exactly 256 bytes, NUL-padded (plus an empty tag when `withTag`). */
export function namePayload(name: string, withTag = false): Buffer {
  const b = Buffer.alloc(VDI_NAME_BYTES + (withTag ? VDI_TAG_BYTES : 0));
  b.write(name, 0, 'utf8');
  return b;
}

/** The NUL-terminated name at the start of a buffer. */
export function readName(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? Math.min(b.length, VDI_NAME_BYTES) : end).toString('utf8');
}
