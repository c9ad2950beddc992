/**
 * Removing a VDI: an image's delete, and what a failed add left, once it is
 * known to be that add's (owner.ts says how that is known).
 */
import type { SheepConnection } from './connection.js';
import { claimVdi, removeClaim } from './owner.js';
import { Inode, inodeOid } from './protocol.js';
import { delVdi, objectCount, readInode, vdiInfo, writeObject, type Vdi } from './vdi.js';

/**
 * Removes a VDI and its data. DEL_VDI alone keeps the data objects while
 * any data_vdi_id entry is set (and still answers SUCCESS); zeroing an
 * entry is what makes sheep remove its object (in the background). So the
 * entries of every object the VDI may have are zeroed first, then the name
 * is deleted. A missing VDI is NotFound.
 *
 * `leftover` is for what a failed add left: objects may exist whose entry
 * was never written (the connection went down between the object and its
 * entry), and the inode's size may say fewer objects than were written (an
 * image of unknown size). The first `leftover` entries are then pointed at
 * the VDI before they are zeroed, so that each of those objects goes too.
 */
export async function removeVdi(conn: SheepConnection, name: string, leftover: number, signal?: AbortSignal, found?: Vdi): Promise<void> {
  const vdi = found ?? (await vdiInfo(conn, name, signal));
  const inode = await readInode(conn, vdi, signal);
  const count = Math.min(Inode.MAX_OBJECTS, Math.max(leftover, objectCount(inode.vdiSize, inode.blockSizeShift || vdi.blockSizeShift)));
  const entries = Buffer.alloc(4 * count);
  if (leftover > 0) {
    for (let i = 0; i < Math.min(leftover, count); i++) entries.writeUInt32LE(vdi.vid, 4 * i);
    await writeObject(conn, inodeOid(vdi.vid), Inode.DATA_VDI_ID, entries, vdi.copies, signal);
    entries.fill(0);
  }
  if (count > 0) await writeObject(conn, inodeOid(vdi.vid), Inode.DATA_VDI_ID, entries, vdi.copies, signal);
  // The claim goes before the name: sheep finds an attribute only through its VDI's name.
  await removeClaim(conn, name, vdi.vid, signal);
  await delVdi(conn, name, signal);
}

/** What a failed add knows of its VDI. */
export interface AddLeftover {
  /** The vid NEW_VDI answered with; undefined when NEW_VDI had no answer (the VDI may or may not be this add's). */
  vid?: number;
  /** The token this add claims its VDI with. */
  token: string;
  /** How many objects the add may have written (removeVdi's `leftover`). */
  objects: number;
}

/**
 * Removes VDI `name` if it is the failed add's; gives why it was left
 * otherwise. A vid NEW_VDI answered with is proof (sheep never gives a vid
 * twice); without one, the add's own claim on the VDI must succeed first.
 * A VDI that is gone is NotFound (nothing left).
 */
export async function removeAddLeftover(conn: SheepConnection, name: string, left: AddLeftover, signal?: AbortSignal): Promise<string | undefined> {
  const vdi = await vdiInfo(conn, name, signal);
  if (left.vid !== undefined && vdi.vid !== left.vid) return `the VDI of that name now is another one (vid ${vdi.vid.toString(16)}, this add's was ${left.vid.toString(16)})`;
  if (left.vid === undefined) {
    const claim = await claimVdi(conn, name, vdi.vid, left.token, signal);
    if (claim === 'theirs') return `its creation had no answer, and the VDI of that name is claimed by another add of the same image`;
    if (claim === 'unsupported') return `its creation had no answer, and the cluster cannot say whose the VDI of that name is (no VDI attributes)`;
  }
  await removeVdi(conn, name, left.objects, signal, vdi);
  return undefined;
}
