/**
 * The VDI and object operations the store is built from, each one request
 * (or two) on a SheepConnection, and sheep's result codes as the library's
 * errors. A VDI is named by the image id; its data lives in objects of
 * `1 << blockSizeShift` bytes whose ids the inode lists.
 */
import {
  BackendError,
  BackendUnavailableError,
  DuplicateError,
  GlanceStoreError,
  NotFoundError,
  StorageFullError,
} from '../../errors.js';
import type { SheepConnection } from './connection.js';
import {
  FLAG_WRITE,
  Inode,
  Op,
  Result,
  VDI_BITMAP_BYTES,
  dataOid,
  inodeOid,
  namePayload,
  readName,
  resultName,
  type Request,
} from './protocol.js';

/** A VDI as NEW_VDI and GET_VDI_INFO answer. */
export interface Vdi {
  name: string;
  vid: number;
  copies: number;
  blockSizeShift: number;
}

/** The inode fields the store reads. */
export interface InodeHeader {
  name: string;
  vdiSize: number;
  blockSizeShift: number;
  copies: number;
  vid: number;
  /** When the VDI was created; undefined where the inode has no time. */
  created: Date | undefined;
  /** A snapshot, not the current VDI of its name. */
  snapshot: boolean;
}

/** A sheep result as the library's error; `what` names the VDI or object. */
export function resultError(code: number, what: string, cluster: string): GlanceStoreError {
  const name = resultName(code) ?? `0x${code.toString(16)}`;
  switch (code) {
    case Result.NO_VDI:
    case Result.NO_OBJ:
      return new NotFoundError(`${what} was not found in ${cluster}`);
    case Result.VDI_EXIST:
      return new DuplicateError(`${what} already exists in ${cluster}`);
    case Result.NO_SPACE:
    case Result.FULL_VDI:
      return new StorageFullError(`${what}: ${cluster} has no space left (${name})`);
    case Result.WAIT_FOR_FORMAT:
      return new BackendUnavailableError(`${what}: ${cluster} is not formatted yet (WAIT_FOR_FORMAT; run dog cluster format)`);
    case Result.STARTUP:
    case Result.WAIT_FOR_JOIN:
    case Result.SHUTDOWN:
    case Result.HALT:
      return new BackendUnavailableError(`${what}: ${cluster} is not serving I/O now (${name})`);
    case Result.VER_MISMATCH:
      return new BackendError(`${what}: ${cluster} does not speak protocol version 2 (VER_MISMATCH)`);
    default:
      return new BackendError(`${what}: ${cluster} answered ${name}`);
  }
}

/** Errors that carry sheep's own answer: the request was carried out, or refused, never left unknown. */
const answered = new WeakSet<object>();

/** Whether `err` is sheep's answer to the request (not a lost connection, a timeout or an abort). */
export function isAnswer(err: unknown): boolean {
  return typeof err === 'object' && err !== null && answered.has(err);
}

/** Sends `req` and checks its result; gives the reply. */
async function call(conn: SheepConnection, req: Request, what: string, o: { payload?: Buffer | readonly Buffer[]; replyBytes?: number; signal?: AbortSignal }) {
  const reply = await conn.request(req, o);
  if (reply.rsp.result !== Result.SUCCESS) {
    const err = resultError(reply.rsp.result, what, conn.cluster);
    answered.add(err);
    throw err;
  }
  return reply;
}

const vdiRequest = (opcode: number, payload: Buffer, extra: Partial<Extract<Request, { kind: 'vdi' }>> = {}): Extract<Request, { kind: 'vdi' }> => ({
  kind: 'vdi',
  opcode,
  flags: FLAG_WRITE,
  dataLength: payload.length,
  ...extra,
});

/** Creates a VDI of `size` bytes (the cluster's copies and object size); an existing name is Duplicate. */
export async function newVdi(conn: SheepConnection, name: string, size: number, signal?: AbortSignal): Promise<Vdi> {
  const payload = namePayload(name);
  // snapid stays 0: a non-zero one makes a snapshot instead of a new VDI.
  const { rsp } = await call(conn, vdiRequest(Op.NEW_VDI, payload, { vdiSize: BigInt(size) }), `VDI ${name}`, { payload, signal });
  return { name, vid: rsp.vdiId, copies: rsp.copies, blockSizeShift: rsp.blockSizeShift };
}

/** Looks a VDI up by name (the current one, no tag); a missing name is NotFound. */
export async function vdiInfo(conn: SheepConnection, name: string, signal?: AbortSignal): Promise<Vdi> {
  const payload = namePayload(name, true);
  const { rsp } = await call(conn, vdiRequest(Op.GET_VDI_INFO, payload), `VDI ${name}`, { payload, signal });
  return { name, vid: rsp.vdiId, copies: rsp.copies, blockSizeShift: rsp.blockSizeShift };
}

/** Removes a VDI's name. Sheep removes its data only when data_vdi_id was zeroed first (see removeVdi). */
export async function delVdi(conn: SheepConnection, name: string, signal?: AbortSignal): Promise<void> {
  const payload = namePayload(name, true);
  await call(conn, vdiRequest(Op.DEL_VDI, payload), `VDI ${name}`, { payload, signal });
}

