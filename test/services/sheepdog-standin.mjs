#!/usr/bin/env node
/**
 * A STAND-IN for a sheep daemon (sheepdog 1.0), for the sheepdog driver's
 * tests where no real sheep can be installed (no distribution packages one,
 * and CI cannot download one). It is not sheepdog: it speaks the client
 * protocol facts the driver relies on, over a directory, and nothing else.
 * docs/sheepdog.md says how to run the same tests against a real cluster.
 *
 * What it does as sheep does (checked against a sheep built from source):
 * - 48-byte little-endian headers; proto_ver above 2 gets VER_MISMATCH; the
 *   response echoes the request id and has proto_ver 0.
 * - Many requests in flight on one connection, answered out of order (each
 *   after a random delay of up to --delay-ms).
 * - NEW_VDI (name payload exactly 256 bytes, else INVALID_PARMS; an existing
 *   name gives VDI_EXIST), vid = FNV-1a-64(name) & 0xffffff, the next free
 *   one on collision (deleted VDIs keep theirs); GET_VDI_INFO (256 or 512
 *   bytes), DEL_VDI, READ_VDIS (exactly 2 MiB).
 * - Objects in <dir>/obj/<oid as 16 hex digits>, as sheep's plain store
 *   keeps them: inode 1<<63 | vid<<32, data vid<<32 | idx, 4 MiB.
 *   CREATE_AND_WRITE_OBJ replaces the whole object; WRITE_OBJ and READ_OBJ
 *   of a missing object give NO_OBJ.
 * - Delete: DEL_VDI while any data_vdi_id entry (within vdi_size) is set
 *   answers SUCCESS and changes nothing; once they are zeroed it clears the
 *   inode's name, size and index (the inode stays). Zeroing an entry with a
 *   WRITE_OBJ on the inode removes that data object about 100 ms later.
 * - VDI attributes (GET_VDI_ATTR 0x89, one of sheep's own opcodes, taken at
 *   proto_ver 0x0a only): looked up, or created (CREAT), exclusively
 *   (EXCL: an existing one gives VDI_EXIST), as objects under the name's
 *   hash vid (1<<61 | hashvid<<32 | attr id), never removed with their VDI;
 *   REMOVE_OBJ removes an object.
 * - What a listing reads, as `dog vdi list` reads it: READ_VDIS sets the bit
 *   of every vid ever given (a deleted VDI keeps its bit and its inode, the
 *   name cleared); an inode's create_time (offset 512) is the creation's
 *   seconds in its high 32 bits, snap_ctime (520) zero (no snapshots here);
 *   READ_OBJ with copies 0 reads as sheep does with the VDI's own copies.
 *   GET_VDI_ATTR without CREAT looks an attribute up (NO_OBJ when there is
 *   none, NO_VDI for a name without a current VDI), and WRITE_OBJ writes
 *   inside an attribute's object, as inside any object.
 * - --unformatted: every request gets WAIT_FOR_FORMAT.
 * - --exit-with-parent: exits when its stdin closes (a test run that dies leaves no stand-in).
 *
 * Usage: node sheepdog-standin.mjs --dir DIR [--port 0] [--delay-ms 2] [--unformatted] [--exit-with-parent]
 * Prints one line `{"port": N}` once it listens.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const dir = arg('dir');
if (!dir) {
  console.error('usage: sheepdog-standin.mjs --dir DIR [--port N] [--delay-ms N] [--unformatted]');
  process.exit(2);
}
const port = Number(arg('port', '0'));
const delayMs = Number(arg('delay-ms', '2'));
const unformatted = args.includes('--unformatted');

const OP = { CREATE_AND_WRITE_OBJ: 0x01, READ_OBJ: 0x02, WRITE_OBJ: 0x03, REMOVE_OBJ: 0x04, NEW_VDI: 0x11, GET_VDI_INFO: 0x14, READ_VDIS: 0x15, DEL_VDI: 0x17, GET_VDI_ATTR: 0x89 };
const RES = { SUCCESS: 0x00, NO_OBJ: 0x02, VDI_EXIST: 0x04, INVALID_PARMS: 0x05, NO_VDI: 0x08, VER_MISMATCH: 0x14, WAIT_FOR_FORMAT: 0x16 };
const FLAG_WRITE = 1;
const FLAG_CREAT = 0x100;
const FLAG_EXCL = 0x200;
/** sheep's own opcodes (0x80 and up) are taken at exactly this version. */
const SHEEP_PROTO_VER = 0x0a;
/** struct sheepdog_vdi_attr: name, tag, ctime, snap_id, value_len, key (256), then the value (up to 64 KiB). */
const ATTR_HEADER = 784;
const ATTR_OBJ = ATTR_HEADER + 65536;
const HEADER = 48;
const SHIFT = 22;
const DATA_OBJ = 1 << SHIFT;
const INDEX_AT = 4664;
const MAX_INDEX = 1 << 20;
const INODE_OBJ = INDEX_AT + 4 * MAX_INDEX;
const VID_MASK = 0xffffff;
const NAME_LEN = 256;
const BITMAP_BYTES = (1 << 24) / 8;

