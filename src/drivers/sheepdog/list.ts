/**
 * Listing a sheepdog store, as `dog vdi list` walks a cluster: READ_VDIS
 * gives the bitmap of every vid in use (deleted VDIs included: their
 * inodes stay, their names cleared), and each vid's inode header says the
 * VDI's name, size, creation time and whether it is a snapshot. The bitmap
 * is the cluster's fixed 2 MiB; the inodes are read a page at a time, so a
 * cluster of a million VDIs lists in flat memory.
 *
 * An image is a current VDI named by an image id whose claim (owner.ts)
 * says its add finished, or that has no claim at all (glance_store's VDIs,
 * and any made on a cluster without attributes). A claim still open is an
 * add that has not finished (one running, or one whose process died): a
 * leftover, aged from the VDI's creation. A claim written before adds
 * marked theirs finished cannot say which it is: its VDI is listed as an
 * image, so that one Glance knows stays an image, and one an add left
 * when its process died is an orphan, which `audit --delete-orphans`
 * removes (docs/sheepdog.md).
 */
import type { DriverListOptions, ListedImage, StoreLeftover } from '../../driver.js';
import { NotFoundError } from '../../errors.js';
import { isImageId } from '../../image-id.js';
import type { SheepConnection } from './connection.js';
import { claimState, type ClaimState } from './owner.js';
import { VID_MASK } from './protocol.js';
import { readInode, readVdis, type InodeHeader } from './vdi.js';

/** Inodes read at once: a page of the listing. */
const PAGE = 64;

export interface SheepdogListing {
  /** A connection of the listing's own, closed by `release` (and by an abort). */
  connect(): SheepConnection;
  release(conn: SheepConnection): void;
  location(image: string): string;
}

interface Found {
  inode: InodeHeader;
  claim: ClaimState;
}

/** The vids the bitmap says are in use, in order. */
function* vidsOf(bitmap: Buffer): Generator<number> {
  for (let byte = 0; byte < bitmap.length; byte++) {
    const bits = bitmap[byte]!;
    if (bits === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (bits & (1 << bit)) yield ((byte << 3) | bit) & VID_MASK;
  }
}

/** One vid's VDI, if it is a current VDI named by an image id; a vid whose inode is gone is skipped. */
async function vdiOf(conn: SheepConnection, vid: number, signal: AbortSignal | undefined): Promise<Found | undefined> {
  let inode: InodeHeader;
  try {
    // copies 0: sheep uses the VDI's own number of copies.
    inode = await readInode(conn, { vid, copies: 0 }, signal);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  if (!inode.name || inode.snapshot || !isImageId(inode.name)) return undefined;
  try {
    return { inode, claim: await claimState(conn, inode.name, vid, signal) };
  } catch (err) {
    // Deleted between the inode and its claim.
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

async function* vdis(l: SheepdogListing, options: DriverListOptions): AsyncGenerator<Found> {
  const { signal } = options;
  const conn = l.connect();
  const stop = () => conn.close();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const page: number[] = [];
    const read = async function* (): AsyncGenerator<Found> {
      const found = await Promise.all(page.map((vid) => vdiOf(conn, vid, signal)));
      page.length = 0;
      for (const f of found) if (f) yield f;
    };
    for (const vid of vidsOf(await readVdis(conn, signal))) {
      page.push(vid);
      if (page.length === PAGE) yield* read();
    }
    yield* read();
  } finally {
    signal?.removeEventListener('abort', stop);
    l.release(conn);
  }
}

export async function* listSheepdogImages(l: SheepdogListing, options: DriverListOptions = {}): AsyncGenerator<ListedImage> {
  for await (const { inode, claim } of vdis(l, options)) {
    if (claim === 'open') continue;
    yield { id: inode.name, size: inode.vdiSize, location: l.location(inode.name), ...(inode.created ? { since: inode.created } : {}) };
  }
}

export async function* sheepdogLeftovers(l: SheepdogListing, options: DriverListOptions = {}): AsyncGenerator<StoreLeftover> {
  for await (const { inode, claim } of vdis(l, options)) {
    if (claim !== 'open') continue;
    yield { kind: 'VDI of an unfinished add', location: l.location(inode.name), imageId: inode.name, since: inode.created, size: inode.vdiSize };
  }
}