/** The in-use bitmap of every vid (deleted VDIs included: their inodes stay). */
export async function readVdis(conn: SheepConnection, signal?: AbortSignal): Promise<Buffer> {
  const { data } = await call(conn, { kind: 'vdi', opcode: Op.READ_VDIS, flags: 0, dataLength: VDI_BITMAP_BYTES }, 'the VDI list', { replyBytes: VDI_BITMAP_BYTES, signal });
  return data;
}

/** Reads `length` bytes of object `oid` at `offset`; a short answer is an error, never a short image. */
export async function readObject(conn: SheepConnection, oid: bigint, offset: number, length: number, copies: number, signal?: AbortSignal): Promise<Buffer> {
  const what = `object ${oid.toString(16)}`;
  const { data } = await call(conn, { kind: 'obj', opcode: Op.READ_OBJ, flags: 0, dataLength: length, oid, copies, offset }, what, { replyBytes: length, signal });
  if (data.length !== length) throw new BackendError(`${what}: ${conn.cluster} answered ${data.length} of ${length} bytes`);
  return data;
}

/** Writes into an existing object; a missing one is NotFound. */
export async function writeObject(conn: SheepConnection, oid: bigint, offset: number, data: Buffer, copies: number, signal?: AbortSignal): Promise<void> {
  await call(conn, { kind: 'obj', opcode: Op.WRITE_OBJ, flags: FLAG_WRITE, dataLength: data.length, oid, copies, offset }, `object ${oid.toString(16)}`, { payload: data, signal });
}

/** Creates (or replaces whole) an object with `data` (one buffer or several, sent uncopied) at offset 0. */
export async function createObject(conn: SheepConnection, oid: bigint, data: Buffer | readonly Buffer[], copies: number, signal?: AbortSignal): Promise<void> {
  const length = Buffer.isBuffer(data) ? data.length : data.reduce((n, p) => n + p.length, 0);
  await call(conn, { kind: 'obj', opcode: Op.CREATE_AND_WRITE_OBJ, flags: FLAG_WRITE, dataLength: length, oid, copies, offset: 0 }, `object ${oid.toString(16)}`, { payload: data, signal });
}

export async function readInode(conn: SheepConnection, vdi: Pick<Vdi, 'vid' | 'copies'>, signal?: AbortSignal): Promise<InodeHeader> {
  const b = await readObject(conn, inodeOid(vdi.vid), 0, Inode.PARENT_VDI_ID + 4, vdi.copies, signal);
  return {
    name: readName(b),
    vdiSize: Number(b.readBigUInt64LE(Inode.VDI_SIZE)),
    blockSizeShift: b.readUInt8(Inode.BLOCK_SIZE_SHIFT),
    copies: b.readUInt8(Inode.NR_COPIES),
    vid: b.readUInt32LE(Inode.VDI_ID),
    created: createdAt(b.readBigUInt64LE(Inode.CREATE_TIME)),
    snapshot: b.readBigUInt64LE(Inode.SNAP_CTIME) !== 0n,
  };
}

function createdAt(time: bigint): Date | undefined {
  const seconds = Number(time >> 32n);
  return seconds > 0 ? new Date(seconds * 1000) : undefined;
}

/** data_vdi_id[0..count): which VDI holds each object (0: never written). */
export async function readDataIndex(conn: SheepConnection, vdi: Pick<Vdi, 'vid' | 'copies'>, count: number, signal?: AbortSignal): Promise<Uint32Array> {
  if (count === 0) return new Uint32Array(0);
  const b = await readObject(conn, inodeOid(vdi.vid), Inode.DATA_VDI_ID, 4 * count, vdi.copies, signal);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = b.readUInt32LE(4 * i);
  return out;
}

/** Writes object `index` of the VDI, then points the inode's data_vdi_id[index] at it. */
export async function writeDataObject(conn: SheepConnection, vdi: Vdi, index: number, data: Buffer | readonly Buffer[], signal?: AbortSignal): Promise<void> {
  await createObject(conn, dataOid(vdi.vid, index), data, vdi.copies, signal);
  const entry = Buffer.alloc(4);
  entry.writeUInt32LE(vdi.vid);
  await writeObject(conn, inodeOid(vdi.vid), Inode.DATA_VDI_ID + 4 * index, entry, vdi.copies, signal);
}

/** Sets the inode's vdi_size (an image whose size was not declared, once its bytes are in). */
export async function setVdiSize(conn: SheepConnection, vdi: Vdi, size: number, signal?: AbortSignal): Promise<void> {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(size));
  await writeObject(conn, inodeOid(vdi.vid), Inode.VDI_SIZE, b, vdi.copies, signal);
}

/** How many objects of `1 << shift` bytes hold `bytes`. */
export function objectCount(bytes: number, shift: number): number {
  return Math.ceil(bytes / 2 ** shift);
}