const objDir = path.join(dir, 'obj');
fs.mkdirSync(objDir, { recursive: true });
const file = (oid) => path.join(objDir, oid.toString(16).padStart(16, '0'));
const isInode = (oid) => (oid >> 63n) === 1n;
const isAttr = (oid) => ((oid >> 61n) & 1n) === 1n;
const attrOid = (hashVid, attrId) => (BigInt(hashVid) << 32n) | (1n << 61n) | BigInt(attrId);
const vidOf = (oid) => Number((oid >> 32n) & 0xffffffn);
const inodeOid = (vid) => (1n << 63n) | (BigInt(vid) << 32n);
const dataOid = (vid, idx) => (BigInt(vid) << 32n) | BigInt(idx);

/** name -> vid of the VDIs that have a name, and every vid whose inode exists. */
const names = new Map();
const used = new Set();
for (const f of fs.readdirSync(objDir)) {
  if (!/^[0-9a-f]{16}$/.test(f)) continue;
  const oid = BigInt(`0x${f}`);
  if (!isInode(oid)) continue;
  used.add(vidOf(oid));
  const name = readName(readAt(oid, 0, NAME_LEN));
  if (name) names.set(name, vidOf(oid));
}

function readName(b) {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
}

/** `len` bytes at `off` of an existing object, zeros past what the file holds (a sparse object). */
function readAt(oid, off, len) {
  const out = Buffer.alloc(len);
  const fd = fs.openSync(file(oid), 'r');
  try {
    fs.readSync(fd, out, 0, len, off);
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

function writeAt(oid, off, data) {
  const fd = fs.openSync(file(oid), 'r+');
  try {
    fs.writeSync(fd, data, 0, data.length, off);
  } finally {
    fs.closeSync(fd);
  }
}

function fnv(bytes, h = 0xcbf29ce484222325n) {
  for (const byte of bytes) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

function fnvVid(name) {
  return Number(fnv(Buffer.from(name, 'utf8')) & BigInt(VID_MASK));
}

function objectSize(oid) {
  return isInode(oid) ? INODE_OBJ : isAttr(oid) ? ATTR_OBJ : DATA_OBJ;
}

/** GET_VDI_ATTR as sheep runs it: the attribute's slot is FNV-1a-64 of name, tag, snap_id and key (low 32 bits), the next on collision, under the name's hash vid. */
function vdiAttr(h, data) {
  if (data.length < ATTR_HEADER) return { result: RES.INVALID_PARMS };
  const name = readName(data.subarray(0, NAME_LEN));
  const vid = names.get(name);
  // The stand-in has no snapshots: an attribute of a tagged VDI is one of a VDI it does not have.
  if (vid === undefined || readName(data.subarray(NAME_LEN, 2 * NAME_LEN)) || h.snapId !== 0) return { result: RES.NO_VDI };
  const hashVid = fnvVid(name);
  const create = (h.flags & FLAG_CREAT) !== 0;
  const fields = (b) => Buffer.concat([b.subarray(0, 2 * NAME_LEN), b.subarray(520, 524), b.subarray(528, ATTR_HEADER)]);
  const record = Buffer.from(data);
  // Sheep writes the VDI's creation time into the attribute.
  readAt(inodeOid(vid), 512, 8).copy(record, 512);
  let attrId = Number(fnv(fields(data)) & 0xffffffffn);
  for (;;) {
    const oid = attrOid(hashVid, attrId);
    const answer = (result) => ({ result, vdiId: hashVid, attrId, copies: 1 });
    if (!fs.existsSync(file(oid))) {
      if (!create) return answer(RES.NO_OBJ);
      fs.writeFileSync(file(oid), record);
      return answer(RES.SUCCESS);
    }
    if (fields(readAt(oid, 0, ATTR_HEADER)).equals(fields(data))) {
      if (h.flags & FLAG_EXCL) return answer(RES.VDI_EXIST);
      if (create) fs.writeFileSync(file(oid), record);
      return answer(RES.SUCCESS);
    }
    attrId = (attrId + 1) >>> 0;
  }
}

function inodeHeader(vid) {
  const b = readAt(inodeOid(vid), 0, INDEX_AT);
  return { vdiSize: Number(b.readBigUInt64LE(536)), shift: b.readUInt8(555) || SHIFT };
}

/** Handles one request; gives [result, payload?, vdi fields?]. */
function handle(h, data) {
  if (h.opcode >= 0x80 ? h.protoVer !== SHEEP_PROTO_VER : h.protoVer > 2) return { result: RES.VER_MISMATCH };
  if (unformatted) return { result: RES.WAIT_FOR_FORMAT };
  switch (h.opcode) {
    case OP.NEW_VDI: {
      if (h.dataLength !== NAME_LEN) return { result: RES.INVALID_PARMS };
      const name = readName(data);
      // Snapshots and other object sizes are beyond this stand-in.
      if (!name || h.snapId !== 0 || (h.blockSizeShift !== 0 && h.blockSizeShift !== SHIFT)) return { result: RES.INVALID_PARMS };
      if (names.has(name)) return { result: RES.VDI_EXIST };
      let vid = fnvVid(name);
      while (used.has(vid) || vid === 0) vid = (vid + 1) & VID_MASK;
      const inode = Buffer.alloc(INDEX_AT);
      inode.write(name, 0, 'utf8');
      inode.writeBigUInt64LE(BigInt(Math.floor(Date.now() / 1000)) << 32n, 512);
      inode.writeBigUInt64LE(h.vdiSize, 536);
      inode.writeUInt8(1, 554);
      inode.writeUInt8(SHIFT, 555);
      inode.writeUInt32LE(1, 556);
      inode.writeUInt32LE(vid, 560);
      inode.writeUInt32LE(h.baseVdiId, 564);
      fs.writeFileSync(file(inodeOid(vid)), inode);
      used.add(vid);
      names.set(name, vid);
      return { result: RES.SUCCESS, vdiId: vid, copies: 1, shift: SHIFT };
    }
    case OP.GET_VDI_INFO: {
      if (h.dataLength !== NAME_LEN && h.dataLength !== 2 * NAME_LEN) return { result: RES.INVALID_PARMS };
      const vid = names.get(readName(data.subarray(0, NAME_LEN)));
      if (vid === undefined) return { result: RES.NO_VDI };
      return { result: RES.SUCCESS, vdiId: vid, copies: 1, shift: SHIFT };
    }
    case OP.DEL_VDI: {
      if (h.dataLength !== NAME_LEN && h.dataLength !== 2 * NAME_LEN) return { result: RES.INVALID_PARMS };
      const name = readName(data.subarray(0, NAME_LEN));
      const vid = names.get(name);
      if (vid === undefined) return { result: RES.NO_VDI };
      const { vdiSize, shift } = inodeHeader(vid);
      const count = Math.ceil(vdiSize / 2 ** shift);
      const index = readAt(inodeOid(vid), INDEX_AT, 4 * count);
      // As sheep: with data still referenced, the deletion is skipped, and the answer is SUCCESS all the same.
      for (let i = 0; i < count; i++) if (index.readUInt32LE(4 * i) !== 0) return { result: RES.SUCCESS, vdiId: vid };
      writeAt(inodeOid(vid), 0, Buffer.alloc(NAME_LEN));
      writeAt(inodeOid(vid), 536, Buffer.alloc(8));
      fs.truncateSync(file(inodeOid(vid)), INDEX_AT);
      names.delete(name);
      return { result: RES.SUCCESS, vdiId: vid };
    }
    case OP.GET_VDI_ATTR:
      return vdiAttr(h, data);
    case OP.REMOVE_OBJ: {
      if (!fs.existsSync(file(h.oid))) return { result: RES.NO_OBJ };
      fs.rmSync(file(h.oid));
      return { result: RES.SUCCESS };
    }
    case OP.READ_VDIS: {
      if (h.dataLength !== BITMAP_BYTES) return { result: RES.INVALID_PARMS };
      const bitmap = Buffer.alloc(BITMAP_BYTES);
      for (const vid of used) bitmap[vid >> 3] |= 1 << (vid & 7);
      return { result: RES.SUCCESS, data: bitmap };
    }
    case OP.READ_OBJ:
    case OP.WRITE_OBJ:
    case OP.CREATE_AND_WRITE_OBJ: {
      const { oid, offset } = h;
      const len = h.opcode === OP.READ_OBJ ? h.dataLength : data.length;
      if (offset + len > objectSize(oid)) return { result: RES.INVALID_PARMS };
      const exists = fs.existsSync(file(oid));
      if (h.opcode === OP.CREATE_AND_WRITE_OBJ) {
        const whole = Buffer.alloc(offset + len);
        data.copy(whole, offset);
        fs.writeFileSync(file(oid), whole);
        return { result: RES.SUCCESS };
      }
      if (!exists) return { result: RES.NO_OBJ };
      if (h.opcode === OP.READ_OBJ) return { result: RES.SUCCESS, data: readAt(oid, offset, len) };
      if (isInode(oid) && offset + len > INDEX_AT) dropUnreferenced(oid, offset, data);
      writeAt(oid, offset, data);
      return { result: RES.SUCCESS };
    }
    default:
      return { result: RES.INVALID_PARMS };
  }
}

/** A write over data_vdi_id entries: objects whose entry changes away from them go, as sheep's reclaim does, shortly after. */
function dropUnreferenced(oid, offset, data) {
  const from = Math.max(offset, INDEX_AT);
  const first = Math.ceil((from - INDEX_AT) / 4);
  const last = Math.floor((offset + data.length - INDEX_AT) / 4);
  if (last <= first) return;
  const old = readAt(oid, INDEX_AT + 4 * first, 4 * (last - first));
  for (let i = first; i < last; i++) {
    const before = old.readUInt32LE(4 * (i - first));
    const after = data.readUInt32LE(INDEX_AT + 4 * i - offset);
    if (before === 0 || before === after) continue;
    const gone = dataOid(before, i);
    setTimeout(() => fs.rmSync(file(gone), { force: true }), 100);
  }
}

function decode(b) {
  return {
    protoVer: b.readUInt8(0),
    opcode: b.readUInt8(1),
    flags: b.readUInt16LE(2),
    id: b.readUInt32LE(8),
    dataLength: b.readUInt32LE(12),
    oid: b.readBigUInt64LE(16),
    offset: b.readUInt32LE(40),
    vdiSize: b.readBigUInt64LE(16),
    baseVdiId: b.readUInt32LE(24),
    blockSizeShift: b.readUInt8(31),
    snapId: b.readUInt32LE(32),
  };
}

function respond(socket, h, r) {
  const payload = r.data ?? Buffer.alloc(0);
  const b = Buffer.alloc(HEADER);
  b.writeUInt8(h.opcode, 1);
  b.writeUInt32LE(h.id, 8);
  b.writeUInt32LE(payload.length, 12);
  b.writeUInt32LE(r.result, 16);
  b.writeUInt32LE(r.vdiId ?? 0, 24);
  b.writeUInt32LE(r.attrId ?? 0, 28);
  b.writeUInt8(r.copies ?? 0, 32);
  b.writeUInt8(r.shift ?? 0, 33);
  if (socket.destroyed) return;
  socket.write(payload.length ? Buffer.concat([b, payload]) : b);
}

const server = net.createServer((socket) => {
  socket.on('error', () => undefined);
  let chunks = [];
  let have = 0;
  let header;
  const take = (n) => {
    const all = Buffer.concat(chunks, have);
    chunks = [all.subarray(n)];
    have -= n;
    return all.subarray(0, n);
  };
  socket.on('data', (chunk) => {
    chunks.push(chunk);
    have += chunk.length;
    for (;;) {
      if (!header) {
        if (have < HEADER) return;
        header = decode(take(HEADER));
      }
      const body = header.flags & FLAG_WRITE ? header.dataLength : 0;
      if (have < body) return;
      const h = header;
      const data = Buffer.from(take(body));
      header = undefined;
      // Answered out of order: each after its own random delay.
      setTimeout(() => {
        let r;
        try {
          r = handle(h, data);
        } catch (err) {
          console.error(`stand-in: ${err.message}`);
          r = { result: 0x03 }; // EIO
        }
        respond(socket, h, r);
      }, Math.random() * delayMs);
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
// Ends at once, connections and all, as a daemon that is killed.
process.on('SIGTERM', () => process.exit(0));
if (args.includes('--exit-with-parent')) {
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
