/**
 * Which add a VDI belongs to. NEW_VDI's answer is the only thing that says
 * an add created its VDI, and a lost connection can take that answer: the
 * VDI of that name may then be this add's or another add's of the same id
 * that created it meanwhile. Removing it blind would delete the other add's
 * image.
 *
 * So each add, as soon as NEW_VDI answers, claims its VDI: it creates a VDI
 * attribute exclusively (GET_VDI_ATTR with CREAT | EXCL; sheep runs it as a
 * cluster operation, one at a time, as it runs NEW_VDI), keyed by the VDI's
 * vid, with a value only that add knows. An add that lost NEW_VDI's answer
 * removes the VDI only after its own claim on it succeeds; a claim that is
 * there already is the other add's, and the VDI is left to it. Sheep keys
 * attributes by the VDI's name, not its vid, so the vid in the key keeps
 * one VDI's claim from standing for a later VDI of the same name; and sheep
 * never removes an attribute, so a delete removes the claim's object.
 */
import { BackendError } from '../../errors.js';
import type { SheepConnection } from './connection.js';
import { Attr, FLAG_CREAT, FLAG_EXCL, FLAG_WRITE, Op, Result, attrOid, attrPayload, type Request } from './protocol.js';
import { readObject, resultError, writeObject } from './vdi.js';

/** Whose claim a VDI carries: this caller's, another's, or none can be made (a sheep without VDI attributes). */
export type Claim = 'ours' | 'theirs' | 'unsupported';

const ownerKey = (vid: number) => `glance-store.owner.${vid.toString(16)}`;

/**
 * A claim's value: `open:<token>` while the add runs, rewritten in place to
 * `done:<token>` (same length) once its last byte is in, so a listing tells
 * a finished image from what a dead add left. A claim written before the
 * mark existed is the token alone (see ClaimState).
 */
const OPEN = 'open:';
const DONE = 'done:';
const claimValue = (token: string) => Buffer.from(`${OPEN}${token}`, 'utf8');

/**
 * What a VDI's claim says: none (glance_store's VDI, a cluster without
 * attributes), `open` (an add that has not finished: running, or dead),
 * `done` (a finished add), or `unmarked` (an add of a version before the
 * mark: finished or dead, it cannot say).
 */
export type ClaimState = 'none' | 'open' | 'done' | 'unmarked';

function attrRequest(flags: number, payload: Buffer): Request {
  return { kind: 'vdi', opcode: Op.GET_VDI_ATTR, flags: FLAG_WRITE | flags, dataLength: payload.length };
}

/** Claims VDI `name` (whose vid is `vid`) with `token`; a claim already made with the same token (an answer lost before) is ours too. */
export async function claimVdi(conn: SheepConnection, name: string, vid: number, token: string, signal?: AbortSignal): Promise<Claim> {
  const value = claimValue(token);
  const payload = attrPayload(name, ownerKey(vid), value);
  const { rsp } = await conn.request(attrRequest(FLAG_CREAT | FLAG_EXCL, payload), { payload, signal });
  switch (rsp.result) {
    case Result.SUCCESS:
      return 'ours';
    case Result.VDI_EXIST: {
      const oid = attrOid(rsp.vdiId, rsp.attrId);
      const held = await readObject(conn, oid, Attr.VALUE_LEN, Attr.VALUE - Attr.VALUE_LEN + value.length, rsp.copies, signal);
      const length = held.readUInt32LE(0);
      const heldToken = held.subarray(Attr.VALUE - Attr.VALUE_LEN, Attr.VALUE - Attr.VALUE_LEN + length);
      return length === value.length && heldToken.equals(value) ? 'ours' : 'theirs';
    }
    // A sheep whose own protocol is not 1.0's, or that has no attributes: nothing can be proven.
    case Result.VER_MISMATCH:
    case Result.INVALID_PARMS:
      return 'unsupported';
    default:
      throw resultError(rsp.result, `the claim on VDI ${name}`, conn.cluster);
  }
}

/** Where the claim on VDI `name` (vid `vid`) is: its object and copies; undefined without one (or without attributes). */
async function findClaim(conn: SheepConnection, name: string, vid: number, signal?: AbortSignal): Promise<{ oid: bigint; copies: number } | undefined> {
  const payload = attrPayload(name, ownerKey(vid));
  const { rsp } = await conn.request(attrRequest(0, payload), { payload, signal });
  if (rsp.result === Result.NO_OBJ || rsp.result === Result.VER_MISMATCH || rsp.result === Result.INVALID_PARMS) return undefined;
  if (rsp.result !== Result.SUCCESS) throw resultError(rsp.result, `the claim on VDI ${name}`, conn.cluster);
  return { oid: attrOid(rsp.vdiId, rsp.attrId), copies: rsp.copies };
}

/**
 * Marks the add's claim finished: its value rewritten in place, `open:`
 * becoming `done:`, the token kept. One write of five bytes inside the
 * attribute object: sheep writes it whole or not at all.
 */
export async function markClaimDone(conn: SheepConnection, name: string, vid: number, signal?: AbortSignal): Promise<void> {
  const claim = await findClaim(conn, name, vid, signal);
  // A cluster without attributes made no claim: there is nothing to mark.
  if (!claim) return;
  await writeObject(conn, claim.oid, Attr.VALUE, Buffer.from(DONE, 'utf8'), claim.copies, signal);
}

/** What the claim on VDI `name` (vid `vid`) says (ClaimState). */
export async function claimState(conn: SheepConnection, name: string, vid: number, signal?: AbortSignal): Promise<ClaimState> {
  const claim = await findClaim(conn, name, vid, signal);
  if (!claim) return 'none';
  // The value's length and its first bytes: a token is 36 bytes, a marked value 41.
  const head = await readObject(conn, claim.oid, Attr.VALUE_LEN, Attr.VALUE - Attr.VALUE_LEN + DONE.length, claim.copies, signal);
  const length = head.readUInt32LE(0);
  const mark = head.subarray(Attr.VALUE - Attr.VALUE_LEN).toString('utf8');
  if (length > DONE.length && mark === DONE) return 'done';
  if (length > OPEN.length && mark === OPEN) return 'open';
  return 'unmarked';
}

/** Removes the claim on VDI `name` (vid `vid`), if it has one. Call it while the VDI still has its name: sheep finds attributes through it. */
export async function removeClaim(conn: SheepConnection, name: string, vid: number, signal?: AbortSignal): Promise<void> {
  const claim = await findClaim(conn, name, vid, signal);
  if (!claim) return;
  const removed = await conn.request({ kind: 'obj', opcode: Op.REMOVE_OBJ, flags: 0, dataLength: 0, oid: claim.oid, copies: claim.copies, offset: 0 }, { signal });
  if (removed.rsp.result !== Result.SUCCESS && removed.rsp.result !== Result.NO_OBJ) throw resultError(removed.rsp.result, `the claim on VDI ${name}`, conn.cluster);
}

/** The error of an add whose VDI another add's cleanup claimed first (between NEW_VDI's answer and this add's claim). */
export function claimedByOther(name: string, cluster: string): BackendError {
  return new BackendError(`VDI ${name} in ${cluster} was claimed by the cleanup of another add of the same image before this add could claim it; that cleanup removes it`);
}
